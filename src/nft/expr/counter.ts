// `counter`: the rule's packet and byte counts. Its values at creation are the preset (`-c`, restore's
// [p:b]); it must come before the verdict, which ends the rule's evaluation.
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR } from './element.js';

export const NFTA_COUNTER_EXPR = { BYTES: 1, PACKETS: 2 } as const;

/** `counter pkts P bytes B` (libnftnl writes BYTES first). */
export function writeCounter(w: NlaWriter, packets: bigint, bytes: bigint): void {
  const e = beginExpr(w, EXPR.counter);
  w.u64be(NFTA_COUNTER_EXPR.BYTES, bytes);
  w.u64be(NFTA_COUNTER_EXPR.PACKETS, packets);
  endExpr(w, e);
}

/** Offsets of the counter's values in the message (-1 when absent), for reading or zeroing in place. */
export interface CounterExpr {
  packetsAt: number;
  bytesAt: number;
}

export function readCounter(t: NlaTable, into: CounterExpr): CounterExpr {
  const o = t.offsets;
  into.packetsAt = t.lengths[NFTA_COUNTER_EXPR.PACKETS] === 8 ? o[NFTA_COUNTER_EXPR.PACKETS]! : -1;
  into.bytesAt = t.lengths[NFTA_COUNTER_EXPR.BYTES] === 8 ? o[NFTA_COUNTER_EXPR.BYTES]! : -1;
  return into;
}
