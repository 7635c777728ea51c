// Entry forms: what users pass to add/delete/test (CLI strings such as '10.0.0.0/24,tcp:80', arrays of
// parts, PortEntry/PortRange) and how the kernel's element attributes read back as the CLI prints them.
import { formatIP, parseIP, type IPFamily } from '../inet/address.js';
import { NlaTable, NlaWriter, readStr } from './attributes.js';
import { DataAttr as A, ElemFlag, IPADDR_IPV4, IPADDR_IPV6, IPSET_MAX_COMMENT_SIZE, IPSET_MAXNAMELEN } from './constants.js';
import { IPPROTO_TCP, PortEntry, PortRange, formatPort, parsePortSpec } from './ports.js';
import type { Dim } from './types.js';

export type EntryPart = string | number | PortEntry | PortRange;
/** An element: a CLI string ('1.2.3.4,udp:53'), an array of parts, or a lone PortEntry/PortRange/port. */
export type Entry = EntryPart | EntryPart[];

/** Per-element options and extensions (ipset add/del/test options). */
export interface EntryOptions {
  /** Element layout ('ip', 'net,port', 'ip,port,ip', 'set', ...); default: the set's own type. */
  etype?: string;
  /**
   * Accepted for code ported from pyroute2 (`family=AF_INET`); the addresses themselves say which family
   * they are, and the kernel rejects one that does not fit the set.
   */
  family?: 'inet' | 'inet6' | 2 | 10;
  /** Seconds; 0 = permanent (sets created with timeout). */
  timeout?: number;
  comment?: string;
  packets?: bigint | number;
  bytes?: bigint | number;
  /** `0x10/0xff`, a number, or [mark, mask]. */
  skbmark?: string | number | [number, number];
  /** `1:2` (hex major:minor as the CLI reads it) or [major, minor]. */
  skbprio?: string | [number, number];
  skbqueue?: number;
  /** hash:net* entries: matching addresses are excluded. */
  nomatch?: boolean;
  /** hash:net,iface: the interface is a bridge port (`physdev:` prefix in the CLI). */
  physdev?: boolean;
  /** hash:net,iface: match every interface whose name starts with the given one. */
  wildcard?: boolean;
  /** list:set: insert before / after this member set. */
  before?: string;
  after?: string;
}

/** An element together with its own options, as accepted by addMany(). */
export interface EntryWithOptions extends EntryOptions {
  entry: Entry;
}

/** A listed element with its extensions. `entry` is the element as `ipset list` prints it. */
export interface IPSetEntry {
  entry: string;
  timeout?: number;
  packets?: bigint;
  bytes?: bigint;
  comment?: string;
  /** [mark, mask] */
  skbmark?: [number, number];
  /** [major, minor] */
  skbprio?: [number, number];
  skbqueue?: number;
  nomatch: boolean;
  physdev: boolean;
  wildcard: boolean;
}

function isPortLike(p: unknown): boolean {
  return p instanceof PortEntry || p instanceof PortRange || typeof p === 'number';
}

/** Splits an entry into one part per dimension. */
export function splitEntry(entry: Entry, dims: Dim[]): EntryPart[] {
  if (Array.isArray(entry)) {
    if (entry.length !== dims.length && !(dims[1] === 'mac' && dims.length === 2 && entry.length === 1)) {
      throw new TypeError(`entry has ${entry.length} parts but the element type '${dims.join(',')}' needs ${dims.length}`);
    }
    return entry;
  }
  if (isPortLike(entry)) {
    if (dims.length !== 1) throw new TypeError(`a lone port is not a complete '${dims.join(',')}' element`);
    return [entry];
  }
  if (typeof entry !== 'string') throw new TypeError(`invalid entry ${String(entry)}: expected a string, an array, a port or a PortEntry/PortRange`);
  if (dims.length === 1) return [entry];
  const parts = entry.split(',');
  // bitmap:ip,mac takes the MAC as optional; a set name may not be split at all.
  if (parts.length !== dims.length && !(dims[1] === 'mac' && parts.length === 1)) {
    throw new TypeError(`entry '${entry}' has ${parts.length} parts but the element type '${dims.join(',')}' needs ${dims.length}`);
  }
  return parts;
}

function writeAddr(w: NlaWriter, type: number, ip: { family: IPFamily; bytes: Uint8Array }): void {
  const n = w.beginNest(type);
  w.bytes((ip.family === 4 ? IPADDR_IPV4 : IPADDR_IPV6) | 0x4000, ip.bytes);
  w.endNest(n);
}

function parseAddress(s: string, dim: Dim): { ip: ReturnType<typeof parseIP> & object; cidr?: number; to?: ReturnType<typeof parseIP> & object } {
  if (typeof s !== 'string') throw new TypeError(`an IP address part must be a string, got ${typeof s}`);
  const str = s.trim();
  let m: number;
  if ((m = str.indexOf('/')) >= 0) {
    const ip = parseIP(str.slice(0, m));
    const c = str.slice(m + 1);
    if (!ip) throw new TypeError(`invalid IP address in '${s}'`);
    if (!/^\d{1,3}$/.test(c) || Number(c) > (ip.family === 4 ? 32 : 128)) throw new RangeError(`invalid prefix length in '${s}'`);
    return { ip, cidr: Number(c) };
  }
  // IPv6 addresses contain no '-', so a dash always means a range.
  if ((m = str.indexOf('-')) >= 0) {
    const ip = parseIP(str.slice(0, m));
    const to = parseIP(str.slice(m + 1));
    if (!ip || !to) throw new TypeError(`invalid IP range '${s}'`);
    if (ip.family !== to.family) throw new TypeError(`IP range '${s}' mixes IPv4 and IPv6`);
    return { ip, to };
  }
  const ip = parseIP(str);
  if (!ip) throw new TypeError(`invalid IP address '${s}' for the '${dim}' part`);
  return { ip };
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function toBigInt(v: bigint | number, what: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${what} out of range`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer`);
  return BigInt(v);
}

function u32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} must be an integer 0..4294967295, got ${String(v)}`);
  return v;
}

function parseHexOrDec(s: string, what: string): number {
  const t = s.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  return u32(v, what);
}

export function parseSkbmark(v: EntryOptions['skbmark']): [number, number] {
  if (Array.isArray(v)) return [u32(v[0], 'skbmark'), u32(v[1], 'skbmark mask')];
  if (typeof v === 'number') return [u32(v, 'skbmark'), 0xffffffff];
  if (typeof v === 'string') {
    const [m, mask] = v.split('/');
    return [parseHexOrDec(m!, 'skbmark'), mask === undefined ? 0xffffffff : parseHexOrDec(mask, 'skbmark mask')];
  }
  throw new TypeError('skbmark must be a string like "0x10/0xff", a number or [mark, mask]');
}

export function parseSkbprio(v: EntryOptions['skbprio']): [number, number] {
  let pair: [number, number];
  if (Array.isArray(v)) pair = [v[0], v[1]];
  else if (typeof v === 'string' && /^[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(v)) {
    const [a, b] = v.split(':');
    pair = [parseInt(a!, 16), parseInt(b!, 16)];
  } else throw new TypeError(`skbprio must be 'major:minor' (hex, as tc writes it) or [major, minor], got ${String(v)}`);
  for (const x of pair) if (!Number.isInteger(x) || x < 0 || x > 0xffff) throw new RangeError('skbprio major and minor must be 0..0xffff');
  return pair;
}

/**
 * Writes the attributes of one element (the inside of a DATA nest). `noProto` is for bitmap:port, whose
 * elements are bare ports.
 */
export function encodeEntry(w: NlaWriter, dims: Dim[], entry: Entry, o: EntryOptions, noProto = false): void {
  const parts = splitEntry(entry, dims);
  let flags = 0;
  for (let i = 0; i < parts.length; i++) {
    const dim = dims[i]!;
    const part = parts[i]!;
    switch (dim) {
      case 'ip':
      case 'net':
      case 'ip2':
      case 'net2': {
        const second = dim === 'ip2' || dim === 'net2';
        const a = parseAddress(part as string, dim);
        writeAddr(w, second ? A.IP2 : A.IP, a.ip);
        if (a.cidr !== undefined) w.u8(second ? A.CIDR2 : A.CIDR, a.cidr);
        if (a.to) writeAddr(w, second ? A.IP2_TO : A.IP_TO, a.to);
        break;
      }
      case 'port': {
        const p = typeof part === 'number' ? new PortEntry(part) : typeof part === 'string' ? parsePortSpec(part.trim()) : part;
        if (!(p instanceof PortEntry || p instanceof PortRange)) throw new TypeError('a port part must be a number, a string, a PortEntry or a PortRange');
        if (p instanceof PortEntry) w.be16(A.PORT, p.port);
        else {
          w.be16(A.PORT, p.begin);
          w.be16(A.PORT_TO, p.end);
        }
        if (!noProto) w.u8(A.PROTO, p.protocol ?? IPPROTO_TCP);
        break;
      }
      case 'mac': {
        if (typeof part !== 'string' || !MAC_RE.test(part.trim())) throw new TypeError(`invalid MAC address '${String(part)}'`);
        w.bytes(A.ETHER, Buffer.from(part.trim().replace(/:/g, ''), 'hex'));
        break;
      }
      case 'iface': {
        if (typeof part !== 'string') throw new TypeError('an interface part must be a string');
        let name = part.trim();
        if (name.startsWith('physdev:')) {
          name = name.slice(8);
          flags |= ElemFlag.PHYSDEV;
        }
        if (name.length === 0 || Buffer.byteLength(name) > 15) throw new RangeError(`invalid interface name '${name}' (1..15 characters)`);
        w.str(A.IFACE, name);
        break;
      }
      case 'set': {
        if (typeof part !== 'string') throw new TypeError('a set member must be a set name');
        checkSetName(part);
        w.str(A.NAME, part);
        break;
      }
      case 'mark': {
        const v = typeof part === 'number' ? u32(part, 'mark') : parseHexOrDec(String(part), 'mark');
        w.be32(A.MARK, v);
        break;
      }
    }
  }
  if (o.nomatch) flags |= ElemFlag.NOMATCH;
  if (o.physdev) flags |= ElemFlag.PHYSDEV;
  if (o.wildcard) flags |= ElemFlag.WILDCARD;
  if (o.before !== undefined && o.after !== undefined) throw new TypeError('before and after are mutually exclusive');
  const ref = o.before ?? o.after;
  if (ref !== undefined) {
    checkSetName(ref);
    if (o.before !== undefined) flags |= ElemFlag.BEFORE;
    w.str(A.NAMEREF, ref);
  }
  if (flags) w.be32(A.CADT_FLAGS, flags);
  if (o.timeout !== undefined && o.timeout !== null) w.be32(A.TIMEOUT, u32(o.timeout, 'timeout'));
  if (o.packets !== undefined && o.packets !== null) w.be64(A.PACKETS, toBigInt(o.packets, 'packets'));
  if (o.bytes !== undefined && o.bytes !== null) w.be64(A.BYTES, toBigInt(o.bytes, 'bytes'));
  if (o.comment !== undefined && o.comment !== null) {
    checkComment(o.comment);
    w.str(A.COMMENT, o.comment);
  }
  if (o.skbmark !== undefined && o.skbmark !== null) {
    const [m, mask] = parseSkbmark(o.skbmark);
    w.be64(A.SKBMARK, (BigInt(m) << 32n) | BigInt(mask));
  }
  if (o.skbprio !== undefined && o.skbprio !== null) {
    const [maj, min] = parseSkbprio(o.skbprio);
    w.be32(A.SKBPRIO, ((maj << 16) | min) >>> 0);
  }
  if (o.skbqueue !== undefined && o.skbqueue !== null) {
    if (!Number.isInteger(o.skbqueue) || o.skbqueue < 0 || o.skbqueue > 0xffff) throw new RangeError('skbqueue must be 0..65535');
    w.be16(A.SKBQUEUE, o.skbqueue);
  }
}

export function checkSetName(name: unknown, what = 'set name'): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string`);
  if (name.length === 0) throw new RangeError(`${what} must not be empty`);
  if (Buffer.byteLength(name) >= IPSET_MAXNAMELEN) throw new RangeError(`${what} '${name}' is too long (at most ${IPSET_MAXNAMELEN - 1} bytes)`);
  if (name.includes('\0')) throw new RangeError(`${what} must not contain NUL`);
}

function checkComment(c: unknown): void {
  if (typeof c !== 'string') throw new TypeError('comment must be a string');
  if (c.includes('\0')) throw new RangeError('comment must not contain NUL characters');
  if (Buffer.byteLength(c) > IPSET_MAX_COMMENT_SIZE) throw new RangeError(`comment is longer than ${IPSET_MAX_COMMENT_SIZE} bytes`);
}

const hex = (n: number) => n.toString(16);

/** Reads an address nest (IP, IP2, ...) and formats it. */
function addrAt(buf: Buffer, off: number, len: number): string {
  // The nest holds one IPADDR_IPV4/IPV6 attribute; its payload size tells the family.
  const alen = (buf[off]! | (buf[off + 1]! << 8)) - 4;
  return formatIP(buf, off + 4, alen < len ? alen : len - 4);
}

/** Decodes the element in `t` (a parsed DATA nest) into the CLI's element text and its extensions. */
export function decodeEntry(buf: Buffer, t: NlaTable): IPSetEntry {
  const o = t.offsets;
  const l = t.lengths;
  let s = '';
  let flags = 0;
  if (o[A.CADT_FLAGS]! >= 0) flags = buf.readUInt32BE(o[A.CADT_FLAGS]!);
  if (o[A.IP]! >= 0) {
    s = addrAt(buf, o[A.IP]!, l[A.IP]!);
    if (o[A.CIDR]! >= 0) {
      const c = buf[o[A.CIDR]!]!;
      if (c !== (s.includes(':') ? 128 : 32)) s += `/${c}`;
    }
  }
  if (o[A.PORT]! >= 0) {
    const port = buf.readUInt16BE(o[A.PORT]!);
    const p = formatPort(port, o[A.PROTO]! >= 0 ? buf[o[A.PROTO]!] : undefined);
    s = s ? `${s},${p}` : p;
  }
  if (o[A.IP2]! >= 0) {
    let a = addrAt(buf, o[A.IP2]!, l[A.IP2]!);
    if (o[A.CIDR2]! >= 0) {
      const c = buf[o[A.CIDR2]!]!;
      if (c !== (a.includes(':') ? 128 : 32)) a += `/${c}`;
    }
    s += `,${a}`;
  }
  if (o[A.ETHER]! >= 0 && l[A.ETHER] === 6) {
    const e = o[A.ETHER]!;
    let m = '';
    for (let i = 0; i < 6; i++) m += (i ? ':' : '') + buf[e + i]!.toString(16).toUpperCase().padStart(2, '0');
    s = s ? `${s},${m}` : m;
  }
  if (o[A.IFACE]! >= 0) s += `,${flags & ElemFlag.PHYSDEV ? 'physdev:' : ''}${readStr(buf, o[A.IFACE]!, l[A.IFACE]!)}`;
  if (o[A.MARK]! >= 0) s += `,0x${hex(buf.readUInt32BE(o[A.MARK]!)).padStart(8, '0')}`;
  if (o[A.NAME]! >= 0) s = readStr(buf, o[A.NAME]!, l[A.NAME]!);
  const e: IPSetEntry = {
    entry: s,
    nomatch: (flags & ElemFlag.NOMATCH) !== 0,
    physdev: (flags & ElemFlag.PHYSDEV) !== 0,
    wildcard: (flags & ElemFlag.WILDCARD) !== 0,
  };
  if (o[A.TIMEOUT]! >= 0) e.timeout = buf.readUInt32BE(o[A.TIMEOUT]!);
  if (o[A.PACKETS]! >= 0) e.packets = buf.readBigUInt64BE(o[A.PACKETS]!);
  if (o[A.BYTES]! >= 0) e.bytes = buf.readBigUInt64BE(o[A.BYTES]!);
  if (o[A.COMMENT]! >= 0) e.comment = readStr(buf, o[A.COMMENT]!, l[A.COMMENT]!);
  if (o[A.SKBMARK]! >= 0) e.skbmark = [buf.readUInt32BE(o[A.SKBMARK]!), buf.readUInt32BE(o[A.SKBMARK]! + 4)];
  if (o[A.SKBPRIO]! >= 0) {
    const v = buf.readUInt32BE(o[A.SKBPRIO]!);
    e.skbprio = [v >>> 16, v & 0xffff];
  }
  if (o[A.SKBQUEUE]! >= 0) e.skbqueue = buf.readUInt16BE(o[A.SKBQUEUE]!);
  return e;
}

/** The element with its extensions as one `ipset save` / `ipset list` member line (without `add NAME `). */
export function formatEntryLine(e: IPSetEntry): string {
  let s = e.entry;
  if (e.timeout !== undefined) s += ` timeout ${e.timeout}`;
  if (e.nomatch) s += ' nomatch';
  if (e.wildcard) s += ' wildcard';
  if (e.packets !== undefined) s += ` packets ${e.packets}`;
  if (e.bytes !== undefined) s += ` bytes ${e.bytes}`;
  if (e.comment !== undefined) s += ` comment "${e.comment}"`;
  if (e.skbmark !== undefined) {
    const [m, mask] = e.skbmark;
    s += mask === 0xffffffff ? ` skbmark 0x${hex(m)}` : ` skbmark 0x${hex(m)}/0x${hex(mask)}`;
  }
  if (e.skbprio !== undefined) s += ` skbprio ${hex(e.skbprio[0])}:${hex(e.skbprio[1])}`;
  if (e.skbqueue !== undefined) s += ` skbqueue ${e.skbqueue}`;
  return s;
}
