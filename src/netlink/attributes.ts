// Netlink attribute (NLA) encoding and decoding over plain Buffers. The writer appends into one growing
// buffer so a whole batch of elements is built without intermediate allocations; the reader hands out
// offsets instead of copies so dumps of 100,000 entries decode without garbage.
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK } from './constants.js';

const align4 = (n: number) => (n + 3) & ~3;

export class NlaWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /**
   * Starts a netlink message: nlmsghdr + nfgenmsg. Returns its offset for finishMessage(). `resId` is
   * nfgenmsg.res_id (big endian): the subsystem for batch delimiters, 0 otherwise.
   */
  beginMessage(type: number, flags: number, seq: number, family: number, resId = 0): number {
    this.ensure(20);
    const b = this.buf;
    const at = this.pos;
    b.fill(0, at, at + 16);
    b[at + 4] = type & 0xff;
    b[at + 5] = type >> 8;
    b[at + 6] = flags & 0xff;
    b[at + 7] = flags >> 8;
    b.writeUInt32LE(seq >>> 0, at + 8);
    b[at + 16] = family;
    b[at + 17] = 0; // NFNETLINK_V0
    b[at + 18] = resId >> 8;
    b[at + 19] = resId & 0xff;
    this.pos += 20;
    return at;
  }

  finishMessage(at: number): void {
    this.buf.writeUInt32LE(this.pos - at, at);
  }

  // Index writes rather than Buffer.writeUInt*: a batch of 10,000 rules writes a million attributes, and
  // the methods' argument checks would cost as much as the kernel's work on them.
  private header(type: number, payload: number): number {
    const total = 4 + payload;
    if (this.pos + total + 3 > this.buf.length) this.ensure(align4(total));
    const b = this.buf;
    const at = this.pos;
    b[at] = total & 0xff;
    b[at + 1] = total >> 8;
    b[at + 2] = type & 0xff;
    b[at + 3] = type >> 8;
    this.pos = at + 4;
    return at;
  }

  private pad(): void {
    const end = align4(this.pos);
    while (this.pos < end) this.buf[this.pos++] = 0;
  }

  u8(type: number, v: number): void {
    this.header(type, 1);
    this.buf[this.pos++] = v;
    this.pad();
  }

  /** Big-endian u16, flagged NET_BYTEORDER as the kernel requires. */
  be16(type: number, v: number): void {
    this.header(type | NLA_F_NET_BYTEORDER, 2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    this.pad();
  }

  be32(type: number, v: number): void {
    this.header(type | NLA_F_NET_BYTEORDER, 4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  be64(type: number, v: bigint): void {
    this.header(type | NLA_F_NET_BYTEORDER, 8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** NUL-terminated string. */
  str(type: number, s: string): void {
    let ascii = s.length < 64;
    for (let i = 0; ascii && i < s.length; i++) ascii = s.charCodeAt(i) < 0x80;
    const len = ascii ? s.length : Buffer.byteLength(s);
    this.header(type, len + 1);
    const b = this.buf;
    if (ascii) {
      for (let i = 0; i < len; i++) b[this.pos + i] = s.charCodeAt(i);
    } else {
      b.write(s, this.pos, 'utf8');
    }
    this.pos += len;
    b[this.pos++] = 0;
    this.pad();
  }

  /** Big-endian u32 without the NET_BYTEORDER flag, as nf_tables attributes are sent. */
  u32be(type: number, v: number): void {
    this.header(type, 4);
    const b = this.buf;
    const p = this.pos;
    b[p] = (v >>> 24) & 0xff;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
  }

  /** Big-endian u64 without the NET_BYTEORDER flag. */
  u64be(type: number, v: bigint): void {
    this.header(type, 8);
    if (v === 0n) {
      this.buf.fill(0, this.pos, this.pos + 8);
    } else {
      this.buf.writeBigUInt64BE(v, this.pos);
    }
    this.pos += 8;
  }

  /** Big-endian u16 without the NET_BYTEORDER flag. */
  u16be(type: number, v: number): void {
    this.header(type, 2);
    this.buf[this.pos] = (v >> 8) & 0xff;
    this.buf[this.pos + 1] = v & 0xff;
    this.buf[this.pos + 2] = 0;
    this.buf[this.pos + 3] = 0;
    this.pos += 4;
  }

  /** An attribute holding src[start, end): no intermediate view for short runs. */
  bytesOf(type: number, src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.header(type, n);
    const b = this.buf;
    let p = this.pos;
    if (n > 48) {
      b.set(src.subarray(start, end), p);
      p += n;
    } else {
      for (let i = start; i < end; i++) b[p++] = src[i]!;
    }
    this.pos = p;
    this.pad();
  }

  /** Bytes already encoded as attributes (or anything 4-byte aligned), copied as they are. */
  raw(data: Uint8Array, start = 0, end = data.length): void {
    const n = end - start;
    if (this.pos + n > this.buf.length) this.ensure(n);
    const b = this.buf;
    if (n > 48) {
      b.set(start === 0 && end === data.length ? data : data.subarray(start, end), this.pos);
    } else {
      for (let i = 0; i < n; i++) b[this.pos + i] = data[start + i]!;
    }
    this.pos += n;
  }

  bytes(type: number, data: Uint8Array): void {
    this.header(type, data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    this.pad();
  }

  beginNest(type: number): number {
    return this.header(type | NLA_F_NESTED, 0);
  }

  endNest(at: number): void {
    const len = this.pos - at;
    if (len > 0xffff) throw new RangeError(`netlink attribute too large (${len} bytes)`);
    this.buf[at] = len & 0xff;
    this.buf[at + 1] = len >> 8;
  }

  /** A copy of the bytes written so far (a view when `copy` is false). */
  result(copy = false): Buffer {
    return copy ? Buffer.from(this.buf.subarray(0, this.pos)) : this.buf.subarray(0, this.pos);
  }
}

/**
 * Reads the attributes in buf[start, end) into a table indexed by attribute type (flags masked):
 * offsets[type] is the payload offset and lengths[type] the payload length, -1 when absent.
 * The tables are reused between calls to avoid allocating per element.
 */
export class NlaTable {
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  private readonly touched: number[] = [];

  constructor(maxType = 32) {
    this.offsets = new Int32Array(maxType + 1).fill(-1);
    this.lengths = new Int32Array(maxType + 1).fill(-1);
  }

  parse(buf: Buffer, start: number, end: number): this {
    const offsets = this.offsets;
    if (offsets.length <= 16) {
      // A few slots: clearing them all is cheaper than remembering which were set.
      for (let i = 0; i < offsets.length; i++) offsets[i] = -1;
    } else {
      for (const t of this.touched) offsets[t] = -1;
      this.touched.length = 0;
    }
    let p = start;
    while (p + 4 <= end) {
      const len = buf[p]! | (buf[p + 1]! << 8);
      if (len < 4 || p + len > end) break;
      const type = (buf[p + 2]! | (buf[p + 3]! << 8)) & NLA_TYPE_MASK;
      if (type < offsets.length) {
        offsets[type] = p + 4;
        this.lengths[type] = len - 4;
        if (offsets.length > 16) this.touched.push(type);
      }
      p += align4(len);
    }
    return this;
  }

  has(type: number): boolean {
    return this.offsets[type]! >= 0;
  }
}

/** Calls fn(type, payloadOffset, payloadLength) for each attribute in buf[start, end). */
export function forEachAttr(buf: Buffer, start: number, end: number, fn: (type: number, off: number, len: number) => void): void {
  let p = start;
  while (p + 4 <= end) {
    const len = buf[p]! | (buf[p + 1]! << 8);
    if (len < 4 || p + len > end) break;
    fn((buf[p + 2]! | (buf[p + 3]! << 8)) & NLA_TYPE_MASK, p + 4, len - 4);
    p += align4(len);
  }
}

/** A NUL-terminated string attribute payload. */
export function readStr(buf: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', off, end);
}
