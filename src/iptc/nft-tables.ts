// Every nf_tables table of the network namespace, of every family, by name: what `iptc backend` tells
// apart as iptables' tables (ip/ip6 with iptables' names, which the nft backend works on) and other
// programs' (inet, bridge, netdev, or other names), which iptc never touches.
import { NetlinkDumpInterrupted } from '../netlink/errors.js';
import { NetlinkSocket } from '../netlink/socket.js';
import { NFT_MSG } from '../nft/constants.js';
import { nftRequest } from '../nft/request.js';
import { parseTable } from '../nft/table.js';

/** nft's family keywords by NFPROTO number. */
const FAMILY_NAMES = new Map<number, string>([[1, 'inet'], [2, 'ip'], [3, 'arp'], [5, 'netdev'], [7, 'bridge'], [10, 'ip6']]);

export interface NftTableName {
  /** As `nft list tables` names it: ip, ip6, inet, arp, bridge, netdev. */
  family: string;
  name: string;
}

/**
 * Every nf_tables table, of every family, in the kernel's order. Reads only.
 *
 * Equivalent to: `nft list tables`
 */
export function listNftTables(): NftTableName[] {
  const sock = new NetlinkSocket();
  try {
    for (let attempt = 1; ; attempt++) {
      const tables: NftTableName[] = [];
      try {
        // NFPROTO_UNSPEC (0) dumps the tables of every family.
        nftRequest(sock, NFT_MSG.GETTABLE, 0, true, null, (m) => {
          if ((m.type & 0xff) !== NFT_MSG.NEWTABLE) return;
          const t = parseTable(m);
          tables.push({ family: FAMILY_NAMES.get(t.family) ?? String(t.family), name: t.name });
        });
        return tables;
      } catch (e) {
        // Another writer committed while the dump was read: read again.
        if (!(e instanceof NetlinkDumpInterrupted) || attempt >= 10) throw e;
      }
    }
  } finally {
    sock.close();
  }
}
