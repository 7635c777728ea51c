// iptc/async on the nf_tables backend: the owner thread opens tables on the backend the caller chose
// (its option, or the caller's Table.defaultBackend / IPTC_BACKEND), also in another network namespace;
// read back with iptables-nft-save in the namespace the table belongs to. Each case runs in a fresh
// Node process (which thread owns the xtables layer is per process).
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanFresh, iptcEntry, runFresh } from './fresh-process.js';
import { liveTables, run } from './kernel.js';
import { freshNftEachTest, savedRules } from './nft-kernel.js';

freshNftEachTest();
let holder: ChildProcess;
let OTHER: string;

beforeAll(async () => {
  holder = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
  const own = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 500; i++) {
    try {
      if (readlinkSync(`/proc/${holder.pid}/ns/net`) !== own) break;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  OTHER = `/proc/${holder.pid}/ns/net`;
  expect(readlinkSync(OTHER)).not.toBe(own);
});

afterAll(() => {
  holder?.kill();
  cleanFresh();
});

function runAsync(body: string, env: Record<string, string> = {}): unknown {
  const entry = iptcEntry();
  const asyncEntry = join(dirname(dirname(entry)), 'async', 'index.js');
  const { status, result, stderr } = runFresh(`const A = await import(${JSON.stringify(asyncEntry)});\n${body}`, env);
  expect(status, stderr).toBe(0);
  return (result as { result: unknown }).result;
}

const otherSave = () => run('nsenter', [`--net=${OTHER}`, 'iptables-nft-save', '-t', 'filter']).split('\n').filter((l) => l.startsWith('-A'));

describe('iptc/async on nft', () => {
  it('opens, changes, reads and commits nf_tables tables; the caller\'s default backend is honoured', () => {
    const legacyBefore = [liveTables(4), liveTables(6)];
    const result = runAsync(`
const t = await A.AsyncTable.open('filter', { backend: 'nft' });
const web = await t.createChain('web');
await web.appendRule('-p tcp --dport 80 -m comment --comment "plain http" -j ACCEPT');
await web.appendRule({ protocol: 'udp', udp: { dport: '53' }, target: 'ACCEPT' });
await web.insertRule('-s 10.0.0.0/8 -j RETURN', 0);
await t.chain('INPUT').appendRule('-j web');
const read = await web.rules();
await web.deleteRule(read[1]);
// Without autocommit: nothing reaches the kernel before commit().
const nat = await A.AsyncTable.open('nat', { backend: 'nft', autocommit: false });
await nat.chain('POSTROUTING').appendRule('-o eth0 -j MASQUERADE');
const before = (await nat.save()).includes('MASQUERADE');
const v6 = await A.AsyncTable6.open('filter', { backend: 'nft' });
await v6.chain('INPUT').appendRule('-p tcp --dport 22 -j ACCEPT');
await nat.commit();
// The default: the caller's Table.defaultBackend, whatever the owner thread's environment says.
iptc.Table.defaultBackend = 'nft';
const byDefault = await A.AsyncTable.open('filter');
const legacy = await A.AsyncTable.open('filter', { backend: 'legacy' });
return {
  backends: [t.backend, nat.backend, v6.backend, byDefault.backend, legacy.backend],
  read: read.map((r) => r.spec),
  before,
  defaultSees: (await byDefault.chain('web').rules()).map((r) => r.spec),
};
`);
    expect(result).toEqual({
      backends: ['nft', 'nft', 'nft', 'nft', 'legacy'],
      read: ['-s 10.0.0.0/8 -j RETURN', '-p tcp -m tcp --dport 80 -m comment --comment "plain http" -j ACCEPT', '-p udp -m udp --dport 53 -j ACCEPT'],
      before: true,
      defaultSees: ['-s 10.0.0.0/8 -j RETURN', '-p udp -m udp --dport 53 -j ACCEPT'],
    });
    expect(savedRules('filter').get('web')).toEqual(['-s 10.0.0.0/8 -j RETURN', '-p udp -m udp --dport 53 -j ACCEPT']);
    expect(savedRules('filter').get('INPUT')).toEqual(['-j web']);
    expect(savedRules('nat').get('POSTROUTING')).toEqual(['-o eth0 -j MASQUERADE']);
    expect(savedRules('filter', 6).get('INPUT')).toEqual(['-p tcp -m tcp --dport 22 -j ACCEPT']);
    // The legacy table opened last was only read: no legacy table was made by the nft ones.
    expect([liveTables(4), liveTables(6)].map((l) => l.filter((t) => t !== 'filter'))).toEqual(legacyBefore.map((l) => l.filter((t) => t !== 'filter')));
  });

  it('IPTC_BACKEND=nft of the caller\'s process is honoured by the owner thread', () => {
    const result = runAsync(`
const t = await A.AsyncTable.open('filter');
await t.chain('OUTPUT').appendRule('-d 192.0.2.1/32 -j DROP');
return t.backend;
`, { IPTC_BACKEND: 'nft' });
    expect(result).toBe('nft');
    expect(savedRules('filter').get('OUTPUT')).toEqual(['-d 192.0.2.1/32 -j DROP']);
  });

  it('works in another network namespace, and in its own, turn by turn: each table talks to its own namespace', () => {
    run('nsenter', [`--net=${OTHER}`, 'nft', 'flush', 'ruleset']);
    const result = runAsync(`
const mine = await A.AsyncTable.open('filter', { backend: 'nft' });
const there = await A.AsyncTable.open('filter', { backend: 'nft', netns: ${JSON.stringify(OTHER)} });
await there.chain('INPUT').appendRule('-s 10.1.0.0/16 -j DROP');
await mine.chain('INPUT').appendRule('-s 10.2.0.0/16 -j DROP');
await there.chain('INPUT').appendRule('-s 10.3.0.0/16 -j DROP');
const again = await A.AsyncTable.open('filter', { backend: 'nft' });
await again.chain('INPUT').appendRule('-s 10.4.0.0/16 -j DROP');
return [(await there.chain('INPUT').rules()).map((r) => r.spec), (await mine.chain('INPUT').rules()).map((r) => r.spec)];
`);
    expect(result).toEqual([
      ['-s 10.1.0.0/16 -j DROP', '-s 10.3.0.0/16 -j DROP'],
      ['-s 10.2.0.0/16 -j DROP', '-s 10.4.0.0/16 -j DROP'],
    ]);
    expect(otherSave()).toEqual(['-A INPUT -s 10.1.0.0/16 -j DROP', '-A INPUT -s 10.3.0.0/16 -j DROP']);
    expect(savedRules('filter').get('INPUT')).toEqual(['-s 10.2.0.0/16 -j DROP', '-s 10.4.0.0/16 -j DROP']);
  });
});
