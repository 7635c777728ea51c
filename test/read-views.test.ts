// A rule read back hands out views of its matches and target until something changes them: reading a
// large table then leaves no Match or Target objects behind. Every view of an extension must still act
// as that one extension: a change through any of them is seen through all, and is what the kernel gets.
import { beforeEach, describe, expect, it } from 'vitest';
import { Match, Rule, Table } from '../src/iptc/index.js';
import { closedAfterEach, ipt, resetKernel, rules } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
  ipt(['-N', 'user']);
  ipt(['-A', 'INPUT', '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-m', 'comment', '--comment', 'web', '-j', 'ACCEPT']);
  ipt(['-A', 'INPUT', '-p', 'udp', '-m', 'udp', '--dport', '53', '-g', 'user']);
  ipt(['-A', 'INPUT', '-s', '10.0.0.0/8', '-j', 'LOG', '--log-prefix', 'ten: ']);
});

function readBack(): { table: Table; web: Rule; dns: Rule; log: Rule } {
  const table = new Table('filter');
  open.push(table);
  const [web, dns, log] = table.chain('INPUT').rules as [Rule, Rule, Rule];
  return { table, web, dns, log };
}

describe('views of the extensions of a rule read back', () => {
  it('a change through one view is seen through every other, and is what the kernel gets', () => {
    const { table, web } = readBack();
    const first = web.matches;
    const second = web.matches;
    first[0]!.set('dport', '81');
    expect(second[0]!.parameters).toEqual({ dport: '81' });
    expect(second[0]!.get('dport')).toBe('81');
    // A view read before the change, changed after it: the change adds to the first one.
    second[1]!.set('comment', 'www');
    expect(first[1]!.parameters).toEqual({ comment: 'www' });
    expect(web.matches.map((m) => m.toString())).toEqual(['-m tcp --dport 81', '-m comment --comment www']);
    expect(web.matches[0]).toBe(web.matches[0]);
    table.chain('INPUT').replaceRule(web, 0);
    expect(rules('filter', 'INPUT')[0]).toBe('-p tcp -m tcp --dport 81 -m comment --comment www -j ACCEPT');
  });

  it('a view read before another change to the rule still changes the rule', () => {
    const { table, web } = readBack();
    const [tcp] = web.matches;
    web.src = '192.168.0.0/16';
    tcp!.set('dport', '8080');
    expect(web.toString()).toBe('-s 192.168.0.0/16 -p tcp -m tcp --dport 8080 -m comment --comment web -j ACCEPT');
    table.chain('INPUT').replaceRule(web, 0);
    expect(rules('filter', 'INPUT')[0]).toBe('-s 192.168.0.0/16 -p tcp -m tcp --dport 8080 -m comment --comment web -j ACCEPT');
  });

  it('views of a target: verdict, goto and a target extension', () => {
    const { table, dns, log } = readBack();
    const a = dns.target!;
    const b = dns.target!;
    expect([a.standardTarget, a.goto]).toEqual(['user', true]);
    a.goto = false;
    expect(b.goto).toBe(false);
    b.standardTarget = 'DROP';
    expect(a.toString()).toBe('-j DROP');
    expect(dns.target!.equals(a)).toBe(true);
    const prefix = log.target!;
    log.target!.set('log-prefix', 'net10: ');
    expect(prefix.parameters).toEqual({ 'log-prefix': 'net10: ' });
    table.chain('INPUT').replaceRule(dns, 1);
    table.chain('INPUT').replaceRule(log, 2);
    expect(rules('filter', 'INPUT').slice(1)).toEqual([
      '-p udp -m udp --dport 53 -j DROP',
      '-s 10.0.0.0/8 -j LOG --log-prefix "net10: "',
    ]);
  });

  it('removeMatch and addMatch take views', () => {
    const { table, web, dns } = readBack();
    const comment = web.matches[1]!;
    web.removeMatch(web.matches[1]!);
    expect(web.toString()).toBe('-p tcp -m tcp --dport 80 -j ACCEPT');
    // The removed match, through a view read before, is the one the rule no longer has.
    dns.addMatch(comment);
    comment.set('comment', 'moved');
    expect(dns.matches.map(String)).toEqual(['-m udp --dport 53', '-m comment --comment moved']);
    expect(web.matches.map(String)).toEqual(['-m tcp --dport 80']);
    table.chain('INPUT').replaceRule(web, 0);
    table.chain('INPUT').replaceRule(dns, 1);
    expect(rules('filter', 'INPUT').slice(0, 2)).toEqual([
      '-p tcp -m tcp --dport 80 -j ACCEPT',
      '-p udp -m udp --dport 53 -m comment --comment moved -g user',
    ]);
  });

  it('a rule only read hands out new views each time, equal to each other', () => {
    const { web } = readBack();
    const [a] = web.matches;
    const [b] = web.matches;
    expect(a).not.toBe(b);
    expect(a).toBeInstanceOf(Match);
    expect(a!.equals(b!)).toBe(true);
    expect(web.comment).toBe('web');
    web.comment = 'changed';
    expect(a!.parameters).toEqual({ dport: '80' });
    expect(web.toString()).toBe('-p tcp -m tcp --dport 80 -m comment --comment changed -j ACCEPT');
  });
});
