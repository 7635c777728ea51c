// nf_tables tables: iptables' `filter`, `nat`, ... are `table ip filter` (family 2) and `table ip6 filter`
// (family 10). Creating one is NEWTABLE CREATE (no EXCL: it may exist); iptables-nft-restore replaces a
// table with DELTABLE and a rebuild in the same batch.
import { NlaTable, readStr, type NlaWriter } from '../netlink/attributes.js';
import { NFGENMSG_END } from '../netlink/constants.js';
import type { NetlinkSocket, NlMessage } from '../netlink/socket.js';
import { NFT_MSG, NFT_TABLE_F, NFTA_TABLE } from './constants.js';
import { nftRequest } from './request.js';

export interface NftTable {
  family: number;
  name: string;
  handle: bigint;
  /** NFT_TABLE_F bits: DORMANT (keeps its rules, filters nothing), OWNER (another socket's). */
  flags: number;
  /** How many chains it holds. */
  use: number;
}

const t = new NlaTable(8);

export function parseTable(m: NlMessage): NftTable {
  const buf = m.buf;
  t.parse(buf, m.off + NFGENMSG_END, m.off + m.len);
  const o = t.offsets;
  return {
    family: buf[m.off + 16]!,
    name: o[NFTA_TABLE.NAME]! >= 0 ? readStr(buf, o[NFTA_TABLE.NAME]!, t.lengths[NFTA_TABLE.NAME]!) : '',
    handle: o[NFTA_TABLE.HANDLE]! >= 0 ? buf.readBigUInt64BE(o[NFTA_TABLE.HANDLE]!) : 0n,
    flags: o[NFTA_TABLE.FLAGS]! >= 0 ? buf.readUInt32BE(o[NFTA_TABLE.FLAGS]!) : 0,
    use: o[NFTA_TABLE.USE]! >= 0 ? buf.readUInt32BE(o[NFTA_TABLE.USE]!) : 0,
  };
}

/**
 * Every table of a family.
 *
 * Equivalent to: `nft list tables ip`
 */
export function dumpTables(sock: NetlinkSocket, family: number): NftTable[] {
  const tables: NftTable[] = [];
  nftRequest(sock, NFT_MSG.GETTABLE, family, true, null, (m) => {
    if ((m.type & 0xff) === NFT_MSG.NEWTABLE) {
      const table = parseTable(m);
      if (table.family === family) tables.push(table);
    }
  });
  return tables;
}

/** The attributes of NEWTABLE / DELTABLE: the name only (iptables never sets flags). */
export function writeTableAttrs(w: NlaWriter, name: string): void {
  w.str(NFTA_TABLE.NAME, name);
}

export const isDormant = (table: NftTable): boolean => (table.flags & NFT_TABLE_F.DORMANT) !== 0;
export const isOwned = (table: NftTable): boolean => (table.flags & NFT_TABLE_F.OWNER) !== 0;
