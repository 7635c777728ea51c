// The data layouts of the few xtables extensions that iptables-nft writes as native nf_tables
// expressions instead of nft_compat blobs (linux/netfilter/xt_tcpudp.h, xt_limit.h, xt_mark.h,
// xt_NFLOG.h, xt_comment.h, xt_pkttype.h), and the blob header libxtables puts before each. The nf_tables
// codec reads them to write expressions and writes them to give a rule read back the blob libxtables
// would have built for the same parameters. Offsets are into the data after the 32-byte header; every
// multi-byte field is in host byte order (little endian on every platform iptc supports).
import { EXTENSION_HEADER, EXTENSION_MAXNAMELEN } from './entry.js';

export interface BlobSpec {
  name: string;
  revision: number;
  /** XT_ALIGN(sizeof(struct ...)): the data size libxtables allocates. */
  dataSize: number;
}

/** struct xt_tcp. */
export const XT_TCP = {
  name: 'tcp', revision: 0, dataSize: 16,
  SPTS: 0, DPTS: 4, OPTION: 8, FLG_MASK: 9, FLG_CMP: 10, INVFLAGS: 11,
  INV_SRCPT: 0x01, INV_DSTPT: 0x02, INV_FLAGS: 0x04, INV_OPTION: 0x08,
} as const;

/** struct xt_udp. */
export const XT_UDP = {
  name: 'udp', revision: 0, dataSize: 16,
  SPTS: 0, DPTS: 4, INVFLAGS: 8,
  INV_SRCPT: 0x01, INV_DSTPT: 0x02, INV_MASK: 0x03,
} as const;

/** struct xt_rateinfo (`-m limit`): avg is in XT_LIMIT_SCALE units of a second per packet. */
export const XT_RATEINFO = {
  name: 'limit', revision: 0, dataSize: 40,
  AVG: 0, BURST: 4, SCALE: 10_000,
} as const;

/** struct xt_mark_mtinfo1 (`-m mark`, revision 1). */
export const XT_MARK1 = {
  name: 'mark', revision: 1, dataSize: 16,
  MARK: 0, MASK: 4, INVERT: 8,
} as const;

/** struct xt_nflog_info (`-j NFLOG`); iptables-nft reads a longer prefix into the same layout. */
export const XT_NFLOG = {
  name: 'NFLOG', revision: 0, dataSize: 80,
  LEN: 0, GROUP: 4, THRESHOLD: 6, FLAGS: 8, PREFIX: 12,
  F_COPY_LEN: 0x1,
  /** NF_LOG_PREFIXLEN: the prefix an nf_tables `log` carries, with its NUL (the xt blob holds 64). */
  NFT_PREFIXLEN: 128,
} as const;

/** struct xt_comment_info. */
export const XT_COMMENT = { name: 'comment', revision: 0, dataSize: 256 } as const;

/** struct xt_pkttype_info. */
export const XT_PKTTYPE = { name: 'pkttype', revision: 0, dataSize: 8, PKTTYPE: 0, INVERT: 4 } as const;

/** `-j TRACE`: no data. */
export const XT_TRACE = { name: 'TRACE', revision: 0, dataSize: 0 } as const;

/** A zeroed extension blob of `dataSize` data bytes with its header (size, name, revision) filled in. */
export function extensionBlob(spec: BlobSpec, dataSize = spec.dataSize): Buffer {
  const size = EXTENSION_HEADER + dataSize;
  const blob = Buffer.alloc(size);
  blob.writeUInt16LE(size, 0);
  blob.write(spec.name, 2, EXTENSION_MAXNAMELEN - 1, 'latin1');
  blob[31] = spec.revision;
  return blob;
}

/** The blob `-m tcp` / `-m udp` starts from: every port matches (xt_tcp's and xt_udp's init). */
export function portMatchBlob(spec: typeof XT_TCP | typeof XT_UDP): Buffer {
  const blob = extensionBlob(spec);
  blob.writeUInt16LE(0xffff, EXTENSION_HEADER + spec.SPTS + 2);
  blob.writeUInt16LE(0xffff, EXTENSION_HEADER + spec.DPTS + 2);
  return blob;
}
