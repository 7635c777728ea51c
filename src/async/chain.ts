import { Policy } from '../iptc/policy.js';
import type { Counters } from '../iptc/rule.js';
import type { Link } from './link.js';
import type { WireRules } from './protocol.js';
import { snapshots, wireRule, type RuleInput, type RuleSnapshot } from './rule.js';
import { tableLink, type AsyncTable } from './table.js';

/**
 * A chain of an AsyncTable: a reference by name, as Chain. Each method does what Chain's does, in the
 * owner thread; a chain that does not exist makes them reject with IPTCError (ENOENT).
 */
export class AsyncChain {
  /** The table the chain belongs to. */
  readonly table: AsyncTable;
  /** The chain's name: `INPUT`, or a user chain's. */
  readonly name: string;

  /** @internal Use AsyncTable.chain(). */
  constructor(table: AsyncTable, name: string) {
    if (typeof name !== 'string' || name === '') throw new TypeError('a chain name must be a non-empty string');
    this.table = table;
    this.name = name;
  }

  #call(method: string, ...args: unknown[]): Promise<unknown> {
    return (tableLink(this.table) as Link).call(method, this.name, ...args);
  }

  /** The rules in iptables order, with their counters. Equivalent to: `iptables -S CHAIN` / `iptables-save -c` */
  async rules(): Promise<RuleSnapshot[]> {
    return snapshots(this.name, (await this.#call('rules')) as WireRules);
  }

  /** Equivalent to: `iptables -A CHAIN rule` */
  async appendRule(rule: RuleInput): Promise<void> {
    await this.#call('appendRule', wireRule(rule));
  }

  /**
   * Appends many rules in one call. Every rule is checked before anything changes. With autocommit they
   * are committed together, all or none; without it they join the pending changes (if one is refused,
   * say because it jumps to a chain that does not exist, the ones before it stay pending, as with
   * appendRule() in a loop).
   *
   * Equivalent to: `iptables-restore --noflush` of `-A CHAIN rule` lines
   */
  async appendRules(rules: Iterable<RuleInput>): Promise<void> {
    await this.#call('appendRules', Array.from(rules, wireRule));
  }

  /** Inserts at a 0-based position (0 = first). Equivalent to: `iptables -I CHAIN position+1 rule` */
  async insertRule(rule: RuleInput, position = 0): Promise<void> {
    await this.#call('insertRule', wireRule(rule), position);
  }

  /** Replaces the rule at a 0-based position. Equivalent to: `iptables -R CHAIN position+1 rule` */
  async replaceRule(rule: RuleInput, position: number): Promise<void> {
    await this.#call('replaceRule', wireRule(rule), position);
  }

  /**
   * Deletes the first rule equal to `rule` (as the kernel compares them; counters are ignored); rejects
   * with IPTCError if there is none. Equivalent to: `iptables -D CHAIN rule`
   */
  async deleteRule(rule: RuleInput): Promise<void> {
    await this.#call('deleteRule', wireRule(rule));
  }

  /**
   * Whether the chain holds the rule (counters ignored), as Chain.hasRule.
   * Equivalent to: `iptables -C CHAIN rule`
   */
  async hasRule(rule: RuleInput): Promise<boolean> {
    return (await this.#call('hasRule', wireRule(rule))) as boolean;
  }

  /**
   * Appends the rule unless the chain holds it already, as Chain.appendUnique; true if it appended it.
   * Equivalent to: `iptables -C CHAIN rule || iptables -A CHAIN rule`
   */
  async appendUnique(rule: RuleInput): Promise<boolean> {
    return (await this.#call('appendUnique', wireRule(rule))) as boolean;
  }

  /**
   * Inserts the rule at a 0-based position unless the chain holds it already, as Chain.insertUnique.
   * Equivalent to: `iptables -C CHAIN rule || iptables -I CHAIN position+1 rule`
   */
  async insertUnique(rule: RuleInput, position = 0): Promise<boolean> {
    return (await this.#call('insertUnique', wireRule(rule), position)) as boolean;
  }

  /**
   * Deletes the first rule equal to `rule` if there is one, as Chain.deleteIfExists; true if it did.
   * Equivalent to: `iptables -C CHAIN rule && iptables -D CHAIN rule`
   */
  async deleteIfExists(rule: RuleInput): Promise<boolean> {
    return (await this.#call('deleteIfExists', wireRule(rule))) as boolean;
  }

  /** Deletes the rule at a 0-based position. Equivalent to: `iptables -D CHAIN position+1` */
  async deleteRuleAt(position: number): Promise<void> {
    await this.#call('deleteRuleAt', position);
  }

  /** Equivalent to: `iptables -F CHAIN` */
  async flush(): Promise<void> {
    await this.#call('flushChain');
  }

  /** Zeroes the counters of every rule and of the policy. Equivalent to: `iptables -Z CHAIN` */
  async zeroCounters(): Promise<void> {
    await this.#call('zeroCounters');
  }

  /** The policy counters of a built-in chain; null for a user chain. Equivalent to: `iptables-save -c` (the `:CHAIN` line) */
  async getCounters(): Promise<Counters | null> {
    return (await this.#call('getCounters')) as Counters | null;
  }

  /** The policy of a built-in chain; null for a user chain. Equivalent to: `iptables -S CHAIN` (the `-P` line) */
  async getPolicy(): Promise<Policy | null> {
    const name = (await this.#call('getPolicy')) as string | null;
    return name === null ? null : new Policy(name);
  }

  /** Equivalent to: `iptables -P CHAIN POLICY` (with counters: `iptables-restore`'s `:CHAIN POLICY [p:b]`) */
  async setPolicy(policy: string | Policy, counters?: Counters): Promise<void> {
    await this.#call('setPolicy', policy instanceof Policy ? policy.name : policy, counters);
  }

  /** Whether it is a built-in chain. Equivalent to: `iptables -S CHAIN` printing `-P CHAIN` */
  async isBuiltin(): Promise<boolean> {
    return (await this.#call('isBuiltin')) as boolean;
  }

  /** Equivalent to: `iptables -E CHAIN NEWNAME` */
  async rename(newName: string): Promise<void> {
    await this.table.renameChain(this.name, newName);
  }

  /** Deletes this user chain (a built-in one rejects with IPTCError). Equivalent to: `iptables -X CHAIN` */
  async delete(): Promise<void> {
    await this.#call('deleteChainOf');
  }
}
