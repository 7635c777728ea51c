// The byte layout of ipt_entry / ip6t_entry (linux/netfilter_ipv4/ip_tables.h, netfilter_ipv6/ip6_tables.h)
// and of the standard target: the only place that knows them.
import type { Family } from './shim.js';

/** Sizes and byte offsets of the fields of ipt_entry (IPv4) or ip6t_entry (IPv6). */
export interface EntryLayout {
  /** sizeof(ipt_entry) / sizeof(ip6t_entry): where the first match starts. */
  header: number;
  /** sizeof(ipt_ip) / sizeof(ip6t_ip6): the part extensions' save() reads. */
  ip: number;
  /** The size of an address: 4 or 16 bytes. */
  addrLen: 4 | 16;
  /** Offset of the source address (`-s`). */
  src: number;
  /** Offset of the destination address (`-d`). */
  dst: number;
  /** Offset of the source mask. */
  smsk: number;
  /** Offset of the destination mask. */
  dmsk: number;
  /** Offset of the input interface name (`-i`). */
  iniface: number;
  /** Offset of the output interface name (`-o`). */
  outiface: number;
  /** Offset of the input interface mask. */
  inifaceMask: number;
  /** Offset of the output interface mask. */
  outifaceMask: number;
  /** Offset of the protocol (`-p`), 16 bits. */
  proto: number;
  /** Offset of the flags byte (IPT_F_* / IP6T_F_*). */
  flags: number;
  /** Offset of the inversion flags byte (see INV). */
  invflags: number;
  /** Offset of target_offset (16 bits): where the target starts. */
  targetOffset: number;
  /** Offset of next_offset (16 bits): the entry's size. */
  nextOffset: number;
  /** Offset of the packet and byte counters (two 64-bit numbers). */
  counters: number;
  /** IPT_F_GOTO / IP6T_F_GOTO. */
  gotoFlag: number;
  /** IPT_F_FRAG; IPv6 has no fragment flag. */
  fragFlag: number;
  /** IP6T_F_PROTO: ip6tables sets it whenever a protocol is given. */
  protoFlag: number;
}

const LAYOUTS: Record<Family, EntryLayout> = {
  4: {
    header: 112, ip: 84, addrLen: 4, src: 0, dst: 4, smsk: 8, dmsk: 12, iniface: 16, outiface: 32,
    inifaceMask: 48, outifaceMask: 64, proto: 80, flags: 82, invflags: 83, targetOffset: 88, nextOffset: 90,
    counters: 96, gotoFlag: 0x02, fragFlag: 0x01, protoFlag: 0,
  },
  6: {
    header: 168, ip: 136, addrLen: 16, src: 0, dst: 16, smsk: 32, dmsk: 48, iniface: 64, outiface: 80,
    inifaceMask: 96, outifaceMask: 112, proto: 128, flags: 131, invflags: 132, targetOffset: 140,
    nextOffset: 142, counters: 152, gotoFlag: 0x04, fragFlag: 0, protoFlag: 0x01,
  },
};

/** The entry layout of a family. */
export function entryLayout(family: Family): EntryLayout {
  return LAYOUTS[family];
}

/** Inversion bits of ipt_ip.invflags (the same values in ip6t_ip6). */
export const INV = {
  /** `! -i` */
  VIA_IN: 0x01,
  /** `! -o` */
  VIA_OUT: 0x02,
  /** `! -s` */
  SRCIP: 0x08,
  /** `! -d` */
  DSTIP: 0x10,
  /** `! -f` */
  FRAG: 0x20,
  /** `! -p` */
  PROTO: 0x40,
} as const;

export const IFNAMSIZ = 16;
/** XT_EXTENSION_MAXNAMELEN: match, target and user chain names are shorter than this. */
export const EXTENSION_MAXNAMELEN = 29;
/** XT_ALIGN(sizeof(struct xt_entry_match)) = XT_ALIGN(sizeof(struct xt_entry_target)). */
export const EXTENSION_HEADER = 32;
const STANDARD_TARGET_SIZE = 40;

/** The fields of the entry header that a rule sets. */
export interface EntryHeader {
  /** Source address, network byte order. Equivalent to: `-s` */
  src: Uint8Array;
  /** Source mask. */
  smsk: Uint8Array;
  /** Destination address, network byte order. Equivalent to: `-d` */
  dst: Uint8Array;
  /** Destination mask. */
  dmsk: Uint8Array;
  /** Input interface name (`eth+` for a prefix); '' for any. Equivalent to: `-i` */
  iniface: string;
  /** Output interface name; '' for any. Equivalent to: `-o` */
  outiface: string;
  /** Protocol number; 0 for any. Equivalent to: `-p` */
  proto: number;
  /** IPT_F_* flags (fragment, goto). */
  flags: number;
  /** INV bits: which fields are negated with `!`. */
  invflags: number;
  /** Packet counter. */
  packets: bigint;
  /** Byte counter. */
  bytes: bigint;
}

/**
 * The name and the mask xtables_parse_interface makes (`eth+` matches the prefix, `eth0` the whole
 * name), into a zeroed header.
 */
function writeInterface(buf: Buffer, name: string, nameAt: number, maskAt: number): void {
  if (name.length === 0) return;
  buf.write(name, nameAt, IFNAMSIZ - 1, 'latin1');
  buf.fill(0xff, maskAt, maskAt + (name.endsWith('+') ? name.length - 1 : name.length + 1));
}

/** A new entry header (without matches or target) holding these fields. */
export function encodeHeader(family: Family, h: EntryHeader): Buffer {
  return encodeHeaderInto(family, h, Buffer.allocUnsafe(LAYOUTS[family].header));
}

const ZERO_HEADERS: Record<Family, Uint8Array> = { 4: new Uint8Array(LAYOUTS[4].header), 6: new Uint8Array(LAYOUTS[6].header) };

/** Writes the header at the start of `buf` (an entry being assembled, or a header-sized buffer). */
export function encodeHeaderInto(family: Family, h: EntryHeader, buf: Buffer): Buffer {
  const l = LAYOUTS[family];
  // TypedArray.set and index writes, not Buffer.fill/copy/writeUInt16LE: this runs once per rule, and
  // their argument handling costs more than the few bytes they move.
  buf.set(ZERO_HEADERS[family], 0);
  // Addresses and masks byte by byte: a set() call costs more than the 4 or 16 bytes it moves.
  const src = h.src, dst = h.dst, smsk = h.smsk, dmsk = h.dmsk;
  for (let i = 0; i < l.addrLen; i++) {
    buf[l.src + i] = src[i]!;
    buf[l.dst + i] = dst[i]!;
    buf[l.smsk + i] = smsk[i]!;
    buf[l.dmsk + i] = dmsk[i]!;
  }
  writeInterface(buf, h.iniface, l.iniface, l.inifaceMask);
  writeInterface(buf, h.outiface, l.outiface, l.outifaceMask);
  buf[l.proto] = h.proto & 0xff;
  buf[l.proto + 1] = h.proto >> 8;
  buf[l.flags] = h.flags | (h.proto !== 0 ? l.protoFlag : 0);
  buf[l.invflags] = h.invflags;
  buf[l.targetOffset] = l.header & 0xff;
  buf[l.nextOffset] = l.header & 0xff;
  if (h.packets !== 0n) buf.writeBigUInt64LE(h.packets, l.counters);
  if (h.bytes !== 0n) buf.writeBigUInt64LE(h.bytes, l.counters + 8);
  return buf;
}

function cString(buf: Buffer, offset: number, max: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 || end > offset + max ? offset + max : end);
}

/** The header fields of an entry (addresses are views into it). */
export function decodeHeader(family: Family, entry: Buffer): EntryHeader {
  const l = LAYOUTS[family];
  // Views, not copies: entries read from the kernel are JS-owned and never modified.
  const slice = (at: number) => entry.subarray(at, at + l.addrLen);
  return {
    src: slice(l.src),
    dst: slice(l.dst),
    smsk: slice(l.smsk),
    dmsk: slice(l.dmsk),
    iniface: cString(entry, l.iniface, IFNAMSIZ),
    outiface: cString(entry, l.outiface, IFNAMSIZ),
    proto: entry.readUInt16LE(l.proto),
    flags: entry[l.flags]! & ~l.protoFlag,
    invflags: entry[l.invflags]!,
    packets: entry.readBigUInt64LE(l.counters),
    bytes: entry.readBigUInt64LE(l.counters + 8),
  };
}

/** The interface masks as stored, for printing them the way iptables-save does. */
export function interfaceMasks(family: Family, entry: Buffer): { in: Buffer; out: Buffer } {
  const l = LAYOUTS[family];
  return {
    in: entry.subarray(l.inifaceMask, l.inifaceMask + IFNAMSIZ),
    out: entry.subarray(l.outifaceMask, l.outifaceMask + IFNAMSIZ),
  };
}

/** Joins a header, match blobs and a target blob into one entry, setting its offsets. */
export function assembleEntry(family: Family, header: Buffer, matches: readonly Buffer[], target: Buffer): Buffer {
  const l = LAYOUTS[family];
  const entry = Buffer.concat([header, ...matches, target]);
  const targetOffset = entry.length - target.length;
  entry.writeUInt16LE(targetOffset, l.targetOffset);
  entry.writeUInt16LE(entry.length, l.nextOffset);
  return entry;
}

/** The parts of an entry: its header, each match blob and the target blob (views into it). */
export function splitEntry(family: Family, entry: Buffer): {
  /** The entry header. */
  header: Buffer;
  /** Each match blob (xt_entry_match and its data). */
  matches: Buffer[];
  /** The target blob (xt_entry_target and its data). */
  target: Buffer;
} {
  const l = LAYOUTS[family];
  const targetOffset = entry.readUInt16LE(l.targetOffset);
  const nextOffset = entry.readUInt16LE(l.nextOffset);
  const matches: Buffer[] = [];
  for (let at = l.header; at < targetOffset; ) {
    const size = entry.readUInt16LE(at);
    if (size < EXTENSION_HEADER || at + size > targetOffset) throw new RangeError('corrupt rule entry: bad match size');
    matches.push(entry.subarray(at, at + size));
    at += size;
  }
  return {
    header: entry.subarray(0, l.header),
    matches,
    target: entry.subarray(targetOffset, nextOffset),
  };
}

/**
 * Where each match blob of an entry (in `source` from `base`) is, then its target blob: offset (in
 * `source`) and size pairs. The entry passed checkEntry.
 */
export function extensionSlices(family: Family, source: Buffer, base = 0): number[] {
  const l = LAYOUTS[family];
  const targetOffset = u16At(source, base + l.targetOffset);
  const nextOffset = u16At(source, base + l.nextOffset);
  // Counted first: growing the list by push costs more than the walk.
  const matches = extensionCount(family, source, base) - 1;
  const slices = new Array<number>(2 * matches + 2);
  let at = l.header;
  for (let m = 0; m < matches; m++) {
    const size = u16At(source, base + at);
    slices[2 * m] = base + at;
    slices[2 * m + 1] = size;
    at += size;
  }
  slices[2 * matches] = base + targetOffset;
  slices[2 * matches + 1] = nextOffset - targetOffset;
  return slices;
}

/** How many extensions (matches and the target) the entry at `base` of `source` has. */
export function extensionCount(family: Family, source: Buffer, base = 0): number {
  const l = LAYOUTS[family];
  const targetOffset = u16At(source, base + l.targetOffset);
  let count = 1;
  for (let at = l.header; at < targetOffset; count++) {
    const size = u16At(source, base + at);
    if (size < EXTENSION_HEADER || at + size > targetOffset) throw new RangeError('corrupt rule entry: bad match size');
    at += size;
  }
  return count;
}

/** A little-endian u16 by byte reads (Buffer's readers check their arguments each time). */
function u16At(source: Buffer, at: number): number {
  return source[at]! | (source[at + 1]! << 8);
}

/**
 * Checks that an entry's offsets and sizes hold together (each match at least an extension header and
 * inside the matches, the target after them, the entry inside the buffer), so that walking it ends.
 * Throws RangeError naming what is wrong.
 */
export function checkEntry(family: Family, entry: Buffer): void {
  const l = LAYOUTS[family];
  const bad = (what: string) => new RangeError(`corrupt rule entry: ${what}`);
  if (entry.length < l.header + EXTENSION_HEADER) throw bad(`${entry.length} bytes is too short for a rule`);
  // Byte reads: this runs for every rule read, and Buffer's readers check their arguments each time.
  const targetOffset = entry[l.targetOffset]! | (entry[l.targetOffset + 1]! << 8);
  const nextOffset = entry[l.nextOffset]! | (entry[l.nextOffset + 1]! << 8);
  if (targetOffset < l.header || nextOffset > entry.length || nextOffset < targetOffset + EXTENSION_HEADER) {
    throw bad(`target offset ${targetOffset} and size ${nextOffset} do not fit a ${entry.length}-byte entry`);
  }
  for (let at = l.header; at < targetOffset; ) {
    const size = entry[at]! | (entry[at + 1]! << 8);
    if (size < EXTENSION_HEADER || at + size > targetOffset) throw bad(`match size ${size} at offset ${at}`);
    at += size;
  }
  const targetSize = entry[targetOffset]! | (entry[targetOffset + 1]! << 8);
  if (targetSize < EXTENSION_HEADER || targetOffset + targetSize > nextOffset) throw bad(`target size ${targetSize}`);
}

/** The name stored in an xt_entry_match / xt_entry_target header. */
export function extensionName(blob: Buffer): string {
  return cString(blob, 2, EXTENSION_MAXNAMELEN);
}

/** The revision stored in an xt_entry_match / xt_entry_target header. */
export function extensionRevision(blob: Buffer): number {
  return blob[31]!;
}

/**
 * A standard target carrying a label: a verdict (ACCEPT, DROP, QUEUE, RETURN), a chain to jump to, or ''
 * (fall through). libiptc turns the label into a verdict or a jump when the entry is added.
 */
export function standardTarget(label: string): Buffer {
  let blob = standardTargets.get(label);
  if (!blob) {
    blob = Buffer.alloc(STANDARD_TARGET_SIZE);
    blob.writeUInt16LE(STANDARD_TARGET_SIZE, 0);
    blob.write(label, 2, EXTENSION_MAXNAMELEN - 1, 'latin1');
    if (standardTargets.size < 10_000) standardTargets.set(label, blob);
  }
  return blob;
}

/** Shared, never modified: entries copy their target in. */
const standardTargets = new Map<string, Buffer>();

/**
 * The mask iptables' make_delete_mask builds: compare the whole header, the first
 * EXTENSION_HEADER + userspacesize bytes of each match and of the target.
 */
export function deleteMask(family: Family, matches: readonly { blob: Buffer; userspacesize: number }[],
  target: { blob: Buffer; userspacesize: number }): Buffer {
  // Rules made one after another share their built parts: the last answer fits without a key.
  const last = lastMask;
  if (last && last.family === family && last.target === target && last.matches.length === matches.length &&
    last.matches.every((m, i) => m === matches[i])) {
    return last.mask;
  }
  const mask = deleteMaskOfSizes(family, [...matches, target].map((p) => ({ size: p.blob.length, userspacesize: p.userspacesize })));
  lastMask = { family, matches: [...matches], target, mask };
  return mask;
}

let lastMask: { family: Family; matches: readonly object[]; target: object; mask: Buffer } | null = null;

/** deleteMask by the size and userspacesize of each match and of the target (the last part). */
export function deleteMaskOfSizes(family: Family, parts: readonly { size: number; userspacesize: number }[]): Buffer {
  let key = family === 6 ? '6' : '4';
  for (const part of parts) key += `,${part.size}:${part.userspacesize}`;
  let mask = deleteMasks.get(key);
  if (!mask) {
    const l = LAYOUTS[family];
    let total = l.header;
    for (const part of parts) total += part.size;
    mask = Buffer.alloc(total);
    mask.fill(0xff, 0, l.header);
    let at = l.header;
    for (const part of parts) {
      mask.fill(0xff, at, at + Math.min(part.size, EXTENSION_HEADER + part.userspacesize));
      at += part.size;
    }
    if (deleteMasks.size >= 10_000) deleteMasks.clear();
    deleteMasks.set(key, mask);
  }
  return mask;
}

/** Masks by rule shape; shared and never modified (libiptc only reads them). */
const deleteMasks = new Map<string, Buffer>();

export const STANDARD_TARGET_USERSPACESIZE = 8;

function extensionsSame(a: Buffer, b: Buffer, at: number, size: number, mask: Buffer): boolean {
  if (b.readUInt16LE(at) !== size) return false;
  if (extensionName(a.subarray(at)) !== extensionName(b.subarray(at))) return false;
  for (let i = at + EXTENSION_HEADER; i < at + size; i++) if (((a[i]! ^ b[i]!) & mask[i]!) !== 0) return false;
  return true;
}

/**
 * Whether two entries are the same rule as libiptc's is_same() decides for a delete: the packet fields,
 * interfaces under their masks, the offsets, then each match and the target by size, name and the data
 * bytes `mask` (a deleteMask of `a`) covers. Counters and kernel bookkeeping are ignored.
 */
export function sameEntry(family: Family, a: Buffer, b: Buffer, mask: Buffer): boolean {
  const l = LAYOUTS[family];
  if (a.length !== b.length || mask.length !== a.length) return false;
  const fields = [l.src, l.dst, l.smsk, l.dmsk];
  for (const at of fields) if (a.compare(b, at, at + l.addrLen, at, at + l.addrLen) !== 0) return false;
  if (a.readUInt16LE(l.proto) !== b.readUInt16LE(l.proto) || a[l.flags] !== b[l.flags] || a[l.invflags] !== b[l.invflags]) {
    return false;
  }
  for (const [name, maskAt] of [[l.iniface, l.inifaceMask], [l.outiface, l.outifaceMask]] as const) {
    for (let i = 0; i < IFNAMSIZ; i++) {
      const m = a[maskAt + i]!;
      if (m !== b[maskAt + i] || (a[name + i]! & m) !== (b[name + i]! & m)) return false;
    }
  }
  const targetOffset = a.readUInt16LE(l.targetOffset);
  if (targetOffset !== b.readUInt16LE(l.targetOffset)) return false;
  for (let at = l.header; at < targetOffset; ) {
    const size = a.readUInt16LE(at);
    if (!extensionsSame(a, b, at, size, mask)) return false;
    at += size;
  }
  return extensionsSame(a, b, targetOffset, a.length - targetOffset, mask);
}
