// The refusals the iptables command makes for a rule in a given table and chain before it touches the
// kernel (do_parse in iptables 1.8.9's xshared.c), made here for every rule added, inserted, replaced
// or deleted by specification, and for policies, with iptables' own words. The kernel itself would take
// these rules; iptables refuses them as mistakes (a DROP in nat, an input interface on OUTPUT).
import { RuleSyntaxError } from './errors.js';
import type { Rule } from './rule.js';

/** What of a rule the guards look at, as bits: its target is DROP, it names an input / output interface. */
export const GUARD_DROP = 1;
export const GUARD_IN = 2;
export const GUARD_OUT = 4;

/** The guard bits of a rule (0 for most rules, which no guard concerns). */
export function guardBits(rule: Rule): number {
  return (
    (rule.standardLabel() === 'DROP' ? GUARD_DROP : 0) |
    (rule.inInterface !== null ? GUARD_IN : 0) |
    (rule.outInterface !== null ? GUARD_OUT : 0)
  );
}

const NAT_DROP = 'The "nat" table is not intended for filtering, the use of DROP is therefore inhibited.';

/**
 * Throws RuleSyntaxError, with iptables' message, for what iptables refuses of a rule with these guard
 * bits in `table` and `chain`: `-j DROP` in nat, `-o` in a chain named PREROUTING or INPUT, `-i` in one
 * named POSTROUTING or OUTPUT (by name, as iptables checks, whatever the table).
 */
export function checkGuards(table: string, chain: string, bits: number): void {
  if (bits === 0) return;
  if (bits & GUARD_DROP && table === 'nat') throw new RuleSyntaxError(NAT_DROP);
  if (bits & GUARD_OUT && (chain === 'PREROUTING' || chain === 'INPUT')) {
    throw new RuleSyntaxError(`Can't use -o with ${chain}`);
  }
  if (bits & GUARD_IN && (chain === 'POSTROUTING' || chain === 'OUTPUT')) {
    throw new RuleSyntaxError(`Can't use -i with ${chain}`);
  }
}

/**
 * checkGuards for a rule about to be added to, inserted in, replaced in or deleted from `chain` of
 * `table`. Equivalent to: what `iptables -t TABLE -A CHAIN rule` refuses before reaching the kernel
 */
export function checkRulePlacement(table: string, chain: string, rule: Rule): void {
  checkGuards(table, chain, guardBits(rule));
}

/** Equivalent to: `iptables -t nat -P CHAIN DROP`, which iptables refuses. */
export function checkPolicyPlacement(table: string, policy: string): void {
  if (table === 'nat' && policy === 'DROP') throw new RuleSyntaxError(NAT_DROP);
}
