/**
 * `iptc/testing`: run code inside a fresh private network namespace, so that tests of firewall code
 * never touch the host's rules, sets or interfaces. Each call starts a child Node.js process under
 * `unshare --net` (a namespace with only `lo`, up, empty tables and no ipsets), runs the given module
 * export or function there and returns its result. Needs root (CAP_SYS_ADMIN) and util-linux `unshare`.
 *
 * ```ts no-run
 * import { inNetns } from 'iptc/testing';
 *
 * const saved = await inNetns(({ iptc }) => {
 *   const filter = new iptc.Table('filter');
 *   // ... the code under test ...
 *   return filter.save();
 * });
 * ```
 *
 * @module
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as EasyModule from '../easy/index.js';
import type * as IptcModule from '../iptc/index.js';
import type * as IPSetModule from '../ipset/index.js';
import { checkBackendChoice } from '../iptc/backend-choice.js';
import type { BackendChoice } from '../iptc/table-backend.js';
import { decode, encode, RESULT_FD, type Job, type Outcome } from './protocol.js';

/** How inNetns() runs its child process. */
export interface NetnsOptions {
  /** Milliseconds before the child is killed and the call fails (default 30,000). */
  timeout?: number;
  /** Extra environment variables for the child. */
  env?: Record<string, string>;
  /** Working directory of the child (default: the current one). */
  cwd?: string;
  /**
   * The backend every Table (iptc/easy, iptc/async) in the child uses unless told otherwise: its
   * IPTC_BACKEND. Default: the child inherits this process's IPTC_BACKEND (or `env`'s).
   */
  backend?: BackendChoice;
}

/** What a function run by inNetns() receives first: the library's modules and two helpers. */
export interface NetnsContext {
  /** `iptc` */
  iptc: typeof IptcModule;
  /** `iptc/ipset` */
  ipset: typeof IPSetModule;
  /** `iptc/easy` */
  easy: typeof EasyModule;
  /** A CommonJS require, e.g. for node: built-ins (`require('node:net')`). */
  require: NodeJS.Require;
  /** Runs a program inside the namespace and returns its stdout (throws on a non-zero exit). */
  run(file: string, args?: string[]): string;
}

/** The error thrown when the code in the namespace threw: same name, message, code and errno. */
export class NetnsError extends Error {
  /** The name of the error the child threw (`IPTCError`, `TypeError`, ...). */
  override readonly name: string;
  /** The `code` of the error the child threw, if any (`ENOENT`, ...). */
  readonly code: unknown;
  /** The `errno` of the error the child threw, if any. */
  readonly errno: unknown;
  /** The stack inside the child process. */
  readonly childStack: string | undefined;

  /** The error the child reported, as it crossed back. */
  constructor(error: { name: string; message: string; stack?: string; code?: unknown; errno?: unknown }) {
    super(error.message);
    this.name = error.name;
    this.code = error.code;
    this.errno = error.errno;
    this.childStack = error.stack;
  }
}

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

function specifierOf(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (/^[a-z]+:/i.test(module)) return module;
  // Paths are taken relative to the current directory; anything else is a package name.
  if (module.startsWith('.') || isAbsolute(module)) return pathToFileURL(resolve(module)).href;
  return module;
}

interface Prepared {
  argv: string[];
  options: SpawnOptions;
  input: string;
  cleanup(): void;
}

function prepare(job: Job, options: NetnsOptions): Prepared {
  const backend = options.backend === undefined ? undefined : checkBackendChoice(options.backend, 'backend');
  const lockDir = mkdtempSync(join(tmpdir(), 'iptc-testing-'));
  const env = {
    ...process.env,
    ...options.env,
    ...(backend === undefined ? {} : { IPTC_BACKEND: backend }),
    IPTC_TESTING_PARENT_NETNS: readlinkSync('/proc/self/ns/net'),
    IPTC_HOST_NETNS: process.env.IPTC_HOST_NETNS ?? readlinkSync('/proc/self/ns/net'),
    // A private xtables lock: the child never waits for (or blocks) the host's iptables.
    XTABLES_LOCKFILE: join(lockDir, 'xtables.lock'),
  };
  return {
    argv: ['--net', '--', process.execPath, CHILD],
    options: { env, cwd: options.cwd ?? process.cwd(), stdio: ['pipe', 'inherit', 'inherit', 'pipe'] },
    input: encode(job),
    cleanup: () => rmSync(lockDir, { recursive: true, force: true }),
  };
}

function settle<T>(resultText: string, status: number | null, signal: string | null, stderrHint: string): T {
  if (resultText.trim() === '') {
    const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
    throw new Error(`the namespace child ${how} without a result${stderrHint}`);
  }
  const outcome = decode<Outcome>(resultText);
  if (!outcome.ok) throw new NetnsError(outcome.error);
  return outcome.value as T;
}

function unshareHint(status: number | null): string {
  return status === 1 && process.getuid?.() !== 0 ? ' (creating a network namespace needs root)' : '';
}

function runJob<T>(job: Job, options: NetnsOptions): Promise<T> {
  let p: Prepared;
  try {
    p = prepare(job, options);
  } catch (e) {
    // Bad options reject, as everything else this call can fail with.
    return Promise.reject(e as Error);
  }
  return new Promise<T>((resolvePromise, reject) => {
    const child = spawn('unshare', p.argv, p.options);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 30_000);
    (child.stdio[RESULT_FD] as NodeJS.ReadableStream).on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      p.cleanup();
      reject(new Error(`cannot start unshare: ${e.message} (install util-linux)`));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      p.cleanup();
      try {
        resolvePromise(settle<T>(Buffer.concat(chunks).toString('utf8'), status, signal, unshareHint(status)));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin!.end(p.input);
  });
}

function runJobSync<T>(job: Job, options: NetnsOptions): T {
  const p = prepare(job, options);
  try {
    const child = spawnSync('unshare', p.argv, { ...p.options, input: p.input, timeout: options.timeout ?? 30_000 } as Parameters<typeof spawnSync>[2]);
    if (child.error && (child.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('cannot start unshare (install util-linux)');
    }
    const out = child.output[RESULT_FD] as Buffer | string | null | undefined;
    return settle<T>(out ? out.toString() : '', child.status, child.signal, unshareHint(child.status));
  } finally {
    p.cleanup();
  }
}

/**
 * Runs `module`'s export `exportName` (default `'default'`) with `args` in a fresh network namespace
 * and resolves to its (awaited) result. `module` is a path (relative to the current directory), a
 * `file:` URL (e.g. `new URL('./firewall.js', import.meta.url)`) or a package name. Arguments and
 * result travel as structured clones: bigints, Maps, Sets and Dates are fine, functions are not.
 * An error thrown there is thrown here as a NetnsError with the same name, message, code and errno.
 */
export function runInNetns<T = unknown>(module: string | URL, exportName = 'default', args: unknown[] = [], options: NetnsOptions = {}): Promise<T> {
  return runJob<T>({ kind: 'module', specifier: specifierOf(module), exportName, args }, options);
}

/** runInNetns(), blocking until the child is done. */
export function runInNetnsSync<T = unknown>(module: string | URL, exportName = 'default', args: unknown[] = [], options: NetnsOptions = {}): T {
  return runJobSync<T>({ kind: 'module', specifier: specifierOf(module), exportName, args }, options);
}

/**
 * Runs a function in a fresh network namespace. The function travels as its source text, so it cannot
 * use variables or imports from around it: it receives the library's modules in its first argument
 * (`{ iptc, ipset, easy, require, run }`) and `args` after it.
 *
 * ```ts no-run
 * const rules = await inNetns(({ iptc }, port: number) => {
 *   const r = iptc.Rule.parse(`-p tcp --dport ${port} -j ACCEPT`);
 *   new iptc.Table('filter').chain('INPUT').appendRule(r);
 *   return new iptc.Table('filter').save();
 * }, [8080]);
 * ```
 */
export function inNetns<T, A extends unknown[] = []>(
  fn: (context: NetnsContext, ...args: A) => T | Promise<T>,
  args?: A,
  options: NetnsOptions = {},
): Promise<Awaited<T>> {
  return runJob<Awaited<T>>({ kind: 'function', source: fn.toString(), args: args ?? [] }, options);
}

/** inNetns(), blocking until the child is done. */
export function inNetnsSync<T, A extends unknown[] = []>(
  fn: (context: NetnsContext, ...args: A) => T | Promise<T>,
  args?: A,
  options: NetnsOptions = {},
): Awaited<T> {
  return runJobSync<Awaited<T>>({ kind: 'function', source: fn.toString(), args: args ?? [] }, options);
}

/**
 * Whether this process can create network namespaces (root and util-linux present): use it to skip
 * namespace tests elsewhere, e.g. `it.skipIf(!canCreateNetns())`.
 */
export function canCreateNetns(): boolean {
  const r = spawnSync('unshare', ['--net', '--', 'true'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}
