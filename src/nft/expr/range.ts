// `range`: whether a register lies in [FROM, TO] (EQ) or outside it (NEQ): port ranges.
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR, u32, writeValue } from './element.js';
import { valueSpan, type ValueSpan } from './value.js';

export const NFTA_RANGE = { SREG: 1, OP: 2, FROM: 3, TO: 4 } as const;
/** enum nft_range_ops. */
export const RANGE_OP = { EQ: 0, NEQ: 1 } as const;

const port = Buffer.alloc(4);

/** `range OP reg SREG from to` for two big-endian 16-bit values (ports). */
export function writeRange16(w: NlaWriter, sreg: number, op: number, from: number, to: number): void {
  const e = beginExpr(w, EXPR.range);
  w.u32be(NFTA_RANGE.SREG, sreg);
  w.u32be(NFTA_RANGE.OP, op);
  port.writeUInt16BE(from, 0);
  port.writeUInt16BE(to, 2);
  writeValue(w, NFTA_RANGE.FROM, port, 0, 2);
  writeValue(w, NFTA_RANGE.TO, port, 2, 4);
  endExpr(w, e);
}

export interface RangeExpr {
  sreg: number;
  op: number;
  from: ValueSpan;
  to: ValueSpan;
}

export function readRange(buf: Buffer, t: NlaTable, into: RangeExpr): RangeExpr {
  into.sreg = u32(buf, t, NFTA_RANGE.SREG);
  into.op = u32(buf, t, NFTA_RANGE.OP);
  valueSpan(buf, t, NFTA_RANGE.FROM, into.from);
  valueSpan(buf, t, NFTA_RANGE.TO, into.to);
  return into;
}
