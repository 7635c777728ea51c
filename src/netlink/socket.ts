// The NETLINK_NETFILTER socket, driven synchronously through libc (koffi): one call per datagram, no
// event loop round trip. One request is in flight at a time; replies are matched by sequence number so
// leftovers of an abandoned exchange are skipped, never mistaken for the answer to the next request.
import koffi from 'koffi';
import {
  AF_NETLINK,
  NETLINK_EXT_ACK,
  NETLINK_NETFILTER,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  SOL_NETLINK,
} from './constants.js';
import { NetlinkDumpInterrupted, NetlinkKernelError, NetlinkSocketError, type ExtAck } from './errors.js';
import { forEachAttr, readStr } from './attributes.js';
import { getLibc } from './libc.js';

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const MSG_DONTWAIT = 0x40;
const EINTR = 4;
const EAGAIN = 11;
/** What netlink keeps of sk_sndbuf for itself: a message must satisfy len <= sndbuf - 32. */
const SNDBUF_OVERHEAD = 32;

/** A kernel reply: the receive buffer plus where this message sits in it. */
export interface NlMessage {
  buf: Buffer;
  /** Offset of the nlmsghdr. */
  off: number;
  len: number;
  type: number;
  flags: number;
  seq: number;
}

export interface NetlinkSocketOptions {
  /** Ask for extended acks (the offset of the offending attribute in errors). Default true. */
  extAck?: boolean;
  /** Makes the socket elsewhere (another network namespace) and returns its descriptor; default socket(2) here. */
  open?: SocketFactory;
}

/** socket(2) somewhere else: returns the descriptor, or throws. */
export type SocketFactory = (domain: number, type: number, protocol: number) => number;

/** Decodes an NLMSG_ERROR at `at`: the errno (positive, 0 for an ACK), the echo and the ext-ack TLVs. */
export function parseError(buf: Buffer, at: number, len: number, flags: number, seq: number): NetlinkKernelError | null {
  const code = -buf.readInt32LE(at + 16);
  if (code === 0) return null;
  let echo: Buffer | undefined;
  let echoEnd = at + 20;
  if (len >= 36) {
    // The echoed request: its nlmsghdr, and its payload unless the kernel capped the echo.
    const echoLen = flags & NLM_F_CAPPED ? 16 : Math.min(buf.readUInt32LE(at + 20), len - 20);
    echoEnd = at + 20 + ((echoLen + 3) & ~3);
    echo = Buffer.from(buf.subarray(at + 20, at + 20 + echoLen));
  }
  const extAck: ExtAck = {};
  if (flags & NLM_F_ACK_TLVS) {
    forEachAttr(buf, echoEnd, at + len, (type, off, alen) => {
      if (type === NLMSGERR_ATTR_OFFS && alen >= 4) extAck.offset = buf.readUInt32LE(off);
      else if (type === NLMSGERR_ATTR_MSG) extAck.message = readStr(buf, off, alen);
    });
  }
  return new NetlinkKernelError(code, echo, extAck, seq);
}

export class NetlinkSocket {
  private fd: number;
  private seq = Math.floor(Math.random() * 0x10000) + 1;
  /** Large enough that the kernel builds ~32 KiB dump messages instead of 4 KiB ones. */
  private readonly rbuf = Buffer.allocUnsafe(256 * 1024);
  private sndbuf = 0;
  private rcvbuf = 0;
  private readonly int = Buffer.alloc(4);

  constructor(opts: NetlinkSocketOptions = {}) {
    const c = getLibc();
    const fd = opts.open
      ? opts.open(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER)
      : c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) throw new NetlinkSocketError('socket', koffi.errno());
    this.fd = fd;
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(AF_NETLINK, 0);
    if (c.bind(fd, sa, 12) < 0) {
      const e = koffi.errno();
      c.close(fd);
      throw new NetlinkSocketError('bind', e);
    }
    this.setInt(SOL_SOCKET, SO_RCVBUF, 1 << 20);
    this.setInt(SOL_SOCKET, SO_SNDBUF, 1 << 20);
    this.sndbuf = this.getInt(SOL_SOCKET, SO_SNDBUF);
    this.rcvbuf = this.getInt(SOL_SOCKET, SO_RCVBUF);
    // Old kernels lack extended acks; errors then carry no offset, which is all that is lost.
    if (opts.extAck !== false) this.setInt(SOL_NETLINK, NETLINK_EXT_ACK, 1);
    // A reply never takes this long; better an error than a hung process if something goes wrong.
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(60n, 0);
    c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
  }

  private setInt(level: number, name: number, value: number): boolean {
    this.int.writeInt32LE(value, 0);
    return getLibc().setsockopt(this.fd, level, name, this.int, 4) === 0;
  }

  private getInt(level: number, name: number): number {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(4, 0);
    if (getLibc().getsockopt(this.fd, level, name, this.int, len) < 0) return 0;
    return this.int.readInt32LE(0);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** Reserves `count` consecutive sequence numbers (a batch) and returns the first. */
  reserveSeqs(count: number): number {
    if (this.seq + count + 1 > 0xffffffff) this.seq = 0;
    const first = this.seq + 1;
    this.seq += count;
    return first;
  }

  close(): void {
    if (this.fd >= 0) {
      getLibc().close(this.fd);
      this.fd = -1;
    }
  }

  private checkOpen(): void {
    if (this.fd < 0) throw new Error('netlink socket is closed');
  }

  /**
   * Makes the send buffer hold a message of `bytes` (a whole nf_tables batch is one message train in one
   * datagram). SO_SNDBUFFORCE passes the rmem/wmem limits with CAP_NET_ADMIN; without it SO_SNDBUF is
   * tried, and a batch still too large fails in send() with EMSGSIZE.
   */
  ensureSendBuffer(bytes: number): void {
    this.checkOpen();
    const need = bytes + SNDBUF_OVERHEAD;
    if (need <= this.sndbuf) return;
    // The kernel doubles what it is given; ask for half of the goal, rounded up generously.
    const ask = Math.min(Math.ceil(need / 2) + 65536, 0x3fffffff);
    if (!this.setInt(SOL_SOCKET, SO_SNDBUFFORCE, ask)) this.setInt(SOL_SOCKET, SO_SNDBUF, ask);
    this.sndbuf = this.getInt(SOL_SOCKET, SO_SNDBUF);
  }

  /**
   * Makes the receive queue hold `bytes` of replies, so that the answers to a large batch (echoes, acks,
   * errors) are not dropped (ENOBUFS).
   */
  ensureReceiveBuffer(bytes: number): void {
    this.checkOpen();
    if (bytes <= this.rcvbuf) return;
    const ask = Math.min(Math.ceil(bytes / 2) + 65536, 0x3fffffff);
    if (!this.setInt(SOL_SOCKET, SO_RCVBUFFORCE, ask)) this.setInt(SOL_SOCKET, SO_RCVBUF, ask);
    this.rcvbuf = this.getInt(SOL_SOCKET, SO_RCVBUF);
  }

  send(msg: Buffer): void {
    this.checkOpen();
    const c = getLibc();
    for (;;) {
      const n = Number(c.send(this.fd, msg, msg.length, 0));
      if (n >= 0) return;
      const e = koffi.errno();
      if (e !== EINTR) throw new NetlinkSocketError('send', e);
    }
  }

  /** Receives one datagram into the shared buffer; returns its length, or -1 when `dontWait` found none. */
  receive(dontWait = false): number {
    this.checkOpen();
    const c = getLibc();
    for (;;) {
      const n = Number(c.recv(this.fd, this.rbuf, this.rbuf.length, dontWait ? MSG_DONTWAIT : 0));
      if (n >= 0) return n;
      const e = koffi.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN && dontWait) return -1;
      throw new NetlinkSocketError(e === EAGAIN ? 'recv (timeout)' : 'recv', e);
    }
  }

  /** The buffer receive() fills; valid until the next receive. */
  get receiveBuffer(): Buffer {
    return this.rbuf;
  }

  /**
   * Reads replies for `seq`, calling onMessage for each non-error message, until an ACK / error, a
   * NLMSG_DONE (dumps), or — when `single` — the first data message. Throws NetlinkKernelError for a
   * negative error, NetlinkDumpInterrupted (after the dump's end) when the kernel flagged the dump as
   * inconsistent. With `keep`, each datagram is copied once into its own buffer, so onMessage may keep
   * views of it; otherwise it must consume the message before returning: the buffer is reused.
   */
  collect(seq: number, single: boolean, onMessage?: (m: NlMessage) => void, keep = false): void {
    let interrupted = false;
    for (;;) {
      const n = this.receive();
      const buf = keep ? Buffer.from(this.rbuf.subarray(0, n)) : this.rbuf;
      let p = 0;
      while (p + 16 <= n) {
        const len = buf.readUInt32LE(p);
        if (len < 16 || p + len > n) break;
        const type = buf.readUInt16LE(p + 4);
        const flags = buf.readUInt16LE(p + 6);
        const mseq = buf.readUInt32LE(p + 8);
        const at = p;
        p += (len + 3) & ~3;
        if (mseq !== seq) continue; // a leftover of an abandoned exchange
        if (flags & NLM_F_DUMP_INTR) interrupted = true;
        if (type === NLMSG_ERROR) {
          const err = parseError(buf, at, len, flags, mseq);
          if (err) throw err;
          if (interrupted) throw new NetlinkDumpInterrupted(seq);
          return;
        }
        if (type === NLMSG_DONE) {
          if (interrupted) throw new NetlinkDumpInterrupted(seq);
          return;
        }
        onMessage?.({ buf, off: at, len, type, flags, seq: mseq });
        if (single) return;
      }
    }
  }
}
