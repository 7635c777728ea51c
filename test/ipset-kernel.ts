// ipset-specific helpers for the kernel tests: the `ipset` CLI is the oracle.
import { afterAll, beforeEach } from 'vitest';
import { IPSet } from '../src/ipset/index.js';
import { attempt, resetKernel, run } from './kernel.js';

/** `ipset ARGS`. */
export function ipsetCli(...args: string[]): string {
  return run('ipset', args);
}

/** `ipset ARGS` without throwing: { status, stdout, stderr }. */
export function ipsetTry(...args: string[]) {
  return attempt('ipset', args);
}

/** Empties the iptables tables (rules may reference sets) and destroys every set of the namespace. */
export function destroyAllSets(): void {
  // Flushing first empties list:set sets, which would otherwise keep their members referenced.
  run('ipset', ['flush']);
  resetKernel();
}

/** `ipset save [NAME]` text. */
export function cliSave(name?: string): string {
  return run('ipset', name ? ['save', name] : ['save']);
}

/** The `add` lines of `ipset save NAME` without the `add NAME ` prefix, sorted. */
export function members(name: string): string[] {
  const prefix = `add ${name} `;
  return cliSave(name)
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length))
    .sort();
}

/** The `create` line of a set, without `create NAME ` and without the random `initval` (from `ipset list -t`). */
export function createLine(name: string): string {
  const out = run('ipset', ['list', '-t', name]);
  const type = /^Type: (.*)$/m.exec(out)?.[1] ?? '';
  const header = /^Header: (.*)$/m.exec(out)?.[1] ?? '';
  return `${type} ${header}`.replace(/ initval 0x[0-9a-f]+/, '');
}

/** Set names, as `ipset list -n` prints them. */
export function setNames(): string[] {
  return run('ipset', ['list', '-n']).split('\n').filter(Boolean).sort();
}

/** Feeds text to `ipset restore`. */
export function cliRestore(text: string, exist = false): void {
  run('ipset', exist ? ['restore', '-exist'] : ['restore'], text);
}

/** Removes timeouts that tick while a test runs (`timeout 299` vs `timeout 300`). */
export function stripTimeouts(lines: string[]): string[] {
  return lines.map((l) => l.replace(/ timeout \d+/, ' timeout N'));
}

/**
 * One IPSet socket for a test file: every set is destroyed before each test, and after the file the
 * socket is closed and the sets destroyed. Call at the top level of a test file.
 */
export function ipsetForFile(): IPSet {
  const ipset = new IPSet();
  afterAll(() => {
    ipset.close();
    destroyAllSets();
  });
  beforeEach(() => destroyAllSets());
  return ipset;
}
