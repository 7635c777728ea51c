import { CommitError, IPTCError } from '../xtables/errors.js';
import { Policy } from './policy.js';
import { checkPolicyPlacement, checkRulePlacement } from './guards.js';
import type { Counters, Rule } from './rule.js';
import type { Table } from './table.js';
import type { TableEdits } from './table-backend.js';
import { SeenRules } from './positions.js';
import { appendUnique, deleteIfExists, insertUnique, type RuleOrSpec } from './idempotent.js';

/** @internal */
export function checkPosition(position: number, what: string): void {
  if (!Number.isInteger(position) || position < 0 || position > 0xffffffff) {
    throw new RangeError(`${what} must be a non-negative integer, got ${String(position)}`);
  }
}

/** @internal */
export function checkRule(table: Table, rule: Rule): void {
  if (!(rule instanceof table.ruleClass) || rule.family !== table.family) {
    throw new TypeError(`table \`${table.name}' (IPv${table.family}) takes ${table.ruleClass.name} objects`);
  }
}

const ENOENT = 2;
const VERDICTS = new Set(['ACCEPT', 'DROP', 'QUEUE', 'RETURN']);

/** @internal The user chain a rule jumps or goes to, or null; libiptc would take another label for an extension. */
export function jumpLabel(rule: Rule): string | null {
  const label = rule.standardLabel();
  return label && !VERDICTS.has(label) ? label : null;
}

/**
 * @internal Runs a change of one rule. When its commit is refused (autocommit: the commit is for this rule alone),
 * the error names the rule as iptables would be given it, e.g. `-A INPUT -p udp -j REJECT ...`.
 */
export function naming<T>(command: string, rule: Rule, change: () => T): T {
  try {
    return change();
  } catch (e) {
    if (!(e instanceof CommitError)) throw e;
    const spec = rule.toString();
    throw e.naming(spec === '' ? command : `${command} ${spec}`);
  }
}

/** @internal Checks that the chain a rule jumps to exists before libiptc takes its label for an extension. */
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
  /** The table the chain belongs to. */
  readonly table: Table;
  /** The chain's name: `INPUT`, or a user chain's. */
  readonly name: string;

  /**
   * A reference to the chain `name` of `table`, which need not exist yet (Table.chain checks that it does).
   * python-iptables: `iptc.Chain(table, name)`.
   */
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

  /**
   * Inserts at a 0-based position (0 = first). Without autocommit, commit() inserts it right after the
   * rule that was above that position when this was called, wherever other programs moved that rule
   * meanwhile; if that rule is gone, right before the rule that was at the position; if both are gone,
   * at the position.
   *
   * Equivalent to: `iptables -I CHAIN position+1 rule`
   */
  insertRule(rule: Rule, position = 0): void {
    this.#placeRule(rule, position, 'insertEntry');
  }

  /**
   * Replaces the rule at a 0-based position. Without autocommit, commit() replaces the rule that was at
   * that position when this was called (see deleteRuleAt).
   *
   * Equivalent to: `iptables -R CHAIN position+1 rule`
   */
  replaceRule(rule: Rule, position: number): void {
    this.#placeRule(rule, position, 'replaceEntry');
  }

  #placeRule(rule: Rule, position: number, op: 'insertEntry' | 'replaceEntry'): void {
    checkRule(this.table, rule);
    checkPosition(position, 'position');
    checkRulePlacement(this.table.name, this.name, rule);
    // Changes are kept until commit: capture the entry, not the rule and its objects.
    const { name } = this;
    const entry = rule.toEntry(this.table.entryForm);
    const label = jumpLabel(rule);
    const command = `${op === 'insertEntry' ? '-I' : '-R'} ${name} ${position + 1}`;
    // Applied again at commit, the change must act next to (or on) the rule it saw: see SeenRules.
    const seen = new SeenRules();
    naming(command, rule, () =>
      this.table.edit((h) => {
        checkJumpLabel(h, label);
        if (op === 'insertEntry') h.insertEntry(name, entry, seen.insertion(h, name, position));
        else h.replaceEntry(name, entry, seen.locate(h, name, position));
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

  /**
   * Appends the rule unless the chain already holds it (compared as `iptables -C` compares rules,
   * counters ignored); true if it appended it. The check and the append are one transaction. Takes a
   * Rule or a rule spec. go-iptables: `AppendUnique`.
   *
   * Equivalent to: `iptables -C CHAIN rule || iptables -A CHAIN rule`
   */
  appendUnique(rule: RuleOrSpec): boolean {
    return appendUnique(this, rule);
  }

  /**
   * Inserts the rule at a 0-based position unless the chain already holds it anywhere; true if it
   * inserted it. As appendUnique. go-iptables: `InsertUnique` (which counts from 1).
   *
   * Equivalent to: `iptables -C CHAIN rule || iptables -I CHAIN position+1 rule`
   */
  insertUnique(rule: RuleOrSpec, position = 0): boolean {
    return insertUnique(this, rule, position);
  }

  /**
   * Deletes the first rule equal to `rule`, if there is one (and if the chain exists); true if it
   * deleted one. Unlike deleteRule, a missing rule is no error. go-iptables: `DeleteIfExists`;
   * python-iptables: `iptc.easy.delete_rule(..., raise_exc=False)`.
   *
   * Equivalent to: `iptables -C CHAIN rule && iptables -D CHAIN rule`
   */
  deleteIfExists(rule: RuleOrSpec): boolean {
    return deleteIfExists(this, rule);
  }

  /**
   * Deletes the rule at a 0-based position. Without autocommit, commit() deletes the rule that was at
   * that position when this was called, wherever other programs moved it meanwhile, or throws
   * ConcurrentChangeError if it can no longer tell which rule that is.
   *
   * Equivalent to: `iptables -D CHAIN position+1`
   */
  deleteRuleAt(position: number): void {
    checkPosition(position, 'position');
    const { name } = this;
    const seen = new SeenRules();
    this.table.edit((h) => h.deleteNumEntry(name, seen.locate(h, name, position)));
  }

  /** Equivalent to: `iptables -F CHAIN` */
  flush(): void {
    this.table.edit((h) => h.flushEntries(this.name));
  }

  /** Zeroes the counters of every rule and of the policy. Equivalent to: `iptables -Z CHAIN` */
  zeroCounters(): void {
    this.table.zeroEntries(this.name);
  }

  /**
   * The policy counters of a built-in chain; null for a user chain. Equivalent to: `iptables-save -c`'s `:CHAIN
   * POLICY [p:b]`
   */
  getCounters(): Counters | null {
    return this.table.policyOf(this.name)?.counters ?? null;
  }

  /** The policy of a built-in chain; null for a user chain. Equivalent to: `iptables -S CHAIN` (its `-P` line) */
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

  /** Whether it is a built-in chain (with a policy). Equivalent to: `iptables -S CHAIN` printing `-P CHAIN` */
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

  /** The chain's name, as in `iptables -A CHAIN`. */
  toString(): string {
    return this.name;
  }

  /** What console.log and util.inspect show, e.g. `Chain [filter INPUT]`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `${this.constructor.name} [${this.table.name} ${this.name}]`;
  }
}
