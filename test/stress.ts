// Shared by the reliability suites (concurrency, fuzz, soak, threads): the profile (a short one for
// `npm test`, the full one for `npm run stress`, which sets IPTC_STRESS=1), a seeded PRNG so that any
// failure reproduces, child processes running this checkout's sources asynchronously, and process
// figures (RSS, open descriptors).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { iptcEntry } from './fresh-process.js';
import { run } from './kernel.js';

/** True under `npm run stress`: the full counts of issue 6. */
export const LONG = process.env.IPTC_STRESS === '1';

/** The short-profile value in `npm test`, the long one under `npm run stress`. */
export function profile<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/** The seed of a suite's PRNG: IPTC_SEED when given (to replay a failure), else a fixed one. */
export function seedOf(fallback: number): number {
  const env = process.env.IPTC_SEED;
  return env !== undefined && /^\d+$/.test(env) ? Number(env) : fallback;
}

/** mulberry32: small, fast and good enough to generate test inputs; the same seed gives the same run. */
export class Prng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/**
 * A full garbage collection, so that RSS figures show what is still in use rather than when V8 last
 * felt like collecting (the test runner does not start node with --expose-gc; this enables it).
 */
export function fullGc(): void {
  collect();
}

/** Resident set size of this process, in MiB. */
export function rssMiB(): number {
  return Math.round((process.memoryUsage().rss / 1048576) * 10) / 10;
}

/** How many file descriptors this process has open (/proc/self/fd). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Everything the kernel holds in this namespace: both families' tables and every set. */
export function kernelState(): string {
  return [
    run('iptables-legacy-save', []),
    run('ip6tables-legacy-save', []),
    run('ipset', ['save']),
  ]
    .join('\n')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n');
}

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  /** The JSON the body returned (the last stdout line), or undefined. */
  result: unknown;
  stderr: string;
}

/**
 * Runs `body` (an async function body; `iptc` is this checkout's iptc module) in a new Node process,
 * without blocking this one, so that several run at once. The body's return value comes back as JSON.
 */
export function spawnIptc(body: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<ChildResult> {
  const entry = iptcEntry();
  const code = `
const iptc = await import(${JSON.stringify(entry)});
const result = await (async () => { ${body} })();
process.stdout.write('\\n' + JSON.stringify(result) + '\\n');
`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status, signal) => {
      const lines = stdout.trim().split('\n');
      let result: unknown;
      try {
        result = JSON.parse(lines[lines.length - 1] ?? '');
      } catch {
        result = undefined;
      }
      resolve({ status, signal, result, stderr });
    });
  });
}
