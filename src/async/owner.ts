// The caller's side of the owner thread: one worker thread per process, started on first use. It is
// unref'd while nothing is pending, so it never keeps a process alive that has nothing else to do.
import { Worker } from 'node:worker_threads';
import { errorFromWire } from './errors.js';
import type { Envelope, Reply, Request } from './protocol.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Options of a script given on the command line, with the value that follows them unless given with `=`. */
const SCRIPT_OPTIONS = ['--input-type', '-e', '--eval', '-p', '--print'];

/**
 * The caller's Node options, less those that give the process its script: a process started as
 * `node --input-type=module -e CODE` would pass them on, and the worker would refuse the input type
 * for its file, or run CODE too.
 */
function workerExecArgv(): string[] {
  const args = process.execArgv;
  const isScript = (arg: string) => SCRIPT_OPTIONS.some((o) => arg === o || arg.startsWith(`${o}=`));
  return args.filter((arg, i) => !isScript(arg) && !(i > 0 && SCRIPT_OPTIONS.includes(args[i - 1]!)));
}

export class OwnerThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #stopped: Error | null = null;
  /** Settles when the thread has exited (and given the xtables layer up). */
  readonly exited: Promise<void>;

  constructor() {
    this.#worker = new Worker(new URL('./worker.js', import.meta.url), { execArgv: workerExecArgv() });
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => this.#settle(reply));
    this.#worker.on('error', (e) => this.#end(e));
    this.exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#end(new Error(`iptc/async: the owner thread exited (code ${code})`));
        resolve();
      });
    });
  }

  /** Whether the thread has stopped, or is stopping: it takes no more requests. */
  get stopped(): boolean {
    return this.#stopped !== null;
  }

  /** Sends a request; settles with the reply, or the error the owner thread threw (same class and fields). */
  request(request: Request): Promise<unknown> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      try {
        this.#worker.postMessage({ ...request, id } satisfies Envelope);
      } catch (e) {
        reject(new TypeError(`iptc/async: an argument cannot be passed to the owner thread (${(e as Error).message}): pass strings, numbers, bigints, arrays and plain objects`));
        return;
      }
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
    });
  }

  /** Sends a request whose reply nobody waits for (closing what was garbage-collected). */
  post(request: Request): void {
    if (!this.#stopped) this.#worker.postMessage({ ...request, id: 0 } satisfies Envelope);
  }

  /** Closes every handle and ends the thread, after the requests sent before. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      const last = this.request({ op: 'stop' });
      this.#stopped = new Error('iptc/async: the owner thread has been stopped');
      await last.catch(() => undefined);
    }
    // Until it has exited: the caller is waiting for that.
    this.#worker.ref();
    await this.exited;
  }

  #settle(reply: Reply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0 && !this.#stopped) this.#worker.unref();
    if ('error' in reply) pending.reject(errorFromWire(reply.error));
    else pending.resolve(reply.value);
  }

  #end(error: Error): void {
    this.#stopped ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

let current: OwnerThread | null = null;

/** The owner thread, started if there is none. */
export function ownerThread(): OwnerThread {
  if (!current || (current.stopped && !stopping)) current = new OwnerThread();
  return current;
}

let stopping = false;

/**
 * Stops iptc/async's owner thread: waits for the requests already sent, closes every AsyncTable and
 * AsyncIPSet (uncommitted changes are dropped), and resolves once the thread has exited, when the
 * xtables layer is free for another thread (say, the main thread's synchronous API). Calls meanwhile
 * are refused; a later `open()` starts a new owner thread.
 */
export async function shutdown(): Promise<void> {
  const owner = current;
  if (!owner) return;
  stopping = true;
  try {
    await owner.stop();
  } finally {
    stopping = false;
    if (current === owner) current = null;
  }
}
