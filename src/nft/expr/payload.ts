// `payload`: loads bytes of a packet header into a register.
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR, u32 } from './element.js';

export const NFTA_PAYLOAD = { DREG: 1, BASE: 2, OFFSET: 3, LEN: 4, SREG: 5 } as const;
/** enum nft_payload_bases. */
export const PAYLOAD_BASE = { LL: 0, NETWORK: 1, TRANSPORT: 2, INNER: 3 } as const;

/** `payload load LEN b @ BASE + OFFSET => reg DREG` (libnftnl's order: DREG, BASE, OFFSET, LEN). */
export function writePayloadLoad(w: NlaWriter, base: number, offset: number, len: number, dreg: number): void {
  const e = beginExpr(w, EXPR.payload);
  w.u32be(NFTA_PAYLOAD.DREG, dreg);
  w.u32be(NFTA_PAYLOAD.BASE, base);
  w.u32be(NFTA_PAYLOAD.OFFSET, offset);
  w.u32be(NFTA_PAYLOAD.LEN, len);
  endExpr(w, e);
}

export interface PayloadExpr {
  base: number;
  offset: number;
  len: number;
  /** -1 when absent (a write to the packet). */
  dreg: number;
  /** -1 when absent (a load). */
  sreg: number;
}

export function readPayload(buf: Buffer, t: NlaTable, into: PayloadExpr): PayloadExpr {
  into.base = u32(buf, t, NFTA_PAYLOAD.BASE);
  into.offset = u32(buf, t, NFTA_PAYLOAD.OFFSET);
  into.len = u32(buf, t, NFTA_PAYLOAD.LEN);
  into.dreg = u32(buf, t, NFTA_PAYLOAD.DREG);
  into.sreg = u32(buf, t, NFTA_PAYLOAD.SREG);
  return into;
}
