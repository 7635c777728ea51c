// `match` (nft_compat): an xtables match run by the kernel's xt module, with the blob libxtables built.
// INFO is the data after the 32-byte xt_entry_match header, XT_ALIGNed.
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR, u32, type ExprKind } from './element.js';

/** NFTA_MATCH_* and NFTA_TARGET_* share their numbers. */
export const NFTA_XT = { NAME: 1, REV: 2, INFO: 3 } as const;

/** Writes a compat match or target: NAME, REV, INFO = blob[infoStart, infoEnd). */
export function writeXt(w: NlaWriter, kind: ExprKind, name: string, revision: number, blob: Uint8Array, infoStart: number,
  infoEnd: number): void {
  const e = beginExpr(w, kind);
  w.str(NFTA_XT.NAME, name);
  w.u32be(NFTA_XT.REV, revision);
  w.bytesOf(NFTA_XT.INFO, blob, infoStart, infoEnd);
  endExpr(w, e);
}

/** `match name NAME rev REV` with the match's data. */
export function writeMatch(w: NlaWriter, name: string, revision: number, blob: Uint8Array, infoStart: number, infoEnd: number): void {
  writeXt(w, EXPR.match, name, revision, blob, infoStart, infoEnd);
}

/** A compat match or target, as offsets into the message: its name is copied, never made a string. */
export interface XtExpr {
  /** Offset and length (up to its NUL) of NAME; nameLen 0 when absent. */
  nameOff: number;
  nameLen: number;
  /** -1 when absent. */
  revision: number;
  /** Offset and length of INFO in the message; -1 when absent. */
  infoOff: number;
  infoLen: number;
}

/** Reads a compat match or target. */
export function readXt(buf: Buffer, t: NlaTable, into: XtExpr): XtExpr {
  const o = t.offsets;
  into.nameOff = o[NFTA_XT.NAME]!;
  into.nameLen = 0;
  if (into.nameOff >= 0) while (into.nameLen < t.lengths[NFTA_XT.NAME]! && buf[into.nameOff + into.nameLen] !== 0) into.nameLen++;
  into.revision = u32(buf, t, NFTA_XT.REV);
  into.infoOff = o[NFTA_XT.INFO]!;
  into.infoLen = into.infoOff >= 0 ? t.lengths[NFTA_XT.INFO]! : 0;
  return into;
}
