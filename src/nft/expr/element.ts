// One element of a rule's NFTA_RULE_EXPRESSIONS list: LIST_ELEM { NAME "meta", DATA { ... } }. Writers
// open an element and its DATA nest in one call; readers find each element's name and data without
// making a string, by comparing the name bytes with the few names nf_tables rules hold.
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { NLA_TYPE_MASK } from '../../netlink/constants.js';
import { NFTA_DATA, NFTA_EXPR, NFTA_LIST_ELEM } from '../constants.js';

/** The expressions this library writes or reads, by a small number (0: any other). */
export const EXPR = {
  unknown: 0,
  meta: 1,
  payload: 2,
  cmp: 3,
  bitwise: 4,
  range: 5,
  counter: 6,
  immediate: 7,
  match: 8,
  target: 9,
  limit: 10,
  log: 11,
  lookup: 12,
} as const;
export type ExprKind = (typeof EXPR)[keyof typeof EXPR];

const NAMES: readonly string[] = Object.keys(EXPR);

/** The NAME attribute of each expression, pre-encoded (header, NUL-terminated name, padding). */
const NAME_ATTRS: Buffer[] = NAMES.map((name) => {
  const len = 4 + name.length + 1;
  const attr = Buffer.alloc((len + 3) & ~3);
  attr.writeUInt16LE(len, 0);
  attr.writeUInt16LE(NFTA_EXPR.NAME, 2);
  attr.write(name, 4, 'latin1');
  return attr;
});

/** The expression kind of the NUL-terminated name at buf[off, off + len). */
export function exprKind(buf: Buffer, off: number, len: number): ExprKind {
  let n = 0;
  while (n < len && buf[off + n] !== 0) n++;
  for (let kind = 1; kind < NAMES.length; kind++) {
    const name = NAMES[kind]!;
    if (name.length !== n) continue;
    let same = true;
    for (let i = 0; i < n; i++) {
      if (buf[off + i] !== name.charCodeAt(i)) {
        same = false;
        break;
      }
    }
    if (same) return kind as ExprKind;
  }
  return EXPR.unknown;
}

/**
 * A u32 attribute of a parsed expression (big endian, as nf_tables sends them); `absent` (-1 unless
 * given) when it is missing or too short to hold one.
 */
export function u32(buf: Buffer, t: NlaTable, type: number, absent = -1): number {
  const at = t.offsets[type]!;
  return at >= 0 && t.lengths[type]! >= 4 ? buf.readUInt32BE(at) : absent;
}

/** An open element: the offsets endExpr() needs to close the element and its DATA nest. */
export interface OpenExpr {
  elem: number;
  data: number;
}

/** Opens LIST_ELEM { NAME, DATA { for the expression `kind`; write its attributes, then endExpr(). */
export function beginExpr(w: NlaWriter, kind: ExprKind): OpenExpr {
  const elem = w.beginNest(NFTA_LIST_ELEM);
  w.raw(NAME_ATTRS[kind]!);
  const data = w.beginNest(NFTA_EXPR.DATA);
  return { elem, data };
}

export function endExpr(w: NlaWriter, open: OpenExpr): void {
  w.endNest(open.data);
  w.endNest(open.elem);
}

/** A data attribute (cmp, bitwise, range operands): `type` { NFTA_DATA_VALUE bytes }. */
export function writeValue(w: NlaWriter, type: number, src: Uint8Array, start: number, end: number): void {
  const nest = w.beginNest(type);
  w.bytesOf(NFTA_DATA.VALUE, src, start, end);
  w.endNest(nest);
}

/** Where one element's NAME and DATA sit, found by walkExprs(). */
export interface ExprSpan {
  kind: ExprKind;
  /** Offset and length of the NAME payload. */
  nameOff: number;
  nameLen: number;
  /** Offset and end of the DATA nest payload (the expression's own attributes); -1 when absent. */
  dataOff: number;
  dataEnd: number;
}

/**
 * Calls fn for each element of an NFTA_RULE_EXPRESSIONS payload buf[start, end), with one span object
 * reused between calls. Returning false from fn stops the walk.
 */
export function walkExprs(buf: Buffer, start: number, end: number, fn: (span: ExprSpan) => boolean | void): void {
  const span: ExprSpan = { kind: EXPR.unknown, nameOff: -1, nameLen: 0, dataOff: -1, dataEnd: -1 };
  let p = start;
  while (p + 4 <= end) {
    const len = buf[p]! | (buf[p + 1]! << 8);
    if (len < 4 || p + len > end) break;
    const elemEnd = p + len;
    span.kind = EXPR.unknown;
    span.nameOff = -1;
    span.nameLen = 0;
    span.dataOff = -1;
    span.dataEnd = -1;
    let q = p + 4;
    while (q + 4 <= elemEnd) {
      const alen = buf[q]! | (buf[q + 1]! << 8);
      if (alen < 4 || q + alen > elemEnd) break;
      const type = (buf[q + 2]! | (buf[q + 3]! << 8)) & NLA_TYPE_MASK;
      if (type === NFTA_EXPR.NAME) {
        span.nameOff = q + 4;
        span.nameLen = alen - 4;
        span.kind = exprKind(buf, q + 4, alen - 4);
      } else if (type === NFTA_EXPR.DATA) {
        span.dataOff = q + 4;
        span.dataEnd = q + alen;
      }
      q += (alen + 3) & ~3;
    }
    if (fn(span) === false) return;
    p += (len + 3) & ~3;
  }
}
