// Changes by position (delete, replace or insert at n) made in a batch are applied again at commit to a
// fresh view of the table. Position n there may hold another rule than the batch saw: another program
// inserted or deleted a rule above it. So each such change remembers the rule it saw and acts on that rule
// again, wherever it now is, or refuses; it never acts on a rule the batch did not see.
import { IPTCError } from '../xtables/errors.js';
import type { RawRule, TableEdits } from './table-backend.js';
import { sameRule } from '../xtables/same-rule.js';
import { Rule, Rule6 } from './rule.js';

const ESTALE = 116;

/**
 * A change by position that acts on a rule (`deleteRuleAt`, `replaceRule`, or a `-D/-R CHAIN n` line of a
 * restore text) made in a batch no longer finds the rule it saw at that position when it is applied
 * again to the kernel table at commit: another program changed the chain meanwhile, so that the rule is
 * gone or no longer the only one of its kind. Nothing of the batch was committed. An IPTCError with
 * errno ESTALE.
 */
export class ConcurrentChangeError extends IPTCError {
  /** The table of the change. */
  readonly table: string;
  /** The chain of the change. */
  readonly chain: string;
  /** The 0-based position the change was made at. */
  readonly position: number;

  /** A change at `position` of `chain` that no longer finds `rule` (its spec), the rule it saw there. */
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

function describe(view: TableEdits, rule: RawRule): string {
  try {
    return (view.family === 6 ? Rule6 : Rule).fromEntry(rule).toString();
  } catch {
    return `a rule of ${rule.entry.length} bytes`;
  }
}

/** Where the rule seen is in a view: its position, or NONE / AMBIGUOUS. */
const NONE = -1;
const AMBIGUOUS = -2;

function find(view: TableEdits, chain: string, position: number, seen: RawRule): number {
  const family = view.family;
  const here = view.rules(chain, position, 1)[0];
  if (here && sameRule(family, here, seen)) return position;
  let found = NONE;
  const rules = view.rules(chain);
  for (let index = 0; index < rules.length; index++) {
    if (!sameRule(family, rules[index]!, seen)) continue;
    if (found !== NONE) return AMBIGUOUS;
    found = index;
  }
  return found;
}

/** The rule at `position` of a view's chain; null when there is none (or no such chain). */
function ruleAt(view: TableEdits, chain: string, position: number): RawRule | null {
  return position >= 0 && view.isChain(chain) ? (view.rules(chain, position, 1)[0] ?? null) : null;
}

/** What one position of a change saw: the rule there, or for an insertion the rules on either side. */
type Seen = { rule: RawRule | null } | { above: RawRule | null; below: RawRule | null };

/**
 * The rules one change saw at the positions it acts on, in the order it asks for them. The first time
 * the change runs (on the view it was made on) each position is noted with the rules there; every later
 * run (on a fresh view, at commit) gets the position those rules give now. `slot` tells apart the
 * positions of one change (a restore text's lines).
 */
export class SeenRules {
  readonly #seen = new Map<number, Seen>();

  /**
   * The position, in this view, of the rule the change saw at `position` of `chain`: `position` itself
   * when the rule is still there, else where it is if the chain holds it exactly once. Throws
   * ConcurrentChangeError when it is gone or no longer one of a kind: a change that acts on a rule
   * (delete, replace) never acts on another.
   */
  locate(view: TableEdits, chain: string, position: number, slot = 0): number {
    const seen = this.#seen.get(slot);
    if (!seen) {
      this.#seen.set(slot, { rule: ruleAt(view, chain, position) });
      return position;
    }
    // With nothing there, the change failed the first time: it was not recorded, and is not applied again.
    if (!('rule' in seen) || !seen.rule) return position;
    const at = find(view, chain, position, seen.rule);
    if (at < 0) throw new ConcurrentChangeError(view.table, chain, position, describe(view, seen.rule));
    return at;
  }

  /**
   * Where to insert a rule the change inserted at `position`: right after the rule it saw above that
   * position, else right before the rule it saw there (each where the chain holds it exactly once), else
   * at `position`, as `iptables -I` would (an insertion removes or changes no rule). The top stays the top.
   */
  insertion(view: TableEdits, chain: string, position: number, slot = 0): number {
    if (position === 0) return 0;
    const seen = this.#seen.get(slot);
    if (!seen) {
      this.#seen.set(slot, { above: ruleAt(view, chain, position - 1), below: ruleAt(view, chain, position) });
      return position;
    }
    if (!('above' in seen)) return position;
    if (seen.above) {
      const above = find(view, chain, position - 1, seen.above);
      if (above >= 0) return above + 1;
    }
    if (seen.below) {
      const below = find(view, chain, position, seen.below);
      if (below >= 0) return below;
    }
    return position;
  }
}
