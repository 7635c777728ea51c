// Bad extension parameters: each must throw XTablesError (or, where noted, another typed error) with the
// extension's own message, leave the kernel table exactly as it was, and leave the process and the
// extension usable (a valid rule with the same extension can be appended right after).
// The messages are those iptables-legacy 1.8.9 prints for the equivalent command line (after its
// "iptables v1.8.9 (legacy): " prefix); errors may surface at createMatch/set time or when the rule
// is finalized at append time, so each build + append runs inside the expectation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IPTCError, Rule, Rule6, Table, Table6, XTablesError } from '../src/iptc/index.js';
import { ipt, resetKernel, rules, run, save, thrown, type Family } from './kernel.js';

type AnyRule = Rule | Rule6;

interface Case {
  title: string;
  family?: Family;
  table?: string;
  chain?: string;
  /** The extension named in XTablesError.extension. */
  extension: string;
  /** A substring of the message: the extension's own words. */
  message: string;
  bad: (r: AnyRule) => void;
  /** A valid use of the same extension, and the line iptables-legacy-save prints for it. */
  good?: (r: AnyRule) => void;
  goodLine?: string;
  before?: () => void;
}

const open: { close(): void }[] = [];
function openTable(family: Family, name: string): Table | Table6 {
  const t = family === 6 ? new Table6(name as never) : new Table(name as never);
  open.push(t);
  return t;
}
const newRule = (family: Family): AnyRule => (family === 6 ? new Rule6() : new Rule());

const PORTS16 = Array.from({ length: 16 }, (_, i) => String(i + 1)).join(',');

const cases: Case[] = [
  {
    title: 'state with an unknown state',
    extension: 'state',
    message: 'Bad state "FOOBAR"',
    bad: (r) => r.createMatch('state', { state: 'RELATED,FOOBAR' }),
    good: (r) => r.createMatch('state', { state: 'RELATED,ESTABLISHED' }),
    goodLine: '-m state --state RELATED,ESTABLISHED',
  },
  {
    title: 'tcp with a port that is not a port',
    extension: 'tcp',
    message: "invalid port/service `notaport' specified",
    bad: (r) => {
      r.protocol = 'tcp';
      r.createMatch('tcp', { dport: 'notaport' });
    },
    good: (r) => {
      r.protocol = 'tcp';
      r.createMatch('tcp', { dport: '80' });
    },
    goodLine: '-p tcp -m tcp --dport 80',
  },
  {
    title: 'tcp with an unknown TCP flag',
    extension: 'tcp',
    message: "Unknown TCP flag `BOGUS'",
    bad: (r) => {
      r.protocol = 'tcp';
      r.createMatch('tcp', { tcpFlags: ['SYN,BOGUS', 'SYN'] });
    },
    good: (r) => {
      r.protocol = 'tcp';
      r.createMatch('tcp', { tcpFlags: ['SYN,ACK', 'SYN'] });
    },
    goodLine: '-p tcp -m tcp --tcp-flags SYN,ACK SYN',
  },
  {
    title: 'set with a set that does not exist',
    extension: 'set',
    message: "Set nosuchset doesn't exist.",
    before: () => run('ipset', ['create', 'okset', 'hash:ip']),
    bad: (r) => r.createMatch('set', { matchSet: ['nosuchset', 'src'] }),
    good: (r) => r.createMatch('set', { matchSet: ['okset', 'src'] }),
    goodLine: '-m set --match-set okset src',
  },
  {
    title: 'MARK without any option (final check)',
    table: 'mangle',
    chain: 'PREROUTING',
    extension: 'MARK',
    message: 'One of the --set-xmark, --{and,or,xor,set}-mark options is required',
    bad: (r) => r.createTarget('MARK'),
    good: (r) => r.createTarget('MARK', { setMark: '0x1' }),
    goodLine: '-j MARK --set-xmark 0x1/0xffffffff',
  },
  {
    title: 'conntrack with an inverted --ctdir',
    extension: 'conntrack',
    message: 'option "--ctdir" cannot be inverted.',
    bad: (r) => r.createMatch('conntrack', { ctdir: '!ORIGINAL' }),
    good: (r) => r.createMatch('conntrack', { ctdir: 'ORIGINAL' }),
    goodLine: '-m conntrack --ctdir ORIGINAL',
  },
  {
    title: 'conntrack with an unknown ctstate',
    extension: 'conntrack',
    message: 'Bad ctstate "FOOBAR"',
    bad: (r) => r.createMatch('conntrack', { ctstate: 'FOOBAR' }),
    good: (r) => r.createMatch('conntrack', { ctstate: 'ESTABLISHED' }),
    goodLine: '-m conntrack --ctstate ESTABLISHED',
  },
  {
    title: 'DNAT with a port but no -p tcp',
    table: 'nat',
    chain: 'PREROUTING',
    extension: 'DNAT',
    message: 'Need TCP, UDP, SCTP or DCCP with port specification',
    bad: (r) => r.createTarget('DNAT', { toDestination: '10.0.0.1:80' }),
    good: (r) => {
      r.protocol = 'tcp';
      r.createTarget('DNAT', { toDestination: '10.0.0.1:80' });
    },
    goodLine: '-p tcp -j DNAT --to-destination 10.0.0.1:80',
  },
  {
    title: 'DNAT without --to-destination (final check)',
    table: 'nat',
    chain: 'PREROUTING',
    extension: 'DNAT',
    message: 'DNAT: option "--to-destination" must be specified',
    bad: (r) => r.createTarget('DNAT'),
  },
  {
    title: 'SNAT with a bad address',
    table: 'nat',
    chain: 'POSTROUTING',
    extension: 'SNAT',
    message: 'Bad IP address "1.2.3.999"',
    bad: (r) => r.createTarget('SNAT', { toSource: '1.2.3.999' }),
    good: (r) => r.createTarget('SNAT', { toSource: '1.2.3.4' }),
    goodLine: '-j SNAT --to-source 1.2.3.4',
  },
  {
    title: 'multiport with 16 ports',
    extension: 'multiport',
    message: 'too many ports specified',
    bad: (r) => {
      r.protocol = 'tcp';
      r.createMatch('multiport', { dports: PORTS16 });
    },
    good: (r) => {
      r.protocol = 'tcp';
      r.createMatch('multiport', { dports: '22,80' });
    },
    goodLine: '-p tcp -m multiport --dports 22,80',
  },
  {
    title: 'limit with a bad rate',
    extension: 'limit',
    message: 'bad rate "5/fortnight"',
    bad: (r) => r.createMatch('limit', { limit: '5/fortnight' }),
    good: (r) => r.createMatch('limit', { limit: '5/sec' }),
    goodLine: '-m limit --limit 5/sec',
  },
  {
    title: 'LOG with a bad level',
    extension: 'LOG',
    message: 'log level "9" unknown',
    bad: (r) => r.createTarget('LOG', { logLevel: '9' }),
    good: (r) => r.createTarget('LOG', { logLevel: 'info' }),
    goodLine: '-j LOG --log-level 6',
  },
  {
    title: 'icmp with an unknown type',
    extension: 'icmp',
    message: "Unknown ICMP type `nosuchtype'",
    bad: (r) => {
      r.protocol = 'icmp';
      r.createMatch('icmp', { icmpType: 'nosuchtype' });
    },
    good: (r) => {
      r.protocol = 'icmp';
      r.createMatch('icmp', { icmpType: 'echo-request' });
    },
    goodLine: '-p icmp -m icmp --icmp-type 8',
  },
  {
    title: 'iprange with a bad range',
    extension: 'iprange',
    message: 'Bad value for "--src-range" option: "10.0.0.300"',
    bad: (r) => r.createMatch('iprange', { srcRange: '10.0.0.300-10.0.0.5' }),
    good: (r) => r.createMatch('iprange', { srcRange: '10.0.0.1-10.0.0.5' }),
    goodLine: '-m iprange --src-range 10.0.0.1-10.0.0.5',
  },
  {
    title: 'mac with a short address',
    extension: 'mac',
    message: 'Invalid MAC address specified.',
    bad: (r) => r.createMatch('mac', { macSource: '00:11:22:33:44' }),
    good: (r) => r.createMatch('mac', { macSource: '00:11:22:33:44:55' }),
    goodLine: '-m mac --mac-source 00:11:22:33:44:55',
  },
  {
    title: 'hashlimit without a name (final check)',
    extension: 'hashlimit',
    message: 'option "--hashlimit-name" must be specified',
    bad: (r) => r.createMatch('hashlimit', { hashlimitUpto: '5/sec' }),
    good: (r) => r.createMatch('hashlimit', { hashlimitUpto: '5/sec', hashlimitName: 'ok' }),
    goodLine: '-m hashlimit --hashlimit-upto 5/sec --hashlimit-burst 5 --hashlimit-name ok',
  },
  {
    title: 'REJECT with an unknown reject type',
    extension: 'REJECT',
    message: 'unknown reject type "bogus"',
    bad: (r) => r.createTarget('REJECT', { rejectWith: 'bogus' }),
    good: (r) => r.createTarget('REJECT', { rejectWith: 'icmp-host-unreachable' }),
    goodLine: '-j REJECT --reject-with icmp-host-unreachable',
  },
  {
    title: 'ttl out of range',
    extension: 'ttl',
    message: 'bad value for option "--ttl-eq", or out of range (0-255).',
    bad: (r) => r.createMatch('ttl', { ttlEq: '999' }),
    good: (r) => r.createMatch('ttl', { ttlEq: '64' }),
    goodLine: '-m ttl --ttl-eq 64',
  },
  {
    title: 'addrtype with an unknown type',
    extension: 'addrtype',
    message: 'addrtype: bad type "BOGUS"',
    bad: (r) => r.createMatch('addrtype', { srcType: 'BOGUS' }),
    good: (r) => r.createMatch('addrtype', { srcType: 'LOCAL' }),
    goodLine: '-m addrtype --src-type LOCAL',
  },
  {
    title: 'pkttype with an unknown packet type',
    extension: 'pkttype',
    message: "Bad packet type 'bogus'",
    bad: (r) => r.createMatch('pkttype', { pktType: 'bogus' }),
    good: (r) => r.createMatch('pkttype', { pktType: 'unicast' }),
    goodLine: '-m pkttype --pkt-type unicast',
  },
  {
    title: 'string without a pattern (final check)',
    extension: 'string',
    message: "You must specify `--string' or `--hex-string'",
    bad: (r) => r.createMatch('string', { algo: 'bm' }),
    good: (r) => r.createMatch('string', { string: 'foo', algo: 'bm' }),
    goodLine: '-m string --string "foo" --algo bm',
  },
  {
    title: 'DSCP out of range',
    table: 'mangle',
    chain: 'PREROUTING',
    extension: 'DSCP',
    message: 'bad value for option "--set-dscp", or out of range (0-63).',
    bad: (r) => r.createTarget('DSCP', { setDscp: '99' }),
    good: (r) => r.createTarget('DSCP', { setDscp: '10' }),
    goodLine: '-j DSCP --set-dscp 0x0a',
  },
  {
    title: 'CONNMARK without an operation (final check)',
    table: 'mangle',
    chain: 'PREROUTING',
    extension: 'CONNMARK',
    message: 'CONNMARK target: No operation specified',
    bad: (r) => r.createTarget('CONNMARK'),
    good: (r) => r.createTarget('CONNMARK', { setMark: '0x1' }),
    goodLine: '-j CONNMARK --set-xmark 0x1/0xffffffff',
  },
  // IPv6
  {
    title: 'icmp6 with an unknown type (IPv6)',
    family: 6,
    extension: 'icmp6',
    message: "Unknown ICMPv6 type `nosuchtype'",
    bad: (r) => {
      r.protocol = 'ipv6-icmp';
      r.createMatch('icmp6', { icmpv6Type: 'nosuchtype' });
    },
    good: (r) => {
      r.protocol = 'ipv6-icmp';
      r.createMatch('icmp6', { icmpv6Type: 'echo-request' });
    },
    goodLine: '-p ipv6-icmp -m icmp6 --icmpv6-type 128',
  },
  {
    title: 'REJECT with an IPv4-only reject type (IPv6)',
    family: 6,
    extension: 'REJECT',
    message: 'unknown reject type "icmp-host-unreachable"',
    bad: (r) => r.createTarget('REJECT', { rejectWith: 'icmp-host-unreachable' }),
    good: (r) => r.createTarget('REJECT', { rejectWith: 'icmp6-adm-prohibited' }),
    goodLine: '-j REJECT --reject-with icmp6-adm-prohibited',
  },
  {
    title: 'DNAT with a port but no -p tcp (IPv6)',
    family: 6,
    table: 'nat',
    chain: 'PREROUTING',
    extension: 'DNAT',
    message: 'Need TCP, UDP, SCTP or DCCP with port specification',
    bad: (r) => r.createTarget('DNAT', { toDestination: '[2001:db8::1]:80' }),
    good: (r) => {
      r.protocol = 'tcp';
      r.createTarget('DNAT', { toDestination: '[2001:db8::1]:80' });
    },
    goodLine: '-p tcp -j DNAT --to-destination [2001:db8::1]:80',
  },
  {
    title: 'SNAT with an IPv4 address (IPv6)',
    family: 6,
    table: 'nat',
    chain: 'POSTROUTING',
    extension: 'SNAT',
    message: 'Bad IP address "1.2.3.4"',
    bad: (r) => r.createTarget('SNAT', { toSource: '1.2.3.4' }),
    good: (r) => r.createTarget('SNAT', { toSource: '2001:db8::2' }),
    goodLine: '-j SNAT --to-source 2001:db8::2',
  },
  {
    title: 'iprange with IPv4 addresses (IPv6)',
    family: 6,
    extension: 'iprange',
    message: 'Bad value for "--src-range" option: "10.0.0.1"',
    bad: (r) => r.createMatch('iprange', { srcRange: '10.0.0.1-10.0.0.5' }),
    good: (r) => r.createMatch('iprange', { srcRange: '2001:db8::1-2001:db8::5' }),
    goodLine: '-m iprange --src-range 2001:db8::1-2001:db8::5',
  },
  {
    title: 'hl out of range (IPv6)',
    family: 6,
    extension: 'hl',
    message: 'bad value for option "--hl-eq", or out of range (0-255).',
    bad: (r) => r.createMatch('hl', { hlEq: '999' }),
    good: (r) => r.createMatch('hl', { hlEq: '64' }),
    goodLine: '-m hl --hl-eq 64',
  },
];

const seedLine = (family: Family) => (family === 6 ? '-s 2001:db8::9/128 -j ACCEPT' : '-s 10.9.9.9/32 -j ACCEPT');

beforeEach(() => {
  resetKernel();
});

afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

describe('bad extension parameters throw XTablesError and change nothing', () => {
  it('covers at least 15 different extensions', () => {
    expect(new Set(cases.map((c) => c.extension)).size).toBeGreaterThanOrEqual(15);
  });

  for (const c of cases) {
    it(c.title, () => {
      const family = c.family ?? 4;
      const tableName = c.table ?? 'filter';
      const chainName = c.chain ?? 'INPUT';
      c.before?.();
      // A rule already in the chain, so that "unchanged" means more than "still empty".
      ipt(['-t', tableName, '-A', chainName, ...seedLine(family).split(' ')], family);
      const t = openTable(family, tableName);
      const chain = t.chain(chainName);
      const before = save(tableName, { family });

      const err = thrown(() => {
        const r = newRule(family);
        c.bad(r);
        chain.appendRule(r);
      });
      expect(err).toBeInstanceOf(XTablesError);
      const xe = err as XTablesError;
      expect(xe.extension).toBe(c.extension);
      expect(xe.message).toContain(c.message);
      expect(save(tableName, { family })).toBe(before);

      // The process and the extension are still usable.
      if (c.good) {
        const r = newRule(family);
        c.good(r);
        chain.appendRule(r);
        expect(rules(tableName, chainName, { family })).toEqual([seedLine(family), c.goodLine]);
      } else {
        const r = newRule(family);
        r.createTarget('ACCEPT');
        chain.appendRule(r);
        expect(rules(tableName, chainName, { family })).toEqual([seedLine(family), '-j ACCEPT']);
      }
    });
  }
});

describe('unknown extensions and options', () => {
  it('a match that does not exist throws XTablesError naming it', () => {
    ipt(['-A', 'INPUT', '-s', '10.9.9.9', '-j', 'ACCEPT']);
    const chain = openTable(4, 'filter').chain('INPUT');
    const before = save();
    const err = thrown(() => {
      const r = new Rule();
      r.createMatch('nosuchmatch');
      chain.appendRule(r);
    });
    expect(err).toBeInstanceOf(XTablesError);
    expect((err as XTablesError).extension).toBe('nosuchmatch');
    expect((err as XTablesError).message).toContain('nosuchmatch');
    expect(save()).toBe(before);
  });

  it('an IPv4-only match in an IPv6 rule throws XTablesError', () => {
    const chain = openTable(6, 'filter').chain('INPUT');
    const before = save('filter', { family: 6 });
    const err = thrown(() => {
      const r = new Rule6();
      r.protocol = 'icmp';
      r.createMatch('icmp', { icmpType: 'echo-request' });
      chain.appendRule(r);
    });
    expect(err).toBeInstanceOf(XTablesError);
    expect((err as XTablesError).message).toContain('icmp');
    expect(save('filter', { family: 6 })).toBe(before);
  });

  it('a target that is neither an extension nor a chain throws a typed error', () => {
    const chain = openTable(4, 'filter').chain('INPUT');
    const before = save();
    const err = thrown(() => {
      const r = new Rule();
      r.createTarget('NOSUCHTARGET');
      chain.appendRule(r);
    });
    // Not a target extension, so a jump to a chain, which the table does not have.
    expect(err).toBeInstanceOf(IPTCError);
    expect((err as IPTCError).errno).toBe(2);
    expect((err as IPTCError).message).toContain("Couldn't load target `NOSUCHTARGET'");
    expect(save()).toBe(before);
  });

  it('an option the extension does not have throws XTablesError', () => {
    const chain = openTable(4, 'filter').chain('INPUT');
    const before = save();
    const err = thrown(() => {
      const r = new Rule();
      r.protocol = 'tcp';
      r.createMatch('tcp', { nosuchoption: '1' });
      chain.appendRule(r);
    });
    expect(err).toBeInstanceOf(XTablesError);
    expect((err as XTablesError).extension).toBe('tcp');
    expect((err as XTablesError).message.toLowerCase()).toContain('nosuchoption');
    expect(save()).toBe(before);
  });

  it('a bad value set on an existing match throws at set() or at append, and the rule stays usable after fixing it', () => {
    const chain = openTable(4, 'filter').chain('INPUT');
    const r = new Rule();
    r.protocol = 'tcp';
    const m = r.createMatch('tcp', { dport: '22' });
    const err = thrown(() => {
      m.set('sport', 'notaport');
      chain.appendRule(r);
    });
    expect(err).toBeInstanceOf(XTablesError);
    expect((err as XTablesError).message).toContain("invalid port/service `notaport' specified");
    expect(rules('filter', 'INPUT')).toEqual([]);
  });
});

describe('kernel refusals are IPTCError and change nothing', () => {
  it('TCPMSS --set-mss without -p tcp: the kernel says EINVAL', () => {
    ipt(['-t', 'mangle', '-A', 'POSTROUTING', '-s', '10.9.9.9', '-j', 'ACCEPT']);
    const chain = openTable(4, 'mangle').chain('POSTROUTING');
    const before = save('mangle');
    const err = thrown(() => {
      const r = new Rule();
      r.createTarget('TCPMSS', { setMss: '1400' });
      chain.appendRule(r);
    });
    expect(err).toBeInstanceOf(IPTCError);
    expect((err as IPTCError).errno).toBe(22);
    expect(save('mangle')).toBe(before);
  });

  it('string with an unknown algorithm: the kernel says ENOENT', () => {
    const chain = openTable(4, 'filter').chain('INPUT');
    const before = save();
    const err = thrown(() => {
      const r = new Rule();
      r.createMatch('string', { string: 'foo', algo: 'nope' });
      chain.appendRule(r);
    });
    expect(err).toBeInstanceOf(IPTCError);
    expect((err as IPTCError).errno).toBe(2);
    expect(save()).toBe(before);
  });
});

describe('rule fields that are not extension parameters', () => {
  it('an IPv4 address in an IPv6 rule is a typed error', () => {
    const r = new Rule6();
    for (const bad of ['10.0.0.1', '10.0.0.0/8', '!192.168.1.1']) {
      const err = thrown(() => {
        r.src = bad;
      });
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toContain('not a valid IPv6 address');
      const err2 = thrown(() => {
        r.dst = bad;
      });
      expect(err2).toBeInstanceOf(TypeError);
    }
  });
});

describe('long comments', () => {
  it('a 300-character comment is refused or truncated to 255 characters, as iptables does', () => {
    const chain = openTable(4, 'filter').chain('INPUT');
    const before = save();
    let err: unknown;
    try {
      const r = new Rule();
      r.createMatch('comment', { comment: 'x'.repeat(300) });
      chain.appendRule(r);
    } catch (e) {
      err = e;
    }
    if (err === undefined) {
      // iptables-legacy 1.8.9 silently keeps the first 255 characters (XT_MAX_COMMENT_LEN - 1).
      expect(rules('filter', 'INPUT')).toEqual([`-m comment --comment ${'x'.repeat(255)}`]);
    } else {
      expect(err).toBeInstanceOf(XTablesError);
      expect((err as XTablesError).extension).toBe('comment');
      expect(save()).toBe(before);
    }
  });
});

describe('the process stays healthy after many refusals', () => {
  it('200 refused parameters in a row, then a valid rule', () => {
    const chain = openTable(4, 'filter').chain('INPUT');
    const before = save();
    for (let i = 0; i < 200; i++) {
      const c = cases.filter((x) => (x.family ?? 4) === 4 && (x.table ?? 'filter') === 'filter')[i % 10]!;
      if (c.before) continue;
      const err = thrown(() => {
        const r = new Rule();
        c.bad(r);
        chain.appendRule(r);
      });
      expect(err).toBeInstanceOf(XTablesError);
    }
    expect(save()).toBe(before);
    const r = new Rule();
    r.protocol = 'tcp';
    r.createMatch('tcp', { dport: '22' });
    r.createMatch('state', { state: 'NEW' });
    r.createTarget('ACCEPT');
    chain.appendRule(r);
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m tcp --dport 22 -m state --state NEW -j ACCEPT']);
  });
});
