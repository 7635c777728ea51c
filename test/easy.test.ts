// iptc/easy rule dictionaries against the kernel: dictionary -> kernel -> line of the backend's iptables-save
// (iptables-legacy-save or iptables-nft-save, test/kernel.ts) -> dictionary, for every kind of value,
// python-iptables' own examples (README, the recent + REJECT test), bad dictionaries that must throw and leave
// the kernel as it was, and a JSON file of rules written for python-iptables loading unchanged.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as easy from '../src/easy/index.js';
import { IPTCError, Rule, Rule6, XTablesError } from '../src/iptc/index.js';
import { ipt, resetKernel, rules, run, save, thrown, tools, type Family } from './kernel.js';

const { decodeRule, encodeRule } = easy;

beforeEach(() => {
  resetKernel();
});

afterEach(() => {
  easy.batchAbort();
});

function withoutCounters(d: easy.RuleDict | easy.RuleDict[] | null): easy.RuleDict {
  expect(d).not.toBeNull();
  expect(Array.isArray(d)).toBe(false);
  const { counters, ...rest } = d as easy.RuleDict;
  expect(counters).toBeDefined();
  return rest;
}

describe('python-iptables examples', () => {
  it('README: encode, insert, iptables-save, decode', () => {
    const ruleD = { comment: { comment: 'Match tcp.22' }, protocol: 'tcp', target: 'ACCEPT', tcp: { dport: '22' } };
    const rule = encodeRule(ruleD);
    expect(rule).toBeInstanceOf(Rule);
    expect(rule.toString()).toBe('-p tcp -m comment --comment "Match tcp.22" -m tcp --dport 22 -j ACCEPT');
    // python-iptables' README shows the decoded rule without counters (an older version); ours has them.
    expect(decodeRule(rule)).toEqual({
      tcp: { dport: '22' },
      protocol: 'tcp',
      comment: { comment: 'Match tcp.22' },
      target: 'ACCEPT',
      counters: [0, 0],
    });

    easy.insertRule('filter', 'INPUT', ruleD);
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m comment --comment "Match tcp.22" -m tcp --dport 22 -j ACCEPT']);
    expect(withoutCounters(easy.getRule('filter', 'INPUT', 1))).toEqual(ruleD);
  });

  it('tests/test_matches.py TestRecentMatch: recent + REJECT round trip in a user chain', () => {
    const table = 'filter';
    const chain = 'iptc_test_recent';
    easy.deleteChain(table, chain, { flush: true, raiseExc: false });
    expect(easy.addChain(table, chain, { raiseExc: true })).toBe(true);
    const ruleD = {
      protocol: 'udp',
      recent: { mask: '255.255.255.255', update: '', seconds: '60', rsource: '', name: 'UDP-PORTSCAN' },
      target: { REJECT: { 'reject-with': 'icmp-port-unreachable' } },
    };
    easy.addRule(table, chain, ruleD);
    expect(rules(table, chain)).toEqual([
      '-p udp -m recent --update --seconds 60 --name UDP-PORTSCAN --mask 255.255.255.255 --rsource -j REJECT --reject-with icmp-port-unreachable',
    ]);
    const rule2D = easy.getRule(table, chain, -1) as easy.RuleDict;
    delete rule2D['counters'];
    expect(rule2D).toEqual(ruleD);
    easy.deleteChain(table, chain, { flush: true, raiseExc: false });
    expect(save()).not.toContain(chain);
  });
});

interface Case {
  what: string;
  family?: Family;
  table?: string;
  chain?: string;
  /** The canonical dictionary (what decodeRule gives), without counters. */
  d: easy.RuleDict;
  line: string;
  setup?: () => void;
}

const cases: Case[] = [
  { what: 'addresses in CIDR form, a host as /32', d: { src: '10.0.0.0/8', dst: '192.168.1.1/32', target: 'ACCEPT' }, line: '-s 10.0.0.0/8 -d 192.168.1.1/32 -j ACCEPT' },
  { what: 'a non-contiguous mask stays dotted', d: { src: '10.0.0.0/255.0.255.0', target: 'DROP' }, line: '-s 10.0.0.0/255.0.255.0 -j DROP' },
  {
    what: 'negated addresses, interfaces and protocol',
    chain: 'FORWARD',
    d: { src: '!10.0.0.0/8', dst: '!172.16.0.0/12', protocol: '!udp', 'in-interface': '!eth0', 'out-interface': 'ppp+', target: 'DROP' },
    line: '! -s 10.0.0.0/8 ! -d 172.16.0.0/12 ! -i eth0 -o ppp+ ! -p udp -j DROP',
  },
  { what: 'a numeric protocol', d: { protocol: '200', target: 'DROP' }, line: '-p 200 -j DROP' },
  { what: 'fragment and negated fragment', d: { fragment: true, target: 'DROP' }, line: '-f -j DROP' },
  { what: 'negated fragment (python cannot say it)', d: { fragment: '!', target: 'DROP' }, line: '! -f -j DROP' },
  {
    what: 'negated parameters and negated flags',
    d: { protocol: 'tcp', tcp: { sport: ['!', '1024:65535'], dport: ['!', '80'], 'tcp-flags': ['!', 'FIN,SYN,RST,ACK', 'SYN'] }, target: 'ACCEPT' },
    line: '-p tcp -m tcp ! --sport 1024:65535 ! --dport 80 ! --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT',
  },
  {
    what: 'multi-argument options',
    d: { protocol: 'tcp', tcp: { 'tcp-flags': ['FIN,SYN,RST,ACK', 'SYN'] }, target: 'ACCEPT' },
    line: '-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT',
  },
  {
    what: 'a set match with two arguments',
    setup: () => run('ipset', ['create', 'blacklist', 'hash:ip']),
    d: { set: { 'match-set': ['blacklist', 'src'] }, target: 'DROP' },
    line: '-m set --match-set blacklist src -j DROP',
  },
  {
    what: 'a negated multi-argument option',
    setup: () => run('ipset', ['create', 'blacklist', 'hash:ip']),
    d: { set: { 'match-set': ['!', 'blacklist', 'src,dst'] }, target: 'DROP' },
    line: '-m set ! --match-set blacklist src,dst -j DROP',
  },
  {
    what: 'repeated matches as a list',
    d: { mark: [{ mark: '0x1' }, { mark: '0x2/0xff' }], comment: [{ comment: 'one' }, { comment: 'two words' }], target: 'ACCEPT' },
    line: '-m mark --mark 0x1 -m mark --mark 0x2/0xff -m comment --comment one -m comment --comment "two words" -j ACCEPT',
  },
  {
    what: 'flags with no value',
    d: { protocol: 'udp', recent: { set: '', name: 'x', mask: '255.255.255.255', rsource: '' }, target: 'ACCEPT' },
    line: '-p udp -m recent --set --name x --mask 255.255.255.255 --rsource -j ACCEPT',
  },
  {
    what: 'goto a user chain',
    setup: () => easy.addChain('filter', 'next'),
    d: { protocol: 'tcp', target: { goto: 'next' } },
    line: '-p tcp -g next',
  },
  {
    what: 'a jump to a user chain',
    setup: () => easy.addChain('filter', 'next'),
    d: { 'in-interface': 'eth1', target: 'next' },
    line: '-i eth1 -j next',
  },
  { what: 'no target (fall through)', d: { protocol: 'tcp', tcp: { dport: '80' } }, line: '-p tcp -m tcp --dport 80' },
  {
    what: 'a target with parameters',
    d: { target: { LOG: { 'log-prefix': 'in: ', 'log-level': '6', 'log-uid': '' } } },
    line: '-j LOG --log-prefix "in: " --log-level 6 --log-uid',
  },
  {
    what: 'REJECT with tcp-reset',
    d: { protocol: 'tcp', target: { REJECT: { 'reject-with': 'tcp-reset' } } },
    line: '-p tcp -j REJECT --reject-with tcp-reset',
  },
  {
    what: 'DNAT in nat',
    table: 'nat',
    chain: 'PREROUTING',
    d: { dst: '192.168.1.2/32', protocol: 'tcp', tcp: { dport: '8080' }, target: { DNAT: { 'to-destination': '10.0.0.5:80' } } },
    line: '-d 192.168.1.2/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80',
  },
  {
    what: 'MARK in mangle (defaults printed)',
    table: 'mangle',
    chain: 'PREROUTING',
    d: { protocol: 'udp', udp: { dport: '1234' }, target: { MARK: { 'set-xmark': '0xffff/0xffffffff' } } },
    line: '-p udp -m udp --dport 1234 -j MARK --set-xmark 0xffff/0xffffffff',
  },
  {
    what: 'IPv6 addresses, icmp6 and REJECT',
    family: 6,
    d: { src: '2001:db8::/32', dst: '::1/128', protocol: 'icmpv6', icmp6: { 'icmpv6-type': '128' }, target: { REJECT: { 'reject-with': 'icmp6-adm-prohibited' } } },
    line: '-s 2001:db8::/32 -d ::1/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j REJECT --reject-with icmp6-adm-prohibited',
  },
  {
    what: 'IPv6 negations, goto and a repeated match',
    family: 6,
    setup: () => easy.addChain('filter', 'next6', { ipv6: true }),
    d: { src: '!2001:db8::1/128', 'in-interface': '!wlan+', protocol: 'tcp', tcp: { dport: ['!', '22'] }, comment: [{ comment: 'a' }, { comment: 'b' }], target: { goto: 'next6' } },
    line: '! -s 2001:db8::1/128 ! -i wlan+ -p tcp -m tcp ! --dport 22 -m comment --comment a -m comment --comment b -g next6',
  },
];

describe('round trips: dictionary -> kernel -> iptables-save -> dictionary', () => {
  it.each(cases)('$what', (c) => {
    const family = c.family ?? 4;
    const table = c.table ?? 'filter';
    const chain = c.chain ?? 'INPUT';
    const ipv6 = family === 6;
    c.setup?.();
    const canonical = { ...c.d, counters: [0, 0] };
    expect(decodeRule(encodeRule(canonical, { ipv6 }), { ipv6 })).toEqual(canonical);
    expect(encodeRule(c.d, { ipv6 }).toString()).toBe(c.line);

    easy.addRule(table, chain, c.d, 0, { ipv6 });
    expect(rules(table, chain, { family })).toEqual([c.line]);
    expect(easy.getRule(table, chain, 1, { ipv6 })).toEqual(canonical);
    expect(easy.dumpChain(table, chain, { ipv6 })).toEqual([canonical]);
    expect(easy.hasRule(table, chain, c.d, { ipv6 })).toBe(true);

    easy.deleteRule(table, chain, c.d, { ipv6 });
    expect(rules(table, chain, { family })).toEqual([]);

    // The same line given to the CLI decodes to the same dictionary.
    run('sh', ['-c', `${tools.iptables(family)} -t ${table} -A ${chain} ${c.line}`]);
    expect(rules(table, chain, { family })).toEqual([c.line]);
    expect(easy.getRule(table, chain, -1, { ipv6 })).toEqual(canonical);
  });

  it('a rule the CLI added decodes to the dictionary that re-creates it', () => {
    easy.addChain('filter', 'sub');
    ipt(['-A', 'INPUT', '-s', '10.1.2.3', '-p', 'tcp', '-m', 'multiport', '!', '--dports', '80,443', '-m', 'comment', '--comment', 'from the CLI', '-g', 'sub']);
    const d = easy.getRule('filter', 'INPUT', 1) as easy.RuleDict;
    expect(d).toEqual({
      src: '10.1.2.3/32',
      protocol: 'tcp',
      multiport: { dports: ['!', '80,443'] },
      comment: { comment: 'from the CLI' },
      target: { goto: 'sub' },
      counters: [0, 0],
    });
    const line = rules('filter', 'INPUT')[0];
    easy.flushChain('filter', 'INPUT');
    easy.addRule('filter', 'INPUT', d);
    expect(rules('filter', 'INPUT')).toEqual([line]);
  });

  it('counters: written with the rule, read back as numbers (bigints when too large)', () => {
    easy.addRule('filter', 'INPUT', { protocol: 'udp', target: 'ACCEPT', counters: [5, 600] });
    easy.addRule('filter', 'INPUT', { protocol: 'tcp', target: 'ACCEPT', counters: [2n ** 60n, 9007199254740993n] });
    expect(rules('filter', 'INPUT', { counters: true })).toEqual([
      '[5:600] -p udp -j ACCEPT',
      `[${2n ** 60n}:9007199254740993] -p tcp -j ACCEPT`,
    ]);
    expect(easy.getRule('filter', 'INPUT', 1)).toEqual({ protocol: 'udp', target: 'ACCEPT', counters: [5, 600] });
    expect(easy.getRule('filter', 'INPUT', 2)).toEqual({ protocol: 'tcp', target: 'ACCEPT', counters: [2n ** 60n, 9007199254740993n] });
    expect(easy.getRuleCounters('filter', 'INPUT', { protocol: 'udp', target: 'ACCEPT' })).toEqual([5, 600]);
  });

  it('non-canonical input forms give the canonical dictionary', () => {
    const d = encodeRule({ src: '10.0.0.7/24', dst: '10.0.0.1', protocol: 'TCP', comment: 'plain value', tcp: { dport: 22 }, target: { ACCEPT: {} } });
    expect(decodeRule(d)).toEqual({
      src: '10.0.0.0/24',
      dst: '10.0.0.1/32',
      protocol: 'tcp',
      comment: { comment: 'plain value' },
      tcp: { dport: '22' },
      target: 'ACCEPT',
      counters: [0, 0],
    });
    // A flag inverted with '!' alone, as python's get_all_parameters gives it.
    expect(encodeRule({ protocol: 'tcp', tcp: { syn: '!' } }).toString()).toBe('-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN');
    // A plain list repeats a single-parameter match.
    expect(encodeRule({ comment: ['a', 'b'] }).toString()).toBe('-m comment --comment a -m comment --comment b');
    expect(encodeRule({ src: '2001:db8::1' }, { ipv6: true })).toBeInstanceOf(Rule6);
    expect(decodeRule(encodeRule({ src: '2001:db8::1' }, { ipv6: true }))).toEqual({ src: '2001:db8::1/128', counters: [0, 0] });
  });

  it('encodeRule does not change the dictionary it is given', () => {
    const d = Object.freeze({ protocol: 'tcp', tcp: Object.freeze({ dport: '22' }) });
    encodeRule(d);
    expect(d).toEqual({ protocol: 'tcp', tcp: { dport: '22' } });
  });
});

describe('bad dictionaries throw and leave the kernel unchanged', () => {
  const bad: [string, easy.RuleDict, new (...args: never[]) => Error][] = [
    ['an unknown match', { nosuchmatch: { foo: '1' }, target: 'ACCEPT' }, XTablesError],
    ['parameters for an unknown target', { target: { NOSUCHTARGET: { foo: '1' } } }, XTablesError],
    ['a parameter the match does not have', { protocol: 'tcp', tcp: { nosuchoption: '1' } }, XTablesError],
    ['a value the match refuses', { protocol: 'tcp', tcp: { dport: 'notaport' } }, XTablesError],
    ['a bad state', { state: { state: 'RELATED,ESTABLISHED,FOOBAR' } }, XTablesError],
    ['a target parameter the target refuses', { target: { REJECT: { 'reject-with': 'bogus' } } }, XTablesError],
    ['a target failing its final check', { target: { MARK: {} } }, XTablesError],
    ['a bad address', { src: '10.0.0.300', target: 'DROP' }, TypeError],
    ['a bad prefix length', { src: '10.0.0.0/33', target: 'DROP' }, RangeError],
    ['a too long interface name', { 'in-interface': 'averyveryverylongname', target: 'DROP' }, RangeError],
    ['a target with two names', { target: { ACCEPT: {}, DROP: {} } }, TypeError],
    ['python-style underscore field', { in_interface: 'eth0', target: 'DROP' }, TypeError],
    ['bad counters', { counters: [1], target: 'DROP' }, TypeError],
    ['a non-boolean fragment', { fragment: 'yes', target: 'DROP' }, TypeError],
  ];

  it.each(bad)('%s', (_what, d, type) => {
    easy.addRule('filter', 'INPUT', { target: 'ACCEPT' });
    const before = save();
    expect(thrown(() => easy.addRule('filter', 'INPUT', d))).toBeInstanceOf(type);
    expect(thrown(() => easy.insertRule('filter', 'INPUT', d))).toBeInstanceOf(type);
    expect(thrown(() => easy.batchAddRules('filter', [['INPUT', { target: 'DROP' }, 0], ['INPUT', d, 0]]))).toBeInstanceOf(type);
    expect(easy.testRule(d)).toBe(false);
    expect(save()).toBe(before);
  });

  it('a rule the kernel refuses (tcp match without -p tcp) throws IPTCError and changes nothing', () => {
    const before = save();
    const err = thrown(() => easy.addRule('filter', 'INPUT', { tcp: { dport: '22' }, target: 'ACCEPT' }));
    expect(err).toBeInstanceOf(IPTCError);
    expect((err as IPTCError).errno).toBe(22);
    expect(save()).toBe(before);
  });

  it('a missing chain, a missing jump target, a bad position', () => {
    const before = save();
    expect(thrown(() => easy.addRule('filter', 'NOPE', { target: 'ACCEPT' }))).toBeInstanceOf(IPTCError);
    expect(thrown(() => easy.addRule('filter', 'INPUT', { target: 'nochain' }))).toBeInstanceOf(IPTCError);
    expect(thrown(() => easy.addRule('filter', 'INPUT', { target: 'ACCEPT' }, 5))).toBeInstanceOf(IPTCError);
    expect(thrown(() => easy.addRule('filter', 'INPUT', { target: 'ACCEPT' }, 1.5))).toBeInstanceOf(TypeError);
    expect(thrown(() => easy.deleteRule('filter', 'INPUT', { target: 'ACCEPT' }))).toBeInstanceOf(IPTCError);
    expect(save()).toBe(before);
  });
});

describe('a JSON file of rule dictionaries written for python-iptables', () => {
  const file = new URL('./fixtures/easy-rules.json', import.meta.url);
  const expected: Record<string, string[]> = {
    filter: [
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':blocklist - [0:0]',
      ':logdrop - [0:0]',
      '-A INPUT -i lo -j ACCEPT',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A INPUT -p tcp -m comment --comment "Match tcp.22" -m tcp --dport 22 -j ACCEPT',
      '-A INPUT -p tcp -m multiport --dports 80,443 -m comment --comment web -j ACCEPT',
      '-A INPUT -s 192.168.1.0/24 -p udp -m udp --dport 53 -j ACCEPT',
      '-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 5/sec --limit-burst 10 -j ACCEPT',
      '-A INPUT -p udp -m recent --update --seconds 60 --name UDP-PORTSCAN --mask 255.255.255.255 --rsource -j REJECT --reject-with icmp-port-unreachable',
      '-A INPUT -s 10.0.0.1/32 -g blocklist',
      '-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m mark --mark 0x1 -m mark --mark 0x2 -j logdrop',
      '-A INPUT -p tcp -m tcp ! --dport 22 -m iprange --src-range 192.168.1.100-192.168.1.200 -j DROP',
      '-A FORWARD ! -d 10.0.0.0/8 -i eth+ ! -o ppp0 -j DROP',
      '-A FORWARD -f -j DROP',
      '-A blocklist -j LOG --log-prefix "blocked: " --log-level 6',
      '-A blocklist -j DROP',
      '-A logdrop -j LOG --log-prefix "dropped "',
      '-A logdrop -j DROP',
    ],
    nat: [
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A PREROUTING -d 192.168.1.2/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80',
      '-A POSTROUTING -o eth0 -p tcp -j MASQUERADE --to-ports 1234',
    ],
    mangle: [
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A PREROUTING -d 192.168.1.2/32 -p udp -m udp --dport 1234 -j MARK --set-xmark 0xffff/0xffffffff',
    ],
  };
  const body = (table: string) =>
    save(table)
      .split('\n')
      .filter((l) => l.startsWith(':') || l.startsWith('-A'));

  /** What a python-iptables user's loader does: user chains first, then every rule appended. */
  function load(data: Record<string, Record<string, easy.RuleDict[]>>): void {
    for (const [table, chains] of Object.entries(data)) {
      for (const chain of Object.keys(chains)) if (!easy.hasChain(table, chain)) easy.addChain(table, chain);
      for (const [chain, list] of Object.entries(chains)) for (const ruleD of list) easy.addRule(table, chain, ruleD);
    }
  }

  it('loads unchanged and produces the expected kernel rules', () => {
    const text = readFileSync(file, 'utf8');
    const data = JSON.parse(text) as Record<string, Record<string, easy.RuleDict[]>>;
    load(data);
    expect(JSON.parse(text)).toEqual(data);
    for (const table of Object.keys(expected)) expect(body(table)).toEqual(expected[table]);
    for (const [table, chains] of Object.entries(data)) {
      for (const [chain, list] of Object.entries(chains)) {
        for (const ruleD of list) expect(easy.hasRule(table, chain, ruleD)).toBe(true);
      }
    }
  });

  it('loads in one batch: nothing visible until batchEnd, then the same rules', () => {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, easy.RuleDict[]>>;
    const before = Object.keys(expected).map((t) => save(t));
    easy.batchBegin();
    load(data);
    expect(Object.keys(expected).map((t) => save(t))).toEqual(before);
    easy.batchEnd();
    for (const table of Object.keys(expected)) expect(body(table)).toEqual(expected[table]);
  });

  it('dumpAll -> JSON -> flushAll -> load gives back the same tables', () => {
    load(JSON.parse(readFileSync(file, 'utf8')));
    const dumped = easy.dumpAll();
    const text = JSON.stringify(dumped);
    const saved = Object.keys(expected).map((t) => body(t));
    easy.flushAll();
    expect(body('filter')).toEqual([':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]']);
    load(JSON.parse(text));
    expect(Object.keys(expected).map((t) => body(t))).toEqual(saved);
    expect(easy.dumpAll()).toEqual(dumped);
  });
});
