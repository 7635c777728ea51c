// `cmp`: compares a register with data (the data is exactly as long as what was loaded).
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR, u32, writeValue } from './element.js';
import { valueSpan, type ValueSpan } from './value.js';

export const NFTA_CMP = { SREG: 1, OP: 2, DATA: 3 } as const;
/** enum nft_cmp_ops. */
export const CMP_OP = { EQ: 0, NEQ: 1, LT: 2, LTE: 3, GT: 4, GTE: 5 } as const;

/** `cmp OP reg SREG src[start, end)`. */
export function writeCmp(w: NlaWriter, sreg: number, op: number, src: Uint8Array, start: number, end: number): void {
  const e = beginExpr(w, EXPR.cmp);
  w.u32be(NFTA_CMP.SREG, sreg);
  w.u32be(NFTA_CMP.OP, op);
  writeValue(w, NFTA_CMP.DATA, src, start, end);
  endExpr(w, e);
}

export interface CmpExpr {
  sreg: number;
  op: number;
  /** Where the compared data sits in the buffer. */
  data: ValueSpan;
}

export function readCmp(buf: Buffer, t: NlaTable, into: CmpExpr): CmpExpr {
  into.sreg = u32(buf, t, NFTA_CMP.SREG);
  into.op = u32(buf, t, NFTA_CMP.OP);
  valueSpan(buf, t, NFTA_CMP.DATA, into.data);
  return into;
}

