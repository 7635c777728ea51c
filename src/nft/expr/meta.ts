// `meta`: loads packet metadata into a register (iif name, mark, l4 protocol), or sets it from one
// (nftrace, for -j TRACE).
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR, u32 } from './element.js';

export const NFTA_META = { DREG: 1, KEY: 2, SREG: 3 } as const;

/** The keys iptables-nft writes or reads (enum nft_meta_keys). */
export const META_KEY = {
  MARK: 3,
  IIF: 4,
  OIF: 5,
  IIFNAME: 6,
  OIFNAME: 7,
  NFTRACE: 12,
  L4PROTO: 16,
  PKTTYPE: 19,
} as const;

/** `meta load KEY => reg DREG` (attributes in libnftnl's order: KEY, DREG). */
export function writeMetaLoad(w: NlaWriter, key: number, dreg: number): void {
  const e = beginExpr(w, EXPR.meta);
  w.u32be(NFTA_META.KEY, key);
  w.u32be(NFTA_META.DREG, dreg);
  endExpr(w, e);
}

/** `meta set KEY with reg SREG`. */
export function writeMetaSet(w: NlaWriter, key: number, sreg: number): void {
  const e = beginExpr(w, EXPR.meta);
  w.u32be(NFTA_META.KEY, key);
  w.u32be(NFTA_META.SREG, sreg);
  endExpr(w, e);
}

export interface MetaExpr {
  key: number;
  /** -1 when absent (a set). */
  dreg: number;
  /** -1 when absent (a load). */
  sreg: number;
}

export function readMeta(buf: Buffer, t: NlaTable, into: MetaExpr): MetaExpr {
  into.key = u32(buf, t, NFTA_META.KEY);
  into.dreg = u32(buf, t, NFTA_META.DREG);
  into.sreg = u32(buf, t, NFTA_META.SREG);
  return into;
}
