// The seed experiments in their short (CI) form: they run against the real kernel and report what
// docs/experiments.md shows.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { resetKernel } from './kernel.js';

const examples = join(import.meta.dirname, '..', 'examples');
const runExample = (file: string) =>
  execFileSync(process.execPath, [join(examples, file), '--short'], { encoding: 'utf8', timeout: 60_000 });

beforeEach(() => resetKernel());

describe('Fun with IPSet and IPTables (short)', () => {
  it('measures no filtering, 1,600 rules and one set with 8 rules', () => {
    const out = runExample('fun-with-ipset.mjs');
    const rows = out.split('\n').filter((l) => /^│ \d /.test(l)).map((l) => l.split('│').map((c) => c.trim().replace(/'/g, '')));
    expect(rows.map((r) => [r[2], r[3]])).toEqual([
      ['no filtering', '0'],
      ['1,600 rules', '1602'],
      ['1 set + 8 rules', '9'],
    ]);
    for (const r of rows) {
      expect(Number(r[5])).toBeGreaterThan(0); // req/s
      expect(Number(r[6])).toBeGreaterThan(0); // p50
      expect(Number(r[8])).toBeGreaterThanOrEqual(Number(r[6])); // p99 >= p50
    }
  });
});

describe('Using ipset the wrong way (short)', () => {
  it('stores, replaces, expires and deletes values; IPv6 stores 4 times as much per entry', async () => {
    const out = runExample('ipset-kv.mjs');
    expect(out).toContain('get greeting -> "Hello from the kernel! ¡Hola! こんにちは"');
    expect(out).toContain('get greeting -> "replaced atomically"');
    expect(out).toContain('nine NUL bytes round-trip: true');
    expect(out).toContain('get session -> "expires soon"');
    expect(out).toContain('after 2.1 s: get session -> undefined');
    expect(out).toContain('delete greeting -> true; get greeting -> undefined');
    const entries = (family: string) => Number(new RegExp(`'${family}' +│ \\d+ +│ (\\d+)`).exec(out)![1]);
    expect(entries('IPv4')).toBe(1 + Math.ceil(1140 / 4));
    expect(entries('IPv6')).toBe(1 + Math.ceil(1140 / 16));
    expect(out.match(/│ true +│/g)).toHaveLength(2);
    // The store cleans up after itself.
    const { IpsetKV } = (await import(join(examples, 'ipset-kv.mjs'))) as { IpsetKV: new () => { keys(): string[] } };
    expect(new IpsetKV().keys()).toEqual([]);
  });
});
