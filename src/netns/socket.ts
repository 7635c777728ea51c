// A socket created in another network namespace, for synchronous APIs (`new IPSet({ netns })`). A socket
// keeps the namespace it was created in, and setns moves one thread only: a short-lived worker thread
// enters the namespace, creates the socket and hands its descriptor number back (descriptors belong to
// the process). The calling thread waits for it with Atomics.wait and never changes namespace.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { libcPath } from '../netlink/libc.js';
import { NetnsError } from './errors.js';
import { checkNetnsPath } from './setns.js';

/** Generous: starting a worker and loading koffi takes some 30 ms on an idle machine. */
const TIMEOUT_MS = 10_000;
const ETIMEDOUT = 110;

// state[0]: 0 waiting, 1 done (state[1] = fd), 2 failed (state[1] = errno, state[2] = stage), 3 the
// caller gave up (the opener then closes the socket it made rather than leak it).
const Stage = { Start: 0, Open: 1, Enter: 2, Socket: 3 } as const;

// Plain JavaScript, evaluated in the worker: it must not depend on how this package was built or bundled.
const OPENER = `
import('node:worker_threads').then(async ({ workerData: d }) => {
  const state = d.state;
  let stage = ${Stage.Start};
  let nsfd = -1;
  let fs;
  try {
    fs = await import('node:fs');
    const koffi = (await import(d.koffi)).default;
    const libc = koffi.load(d.libc);
    const setns = libc.func('int setns(int, int)');
    const socket = libc.func('int socket(int, int, int)');
    const close = libc.func('int close(int)');
    stage = ${Stage.Open};
    nsfd = fs.openSync(d.netns, 'r');
    stage = ${Stage.Enter};
    if (setns(nsfd, 0x40000000) !== 0) throw { errno: koffi.errno() };
    stage = ${Stage.Socket};
    const fd = socket(d.domain, d.type, d.protocol);
    if (fd < 0) throw { errno: koffi.errno() };
    Atomics.store(state, 1, fd);
    if (Atomics.compareExchange(state, 0, 0, 1) !== 0) close(fd);
  } catch (e) {
    Atomics.store(state, 1, typeof e?.errno === 'number' ? Math.abs(e.errno) : 0);
    Atomics.store(state, 2, stage);
    Atomics.compareExchange(state, 0, 0, 2);
  } finally {
    if (nsfd >= 0) fs.closeSync(nsfd);
    Atomics.notify(state, 0);
  }
});
`;

let koffiUrl: string | undefined;

function failure(netns: string, stage: number, errno: number): NetnsError {
  const reason =
    stage === Stage.Open
      ? `cannot open network namespace ${netns}`
      : stage === Stage.Enter
        ? errno === 22
          ? `cannot enter ${netns}: it is not a network namespace`
          : `cannot enter network namespace ${netns}`
        : stage === Stage.Socket
          ? `cannot create a socket in network namespace ${netns}`
          : `cannot start the thread that opens a socket in network namespace ${netns}`;
  return new NetnsError(`${reason} (errno ${errno})`, netns, errno);
}

/**
 * socket(2) in the network namespace `netns`, from a thread that enters it; returns the descriptor.
 * Blocks the calling thread until the socket exists (some 30 ms). Throws NetnsError when the
 * namespace cannot be entered or the socket not created.
 */
export function socketInNetns(netns: string, domain: number, type: number, protocol: number): number {
  checkNetnsPath(netns);
  koffiUrl ??= pathToFileURL(createRequire(import.meta.url).resolve('koffi')).href;
  const state = new Int32Array(new SharedArrayBuffer(12));
  const worker = new Worker(OPENER, { eval: true, workerData: { state, netns, koffi: koffiUrl, libc: libcPath(), domain, type, protocol } });
  worker.unref();
  // Everything the opener has to say is in `state`; an error event would only repeat it.
  worker.on('error', () => {});
  Atomics.wait(state, 0, 0, TIMEOUT_MS);
  const outcome = Atomics.compareExchange(state, 0, 0, 3);
  if (outcome === 1) return Atomics.load(state, 1);
  if (outcome === 2) throw failure(netns, Atomics.load(state, 2), Atomics.load(state, 1));
  void worker.terminate();
  throw failure(netns, -1, ETIMEDOUT);
}
