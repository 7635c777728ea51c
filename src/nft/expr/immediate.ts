// `immediate`: loads a constant into a register: a verdict into register 0 (accept, drop, return, jump,
// goto), or data into another (the 1 that `meta set nftrace` reads for -j TRACE).
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { NFTA_DATA, NFTA_VERDICT, NFT_REG_VERDICT } from '../constants.js';
import { beginExpr, endExpr, EXPR, u32, writeValue } from './element.js';
import { readStr } from '../../netlink/attributes.js';
import { valueSpan, type ValueSpan } from './value.js';

export const NFTA_IMMEDIATE = { DREG: 1, DATA: 2 } as const;

/** `immediate reg 0 CODE [CHAIN]`. */
export function writeVerdict(w: NlaWriter, code: number, chain?: string): void {
  const e = beginExpr(w, EXPR.immediate);
  w.u32be(NFTA_IMMEDIATE.DREG, NFT_REG_VERDICT);
  const data = w.beginNest(NFTA_IMMEDIATE.DATA);
  const verdict = w.beginNest(NFTA_DATA.VERDICT);
  w.u32be(NFTA_VERDICT.CODE, code >>> 0);
  if (chain !== undefined) w.str(NFTA_VERDICT.CHAIN, chain);
  w.endNest(verdict);
  w.endNest(data);
  endExpr(w, e);
}

/** `immediate reg DREG src[start, end)`. */
export function writeImmediateData(w: NlaWriter, dreg: number, src: Uint8Array, start: number, end: number): void {
  const e = beginExpr(w, EXPR.immediate);
  w.u32be(NFTA_IMMEDIATE.DREG, dreg);
  writeValue(w, NFTA_IMMEDIATE.DATA, src, start, end);
  endExpr(w, e);
}

export interface ImmediateExpr {
  dreg: number;
  /** Whether DATA holds a verdict (then code and chain are set) rather than a value. */
  isVerdict: boolean;
  code: number;
  /** The chain of a jump or goto; '' when none. */
  chain: string;
  value: ValueSpan;
}

export function readImmediate(buf: Buffer, t: NlaTable, into: ImmediateExpr): ImmediateExpr {
  const o = t.offsets;
  into.dreg = u32(buf, t, NFTA_IMMEDIATE.DREG);
  into.isVerdict = false;
  into.code = 0;
  into.chain = '';
  valueSpan(buf, t, NFTA_IMMEDIATE.DATA, into.value);
  const at = o[NFTA_IMMEDIATE.DATA]!;
  if (at < 0) return into;
  const end = at + t.lengths[NFTA_IMMEDIATE.DATA]!;
  for (let p = at; p + 4 <= end; ) {
    const len = buf[p]! | (buf[p + 1]! << 8);
    if (len < 4 || p + len > end) break;
    if (((buf[p + 2]! | (buf[p + 3]! << 8)) & 0x3fff) === NFTA_DATA.VERDICT) {
      into.isVerdict = true;
      for (let q = p + 4; q + 4 <= p + len; ) {
        const alen = buf[q]! | (buf[q + 1]! << 8);
        if (alen < 4 || q + alen > p + len) break;
        const type = (buf[q + 2]! | (buf[q + 3]! << 8)) & 0x3fff;
        if (type === NFTA_VERDICT.CODE && alen >= 8) into.code = buf.readInt32BE(q + 4);
        else if (type === NFTA_VERDICT.CHAIN) into.chain = readStr(buf, q + 4, alen - 4);
        q += (alen + 3) & ~3;
      }
    }
    p += (len + 3) & ~3;
  }
  return into;
}
