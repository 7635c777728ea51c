// Set headers: the create options of a set, decoded from the DATA nest of LIST/SAVE replies and printed
// in the order the ipset CLI prints them (which differs per type, e.g. netmask of hash:ip,port comes last).
import { formatIP } from '../inet/address.js';
import { NlaTable, forEachAttr } from './attributes.js';
import { CreateFlag, DataAttr as A } from './constants.js';
import type { IPSetEntry } from './entry.js';

/** Every create option of a set as the kernel reports it. */
export interface IPSetHeader {
  /** The set's address family. Equivalent to: `family inet6` in `ipset list` */
  family?: 'inet' | 'inet6';
  /** The hash size (hash types). Equivalent to: `hashsize N` */
  hashsize?: number;
  /** The most entries the set holds. Equivalent to: `maxelem N` */
  maxelem?: number;
  /** Prefix length (hash:ip, hash:ip,port, bitmap:ip). */
  netmask?: number;
  /** Dotted / IPv6 mask. */
  bitmask?: string;
  /** The mark mask (hash:*,mark types). Equivalent to: `markmask N` */
  markmask?: number;
  /** The default timeout of entries, in seconds. Equivalent to: `timeout N` */
  timeout?: number;
  /** Whether entries have counters. Equivalent to: `counters` */
  counters: boolean;
  /** Whether entries have comments. Equivalent to: `comment` */
  comment: boolean;
  /** Whether entries have skbinfo. Equivalent to: `skbinfo` */
  skbinfo: boolean;
  /** Whether a full set evicts an entry for a new one. Equivalent to: `forceadd` */
  forceadd: boolean;
  /** Entries per hash bucket. Equivalent to: `bucketsize N` */
  bucketsize?: number;
  /** The hash seed. Equivalent to: `initval 0x...` */
  initval?: number;
  /** bitmap types: '10.0.0.0-10.0.0.255' or '1000-2000'. */
  range?: string;
  /** list:set */
  size?: number;
  /** Kernel bookkeeping (reply only): how many rules and list:sets refer to the set. */
  references?: number;
  /** The memory the set takes, in bytes (reply only). Equivalent to: `Size in memory` in `ipset list` */
  memsize?: number;
  /** How many entries the set holds (reply only). Equivalent to: `Number of entries` in `ipset list` */
  elements?: number;
}

/** One set as listed: identity, header and (for list()) its entries. */
export interface IPSetInfo {
  /** The set's name. */
  name: string;
  /** The set type, e.g. `hash:ip`. Equivalent to: `Type:` in `ipset list` */
  type: string;
  /** The set's family; `unspec` for types without one (bitmap:port, list:set). */
  family: 'inet' | 'inet6' | 'unspec';
  /** The revision of the set type. Equivalent to: `Revision:` in `ipset list` */
  revision: number;
  /** The kernel's index of the set (what iptables rules refer to). */
  index?: number;
  /** The create options and the kernel's bookkeeping. Equivalent to: `Header:` in `ipset list` */
  header: IPSetHeader;
  /** The entries (empty for headers()). Equivalent to: `Members:` in `ipset list` */
  entries: IPSetEntry[];
}

export function decodeHeader(buf: Buffer, start: number, end: number, family: number): IPSetHeader {
  const t = new NlaTable(32).parse(buf, start, end);
  const o = t.offsets;
  const h: IPSetHeader = { counters: false, comment: false, skbinfo: false, forceadd: false };
  const u32 = (a: number) => (o[a]! >= 0 ? buf.readUInt32BE(o[a]!) : undefined);
  if (family === 2 || family === 10) h.family = family === 2 ? 'inet' : 'inet6';
  const set = <K extends keyof IPSetHeader>(k: K, v: IPSetHeader[K] | undefined) => {
    if (v !== undefined) h[k] = v;
  };
  set('hashsize', u32(A.HASHSIZE));
  set('maxelem', u32(A.MAXELEM));
  if (o[A.NETMASK]! >= 0) h.netmask = buf[o[A.NETMASK]!]!;
  if (o[A.BITMASK]! >= 0) {
    forEachAttr(buf, o[A.BITMASK]!, o[A.BITMASK]! + t.lengths[A.BITMASK]!, (_type, off, len) => {
      h.bitmask = formatIP(buf, off, len);
    });
  }
  set('markmask', u32(A.MARKMASK));
  set('timeout', u32(A.TIMEOUT));
  const flags = u32(A.CADT_FLAGS) ?? 0;
  h.counters = (flags & CreateFlag.COUNTERS) !== 0;
  h.comment = (flags & CreateFlag.COMMENT) !== 0;
  h.skbinfo = (flags & CreateFlag.SKBINFO) !== 0;
  h.forceadd = (flags & CreateFlag.FORCEADD) !== 0;
  if (o[A.BUCKETSIZE]! >= 0) h.bucketsize = buf[o[A.BUCKETSIZE]!]!;
  set('initval', u32(A.INITVAL));
  if (o[A.IP]! >= 0) {
    let from = '';
    let to = '';
    forEachAttr(buf, o[A.IP]!, o[A.IP]! + t.lengths[A.IP]!, (_t, off, len) => (from = formatIP(buf, off, len)));
    if (o[A.IP_TO]! >= 0) forEachAttr(buf, o[A.IP_TO]!, o[A.IP_TO]! + t.lengths[A.IP_TO]!, (_t, off, len) => (to = formatIP(buf, off, len)));
    h.range = to ? `${from}-${to}` : from;
  }
  if (o[A.PORT]! >= 0) h.range = `${buf.readUInt16BE(o[A.PORT]!)}-${buf.readUInt16BE(o[A.PORT_TO]! >= 0 ? o[A.PORT_TO]! : o[A.PORT]!)}`;
  set('size', u32(A.SIZE));
  set('references', u32(A.REFERENCES));
  set('memsize', u32(A.MEMSIZE));
  set('elements', u32(A.ELEMENTS));
  return h;
}

const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** The header as `ipset save` prints it after `create NAME TYPE ` (ipset 7.17 does not print forceadd). */
export function formatHeader(type: string, h: IPSetHeader): string {
  const out: string[] = [];
  const ext = () => {
    if (h.timeout !== undefined) out.push(`timeout ${h.timeout}`);
    if (h.counters) out.push('counters');
    if (h.comment) out.push('comment');
    if (h.skbinfo) out.push('skbinfo');
  };
  const masks = () => {
    if (h.netmask !== undefined) out.push(`netmask ${h.netmask}`);
    if (h.bitmask !== undefined) out.push(`bitmask ${h.bitmask}`);
  };
  if (type.startsWith('hash:')) {
    if (h.family) out.push(`family ${h.family}`);
    if (h.hashsize !== undefined) out.push(`hashsize ${h.hashsize}`);
    if (h.maxelem !== undefined) out.push(`maxelem ${h.maxelem}`);
    if (type === 'hash:ip') masks();
    if (h.markmask !== undefined) out.push(`markmask ${hex8(h.markmask)}`);
    ext();
    if (h.bucketsize !== undefined) out.push(`bucketsize ${h.bucketsize}`);
    if (h.initval !== undefined) out.push(`initval ${hex8(h.initval)}`);
    if (type !== 'hash:ip') masks();
  } else if (type.startsWith('bitmap:')) {
    if (h.range !== undefined) out.push(`range ${h.range}`);
    if (h.netmask !== undefined) out.push(`netmask ${h.netmask}`);
    ext();
  } else {
    if (h.size !== undefined) out.push(`size ${h.size}`);
    ext();
  }
  return out.join(' ');
}

