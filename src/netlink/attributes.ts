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
    b.writeUInt32LE(0, at);
    b.writeUInt16LE(type, at + 4);
    b.writeUInt16LE(flags, at + 6);
    b.writeUInt32LE(seq >>> 0, at + 8);
    b.writeUInt32LE(0, at + 12);
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

  private header(type: number, payload: number): number {
    const total = 4 + payload;
    this.ensure(align4(total));
    const at = this.pos;
    this.buf.writeUInt16LE(total, at);
    this.buf.writeUInt16LE(type, at + 2);
    this.pos += 4;
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
    const len = Buffer.byteLength(s);
    this.header(type, len + 1);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
    this.buf[this.pos++] = 0;
    this.pad();
  }

  /** Big-endian u32 without the NET_BYTEORDER flag, as nf_tables attributes are sent. */
  u32be(type: number, v: number): void {
    this.header(type, 4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** Big-endian u64 without the NET_BYTEORDER flag. */
  u64be(type: number, v: bigint): void {
    this.header(type, 8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** Bytes already encoded as attributes (or anything 4-byte aligned), copied as they are. */
  raw(data: Uint8Array, start = 0, end = data.length): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(data.subarray(start, end), this.pos);
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
    this.buf.writeUInt16LE(len, at);
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
    for (const t of this.touched) this.offsets[t] = -1;
    this.touched.length = 0;
    let p = start;
    while (p + 4 <= end) {
      const len = buf[p]! | (buf[p + 1]! << 8);
      if (len < 4 || p + len > end) break;
      const type = (buf[p + 2]! | (buf[p + 3]! << 8)) & NLA_TYPE_MASK;
      if (type < this.offsets.length) {
        this.offsets[type] = p + 4;
        this.lengths[type] = len - 4;
        this.touched.push(type);
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
