// Every function of iptc/easy against the kernel (checked with the backend's iptables-save), batches checked
// with the CLI between calls, positions as python-iptables takes them, and lazy reads of big chains.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as easy from '../src/easy/index.js';
import { IPTCError, Rule } from '../src/iptc/index.js';
import { BACKEND, ipt, liveTables, resetKernel, restoreCli, rules, run, save, thrown, tools } from './kernel.js';

beforeEach(() => {
  resetKernel();
});

afterEach(() => {
  easy.batchAbort();
});

const host = (n: number) => ({ src: `10.0.0.${n}/32`, target: 'ACCEPT' });
const hostLine = (n: number) => `-s 10.0.0.${n}/32 -j ACCEPT`;

describe('chains and tables', () => {
  it('getTables, getChains, hasChain, addChain, deleteChain', () => {
    expect(easy.getTables()).toEqual(expect.arrayContaining(['filter', 'nat', 'mangle', 'raw']));
    expect(easy.getTables({ ipv6: true })).toEqual(expect.arrayContaining(['filter', 'mangle', 'raw']));
    expect(easy.getChains('filter')).toEqual(['INPUT', 'FORWARD', 'OUTPUT']);
    expect(easy.hasChain('filter', 'mine')).toBe(false);
    expect(easy.addChain('filter', 'mine')).toBe(true);
    expect(easy.addChain('filter', 'Mine6', { ipv6: true })).toBe(true);
    expect(save()).toContain(':mine - [0:0]');
    expect(save('filter', { family: 6 })).toContain(':Mine6 - [0:0]');
    expect(easy.hasChain('filter', 'mine')).toBe(true);
    expect(easy.hasChain('filter', 'Mine6')).toBe(false);
    expect(easy.getChains('filter')).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'mine']);
    // An existing chain: an error, or false with raiseExc: false.
    expect(thrown(() => easy.addChain('filter', 'mine'))).toBeInstanceOf(IPTCError);
    expect(easy.addChain('filter', 'mine', { raiseExc: false })).toBe(false);

    easy.addRule('filter', 'mine', host(1));
    expect(thrown(() => easy.deleteChain('filter', 'mine'))).toBeInstanceOf(IPTCError);
    expect(rules('filter', 'mine')).toEqual([hostLine(1)]);
    easy.deleteChain('filter', 'mine', { flush: true });
    expect(save()).not.toContain('mine');
    easy.deleteChain('filter', 'mine', { raiseExc: false });
    expect(thrown(() => easy.deleteChain('filter', 'mine'))).toBeInstanceOf(IPTCError);
    expect(thrown(() => easy.deleteChain('filter', 'INPUT', { flush: true }))).toBeInstanceOf(IPTCError);
    easy.deleteChain('filter', 'Mine6', { ipv6: true });
    expect(save('filter', { family: 6 })).not.toContain('Mine6');
  });

  it('reads never instantiate a table; writes are seen by the next read (no stale views)', () => {
    // Earlier files in the shared namespace may have instantiated raw already: compare before and after.
    const live = liveTables(4);
    expect(easy.getChains('raw')).toEqual(['PREROUTING', 'OUTPUT']);
    expect(easy.dumpTable('raw')).toEqual({ PREROUTING: [], OUTPUT: [] });
    expect(liveTables(4)).toEqual(live);
    expect(easy.getChains('filter')).toEqual(['INPUT', 'FORWARD', 'OUTPUT']);
    ipt(['-N', 'fromcli']);
    expect(easy.getChains('filter')).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'fromcli']);
    ipt(['-A', 'fromcli', '-j', 'DROP']);
    expect(easy.dumpChain('filter', 'fromcli')).toEqual([{ target: 'DROP', counters: [0, 0] }]);
  });

  it('flushChain, flushTable, flushAll (IPv4 and IPv6)', () => {
    easy.addChain('filter', 'a');
    easy.addChain('filter', 'b');
    easy.addRule('filter', 'a', { target: 'b' });
    easy.addRule('filter', 'b', { target: 'a' });
    easy.addRule('filter', 'INPUT', host(1));
    easy.addRule('nat', 'OUTPUT', host(2));
    easy.addRule('filter', 'INPUT', { target: 'ACCEPT' }, 0, { ipv6: true });
    easy.setPolicy('filter', 'FORWARD', 'DROP');

    easy.flushChain('filter', 'INPUT');
    expect(rules('filter', 'INPUT')).toEqual([]);
    expect(rules('filter', 'a')).toEqual(['-j b']);
    expect(thrown(() => easy.flushChain('filter', 'nope'))).toBeInstanceOf(IPTCError);
    easy.flushChain('filter', 'nope', { raiseExc: false });

    easy.flushTable('filter');
    expect(save().split('\n').filter((l) => l.startsWith(':') || l.startsWith('-A'))).toEqual([
      ':INPUT ACCEPT [0:0]',
      ':FORWARD DROP [0:0]',
      ':OUTPUT ACCEPT [0:0]',
    ]);
    expect(rules('nat', 'OUTPUT')).toEqual([hostLine(2)]);
    expect(thrown(() => easy.flushTable('nosuchtable'))).toBeInstanceOf(IPTCError);
    easy.flushTable('nosuchtable', { raiseExc: false });

    easy.addChain('nat', 'c');
    const live = liveTables(4);
    easy.flushAll();
    expect(rules('nat', 'OUTPUT')).toEqual([]);
    expect(save('nat')).not.toContain(':c ');
    expect(liveTables(4)).toEqual(live);
    expect(rules('filter', 'INPUT', { family: 6 })).toEqual(['-j ACCEPT']);
    easy.flushAll({ ipv6: true });
    expect(rules('filter', 'INPUT', { family: 6 })).toEqual([]);
  });

  it('zeroChain, zeroTable, zeroAll zero rule and policy counters', () => {
    const restoreWithCounters = (family: 4 | 6) =>
      restoreCli(family, ['-c'], [
        '*filter',
        ':INPUT ACCEPT [3:300]',
        ':FORWARD ACCEPT [4:400]',
        ':OUTPUT ACCEPT [5:500]',
        '[1:10] -A INPUT -j ACCEPT',
        '[2:20] -A OUTPUT -j ACCEPT',
        'COMMIT',
        '*nat',
        ':PREROUTING ACCEPT [6:600]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        '[7:70] -A PREROUTING -j ACCEPT',
        'COMMIT',
        '',
      ].join('\n'));
    restoreWithCounters(4);
    const counters = (table = 'filter', family: 4 | 6 = 4) =>
      save(table, { counters: true, family }).split('\n').filter((l) => l.startsWith(':') || l.includes('-A'));

    easy.zeroChain('filter', 'INPUT');
    // As `iptables -Z INPUT` does on each backend: libiptc (legacy) zeroes the policy counters of every
    // built-in chain, iptables-nft only INPUT's; the rules of other chains keep theirs on both.
    expect(counters()).toEqual([
      ':INPUT ACCEPT [0:0]',
      BACKEND === 'nft' ? ':FORWARD ACCEPT [4:400]' : ':FORWARD ACCEPT [0:0]',
      BACKEND === 'nft' ? ':OUTPUT ACCEPT [5:500]' : ':OUTPUT ACCEPT [0:0]',
      '[0:0] -A INPUT -j ACCEPT',
      '[2:20] -A OUTPUT -j ACCEPT',
    ]);
    expect(thrown(() => easy.zeroChain('filter', 'nope'))).toBeInstanceOf(IPTCError);

    easy.zeroTable('filter');
    expect(counters()).toEqual([
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '[0:0] -A INPUT -j ACCEPT',
      '[0:0] -A OUTPUT -j ACCEPT',
    ]);
    expect(counters('nat')).toContain('[7:70] -A PREROUTING -j ACCEPT');

    restoreWithCounters(4);
    restoreWithCounters(6);
    easy.zeroAll();
    expect(counters('filter').join(' ')).not.toMatch(/\[[1-9]/);
    expect(counters('nat').join(' ')).not.toMatch(/\[[1-9]/);
    expect(counters('filter', 6)).toContain('[1:10] -A INPUT -j ACCEPT');
    // python's zero_all takes an (unused) table argument: accepted.
    easy.zeroAll('filter', { ipv6: true });
    expect(counters('filter', 6).join(' ')).not.toMatch(/\[[1-9]/);
    expect(counters('nat', 6).join(' ')).not.toMatch(/\[[1-9]/);
  });

  it('getPolicy and setPolicy', () => {
    expect(easy.getPolicy('filter', 'INPUT')).toBe('ACCEPT');
    easy.setPolicy('filter', 'INPUT', 'DROP');
    expect(save()).toContain(':INPUT DROP [0:0]');
    expect(easy.getPolicy('filter', 'INPUT')).toBe('DROP');
    easy.setPolicy('filter', 'INPUT');
    expect(save()).toContain(':INPUT ACCEPT [0:0]');
    easy.setPolicy('filter', 'FORWARD', 'DROP', { ipv6: true });
    expect(save('filter', { family: 6 })).toContain(':FORWARD DROP [0:0]');
    expect(easy.getPolicy('filter', 'FORWARD', { ipv6: true })).toBe('DROP');
    easy.addChain('filter', 'user');
    expect(easy.getPolicy('filter', 'user')).toBeNull();
    expect(thrown(() => easy.setPolicy('filter', 'INPUT', 'RETURN'))).toBeInstanceOf(IPTCError);
    expect(thrown(() => easy.getPolicy('filter', 'nope'))).toBeInstanceOf(IPTCError);
    expect(save()).toContain(':INPUT ACCEPT [0:0]');
  });
});

describe('rules', () => {
  it('addRule positions: 0 appends, n > 0 the iptables position, n < 0 from the bottom; insertRule', () => {
    easy.addRule('filter', 'INPUT', host(1));
    easy.addRule('filter', 'INPUT', host(2), 0);
    easy.addRule('filter', 'INPUT', host(3), 1);
    expect(rules('filter', 'INPUT')).toEqual([hostLine(3), hostLine(1), hostLine(2)]);
    easy.addRule('filter', 'INPUT', host(4), 3);
    expect(rules('filter', 'INPUT')).toEqual([hostLine(3), hostLine(1), hostLine(4), hostLine(2)]);
    easy.addRule('filter', 'INPUT', host(5), 5);
    expect(rules('filter', 'INPUT')).toEqual([hostLine(3), hostLine(1), hostLine(4), hostLine(2), hostLine(5)]);
    easy.addRule('filter', 'INPUT', host(6), -1);
    expect(rules('filter', 'INPUT')).toEqual([hostLine(3), hostLine(1), hostLine(4), hostLine(2), hostLine(6), hostLine(5)]);
    easy.addRule('filter', 'INPUT', host(7), -100);
    easy.insertRule('filter', 'INPUT', host(8));
    expect(rules('filter', 'INPUT')).toEqual([8, 7, 3, 1, 4, 2, 6, 5].map(hostLine));
    easy.addRule('filter', 'INPUT', { target: 'DROP' }, { ipv6: true });
    easy.insertRule('filter', 'INPUT', { src: '::1/128', target: 'ACCEPT' }, { ipv6: true });
    expect(rules('filter', 'INPUT', { family: 6 })).toEqual(['-s ::1/128 -j ACCEPT', '-j DROP']);
  });

  it('getRule positions, dumpChain, dumpTable, dumpAll', () => {
    for (const n of [1, 2, 3]) easy.addRule('filter', 'INPUT', host(n));
    const d = (n: number) => ({ ...host(n), counters: [0, 0] });
    expect(easy.getRule('filter', 'INPUT', 1)).toEqual(d(1));
    expect(easy.getRule('filter', 'INPUT', 3)).toEqual(d(3));
    expect(easy.getRule('filter', 'INPUT', -1)).toEqual(d(3));
    expect(easy.getRule('filter', 'INPUT', -3)).toEqual(d(1));
    expect(easy.getRule('filter', 'INPUT', 0)).toEqual([d(1), d(2), d(3)]);
    expect(easy.getRule('filter', 'INPUT')).toEqual([d(1), d(2), d(3)]);
    expect(thrown(() => easy.getRule('filter', 'INPUT', 4))).toBeInstanceOf(RangeError);
    expect(thrown(() => easy.getRule('filter', 'INPUT', -4))).toBeInstanceOf(RangeError);
    expect(easy.getRule('filter', 'INPUT', 4, { raiseExc: false })).toBeNull();
    expect(thrown(() => easy.getRule('filter', 'nope', 1))).toBeInstanceOf(IPTCError);
    expect(easy.dumpChain('filter', 'INPUT')).toEqual([d(1), d(2), d(3)]);
    expect(easy.dumpTable('filter')).toEqual({ INPUT: [d(1), d(2), d(3)], FORWARD: [], OUTPUT: [] });
    const all = easy.dumpAll();
    expect(all['filter']).toEqual({ INPUT: [d(1), d(2), d(3)], FORWARD: [], OUTPUT: [] });
    expect(all['raw']).toEqual({ PREROUTING: [], OUTPUT: [] });
    expect(easy.dumpAll({ ipv6: true })['filter']).toEqual({ INPUT: [], FORWARD: [], OUTPUT: [] });
  });

  it('hasRule, deleteRule, replaceRule, getRuleCounters, getRulePosition', () => {
    easy.addRule('filter', 'INPUT', { ...host(1), counters: [3, 30] });
    easy.addRule('filter', 'INPUT', { protocol: 'tcp', tcp: { dport: '22' }, target: 'ACCEPT', counters: [4, 40] });
    easy.addRule('filter', 'INPUT', host(1));
    const ssh = { protocol: 'tcp', tcp: { dport: '22' }, target: 'ACCEPT' };
    expect(easy.hasRule('filter', 'INPUT', ssh)).toBe(true);
    expect(easy.hasRule('filter', 'INPUT', { ...ssh, target: 'DROP' })).toBe(false);
    expect(easy.hasRule('filter', 'INPUT', ssh, { ipv6: true })).toBe(false);
    expect(easy.getRuleCounters('filter', 'INPUT', ssh)).toEqual([4, 40]);
    expect(easy.getRuleCounters('filter', 'INPUT', host(1))).toEqual([3, 30]);
    // python-iptables returns the 0-based index of the rule.
    expect(easy.getRulePosition('filter', 'INPUT', ssh)).toBe(1);
    expect(easy.getRulePosition('filter', 'INPUT', host(1))).toBe(0);
    expect(thrown(() => easy.getRulePosition('filter', 'INPUT', host(9)))).toBeInstanceOf(IPTCError);
    expect(thrown(() => easy.getRuleCounters('filter', 'INPUT', host(9)))).toBeInstanceOf(IPTCError);

    easy.replaceRule('filter', 'INPUT', ssh, { ...ssh, tcp: { dport: '2222' } });
    expect(rules('filter', 'INPUT')).toEqual([hostLine(1), '-p tcp -m tcp --dport 2222 -j ACCEPT', hostLine(1)]);
    expect(thrown(() => easy.replaceRule('filter', 'INPUT', ssh, host(2)))).toBeInstanceOf(IPTCError);

    easy.deleteRule('filter', 'INPUT', host(1));
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m tcp --dport 2222 -j ACCEPT', hostLine(1)]);
    easy.deleteRule('filter', 'INPUT', host(9), { raiseExc: false });
    expect(thrown(() => easy.deleteRule('filter', 'INPUT', host(9)))).toBeInstanceOf(IPTCError);
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m tcp --dport 2222 -j ACCEPT', hostLine(1)]);
  });

  it('testRule, testMatch, testTarget (the kernel is not touched)', () => {
    const before = save();
    expect(easy.testRule({ protocol: 'tcp', tcp: { dport: '22' }, target: 'ACCEPT' })).toBe(true);
    expect(easy.testRule({ protocol: 'tcp', tcp: { dport: 'x' } })).toBe(false);
    expect(easy.testRule({ src: '2001:db8::1', target: 'ACCEPT' })).toBe(false);
    expect(easy.testRule({ src: '2001:db8::1', target: 'ACCEPT' }, { ipv6: true })).toBe(true);
    expect(easy.testMatch('tcp', { dport: '22' })).toBe(true);
    expect(easy.testMatch('comment', 'text')).toBe(true);
    expect(easy.testMatch('mark', [{ mark: '0x1' }, { mark: '0x2' }])).toBe(true);
    expect(easy.testMatch('nosuchmatch', {})).toBe(false);
    expect(easy.testMatch('state', { state: 'FOOBAR' })).toBe(false);
    expect(easy.testMatch('hashlimit', { 'hashlimit-upto': '5/sec' })).toBe(false);
    expect(easy.testMatch('icmp6', { 'icmpv6-type': 'echo-request' }, { ipv6: true })).toBe(true);
    expect(easy.testTarget('REJECT', { 'reject-with': 'tcp-reset' })).toBe(true);
    expect(easy.testTarget('REJECT', { 'reject-with': 'bogus' })).toBe(false);
    expect(easy.testTarget('MARK', {})).toBe(false);
    expect(easy.testTarget('ACCEPT', '')).toBe(true);
    expect(easy.testTarget('goto', 'somechain')).toBe(true);
    expect(easy.testTarget('goto', 'ACCEPT')).toBe(false);
    expect(save()).toBe(before);
  });

  it('getRule on a 10,000-rule chain decodes only the rule asked for', () => {
    const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':big - [0:0]'];
    for (let i = 0; i < 10_000; i++) {
      lines.push(`-A big -s 10.${i >> 8}.${i & 255}.1/32 -p tcp -m tcp --dport ${i + 1} -m comment --comment r${i} -j ACCEPT`);
    }
    run(tools.restore(), [], [...lines, 'COMMIT', ''].join('\n'));
    // Counted, not timed (a busy machine breaks timings): each rule made a Rule is one Rule.fromEntry.
    const decoded = vi.spyOn(Rule, 'fromEntry');
    try {
      expect(easy.getRule('filter', 'big', 1)).toEqual({ src: '10.0.0.1/32', protocol: 'tcp', tcp: { dport: '1' }, comment: { comment: 'r0' }, target: 'ACCEPT', counters: [0, 0] });
      expect(easy.getRule('filter', 'big', -1)).toMatchObject({ comment: { comment: 'r9999' } });
      expect(decoded).toHaveBeenCalledTimes(2);
      expect(easy.dumpChain('filter', 'big')).toHaveLength(10_000);
      expect(decoded).toHaveBeenCalledTimes(10_002);
    } finally {
      decoded.mockRestore();
    }
  });
});

describe('batches', () => {
  it('nothing reaches the kernel between batchBegin and batchEnd; easy reads see the batch', () => {
    easy.addRule('filter', 'INPUT', host(1));
    const before = save();
    const before6 = save('filter', { family: 6 });
    const beforeNat = save('nat');
    easy.batchBegin();
    expect(easy.inBatchMode()).toBe(true);
    easy.addChain('filter', 'batched');
    expect(save()).toBe(before);
    easy.addRule('filter', 'batched', host(2));
    easy.insertRule('filter', 'INPUT', { target: 'batched' });
    expect(save()).toBe(before);
    easy.deleteRule('filter', 'INPUT', host(1));
    easy.setPolicy('filter', 'FORWARD', 'DROP');
    easy.addRule('nat', 'POSTROUTING', { 'out-interface': 'eth0', target: 'MASQUERADE' });
    easy.addRule('filter', 'INPUT', { src: '2001:db8::1', target: 'DROP' }, { ipv6: true });
    easy.batchAddRules('filter', [['batched', host(3), 0], ['batched', host(4), 1]]);
    easy.batchAddChains('filter', ['x1', 'x2']);
    easy.batchDeleteChains('filter', ['x2']);
    easy.batchDeleteRules('filter', [['batched', host(2)]]);
    easy.flushChain('filter', 'OUTPUT');
    easy.zeroTable('filter');
    expect(save()).toBe(before);
    expect(save('filter', { family: 6 })).toBe(before6);
    expect(save('nat')).toBe(beforeNat);
    // Reads inside the batch show its changes.
    expect(easy.hasChain('filter', 'batched')).toBe(true);
    expect(easy.getChains('filter')).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'batched', 'x1']);
    expect(easy.dumpChain('filter', 'batched')).toEqual([
      { ...host(4), counters: [0, 0] },
      { ...host(3), counters: [0, 0] },
    ]);
    expect(easy.getPolicy('filter', 'FORWARD')).toBe('DROP');
    expect(easy.hasRule('filter', 'INPUT', host(1))).toBe(false);
    expect(save()).toBe(before);

    easy.batchEnd();
    expect(easy.inBatchMode()).toBe(false);
    expect(rules('filter', 'INPUT')).toEqual(['-j batched']);
    expect(rules('filter', 'batched')).toEqual([hostLine(4), hostLine(3)]);
    expect(save()).toContain(':FORWARD DROP');
    expect(save()).toContain(':x1 - [0:0]');
    expect(save()).not.toContain(':x2');
    expect(rules('nat', 'POSTROUTING')).toEqual(['-o eth0 -j MASQUERADE']);
    expect(rules('filter', 'INPUT', { family: 6 })).toEqual(['-s 2001:db8::1/128 -j DROP']);
    // After the batch, calls commit again at once.
    easy.addRule('filter', 'INPUT', host(5));
    expect(rules('filter', 'INPUT')).toEqual(['-j batched', hostLine(5)]);
    easy.batchEnd();
  });

  it('python-style batchBegin(table) / batchEnd(table) and one commit per batch helper outside a batch', () => {
    easy.batchBegin('filter');
    easy.addRule('filter', 'INPUT', host(1));
    expect(rules('filter', 'INPUT')).toEqual([]);
    easy.batchEnd('filter');
    expect(rules('filter', 'INPUT')).toEqual([hostLine(1)]);

    // Outside a batch each batch helper is one transaction: all or nothing.
    const before = save();
    expect(thrown(() => easy.batchAddRules('filter', [['INPUT', host(2), 0], ['nochain', host(3), 0]]))).toBeInstanceOf(IPTCError);
    expect(thrown(() => easy.batchDeleteRules('filter', [['INPUT', host(1)], ['INPUT', host(9)]]))).toBeInstanceOf(IPTCError);
    easy.batchDeleteRules('filter', [['INPUT', host(1)], ['INPUT', host(9)]], { raiseExc: false });
    expect(save()).toBe(before);
    easy.batchAddChains('filter', ['p', 'q']);
    easy.batchAddRules('filter', [['p', { target: 'q' }, 0], ['q', { target: 'p' }, 0], ['INPUT', host(2), -1]]);
    expect(rules('filter', 'INPUT')).toEqual([hostLine(2), hostLine(1)]);
    expect(rules('filter', 'p')).toEqual(['-j q']);
    easy.batchAddChains('filter', ['p'], { flush: false });
    expect(rules('filter', 'p')).toEqual(['-j q']);
    easy.batchAddChains('filter', ['p']);
    expect(rules('filter', 'p')).toEqual([]);
    easy.batchDeleteChains('filter', ['p', 'q', 'notthere']);
    expect(save()).not.toMatch(/:p |:q /);
    easy.batchAddRules('filter', [['INPUT', host(3), 1]], { ipv6: false });
    easy.batchDeleteRules('filter', [['INPUT', host(3)], ['INPUT', host(2)]]);
    expect(rules('filter', 'INPUT')).toEqual([hostLine(1)]);
  });

  it('a failed batchEnd leaves the kernel unchanged (tables committed earlier are put back) and ends the batch', () => {
    easy.addRule('filter', 'INPUT', { ...host(1), counters: [7, 70] });
    easy.addChain('filter', 'keep');
    easy.addRule('filter', 'keep', { target: { LOG: { 'log-prefix': 'x ' } } });
    easy.addRule('filter', 'INPUT', { target: 'keep' });
    const before = save('filter', { counters: true });
    const beforeNat = save('nat', { counters: true });
    easy.batchBegin();
    easy.flushTable('filter');
    easy.addRule('filter', 'INPUT', host(2));
    // The kernel refuses a tcp match without -p tcp, at commit time.
    easy.addRule('nat', 'OUTPUT', { tcp: { dport: '22' }, target: 'ACCEPT' });
    expect(save('filter', { counters: true })).toBe(before);
    const err = thrown(() => easy.batchEnd());
    expect(err).toBeInstanceOf(IPTCError);
    expect(easy.inBatchMode()).toBe(false);
    expect(save('filter', { counters: true })).toBe(before);
    expect(save('nat', { counters: true })).toBe(beforeNat);
    // The batch is over: the next call commits at once.
    easy.addRule('filter', 'INPUT', host(3));
    expect(rules('filter', 'INPUT')).toEqual([hostLine(1), '-j keep', hostLine(3)]);
  });

  it('batchAbort drops the batch', () => {
    const before = save();
    easy.batchBegin();
    easy.addRule('filter', 'INPUT', host(1));
    easy.batchAbort();
    expect(easy.inBatchMode()).toBe(false);
    expect(save()).toBe(before);
    expect(easy.dumpChain('filter', 'INPUT')).toEqual([]);
  });
});
