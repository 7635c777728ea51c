// Both address families in one process, including the targets libxtables registers per family (DNAT,
// SNAT, MASQUERADE, REDIRECT, TCPMSS, TEE, TPROXY, HMARK, DSCP): each rule is first made with the
// iptables-legacy / ip6tables-legacy CLI, its saved line read and the rule deleted, then the same rule is
// made through our API and must give exactly the same saved line. Also the `set` match against sets
// made with the ipset CLI, and the first load of a per-family target in a fresh process in both orders.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Rule, Rule6, Table, Table6, XTablesError } from '../src/iptc/index.js';
import { cleanFresh, runFresh } from './fresh-process.js';
import { closedAfterEach, ipt, resetKernel, rules, run, save, thrown, type Family } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

afterAll(() => {
  cleanFresh();
});

function table(family: Family, name: string): Table {
  const t = family === 6 ? new Table6(name) : new Table(name);
  open.push(t);
  return t;
}

function newRule(family: Family): Rule {
  return family === 6 ? new Rule6() : new Rule();
}

const addr = (family: Family, n: number) => (family === 6 ? `2001:db8::${n}` : `10.0.0.${n}`);

type Params = Record<string, string | string[] | boolean>;

/** A rule as data, so that a child process can build it too. */
interface Spec {
  protocol?: string;
  out?: string;
  matches?: [string, Params][];
  target: [string, Params];
}

interface Case {
  name: string;
  table: string;
  chain: string;
  /** The rule spec for the CLI (after `-A CHAIN`). */
  cli: (f: Family) => string[];
  /** The same rule for our API. */
  spec: (f: Family) => Spec;
}

function build(spec: Spec, family: Family): Rule {
  const r = newRule(family);
  if (spec.protocol) r.protocol = spec.protocol;
  if (spec.out) r.outInterface = spec.out;
  for (const [name, params] of spec.matches ?? []) r.createMatch(name, params);
  r.createTarget(spec.target[0], spec.target[1]);
  return r;
}

/** The same as `build`, as JavaScript source for a child process (`iptc` is the module). */
const BUILD_JS = `(spec, family) => {
  const r = family === 6 ? new iptc.Rule6() : new iptc.Rule();
  if (spec.protocol) r.protocol = spec.protocol;
  if (spec.out) r.outInterface = spec.out;
  for (const [name, params] of spec.matches ?? []) r.createMatch(name, params);
  r.createTarget(spec.target[0], spec.target[1]);
  return r;
}`;

const CASES: Case[] = [
  {
    name: 'DNAT',
    table: 'nat',
    chain: 'PREROUTING',
    cli: (f) => ['-p', 'tcp', '-j', 'DNAT', '--to-destination', f === 6 ? '[2001:db8::1]:80' : '10.0.0.1:80'],
    spec: (f) => ({ protocol: 'tcp', target: ['DNAT', { toDestination: f === 6 ? '[2001:db8::1]:80' : '10.0.0.1:80' }] }),
  },
  {
    name: 'SNAT',
    table: 'nat',
    chain: 'POSTROUTING',
    cli: (f) => ['-o', 'eth0', '-j', 'SNAT', '--to-source', addr(f, 1)],
    spec: (f) => ({ out: 'eth0', target: ['SNAT', { toSource: addr(f, 1) }] }),
  },
  {
    name: 'MASQUERADE',
    table: 'nat',
    chain: 'POSTROUTING',
    cli: () => ['-p', 'tcp', '-o', 'eth0', '-j', 'MASQUERADE', '--to-ports', '1024-2000', '--random'],
    spec: () => ({ protocol: 'tcp', out: 'eth0', target: ['MASQUERADE', { toPorts: '1024-2000', random: true }] }),
  },
  {
    name: 'REDIRECT',
    table: 'nat',
    chain: 'OUTPUT',
    cli: () => ['-p', 'tcp', '-j', 'REDIRECT', '--to-ports', '8080'],
    spec: () => ({ protocol: 'tcp', target: ['REDIRECT', { toPorts: '8080' }] }),
  },
  {
    name: 'TCPMSS',
    table: 'mangle',
    chain: 'FORWARD',
    cli: () => ['-p', 'tcp', '--tcp-flags', 'SYN,RST', 'SYN', '-j', 'TCPMSS', '--clamp-mss-to-pmtu'],
    spec: () => ({
      protocol: 'tcp',
      matches: [['tcp', { tcpFlags: ['SYN,RST', 'SYN'] }]],
      target: ['TCPMSS', { clampMssToPmtu: true }],
    }),
  },
  {
    name: 'TCPMSS --set-mss',
    table: 'filter',
    chain: 'FORWARD',
    cli: () => ['-p', 'tcp', '--tcp-flags', 'SYN,RST', 'SYN', '-j', 'TCPMSS', '--set-mss', '1400'],
    spec: () => ({
      protocol: 'tcp',
      matches: [['tcp', { 'tcp-flags': ['SYN,RST', 'SYN'] }]],
      target: ['TCPMSS', { 'set-mss': '1400' }],
    }),
  },
  {
    name: 'TEE',
    table: 'mangle',
    chain: 'PREROUTING',
    cli: (f) => ['-j', 'TEE', '--gateway', addr(f, 2)],
    spec: (f) => ({ target: ['TEE', { gateway: addr(f, 2) }] }),
  },
  {
    name: 'TPROXY',
    table: 'mangle',
    chain: 'PREROUTING',
    cli: (f) => ['-p', 'tcp', '-j', 'TPROXY', '--on-port', '8080', '--on-ip', addr(f, 3), '--tproxy-mark', '0x1/0x1'],
    spec: (f) => ({ protocol: 'tcp', target: ['TPROXY', { onPort: '8080', onIp: addr(f, 3), tproxyMark: '0x1/0x1' }] }),
  },
  {
    name: 'TPROXY (port only)',
    table: 'mangle',
    chain: 'PREROUTING',
    cli: () => ['-p', 'udp', '-j', 'TPROXY', '--on-port', '53'],
    spec: () => ({ protocol: 'udp', target: ['TPROXY', { on_port: '53' }] }),
  },
  {
    name: 'HMARK',
    table: 'mangle',
    chain: 'PREROUTING',
    cli: () => ['-j', 'HMARK', '--hmark-tuple', 'src,dst,proto', '--hmark-mod', '10', '--hmark-offset', '100', '--hmark-rnd', '0xcafe'],
    spec: () => ({
      target: ['HMARK', { hmarkTuple: 'src,dst,proto', hmarkMod: '10', hmarkOffset: '100', hmarkRnd: '0xcafe' }],
    }),
  },
  {
    name: 'DSCP --set-dscp',
    table: 'mangle',
    chain: 'POSTROUTING',
    cli: () => ['-j', 'DSCP', '--set-dscp', '10'],
    spec: () => ({ target: ['DSCP', { setDscp: '10' }] }),
  },
  {
    name: 'DSCP --set-dscp-class',
    table: 'mangle',
    chain: 'OUTPUT',
    cli: () => ['-j', 'DSCP', '--set-dscp-class', 'EF'],
    spec: () => ({ target: ['DSCP', { setDscpClass: 'EF' }] }),
  },
];

/** The line iptables-legacy-save prints for a case's rule made with the CLI (the rule is deleted again). */
const cliCache = new Map<string, string>();
function cliLine(c: Case, family: Family): string {
  const key = `${c.name}/${family}`;
  const cached = cliCache.get(key);
  if (cached !== undefined) return cached;
  const args = c.cli(family);
  ipt(['-t', c.table, '-A', c.chain, ...args], family);
  const lines = rules(c.table, c.chain, { family });
  expect(lines).toHaveLength(1);
  ipt(['-t', c.table, '-D', c.chain, ...args], family);
  expect(rules(c.table, c.chain, { family })).toEqual([]);
  cliCache.set(key, lines[0]!);
  return lines[0]!;
}

/** Makes the rule with the CLI, reads its saved line, deletes it, then makes it with our API and compares. */
function compareWithCli(c: Case, family: Family): void {
  const expected = cliLine(c, family);
  const before = save(c.table, { family });

  const rule = build(c.spec(family), family);
  expect(rule.toString()).toBe(expected);
  const t = table(family, c.table);
  t.chain(c.chain).appendRule(rule);
  expect(rules(c.table, c.chain, { family })).toEqual([expected]);
  // Nothing else in the table changed.
  expect(save(c.table, { family }).replace(`-A ${c.chain} ${expected}\n`, '')).toBe(before);
  // Read back: the same text, the target by name, and the kernel rule deletes by equality.
  const back = t.chain(c.chain).rules;
  expect(back.map((r) => r.toString())).toEqual([expected]);
  expect(back[0]!.target?.name).toBe(c.spec(family).target[0]);
  expect(back[0]!.target?.standardTarget).toBeNull();
  t.chain(c.chain).deleteRule(build(c.spec(family), family));
  expect(rules(c.table, c.chain, { family })).toEqual([]);
}

describe('per-family targets, IPv6 first then IPv4, then IPv6 again', () => {
  for (const c of CASES) {
    it(`${c.name}: IPv6 then IPv4 then IPv6, same lines as the CLI`, () => {
      compareWithCli(c, 6);
      compareWithCli(c, 4);
      compareWithCli(c, 6);
    });
  }
});

describe('per-family targets, IPv4 first then IPv6, then IPv4 again', () => {
  for (const c of CASES) {
    it(`${c.name}: IPv4 then IPv6 then IPv4, same lines as the CLI`, () => {
      compareWithCli(c, 4);
      compareWithCli(c, 6);
      compareWithCli(c, 4);
    });
  }
});

describe('DNAT for both families at once', () => {
  it('keeps IPv4 and IPv6 DNAT rules built before either is committed', () => {
    const r6 = build(CASES[0]!.spec(6), 6);
    const r4 = build(CASES[0]!.spec(4), 4);
    const r6b = build(CASES[0]!.spec(6), 6);
    table(6, 'nat').chain('PREROUTING').appendRule(r6);
    table(4, 'nat').chain('PREROUTING').appendRule(r4);
    table(6, 'nat').chain('OUTPUT').appendRule(r6b);
    expect(rules('nat', 'PREROUTING', { family: 4 })).toEqual(['-p tcp -j DNAT --to-destination 10.0.0.1:80']);
    expect(rules('nat', 'PREROUTING', { family: 6 })).toEqual(['-p tcp -j DNAT --to-destination [2001:db8::1]:80']);
    expect(rules('nat', 'OUTPUT', { family: 6 })).toEqual(['-p tcp -j DNAT --to-destination [2001:db8::1]:80']);
    // Parameters read back through each family's own extension.
    expect(table(4, 'nat').chain('PREROUTING').rules[0]!.target?.parameters).toEqual({ 'to-destination': '10.0.0.1:80' });
    expect(table(6, 'nat').chain('PREROUTING').rules[0]!.target?.parameters).toEqual({
      'to-destination': '[2001:db8::1]:80',
    });
  });

  it('refuses an address of the other family in DNAT with XTablesError, kernel unchanged', () => {
    const before4 = save('nat', { family: 4 });
    const before6 = save('nat', { family: 6 });
    const e4 = thrown(() => {
      const r = new Rule();
      r.protocol = 'tcp';
      r.createTarget('DNAT', { toDestination: '[2001:db8::1]:80' });
      table(4, 'nat').chain('PREROUTING').appendRule(r);
    });
    expect(e4).toBeInstanceOf(XTablesError);
    const e6 = thrown(() => {
      const r = new Rule6();
      r.protocol = 'tcp';
      r.createTarget('DNAT', { toDestination: '10.0.0.1:80' });
      table(6, 'nat').chain('PREROUTING').appendRule(r);
    });
    expect(e6).toBeInstanceOf(XTablesError);
    expect(save('nat', { family: 4 })).toBe(before4);
    expect(save('nat', { family: 6 })).toBe(before6);
  });
});

describe('first load of each per-family target in a fresh process', () => {
  for (const order of [[6, 4], [4, 6]] as Family[][]) {
    it(`IPv${order[0]} first, then IPv${order[1]}: every target works and gives the CLI's line`, () => {
      const jobs = order.flatMap((family) =>
        CASES.map((c) => ({ family, table: c.table, chain: c.chain, spec: c.spec(family), expected: cliLine(c, family) })),
      );
      const res = runFresh(`
        const build = ${BUILD_JS};
        const out = [];
        for (const job of ${JSON.stringify(jobs)}) {
          try {
            const t = job.family === 6 ? new iptc.Table6(job.table) : new iptc.Table(job.table);
            t.chain(job.chain).appendRule(build(job.spec, job.family));
            out.push(t.chain(job.chain).rules.at(-1).toString());
            t.chain(job.chain).flush();
            t.close();
          } catch (e) {
            out.push(e.name + ': ' + e.message);
          }
        }
        return out;`);
      expect(res.stderr).not.toMatch(/Segmentation|Abort|core dumped/);
      expect(res.status).toBe(0);
      const got = (res.result as { result: string[] }).result;
      expect(got.map((line, i) => `IPv${jobs[i]!.family} ${line}`)).toEqual(
        jobs.map((j) => `IPv${j.family} ${j.expected}`),
      );
    });
  }
});

describe('set match against sets made with the ipset CLI', () => {
  it('matches an IPv4 hash:ip set, as the CLI does', () => {
    run('ipset', ['create', 'blk4', 'hash:ip']);
    run('ipset', ['add', 'blk4', '10.1.2.3']);
    ipt(['-A', 'INPUT', '-m', 'set', '--match-set', 'blk4', 'src', '-j', 'DROP']);
    ipt(['-A', 'INPUT', '-m', 'set', '!', '--match-set', 'blk4', 'src,dst', '-j', 'ACCEPT']);
    const expected = rules('filter', 'INPUT');
    expect(expected).toEqual(['-m set --match-set blk4 src -j DROP', '-m set ! --match-set blk4 src,dst -j ACCEPT']);
    ipt(['-F', 'INPUT']);

    const c = table(4, 'filter').chain('INPUT');
    const a = new Rule();
    a.createMatch('set', { matchSet: ['blk4', 'src'] });
    a.createTarget('DROP');
    const b = new Rule();
    b.createMatch('set', { 'match-set': ['!', 'blk4', 'src,dst'] });
    b.createTarget('ACCEPT');
    c.appendRule(a);
    c.appendRule(b);
    expect(rules('filter', 'INPUT')).toEqual(expected);
    const back = table(4, 'filter').chain('INPUT').rules;
    expect(back.map((r) => r.matches[0]!.name)).toEqual(['set', 'set']);
    expect(back.map((r) => r.toString())).toEqual(expected);
  });

  it('matches an IPv6 hash:ip family inet6 set, as the CLI does', () => {
    run('ipset', ['create', 'blk6', 'hash:ip', 'family', 'inet6']);
    run('ipset', ['add', 'blk6', '2001:db8::42']);
    ipt(['-A', 'FORWARD', '-m', 'set', '--match-set', 'blk6', 'dst', '-j', 'DROP'], 6);
    const expected = rules('filter', 'FORWARD', { family: 6 });
    expect(expected).toEqual(['-m set --match-set blk6 dst -j DROP']);
    ipt(['-F', 'FORWARD'], 6);

    const r = new Rule6();
    r.createMatch('set', { match_set: ['blk6', 'dst'] });
    r.createTarget('DROP');
    table(6, 'filter').chain('FORWARD').appendRule(r);
    expect(rules('filter', 'FORWARD', { family: 6 })).toEqual(expected);
    expect(table(6, 'filter').chain('FORWARD').rules[0]!.matches[0]!.name).toBe('set');
  });

  it('refuses a missing set with XTablesError "doesn\'t exist", kernel unchanged, for both families', () => {
    for (const family of [4, 6] as Family[]) {
      const before = save('filter', { family });
      const err = thrown(() => {
        const r = newRule(family);
        r.createMatch('set', { matchSet: ['nosuchset', 'src'] });
        r.createTarget('DROP');
        table(family, 'filter').chain('INPUT').appendRule(r);
      });
      expect(err).toBeInstanceOf(XTablesError);
      expect((err as XTablesError).extension).toBe('set');
      expect((err as XTablesError).message).toMatch(/Set nosuchset doesn't exist/);
      expect(save('filter', { family })).toBe(before);
    }
    // The process is fine afterwards.
    run('ipset', ['create', 'late', 'hash:ip']);
    const r = new Rule();
    r.createMatch('set', { matchSet: ['late', 'src'] });
    table(4, 'filter').chain('INPUT').appendRule(r);
    expect(rules('filter', 'INPUT')).toEqual(['-m set --match-set late src']);
  });

  it('refuses a set of the other family with XTablesError, kernel unchanged', () => {
    run('ipset', ['create', 'only4', 'hash:ip']);
    run('ipset', ['create', 'only6', 'hash:ip', 'family', 'inet6']);
    for (const [family, set] of [[6, 'only4'], [4, 'only6']] as [Family, string][]) {
      const before = save('filter', { family });
      const err = thrown(() => {
        const r = newRule(family);
        r.createMatch('set', { matchSet: [set, 'src'] });
        table(family, 'filter').chain('INPUT').appendRule(r);
      });
      expect(err).toBeInstanceOf(XTablesError);
      expect((err as Error).message).toMatch(/protocol family of set/);
      expect(save('filter', { family })).toBe(before);
    }
  });
});
