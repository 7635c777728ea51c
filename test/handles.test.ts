// Kernel handles (issue 12, item 5): a table with pending changes holds a libiptc handle, which owns a
// raw socket. close() and `using` release it at once; a table dropped without either releases it when
// the garbage collector takes it. Counted as open file descriptors.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { cleanFresh, iptcEntry } from './fresh-process.js';
import { resetKernel, rules } from './kernel.js';
import { openFds } from './stress.js';

beforeEach(() => {
  resetKernel();
});

afterAll(() => cleanFresh());

describe('kernel handles', () => {
  it('close() and `using` release a table\'s handle at once', () => {
    const before = openFds();
    let kept: Table;
    {
      using t = new Table('filter', { autocommit: false });
      kept = t;
      t.chain('INPUT').appendRule(Rule.parse('-j ACCEPT'));
      expect(openFds()).toBeGreaterThan(before);
    }
    expect(openFds()).toBe(before);
    expect(() => kept.chain('INPUT')).toThrow(/closed/);
    const t6 = new Table6('filter', { autocommit: false });
    t6.chain('INPUT').appendRule(Rule6.parse('-j ACCEPT'));
    t6.close();
    t6.close();
    expect(openFds()).toBe(before);
    expect(rules('filter', 'INPUT')).toEqual([]);
  });

  it('tables dropped without close() release their handles when collected (node --expose-gc)', () => {
    const code = `
const iptc = await import(${JSON.stringify(iptcEntry())});
const { readdirSync } = await import('node:fs');
const fds = () => readdirSync('/proc/self/fd').length;
const settle = async () => {
  for (let i = 0; i < 10; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 10));
  }
};
const make = (T, R) => {
  const t = new T('filter', { autocommit: false });
  t.chain('INPUT').appendRule(R.parse('-j ACCEPT'));
  return t;
};
// Libraries and their descriptors are loaded by the first table of each family.
make(iptc.Table, iptc.Rule).close();
make(iptc.Table6, iptc.Rule6).close();
await settle();
const before = fds();
let held = 0;
(() => {
  const tables = [];
  for (let i = 0; i < 300; i++) tables.push(make(i % 2 ? iptc.Table6 : iptc.Table, i % 2 ? iptc.Rule6 : iptc.Rule));
  held = fds();
})();
await settle();
process.stdout.write(JSON.stringify({ before, held, after: fds() }) + '\\n');
`;
    const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const { before, held, after } = JSON.parse(child.stdout.trim().split('\n').pop()!) as { before: number; held: number; after: number };
    // Each table with pending changes holds a socket: the test sees them, then sees them go.
    expect(held - before).toBeGreaterThanOrEqual(300);
    expect(after - before).toBeLessThan(5);
    expect(rules('filter', 'INPUT')).toEqual([]);
  });
});
