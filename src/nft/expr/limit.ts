// `limit`: the token bucket iptables' `-m limit` is written as: RATE packets per UNIT seconds, BURST.
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR, u32 } from './element.js';

export const NFTA_LIMIT = { RATE: 1, UNIT: 2, BURST: 3, TYPE: 4, FLAGS: 5 } as const;
/** enum nft_limit_type. */
export const LIMIT_TYPE = { PKTS: 0, PKT_BYTES: 1 } as const;
/** NFT_LIMIT_F_INV. */
export const LIMIT_F_INV = 1;

/** `limit rate RATE/UNIT burst BURST type packets flags 0`. */
export function writeLimit(w: NlaWriter, rate: bigint, unit: bigint, burst: number): void {
  const e = beginExpr(w, EXPR.limit);
  w.u64be(NFTA_LIMIT.RATE, rate);
  w.u64be(NFTA_LIMIT.UNIT, unit);
  w.u32be(NFTA_LIMIT.BURST, burst);
  w.u32be(NFTA_LIMIT.TYPE, LIMIT_TYPE.PKTS);
  w.u32be(NFTA_LIMIT.FLAGS, 0);
  endExpr(w, e);
}

export interface LimitExpr {
  rate: bigint;
  unit: bigint;
  burst: number;
  type: number;
  flags: number;
}

export function readLimit(buf: Buffer, t: NlaTable, into: LimitExpr): LimitExpr {
  const o = t.offsets;
  into.rate = o[NFTA_LIMIT.RATE]! >= 0 && t.lengths[NFTA_LIMIT.RATE] === 8 ? buf.readBigUInt64BE(o[NFTA_LIMIT.RATE]!) : 0n;
  into.unit = o[NFTA_LIMIT.UNIT]! >= 0 && t.lengths[NFTA_LIMIT.UNIT] === 8 ? buf.readBigUInt64BE(o[NFTA_LIMIT.UNIT]!) : 0n;
  into.burst = Math.max(0, u32(buf, t, NFTA_LIMIT.BURST));
  into.type = Math.max(0, u32(buf, t, NFTA_LIMIT.TYPE));
  into.flags = Math.max(0, u32(buf, t, NFTA_LIMIT.FLAGS));
  return into;
}
