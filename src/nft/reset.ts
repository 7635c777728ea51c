// Zeroing rule counters. NFT_MSG_GETRULE_RESET (Linux 6.2+) dumps the rules and zeroes their counters
// in the same pass, so no packet counted between the read and the zero is lost; older kernels lack it,
// and a zero there re-sends each rule with its counter at 0 (NftBatch.rewriteRule, iptables-nft's way).
import { NetlinkKernelError } from '../netlink/errors.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import { NFT_MSG, NFTA_RULE } from './constants.js';
import { nftRequest } from './request.js';

const EINVAL = 22;
const EOPNOTSUPP = 95;

let known: boolean | null = null;

/**
 * Whether the kernel has GETRULE_RESET, asked once per process with a dump of a table that does not
 * exist (a kernel without the message refuses its type; one with it answers with an empty dump).
 */
export function probeRuleReset(sock: NetlinkSocket, family: number): boolean {
  if (known !== null) return known;
  try {
    nftRequest(sock, NFT_MSG.GETRULE_RESET, family, true, (w) => w.str(NFTA_RULE.TABLE, `iptc-probe-${process.pid}-none`), () => {});
    known = true;
  } catch (e) {
    if (!(e instanceof NetlinkKernelError)) throw e;
    if (e.code !== EINVAL && e.code !== EOPNOTSUPP) {
      // ENOENT and the like: the message exists, the table does not.
      known = true;
    } else {
      known = false;
    }
  }
  return known;
}
