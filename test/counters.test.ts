// Packet and byte counters: rule and policy counters after real traffic on `lo` (UDP datagrams from this
// process), counters installed with a rule, zeroing per chain and per table, and snapshots that change
// only after refresh(). IPv4 and IPv6, always compared with iptables-legacy-save -c / ip6tables-legacy-save -c.
import { createSocket } from 'node:dgram';
import { beforeEach, describe, expect, it } from 'vitest';
import { IPTCError, Rule, Rule6, Table, Table6, type Counters } from '../src/iptc/index.js';
import { closedAfterEach, ipt, resetKernel, rules, save, type Family } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

/** Sends `count` UDP datagrams of `size` payload bytes to the loopback address of a family, port `port`. */
async function sendUdp(family: Family, port: number, count: number, size: number): Promise<void> {
  const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
  const address = family === 6 ? '::1' : '127.0.0.1';
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) =>
        sock.send(Buffer.alloc(size, 0x61), port, address, (err) => (err ? reject(err) : resolve())),
      );
    }
  } finally {
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

/** Parses `[p:b]` into counters. */
function parseCounters(text: string): Counters {
  const m = /^\[(\d+):(\d+)\]/.exec(text);
  if (!m) throw new Error(`no counters in ${text}`);
  return { packets: BigInt(m[1]!), bytes: BigInt(m[2]!) };
}

describe.each([4, 6] as const)('IPv%i', (family: Family) => {
  const T = family === 6 ? Table6 : Table;
  const R = family === 6 ? Rule6 : Rule;
  /** IP header + UDP header. */
  const headers = family === 6 ? 48n : 28n;
  const lo = family === 6 ? '::1' : '127.0.0.1';
  const loSave = family === 6 ? '::1/128' : '127.0.0.1/32';
  const sv = (table = 'filter') => save(table, { family, counters: true });
  const rlc = (chain: string, table = 'filter') => rules(table, chain, { family, counters: true });
  const cli = (args: string[]) => ipt(args, family);

  function table(name = 'filter', opts?: { autocommit?: boolean }): Table {
    const t = opts ? new T(name, opts) : new T(name);
    open.push(t);
    return t;
  }

  function udpRule(port: number, dir: 'd' | 's' = 'd', target: string | null = null): Rule {
    const r = new R();
    r.dst = lo;
    r.protocol = 'udp';
    r.createMatch('udp', dir === 'd' ? { dport: String(port) } : { sport: String(port) });
    if (target) r.createTarget(target);
    return r;
  }
  const udpSave = (port: number, dir: 'd' | 's' = 'd') => `-d ${loSave} -p udp -m udp --${dir}port ${port}`;

  /** The `[p:b]` of a chain's policy line in save -c. */
  function policyCounters(chain: string, tableName = 'filter'): Counters {
    const line = sv(tableName)
      .split('\n')
      .find((l) => l.startsWith(`:${chain} `));
    if (!line) throw new Error(`no chain ${chain}`);
    return parseCounters(line.split(' ')[2]!);
  }

  /** A chain's rules as `[p:b] spec`, from our snapshot. */
  function ours(t: Table, chain: string): string[] {
    return t.chain(chain).rules.map((r) => `[${r.counters.packets}:${r.counters.bytes}] ${r.toString()}`);
  }

  it('counts real traffic in rule counters, as bigint, equal to save -c', async () => {
    const t = table();
    t.chain('OUTPUT').appendRule(udpRule(9999));
    t.chain('OUTPUT').appendRule(udpRule(9998));
    t.chain('INPUT').appendRule(udpRule(9999));
    await sendUdp(family, 9999, 5, 10);
    await sendUdp(family, 9998, 3, 100);
    t.refresh();

    const out = t.chain('OUTPUT').rules;
    expect(typeof out[0]!.counters.packets).toBe('bigint');
    expect(typeof out[0]!.counters.bytes).toBe('bigint');
    expect(out[0]!.getCounters()).toEqual({ packets: 5n, bytes: 5n * (headers + 10n) });
    expect(out[1]!.getCounters()).toEqual({ packets: 3n, bytes: 3n * (headers + 100n) });
    expect(t.chain('INPUT').rules[0]!.counters).toEqual({ packets: 5n, bytes: 5n * (headers + 10n) });
    expect(rlc('OUTPUT')).toEqual([
      `[5:${5n * (headers + 10n)}] ${udpSave(9999)}`,
      `[3:${3n * (headers + 100n)}] ${udpSave(9998)}`,
    ]);
    expect(ours(t, 'OUTPUT')).toEqual(rlc('OUTPUT'));
    expect(ours(t, 'INPUT')).toEqual(rlc('INPUT'));
  });

  it('counts traffic in the counters of CLI-made rules and in a user chain', async () => {
    cli(['-N', 'count']);
    cli(['-A', 'OUTPUT', '-p', 'udp', '-j', 'count']);
    cli(['-A', 'count', '-p', 'udp', '-m', 'udp', '--dport', '9997']);
    cli(['-A', 'count', '-p', 'udp', '-m', 'udp', '--dport', '9996', '-j', 'RETURN']);
    await sendUdp(family, 9997, 4, 1);
    await sendUdp(family, 9996, 2, 0);
    const t = table();
    expect(t.chain('count').rules.map((r) => r.counters)).toEqual([
      { packets: 4n, bytes: 4n * (headers + 1n) },
      { packets: 2n, bytes: 2n * headers },
    ]);
    expect(t.chain('OUTPUT').rules[0]!.counters).toEqual({ packets: 6n, bytes: 6n * headers + 4n });
    expect(ours(t, 'count')).toEqual(rlc('count'));
    expect(ours(t, 'OUTPUT')).toEqual(rlc('OUTPUT'));
  });

  it('reads policy counters after traffic with chain.getCounters(), equal to save -c', async () => {
    // The built-in chains must be there to count (on nft a chain is made when first used: `-P` makes it).
    cli(['-P', 'INPUT', 'ACCEPT']);
    cli(['-P', 'OUTPUT', 'ACCEPT']);
    const t = table();
    await sendUdp(family, 9999, 7, 20);
    t.refresh();
    const kernelOut = policyCounters('OUTPUT');
    const kernelIn = policyCounters('INPUT');
    // 7 datagrams, plus ICMP port-unreachable replies, went out and came in on lo.
    expect(kernelOut.packets).toBeGreaterThanOrEqual(7n);
    expect(kernelOut.bytes).toBeGreaterThanOrEqual(7n * (headers + 20n));
    expect(t.chain('OUTPUT').getCounters()).toEqual(kernelOut);
    expect(t.chain('INPUT').getCounters()).toEqual(kernelIn);
    expect(t.chain('FORWARD').getCounters()).toEqual({ packets: 0n, bytes: 0n });
    expect(typeof t.chain('OUTPUT').getCounters()!.packets).toBe('bigint');
    // The table's own save text agrees with iptables-legacy-save -c, policy counters included.
    expect(t.save({ counters: true })).toBe(sv());
  });

  it('installs counters given at append, insert and replace', () => {
    const t = table();
    const a = udpRule(1);
    a.setCounters(5, 500);
    t.chain('INPUT').appendRule(a);
    expect(rlc('INPUT')).toEqual([`[5:500] ${udpSave(1)}`]);

    const b = udpRule(2);
    b.setCounters(7n, 2n ** 63n);
    t.chain('INPUT').insertRule(b, 0);
    const c = udpRule(3, 'd', 'DROP');
    c.setCounters(1n, 2n);
    t.chain('OUTPUT').appendRule(udpRule(4));
    t.chain('OUTPUT').replaceRule(c, 0);
    expect(rlc('INPUT')).toEqual([`[7:${2n ** 63n}] ${udpSave(2)}`, `[5:500] ${udpSave(1)}`]);
    expect(rlc('OUTPUT')).toEqual([`[1:2] ${udpSave(3)} -j DROP`]);
    expect(t.chain('INPUT').rules.map((r) => r.counters)).toEqual([
      { packets: 7n, bytes: 2n ** 63n },
      { packets: 5n, bytes: 500n },
    ]);
    expect(ours(t, 'INPUT')).toEqual(rlc('INPUT'));
  });

  it('installs counters in a batch with autocommit off, and keeps them across later commits', async () => {
    const t = table('filter', { autocommit: false });
    const a = udpRule(9999);
    a.setCounters(10, 1000);
    t.chain('OUTPUT').appendRule(a);
    expect(rlc('OUTPUT')).toEqual([]);
    t.commit();
    expect(rlc('OUTPUT')).toEqual([`[10:1000] ${udpSave(9999)}`]);
    await sendUdp(family, 9999, 2, 10);
    t.chain('OUTPUT').appendRule(udpRule(2));
    t.commit();
    // Installed + counted counters survive a later commit of other changes.
    expect(rlc('OUTPUT')).toEqual([`[12:${1000n + 2n * (headers + 10n)}] ${udpSave(9999)}`, `[0:0] ${udpSave(2)}`]);
  });

  it('keeps counted traffic of existing rules across autocommitted changes', async () => {
    const t = table();
    t.chain('OUTPUT').appendRule(udpRule(9999));
    await sendUdp(family, 9999, 3, 10);
    t.chain('OUTPUT').insertRule(udpRule(1), 0);
    t.chain('INPUT').appendRule(udpRule(2));
    expect(rlc('OUTPUT')).toEqual([`[0:0] ${udpSave(1)}`, `[3:${3n * (headers + 10n)}] ${udpSave(9999)}`]);
    expect(ours(t, 'OUTPUT')).toEqual(rlc('OUTPUT'));
  });

  it('zeroes one chain with chain.zeroCounters(): its rules and policy, not the other chains', async () => {
    const t = table();
    t.chain('OUTPUT').appendRule(udpRule(9999));
    t.chain('INPUT').appendRule(udpRule(9999));
    await sendUdp(family, 9999, 4, 10);
    const counted = `[4:${4n * (headers + 10n)}] ${udpSave(9999)}`;
    expect(rlc('OUTPUT')).toEqual([counted]);
    expect(policyCounters('OUTPUT').packets).toBeGreaterThan(0n);

    t.chain('OUTPUT').zeroCounters();
    expect(rlc('OUTPUT')).toEqual([`[0:0] ${udpSave(9999)}`]);
    expect(policyCounters('OUTPUT')).toEqual({ packets: 0n, bytes: 0n });
    expect(rlc('INPUT')).toEqual([counted]);
    expect(t.chain('OUTPUT').rules[0]!.counters).toEqual({ packets: 0n, bytes: 0n });
    expect(t.chain('OUTPUT').getCounters()).toEqual({ packets: 0n, bytes: 0n });
    expect(t.chain('INPUT').rules[0]!.counters).toEqual({ packets: 4n, bytes: 4n * (headers + 10n) });
  });

  it('zeroes a chain given by name or Chain with table.zeroEntries(chain)', () => {
    cli(['-N', 'user']);
    cli(['-A', 'user', '-c', '3', '300', '-j', 'RETURN']);
    cli(['-A', 'INPUT', '-c', '1', '100', '-j', 'user']);
    cli(['-A', 'OUTPUT', '-c', '2', '200', '-p', 'udp']);
    const t = table();
    t.zeroEntries('user');
    expect(rlc('user')).toEqual(['[0:0] -j RETURN']);
    expect(rlc('INPUT')).toEqual(['[1:100] -j user']);
    t.zeroEntries(t.chain('INPUT'));
    expect(rlc('INPUT')).toEqual(['[0:0] -j user']);
    expect(rlc('OUTPUT')).toEqual(['[2:200] -p udp']);
  });

  it('zeroes every chain with table.zeroEntries()', async () => {
    cli(['-N', 'user']);
    cli(['-A', 'user', '-c', '3', '300', '-j', 'RETURN']);
    cli(['-A', 'FORWARD', '-c', '9', '900']);
    const t = table();
    t.chain('OUTPUT').appendRule(udpRule(9999));
    await sendUdp(family, 9999, 2, 10);
    expect(policyCounters('OUTPUT').packets).toBeGreaterThan(0n);
    t.zeroEntries();
    const all = sv()
      .split('\n')
      .filter((l) => l.startsWith('[') || l.startsWith(':'));
    expect(all.length).toBe(7);
    for (const line of all) expect(line).toMatch(/\[0:0\]/);
    expect(t.chains.map((c) => c.getCounters())).toEqual([
      { packets: 0n, bytes: 0n },
      { packets: 0n, bytes: 0n },
      { packets: 0n, bytes: 0n },
      null,
    ]);
    expect(t.chains.flatMap((c) => c.rules.map((r) => r.counters.packets))).toEqual([0n, 0n, 0n]);
  });

  it('zeroes in a batch only at commit(), and refuses a missing chain', async () => {
    const t = table('filter', { autocommit: false });
    t.chain('OUTPUT').appendRule(udpRule(9999));
    t.commit();
    await sendUdp(family, 9999, 2, 10);
    const counted = `[2:${2n * (headers + 10n)}] ${udpSave(9999)}`;
    t.refresh();
    t.chain('OUTPUT').zeroCounters();
    t.chain('INPUT').appendRule(udpRule(1));
    expect(rlc('OUTPUT')).toEqual([counted]);
    t.commit();
    expect(rlc('OUTPUT')).toEqual([`[0:0] ${udpSave(9999)}`]);
    expect(rlc('INPUT')).toEqual([`[0:0] ${udpSave(1)}`]);

    const a = table();
    const before = sv();
    expect(() => a.zeroEntries('missing')).toThrow(IPTCError);
    expect(sv()).toBe(before);
  });

  it('zeroes counters in other tables (nat, mangle)', () => {
    cli(['-t', 'mangle', '-A', 'PREROUTING', '-c', '5', '50', '-p', 'tcp']);
    cli(['-t', 'nat', '-A', 'OUTPUT', '-c', '6', '60', '-p', 'tcp']);
    expect(rlc('PREROUTING', 'mangle')).toEqual(['[5:50] -p tcp']);
    table('mangle').zeroEntries();
    table('nat').chain('OUTPUT').zeroCounters();
    expect(rlc('PREROUTING', 'mangle')).toEqual(['[0:0] -p tcp']);
    expect(rlc('OUTPUT', 'nat')).toEqual(['[0:0] -p tcp']);
  });

  it('keeps snapshots unchanged until refresh()', async () => {
    const t = table();
    t.chain('OUTPUT').appendRule(udpRule(9999));
    const before = t.chain('OUTPUT').rules;
    const policyBefore = t.chain('OUTPUT').getCounters();
    expect(before[0]!.counters).toEqual({ packets: 0n, bytes: 0n });
    await sendUdp(family, 9999, 3, 10);
    expect(rlc('OUTPUT')).toEqual([`[3:${3n * (headers + 10n)}] ${udpSave(9999)}`]);
    // Neither the objects read before nor new reads of the same snapshot change.
    expect(before[0]!.counters).toEqual({ packets: 0n, bytes: 0n });
    expect(t.chain('OUTPUT').rules[0]!.counters).toEqual({ packets: 0n, bytes: 0n });
    expect(t.chain('OUTPUT').getCounters()).toEqual(policyBefore);
    t.refresh();
    expect(t.chain('OUTPUT').rules[0]!.counters).toEqual({ packets: 3n, bytes: 3n * (headers + 10n) });
    expect(t.chain('OUTPUT').getCounters()).toEqual(policyCounters('OUTPUT'));
    expect(before[0]!.counters).toEqual({ packets: 0n, bytes: 0n });
    // A rule's counters object is a copy: changing it changes nothing.
    const c = before[0]!.counters;
    c.packets = 99n;
    expect(before[0]!.counters.packets).toBe(0n);
  });

  it('refuses counters that do not fit in 64 unsigned bits', () => {
    const r = udpRule(1);
    expect(() => r.setCounters(-1, 0)).toThrow(RangeError);
    expect(() => r.setCounters(0, 2n ** 64n)).toThrow(RangeError);
    expect(() => r.setCounters(1.5, 0)).toThrow(RangeError);
    r.setCounters(2n ** 64n - 1n, 0);
    table().chain('INPUT').appendRule(r);
    expect(rlc('INPUT')).toEqual([`[${2n ** 64n - 1n}:0] ${udpSave(1)}`]);
  });
});

describe('counters set on a rule read back from the kernel', () => {
  it('are the ones installed when the rule is added again', () => {
    resetKernel();
    ipt(['-A', 'INPUT', '-p', 'udp', '-j', 'ACCEPT']);
    const t = new Table('filter');
    const [rule] = t.chain('INPUT').rules;
    rule!.setCounters(7, 700);
    t.chain('OUTPUT').appendRule(rule!);
    expect(rules('filter', 'OUTPUT', { counters: true })).toEqual(['[7:700] -p udp -j ACCEPT']);
    t.close();
  });
});
