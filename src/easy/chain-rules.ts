// Finding a rule of a chain as `iptables -D` compares rules, and placing one at a python easy position.
import { IPTCError, Table, type Rule } from '../iptc/index.js';
import { checkRulePlacement } from '../iptc/guards.js';
import { SeenRules } from '../iptc/positions.js';
import type { RuleDict } from './dict.js';
import { noChain } from './tables.js';

const ENOENT = 2;

/** One rule as the table read it from the kernel (not decoded yet). */
export type RawRule = ReturnType<Table['rawChain']>['rules'][number];

export function rawRules(t: Table, chain: string): RawRule[] {
  if (!t.isChain(chain)) throw noChain(t, chain);
  return t.rawChain(chain).rules;
}

export function ruleNotFound(table: string, chain: string, ruleD: RuleDict): IPTCError {
  return new IPTCError(`Chain <${chain}@${table}> has no rule <${JSON.stringify(ruleD, bigintJson)}>`, ENOENT);
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** The 0-based index of the first rule equal to `rule` (as `iptables -D` compares rules), or -1. */
export function indexOfRule(t: Table, raws: readonly RawRule[], rule: Rule): number {
  const RuleClass = t.ruleClass;
  // A kernel entry and the entry of the same rule built here have the same size: skip the others
  // without decoding them.
  const size = rule.toEntry(t.entryForm).length;
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    if (raw.entry.length === size && rule.equals(RuleClass.fromEntry(raw))) return i;
  }
  return -1;
}

/**
 * Adds a rule at a python easy position, on a fresh copy of the table (or the batch's copy). In a batch,
 * batchEnd() inserts it next to the rule it was placed after (see SeenRules), counted from the top or the
 * bottom as the chain was then.
 */
export function insertAt(t: Table, chain: string, rule: Rule, position: number): void {
  checkRulePlacement(t.name, chain, rule);
  const entry = rule.toEntry(t.entryForm);
  const seen = new SeenRules();
  let index: number | null = null;
  t.edit((h) => {
    if (!h.isChain(chain)) throw noChain(t, chain);
    Table.checkJump(h, rule);
    if (position === 0) {
      h.appendEntry(chain, entry);
      return;
    }
    // As the iptables CLI: 1 is the first rule. From the bottom: -1 is before the last rule, and past the
    // top means at the top.
    index ??= position > 0 ? position - 1 : Math.max(0, h.rules(chain).length + position);
    h.insertEntry(chain, entry, seen.insertion(h, chain, index));
  });
}
