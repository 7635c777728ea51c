// Entering a network namespace with setns(2). A network namespace belongs to a thread, not to the
// process: setns moves only the calling thread, so a worker thread can work in another namespace while
// the main thread stays where it is. Sockets keep the namespace they were created in.
import { closeSync, openSync, statSync } from 'node:fs';
import koffi from 'koffi';
import { getLibc } from '../netlink/libc.js';
import { NetnsError } from './errors.js';

const CLONE_NEWNET = 0x40000000;
const EPERM = 1;
const EINVAL = 22;
const EOPNOTSUPP = 95;

/**
 * The calling thread's own network namespace. `/proc/self/ns/net` (and `/proc/net`) show the main
 * thread's, even when read from a worker thread that entered another namespace.
 */
export const THREAD_NETNS = '/proc/thread-self/ns/net';

function errnoOf(e: unknown): number {
  const errno = (e as NodeJS.ErrnoException).errno;
  return typeof errno === 'number' ? Math.abs(errno) : 0;
}

/** Checks a `netns` option: the absolute path of a namespace file, as `ip netns` and /proc name them. */
export function checkNetnsPath(netns: unknown): string {
  if (typeof netns !== 'string' || !netns.startsWith('/') || netns.includes('\0')) {
    throw new TypeError(
      `netns must be the absolute path of a network namespace ('/run/netns/NAME' or '/proc/PID/ns/net'), got ${String(netns)}`,
    );
  }
  return netns;
}

/** Opens a namespace file; the descriptor pins the namespace for as long as it is open. */
export function openNetns(netns: string): number {
  try {
    return openSync(netns, 'r');
  } catch (e) {
    throw new NetnsError(`cannot open network namespace ${netns}: ${(e as Error).message}`, netns, errnoOf(e));
  }
}

export function closeNetns(fd: number): void {
  closeSync(fd);
}

/** Moves the calling thread (only it) into the namespace open on `fd`; on failure it stays where it was. */
export function enterNetns(fd: number, netns: string): void {
  if (getLibc().setns(fd, CLONE_NEWNET) === 0) return;
  const errno = koffi.errno();
  const why =
    errno === EINVAL ? 'it is not a network namespace' : errno === EPERM ? 'not permitted (setns needs CAP_SYS_ADMIN)' : `setns failed with errno ${errno}`;
  throw new NetnsError(`cannot enter network namespace ${netns}: ${why}`, netns, errno);
}

/**
 * Whether `netns` is the calling thread's own network namespace. Throws NetnsError when the path is
 * missing or is not a namespace file at all.
 */
export function isThreadNetns(netns: string): boolean {
  let target;
  try {
    target = statSync(netns);
  } catch (e) {
    throw new NetnsError(`cannot open network namespace ${netns}: ${(e as Error).message}`, netns, errnoOf(e));
  }
  const own = statSync(THREAD_NETNS);
  // Every namespace file lives on the one nsfs device.
  if (target.dev !== own.dev) throw new NetnsError(`cannot use ${netns}: it is not a network namespace`, netns, EINVAL);
  return target.ino === own.ino;
}

/**
 * For the synchronous API: accepts `netns` when it names the calling thread's own namespace, refuses
 * any other with NetnsError (EOPNOTSUPP) pointing at `iptc/async`. It never acts in the caller's
 * namespace in place of another.
 */
export function refuseOtherNetns(netns: unknown, what: string): void {
  const path = checkNetnsPath(netns);
  if (isThreadNetns(path)) return;
  throw new NetnsError(
    `${what} cannot work in another network namespace (${path}): it would have to move the calling thread, ` +
      "which iptc never does. Use AsyncTable from 'iptc/async', whose owner thread works in the namespace.",
    path,
    EOPNOTSUPP,
  );
}
