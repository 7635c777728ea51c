// The xtables lock: the `flock` on XTABLES_LOCKFILE (default /run/xtables.lock) that iptables,
// ip6tables, their -restore tools and iptc take around reading a fresh view of a table through its
// commit. Two writers that both hold it can never interleave, so neither overwrites the other's change.
import { closeSync, constants, openSync } from 'node:fs';
import koffi from 'koffi';
import { getLibc } from '../netlink/libc.js';
import { IPTCError } from './errors.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EINTR = 4;
const EWOULDBLOCK = 11;

/** The path iptables uses when XTABLES_LOCKFILE is unset (its compiled-in XT_LOCK_NAME). */
export const DEFAULT_LOCKFILE = '/run/xtables.lock';

/**
 * How long to wait for the lock when another program holds it, as `iptables -w [seconds]`:
 * `false` or `0` do not wait (fail at once, iptables without -w), `true` waits as long as it takes
 * (`-w`), a number waits that many seconds at most (`-w 5`; fractions allowed).
 */
export type LockWait = boolean | number;

/**
 * Another program holds the xtables lock and the wait ran out (or there was no wait). An IPTCError with
 * errno EWOULDBLOCK; nothing was changed.
 */
export class XTablesLockError extends IPTCError {
  /** The lock file that was busy. */
  readonly lockfile: string;

  /** The lock at `lockfile` stayed busy (errno EWOULDBLOCK) or could not be taken (its errno). */
  constructor(message: string, lockfile: string, errno = EWOULDBLOCK) {
    super(message, errno);
    this.lockfile = lockfile;
  }
}

/** The lock file iptables would use now: $XTABLES_LOCKFILE when set and not empty, else /run/xtables.lock. */
export function lockfilePath(): string {
  const env = process.env.XTABLES_LOCKFILE;
  return env !== undefined && env !== '' ? env : DEFAULT_LOCKFILE;
}

/** Checks a wait option and returns it as milliseconds (Infinity for "as long as it takes"). */
export function waitMilliseconds(wait: LockWait): number {
  if (wait === true) return Infinity;
  if (wait === false) return 0;
  if (typeof wait !== 'number' || Number.isNaN(wait) || wait < 0) {
    throw new TypeError(`wait must be a boolean or a number of seconds >= 0, got ${String(wait)}`);
  }
  return wait * 1000;
}

function flock(fd: number, operation: number): { ok: boolean; errno: number } {
  const ok = getLibc().flock(fd, operation) === 0;
  return { ok, errno: ok ? 0 : koffi.errno() };
}

/** Sleeps the calling thread without spinning (the API is synchronous, as iptables -w is). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** The lock while this thread holds it; nested holders share it (a commit inside a larger transaction). */
let held: { fd: number; depth: number } | null = null;

function busy(path: string, waitMs: number): XTablesLockError {
  const advice =
    waitMs === 0
      ? 'Perhaps you want to use the wait option (`{ wait: seconds }`, as iptables -w)?'
      : `Stopped waiting after ${waitMs / 1000} s.`;
  return new XTablesLockError(`Another app is currently holding the xtables lock (${path}). ${advice}`, path);
}

function acquire(waitMs: number): number {
  const path = lockfilePath();
  let fd: number;
  try {
    // iptables opens it the same way: open(path, O_CREAT, 0600). Node adds O_CLOEXEC, so child
    // processes never inherit (and never keep) the lock.
    fd = openSync(path, constants.O_RDONLY | constants.O_CREAT, 0o600);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const errno = typeof err.errno === 'number' ? Math.abs(err.errno) : 0;
    throw new XTablesLockError(`can't open the xtables lock file ${path}: ${err.message}`, path, errno);
  }
  try {
    if (waitMs === Infinity) {
      // `iptables -w`: block in the kernel until the holder lets go.
      for (;;) {
        const r = flock(fd, LOCK_EX);
        if (r.ok) return fd;
        if (r.errno !== EINTR) throw new XTablesLockError(`can't lock ${path}: errno ${r.errno}`, path, r.errno);
      }
    }
    // `iptables -w N`: try, then poll with a growing pause (1 ms to 25 ms) until the deadline. Holders
    // keep the lock for milliseconds, so a short poll gets it soon after it is free.
    const deadline = performance.now() + waitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 25)) {
      const r = flock(fd, LOCK_EX | LOCK_NB);
      if (r.ok) return fd;
      if (r.errno !== EWOULDBLOCK && r.errno !== EINTR) {
        throw new XTablesLockError(`can't lock ${path}: errno ${r.errno}`, path, r.errno);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw busy(path, waitMs);
      sleep(Math.min(pause, left));
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * Runs `fn` holding the xtables lock, waiting for it as `wait` says; throws XTablesLockError when it
 * stays busy. Re-entrant within a thread: an inner call while the lock is held just runs `fn`.
 *
 * Equivalent to: what `iptables -w [seconds]` does around its read-modify-commit
 */
export function withXtablesLock<T>(wait: LockWait, fn: () => T): T {
  const waitMs = waitMilliseconds(wait);
  if (held) {
    held.depth++;
    try {
      return fn();
    } finally {
      held.depth--;
    }
  }
  const fd = acquire(waitMs);
  held = { fd, depth: 1 };
  try {
    return fn();
  } finally {
    held = null;
    // Closing the last descriptor releases the flock; unlock first anyway, so that the release does
    // not depend on no one having dup'ed the descriptor.
    flock(fd, LOCK_UN);
    closeSync(fd);
  }
}

/** Whether this thread holds the xtables lock right now. */
export function holdsXtablesLock(): boolean {
  return held !== null;
}
