// The NETLINK_NETFILTER socket, driven synchronously through libc. One request is in flight at a time;
// replies are matched by sequence number so leftovers of an abandoned exchange are skipped, never
// mistaken for the answer to the next request.
import koffi from 'koffi';
import { AF_NETLINK, NETLINK_NETFILTER, NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP_INTR } from './constants.js';

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const EINTR = 4;
const EAGAIN = 11;

interface Libc {
  socket: (domain: number, type: number, proto: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number | bigint;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number | bigint;
  close: (fd: number) => number;
  setsockopt: (fd: number, level: number, name: number, val: Buffer, len: number) => number;
}

let libc: Libc | undefined;
function getLibc(): Libc {
  if (!libc) {
    const lib = koffi.load('libc.so.6');
    libc = {
      socket: lib.func('int socket(int, int, int)'),
      bind: lib.func('int bind(int, const void *, uint32_t)'),
      send: lib.func('intptr_t send(int, const void *, size_t, int)'),
      recv: lib.func('intptr_t recv(int, _Out_ void *, size_t, int)'),
      close: lib.func('int close(int)'),
      setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    } as Libc;
  }
  return libc;
}

/** A socket-level failure (not a kernel answer): carries the errno of the failing libc call. */
export class NetlinkSocketError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`netlink ${call} failed: errno ${errno}`);
    this.name = 'NetlinkSocketError';
  }
}

/** A kernel reply: the whole receive buffer plus where this message sits in it. */
export interface NlMessage {
  buf: Buffer;
  /** Offset of the nlmsghdr. */
  off: number;
  len: number;
  type: number;
  flags: number;
  seq: number;
}

/** Thrown by request()/dump() when the kernel answers with a negative error. */
export class NetlinkKernelError extends Error {
  constructor(
    readonly code: number,
    /** The echoed request (without nlmsghdr), when the kernel sent it back. */
    readonly echo: Buffer | undefined,
  ) {
    super(`kernel error ${code}`);
  }
}

/** socket(2) somewhere else: returns the descriptor, or throws. */
export type SocketFactory = (domain: number, type: number, protocol: number) => number;

export class NetlinkSocket {
  private fd: number;
  private seq = Math.floor(Math.random() * 0x10000) + 1;
  /** Large enough that the kernel builds ~32 KiB dump messages instead of 4 KiB ones. */
  private readonly rbuf = Buffer.allocUnsafe(256 * 1024);

  /** `open` makes the socket elsewhere (another network namespace); by default socket(2) right here. */
  constructor(open?: SocketFactory) {
    const c = getLibc();
    const fd = open ? open(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER) : c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) throw new NetlinkSocketError('socket', koffi.errno());
    this.fd = fd;
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(AF_NETLINK, 0);
    if (c.bind(fd, sa, 12) < 0) {
      const e = koffi.errno();
      c.close(fd);
      throw new NetlinkSocketError('bind', e);
    }
    const v = Buffer.alloc(4);
    v.writeInt32LE(1 << 20, 0);
    c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, v, 4);
    c.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, v, 4);
    // A reply never takes this long; better an error than a hung process if something goes wrong.
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(60n, 0);
    c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  close(): void {
    if (this.fd >= 0) {
      getLibc().close(this.fd);
      this.fd = -1;
    }
  }

  private checkOpen(): void {
    if (this.fd < 0) throw new Error('ipset socket is closed');
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

  /** Receives one datagram into the shared buffer; returns its length. */
  private recvOnce(): number {
    const c = getLibc();
    for (;;) {
      const n = Number(c.recv(this.fd, this.rbuf, this.rbuf.length, 0));
      if (n >= 0) return n;
      const e = koffi.errno();
      if (e === EINTR) continue;
      throw new NetlinkSocketError(e === EAGAIN ? 'recv (timeout)' : 'recv', e);
    }
  }

  /**
   * Reads replies for `seq`, calling onMessage for each non-error message, until an ACK / error, a
   * NLMSG_DONE (dumps), or — when `single` — the first data message. Throws NetlinkKernelError for a
   * negative error. `onMessage` must consume the message before returning: the buffer is reused.
   */
  collect(seq: number, single: boolean, onMessage?: (m: NlMessage) => void): void {
    const buf = this.rbuf;
    for (;;) {
      const n = this.recvOnce();
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
        if (type === NLMSG_ERROR) {
          const code = -buf.readInt32LE(at + 16);
          if (code === 0) return;
          // The echo holds the original nlmsghdr (16 bytes) then our payload.
          const echo = len > 20 + 16 ? Buffer.from(buf.subarray(at + 20, at + len)) : undefined;
          throw new NetlinkKernelError(code, echo);
        }
        if (type === NLMSG_DONE) {
          if (flags & NLM_F_DUMP_INTR) throw new NetlinkKernelError(4, undefined); // EINTR: retry
          return;
        }
        onMessage?.({ buf, off: at, len, type, flags, seq: mseq });
        if (single) return;
      }
    }
  }
}
