// The NFTA_DATA_VALUE inside a data attribute (cmp, bitwise and range operands), as an offset and a
// length into the message: operands are compared in place, never copied.
import type { NlaTable } from '../../netlink/attributes.js';
import { NFTA_DATA } from '../constants.js';

export interface ValueSpan {
  /** Offset of the value bytes; -1 when the attribute or its VALUE is absent. */
  off: number;
  len: number;
}

export const noValue = (): ValueSpan => ({ off: -1, len: 0 });

/** Finds { NFTA_DATA_VALUE } inside attribute `type` of a parsed expression. */
export function valueSpan(buf: Buffer, t: NlaTable, type: number, into: ValueSpan): ValueSpan {
  into.off = -1;
  into.len = 0;
  const at = t.offsets[type]!;
  if (at < 0) return into;
  const end = at + t.lengths[type]!;
  let p = at;
  while (p + 4 <= end) {
    const len = buf[p]! | (buf[p + 1]! << 8);
    if (len < 4 || p + len > end) break;
    if (((buf[p + 2]! | (buf[p + 3]! << 8)) & 0x3fff) === NFTA_DATA.VALUE) {
      into.off = p + 4;
      into.len = len - 4;
      return into;
    }
    p += (len + 3) & ~3;
  }
  return into;
}
