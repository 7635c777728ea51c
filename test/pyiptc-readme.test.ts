// Every example of python-iptables' README (and doc/examples.rst), translated to this library's API and
// checked against what the kernel holds, read back through iptables-legacy-save (test/kernel.ts).
// The expected lines were taken from iptables-legacy 1.8.9 running the equivalent commands.
import { createSocket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Chain, IPTCError, Match, Rule, Table, Table6, Target, XTablesError } from '../src/iptc/index.js';
import { ipt, resetKernel, rules, run, save, thrown } from './kernel.js';

const open: { close(): void }[] = [];
function table(name: string, opts?: { autocommit?: boolean }): Table {
  const t = opts ? new Table(name as never, opts) : new Table(name as never);
  open.push(t);
  return t;
}

/** Sends `count` UDP datagrams of `size` payload bytes to 127.0.0.1:port and waits until all left. */
async function sendUdp(port: number, count: number, size: number): Promise<void> {
  const sock = createSocket('udp4');
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) =>
        sock.send(Buffer.alloc(size, 0x61), port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }
  } finally {
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

beforeEach(() => {
  resetKernel();
});

afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

describe('README: Rules', () => {
  it('sets interface, source and protocol on a rule (a rule without target is valid)', () => {
    const rule = new Rule();
    rule.inInterface = 'eth0';
    rule.src = '192.168.1.0/255.255.255.0';
    rule.protocol = 'tcp';
    expect(rule.inInterface).toBe('eth0');
    expect(rule.src).toBe('192.168.1.0/255.255.255.0');
    expect(rule.protocol).toBe('tcp');
    expect(rule.target).toBeNull();

    table('filter').chain('INPUT').insertRule(rule);
    expect(rules('filter', 'INPUT')).toEqual(['-s 192.168.1.0/24 -i eth0 -p tcp']);
  });

  it('creates a match and a target through the rule', () => {
    const rule = new Rule();
    const m = rule.createMatch('tcp');
    const t = rule.createTarget('DROP');
    expect(m.name).toBe('tcp');
    expect(t.name).toBe('DROP');
    expect(rule.matches.map((x) => x.name)).toEqual(['tcp']);
    expect(rule.target?.name).toBe('DROP');

    // The kernel refuses the tcp match without `-p tcp`: a failed commit throws and changes nothing.
    const chain = table('filter').chain('INPUT');
    const before = save();
    const err = thrown(() => chain.insertRule(rule));
    expect(err).toBeInstanceOf(IPTCError);
    expect((err as IPTCError).errno).toBe(22);
    expect(save()).toBe(before);

    rule.protocol = 'tcp';
    chain.insertRule(rule);
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m tcp -j DROP']);
  });

  it('creates a match and a target with their constructors and adds them by hand', () => {
    const rule = new Rule();
    const match = new Match(rule, 'tcp');
    const target = new Target(rule, 'DROP');
    expect(rule.matches).toHaveLength(0);
    expect(rule.target).toBeNull();
    rule.addMatch(match);
    rule.target = target;
    expect(rule.matches.map((x) => x.name)).toEqual(['tcp']);
    expect(rule.target?.name).toBe('DROP');

    rule.protocol = 'tcp';
    table('filter').chain('INPUT').insertRule(rule);
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m tcp -j DROP']);
  });

  it('sets the destination port of a tcp match', () => {
    const rule = new Rule();
    rule.protocol = 'tcp';
    const match = rule.createMatch('tcp');
    match.set('dport', '80');
    expect(match.get('dport')).toBe('80');

    table('filter').chain('INPUT').insertRule(rule);
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m tcp --dport 80']);
    const back = table('filter').chain('INPUT').rules[0]!;
    expect(back.matches[0]!.name).toBe('tcp');
    expect(back.matches[0]!.get('dport')).toBe('80');
  });

  it('matches packets marked with 0xff', () => {
    const rule = new Rule();
    rule.protocol = 'tcp';
    const match = rule.createMatch('mark');
    match.set('mark', '0xff');

    table('filter').chain('INPUT').insertRule(rule);
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m mark --mark 0xff']);
  });

  it('accepts a valid state parameter', () => {
    const rule = new Rule();
    rule.protocol = 'tcp';
    rule.target = new Target(rule, 'ACCEPT');
    const match = new Match(rule, 'state');
    const chain = new Chain(table('filter'), 'INPUT');
    match.set('state', 'RELATED,ESTABLISHED');
    rule.addMatch(match);
    chain.insertRule(rule);

    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m state --state RELATED,ESTABLISHED -j ACCEPT']);
  });

  it('refuses a bad state parameter with an XTablesError carrying the extension message', () => {
    const chain = new Chain(table('filter'), 'INPUT');
    const before = save();
    const err = thrown(() => {
      const rule = new Rule();
      rule.protocol = 'tcp';
      rule.target = new Target(rule, 'ACCEPT');
      const match = new Match(rule, 'state');
      match.set('state', 'RELATED,ESTABLISHED,FOOBAR');
      rule.addMatch(match);
      chain.insertRule(rule);
    });
    expect(err).toBeInstanceOf(XTablesError);
    expect((err as XTablesError).extension).toBe('state');
    expect((err as XTablesError).message).toContain('Bad state "FOOBAR"');
    expect(save()).toBe(before);
  });

  it('takes a comment of several words as one parameter value', () => {
    const rule = new Rule();
    rule.src = '127.0.0.1';
    rule.protocol = 'udp';
    rule.target = rule.createTarget('ACCEPT');
    const match = rule.createMatch('comment');
    match.set('comment', 'this is a test comment');
    new Chain(table('filter'), 'INPUT').insertRule(rule);

    expect(rules('filter', 'INPUT')).toEqual([
      '-s 127.0.0.1/32 -p udp -m comment --comment "this is a test comment" -j ACCEPT',
    ]);
    const back = table('filter').chain('INPUT').rules[0]!;
    expect(back.matches[0]!.get('comment')).toBe('this is a test comment');
  });

  it('passes a multi-value parameter (set match) as an array', () => {
    run('ipset', ['create', 'blacklist', 'hash:ip']);
    const rule = new Rule();
    const m = rule.createMatch('set');
    m.set('match_set', ['blacklist', 'src']);
    const chain = new Chain(table('filter'), 'INPUT');
    chain.insertRule(rule);

    expect(rules('filter', 'INPUT')).toEqual(['-m set --match-set blacklist src']);
    const back = table('filter').chain('INPUT').rules[0]!;
    expect(back.matches[0]!.name).toBe('set');
    expect(Object.values(back.matches[0]!.getAllParameters())).toContainEqual(['blacklist', 'src']);
  });
});

describe('README: Chains and tables', () => {
  it('prints every rule of the filter table', () => {
    ipt(['-N', 'custom']);
    ipt(['-A', 'INPUT', '-s', '10.0.0.0/8', '-i', 'eth0', '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    ipt(['-A', 'FORWARD', '-d', '192.168.0.1', '-o', 'eth1', '-j', 'custom']);
    ipt(['-A', 'OUTPUT', '-p', 'udp', '-m', 'comment', '--comment', 'x', '-m', 'udp', '--sport', '53', '-j', 'DROP']);

    const t = table(Table.FILTER);
    const seen: unknown[] = [];
    const protocols: unknown[] = [];
    for (const chain of t.chains) {
      for (const rule of chain.rules) {
        protocols.push(rule.protocol);
        seen.push({
          chain: chain.name,
          src: rule.src,
          dst: rule.dst,
          in: rule.inInterface ?? null,
          out: rule.outInterface ?? null,
          matches: rule.matches.map((m) => m.name),
          target: rule.target?.name,
        });
      }
    }
    expect(t.chains.map((c) => c.name)).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'custom']);
    expect(seen).toEqual([
      { chain: 'INPUT', src: '10.0.0.0/255.0.0.0', dst: '0.0.0.0/0.0.0.0', in: 'eth0', out: null, matches: ['tcp'], target: 'ACCEPT' },
      { chain: 'FORWARD', src: '0.0.0.0/0.0.0.0', dst: '192.168.0.1/255.255.255.255', in: null, out: 'eth1', matches: [], target: 'custom' },
      { chain: 'OUTPUT', src: '0.0.0.0/0.0.0.0', dst: '0.0.0.0/0.0.0.0', in: null, out: null, matches: ['comment', 'udp'], target: 'DROP' },
    ]);
    expect(protocols[0]).toBe('tcp');
    expect(protocols[2]).toBe('udp');
    // No protocol on the FORWARD rule reads back as '' (python-iptables says 'ip').
    expect(protocols[1]).toBe('');
  });

  it('has the table constants and names', () => {
    expect([Table.FILTER, Table.NAT, Table.MANGLE, Table.RAW, Table.SECURITY]).toEqual([
      'filter', 'nat', 'mangle', 'raw', 'security',
    ]);
    expect(table(Table.FILTER).name).toBe('filter');
    for (const name of [Table.NAT, Table.MANGLE, Table.RAW]) expect(table(name).name).toBe(name);
    for (const name of ['filter', 'mangle', 'raw', 'security']) {
      const t6 = new Table6(name as never);
      open.push(t6);
      expect(t6.name).toBe(name);
    }
  });

  it('creates a chain', () => {
    const t = table(Table.FILTER);
    const chain = t.createChain('testchain');
    expect(chain.name).toBe('testchain');
    expect(t.isChain('testchain')).toBe(true);
    expect(save()).toContain(':testchain - [0:0]');
    expect(ipt(['-L', '-n'])).toContain('Chain testchain (0 references)');
  });

  it('accesses an existing chain and counts its rules', () => {
    for (let i = 1; i <= 10; i++) ipt(['-A', 'INPUT', '-s', `10.0.0.${i}`, '-j', 'ACCEPT']);
    const chain = new Chain(table(Table.FILTER), 'INPUT');
    expect(chain.name).toBe('INPUT');
    expect(chain.rules).toHaveLength(10);
    expect(chain.rules.map((r) => r.src)).toEqual(
      Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}/255.255.255.255`),
    );
  });
});

describe('README: More about matches and targets', () => {
  it('drops packets from 127.0.0.1/255.0.0.0 on any eth interface', () => {
    const chain = new Chain(table(Table.FILTER), 'INPUT');
    const rule = new Rule();
    rule.inInterface = 'eth+';
    rule.src = '127.0.0.1/255.0.0.0';
    const target = new Target(rule, 'DROP');
    rule.target = target;
    chain.insertRule(rule);

    expect(rules('filter', 'INPUT')).toEqual(['-s 127.0.0.0/8 -i eth+ -j DROP']);
    const back = chain.table.chain('INPUT').rules[0]!;
    expect(back.src).toBe('127.0.0.0/255.0.0.0');
    expect(back.inInterface).toBe('eth+');
    expect(back.target?.name).toBe('DROP');
  });

  it('createTarget is the same as new Target + rule.target', () => {
    const a = new Rule();
    a.inInterface = 'eth+';
    a.src = '127.0.0.1/255.0.0.0';
    a.createTarget('DROP');
    const b = new Rule();
    b.inInterface = 'eth+';
    b.src = '127.0.0.1/255.0.0.0';
    b.target = new Target(b, 'DROP');
    expect(a.equals(b)).toBe(true);

    const chain = table('filter').chain('INPUT');
    chain.insertRule(a);
    chain.insertRule(b);
    expect(rules('filter', 'INPUT')).toEqual(['-s 127.0.0.0/8 -i eth+ -j DROP', '-s 127.0.0.0/8 -i eth+ -j DROP']);
  });

  it('marks UDP packets to 192.168.1.2:1234 with 0xffff in mangle PREROUTING', () => {
    const chain = new Chain(table(Table.MANGLE), 'PREROUTING');
    const rule = new Rule();
    rule.dst = '192.168.1.2';
    rule.protocol = 'udp';
    const match = new Match(rule, 'udp');
    match.set('dport', '1234');
    rule.addMatch(match);
    const target = new Target(rule, 'MARK');
    target.set('set_mark', '0xffff');
    rule.target = target;
    chain.insertRule(rule);

    expect(rules('mangle', 'PREROUTING')).toEqual([
      '-d 192.168.1.2/32 -p udp -m udp --dport 1234 -j MARK --set-xmark 0xffff/0xffffffff',
    ]);
    expect(save('filter')).not.toContain('-A ');
  });

  it('masquerades TCP going out on eth0 (no match, only rule properties)', () => {
    const chain = new Chain(table(Table.NAT), 'POSTROUTING');
    const rule = new Rule();
    rule.protocol = 'tcp';
    rule.outInterface = 'eth0';
    const target = new Target(rule, 'MASQUERADE');
    target.set('to_ports', '1234');
    rule.target = target;
    chain.insertRule(rule);

    expect(rules('nat', 'POSTROUTING')).toEqual(['-o eth0 -p tcp -j MASQUERADE --to-ports 1234']);
  });

  it('combines the tcp and iprange matches like the iptables command it mirrors', () => {
    const rule = new Rule();
    rule.protocol = 'tcp';
    let match = new Match(rule, 'tcp');
    match.set('dport', '22');
    rule.addMatch(match);
    match = new Match(rule, 'iprange');
    match.set('src_range', '192.168.1.100-192.168.1.200');
    match.set('dst_range', '172.22.33.106');
    rule.addMatch(match);
    rule.target = new Target(rule, 'DROP');
    const chain = new Chain(table(Table.FILTER), 'INPUT');
    chain.insertRule(rule);

    const ours = rules('filter', 'INPUT');
    expect(ours).toEqual([
      '-p tcp -m tcp --dport 22 -m iprange --src-range 192.168.1.100-192.168.1.200 ' +
        '--dst-range 172.22.33.106-172.22.33.106 -j DROP',
    ]);
    resetKernel();
    ipt(['-A', 'INPUT', '-p', 'tcp', '--destination-port', '22', '-m', 'iprange', '--src-range',
      '192.168.1.100-192.168.1.200', '--dst-range', '172.22.33.106', '-j', 'DROP']);
    expect(rules('filter', 'INPUT')).toEqual(ours);
  });

  it('negates a match with a leading !', () => {
    const rule = new Rule();
    const match = new Match(rule, 'mac');
    match.set('mac_source', '!00:11:22:33:44:55');
    rule.addMatch(match);
    rule.target = new Target(rule, 'ACCEPT');
    const chain = new Chain(table(Table.FILTER), 'INPUT');
    chain.insertRule(rule);

    expect(rules('filter', 'INPUT')).toEqual(['-m mac ! --mac-source 00:11:22:33:44:55 -j ACCEPT']);
    expect(ipt(['-L', 'INPUT', '-n'])).toMatch(/ACCEPT\s+(all|0)\s+--\s+0\.0\.0\.0\/0\s+0\.0\.0\.0\/0\s+MAC ! 00:11:22:33:44:55/);
    const back = table('filter').chain('INPUT').rules[0]!.matches[0]!;
    expect(back.get('mac-source')).toBe('!00:11:22:33:44:55');
    expect(back.get('mac_source')).toBe('!00:11:22:33:44:55');
    expect(Object.values(back.getAllParameters())).toContainEqual(['!', '00:11:22:33:44:55']);
  });
});

describe('README: Counters', () => {
  it('reads rule counters, which change after traffic once the table is refreshed', async () => {
    ipt(['-A', 'OUTPUT', '-p', 'udp', '-m', 'udp', '--dport', '9999']);
    const t = table(Table.FILTER);
    const chain = new Chain(t, 'OUTPUT');
    const first = chain.rules;
    expect(first.map((r) => r.getCounters())).toEqual([{ packets: 0n, bytes: 0n }]);

    await sendUdp(9999, 5, 10); // 5 x (20 IP + 8 UDP + 10 payload) bytes
    // A snapshot read before the traffic keeps its values.
    expect(first.map((r) => r.getCounters())).toEqual([{ packets: 0n, bytes: 0n }]);

    t.refresh();
    expect(chain.rules.map((r) => r.getCounters())).toEqual([{ packets: 5n, bytes: 190n }]);
    expect(chain.rules[0]!.counters).toEqual({ packets: 5n, bytes: 190n });
    expect(rules('filter', 'OUTPUT', { counters: true })).toEqual(['[5:190] -p udp -m udp --dport 9999']);
  });

  it('reads counters together with the match name and sport of CLI-made rules', () => {
    ipt(['-A', 'OUTPUT', '-p', 'tcp', '--sport', '80']);
    ipt(['-A', 'OUTPUT', '-p', 'tcp', '--sport', '22']);
    const chain = new Chain(table(Table.FILTER), 'OUTPUT');
    const seen: [bigint, bigint, string, string | undefined][] = [];
    for (const rule of chain.rules) {
      for (const match of rule.matches) {
        const { packets, bytes } = rule.getCounters();
        seen.push([packets, bytes, match.name, match.get('sport')]);
      }
    }
    expect(seen).toEqual([
      [0n, 0n, 'tcp', '80'],
      [0n, 0n, 'tcp', '22'],
    ]);
  });
});

describe('README: Autocommit', () => {
  function populateForward(): void {
    ipt(['-A', 'FORWARD', '-o', 'eth0', '-j', 'DROP']);
    ipt(['-A', 'FORWARD', '-o', 'eth1', '-j', 'DROP']);
    ipt(['-A', 'FORWARD', '-o', 'eth0', '-p', 'tcp', '-j', 'ACCEPT']);
    ipt(['-A', 'FORWARD', '-i', 'eth0', '-j', 'ACCEPT']);
  }

  it('deletes matching rules one commit at a time, restarting the scan after each delete', () => {
    populateForward();
    const t = table(Table.FILTER);
    const chain = new Chain(t, 'FORWARD');
    let removed = true;
    let deletions = 0;
    while (removed) {
      removed = false;
      for (const rule of chain.rules) {
        if (rule.outInterface && rule.outInterface.includes('eth0')) {
          chain.deleteRule(rule);
          removed = true;
          deletions++;
          break;
        }
      }
    }
    expect(deletions).toBe(2);
    expect(rules('filter', 'FORWARD')).toEqual(['-o eth1 -j DROP', '-i eth0 -j ACCEPT']);
  });

  it('deletes matching rules in one pass with autocommit off, then commits once', () => {
    populateForward();
    const t = table(Table.FILTER);
    t.autocommit = false;
    const before = save();
    const chain = new Chain(t, 'FORWARD');
    for (const rule of chain.rules) {
      if (rule.outInterface && rule.outInterface.includes('eth0')) chain.deleteRule(rule);
    }
    expect(save()).toBe(before); // nothing reached the kernel yet
    t.commit();
    t.autocommit = true;
    expect(rules('filter', 'FORWARD')).toEqual(['-o eth1 -j DROP', '-i eth0 -j ACCEPT']);
  });
});

// The README's easy-dictionary example belongs with iptc/easy and is tested there (test/easy*.test.ts).

describe('README: Known issues of python-iptables that must not affect us', () => {
  it('hashlimit works without an explicit htable-expire', () => {
    const rule = new Rule();
    rule.createMatch('hashlimit', { hashlimitUpto: '5/sec', hashlimitName: 'foo' });
    rule.createTarget('ACCEPT');
    table('filter').chain('INPUT').appendRule(rule);
    expect(rules('filter', 'INPUT')).toEqual([
      '-m hashlimit --hashlimit-upto 5/sec --hashlimit-burst 5 --hashlimit-name foo -j ACCEPT',
    ]);
  });

  it('the NOTRACK target works (an alias of CT --notrack)', () => {
    const rule = new Rule();
    rule.createTarget('NOTRACK');
    table('raw').chain('PREROUTING').appendRule(rule);
    expect(rules('raw', 'PREROUTING')).toEqual(['-j NOTRACK']);
  });
});
