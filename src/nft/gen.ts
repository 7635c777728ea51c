// The ruleset generation: a counter the kernel bumps with every committed nf_tables transaction. A batch
// tagged with the generation its view was read at is refused with ERESTART if the ruleset moved since.
import { NlaTable } from '../netlink/attributes.js';
import { NFGENMSG_END } from '../netlink/constants.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import { NFT_MSG, NFTA_GEN } from './constants.js';
import { nftRequest } from './request.js';

/**
 * The current generation id.
 *
 * Equivalent to: `nft list ruleset` reading `# generation N` (iptables-nft asks before and after
 * building its cache).
 */
export function readGeneration(sock: NetlinkSocket): number {
  let id = -1;
  const t = new NlaTable(4);
  nftRequest(sock, NFT_MSG.GETGEN, 0, false, null, (m) => {
    if ((m.type & 0xff) !== NFT_MSG.NEWGEN) return;
    t.parse(m.buf, m.off + NFGENMSG_END, m.off + m.len);
    if (t.has(NFTA_GEN.ID)) id = m.buf.readUInt32BE(t.offsets[NFTA_GEN.ID]!);
  });
  if (id < 0) throw new Error('the kernel answered GETGEN without a generation id');
  return id;
}
