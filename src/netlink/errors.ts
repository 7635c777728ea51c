// What a netlink exchange can fail with: the socket itself (a libc call's errno) or the kernel's answer
// (a negative errno in NLMSG_ERROR, with the extended-ack offset and message when the kernel gave them).
import { constants } from 'node:os';

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/** The symbolic name of an errno (`ENOENT`), or `E<n>` when Node does not know it (ERESTART is 85). */
export function errnoName(errno: number): string {
  if (errno === 85) return 'ERESTART';
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** A socket-level failure (not a kernel answer): carries the errno of the failing libc call. */
export class NetlinkSocketError extends Error {
  override readonly name = 'NetlinkSocketError';
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`netlink ${call} failed: ${errnoName(errno)} (errno ${errno})`);
  }
}

/** The extended acknowledgement the kernel attaches to an error when NETLINK_EXT_ACK is on. */
export interface ExtAck {
  /** Offset of the offending attribute from the start of the request's nlmsghdr. */
  offset?: number;
  /** The kernel's own words, where it gave any. */
  message?: string;
}

/** A negative answer from the kernel to one request (NLMSG_ERROR with a non-zero code). */
export class NetlinkKernelError extends Error {
  override readonly name = 'NetlinkKernelError';
  /** The errno, positive (2 for ENOENT). */
  readonly code: number;
  readonly errno: number;
  constructor(
    code: number,
    /** The echoed request, nlmsghdr included, when the kernel sent it back. */
    readonly echo: Buffer | undefined,
    readonly extAck: ExtAck = {},
    /** Sequence number of the request the kernel answered. */
    readonly seq = 0,
  ) {
    const where = extAck.offset !== undefined ? ` at offset ${extAck.offset}` : '';
    const why = extAck.message ? `: ${extAck.message}` : '';
    super(`kernel error ${errnoName(code)} (errno ${code})${where}${why}`);
    this.code = code;
    this.errno = code;
  }
}

/** A dump the kernel marked inconsistent (NLM_F_DUMP_INTR): the data changed while it was read. */
export class NetlinkDumpInterrupted extends NetlinkKernelError {
  constructor(seq: number) {
    super(4, undefined, { message: 'the dump was interrupted by a concurrent change' }, seq);
  }
}
