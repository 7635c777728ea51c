// The nf_tables backend's refusal to edit a chain it cannot read completely (see the class).
import { IPTCError } from '../xtables/errors.js';
import type { NftOpaqueRuleError } from '../nft/errors.js';

/**
 * A chain holds a rule that iptables cannot express (another program's, e.g. plain nft's `ip saddr
 * { ... }`): it is read-only through iptc, and nothing in it is read as a wrong rule, changed or
 * deleted. An IPTCError with errno EOPNOTSUPP; `rule` is the binding's reason.
 */
export class NftForeignRuleError extends IPTCError {
  override readonly name: string = 'NftForeignRuleError';
  /** A refusal naming the rule by its table, chain and nf_tables handle, and why it cannot be read. */
  constructor(
    /** The table of the rule. */
    readonly table: string,
    /** The chain of the rule. */
    readonly chain: string,
    /** The rule's nf_tables handle (`nft -a list ruleset` shows it). */
    readonly handle: bigint,
    /** Why the rule cannot be read as an iptables rule (the expression and its index). */
    readonly rule: NftOpaqueRuleError,
  ) {
    super(
      `chain \`${chain}' in table \`${table}' holds a rule iptables cannot express (handle ${handle}: ${rule.message}); ` +
        'the chain is read-only through iptc: use nft to change it',
      rule.errno,
    );
  }
}
