// A legacy table as the kernel hands it over: IPT_SO_GET_INFO says how large it is and where its
// built-in chains are, IPT_SO_GET_ENTRIES writes every entry into one buffer (the same getsockopt calls
// libiptc's read makes, without the copies libiptc makes after them).
import koffi from 'koffi';
import { constants } from 'node:os';
import { getLibc } from '../netlink/libc.js';
import { dumpedChains, type DumpedChain } from './dumped.js';
import { IPTCError } from './errors.js';
import { indexBlob, type Family } from './shim.js';

const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_RAW = 255;
const ADDRESS_FAMILY: Record<Family, number> = { 4: 2, 6: 10 };
/** SOL_IP / SOL_IPV6. */
const LEVEL: Record<Family, number> = { 4: 0, 6: 41 };
/** IPT_SO_GET_INFO and IPT_SO_GET_ENTRIES (the IP6T_ ones have the same numbers). */
const SO_GET_INFO = 64;
const SO_GET_ENTRIES = 65;
/** struct ipt_getinfo: name[32], valid_hooks, hook_entry[5], underflow[5], num_entries, size. */
const GETINFO_SIZE = 84;
const TABLE_NAME_SIZE = 32;
/** struct ipt_get_entries: name[32] and size, then the entries at their own (64-bit) alignment. */
export const ENTRIES_AT = Math.ceil(36 / koffi.alignof('uint64_t')) * koffi.alignof('uint64_t');
/** A table that changed between its size and its entries being read is read again, at most this often. */
const ATTEMPTS = 10;
const { EAGAIN, EPERM, EACCES } = constants.errno;

export interface KernelBlob {
  /** The table's struct ipt_getinfo (ip6t_getinfo has the same layout). */
  info: Buffer;
  /** The entries, `size` bytes from ENTRIES_AT. */
  buffer: Buffer;
  size: number;
}

/**
 * Reads a legacy table. `bufferFor(length)` gives the buffer the kernel writes into, at least `length`
 * bytes and zeroed (the kernel writes an extension's name only up to its NUL: equal rules then read as
 * equal bytes); a fresh one by default. Throws TypeError for a name the kernel cannot take, IPTCError with
 * the errno when the table cannot be read.
 *
 * Equivalent to: the reading half of `iptables-save -t TABLE`
 */
export function readKernelBlob(family: Family, table: string, bufferFor: (length: number) => Buffer = Buffer.alloc): KernelBlob {
  if (table.length === 0 || table.length >= TABLE_NAME_SIZE || table.includes('\0')) {
    throw new TypeError(`invalid table name \`${table}'`);
  }
  const { socket, close, getsockopt } = getLibc();
  const fd = socket(ADDRESS_FAMILY[family], SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) throw readError(table, koffi.errno());
  const length = new Uint32Array(1);
  try {
    for (let attempt = 1; ; attempt++) {
      const info = Buffer.alloc(GETINFO_SIZE);
      info.write(table, 0, 'latin1');
      length[0] = GETINFO_SIZE;
      if (getsockopt(fd, LEVEL[family], SO_GET_INFO, info, length) < 0) throw readError(table, koffi.errno());
      const size = info.readUInt32LE(80);
      const buffer = bufferFor(ENTRIES_AT + size);
      buffer.write(table, 0, 'latin1');
      buffer.writeUInt32LE(size, TABLE_NAME_SIZE);
      length[0] = ENTRIES_AT + size;
      if (getsockopt(fd, LEVEL[family], SO_GET_ENTRIES, buffer, length) === 0) return { info, buffer, size };
      const errno = koffi.errno();
      // The table changed size between the two calls.
      if (errno !== EAGAIN) throw readError(table, errno);
      if (attempt === ATTEMPTS) throw readError(table, EAGAIN);
    }
  } finally {
    close(fd);
  }
}

/**
 * The chains and rules of a legacy table as the kernel hands it over, each rule's entry a view of the
 * buffer the kernel wrote (nothing copied after the kernel's copy); the chains in libiptc's order. null
 * where the entries are not laid out as libiptc reads them (libiptc's own read then says what it makes
 * of them). Throws as readKernelBlob.
 *
 * Equivalent to: the reading half of `iptables-save -c -t TABLE`
 */
export function readTable(family: Family, table: string): DumpedChain[] | null {
  const { info, buffer, size } = readKernelBlob(family, table);
  const index = indexBlob(family, info, buffer, ENTRIES_AT, size);
  return index === null ? null : dumpedChains(family, index, buffer);
}

function readError(table: string, errno: number): IPTCError {
  if (errno === EPERM || errno === EACCES) {
    return new IPTCError(
      `cannot read table \`${table}': permission denied; reading the legacy tables needs root (or CAP_NET_ADMIN and CAP_NET_RAW)`,
      errno,
    );
  }
  const name = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
  const reason = errno === EAGAIN ? 'it kept changing while it was read' : errno === constants.errno.ENOENT ? 'no such table' : name;
  return new IPTCError(`cannot read table \`${table}': ${reason}`, errno);
}
