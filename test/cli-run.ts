// Runs the `iptc` command (bin/iptc.js over the built dist) as users do, and returns what it printed.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', 'bin', 'iptc.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function iptc(args: string[], input?: string, env?: Record<string, string>): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, timeout: 30_000, env: env && { ...process.env, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a long-running iptc command (export, counters --watch). */
export function iptcSpawn(args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

let readable: string | undefined;

/**
 * The package's runnable files (package.json, bin, dist, prebuilds, koffi) copied into a new directory
 * that every user may read. A process that drops to another user must still load the code: a checkout
 * under a private directory (root's home, `mktemp -d`) is closed to that user, whatever the tables say.
 */
export function readablePackage(): string {
  if (readable) return readable;
  const root = join(import.meta.dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'iptc-readable-'));
  chmodSync(dir, 0o755);
  for (const part of ['package.json', 'bin', 'dist', 'prebuilds', 'node_modules/koffi', 'node_modules/@koromix']) {
    if (existsSync(join(root, part))) cpSync(join(root, part), join(dir, part), { recursive: true });
  }
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  readable = dir;
  return dir;
}

/** `bin/iptc.js` in {@link readablePackage}. */
export function readableBin(): string {
  return join(readablePackage(), 'bin', 'iptc.js');
}
