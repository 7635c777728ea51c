// The nf_tables backend under the object model: `new Table(name, { backend: 'nft' })` reads and changes
// nf_tables exactly as iptables-nft does, read back with iptables-nft-save and nft in the namespace.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { IPTCError, NftForeignRuleError, NftIncompatibleTableError, Policy, Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { transaction } from '../src/iptc/batch.js';
import { nftBackend } from '../src/iptc/nft-backend.js';
import { NftGenerationError, NftTranslateError } from '../src/nft/index.js';
import { closedAfterEach, liveTables, run, thrown } from './kernel.js';
import { cleanFresh, runFresh } from './fresh-process.js';
import { freshNftEachTest, iptNft, savedRules } from './nft-kernel.js';

freshNftEachTest();
const open = closedAfterEach();

// Other test files leave legacy tables in the shared namespace: each test checks that it made none
// (a namespace of its own proves none at all, below).
let legacyBefore: string[][] = [];
beforeEach(() => {
  legacyBefore = [liveTables(4), liveTables(6)];
});
const expectLegacyUnchanged = () => expect([liveTables(4), liveTables(6)]).toEqual(legacyBefore);
afterAll(() => cleanFresh());

function nftTable(name: string, opts: { autocommit?: boolean } = {}): Table {
  const t = new Table(name, { backend: 'nft', ...opts });
  open.push(t);
  return t;
}

function nftTable6(name: string, opts: { autocommit?: boolean } = {}): Table6 {
  const t = new Table6(name, { backend: 'nft', ...opts });
  open.push(t);
  return t;
}

const saved = (table: string, chain: string, family: 4 | 6 = 4) => savedRules(table, family).get(chain) ?? [];
const nftRuleset = () => run('nft', ['-a', 'list', 'ruleset']);
/** The handles of a chain's rules, in order, as `nft -a` lists them. */
function handles(table: string, chain: string): number[] {
  const out = run('nft', ['-a', 'list', 'chain', 'ip', table, chain]);
  // Rule lines are indented twice; the chain's own line carries a handle too.
  return [...out.matchAll(/^\t\t.* # handle (\d+)$/gm)].map((m) => Number(m[1]));
}

const FILTER_SPECS = [
  '-s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT',
  '-i eth0 -p udp -m udp --sport 53 -j DROP',
  '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  '-p tcp -m tcp --dport 80 -m comment --comment "web traffic" -j ACCEPT',
  '-d 192.168.1.1/32 -j LOG --log-prefix "seen: " --log-level 6',
];

describe('nft backend: rules', () => {
  it('appends, inserts, replaces and deletes rules; iptables-nft-save shows exactly them', () => {
    const t = nftTable('filter');
    expect(t.backend).toBe('nft');
    const input = t.chain('INPUT');
    for (const spec of FILTER_SPECS) input.appendRule(Rule.parse(spec));
    expect(saved('filter', 'INPUT')).toEqual(FILTER_SPECS);
    input.insertRule(Rule.parse('-s 1.2.3.4/32 -j DROP'), 0);
    input.insertRule(Rule.parse('-s 1.2.3.5/32 -j DROP'), 2);
    input.replaceRule(Rule.parse('-s 1.2.3.6/32 -j REJECT --reject-with icmp-port-unreachable'), 1);
    input.deleteRule(Rule.parse(FILTER_SPECS[1]!));
    input.deleteRuleAt(4);
    const expected = [
      '-s 1.2.3.4/32 -j DROP',
      '-s 1.2.3.6/32 -j REJECT --reject-with icmp-port-unreachable',
      '-s 1.2.3.5/32 -j DROP',
      FILTER_SPECS[2],
      FILTER_SPECS[4],
    ];
    expect(saved('filter', 'INPUT')).toEqual(expected);
    t.refresh();
    expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual(expected);
    // No legacy table was made on the way.
    expectLegacyUnchanged();
  });

  it('keeps the handles of rules it does not touch (incremental commits)', () => {
    const t = nftTable('filter');
    const input = t.chain('INPUT');
    for (const spec of FILTER_SPECS.slice(0, 3)) input.appendRule(Rule.parse(spec));
    const before = handles('filter', 'INPUT');
    input.insertRule(Rule.parse('-j RETURN'), 1);
    input.deleteRuleAt(0);
    const after = handles('filter', 'INPUT');
    expect(after).toHaveLength(3);
    expect(after[1]).toBe(before[1]);
    expect(after[2]).toBe(before[2]);
    expect(after).not.toContain(before[0]);
  });

  it('DNAT in nat and IPv6 in Table6', () => {
    const nat = nftTable('nat');
    const dnat = '-d 203.0.113.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80';
    nat.chain('PREROUTING').appendRule(Rule.parse(dnat));
    expect(saved('nat', 'PREROUTING')).toEqual([dnat]);
    const t6 = nftTable6('filter');
    const v6 = ['-s 2001:db8::/32 -p tcp -m tcp --dport 443 -j ACCEPT', '-p ipv6-icmp -j ACCEPT'];
    for (const spec of v6) t6.chain('INPUT').appendRule(Rule6.parse(spec));
    expect(saved('filter', 'INPUT', 6)).toEqual(v6);
    expect(t6.chain('INPUT').rules.map((r) => r.toString())).toEqual(v6);
    expectLegacyUnchanged();
  });

  it('iptables-nft lists and deletes rules made by iptc; iptc reads rules made by iptables-nft', () => {
    const t = nftTable('filter');
    for (const spec of FILTER_SPECS) t.chain('INPUT').appendRule(Rule.parse(spec));
    for (const spec of FILTER_SPECS) iptNft(['-D', 'INPUT', ...(Rule.parse(spec).toString().match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, ''))]);
    expect(saved('filter', 'INPUT')).toEqual([]);
    iptNft(['-N', 'theirs']);
    iptNft(['-A', 'theirs', '-p', 'tcp', '--dport', '25', '-m', 'comment', '--comment', 'mail', '-j', 'ACCEPT']);
    iptNft(['-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'theirs']);
    t.refresh();
    const lines = [...savedRules('filter').entries()].flatMap(([chain, specs]) => specs.map((s) => `${chain} ${s}`));
    const ours = t.chains.flatMap((c) => c.rules.map((r) => `${c.name} ${r.toString()}`));
    expect(ours).toEqual(lines);
    expect(ours).toHaveLength(2);
    // And iptc deletes what iptables-nft made.
    t.chain('FORWARD').deleteRule(Rule.parse('-m conntrack --ctstate NEW -j theirs'));
    expect(saved('filter', 'FORWARD')).toEqual([]);
  });
});

describe('nft backend: refused rules', () => {
  it('a rule with no faithful nf_tables form is refused with a typed error; nothing reaches the kernel', () => {
    const t = nftTable('filter');
    t.chain('INPUT').appendRule(Rule.parse('-j ACCEPT'));
    const before = nftRuleset();
    const err = thrown(() => t.chain('INPUT').appendRule(Rule.parse('-p udp -j QUEUE')));
    expect(err).toBeInstanceOf(NftTranslateError);
    const b = nftTable('filter', { autocommit: false });
    b.chain('OUTPUT').appendRule(Rule.parse('-j DROP'));
    b.chain('INPUT').appendRule(Rule.parse('-j QUEUE'));
    expect(thrown(() => b.commit())).toBeInstanceOf(NftTranslateError);
    expect(nftRuleset()).toBe(before);
  });
});

describe('nft backend: chains, policies, counters, save', () => {
  it('creates, renames and deletes user chains and sets policies', () => {
    const t = nftTable('filter');
    t.createChain('web');
    t.chain('web').appendRule(Rule.parse('-p tcp -m tcp --dport 80 -j ACCEPT'));
    t.chain('INPUT').appendRule(Rule.parse('-j web'));
    t.renameChain('web', 'www');
    expect(saved('filter', 'INPUT')).toEqual(['-j www']);
    expect(saved('filter', 'www')).toEqual(['-p tcp -m tcp --dport 80 -j ACCEPT']);
    expect((thrown(() => t.deleteChain('www')) as IPTCError).errno).toBe(31);
    t.chain('INPUT').setPolicy(new Policy('DROP'));
    expect(iptNft(['-S', 'INPUT'])).toContain('-P INPUT DROP');
    t.chain('INPUT').flush();
    t.chain('www').flush();
    t.deleteChain('www');
    expect(run('iptables-nft-save', ['-t', 'filter'])).not.toContain('www');
  });

  it('save() prints what iptables-nft-save prints', () => {
    iptNft(['-N', 'zz']);
    iptNft(['-N', 'MM']);
    iptNft(['-N', 'aa']);
    iptNft(['-A', 'OUTPUT', '-j', 'aa']);
    iptNft(['-A', 'zz', '-p', 'udp', '--dport', '53', '-j', 'ACCEPT']);
    const t = nftTable('filter');
    const body = (text: string) => text.split('\n').filter((l) => !l.startsWith('#')).join('\n');
    expect(body(t.save())).toBe(body(run('iptables-nft-save', ['-t', 'filter'])));
    const nat = nftTable('nat');
    expect(body(nat.save())).toBe(body(run('iptables-nft-save', ['-t', 'nat'])));
  });

  it('reads and zeroes counters', () => {
    run('iptables-nft-restore', ['-c', '--noflush'], '*filter\n:INPUT ACCEPT [5:500]\n[7:700] -A INPUT -p tcp -j ACCEPT\n[3:300] -A INPUT -p udp -j ACCEPT\nCOMMIT\n');
    const t = nftTable('filter');
    expect(t.chain('INPUT').rules.map((r) => r.counters)).toEqual([{ packets: 7n, bytes: 700n }, { packets: 3n, bytes: 300n }]);
    expect(t.chain('INPUT').getCounters()).toEqual({ packets: 5n, bytes: 500n });
    t.chain('INPUT').zeroCounters();
    expect(run('iptables-nft-save', ['-c', '-t', 'filter'])).toMatch(/:INPUT ACCEPT \[0:0\][^]*\[0:0\] -A INPUT -p tcp -j ACCEPT\n\[0:0\] -A INPUT -p udp -j ACCEPT/);
    t.refresh();
    expect(t.chain('INPUT').rules.map((r) => r.counters)).toEqual([{ packets: 0n, bytes: 0n }, { packets: 0n, bytes: 0n }]);
  });
});

describe('nft backend: transactions', () => {
  it('a batch commits once; a concurrent iptables-nft change between read and commit is kept', () => {
    const t = nftTable('filter', { autocommit: false });
    t.chain('INPUT').appendRule(Rule.parse('-s 10.0.0.1/32 -j ACCEPT'));
    t.chain('INPUT').appendRule(Rule.parse('-s 10.0.0.2/32 -j ACCEPT'));
    expect(saved('filter', 'INPUT')).toEqual([]);
    // Another writer moves the generation after the batch's copy was read: the commit gets ERESTART and re-applies.
    iptNft(['-A', 'INPUT', '-s', '10.9.9.9/32', '-j', 'DROP']);
    t.commit();
    expect(saved('filter', 'INPUT')).toEqual(['-s 10.9.9.9/32 -j DROP', '-s 10.0.0.1/32 -j ACCEPT', '-s 10.0.0.2/32 -j ACCEPT']);
    expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual(saved('filter', 'INPUT'));
  });

  it('a commit on a stale view is refused by the kernel (ERESTART) and retried on a fresh one', () => {
    const t = nftTable('filter', { autocommit: false });
    iptNft(['-A', 'INPUT', '-j', 'ACCEPT']);
    t.chain('INPUT').deleteRuleAt(0);
    iptNft(['-I', 'INPUT', '-s', '5.5.5.5', '-j', 'DROP']);
    t.commit();
    // The delete by position acted on the rule it saw, not on whatever is at position 0 now.
    expect(saved('filter', 'INPUT')).toEqual(['-s 5.5.5.5/32 -j DROP']);
  });
});

describe('nft backend: rules iptables cannot express', () => {
  it('an nft-only rule is never deleted or rewritten; reading it gives a typed error', () => {
    run('nft', ['add', 'table', 'ip', 'filter']);
    run('nft', ['add', 'chain', 'ip', 'filter', 'INPUT', '{ type filter hook input priority 0; policy accept; }']);
    run('nft', ['add', 'rule', 'ip', 'filter', 'INPUT', 'ip', 'saddr', '{ 1.2.3.4, 5.6.7.8 }', 'accept']);
    const before = nftRuleset();
    const t = nftTable('filter');
    expect(t.chains.map((c) => c.name)).toEqual(['INPUT', 'FORWARD', 'OUTPUT']);
    const read = thrown(() => t.chain('INPUT').rules);
    expect(read).toBeInstanceOf(NftForeignRuleError);
    expect((read as IPTCError).code).toBe('EOPNOTSUPP');
    expect(thrown(() => t.save())).toBeInstanceOf(NftForeignRuleError);
    for (const edit of [
      () => t.chain('INPUT').flush(),
      () => t.chain('INPUT').appendRule(Rule.parse('-j DROP')),
      () => t.chain('INPUT').deleteRuleAt(0),
      () => t.chain('INPUT').zeroCounters(),
      () => t.flush(),
    ]) {
      expect(thrown(edit)).toBeInstanceOf(NftForeignRuleError);
    }
    expect(nftRuleset()).toBe(before);
    // Other chains of the table still work, and leave the foreign rule alone.
    t.chain('OUTPUT').appendRule(Rule.parse('-j ACCEPT'));
    t.createChain('mine');
    t.renameChain('mine', 'ours');
    t.deleteChain('ours');
    expect(nftRuleset()).toContain('ip saddr { 1.2.3.4, 5.6.7.8 } accept');
    expect(saved('filter', 'OUTPUT')).toEqual(['-j ACCEPT']);
  });
});

describe('nft backend: the generation id', () => {
  it('a view committed after another writer moved the ruleset is refused whole (ERESTART), and moved() says so', () => {
    iptNft(['-A', 'INPUT', '-j', 'ACCEPT']);
    const view = nftBackend.open(4, 'filter');
    view.deleteNumEntry('INPUT', 0);
    view.appendEntry('INPUT', Rule.parse('-s 10.1.1.1/32 -j DROP').toEntry());
    iptNft(['-A', 'INPUT', '-s', '10.2.2.2', '-j', 'DROP']);
    const err = thrown(() => view.commit());
    expect(err).toBeInstanceOf(NftGenerationError);
    expect(nftBackend.moved(err)).toBe(true);
    expect(saved('filter', 'INPUT')).toEqual(['-j ACCEPT', '-s 10.2.2.2/32 -j DROP']);
  });

  it('a transaction whose commit meets ERESTART reads again and re-applies: the other change is kept', () => {
    iptNft(['-A', 'INPUT', '-s', '10.0.0.1', '-j', 'ACCEPT']);
    let attempts = 0;
    transaction(nftBackend, true, () => nftBackend.open(4, 'filter'), (view) => {
      attempts++;
      view.appendEntry('INPUT', Rule.parse('-s 10.0.0.3/32 -j ACCEPT').toEntry());
      // Another writer commits between this attempt's read and its commit.
      if (attempts === 1) iptNft(['-A', 'INPUT', '-s', '10.0.0.2', '-j', 'ACCEPT']);
    });
    expect(attempts).toBe(2);
    expect(saved('filter', 'INPUT')).toEqual(['-s 10.0.0.1/32 -j ACCEPT', '-s 10.0.0.2/32 -j ACCEPT', '-s 10.0.0.3/32 -j ACCEPT']);
  });
});

describe('nft backend: tables it does not own', () => {
  it('reading a missing table creates nothing; the first rule creates the table and that chain only', () => {
    const t = nftTable('nat');
    expect(t.chains.map((c) => c.name)).toEqual(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
    expect(run('nft', ['list', 'tables'])).toBe('');
    t.chain('POSTROUTING').appendRule(Rule.parse('-o eth0 -j MASQUERADE'));
    const ruleset = nftRuleset();
    expect(ruleset).toContain('chain POSTROUTING');
    expect(ruleset).not.toContain('chain PREROUTING');
    expect(saved('nat', 'POSTROUTING')).toEqual(['-o eth0 -j MASQUERADE']);
    expectLegacyUnchanged();
  });

  it('flushing or zeroing a table that does not exist creates nothing', () => {
    const t = nftTable('mangle');
    t.flush();
    t.zeroEntries();
    const b = nftTable6('raw', { autocommit: false });
    b.flush();
    b.commit();
    expect(run('nft', ['list', 'tables'])).toBe('');
  });

  it('a table with a base chain iptables does not know is refused (NftIncompatibleTableError), untouched', () => {
    run('nft', ['add', 'table', 'ip', 'filter']);
    run('nft', ['add', 'chain', 'ip', 'filter', 'INPUT', '{ type filter hook input priority 10; }']);
    const before = nftRuleset();
    const err = thrown(() => nftTable('filter'));
    expect(err).toBeInstanceOf(NftIncompatibleTableError);
    expect((err as IPTCError).code).toBe('EOPNOTSUPP');
    expect(nftRuleset()).toBe(before);
  });
});

describe('nft backend: the same commands as iptables-nft give the same tables', () => {
  /** A deterministic pseudo-random sequence of iptables commands on filter's INPUT and a user chain. */
  function commands(seed: number, count: number): string[][] {
    let x = seed;
    const next = (n: number) => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    const specs = FILTER_SPECS.map((s) => s.match(/"[^"]*"|\S+/g)!.map((w) => w.replace(/^"|"$/g, '')));
    const lengths = new Map([['INPUT', 0], ['u1', 0]]);
    const out: string[][] = [['-N', 'u1'], ['-P', 'FORWARD', 'DROP']];
    for (let i = 0; i < count; i++) {
      const chain = next(3) === 0 ? 'u1' : 'INPUT';
      const n = lengths.get(chain)!;
      const spec = specs[next(specs.length)]!;
      const src = ['-m', 'comment', '--comment', `r${i}`];
      const op = n === 0 ? 0 : next(5);
      if (op === 0) out.push(['-A', chain, ...src, ...spec]);
      else if (op === 1) out.push(['-I', chain, String(1 + next(n)), ...src, ...spec]);
      else if (op === 2) out.push(['-R', chain, String(1 + next(n)), ...src, ...spec]);
      else if (op === 3) out.push(['-D', chain, String(1 + next(n))]);
      else out.push(['-A', 'INPUT', '-j', 'u1']);
      const delta = op === 0 || op === 1 ? 1 : op === 3 ? -1 : 0;
      lengths.set(chain, n + delta);
      if (op === 4) lengths.set('INPUT', lengths.get('INPUT')! + 1);
    }
    return out;
  }

  /** Runs one iptables command through a Table. */
  function apply(t: Table, args: string[]): void {
    const [cmd, chain, ...rest] = args as [string, string, ...string[]];
    if (cmd === '-N') t.createChain(chain);
    else if (cmd === '-P') t.chain(chain).setPolicy(new Policy(rest[0]!));
    else if (cmd === '-A') t.chain(chain).appendRule(Rule.parse(rest));
    else if (cmd === '-I') t.chain(chain).insertRule(Rule.parse(rest.slice(1)), Number(rest[0]) - 1);
    else if (cmd === '-R') t.chain(chain).replaceRule(Rule.parse(rest.slice(1)), Number(rest[0]) - 1);
    else if (cmd === '-D') t.chain(chain).deleteRuleAt(Number(rest[0]) - 1);
  }

  const text = () => run('iptables-nft-save', ['-t', 'filter']).split('\n').filter((l) => !l.startsWith('#')).join('\n');

  it.each([1, 2, 3])('seed %i: autocommit, one batch, and iptables-nft agree', (seed) => {
    const cmds = commands(seed, 40);
    for (const c of cmds) iptNft(c);
    const expected = text();
    run('nft', ['flush', 'ruleset']);
    const t = nftTable('filter');
    for (const c of cmds) apply(t, c);
    expect(text()).toBe(expected);
    expect(t.save()).toBe(expected.replace(/\n*$/, '\n'));
    run('nft', ['flush', 'ruleset']);
    const b = nftTable('filter', { autocommit: false });
    for (const c of cmds) apply(b, c);
    expect(text()).not.toBe(expected);
    b.commit();
    expect(text()).toBe(expected);
    expectLegacyUnchanged();
  });
});

describe('nft backend: the legacy tables warning', () => {
  const body = (legacy: boolean) => `
    const { execFileSync } = await import('node:child_process');
    if (${legacy}) execFileSync('iptables-legacy', ['-A', 'INPUT', '-j', 'ACCEPT']);
    new iptc.Table('filter', { backend: 'nft' }).close();
    new iptc.Table6('filter', { backend: 'nft' }).close();
    return 'done';`;

  it('warns once, with code IPTC_LEGACY_TABLES, when legacy tables are present too', () => {
    const res = runFresh(body(true), { IPTC_NO_BACKEND_WARNING: '' }, { newNetns: true });
    expect(res.status, res.stderr).toBe(0);
    const out = res.result as { warnings: { code: string; message: string }[] };
    const ours = out.warnings.filter((w) => w.code === 'IPTC_LEGACY_TABLES');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toMatch(/filter.*iptables-legacy-save.*IPTC_NO_BACKEND_WARNING=1/s);
    expect(out.warnings.filter((w) => w.code === 'IPTC_NFT_BACKEND')).toEqual([]);
  });

  it('says nothing without legacy tables, or when silenced', () => {
    const quiet = runFresh(body(false), { IPTC_NO_BACKEND_WARNING: '' }, { newNetns: true });
    expect(quiet.status, quiet.stderr).toBe(0);
    expect((quiet.result as { warnings: unknown[] }).warnings).toEqual([]);
    const silenced = runFresh(body(true), { IPTC_NO_BACKEND_WARNING: '1' }, { newNetns: true });
    expect(silenced.status, silenced.stderr).toBe(0);
    expect((silenced.result as { warnings: unknown[] }).warnings).toEqual([]);
  });
});

describe('nft backend: no legacy dependency', () => {
  it('in a namespace without legacy tables, reading and changing nft tables instantiates none', () => {
    const res = runFresh(`
      const { readFileSync, existsSync } = await import('node:fs');
      const t = new iptc.Table('filter', { backend: 'nft' });
      t.createChain('c');
      t.chain('INPUT').appendRule(iptc.Rule.parse('-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j c'));
      t.chain('INPUT').zeroCounters();
      new iptc.Table('nat', { backend: 'nft' }).chain('POSTROUTING').appendRule(iptc.Rule.parse('-j MASQUERADE'));
      new iptc.Table6('filter', { backend: 'nft' }).chain('INPUT').appendRule(iptc.Rule6.parse('-p tcp -m tcp --dport 22 -j ACCEPT'));
      const names = (f) => existsSync(f) ? readFileSync(f, 'utf8').split('\\n').filter(Boolean) : [];
      const { execFileSync } = await import('node:child_process');
      return { v4: names('/proc/net/ip_tables_names'), v6: names('/proc/net/ip6_tables_names'),
        saved: execFileSync('iptables-nft-save', ['-t', 'filter'], { encoding: 'utf8' }) };`, {}, { newNetns: true });
    expect(res.status, res.stderr).toBe(0);
    const out = res.result as { result: { v4: string[]; v6: string[]; saved: string } };
    expect(out.result.saved).toContain('-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j c');
    expect(out.result.v4).toEqual([]);
    expect(out.result.v6).toEqual([]);
  });
});
