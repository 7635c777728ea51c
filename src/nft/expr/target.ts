// `target` (nft_compat): an xtables target run by the kernel's xt module (LOG, REJECT, DNAT, MARK, ...),
// with the blob libxtables built. Same attributes as `match`.
import type { NlaWriter } from '../../netlink/attributes.js';
import { EXPR } from './element.js';
import { writeXt } from './match.js';

/** Targets read as matches do: readXt. */
/** `target name NAME rev REV` with the target's data. */
export function writeTarget(w: NlaWriter, name: string, revision: number, blob: Uint8Array, infoStart: number, infoEnd: number): void {
  writeXt(w, EXPR.target, name, revision, blob, infoStart, infoEnd);
}
