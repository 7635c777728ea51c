// Changes that may be made again without harm, as go-iptables offers them (AppendUnique, InsertUnique,
// DeleteIfExists, ClearChain, ClearAndDeleteChain): each looks at the table as the change will find it
// and changes it only when needed. The look and the change are one transaction (with autocommit: under
// the xtables lock, on one fresh view), so a rule another program adds meanwhile is not added twice.
// A change that turns out not to be needed commits nothing.
//
// Whether a rule is in a chain is libiptc's check (`iptables -C`): the rule compared with each of the
// chain's rules as a delete by specification compares them, counters ignored.
import { IPTCError } from '../xtables/errors.js';
import { isTargetExtension } from '../xtables/shim.js';
import { Chain, checkJumpLabel, checkPosition, checkRule, jumpLabel, naming } from './chain.js';
import { checkRulePlacement } from './guards.js';
import { checkChainName } from './names.js';
import type { Rule } from './rule.js';
import { hasLinePrefix, parseRuleLine } from './rule-line.js';
import type { Table } from './table.js';

/**
 * A rule for the methods that find, add or delete one: a Rule, or a rule spec as Rule.parse takes it
 * (`'-p tcp --dport 22 -j ACCEPT'`, or its words, as go-iptables takes a rulespec). A spec that starts
 * with `-A CHAIN` (a line of iptables-save or of go-iptables' List) must name the chain it is used on.
 */
export type RuleOrSpec = Rule | string | readonly string[];

/** @internal A view of the table, as Table.edit and Table.peek hand it to a change or a read. */
export type View = Parameters<Parameters<Table['edit']>[0]>[0];

const ENOENT = 2;
const EPERM = 1;
const EINVAL = 22;

function noChain(table: Table, name: string): IPTCError {
  return new IPTCError(`chain \`${name}' does not exist in table \`${table.name}'`, ENOENT);
}

/** The Rule for `input` on `chain`, checked as Chain.appendRule checks it. */
export function ruleFor(chain: Chain, input: RuleOrSpec): Rule {
  const { table } = chain;
  let rule: Rule;
  if (typeof input === 'string' || Array.isArray(input)) {
    const spec = input as string | readonly string[];
    if (hasLinePrefix(spec)) {
      const line = parseRuleLine(table.ruleClass, spec);
      if (line.chain !== chain.name || (line.table !== undefined && line.table !== table.name)) {
        const where = line.table === undefined ? `chain \`${line.chain}'` : `chain \`${line.chain}' of table \`${line.table}'`;
        throw new TypeError(`the rule line names ${where}, not \`${chain.name}' of table \`${table.name}'`);
      }
      rule = line.rule;
    } else {
      rule = table.ruleClass.parse(spec);
    }
  } else {
    rule = input as Rule;
  }
  checkRule(table, rule);
  checkRulePlacement(table.name, chain.name, rule);
  return rule;
}

/** What libiptc's check compares: the rule's entry and its delete mask, built once. */
interface Probe {
  chain: string;
  entry: Buffer;
  mask: Buffer;
}

function probe(chain: Chain, rule: Rule): Probe {
  return { chain: chain.name, ...rule.toEntryWithMask() };
}

/** Whether a view holds the rule; false when it has no such chain. */
function holds(h: View, p: Probe): boolean {
  return h.isChain(p.chain) && h.checkEntry(p.chain, p.entry, p.mask);
}

/**
 * Whether the chain holds the rule, as the table's next change will find it (the kernel table now, or
 * the pending copy). Throws IPTCError (ENOENT) if there is no such chain.
 *
 * NOTE for the merge: Chain.hasRule is the public form of this; point these helpers at it.
 */
export function ruleExists(chain: Chain, input: RuleOrSpec): boolean {
  const { table, name } = chain;
  const p = probe(chain, ruleFor(chain, input));
  const found = table.peek((h) => {
    if (!h.isChain(name)) throw noChain(table, name);
    return h.checkEntry(name, p.entry, p.mask);
  });
  if (found !== undefined) return found;
  // The kernel has no such table yet: it would hold its built-in chains, empty.
  if (!table.builtinChain(name)) throw noChain(table, name);
  return false;
}

/** See Chain.appendUnique. */
export function appendUnique(chain: Chain, input: RuleOrSpec): boolean {
  const rule = ruleFor(chain, input);
  return addUnique(chain, rule, `-A ${chain.name}`, (h, entry) => h.appendEntry(chain.name, entry));
}

/** See Chain.insertUnique. */
export function insertUnique(chain: Chain, input: RuleOrSpec, position = 0): boolean {
  const rule = ruleFor(chain, input);
  checkPosition(position, 'position');
  return addUnique(chain, rule, `-I ${chain.name} ${position + 1}`, (h, entry) => h.insertEntry(chain.name, entry, position));
}

function addUnique(chain: Chain, rule: Rule, command: string, add: (h: View, entry: Buffer) => void): boolean {
  const { table } = chain;
  const p = probe(chain, rule);
  const jump = jumpLabel(rule);
  if (table.peek((h) => holds(h, p))) return false;
  return naming(command, rule, () =>
    table.edit((h) => {
      if (holds(h, p)) return false;
      checkJumpLabel(h, jump);
      add(h, p.entry);
      return true;
    }),
  );
}

/** See Chain.deleteIfExists. */
export function deleteIfExists(chain: Chain, input: RuleOrSpec): boolean {
  const { table } = chain;
  const p = probe(chain, ruleFor(chain, input));
  if (!table.peek((h) => holds(h, p))) return false;
  return table.edit((h) => {
    if (!holds(h, p)) return false;
    h.deleteEntry(p.chain, p.entry, p.mask);
    return true;
  });
}

function nameOf(chain: string | Chain): string {
  const name = chain instanceof Chain ? chain.name : chain;
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`a chain name must be a non-empty string, got ${name === '' ? "''" : String(name)}`);
  }
  return name;
}

/** See Table.chainExists. */
export function chainExists(table: Table, chain: string | Chain): boolean {
  const name = nameOf(chain);
  return table.peek((h) => h.isChain(name)) ?? table.builtinChain(name);
}

/** See Table.clearChain. */
export function clearChain(table: Table, chain: string): Chain {
  const name = nameOf(chain);
  checkChainName(name);
  const family = table.family;
  table.edit((h) => {
    if (h.isChain(name)) {
      h.flushEntries(name);
    } else {
      if (isTargetExtension(family, name)) throw new IPTCError('chain name may not clash with target name', EINVAL);
      h.createChain(name);
    }
  });
  return new Chain(table, name);
}

/** See Table.clearAndDeleteChain. */
export function clearAndDeleteChain(table: Table, chain: string | Chain): boolean {
  const name = nameOf(chain);
  const builtin = () => new IPTCError(`cannot delete built-in chain \`${name}'`, EPERM);
  const present = (h: View): boolean => {
    if (!h.isChain(name)) return false;
    if (h.isBuiltin(name)) throw builtin();
    return true;
  };
  const now = table.peek(present);
  if (now === undefined && table.builtinChain(name)) throw builtin();
  if (!now) return false;
  return table.edit((h) => {
    if (!present(h)) return false;
    h.flushEntries(name);
    h.deleteChain(name);
    return true;
  });
}
