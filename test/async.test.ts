// iptc/async: the object model with promises, worked on by one owner thread. Each case runs in a fresh
// Node process (which thread owns the xtables layer is per process) on the transpiled sources, and the
// kernel is read back with the tools of the backend under test (iptables-legacy-save or iptables-nft-save;
// $IPTC_BACKEND, which the fresh processes inherit) and ipset in the test's namespace.
import { dirname, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanFresh, iptcEntry, runFresh } from './fresh-process.js';
import { attempt, BACKEND, resetKernel, rules, run, save, tools } from './kernel.js';

beforeEach(() => resetKernel());
afterAll(() => cleanFresh());

/** Runs `body` in a fresh process with `iptc` and `A` (iptc/async) imported; returns what it returned. */
function runAsync(body: string): unknown {
  const entry = iptcEntry();
  const asyncEntry = join(dirname(dirname(entry)), 'async', 'index.js');
  const { status, result, stderr } = runFresh(`const A = await import(${JSON.stringify(asyncEntry)});\n${body}`);
  expect(status, stderr).toBe(0);
  return (result as { result: unknown }).result;
}

describe('the object model', () => {
  it('tables, chains and rules (specs, words, dictionaries, snapshots) reach the kernel as with the sync API', () => {
    const result = runAsync(`
const t = await A.AsyncTable.open('filter');
const web = await t.createChain('web');
await web.appendRule('-p tcp --dport 80 -m comment --comment "plain http" -j ACCEPT');
await web.appendRule(['-p', 'tcp', '--dport', '443', '-j', 'ACCEPT']);
await web.appendRule({ protocol: 'udp', udp: { dport: '53' }, target: 'ACCEPT' });
await web.insertRule('-s 10.0.0.0/8 -j RETURN', 0);
await web.replaceRule('-s 10.9.0.0/16 -j RETURN', 0);
await t.chain('INPUT').appendRule('-j web');
const read = await web.rules();
await web.deleteRule(read[2]);
await web.deleteRuleAt(0);
await t.chain('FORWARD').setPolicy('DROP');
return {
  read: read.map((r) => [r.chain, r.position, r.spec, String(r)]),
  chains: (await t.chains()).map((c) => c.name),
  isChain: [await t.isChain('web'), await t.isChain('nope')],
  builtin: [await t.builtinChain('INPUT'), await web.isBuiltin()],
  policy: [String(await t.chain('FORWARD').getPolicy()), await web.getPolicy()],
  counters: [await t.chain('INPUT').getCounters(), await web.getCounters()],
  saved: await t.save(),
};
`) as Record<string, unknown>;
    expect(result.read).toEqual([
      ['web', 0, '-s 10.9.0.0/16 -j RETURN', '-s 10.9.0.0/16 -j RETURN'],
      ['web', 1, '-p tcp -m tcp --dport 80 -m comment --comment "plain http" -j ACCEPT', '-p tcp -m tcp --dport 80 -m comment --comment "plain http" -j ACCEPT'],
      ['web', 2, '-p tcp -m tcp --dport 443 -j ACCEPT', '-p tcp -m tcp --dport 443 -j ACCEPT'],
      ['web', 3, '-p udp -m udp --dport 53 -j ACCEPT', '-p udp -m udp --dport 53 -j ACCEPT'],
    ]);
    expect(result.chains).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'web']);
    expect(result.isChain).toEqual([true, false]);
    expect(result.builtin).toEqual([true, false]);
    expect(result.policy).toEqual(['DROP', null]);
    expect(result.counters).toEqual([{ packets: '0', bytes: '0' }, null]);
    const kernel = rules('filter', 'web');
    expect(kernel).toEqual(['-p tcp -m tcp --dport 80 -m comment --comment "plain http" -j ACCEPT', '-p udp -m udp --dport 53 -j ACCEPT']);
    expect(rules('filter', 'INPUT')).toEqual(['-j web']);
    expect(save('filter')).toContain(':FORWARD DROP');
    // save() is iptables-legacy-save's (or iptables-nft-save's) text without its comment lines.
    expect(result.saved).toBe(save('filter').replace(/\n+$/, '\n'));
  });

  it('counters read back as bigints; zeroCounters and zeroEntries clear them', () => {
    const result = runAsync(`
const t = await A.AsyncTable.open('filter');
await t.restore('*filter\\n:INPUT ACCEPT [3:4]\\n[7:700] -A INPUT -j ACCEPT\\n[9:900] -A OUTPUT -j ACCEPT\\nCOMMIT\\n', { counters: true });
const before = [(await t.chain('INPUT').rules())[0].counters, await t.chain('INPUT').getCounters()];
const typeofPackets = typeof before[0].packets;
await t.chain('INPUT').zeroCounters();
const afterChain = [(await t.chain('INPUT').rules())[0].counters, (await t.chain('OUTPUT').rules())[0].counters];
await t.zeroEntries();
return { before, typeofPackets, afterChain, afterAll: (await t.chain('OUTPUT').rules())[0].counters, saved: await t.save({ counters: true }) };
`) as Record<string, unknown>;
    expect(result.typeofPackets).toBe('bigint');
    expect(result.before).toEqual([{ packets: '7', bytes: '700' }, { packets: '3', bytes: '4' }]);
    expect(result.afterChain).toEqual([{ packets: '0', bytes: '0' }, { packets: '9', bytes: '900' }]);
    expect(result.afterAll).toEqual({ packets: '0', bytes: '0' });
    expect(rules('filter', 'OUTPUT', { counters: true })).toEqual(['[0:0] -j ACCEPT']);
  });

  it('without autocommit changes wait for commit(); refresh() drops them; appendRules is one commit', () => {
    const result = runAsync(`
const { execFileSync } = await import('node:child_process');
const kernel = () => execFileSync(${JSON.stringify(tools.iptables())}, ['-S', 'INPUT'], { encoding: 'utf8' }).trim().split('\\n').slice(1);
const t = await A.AsyncTable.open('filter', { autocommit: false });
await t.chain('INPUT').appendRule('-p tcp --dport 22 -j ACCEPT');
const pending = { kernel: kernel(), table: (await t.chain('INPUT').rules()).map(String) };
await t.commit();
const committed = kernel();
await t.chain('INPUT').appendRule('-p tcp --dport 23 -j ACCEPT');
await t.refresh();
const refreshed = { kernel: kernel(), table: (await t.chain('INPUT').rules()).map(String) };
await t.setAutocommit(true);
await t.chain('INPUT').appendRules(['-p tcp --dport 24 -j ACCEPT', ['-p', 'udp', '--dport', '25', '-j', 'ACCEPT']]);
return { pending, committed, refreshed, autocommit: t.autocommit, last: kernel() };
`) as Record<string, unknown>;
    expect(result.pending).toEqual({ kernel: [], table: ['-p tcp -m tcp --dport 22 -j ACCEPT'] });
    expect(result.committed).toEqual(['-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT']);
    expect(result.refreshed).toEqual({ kernel: ['-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT'], table: ['-p tcp -m tcp --dport 22 -j ACCEPT'] });
    expect(result.autocommit).toBe(true);
    expect(rules('filter', 'INPUT')).toEqual([
      '-p tcp -m tcp --dport 22 -j ACCEPT',
      '-p tcp -m tcp --dport 24 -j ACCEPT',
      '-p udp -m udp --dport 25 -j ACCEPT',
    ]);
  });

  it('appendRules with autocommit is all or none: a bad spec or a rule the kernel refuses leaves the table as it was', () => {
    const result = runAsync(`
const t = await A.AsyncTable.open('filter');
await t.chain('INPUT').appendRule('-j ACCEPT');
const outcome = async (p) => { try { await p; return 'ok'; } catch (e) { return e.name + ': ' + e.message; } };
const badSpec = await outcome(t.chain('INPUT').appendRules(['-p tcp --dport 1 -j ACCEPT', '-p tcp --dport', '-j DROP']));
// DNAT belongs in nat: the kernel refuses the whole table at commit.
const refused = await outcome(t.chain('INPUT').appendRules(['-p tcp --dport 2 -j ACCEPT', '-p tcp -j DNAT --to-destination 10.0.0.1']));
const after = (await t.chain('INPUT').rules()).map(String);
await t.chain('INPUT').appendRule('-p tcp --dport 3 -j ACCEPT');
return { badSpec, refused, after, autocommit: t.autocommit };
`) as Record<string, unknown>;
    expect(result.badSpec).toMatch(/^RuleSyntaxError: /);
    expect(result.refused).toMatch(/^IPTCError: /);
    expect(result.after).toEqual(['-j ACCEPT']);
    expect(result.autocommit).toBe(true);
    expect(rules('filter', 'INPUT')).toEqual(['-j ACCEPT', '-p tcp -m tcp --dport 3 -j ACCEPT']);
  });

  it('chains are created, renamed and deleted; a built-in chain is refused', () => {
    const result = runAsync(`
const t = await A.AsyncTable.open('filter');
const a = await t.createChain('a');
await t.createChain('b');
await a.rename('a2');
await t.renameChain('b', 'b2');
await t.chain('b2').delete();
let builtin;
try { await t.chain('INPUT').delete(); } catch (e) { builtin = e instanceof iptc.IPTCError; }
await t.chain('a2').appendRule('-j RETURN');
const names = (await t.chains()).map((c) => c.name);
await t.chain('a2').flush();
await t.deleteChain('a2');
return { names, builtin, after: (await t.chains()).map((c) => c.name) };
`);
    expect(result).toEqual({ names: ['INPUT', 'FORWARD', 'OUTPUT', 'a2'], builtin: true, after: ['INPUT', 'FORWARD', 'OUTPUT'] });
    expect(save('filter')).not.toContain(':a2');
  });

  it('idempotent changes and deleteOwned do what the sync API does; a rule line must name the chain it is used on', () => {
    const result = runAsync(`
const t = await A.AsyncTable.open('filter');
const app = await t.clearChain('APP');
const input = t.chain('INPUT');
const out = {
  appended: [await input.appendUnique('-m comment --comment APP -j APP'), await input.appendUnique('-A INPUT -m comment --comment APP -j APP')],
  inserted: [await input.insertUnique({ src: '10.0.0.1', target: 'ACCEPT' }, 0), await input.insertUnique(['-s', '10.0.0.1', '-j', 'ACCEPT'])],
  deleted: [await input.deleteIfExists('-s 10.0.0.1 -j ACCEPT'), await input.deleteIfExists('-s 10.0.0.1 -j ACCEPT'), await t.chain('NOPE').deleteIfExists('-j ACCEPT')],
  exists: [await t.chainExists('APP'), await t.chainExists(app), await t.chainExists('NOPE')],
  has: [await input.hasRule('-m comment --comment APP -j APP'), await input.hasRule('-s 10.9.9.9 -j ACCEPT')],
  wrongChain: await input.appendRule('-A FORWARD -j ACCEPT').catch((e) => e.constructor.name + ': ' + e.message),
};
await app.appendRule('-j RETURN');
out.before = await t.save();
out.owned = await t.deleteOwned('APP');
out.cleared = [await t.clearChain('X').then(() => t.clearAndDeleteChain('X')), await t.clearAndDeleteChain('X')];
return out;
`) as Record<string, unknown>;
    expect(result.appended).toEqual([true, false]);
    expect(result.inserted).toEqual([true, false]);
    expect(result.deleted).toEqual([true, false, false]);
    expect(result.exists).toEqual([true, true, false]);
    expect(result.has).toEqual([true, false]);
    expect(result.wrongChain).toBe("TypeError: the rule line names chain `FORWARD', not `INPUT' of table `filter'");
    expect(result.before).toContain('-A INPUT -m comment --comment APP -j APP\n-A APP -j RETURN');
    expect(result.owned).toEqual({ rules: 2, chains: ['APP'] });
    expect(result.cleared).toEqual([true, false]);
    expect(save('filter')).not.toContain('APP');
    expect(rules('filter', 'INPUT')).toEqual([]);
  });

  it('IPv6 tables take IPv6 rules', () => {
    runAsync(`
const t = await A.AsyncTable6.open('filter');
await t.chain('INPUT').appendRule('-s 2001:db8::/32 -p tcp --dport 22 -j ACCEPT');
if (!(t instanceof A.AsyncTable6) || t.family !== 6) throw new Error('not an AsyncTable6');
`);
    expect(rules('filter', 'INPUT', { family: 6 })).toEqual(['-s 2001:db8::/32 -p tcp -m tcp --dport 22 -j ACCEPT']);
    expect(rules('filter', 'INPUT')).toEqual([]);
  });
});

describe('errors', () => {
  it('arrive with their class and fields, and change nothing', () => {
    const result = runAsync(`
const { spawn } = await import('node:child_process');
const t = await A.AsyncTable.open('filter');
const caught = async (f) => {
  try { await f(); return 'no error'; } catch (e) {
    const classes = ['XTablesLockError', 'XTablesThreadError', 'IPTCError', 'XTablesError', 'RuleSyntaxError', 'RestoreError', 'NetnsError'].filter((n) => e instanceof iptc[n]);
    return { name: e.name, classes, typeError: e instanceof TypeError, rangeError: e instanceof RangeError, message: e.message,
      errno: e.errno, code: e.code, extension: e.extension, line: e.line, lockfile: e.lockfile, cause: e.cause?.name };
  }
};
const out = {
  syntax: await caught(() => t.chain('INPUT').appendRule('-p tcp --dport')),
  extension: await caught(() => t.chain('INPUT').appendRule('-p tcp --dport 99999 -j ACCEPT')),
  noChain: await caught(() => t.chain('NOPE').appendRule('-j ACCEPT')),
  restore: await caught(() => t.restore('*filter\\n-A INPUT -j ACCEPT\\n-A INPUT --bogus\\nCOMMIT\\n')),
  position: await caught(() => t.chain('INPUT').insertRule('-j ACCEPT', -1)),
  ruleObject: await caught(() => t.chain('INPUT').appendRule(new iptc.Rule())),
  badWait: await caught(() => A.AsyncTable.open('filter', { wait: 'soon' })),
  badTable: await caught(() => A.AsyncTable.open('no such table!')),
  notCloneable: await caught(() => t.restore('-A INPUT -j ACCEPT', { counters: () => true })),
};
// The xtables lock held by another program, as iptables -w would hold it.
const holder = spawn('flock', ['-o', process.env.XTABLES_LOCKFILE, 'sh', '-c', 'echo held; exec sleep 30 >/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
await new Promise((r) => holder.stdout.once('data', r));
// On legacy the lock is waited for by default (as iptables 1.8.9 does); fail fast here to see the error.
await t.setWait(false);
out.lock = await caught(() => t.chain('INPUT').appendRule('-j ACCEPT'));
process.kill(-holder.pid);
await t.close();
out.closed = await caught(() => t.save());
out.closedFlag = t.closed;
return out;
`) as Record<string, Record<string, unknown>>;
    expect(result.syntax).toMatchObject({ name: 'RuleSyntaxError', typeError: true, message: 'option "--dport" requires an argument' });
    expect(result.extension).toMatchObject({ name: 'XTablesError', classes: ['XTablesError'], extension: 'tcp' });
    expect(result.noChain).toMatchObject({ classes: ['IPTCError'], errno: 2, code: 'ENOENT' });
    expect(result.restore).toMatchObject({ name: 'RestoreError', classes: ['RestoreError'], line: 3, cause: 'RuleSyntaxError' });
    expect(result.position).toMatchObject({ rangeError: true });
    expect(result.ruleObject).toMatchObject({ typeError: true });
    expect(String(result.ruleObject!.message)).toMatch(/spec string.*a Rule object/);
    expect(result.badWait).toMatchObject({ typeError: true });
    expect(result.badTable).toMatchObject({ typeError: true });
    expect(result.notCloneable).toMatchObject({ typeError: true });
    expect(String(result.notCloneable!.message)).toMatch(/cannot be passed to the owner thread/);
    expect(result.closed).toMatchObject({ classes: ['IPTCError'], message: "table `filter' is closed" });
    expect(result.closedFlag).toBe(true);
    if (BACKEND === 'legacy') {
      expect(result.lock).toMatchObject({ classes: ['XTablesLockError', 'IPTCError'], code: 'EWOULDBLOCK', lockfile: process.env.XTABLES_LOCKFILE });
      expect(rules('filter', 'INPUT')).toEqual([]);
    } else {
      // nf_tables has no xtables lock (iptables-nft takes none; the generation id of each transaction
      // keeps writers apart, see 'a change another program made ...' below): the change is made at once.
      expect(result.lock).toBe('no error');
      expect(rules('filter', 'INPUT')).toEqual(['-j ACCEPT']);
    }
  });
});

describe('errors of nf_tables', () => {
  // Legacy tables hold iptables' rules only: no other program's rule or chain can be in them.
  it.skipIf(BACKEND !== 'nft')('another program\'s rule and base chain arrive as NftForeignRuleError and NftIncompatibleTableError, with their fields; nothing changes', () => {
    run('iptables-nft', ['-A', 'INPUT', '-j', 'ACCEPT']);
    run('nft', ['add rule ip filter INPUT ip saddr { 192.0.2.1, 192.0.2.2 } accept']);
    run('nft', ['add table ip nat']);
    run('nft', ['add chain ip nat theirs { type filter hook input priority 5; }']);
    const handle = /ip saddr .* # handle (\d+)/.exec(run('nft', ['-a', 'list', 'chain', 'ip', 'filter', 'INPUT']))![1];
    const before = run('nft', ['-a', 'list', 'ruleset']);
    const result = runAsync(`
const caught = async (f) => {
  try { await f(); return 'no error'; } catch (e) {
    return { name: e.name, foreign: e instanceof iptc.NftForeignRuleError, incompatible: e instanceof iptc.NftIncompatibleTableError,
      iptc: e instanceof iptc.IPTCError, code: e.code, table: e.table, chain: e.chain, handle: e.handle, chains: e.chains,
      rule: e.rule && { opaque: e.rule instanceof iptc.NftOpaqueRuleError, reason: typeof e.rule.reason, message: e.rule.message } };
  }
};
const t = await A.AsyncTable.open('filter');
return {
  read: await caught(() => t.chain('INPUT').rules()),
  append: await caught(() => t.chain('INPUT').appendRule('-j DROP')),
  open: await caught(() => A.AsyncTable.open('nat')),
};
`) as Record<string, Record<string, unknown>>;
    expect(result.read).toMatchObject({
      name: 'NftForeignRuleError', foreign: true, iptc: true, code: 'EOPNOTSUPP', table: 'filter', chain: 'INPUT', handle,
      rule: { opaque: true, reason: 'string' },
    });
    expect(String((result.read!.rule as { message: string }).message)).toMatch(/^rule has no iptables form/);
    expect(result.append).toMatchObject({ name: 'NftForeignRuleError', foreign: true, handle });
    expect(result.open).toMatchObject({ name: 'NftIncompatibleTableError', incompatible: true, iptc: true, code: 'EOPNOTSUPP', table: 'nat', chains: ['theirs'] });
    expect(run('nft', ['-a', 'list', 'ruleset'])).toBe(before);
  });
});

describe('another writer', () => {
  /** A batch that appends a rule after one the backend's iptables made; `ipt` runs that iptables. */
  const batchBesideOneRule = `
const { execFileSync } = await import('node:child_process');
const ipt = (...args) => execFileSync(${JSON.stringify(tools.iptables())}, args, { encoding: 'utf8' });
ipt('-A', 'INPUT', '-s', '10.0.0.1', '-j', 'ACCEPT');
const t = await A.AsyncTable.open('filter', { autocommit: false });
await t.chain('INPUT').appendRule('-s 10.0.0.3/32 -j ACCEPT');`;

  it('a change another program made between the read and commit() is kept: the batch is applied again to a fresh read', () => {
    const result = runAsync(`${batchBesideOneRule}
// The rule read at position 0 is the one deleted, wherever the other writer's insert moves it.
await t.chain('INPUT').deleteRuleAt(0);
const pending = (await t.chain('INPUT').rules()).map(String);
// Another program's change after the batch's read: commit() reads the table again and finds that it
// moved (legacy: other rules; nft: a newer generation), and applies the batch's changes to that.
ipt('-I', 'INPUT', '-s', '10.0.0.2', '-j', 'DROP');
await t.commit();
return { pending, after: (await t.chain('INPUT').rules()).map(String) };
`);
    expect(result).toEqual({
      pending: ['-s 10.0.0.3/32 -j ACCEPT'],
      after: ['-s 10.0.0.2/32 -j DROP', '-s 10.0.0.3/32 -j ACCEPT'],
    });
    expect(rules('filter', 'INPUT')).toEqual(['-s 10.0.0.2/32 -j DROP', '-s 10.0.0.3/32 -j ACCEPT']);
  });

  it('a change by position whose rule another program deleted is refused with ConcurrentChangeError, with its fields; nothing is committed', () => {
    const result = runAsync(`${batchBesideOneRule}
await t.chain('INPUT').deleteRuleAt(0);
ipt('-D', 'INPUT', '-s', '10.0.0.1', '-j', 'ACCEPT');
try { await t.commit(); return 'committed'; } catch (e) {
  return { concurrent: e instanceof iptc.ConcurrentChangeError, iptc: e instanceof iptc.IPTCError, code: e.code, table: e.table, chain: e.chain, position: e.position };
}
`);
    expect(result).toEqual({ concurrent: true, iptc: true, code: 'ESTALE', table: 'filter', chain: 'INPUT', position: 0 });
    expect(rules('filter', 'INPUT')).toEqual([]);
  });
});

describe('ipsets', () => {
  it('AsyncIPSet mirrors IPSet, PortEntry and PortRange included', () => {
    const ipsetEntry = join(dirname(dirname(iptcEntry())), 'ipset', 'index.js');
    const result = runAsync(`
const { PortEntry, PortRange, IPSetError } = await import(${JSON.stringify(ipsetEntry)});
const s = await A.AsyncIPSet.open();
await s.create('web', { stype: 'hash:ip,port', counters: true });
await s.add('web', ['10.0.0.1', new PortEntry(80, 'tcp')]);
await s.addMany('web', ['10.0.0.2,udp:53', { entry: ['10.0.0.3', new PortEntry(443, 'tcp')], packets: 5 }]);
await s.create('ports', { stype: 'bitmap:port', bitmapPortsRange: [1000, 2000] });
await s.add('ports', new PortRange(1000, 1010));
const test = [await s.test('web', '10.0.0.2,udp:53'), await s.test('web', '10.0.0.9,udp:53')];
let error;
try { await s.add('web', '10.0.0.1,tcp:80'); } catch (e) { error = { is: e instanceof IPSetError, errorName: e.errorName, setName: e.setName }; }
let missingName;
try { await s.destroy(); } catch (e) { missingName = e instanceof TypeError; }
const listed = (await s.list('web'))[0].entries.map((e) => [e.entry, e.packets]);
const names = await s.listNames();
await s.rename('ports', 'ports2');
const index = await s.getSetByName('web');
const byIndex = await s.getSetByIndex(index);
const revisions = await s.getSupportedRevisions('hash:ip,port');
const saved = await s.save('web');
await s.create('other', { stype: 'hash:ip,port', counters: true });
await s.swap('web', 'other');
const swapped = [(await s.list('web'))[0].entries.length, (await s.list('other'))[0].entries.length];
await s.destroy('web');
await s.restore(saved);
await s.deleteMany('web', ['10.0.0.1,tcp:80']);
await s.flush('other');
return { test, error, missingName, listed, names, header: (await s.headers('web')).header.counters, proto: await s.getProtoVersion(),
  byIndex, revisionOk: revisions[0] <= revisions[1], swapped };
`) as Record<string, unknown>;
    expect(result.test).toEqual([true, false]);
    expect(result.error).toEqual({ is: true, errorName: 'IPSET_ERR_EXIST', setName: 'web' });
    expect(result.missingName).toBe(true);
    expect(result.listed).toEqual(expect.arrayContaining([['10.0.0.1,tcp:80', '0'], ['10.0.0.3,tcp:443', '5']]));
    expect(result.names).toEqual(['web', 'ports']);
    expect(result.header).toBe(true);
    expect(result.proto).toBe(7);
    expect(result.byIndex).toBe('web');
    expect(result.revisionOk).toBe(true);
    expect(result.swapped).toEqual([0, 3]);
    const saved = attempt('ipset', ['save']).stdout;
    expect(saved).toMatch(/^add web 10\.0\.0\.2,udp:53 packets 0 bytes 0$/m);
    expect(saved).toMatch(/^add ports2 1000$/m);
    expect(saved).toMatch(/^add ports2 1010$/m);
    // restored from save(), less the deleted element
    expect(saved).toMatch(/^add web 10\.0\.0\.3,tcp:443 packets 5 bytes 0$/m);
    expect(saved).not.toMatch(/^add web 10\.0\.0\.1,tcp:80/m);
    expect(saved).not.toMatch(/^add other /m);
  });

  it('destroyAll() and flushAll() act on every set', () => {
    runAsync(`
const s = await A.AsyncIPSet.open();
for (const name of ['x', 'y']) { await s.create(name, { stype: 'hash:ip' }); await s.add(name, '10.0.0.1'); }
await s.flushAll();
if ((await s.list()).some((set) => set.entries.length !== 0)) throw new Error('not flushed');
await s.destroyAll();
await s.close();
`);
    expect(attempt('ipset', ['list', '-name']).stdout.trim()).toBe('');
  });
});

describe('the owner thread', () => {
  it('owns the xtables layer: the main thread is refused meanwhile, and takes over after shutdown()', () => {
    const result = runAsync(`
const t = await A.AsyncTable.open('filter');
await t.chain('INPUT').appendRule('-m comment --comment async -j ACCEPT');
let refused;
try { new iptc.Table('filter'); refused = 'not refused'; } catch (e) { refused = e instanceof iptc.XTablesThreadError ? 'refused' : String(e); }
await A.shutdown();
const closedAfter = t.closed;
const sync = new iptc.Table('filter');
sync.chain('INPUT').appendRule(iptc.Rule.parse('-m comment --comment sync -j ACCEPT'));
return { refused, closedAfter };
`);
    expect(result).toEqual({ refused: 'refused', closedAfter: true });
    expect(rules('filter', 'INPUT')).toEqual(['-m comment --comment async -j ACCEPT', '-m comment --comment sync -j ACCEPT']);
  });

  it('a process that used the synchronous API first gets XTablesThreadError saying why; ipsets still work', () => {
    const result = runAsync(`
iptc.Rule.parse('-p tcp --dport 22 -j ACCEPT');
let error;
try { await A.AsyncTable.open('filter'); } catch (e) { error = { thread: e instanceof iptc.XTablesThreadError, code: e.code, message: e.message }; }
const s = await A.AsyncIPSet.open();
await s.create('still', { stype: 'hash:net' });
return error;
`) as { thread: boolean; code: string; message: string };
    expect(result.thread).toBe(true);
    expect(result.code).toBe('EBUSY');
    expect(result.message).toMatch(/iptc\/async's owner thread cannot use it.*synchronous/);
    expect(attempt('ipset', ['list', '-name']).stdout.trim()).toBe('still');
  });

  // nf_tables has no xtables lock (iptables-nft takes none): its wait is the next case.
  it.skipIf(BACKEND !== 'legacy')('waiting for the lock with wait: true does not keep process.exit() from ending the process', () => {
    const entry = iptcEntry();
    const asyncEntry = join(dirname(dirname(entry)), 'async', 'index.js');
    const started = Date.now();
    // A thread blocked in flock(2) would hold the process until the lock is free (here: 60 s); the
    // owner thread polls instead, in a sleep that ends when the process does.
    const { status, stdout, stderr } = runFresh(`
const A = await import(${JSON.stringify(asyncEntry)});
const { spawn, spawnSync } = await import('node:child_process');
// No pipe to the holder: this process's output must end when this process does.
const holder = spawn('flock', [process.env.XTABLES_LOCKFILE, 'sleep', '60'], { stdio: 'ignore', detached: true });
while (spawnSync('flock', ['-n', process.env.XTABLES_LOCKFILE, 'true']).status === 0) await new Promise((r) => setTimeout(r, 10));
const t = await A.AsyncTable.open('filter', { wait: true });
t.chain('INPUT').appendRule('-j ACCEPT').then(() => console.log('appended'));
await new Promise((r) => setTimeout(r, 300));
// The lock is still held: the parent ends the holder once this process is gone.
console.log('holder ' + holder.pid);
process.exit(0);
`);
    const holder = /holder (\d+)/.exec(stdout);
    if (holder) process.kill(-Number(holder[1]));
    expect(status, stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(rules('filter', 'INPUT')).toEqual([]);
  });

  // The legacy equivalent is the lock wait above.
  it.skipIf(BACKEND !== 'nft')('waiting for other programs\' commits to stop moving the ruleset does not keep process.exit() from ending the process (nft)', () => {
    const entry = iptcEntry();
    const asyncEntry = join(dirname(dirname(entry)), 'async', 'index.js');
    const started = Date.now();
    // While the generation keeps moving, the owner thread reads again and again, pausing in a sleep that
    // ends when the process does (here the writer would go on for 60 s).
    const { status, stdout, stderr } = runFresh(`
const A = await import(${JSON.stringify(asyncEntry)});
const { spawn } = await import('node:child_process');
const t = await A.AsyncTable.open('filter');
// A table whose every read takes longer than the writer's commits are apart (about a millisecond).
await t.restore(Array.from({ length: 5000 }, (_, i) => '-A FORWARD -m comment --comment r' + i + ' -j ACCEPT').join('\\n'), { noflush: true });
// Another program committing to a table of its own, one transaction per line. It tells when it has
// started on a pipe that it closes: this process's output must end when this process does.
const writer = spawn('sh', ['-c', 'nft add table ip busy && echo go >&3 && exec 3>&- && while :; do echo "add chain ip busy c"; echo "delete chain ip busy c"; done | nft -i >/dev/null'],
  { stdio: ['ignore', 'ignore', 'ignore', 'pipe'], detached: true });
await new Promise((r) => writer.stdio[3].once('data', r));
writer.stdio[3].destroy();
await new Promise((r) => setTimeout(r, 100));
t.chain('INPUT').appendRule('-j ACCEPT').then(() => console.log('appended'), (e) => console.log('failed: ' + e.message));
await new Promise((r) => setTimeout(r, 500));
// The writer still commits: the parent ends it once this process is gone.
console.log('writer ' + writer.pid);
process.exit(0);
`);
    const writer = /writer (\d+)/.exec(stdout);
    if (writer) process.kill(-Number(writer[1]));
    expect(status, stderr).toBe(0);
    expect(stdout).not.toMatch(/appended|failed/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(rules('filter', 'INPUT')).toEqual([]);
  });

  it('does not keep an idle process alive', () => {
    const started = Date.now();
    runAsync(`
const t = await A.AsyncTable.open('filter');
await t.chain('INPUT').appendRule('-j ACCEPT');
`);
    // No shutdown(), no close(): the process still ends (runFresh would time out after 30 s).
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});
