// iptc/async and the backend choice: the owner thread opens tables on the backend the caller chose (its
// option, or the caller's Table.defaultBackend, whatever the owner thread's environment says), both
// backends in one process, and the nft tables make no legacy table. Read back with iptables-nft-save.
// What iptc/async does on each backend is tested by test/async.test.ts and test/netns.test.ts, which run
// on both. Each case runs in a fresh Node process (which thread owns the xtables layer is per process).
import { dirname, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanFresh, iptcEntry, runFresh } from './fresh-process.js';
import { legacyTables, resetKernel } from './kernel.js';
import { freshNftEachTest, savedRules } from './nft-kernel.js';

freshNftEachTest();
// The legacy tables too: the legacy table read below holds only its builtin chains.
beforeEach(() => resetKernel());
afterAll(() => cleanFresh());

function runAsync(body: string, env: Record<string, string> = {}): unknown {
  const entry = iptcEntry();
  const asyncEntry = join(dirname(dirname(entry)), 'async', 'index.js');
  const { status, result, stderr } = runFresh(`const A = await import(${JSON.stringify(asyncEntry)});\n${body}`, env);
  expect(status, stderr).toBe(0);
  return (result as { result: unknown }).result;
}

describe('iptc/async and the backend choice', () => {
  it('the backend option, else the caller\'s Table.defaultBackend, chooses; both backends in one process; no legacy table is made', () => {
    const legacyBefore = [legacyTables(4), legacyTables(6)];
    // The owner thread's environment says legacy: the caller's choices win.
    const result = runAsync(`
const t = await A.AsyncTable.open('filter', { backend: 'nft' });
await t.createChain('web');
await t.chain('web').appendRule('-p tcp --dport 80 -j ACCEPT');
await t.chain('INPUT').appendRule('-j web');
const nat = await A.AsyncTable.open('nat', { backend: 'nft', autocommit: false });
await nat.chain('POSTROUTING').appendRule('-o eth0 -j MASQUERADE');
await nat.commit();
const v6 = await A.AsyncTable6.open('filter', { backend: 'nft' });
await v6.chain('INPUT').appendRule('-p tcp --dport 22 -j ACCEPT');
iptc.Table.defaultBackend = 'nft';
const byDefault = await A.AsyncTable.open('filter');
const legacy = await A.AsyncTable.open('filter', { backend: 'legacy' });
return {
  backends: [t.backend, nat.backend, v6.backend, byDefault.backend, legacy.backend],
  defaultSees: (await byDefault.chain('web').rules()).map((r) => r.spec),
  legacySees: (await legacy.chains()).map((c) => c.name),
};
`, { IPTC_BACKEND: 'legacy' });
    expect(result).toEqual({
      backends: ['nft', 'nft', 'nft', 'nft', 'legacy'],
      defaultSees: ['-p tcp -m tcp --dport 80 -j ACCEPT'],
      legacySees: ['INPUT', 'FORWARD', 'OUTPUT'],
    });
    expect(savedRules('filter').get('web')).toEqual(['-p tcp -m tcp --dport 80 -j ACCEPT']);
    expect(savedRules('filter').get('INPUT')).toEqual(['-j web']);
    expect(savedRules('nat').get('POSTROUTING')).toEqual(['-o eth0 -j MASQUERADE']);
    expect(savedRules('filter', 6).get('INPUT')).toEqual(['-p tcp -m tcp --dport 22 -j ACCEPT']);
    // The legacy filter table opened last was only read: the nft tables made no legacy table.
    expect([legacyTables(4), legacyTables(6)].map((l) => l.filter((t) => t !== 'filter'))).toEqual(legacyBefore.map((l) => l.filter((t) => t !== 'filter')));
  });

  it('the caller\'s IPTC_BACKEND=nft is honoured by the owner thread', () => {
    const result = runAsync(`
const t = await A.AsyncTable.open('filter');
await t.chain('OUTPUT').appendRule('-d 192.0.2.1/32 -j DROP');
return t.backend;
`, { IPTC_BACKEND: 'nft' });
    expect(result).toBe('nft');
    expect(savedRules('filter').get('OUTPUT')).toEqual(['-d 192.0.2.1/32 -j DROP']);
  });
});
