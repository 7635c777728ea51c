// The C library calls iptc makes through koffi (sockets, setns, flock), bound once per process from the
// C library the process runs on. It sits below everything that talks to the kernel: the netlink socket,
// the legacy table scanner, network namespaces and the xtables lock all take their calls from here.
import koffi from 'koffi';
import { readFileSync } from 'node:fs';

/** The libc functions iptc calls; each returns -1 with koffi.errno() set on failure. */
export interface Libc {
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, length: number) => number;
  send: (fd: number, buf: Buffer, length: number, flags: number) => number | bigint;
  recv: (fd: number, buf: Buffer, length: number, flags: number) => number | bigint;
  close: (fd: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, length: number) => number;
  /** `length` is a socklen_t in and out: a 4-byte Buffer or a Uint32Array. */
  getsockopt: (fd: number, level: number, name: number, value: Buffer, length: Buffer | Uint32Array) => number;
  setns: (fd: number, nstype: number) => number;
  flock: (fd: number, operation: number) => number;
}

/**
 * Where the process's C library is, given /proc/self/maps: musl's dynamic loader, which is also its
 * libc (Alpine names no `libc.so.6`), else glibc's soname.
 */
export function libcPathIn(maps: string): string {
  return /\s(\/\S*\/ld-musl-[^/\s]+\.so\.1)$/m.exec(maps)?.[1] ?? 'libc.so.6';
}

let path: string | undefined;

/** The path koffi loads the process's C library by (a worker thread loads the same). */
export function libcPath(): string {
  if (path === undefined) {
    let maps = '';
    try {
      maps = readFileSync('/proc/self/maps', 'utf8');
    } catch {
      // No /proc: glibc's soname, as before.
    }
    path = libcPathIn(maps);
  }
  return path;
}

let libc: Libc | undefined;

/** The libc functions, bound on first use. */
export function getLibc(): Libc {
  if (!libc) {
    const lib = koffi.load(libcPath());
    libc = {
      socket: lib.func('int socket(int, int, int)'),
      bind: lib.func('int bind(int, const void *, uint32_t)'),
      send: lib.func('intptr_t send(int, const void *, size_t, int)'),
      recv: lib.func('intptr_t recv(int, _Out_ void *, size_t, int)'),
      close: lib.func('int close(int)'),
      setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
      getsockopt: lib.func('int getsockopt(int, int, int, void *, void *)'),
      setns: lib.func('int setns(int fd, int nstype)'),
      flock: lib.func('int flock(int fd, int operation)'),
    } as Libc;
  }
  return libc;
}
