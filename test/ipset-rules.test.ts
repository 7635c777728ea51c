// Sets made with iptc/ipset used at once by rules made with the iptc core: a `set` match that counts a
// real packet, a SET target that adds to a set, and the "set in use" error for a referenced set.
import { createSocket } from 'node:dgram';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { IPSet, IPSetError } from '../src/ipset/index.js';
import { resetKernel, rules, run } from './kernel.js';

const ipset = new IPSet();
afterAll(() => ipset.close());
beforeEach(() => resetKernel());

async function sendUdp(family: 'udp4' | 'udp6', host: string, port: number, count: number): Promise<void> {
  const socket = createSocket(family);
  for (let i = 0; i < count; i++) await new Promise((resolve) => socket.send('x', port, host, resolve));
  socket.close();
}

describe('ipsets from iptc/ipset in rules from the iptc core', () => {
  it('a set match counts the packets whose source is in the set', async () => {
    ipset.create('clients', { stype: 'hash:ip', counters: true });
    ipset.add('clients', '127.0.0.1');
    const r = new Rule();
    r.protocol = 'udp';
    r.createMatch('udp', { dport: '9911' });
    r.createMatch('set', { matchSet: ['clients', 'src'] });
    r.createTarget('DROP');
    new Table('filter').chain('INPUT').appendRule(r);
    expect(rules('filter', 'INPUT')).toEqual(['-p udp -m udp --dport 9911 -m set --match-set clients src -j DROP']);

    await sendUdp('udp4', '127.0.0.1', 9911, 3);
    const [read] = new Table('filter').chain('INPUT').rules;
    expect(read!.counters.packets).toBe(3n);
    expect(rules('filter', 'INPUT', { counters: true })[0]).toMatch(/^\[3:\d+\] -p udp/);
    expect(run('ipset', ['list', 'clients'])).toContain('127.0.0.1 packets 3');
  });

  it('IPv6: a set match on an inet6 set', async () => {
    ipset.create('clients6', { stype: 'hash:ip', family: 'inet6' });
    ipset.add('clients6', '::1');
    const r = new Rule6();
    r.protocol = 'udp';
    r.createMatch('set', { matchSet: ['clients6', 'src'] });
    r.createTarget('DROP');
    new Table6('filter').chain('INPUT').appendRule(r);
    await sendUdp('udp6', '::1', 9912, 2);
    expect(rules('filter', 'INPUT', { family: 6, counters: true })).toEqual([
      expect.stringMatching(/^\[2:\d+\] -p udp -m set --match-set clients6 src -j DROP$/),
    ]);
  });

  it('a SET target adds the source of matching packets to a set', async () => {
    ipset.create('seen', { stype: 'hash:ip' });
    const r = new Rule();
    r.protocol = 'udp';
    r.createMatch('udp', { dport: '9913' });
    r.createTarget('SET', { addSet: ['seen', 'src'] });
    new Table('filter').chain('INPUT').appendRule(r);
    expect(ipset.test('seen', '127.0.0.1')).toBe(false);
    await sendUdp('udp4', '127.0.0.1', 9913, 1);
    expect(ipset.test('seen', '127.0.0.1')).toBe(true);
    expect(run('ipset', ['save', 'seen'])).toContain('add seen 127.0.0.1');
  });

  it('destroying a set a rule references fails with "set in use" and leaves both in place', () => {
    ipset.create('referenced', { stype: 'hash:net' });
    const r = new Rule();
    r.createMatch('set', { matchSet: ['referenced', 'dst'] });
    r.createTarget('ACCEPT');
    new Table('filter').chain('OUTPUT').appendRule(r);
    let err: unknown;
    try {
      ipset.destroy('referenced');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IPSetError);
    expect((err as IPSetError).errno).toBe(4100);
    expect((err as IPSetError).message).toContain('in use');
    expect(run('ipset', ['list', '-n'])).toContain('referenced');
    expect(rules('filter', 'OUTPUT')).toEqual(['-m set --match-set referenced dst -j ACCEPT']);
  });
});

describe('a set freed by the rules that used it', () => {
  it('can be destroyed as soon as the delete, flush or replace that dropped its last rule returns', () => {
    // On nft the kernel frees removed rules' expressions (and their set references) in deferred work;
    // iptc lets it finish before commit() returns, as iptables-nft's exit does (16 of 20 at once failed).
    const t = new Table('filter');
    try {
      for (let i = 0; i < 20; i++) {
        ipset.create('freed', { stype: 'hash:ip' });
        const r = Rule.parse('-m set --match-set freed src -j ACCEPT');
        const chain = t.chain('INPUT');
        chain.appendRule(r);
        if (i % 3 === 0) chain.deleteRule(r);
        else if (i % 3 === 1) chain.flush();
        else chain.replaceRule(Rule.parse('-j ACCEPT'), 0);
        ipset.destroy('freed');
        chain.flush();
      }
    } finally {
      t.close();
    }
    expect(run('ipset', ['list', '-n'])).toBe('');
  });
});
