import { CommitError, IPTCError } from '../xtables/errors.js';
import { Policy } from './policy.js';
import { checkPolicyPlacement, checkRulePlacement } from './guards.js';
import type { Counters, Rule } from './rule.js';
import type { Table } from './table.js';
import type { TableEdits } from '../xtables/libiptc.js';

function checkPosition(position: number, what: string): void {
  if (!Number.isInteger(position) || position < 0 || position > 0xffffffff) {
    throw new RangeError(`${what} must be a non-negative integer, got ${String(position)}`);
  }
}

function checkRule(table: Table, rule: Rule): void {
  if (!(rule instanceof table.ruleClass) || rule.family !== table.family) {
    throw new TypeError(`table \`${table.name}' (IPv${table.family}) takes ${table.ruleClass.name} objects`);
  }
}

const ENOENT = 2;
const VERDICTS = new Set(['ACCEPT', 'DROP', 'QUEUE', 'RETURN']);

/** The user chain a rule jumps or goes to, or null; libiptc would take another label for an extension. */
export function jumpLabel(rule: Rule): string | null {
  const label = rule.target?.standardTarget;
  return label && !VERDICTS.has(label) ? label : null;
}

/**
 * Runs a change of one rule. When its commit is refused (autocommit: the commit is for this rule alone),
 * the error names the rule as iptables would be given it, e.g. `-A INPUT -p udp -j REJECT ...`.
 */
function naming(command: string, rule: Rule, change: () => void): void {
  try {
    change();
  } catch (e) {
    if (!(e instanceof CommitError)) throw e;
    const spec = rule.toString();
    throw e.naming(spec === '' ? command : `${command} ${spec}`);
  }
}

/** Checks that the chain a rule jumps to exists before libiptc takes its label for an extension. */
export function checkJumpLabel(handle: Pick<TableEdits, 'isChain' | 'table'>, label: string | null): void {
  if (label !== null && !handle.isChain(label)) {
    throw new IPTCError(`Couldn't load target \`${label}': no such chain in table \`${handle.table}'`, ENOENT);
  }
}

/**
 * A chain of a table: a reference by name. Reads come from the table's snapshot; changes go through
 * the table (committed at once with autocommit).
 */
export class Chain {
  readonly table: Table;
  readonly name: string;

  constructor(table: Table, name: string) {
    if (typeof name !== 'string' || name === '') throw new TypeError('a chain name must be a non-empty string');
    this.table = table;
    this.name = name;
  }

  /** The rules in iptables order, as JS-owned snapshots. Equivalent to: `iptables -S CHAIN` */
  get rules(): Rule[] {
    const RuleClass = this.table.ruleClass;
    return this.table.rawChain(this.name).rules.map((raw) => RuleClass.fromEntry(raw));
  }

  /**
   * Whether the chain holds a rule equal to `rule` (a Rule, or a rule spec as Rule.parse takes it), as
   * the kernel compares rules for a delete: counters are ignored. Asks libiptc (iptc_check_entry) of the
   * kernel table as it is now, or of the pending changes without autocommit; the chain must exist.
   *
   * Equivalent to: `iptables -C CHAIN rule`
   */
  hasRule(rule: Rule | string | readonly string[]): boolean {
    const r = typeof rule === 'string' || Array.isArray(rule) ? this.table.ruleClass.parse(rule) : (rule as Rule);
    checkRule(this.table, r);
    checkRulePlacement(this.table.name, this.name, r);
    return this.table.hasEntry(this.name, r);
  }

  /** Equivalent to: `iptables -A CHAIN rule` */
  appendRule(rule: Rule): void {
    checkRule(this.table, rule);
    checkRulePlacement(this.table.name, this.name, rule);
    naming(`-A ${this.name}`, rule, () => this.table.editEntry('append', this.name, rule));
  }

  /** Inserts at a 0-based position (0 = first). Equivalent to: `iptables -I CHAIN position+1 rule` */
  insertRule(rule: Rule, position = 0): void {
    this.#placeRule(rule, position, 'insertEntry');
  }

  /** Replaces the rule at a 0-based position. Equivalent to: `iptables -R CHAIN position+1 rule` */
  replaceRule(rule: Rule, position: number): void {
    this.#placeRule(rule, position, 'replaceEntry');
  }

  #placeRule(rule: Rule, position: number, op: 'insertEntry' | 'replaceEntry'): void {
    checkRule(this.table, rule);
    checkPosition(position, 'position');
    checkRulePlacement(this.table.name, this.name, rule);
    // Changes are kept until commit: capture the entry, not the rule and its objects.
    const { name } = this;
    const entry = rule.toEntry();
    const label = jumpLabel(rule);
    const command = `${op === 'insertEntry' ? '-I' : '-R'} ${name} ${position + 1}`;
    naming(command, rule, () =>
      this.table.edit((h) => {
        checkJumpLabel(h, label);
        h[op](name, entry, position);
      }),
    );
  }

  /**
   * Deletes the first rule equal to `rule` (as the kernel compares them; counters are ignored).
   * Equivalent to: `iptables -D CHAIN rule`
   */
  deleteRule(rule: Rule): void {
    checkRule(this.table, rule);
    checkRulePlacement(this.table.name, this.name, rule);
    this.table.editEntry('delete', this.name, rule);
  }

  /** Deletes the rule at a 0-based position. Equivalent to: `iptables -D CHAIN position+1` */
  deleteRuleAt(position: number): void {
    checkPosition(position, 'position');
    this.table.edit((h) => h.deleteNumEntry(this.name, position));
  }

  /** Equivalent to: `iptables -F CHAIN` */
  flush(): void {
    this.table.edit((h) => h.flushEntries(this.name));
  }

  /** Zeroes the counters of every rule and of the policy. Equivalent to: `iptables -Z CHAIN` */
  zeroCounters(): void {
    this.table.zeroEntries(this.name);
  }

  /** The policy counters of a built-in chain; null for a user chain. */
  getCounters(): Counters | null {
    return this.table.policyOf(this.name)?.counters ?? null;
  }

  /** The policy of a built-in chain; null for a user chain. */
  getPolicy(): Policy | null {
    return this.table.policyOf(this.name)?.policy ?? null;
  }

  /** Equivalent to: `iptables -P CHAIN POLICY` (with counters: `iptables-restore`'s `:CHAIN POLICY [p:b]`). */
  setPolicy(policy: string | Policy, counters?: Counters): void {
    const name = (policy instanceof Policy ? policy : new Policy(policy)).name;
    checkPolicyPlacement(this.table.name, name);
    if (counters !== undefined) {
      if (typeof counters?.packets !== 'bigint' || typeof counters?.bytes !== 'bigint') {
        throw new TypeError('counters must be { packets: bigint, bytes: bigint }');
      }
    }
    this.table.edit((h) => h.setPolicy(this.name, name, counters));
  }

  isBuiltin(): boolean {
    return this.table.builtinChain(this.name);
  }

  /** Equivalent to: `iptables -E CHAIN NEWNAME` */
  rename(newName: string): void {
    this.table.renameChain(this.name, newName);
  }

  /** Equivalent to: `iptables -X CHAIN` */
  delete(): void {
    if (this.isBuiltin()) throw new IPTCError(`cannot delete built-in chain \`${this.name}'`, 1);
    this.table.deleteChain(this.name);
  }
}
