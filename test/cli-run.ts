// Runs the `iptc` command (bin/iptc.js over the built dist) as users do, and returns what it printed.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', 'bin', 'iptc.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function iptc(args: string[], input?: string): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a long-running iptc command (export, counters --watch). */
export function iptcSpawn(args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}
