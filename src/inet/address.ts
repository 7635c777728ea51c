// IPv4/IPv6 text <-> bytes, printing IPv6 exactly as glibc's inet_ntop does: `ipset save` and
// `iptables-save` both print with it, and our saved text must match theirs byte for byte.

export type IPFamily = 4 | 6;

export interface ParsedIP {
  family: IPFamily;
  bytes: Uint8Array;
}

/**
 * Dotted quad by char codes, of `s` or of its [start, end) (this runs once per element of every batch,
 * so no split/regex). With `noLeadingZeros`, a part such as `010` is refused: the ipset tool reads it as
 * octal, iptables as decimal.
 */
export function parseIPv4(s: string, start = 0, end = s.length, noLeadingZeros = false): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (noLeadingZeros && digits > 0 && value === 0) return undefined;
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else if (c === 46 && digits > 0 && part < 3) {
      out[part++] = value;
      value = 0;
      digits = 0;
    } else return undefined;
  }
  if (part !== 3 || digits === 0) return undefined;
  out[3] = value;
  return out;
}

/** inet_pton(AF_INET6): groups, one `::`, and a dotted quad only as the last 32 bits. */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length < 2) return undefined;
  const out = new Uint8Array(16);
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string, last: boolean): number[] | undefined => {
    if (h === '') return [];
    const res: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (last && i === parts.length - 1 && p.includes('.')) {
        // inet_pton takes no leading zero in the dotted tail (inet_aton would read it as octal).
        if (/(^|\.)0\d/.test(p)) return undefined;
        const v4 = parseIPv4(p);
        if (!v4) return undefined;
        res.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        res.push(parseInt(p, 16));
      }
    }
    return res;
  };
  const head = groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1]!, true) : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const words = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Parses a bare IPv4 or IPv6 address (no prefix). */
export function parseIP(s: string): ParsedIP | undefined {
  if (s.includes(':')) {
    const b = parseIPv6(s);
    return b ? { family: 6, bytes: b } : undefined;
  }
  const b = parseIPv4(s);
  return b ? { family: 4, bytes: b } : undefined;
}

export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** glibc inet_ntop(AF_INET6): longest run of >= 2 zero words becomes '::', IPv4-mapped/compat tails dotted. */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const w: number[] = new Array(8);
  for (let i = 0; i < 8; i++) w[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += `${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
      break;
    }
    s += w[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ':';
  return s;
}

export function formatIP(b: Uint8Array, off: number, len: number): string {
  return len === 4 ? formatIPv4(b, off) : formatIPv6(b, off);
}

/** Prefix length of the contiguous netmask in `len` bytes at `off`, or -1. */
export function maskToPrefix(b: Uint8Array, off = 0, len = b.length - off): number {
  let n = 0;
  let i = 0;
  for (; i < len && b[off + i] === 0xff; i++) n += 8;
  if (i < len) {
    const v = b[off + i]!;
    let bits = 0;
    while (bits < 8 && v & (0x80 >> bits)) bits++;
    if (((v << bits) & 0xff) !== 0) return -1;
    n += bits;
    for (i++; i < len; i++) if (b[off + i] !== 0) return -1;
  }
  return n;
}

export function prefixToMask(prefix: number, family: IPFamily): Uint8Array {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = (0xff00 >> bits) & 0xff;
  }
  return out;
}
