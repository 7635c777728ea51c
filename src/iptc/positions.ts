// Changes by position (delete, replace or insert at n) made in a batch are applied again at commit to a
// fresh view of the table. Position n there may hold another rule than the batch saw: another program
// inserted or deleted a rule above it. So each such change remembers the rule it saw and acts on that rule
// again, wherever it now is, or refuses; it never acts on a rule the batch did not see.
import { IPTCError } from '../xtables/errors.js';
import type { RawRule, TableView } from './table-backend.js';
import { sameRule } from '../xtables/same-rule.js';
import { Rule, Rule6 } from './rule.js';

const ESTALE = 116;

/**
 * A change by position (`deleteRuleAt`, `replaceRule`, `insertRule` at n > 0, or such a line of a restore
 * text) that a batch made no longer finds the rule it saw at that position when it is applied again to
 * the kernel table at commit: another program changed the chain meanwhile, so that the rule is gone or
 * no longer the only one of its kind. Nothing of the batch was committed. An IPTCError with errno ESTALE.
 */
export class ConcurrentChangeError extends IPTCError {
  /** The table and chain of the change. */
  readonly table: string;
  readonly chain: string;
  /** The 0-based position the change was made at. */
  readonly position: number;

  constructor(table: string, chain: string, position: number, rule: string) {
    super(
      `table \`${table}' changed since this batch was made: chain \`${chain}' no longer holds the rule the change ` +
        `at position ${position} (iptables ${position + 1}) saw there, \`${rule}', at that position or once ` +
        'elsewhere; nothing was committed. Refresh and make the change again.',
      ESTALE,
    );
    this.table = table;
    this.chain = chain;
    this.position = position;
  }
}

function describe(handle: TableView, rule: RawRule): string {
  try {
    return (handle.family === 6 ? Rule6 : Rule).fromEntry(rule).toString();
  } catch {
    return `a rule of ${rule.entry.length} bytes`;
  }
}

/**
 * The rules one change saw at the positions it acts on, in the order it asks for them. The first time
 * the change runs (on the view it was made on) each position is noted with the rule there; every later
 * run (on a fresh view, at commit) gets the position that rule has now.
 */
export class SeenRules {
  /** Per slot: the rule seen, null when there was none (the change then fails on its own). */
  readonly #rules = new Map<number, RawRule | null>();

  /**
   * The position, in this view, of the rule the change saw at `position` of `chain`: `position` itself
   * when the rule is still there, else where the rule is if the chain holds it exactly once. `slot`
   * tells apart the positions of one change (a restore text's lines). Throws ConcurrentChangeError when
   * the rule is not found.
   */
  locate(handle: TableView, chain: string, position: number, slot = 0): number {
    if (!this.#rules.has(slot)) {
      this.#rules.set(slot, handle.isChain(chain) ? (handle.rules(chain, position, 1)[0] ?? null) : null);
      return position;
    }
    const seen = this.#rules.get(slot);
    if (!seen) return position;
    const family = handle.family;
    const here = handle.rules(chain, position, 1)[0];
    if (here && sameRule(family, here, seen)) return position;
    const found: number[] = [];
    handle.rules(chain).forEach((rule, index) => {
      if (sameRule(family, rule, seen)) found.push(index);
    });
    if (found.length === 1) return found[0]!;
    throw new ConcurrentChangeError(handle.table, chain, position, describe(handle, seen));
  }

  /**
   * Where to insert so that a rule inserted at `position` follows the rule the change saw just above it
   * (the top stays the top). See locate().
   */
  insertion(handle: TableView, chain: string, position: number, slot = 0): number {
    return position === 0 ? 0 : this.locate(handle, chain, position - 1, slot) + 1;
  }
}
