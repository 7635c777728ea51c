// The netns option: tables and ipsets of another network namespace, made by this test (`ip netns add`
// and `unshare -n`), read back there with the tools of the backend under test (iptables-legacy-save or
// iptables-nft-save) and ipset. The caller's thread never changes namespace, and nothing lands in the
// caller's namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IPSet } from '../src/ipset/index.js';
import { NetnsError, Rule, Table } from '../src/iptc/index.js';
import { cleanFresh, iptcEntry, runFresh } from './fresh-process.js';
import { attempt, BACKEND, resetKernel, rules, run, tools } from './kernel.js';

const NAME = `iptc-test-${process.pid}`;
const NS_A = `/run/netns/${NAME}`;
let holder: ChildProcess;
let NS_B: string;

const mainThreadNetns = () => readlinkSync(`/proc/self/task/${process.pid}/ns/net`);

/** An iptables tool (or another) in a namespace, without `#` lines. */
function inNetns(netns: string, file: string, args: string[] = []): string {
  return run('nsenter', [`--net=${netns}`, file, ...args])
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

beforeAll(async () => {
  run('ip', ['netns', 'add', NAME]);
  // A namespace known only by a process's /proc entry, as a container's is.
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
  NS_B = `/proc/${holder.pid}/ns/net`;
  expect(readlinkSync(NS_B)).not.toBe(own);
});

afterAll(() => {
  holder?.kill();
  attempt('ip', ['netns', 'delete', NAME]);
  cleanFresh();
});

beforeEach(() => {
  resetKernel();
  for (const ns of [NS_A, NS_B]) {
    if (BACKEND === 'nft') attempt('nsenter', [`--net=${ns}`, 'nft', 'flush', 'ruleset']);
    else for (const tool of ['iptables-legacy', 'ip6tables-legacy']) attempt('nsenter', [`--net=${ns}`, tool, '-F']);
    attempt('nsenter', [`--net=${ns}`, 'ipset', 'destroy']);
  }
});

function runAsync(body: string, opts: { newNetns?: boolean } = {}): unknown {
  const entry = iptcEntry();
  const asyncEntry = join(dirname(dirname(entry)), 'async', 'index.js');
  const { status, result, stderr } = runFresh(
    `const A = await import(${JSON.stringify(asyncEntry)});
const NS_A = ${JSON.stringify(NS_A)}, NS_B = ${JSON.stringify(NS_B)};
const { readlinkSync } = await import('node:fs');
const mine = () => readlinkSync('/proc/self/task/' + process.pid + '/ns/net');
${body}`,
    {},
    opts,
  );
  expect(status, stderr).toBe(0);
  return (result as { result: unknown }).result;
}

describe('iptc/async in other namespaces', () => {
  it('tables and ipsets of two namespaces and the caller\'s own, used in turns; the caller never moves', () => {
    const result = runAsync(`
const before = mine();
const seen = new Set();
const a = await A.AsyncTable.open('filter', { netns: NS_A });
const b = await A.AsyncTable.open('filter', { netns: NS_B });
const here = await A.AsyncTable.open('filter');
const sa = await A.AsyncIPSet.open({ netns: NS_A });
const sb = await A.AsyncIPSet.open({ netns: NS_B });
const sHere = await A.AsyncIPSet.open();
// In turns: the owner thread moves between the namespaces on every call.
for (let i = 0; i < 3; i++) {
  await a.chain('INPUT').appendRule('-m comment --comment a' + i + ' -j ACCEPT');
  seen.add(mine());
  await here.chain('OUTPUT').appendRule('-m comment --comment here' + i + ' -j ACCEPT');
  await b.chain('INPUT').appendRule('-m comment --comment b' + i + ' -j ACCEPT');
  seen.add(mine());
}
await sa.create('aset', { stype: 'hash:ip' });
await sa.add('aset', '10.0.0.1');
await sb.create('bset', { stype: 'hash:net' });
await sb.add('bset', '10.1.0.0/16');
await sHere.create('hereset', { stype: 'hash:ip' });
const a6 = await A.AsyncTable6.open('filter', { netns: NS_A });
await a6.chain('INPUT').appendRule('-s 2001:db8::1/128 -j DROP');
return {
  before, after: mine(), seen: [...seen],
  netns: [a.netns, here.netns, sa.netns],
  aRules: (await a.chain('INPUT').rules()).map(String),
  names: [await sa.listNames(), await sb.listNames(), await sHere.listNames()],
};
`) as Record<string, unknown>;
    expect(result.after).toBe(result.before);
    expect(result.seen).toEqual([result.before]);
    expect(result.before).toBe(mainThreadNetns());
    expect(result.netns).toEqual([NS_A, null, NS_A]);
    expect(result.aRules).toEqual(['-m comment --comment a0 -j ACCEPT', '-m comment --comment a1 -j ACCEPT', '-m comment --comment a2 -j ACCEPT']);
    expect(result.names).toEqual([['aset'], ['bset'], ['hereset']]);

    expect(run('ip', ['netns', 'exec', NAME, tools.iptables(), '-S', 'INPUT']).trim().split('\n').slice(1)).toEqual([
      '-A INPUT -m comment --comment a0 -j ACCEPT',
      '-A INPUT -m comment --comment a1 -j ACCEPT',
      '-A INPUT -m comment --comment a2 -j ACCEPT',
    ]);
    expect(inNetns(NS_A, tools.save(6))).toContain('-A INPUT -s 2001:db8::1/128 -j DROP');
    expect(inNetns(NS_B, tools.save())).toMatch(/-A INPUT -m comment --comment b0 -j ACCEPT\n-A INPUT -m comment --comment b1 -j ACCEPT\n-A INPUT -m comment --comment b2 -j ACCEPT/);
    expect(run('ip', ['netns', 'exec', NAME, 'ipset', 'save'])).toMatch(/^add aset 10\.0\.0\.1$/m);
    expect(inNetns(NS_B, 'ipset', ['save'])).toMatch(/^add bset 10\.1\.0\.0\/16$/m);
    // The caller's namespace holds only what was made for it.
    expect(rules('filter', 'INPUT')).toEqual([]);
    expect(rules('filter', 'OUTPUT')).toEqual(['-m comment --comment here0 -j ACCEPT', '-m comment --comment here1 -j ACCEPT', '-m comment --comment here2 -j ACCEPT']);
    expect(rules('filter', 'INPUT', { family: 6 })).toEqual([]);
    expect(run('ipset', ['list', '-name']).trim()).toBe('hereset');
  });

  it('reads the namespace\'s own tables, even when the caller\'s namespace has none', () => {
    run('ip', ['netns', 'exec', NAME, tools.iptables(), '-A', 'FORWARD', '-s', '192.0.2.1', '-j', 'DROP']);
    // The caller runs in a namespace of its own where no table exists yet: a table read from its
    // /proc/net (the main thread's; legacy) or through a socket of the caller's namespace (nft) instead
    // of the owner thread's would come back empty.
    const result = runAsync(
      `
const { readFileSync } = await import('node:fs');
const { execFileSync } = await import('node:child_process');
const a = await A.AsyncTable.open('filter', { netns: NS_A });
const tablesHere = ${JSON.stringify(BACKEND)} === 'nft' ? execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }) : readFileSync('/proc/net/ip_tables_names', 'utf8');
return { forward: (await a.chain('FORWARD').rules()).map(String), tablesHere };
`,
      { newNetns: true },
    ) as Record<string, unknown>;
    expect(result.forward).toEqual(['-s 192.0.2.1/32 -j DROP']);
    // Reading did not create a table in the caller's namespace either.
    expect(result.tablesHere).toBe('');
  });

  it('a namespace that cannot be entered is refused; nothing is done anywhere', () => {
    const result = runAsync(`
const outcome = async (f) => { try { await f(); return 'opened'; } catch (e) { return [e.name, e.code, e.netns]; } };
return {
  missing: await outcome(() => A.AsyncTable.open('filter', { netns: '/run/netns/no-such-namespace' })),
  notNet: await outcome(() => A.AsyncTable.open('filter', { netns: '/proc/self/ns/mnt' })),
  notNs: await outcome(() => A.AsyncIPSet.open({ netns: '/etc/hostname' })),
  relative: await outcome(() => A.AsyncTable.open('filter', { netns: 'run/netns/x' })),
  // The owner thread is back in its own namespace and works on.
  after: await (async () => { const t = await A.AsyncTable.open('filter'); await t.chain('INPUT').appendRule('-j ACCEPT'); return mine(); })(),
};
`) as Record<string, unknown>;
    expect(result.missing).toEqual(['NetnsError', 'ENOENT', '/run/netns/no-such-namespace']);
    expect(result.notNet).toEqual(['NetnsError', 'EINVAL', '/proc/self/ns/mnt']);
    expect(result.notNs).toEqual(['NetnsError', 'EINVAL', '/etc/hostname']);
    expect(result.relative).toEqual(['TypeError', null, null]);
    expect(result.after).toBe(mainThreadNetns());
    expect(rules('filter', 'INPUT')).toEqual(['-j ACCEPT']);
    expect(inNetns(NS_A, tools.save())).not.toContain('-A ');
  });
});

describe('the synchronous API and netns', () => {
  it('IPSet({ netns }) makes its socket in the namespace and works there, synchronously', () => {
    const before = mainThreadNetns();
    const s = new IPSet({ netns: NS_A });
    try {
      s.create('syncset', { stype: 'hash:ip', counters: true });
      s.add('syncset', '192.0.2.7');
      expect(s.test('syncset', '192.0.2.7')).toBe(true);
      expect(s.listNames()).toEqual(['syncset']);
    } finally {
      s.close();
    }
    expect(mainThreadNetns()).toBe(before);
    expect(run('ip', ['netns', 'exec', NAME, 'ipset', 'save'])).toMatch(/^add syncset 192\.0\.2\.7 packets 0 bytes 0$/m);
    expect(run('ipset', ['list', '-name']).trim()).toBe('');
  });

  it('IPSet refuses a namespace it cannot enter with NetnsError', () => {
    const e1 = (() => { try { return new IPSet({ netns: '/run/netns/no-such-namespace' }); } catch (e) { return e; } })();
    expect(e1).toBeInstanceOf(NetnsError);
    expect((e1 as NetnsError).code).toBe('ENOENT');
    const e2 = (() => { try { return new IPSet({ netns: `/proc/${holder.pid}/ns/uts` }); } catch (e) { return e; } })();
    expect(e2).toBeInstanceOf(NetnsError);
    expect((e2 as NetnsError).code).toBe('EINVAL');
  });

  it('a synchronous Table refuses another namespace with NetnsError pointing at iptc/async, and takes its own', () => {
    const e = (() => { try { return new Table('filter', { netns: NS_A }); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(NetnsError);
    expect((e as NetnsError).code).toBe('EOPNOTSUPP');
    expect((e as NetnsError).message).toMatch(/AsyncTable from 'iptc\/async'/);
    // The caller's own namespace, named: it works, as without the option.
    const t = new Table('filter', { netns: '/proc/self/ns/net' });
    t.chain('INPUT').appendRule(Rule.parse('-j ACCEPT'));
    expect(rules('filter', 'INPUT')).toEqual(['-j ACCEPT']);
    expect(inNetns(NS_A, tools.save())).not.toContain('-A ');
  });
});
