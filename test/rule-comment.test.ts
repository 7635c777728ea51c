// rule.comment: the text of a rule's comment match, read from rules the kernel holds and set on rules
// that are then installed, checked against iptables-legacy-save / ip6tables-legacy-save.
import { beforeEach, describe, expect, it } from 'vitest';
import { Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { closedAfterEach, ipt, resetKernel, rules, thrown, type Family } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

describe.each([4, 6] as const)('IPv%i', (family: Family) => {
  const T = family === 6 ? Table6 : Table;
  const R = family === 6 ? Rule6 : Rule;
  const rl = (chain: string) => rules('filter', chain, { family });
  const cli = (args: string[]) => ipt(args, family);

  function input(): ReturnType<Table['chain']> {
    const t = new T('filter');
    open.push(t);
    return t.chain('INPUT');
  }

  it('reads the comment of rules the kernel holds; undefined without one', () => {
    cli(['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh from "the" LAN \\ ü', '-j', 'ACCEPT']);
    cli(['-A', 'INPUT', '-m', 'comment', '--comment', '', '-j', 'ACCEPT']);
    cli(['-A', 'INPUT', '-j', 'ACCEPT']);
    const [a, b, c] = input().rules;
    expect(a!.comment).toBe('ssh from "the" LAN \\ ü');
    expect(b!.comment).toBe('');
    expect(c!.comment).toBeUndefined();
  });

  it('a comment set on a new rule is what the kernel holds', () => {
    const r = R.parse('-p tcp --dport 22 -j ACCEPT');
    r.comment = 'ssh "quoted"';
    input().appendRule(r);
    expect(rl('INPUT')).toEqual(['-p tcp -m tcp --dport 22 -m comment --comment "ssh \\"quoted\\"" -j ACCEPT']);
    expect(input().rules[0]!.comment).toBe('ssh "quoted"');
  });

  it('setting replaces the first comment match of a kernel rule, keeping the others and the rest', () => {
    cli(['-A', 'INPUT', '-m', 'comment', '--comment', 'one', '-p', 'udp', '-m', 'comment', '--comment', 'two', '-j', 'DROP']);
    const c = input();
    const r = c.rules[0]!;
    expect(r.comment).toBe('one');
    r.comment = 'uno';
    c.replaceRule(r, 0);
    expect(rl('INPUT')).toEqual(['-p udp -m comment --comment uno -m comment --comment two -j DROP']);
  });

  it("null or '' removes every comment match; the rule still matches the same packets", () => {
    cli(['-A', 'INPUT', '-m', 'comment', '--comment', 'one', '-p', 'udp', '-m', 'comment', '--comment', 'two', '-j', 'DROP']);
    cli(['-A', 'INPUT', '-m', 'comment', '--comment', 'three', '-s', family === 6 ? '::1' : '127.0.0.1', '-j', 'DROP']);
    const c = input();
    const [first, second] = c.rules;
    first!.comment = null;
    second!.comment = '';
    expect(first!.comment).toBeUndefined();
    expect(second!.comment).toBeUndefined();
    c.replaceRule(first!, 0);
    c.replaceRule(second!, 1);
    expect(rl('INPUT')).toEqual(['-p udp -j DROP', `-s ${family === 6 ? '::1/128' : '127.0.0.1/32'} -j DROP`]);
    const none = new R();
    none.comment = null;
    expect(none.toString()).toBe('');
  });

  it('refuses undefined, non-strings and texts iptables would cut; the rule stays as it was', () => {
    const r = R.parse('-m comment --comment kept -j ACCEPT');
    for (const [value, type] of [
      [undefined, TypeError],
      [5, TypeError],
      [{}, TypeError],
      ['x'.repeat(256), RangeError],
      ['ü'.repeat(128), RangeError],
    ] as const) {
      expect(thrown(() => (r.comment = value as unknown as string))).toBeInstanceOf(type);
      expect(r.toString()).toBe('-m comment --comment kept -j ACCEPT');
    }
    r.comment = 'x'.repeat(255);
    input().appendRule(r);
    expect(input().rules[0]!.comment).toBe('x'.repeat(255));
  });
});
