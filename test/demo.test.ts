// `npm run demo` in CI: the demo runs (in this test's private namespace), its traffic crosses the veth
// pair, and the counters it prints show each rule matching what it should.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resetKernel } from './kernel.js';

let out: string;

beforeAll(() => {
  resetKernel();
  const started = Date.now();
  out = execFileSync(process.execPath, [join(import.meta.dirname, '..', 'examples', 'demo.mjs')], { encoding: 'utf8', timeout: 30_000 });
  expect(Date.now() - started).toBeLessThan(15_000);
});

/** The packets counter of a rule in the demo's counters table, found by its comment. */
function packets(comment: string): number {
  const row = out.split('\n').find((l) => l.includes(`'${comment}'`) && /\d+n/.test(l));
  expect(row, comment).toBeDefined();
  return Number(/│ (\d+)n +│/.exec(row!)![1]);
}

describe('npm run demo', () => {
  it('the client in the other namespace gets answers only where the firewall allows', () => {
    expect(out.match(/answered "hello from the firewalled side"/g)).toHaveLength(3);
    expect(out).toMatch(/tcp :8080 from 10.200.0.66 \(blocklisted\)' +│ 'no answer \(dropped\)'/);
    expect(out).toMatch(/tcp :22 from 10.200.0.2' +│ 'no answer \(dropped\)'/);
    expect(out).toContain('The UDP service here received 4 datagrams.');
  });

  it('prints per-rule counters that show what matched', () => {
    expect(packets('new web connections')).toBe(3);
    expect(packets('web: clients on the veth')).toBe(3);
    expect(packets('blocklist (ipset)')).toBeGreaterThanOrEqual(1);
    expect(packets('udp 5353')).toBe(4);
    expect(packets('everything else from the veth')).toBeGreaterThanOrEqual(1);
    expect(packets('IPv6: drop udp 5353')).toBe(2);
    expect(packets('replies and established flows')).toBeGreaterThan(3);
    expect(out).toMatch(/'10\.200\.0\.66' +│ [1-9]\d*n/);
    expect(out).toContain('-A INPUT -i veth-fw -m set --match-set blocklist src -m comment --comment "blocklist (ipset)" -j DROP');
  });
});
