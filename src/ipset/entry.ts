// Entry forms: what users pass to add/delete/test (CLI strings such as '10.0.0.0/24,tcp:80', arrays of
// parts, PortEntry/PortRange) and how the kernel's element attributes read back as the CLI prints them.
import { formatIP, type ParsedIP } from '../inet/address.js';
import { parseAddressPart } from './addresses.js';
import { NlaTable, NlaWriter, readStr } from './attributes.js';
import { DataAttr as A, ElemFlag, IPADDR_IPV4, IPADDR_IPV6 } from './constants.js';
import { IPSET_MAX_TIMEOUT, intOption, parseNumberText } from './numbers.js';
import { flag } from './options.js';
import { IPPROTO_TCP, PortEntry, PortRange, formatPort, parsePortSpec } from './ports.js';
import { parseSkbmark, parseSkbprio } from './skbinfo.js';
import { familyNumber, type Dim } from './types.js';
import { checkComment, checkSetName } from './words.js';

/** One dimension of an element: an address, network, MAC, interface or set name, or a port. */
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
  /** Seconds, at most 2147483 (the kernel's limit); 0 = permanent (sets created with timeout). */
  timeout?: number;
  /** At most 255 bytes, without `"` or a line break (which `ipset save` text could not carry). */
  comment?: string;
  /** Initial packet counter (sets created with counters). Equivalent to: `ipset add NAME ENTRY packets N` */
  packets?: bigint | number;
  /** Initial byte counter (sets created with counters). Equivalent to: `ipset add NAME ENTRY bytes N` */
  bytes?: bigint | number;
  /** `'0x10/0xff'` or `'0x10'` (hex, as the ipset tool reads it), a number, or [mark, mask]. */
  skbmark?: string | number | [number, number];
  /** `1:2` (hex major:minor as the CLI reads it) or [major, minor]. */
  skbprio?: string | [number, number];
  /** The queue to set (sets created with skbinfo). Equivalent to: `ipset add NAME ENTRY skbqueue N` */
  skbqueue?: number;
  /** hash:net* entries: matching addresses are excluded. */
  nomatch?: boolean;
  /** hash:net,iface: the interface is a bridge port (`physdev:` prefix in the CLI). */
  physdev?: boolean;
  /** hash:net,iface: match every interface whose name starts with the given one. */
  wildcard?: boolean;
  /** list:set: insert before / after this member set. */
  before?: string;
  /** list:set: insert after this member set. Equivalent to: `ipset add NAME SET after OTHER` */
  after?: string;
}

/** An element together with its own options, as accepted by addMany(). */
export interface EntryWithOptions extends EntryOptions {
  /** The element, as add() takes it. */
  entry: Entry;
}

/** A listed element with its extensions. `entry` is the element as `ipset list` prints it. */
export interface IPSetEntry {
  /** The element as `ipset list` prints it, e.g. `10.0.0.1,tcp:80`. */
  entry: string;
  /** Seconds left before the element expires (sets created with timeout). */
  timeout?: number;
  /** Packets counted (sets created with counters). */
  packets?: bigint;
  /** Bytes counted (sets created with counters). */
  bytes?: bigint;
  /** The element's comment (sets created with comment). */
  comment?: string;
  /** [mark, mask] */
  skbmark?: [number, number];
  /** [major, minor] */
  skbprio?: [number, number];
  /** The queue the element sets (sets created with skbinfo). */
  skbqueue?: number;
  /** Whether matching addresses are excluded (hash:net*). Equivalent to: `nomatch` in `ipset list` */
  nomatch: boolean;
  /** Whether the interface is a bridge port (hash:net,iface). Equivalent to: `physdev:` in `ipset list` */
  physdev: boolean;
  /** Whether the interface name is a prefix (hash:net,iface). Equivalent to: `wildcard` in `ipset list` */
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

function writeAddr(w: NlaWriter, type: number, ip: ParsedIP): void {
  const n = w.beginNest(type);
  w.bytes((ip.family === 4 ? IPADDR_IPV4 : IPADDR_IPV6) | 0x4000, ip.bytes);
  w.endNest(n);
}

/** Error wording per address part, built once (this runs for every element of a batch). */
const ADDRESS_WHAT: Record<'ip' | 'net' | 'ip2' | 'net2', string> = {
  ip: "IP address for the 'ip' part",
  net: "IP address for the 'net' part",
  ip2: "IP address for the second 'ip' part",
  net2: "IP address for the second 'net' part",
};

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function toBigInt(v: bigint | number, what: string): bigint {
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${what} out of range`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer`);
  return BigInt(v);
}

/**
 * An interface name of a hash:net,iface element: 1..15 bytes, none of the characters Linux refuses in a
 * name (white space, '/', ':'), nor '"' or ',', which ipset's text could not carry.
 */
function checkIface(name: string): void {
  if (name.length === 0 || Buffer.byteLength(name) > 15) throw new RangeError(`invalid interface name '${name}' (1..15 bytes)`);
  if (/[\s/:",\0]/.test(name)) throw new TypeError(`invalid interface name '${name}': white space, '/', ':', '"' and ',' are not allowed`);
}

/**
 * Writes the attributes of one element (the inside of a DATA nest). `noProto` is for bitmap:port, whose
 * elements are bare ports. The options object's keys were checked by the caller (checkOptions).
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
        const a = parseAddressPart(part, ADDRESS_WHAT[dim]);
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
        // Not trimmed: the ipset tool keeps white space in an interface name (checkIface refuses it).
        let name = part;
        if (name.startsWith('physdev:')) {
          name = name.slice(8);
          flags |= ElemFlag.PHYSDEV;
        }
        checkIface(name);
        w.str(A.IFACE, name);
        break;
      }
      case 'set': {
        if (typeof part !== 'string') throw new TypeError('a set member must be a set name');
        checkSetName(part);
        // The ipset tool reads 'a,before,b' here as "a, before b": a set named so would be another element.
        if (part.includes(',')) throw new TypeError(`set member '${part}': a ',' in a list:set element is read by the ipset tool as 'name,before|after,name'; use the before/after options`);
        w.str(A.NAME, part);
        break;
      }
      case 'mark': {
        const v = typeof part === 'number' ? intOption(part, 'mark') : parseNumberText(part, 'mark', 0xffffffff);
        w.be32(A.MARK, v);
        break;
      }
    }
  }
  flags |= extensionFlags(dims, o);
  const ref = o.before ?? o.after;
  if (ref !== undefined) {
    checkSetName(ref, o.before !== undefined ? 'before' : 'after');
    w.str(A.NAMEREF, ref);
  }
  if (flags) w.be32(A.CADT_FLAGS, flags);
  if (o.family !== undefined) familyNumber(o.family);
  if (o.timeout !== undefined) w.be32(A.TIMEOUT, intOption(o.timeout, 'timeout', 0, IPSET_MAX_TIMEOUT));
  if (o.packets !== undefined) w.be64(A.PACKETS, toBigInt(o.packets, 'packets'));
  if (o.bytes !== undefined) w.be64(A.BYTES, toBigInt(o.bytes, 'bytes'));
  if (o.comment !== undefined) w.str(A.COMMENT, checkComment(o.comment));
  if (o.skbmark !== undefined) {
    const [m, mask] = parseSkbmark(o.skbmark);
    w.be64(A.SKBMARK, (BigInt(m) << 32n) | BigInt(mask));
  }
  if (o.skbprio !== undefined) {
    const [maj, min] = parseSkbprio(o.skbprio);
    w.be32(A.SKBPRIO, ((maj << 16) | min) >>> 0);
  }
  if (o.skbqueue !== undefined) w.be16(A.SKBQUEUE, intOption(o.skbqueue, 'skbqueue', 0, 0xffff));
}

/**
 * The element flags asked for by options. Each is refused where the set type has no use for it (the
 * kernel would drop it silently, and a `nomatch` that is dropped turns an exception into a match).
 */
function extensionFlags(dims: Dim[], o: EntryOptions): number {
  if (o.nomatch === undefined && o.physdev === undefined && o.wildcard === undefined && o.before === undefined && o.after === undefined) return 0;
  let flags = 0;
  const needs = (what: string, ok: boolean, types: string) => {
    if (!ok) throw new TypeError(`${what} applies only to ${types} elements, not to '${dims.join(',')}'`);
  };
  if (flag(o.nomatch, 'nomatch')) {
    needs('nomatch', dims.some((d) => d === 'net' || d === 'net2'), 'hash:net*, hash:ip,port,net');
    flags |= ElemFlag.NOMATCH;
  }
  if (flag(o.physdev, 'physdev')) {
    needs('physdev', dims.includes('iface'), 'hash:net,iface');
    flags |= ElemFlag.PHYSDEV;
  }
  if (flag(o.wildcard, 'wildcard')) {
    needs('wildcard', dims.includes('iface'), 'hash:net,iface');
    flags |= ElemFlag.WILDCARD;
  }
  if (o.before !== undefined || o.after !== undefined) {
    needs(o.before !== undefined ? 'before' : 'after', dims.includes('set'), 'list:set');
    if (o.before !== undefined && o.after !== undefined) throw new TypeError('before and after are mutually exclusive');
    if (o.before !== undefined) flags |= ElemFlag.BEFORE;
  }
  return flags;
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
