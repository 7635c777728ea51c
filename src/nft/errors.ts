// What the nf_tables layer refuses or the kernel rejects, as IPTCErrors carrying the errno.
import { IPTCError } from '../xtables/errors.js';
import type { ExtAck } from '../netlink/errors.js';

const EINVAL = 22;
const EOPNOTSUPP = 95;
const EINTR = 4;
const ENOBUFS = 105;

/**
 * An iptables rule with no faithful nf_tables form (for example `-j QUEUE`, `! -s 0.0.0.0/0`, or a rule
 * iptables-nft 1.8.9 would write with another meaning). Nothing was sent.
 */
export class NftTranslateError extends IPTCError {
  override readonly name: string = 'NftTranslateError';
  constructor(readonly reason: string) {
    super(`cannot write this rule to nf_tables: ${reason}`, EINVAL);
  }
}

/**
 * A rule in the kernel that has no iptables form this library can give without changing its meaning
 * (plain nft's `ip saddr { ... }` sets, `ct state`, syslog `log`, ...). It is left alone: read-only.
 */
export class NftOpaqueRuleError extends IPTCError {
  override readonly name: string = 'NftOpaqueRuleError';
  /** A rule that has no iptables form, and why (errno EOPNOTSUPP). */
  constructor(
    /** Why the rule has no iptables form. */
    readonly reason: string,
    /** The expression that could not be mapped (its nf_tables name), when one was at fault. */
    readonly expression?: string,
    /** Its position in the rule's expression list. */
    readonly index?: number,
  ) {
    super(`rule has no iptables form: ${reason}${expression ? ` (expression ${index ?? '?'}: ${expression})` : ''}`, EOPNOTSUPP);
  }
}

/** One message of a batch the kernel refused, mapped back to what it was asked to do. */
export interface BatchFailure<Op = unknown> {
  /** The operation's index in the batch (-1 for the batch itself: BEGIN/END). */
  index: number;
  op: Op | undefined;
  errno: number;
  extAck: ExtAck;
}

/**
 * The kernel refused a batch: nothing of it was applied. `failures` lists every refused message (the
 * kernel runs them all and reports each); `errno` is the first one's.
 */
export class NftBatchError<Op = unknown> extends IPTCError {
  override readonly name: string = 'NftBatchError';
  constructor(
    message: string,
    readonly failures: BatchFailure<Op>[],
  ) {
    super(message, failures[0]?.errno ?? EINVAL);
  }
}

/**
 * ERESTART: the ruleset generation moved since the view the batch was built on was read. Nothing was
 * applied; re-read and rebuild the batch.
 */
export class NftGenerationError extends NftBatchError {
  override readonly name: string = 'NftGenerationError';
  constructor(readonly genid: number) {
    super(`the nf_tables ruleset changed since generation ${genid} was read: nothing was applied (ERESTART)`, [
      { index: -1, op: undefined, errno: 85, extAck: {} },
    ]);
  }
}

/**
 * The kernel's replies to a batch were lost (the receive queue overflowed), so whether it was applied is
 * unknown: re-read before doing anything else.
 */
export class NftCommitUnknownError extends IPTCError {
  override readonly name: string = 'NftCommitUnknownError';
  constructor() {
    super('the replies to an nf_tables batch were lost (ENOBUFS): whether it was applied is unknown; re-read the ruleset', ENOBUFS);
  }
}

/** A consistent view could not be read: the ruleset kept changing during every attempt. */
export class NftSnapshotError extends IPTCError {
  override readonly name: string = 'NftSnapshotError';
  constructor(attempts: number) {
    super(`the nf_tables ruleset changed during each of ${attempts} reads; no consistent view`, EINTR);
  }
}
