// The ipt_entry / ip6t_entry a rule read from nf_tables becomes, assembled in one scratch buffer straight
// from the message bytes (the caller copies it out once): header fields, match blobs in order, then the
// target and the counters. A dump decodes thousands of rules; nothing here allocates per expression.
import { entryLayout, EXTENSION_HEADER, IFNAMSIZ, INV, standardTarget, type EntryLayout } from '../../xtables/entry.js';
import { XT_NFLOG, XT_TRACE, type BlobSpec } from '../../xtables/blobs.js';
import type { Family } from '../../xtables/shim.js';
import type { LogExpr } from '../expr/log.js';

/** The largest entry: target_offset and next_offset are 16 bits. */
const ENTRY_MAX = 0xffff;

/** Copies n bytes: a loop for the short runs a rule is made of, where Buffer.copy's call costs more. */
export function copyBytes(src: Buffer, from: number, dst: Buffer, to: number, n: number): void {
  if (n > 256) {
    src.copy(dst, to, from, from + n);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}

export class EntryBuilder {
  readonly l: EntryLayout;
  /** The entry being assembled: the header, then blobs from `at` on. */
  readonly e = Buffer.allocUnsafe(ENTRY_MAX + 1);
  at = 0;

  constructor(family: Family) {
    this.l = entryLayout(family);
  }

  /** A zeroed header, no blobs. */
  reset(): void {
    this.e.fill(0, 0, this.l.header);
    this.at = this.l.header;
  }

  /**
   * `-i`/`-o` from a compared interface name (iptables' parse_ifname and parse_invalid_iface): with its
   * NUL an exact name, without one a prefix (`eth+`), and iptables-nft's "INVAL/D" `! -i +`. Returns why
   * the name has no iptables form, or null.
   */
  iface(input: boolean, buf: Buffer, off: number, len: number, inv: boolean): string | null {
    const l = this.l;
    const e = this.e;
    const nameAt = input ? l.iniface : l.outiface;
    const maskAt = input ? l.inifaceMask : l.outifaceMask;
    const invBit = input ? INV.VIA_IN : INV.VIA_OUT;
    if (len === 0 || len > IFNAMSIZ) return 'an interface name of impossible length';
    let nul = 0;
    while (nul < len && buf[off + nul] !== 0) nul++;
    if (nul < len) {
      for (let i = nul; i < len; i++) if (buf[off + i] !== 0) return 'an interface name with bytes after its end';
      if (nul === 0) return 'an empty interface name';
      if (nul === 7 && !inv && buf.toString('latin1', off, off + 7) === 'INVAL/D') {
        // A name no interface has: `! -i +`.
        e[nameAt] = 0x2b;
        e[maskAt] = 0xff;
        e[maskAt + 1] = 0xff;
        e[l.invflags]! |= invBit;
        return null;
      }
      copyBytes(buf, off, e, nameAt, nul);
      e.fill(0xff, maskAt, maskAt + nul + 1);
    } else {
      if (len > IFNAMSIZ - 2) return 'an interface prefix too long for iptables';
      copyBytes(buf, off, e, nameAt, len);
      e[nameAt + len] = 0x2b;
      e.fill(0xff, maskAt, maskAt + len);
    }
    if (inv) e[l.invflags]! |= invBit;
    return null;
  }

  /**
   * `-s`/`-d` from a compared address prefix of `len` bytes, masked by the bytes at maskOff (-1: the whole
   * bytes count). Returns why it has no iptables form, or null.
   */
  address(src: boolean, buf: Buffer, off: number, len: number, maskOff: number, inv: boolean): string | null {
    const l = this.l;
    const e = this.e;
    const addrAt = src ? l.src : l.dst;
    const maskAt = src ? l.smsk : l.dmsk;
    for (let i = 0; i < len; i++) {
      const m = maskOff >= 0 ? buf[maskOff + i]! : 0xff;
      if ((buf[off + i]! & ~m) !== 0) return 'an address with bits outside its mask (never matches)';
      e[addrAt + i] = buf[off + i]!;
      e[maskAt + i] = m;
    }
    if (inv) e[l.invflags]! |= src ? INV.SRCIP : INV.DSTIP;
    return null;
  }

  /**
   * Starts a blob at the end of the entry: size, name and revision set, data zeroed. Returns the data
   * offset, or -1 when it would not fit in an entry.
   */
  begin(spec: BlobSpec, dataSize: number): number {
    const at = this.at;
    const size = EXTENSION_HEADER + dataSize;
    if (at + size > ENTRY_MAX) return -1;
    const e = this.e;
    e.fill(0, at, at + size);
    e[at] = size & 0xff;
    e[at + 1] = size >> 8;
    const name = spec.name;
    for (let i = 0; i < name.length; i++) e[at + 2 + i] = name.charCodeAt(i);
    e[at + 31] = spec.revision;
    this.at = at + size;
    return at + EXTENSION_HEADER;
  }

  /** A compat blob: NAME and INFO copied from the message, the data XT_ALIGNed. -1 when it does not fit. */
  compat(buf: Buffer, nameOff: number, nameLen: number, revision: number, infoOff: number, infoLen: number): number {
    const at = this.at;
    const dataSize = (infoLen + 7) & ~7;
    const size = EXTENSION_HEADER + dataSize;
    if (at + size > ENTRY_MAX) return -1;
    const e = this.e;
    // Every byte written once: the INFO fills the data but its alignment, which is zeroed, as are the
    // name field's bytes after the name.
    e[at] = size & 0xff;
    e[at + 1] = size >> 8;
    copyBytes(buf, nameOff, e, at + 2, nameLen);
    for (let i = at + 2 + nameLen; i < at + 31; i++) e[i] = 0;
    e[at + 31] = revision;
    const data = at + EXTENSION_HEADER;
    copyBytes(buf, infoOff, e, data, infoLen);
    for (let i = data + infoLen; i < data + dataSize; i++) e[i] = 0;
    this.at = at + size;
    return data;
  }

  /**
   * The NFLOG blob of a `log` (nft_parse_log). A prefix longer than the blob's 63 characters is kept
   * whole in a longer blob (the layout iptables-nft reads it into), so that it prints whole.
   */
  nflog(g: LogExpr): number {
    const prefix = g.prefix ?? '';
    const size = Buffer.byteLength(prefix) < XT_NFLOG.PREFIX_SIZE ? XT_NFLOG.dataSize : XT_NFLOG.NFT_DATA_SIZE;
    const data = this.begin(XT_NFLOG, size);
    if (data < 0) return -1;
    const e = this.e;
    if (g.snaplen >= 0) {
      e.writeUInt32LE(g.snaplen, data + XT_NFLOG.LEN);
      e.writeUInt16LE(XT_NFLOG.F_COPY_LEN, data + XT_NFLOG.FLAGS);
    }
    e.writeUInt16LE(g.group, data + XT_NFLOG.GROUP);
    e.writeUInt16LE(g.threshold, data + XT_NFLOG.THRESHOLD);
    e.write(prefix, data + XT_NFLOG.PREFIX, 'utf8');
    return data;
  }

  /** -j TRACE: a target without data. */
  trace(): number {
    return this.begin(XT_TRACE, XT_TRACE.dataSize);
  }

  /** A standard target with its label (a verdict, a chain, or '' for none), as Rule.toEntry builds it. */
  standard(label: string, gotoChain: boolean): number {
    const blob = standardTarget(label);
    if (this.at + blob.length > ENTRY_MAX) return -1;
    blob.copy(this.e, this.at);
    const at = this.at;
    this.at += blob.length;
    if (gotoChain) this.e[this.l.flags]! |= this.l.gotoFlag;
    return at;
  }

  /**
   * Sets the offsets (the target starts at `targetAt`) and the counters (big endian in the message at
   * packetsAt/bytesAt, -1 for none; host order in the entry). Returns the entry's size: it is `e` up
   * to there.
   */
  finish(targetAt: number, buf: Buffer, packetsAt: number, bytesAt: number): number {
    const l = this.l;
    const e = this.e;
    const size = this.at;
    e.writeUInt16LE(targetAt, l.targetOffset);
    e.writeUInt16LE(size, l.nextOffset);
    if (packetsAt >= 0) {
      const c = l.counters;
      for (let i = 0; i < 8; i++) {
        e[c + i] = buf[packetsAt + 7 - i]!;
        e[c + 8 + i] = buf[bytesAt + 7 - i]!;
      }
    }
    return size;
  }
}
