// iptc/easy and iptc/testing choosing the nf_tables backend: the `backend` option (and Table.defaultBackend)
// reach every easy call and batch (this file runs with the suite's pin at legacy), nothing lands in or is
// made on the legacy side, and a namespace child of iptc/testing uses the backend it is given; read back
// with iptables-nft-save and nft. What each easy function does on nft is test/easy.test.ts's and
// test/easy-functions.test.ts's, which run on both backends.
import { createSocket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as easy from '../src/easy/index.js';
import { Table } from '../src/iptc/index.js';
import { inNetns } from '../dist/testing/index.js';
import { liveTables, resetKernel, run } from './kernel.js';
import { freshNftEachTest, iptNft, savedRules } from './nft-kernel.js';

freshNftEachTest();
const nft = { backend: 'nft' } as const;
let legacyBefore: string[][] = [];
beforeEach(() => {
  // Other test files leave legacy chains behind: empty the legacy tables (which keeps them in use).
  resetKernel();
  legacyBefore = [liveTables(4), liveTables(6)];
});
afterEach(() => {
  easy.batchAbort();
  Table.defaultBackend = 'auto';
  // No nft call made a legacy table.
  expect([liveTables(4), liveTables(6)]).toEqual(legacyBefore);
});

describe('iptc/easy on nft', () => {
  it('adds, reads, replaces and deletes rules and chains as dictionaries', () => {
    expect(easy.addChain('filter', 'web', nft)).toBe(true);
    easy.addRule('filter', 'web', { protocol: 'tcp', tcp: { dport: '80' }, comment: { comment: 'http' }, target: 'ACCEPT' }, nft);
    easy.addRule('filter', 'web', { src: '10.0.0.0/8', target: 'RETURN' }, 1, nft);
    easy.insertRule('filter', 'INPUT', { target: 'web' }, nft);
    expect(savedRules('filter').get('web')).toEqual(['-s 10.0.0.0/8 -j RETURN', '-p tcp -m tcp --dport 80 -m comment --comment http -j ACCEPT']);
    expect(savedRules('filter').get('INPUT')).toEqual(['-j web']);
    expect(easy.getChains('filter', nft)).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'web']);
    expect(easy.hasChain('filter', 'web', nft)).toBe(true);
    expect(easy.hasChain('filter', 'web', { backend: 'legacy' })).toBe(false);
    expect(easy.dumpChain('filter', 'web', nft)).toEqual([
      { src: '10.0.0.0/8', target: 'RETURN', counters: [0, 0] },
      { protocol: 'tcp', tcp: { dport: '80' }, comment: { comment: 'http' }, target: 'ACCEPT', counters: [0, 0] },
    ].map(({ counters: _c, ...r }) => expect.objectContaining(r)));
    expect(easy.hasRule('filter', 'web', { src: '10.0.0.0/8', target: 'RETURN' }, nft)).toBe(true);
    expect(easy.getRulePosition('filter', 'web', { src: '10.0.0.0/8', target: 'RETURN' }, nft)).toBe(0);
    easy.replaceRule('filter', 'web', { src: '10.0.0.0/8', target: 'RETURN' }, { src: '10.9.0.0/16', target: 'RETURN' }, nft);
    easy.deleteRule('filter', 'web', { protocol: 'tcp', tcp: { dport: '80' }, comment: { comment: 'http' }, target: 'ACCEPT' }, nft);
    expect(savedRules('filter').get('web')).toEqual(['-s 10.9.0.0/16 -j RETURN']);
    easy.setPolicy('filter', 'FORWARD', 'DROP', nft);
    expect(easy.getPolicy('filter', 'FORWARD', nft)).toBe('DROP');
    expect(run('iptables-nft', ['-S', 'FORWARD'])).toBe('-P FORWARD DROP\n');
    easy.flushChain('filter', 'INPUT', nft);
    easy.deleteChain('filter', 'web', { ...nft, flush: true });
    expect(run('iptables-nft-save', ['-t', 'filter'])).not.toMatch(/web/);
    expect(easy.getTables(nft)).toEqual(['filter', 'nat', 'mangle', 'raw', 'security']);
  });

  it('reads and zeroes counters; flushAll and dumpAll cover the nft tables, creating none', async () => {
    iptNft(['-A', 'OUTPUT', '-d', '127.0.0.1', '-m', 'comment', '--comment', 'lo', '-j', 'ACCEPT']);
    iptNft(['-t', 'nat', '-A', 'OUTPUT', '-d', '192.0.2.1', '-j', 'DNAT', '--to-destination', '192.0.2.2']);
    const s = createSocket('udp4');
    for (let i = 0; i < 4; i++) await new Promise<void>((r) => s.send('x', 9, '127.0.0.1', () => r()));
    s.close();
    const [packets] = easy.getRuleCounters('filter', 'OUTPUT', { dst: '127.0.0.1/32', comment: { comment: 'lo' }, target: 'ACCEPT' }, nft);
    expect(packets).toBeGreaterThanOrEqual(4);
    expect(savedRules('filter', 4, true).get('OUTPUT')![0]).toMatch(new RegExp(`^\\[${packets}:`));
    easy.zeroChain('filter', 'OUTPUT', nft);
    expect(savedRules('filter', 4, true).get('OUTPUT')![0]).toMatch(/^\[0:0\] /);
    // Every table iptables knows, as python-iptables' dump_all; reading those that do not exist creates none.
    const dumped = easy.dumpAll(nft);
    expect(Object.keys(dumped)).toEqual(['filter', 'nat', 'mangle', 'raw', 'security']);
    expect(dumped.nat!.OUTPUT).toEqual([expect.objectContaining({ dst: '192.0.2.1/32', target: { DNAT: { 'to-destination': '192.0.2.2' } } })]);
    expect(run('nft', ['list', 'tables'])).toBe('table ip filter\ntable ip nat\n');
    easy.flushAll(nft);
    expect(savedRules('filter').size + savedRules('nat').size).toBe(0);
  });

  it('a batch on nft commits nothing before batchEnd, then every table changed', () => {
    easy.batchBegin(nft);
    easy.addRule('filter', 'INPUT', { protocol: 'udp', udp: { dport: '53' }, target: 'ACCEPT' }, nft);
    easy.addRule('nat', 'POSTROUTING', { 'out-interface': 'eth0', target: 'MASQUERADE' }, nft);
    // The batch's own copies show the changes; the kernel does not.
    expect(easy.dumpChain('filter', 'INPUT', nft)).toHaveLength(1);
    expect(run('nft', ['list', 'ruleset'])).toBe('');
    easy.batchEnd(nft);
    expect(savedRules('filter').get('INPUT')).toEqual(['-p udp -m udp --dport 53 -j ACCEPT']);
    expect(savedRules('nat').get('POSTROUTING')).toEqual(['-o eth0 -j MASQUERADE']);
  });

  it('follows Table.defaultBackend at each call, and refuses a bad backend', () => {
    Table.defaultBackend = 'nft';
    easy.addRule('filter', 'INPUT', { src: '192.0.2.7', target: 'DROP' });
    expect(savedRules('filter').get('INPUT')).toEqual(['-s 192.0.2.7/32 -j DROP']);
    expect(easy.dumpChain('filter', 'INPUT', { backend: 'legacy' }).some((r) => r.src === '192.0.2.7/32')).toBe(false);
    expect(() => easy.getChains('filter', { backend: 'nftables' as 'nft' })).toThrow(/backend must be 'legacy', 'nft' or 'auto'/);
  });
});

describe('iptc/testing on nft', () => {
  it('a namespace child uses the backend it is given, and its rules stay there', async () => {
    const result = await inNetns(({ iptc, easy: e, run: sh }) => {
      const t = new iptc.Table('filter');
      t.chain('INPUT').appendRule(iptc.Rule.parse('-p tcp --dport 8080 -j ACCEPT'));
      e.addRule('filter', 'INPUT', { protocol: 'udp', udp: { dport: '53' }, target: 'ACCEPT' });
      return { backend: t.backend, saved: sh('iptables-nft-save', ['-t', 'filter']).split('\n').filter((l) => l.startsWith('-A')) };
    }, [], { backend: 'nft' });
    expect(result).toEqual({ backend: 'nft', saved: ['-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT', '-A INPUT -p udp -m udp --dport 53 -j ACCEPT'] });
    expect(run('nft', ['list', 'ruleset'])).toBe('');
    await expect(inNetns(() => 1, [], { backend: 'iptables' as 'nft' })).rejects.toThrow(/backend must be/);
  });
});
