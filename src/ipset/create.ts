// Set creation: the create options, checked and encoded into IPSET_CMD_CREATE, and the revision query
// (IPSET_CMD_TYPE) that picks the newest revision the kernel offers for a type.
import { maskToPrefix } from '../inet/address.js';
import { parseAddressPart, requireAddress } from './addresses.js';
import type { Channel } from './channel.js';
import {
  Attr,
  Cmd,
  CreateFlag,
  DataAttr as A,
  IPADDR_IPV4,
  IPADDR_IPV6,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
} from './constants.js';
import { IPSetError, IPSET_ERR } from './errors.js';
import { IPSET_MAX_TIMEOUT, intOption, numberShape, parseNumberText } from './numbers.js';
import { CREATE_OPTIONS, checkOptions, flag } from './options.js';
import { familyName, familyNumber, setType } from './types.js';
import { checkNewSetName } from './words.js';

/** Options of `ipset create`. Names follow pyroute2 (`bitmapPortsRange` is `bitmap_ports_range`). */
export interface CreateOptions {
  /** Set type, default 'hash:ip'. */
  stype?: string;
  /** 'inet' (default) or 'inet6'; ignored by bitmap:port and list:set. */
  family?: 'inet' | 'inet6' | 2 | 10;
  /** true (default): fail if the set exists. false: like `-exist`, accept an identical existing set. */
  exclusive?: boolean;
  /** Packet and byte counters per entry. Equivalent to: `ipset create NAME TYPE counters` */
  counters?: boolean;
  /** A comment per entry. Equivalent to: `ipset create NAME TYPE comment` */
  comment?: boolean;
  /** skbmark, skbprio and skbqueue per entry. Equivalent to: `ipset create NAME TYPE skbinfo` */
  skbinfo?: boolean;
  /** When full, a new entry evicts a random one. Equivalent to: `ipset create NAME TYPE forceadd` */
  forceadd?: boolean;
  /** The most entries the set holds. Equivalent to: `ipset create NAME TYPE maxelem N` */
  maxelem?: number;
  /** Initial hash size (hash types). Equivalent to: `ipset create NAME TYPE hashsize N` */
  hashsize?: number;
  /** Default timeout of entries, in seconds (enables the timeout extension); at most 2147483. */
  timeout?: number;
  /** bitmap:port range. */
  bitmapPortsRange?: [number, number];
  /** bitmap:ip / bitmap:ip,mac range ('10.0.0.0/16' or '10.0.0.0-10.0.0.255'); bitmap:port '1000-2000'. */
  range?: string;
  /** list:set size. */
  size?: number;
  /** Prefix length (or dotted mask) that addresses are stored with (hash:ip, hash:ip,port, bitmap:ip). */
  netmask?: number | string;
  /** Arbitrary address mask (hash:ip, hash:ip,port,...; newer kernels). */
  bitmask?: string;
  /** Entries per hash bucket (newer kernels). Equivalent to: `ipset create NAME TYPE bucketsize N` */
  bucketsize?: number;
  /** The hash seed (as `ipset save` prints it). Equivalent to: `ipset create NAME TYPE initval 0x...` */
  initval?: number;
  /** The mark mask of hash:mark-like types. Equivalent to: `ipset create NAME hash:ip,mark markmask N` */
  markmask?: number;
  /** Type revision; default the highest the kernel supports. */
  revision?: number;
}

/** [min, max] revision of a set type for a family (cached per channel). */
export function supportedRevisions(ch: Channel, stype: string, family: 'inet' | 'inet6' | 2 | 10): [number, number] {
  if (typeof stype !== 'string' || stype.length === 0 || stype.length >= 32) throw new TypeError('stype must be a set type name such as hash:ip');
  const fam = familyNumber(family);
  const key = `${stype}/${fam}`;
  const cached = ch.revisionCache.get(key);
  if (cached) return [...cached];
  const { seq, at } = ch.begin(Cmd.TYPE, NLM_F_REQUEST, fam);
  ch.w.str(Attr.TYPENAME, stype);
  ch.w.u8(Attr.FAMILY, fam);
  let r;
  try {
    r = ch.query(seq, at, 'type');
  } catch (e) {
    if (e instanceof IPSetError && e.errno === IPSET_ERR.FIND_TYPE) {
      throw new IPSetError(e.errno, { command: 'create' }, `set type '${stype}' is not supported by the kernel`);
    }
    throw e;
  }
  const { buf, t } = r;
  const max = buf[t.offsets[Attr.REVISION]!]!;
  const min = t.has(Attr.REVISION_MIN) ? buf[t.offsets[Attr.REVISION_MIN]!]! : max;
  ch.revisionCache.set(key, [min, max]);
  return [min, max];
}

/** Checks a create without sending it (restore checks every line before applying any). */
export function checkCreate(ch: Channel, name: string, opts: CreateOptions): void {
  createSet(ch, name, opts, true);
}

/** Checks and sends IPSET_CMD_CREATE (only checks and encodes when `dryRun`). */
export function createSet(ch: Channel, name: string, opts: CreateOptions, dryRun = false): void {
  checkOptions(opts, CREATE_OPTIONS, 'create options');
  checkNewSetName(name, 'create');
  const stype = opts.stype ?? 'hash:ip';
  const info = setType(stype);
  const unspec = info.families[0] === 'unspec';
  const fam = unspec ? 0 : familyNumber(opts.family, 2);
  if (!unspec && !info.families.includes(familyName(fam) as 'inet')) {
    throw new TypeError(`set type ${stype} does not support family ${familyName(fam)}`);
  }
  checkApplies(stype, opts);
  const exclusive = opts.exclusive === undefined ? true : flag(opts.exclusive, 'exclusive');
  const revision = opts.revision ?? (dryRun ? 0 : supportedRevisions(ch, stype, fam === 0 ? 2 : (fam as 2 | 10))[1]);
  intOption(revision, 'revision', 0, 255);
  const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0);
  const { seq, at } = ch.begin(Cmd.CREATE, flags, fam === 0 ? 2 : fam);
  const w = ch.w;
  w.str(Attr.SETNAME, name);
  w.str(Attr.TYPENAME, stype);
  w.u8(Attr.REVISION, revision);
  w.u8(Attr.FAMILY, fam);
  const data = w.beginNest(Attr.DATA);
  encodeCreateData(ch, stype, opts);
  w.endNest(data);
  if (dryRun) return;
  ch.exchange(seq, at, 'create', name, stype);
  ch.typeCache.set(name, stype);
}

const MASK_TYPES = ['hash:ip', 'hash:ip,port', 'hash:net,net'];

/**
 * Refuses an option the type has no use for, as the ipset tool does: the kernel would ignore it, and a
 * `range` that is silently ignored leaves a set wider than asked.
 */
function checkApplies(stype: string, o: CreateOptions): void {
  const only = (key: keyof CreateOptions, ok: boolean, types: string) => {
    if (o[key] !== undefined && o[key] !== false && !ok) throw new TypeError(`create option '${key}' does not apply to ${stype} (only to ${types})`);
  };
  const hash = stype.startsWith('hash:');
  for (const k of ['hashsize', 'maxelem', 'bucketsize', 'initval', 'forceadd'] as const) only(k, hash, 'hash:* sets');
  only('netmask', MASK_TYPES.includes(stype) || stype === 'bitmap:ip', `${MASK_TYPES.join(', ')} and bitmap:ip`);
  only('bitmask', MASK_TYPES.includes(stype), MASK_TYPES.join(', '));
  only('markmask', stype === 'hash:ip,mark', 'hash:ip,mark');
  only('size', stype === 'list:set', 'list:set');
  only('range', stype.startsWith('bitmap:'), 'bitmap:* sets');
  only('bitmapPortsRange', stype === 'bitmap:port', 'bitmap:port');
}

function encodeCreateData(ch: Channel, stype: string, o: CreateOptions): void {
  const w = ch.w;
  if (o.timeout !== undefined) w.be32(A.TIMEOUT, intOption(o.timeout, 'timeout', 0, IPSET_MAX_TIMEOUT));
  let cflags = 0;
  if (flag(o.counters, 'counters')) cflags |= CreateFlag.COUNTERS;
  if (flag(o.comment, 'comment')) cflags |= CreateFlag.COMMENT;
  if (flag(o.forceadd, 'forceadd')) cflags |= CreateFlag.FORCEADD;
  if (flag(o.skbinfo, 'skbinfo')) cflags |= CreateFlag.SKBINFO;
  if (cflags) w.be32(A.CADT_FLAGS, cflags);
  if (o.hashsize !== undefined) w.be32(A.HASHSIZE, intOption(o.hashsize, 'hashsize', 1));
  if (o.maxelem !== undefined) w.be32(A.MAXELEM, intOption(o.maxelem, 'maxelem', 1));
  if (o.bucketsize !== undefined) w.u8(A.BUCKETSIZE, intOption(o.bucketsize, 'bucketsize', 2, 255));
  if (o.initval !== undefined) w.be32(A.INITVAL, intOption(o.initval, 'initval'));
  if (o.markmask !== undefined) w.be32(A.MARKMASK, intOption(o.markmask, 'markmask'));
  if (o.size !== undefined) w.be32(A.SIZE, intOption(o.size, 'size', 1));
  if (o.netmask !== undefined) w.u8(A.NETMASK, netmaskPrefix(o.netmask));
  if (o.bitmask !== undefined) {
    if (typeof o.bitmask !== 'string') throw new TypeError(`bitmask must be an address mask such as '255.255.255.0', got ${typeof o.bitmask}`);
    const ip = requireAddress(o.bitmask, 'bitmask');
    const n = w.beginNest(A.BITMASK);
    w.bytes((ip.family === 4 ? IPADDR_IPV4 : IPADDR_IPV6) | 0x4000, ip.bytes);
    w.endNest(n);
  }
  if (stype === 'bitmap:port') {
    const [from, to] = portRange(o);
    w.be16(A.PORT, from);
    w.be16(A.PORT_TO, to);
  } else if (stype.startsWith('bitmap:')) {
    if (o.range === undefined) throw new TypeError(`${stype} needs a range, e.g. range: '10.0.0.0/16' or '10.0.0.0-10.0.0.255'`);
    encodeRange(ch, o.range);
  }
}

/** A netmask: a prefix length (number, or its text as the ipset tool reads it) or a dotted mask. */
function netmaskPrefix(m: number | string): number {
  if (typeof m === 'number') return intOption(m, 'netmask', 0, 255);
  if (typeof m !== 'string') throw new TypeError(`netmask must be a prefix length or a dotted mask, got ${typeof m}`);
  if (numberShape(m) !== 'none') return parseNumberText(m, 'netmask', 255);
  const prefix = maskToPrefix(requireAddress(m, 'netmask').bytes);
  if (prefix < 0) throw new TypeError(`invalid netmask '${m}': not a contiguous mask`);
  return prefix;
}

function portRange(o: CreateOptions): [number, number] {
  if (o.bitmapPortsRange !== undefined) {
    const r = o.bitmapPortsRange;
    if (!Array.isArray(r) || r.length !== 2) throw new TypeError('bitmapPortsRange must be [from, to]');
    return [intOption(r[0], 'port range start', 0, 65535), intOption(r[1], 'port range end', 0, 65535)];
  }
  if (o.range === undefined) throw new TypeError('bitmap:port needs a port range: bitmapPortsRange: [from, to] or range: "from-to"');
  const m = typeof o.range === 'string' ? /^([^-]+)-([^-]+)$/.exec(o.range.trim()) : null;
  if (!m) throw new TypeError(`invalid port range '${String(o.range)}' (expected 'from-to')`);
  return [parseNumberText(m[1], 'port range start', 65535), parseNumberText(m[2], 'port range end', 65535)];
}

/** bitmap:ip range: `a.b.c.d/prefix` or `from-to`. */
function encodeRange(ch: Channel, range: unknown): void {
  const w = ch.w;
  const r = parseAddressPart(range, 'range');
  if (r.cidr === undefined && r.to === undefined) throw new TypeError(`invalid range '${String(range)}' (expected 'a.b.c.d/prefix' or 'from-to')`);
  for (const ip of r.to ? [r.ip, r.to] : [r.ip]) {
    if (ip.family !== 4) throw new TypeError(`invalid range '${String(range)}': bitmap sets take IPv4 addresses`);
  }
  const addr = (type: number, bytes: Uint8Array) => {
    const n = w.beginNest(type);
    w.bytes(IPADDR_IPV4 | 0x4000, bytes);
    w.endNest(n);
  };
  addr(A.IP, r.ip.bytes);
  if (r.cidr !== undefined) w.u8(A.CIDR, r.cidr);
  if (r.to) addr(A.IP_TO, r.to.bytes);
}
