// `bitwise`: reg DREG = (reg SREG & MASK) ^ XOR, for address masks, tcp flags and mark masks.
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR, u32, writeValue } from './element.js';
import { valueSpan, type ValueSpan } from './value.js';

export const NFTA_BITWISE = { SREG: 1, DREG: 2, LEN: 3, MASK: 4, XOR: 5, OP: 6, DATA: 7 } as const;
/** enum nft_bitwise_ops: iptables only ever masks. */
export const BITWISE_OP_MASK_XOR = 0;

const ZEROS = new Uint8Array(16);

/** `bitwise reg DREG = (reg SREG & mask) ^ 0`, with mask = src[start, end). */
export function writeBitwiseMask(w: NlaWriter, sreg: number, dreg: number, src: Uint8Array, start: number, end: number): void {
  const e = beginExpr(w, EXPR.bitwise);
  w.u32be(NFTA_BITWISE.SREG, sreg);
  w.u32be(NFTA_BITWISE.DREG, dreg);
  w.u32be(NFTA_BITWISE.LEN, end - start);
  writeValue(w, NFTA_BITWISE.MASK, src, start, end);
  writeValue(w, NFTA_BITWISE.XOR, ZEROS, 0, end - start);
  endExpr(w, e);
}

export interface BitwiseExpr {
  sreg: number;
  dreg: number;
  len: number;
  /** BITWISE_OP_MASK_XOR when absent (kernels before shifts existed). */
  op: number;
  mask: ValueSpan;
  xor: ValueSpan;
  /** Whether DATA (the shift amount of a shift) is present. */
  hasData: boolean;
}

export function readBitwise(buf: Buffer, t: NlaTable, into: BitwiseExpr): BitwiseExpr {
  into.sreg = u32(buf, t, NFTA_BITWISE.SREG);
  into.dreg = u32(buf, t, NFTA_BITWISE.DREG);
  into.len = u32(buf, t, NFTA_BITWISE.LEN);
  into.op = t.offsets[NFTA_BITWISE.OP]! >= 0 ? u32(buf, t, NFTA_BITWISE.OP) : BITWISE_OP_MASK_XOR;
  valueSpan(buf, t, NFTA_BITWISE.MASK, into.mask);
  valueSpan(buf, t, NFTA_BITWISE.XOR, into.xor);
  into.hasData = t.offsets[NFTA_BITWISE.DATA]! >= 0;
  return into;
}
