// Rule.parseLine and Rule.parse on whole rule lines (`-A CHAIN ...`, `-I CHAIN n ...`, `[p:b]`, `-t`), as
// iptables-save, `iptables -S` and go-iptables' List() write them: every line iptables-legacy-save prints
// for a varied table reads back to itself.
import { beforeEach, describe, expect, it } from 'vitest';
import { Rule, Rule6, RuleSyntaxError, Table, Table6 } from '../src/iptc/index.js';
import { closedAfterEach, ipt, resetKernel, rules, save, thrown, type Family } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

describe('Rule.parseLine', () => {
  it('reports the command, the chain, the 0-based position and the table', () => {
    const spec = '-p tcp -m tcp --dport 22 -j ACCEPT';
    const cases: [string, object][] = [
      [`-A INPUT ${spec}`, { command: 'append', chain: 'INPUT', position: undefined, table: undefined }],
      [`--append INPUT ${spec}`, { command: 'append', chain: 'INPUT', position: undefined, table: undefined }],
      [`-I INPUT ${spec}`, { command: 'insert', chain: 'INPUT', position: 0, table: undefined }],
      [`-I INPUT 3 ${spec}`, { command: 'insert', chain: 'INPUT', position: 2, table: undefined }],
      [`-R my-chain 1 ${spec}`, { command: 'replace', chain: 'my-chain', position: 0, table: undefined }],
      [`-D INPUT ${spec}`, { command: 'delete', chain: 'INPUT', position: undefined, table: undefined }],
      [`-C INPUT ${spec}`, { command: 'check', chain: 'INPUT', position: undefined, table: undefined }],
      [`-t nat -I POSTROUTING 2 ${spec}`, { command: 'insert', chain: 'POSTROUTING', position: 1, table: 'nat' }],
    ];
    for (const [line, expected] of cases) {
      const parsed = Rule.parseLine(line);
      expect(parsed).toMatchObject(expected);
      expect(parsed.rule).toBeInstanceOf(Rule);
      expect(parsed.rule.toString()).toBe(spec);
    }
    const words = Rule6.parseLine(['-I', 'INPUT', '2', '-s', '2001:db8::1', '-j', 'DROP']);
    expect(words).toMatchObject({ command: 'insert', chain: 'INPUT', position: 1 });
    expect(words.rule).toBeInstanceOf(Rule6);
    expect(words.rule.toString()).toBe('-s 2001:db8::1/128 -j DROP');
  });

  it("takes iptables-save -c's [packets:bytes] as the rule's counters", () => {
    const { rule, chain } = Rule.parseLine('[12:3456] -A FORWARD -j ACCEPT');
    expect(chain).toBe('FORWARD');
    expect(rule.counters).toEqual({ packets: 12n, bytes: 3456n });
    expect(Rule.parse('[7:8] -A INPUT -j DROP').counters).toEqual({ packets: 7n, bytes: 8n });
    expect(thrown(() => Rule.parse('[7:8] -A INPUT -c 1 2 -j DROP'))).toBeInstanceOf(RuleSyntaxError);
    expect(thrown(() => Rule.parse(`[${2n ** 64n}:0] -A INPUT`))).toBeInstanceOf(RangeError);
  });

  it('refuses what is not a rule line with RuleSyntaxError, as iptables words it', () => {
    for (const [line, message] of [
      ['-p tcp -j ACCEPT', 'starts with a command'],
      ['-N CHAIN', 'starts with a command'],
      ['-A', 'option "-A" requires an argument'],
      ['-A -p tcp', 'option "-A" requires an argument'],
      ['-R INPUT -p tcp', 'option "-R" requires an argument'],
      ['-I INPUT 0 -j ACCEPT', "Invalid rule number `0'"],
      ['-I INPUT x -j ACCEPT', "Invalid rule number `x'"],
      ['-D INPUT 3', 'deletes a rule by its number'],
      ['[1:x] -A INPUT', 'Bad counters'],
      ['[1:2] -j ACCEPT', 'needs a command'],
      ['-t nat -j ACCEPT', 'needs a command'],
      ['-A INPUT -A FORWARD -j ACCEPT', 'not part of a rule spec'],
    ]) {
      const err = thrown(() => Rule.parseLine(line!));
      expect(err, line).toBeInstanceOf(RuleSyntaxError);
      expect((err as Error).message, line).toContain(message);
    }
    expect(() => Rule.parseLine(5 as unknown as string)).toThrow(TypeError);
  });
});

describe('Rule.parse and parseAll with a rule line', () => {
  it('take the line and drop its chain; a bare spec is read as before', () => {
    expect(Rule.parse('-A INPUT -p tcp --dport 22 -j ACCEPT').equals(Rule.parse('-p tcp --dport 22 -j ACCEPT'))).toBe(true);
    expect(Rule.parse(['-I', 'INPUT', '4', '-j', 'DROP']).toString()).toBe('-j DROP');
    expect(Rule.parseAll('-A INPUT -s 10.0.0.1,10.0.0.2 -j DROP').map(String)).toEqual([
      '-s 10.0.0.1/32 -j DROP',
      '-s 10.0.0.2/32 -j DROP',
    ]);
    // An interface, an address or a comment that looks like a command is not a prefix.
    expect(Rule.parse('-i -A').toString()).toBe('-i -A');
  });
});

describe.each([4, 6] as const)('IPv%i: lines iptables-legacy-save prints read back to themselves', (family: Family) => {
  it('every -A line of a varied table, with and without counters', () => {
    const cli = (args: string[]) => ipt(args, family);
    const any = family === 6 ? '2001:db8::/64' : '10.0.0.0/8';
    cli(['-N', 'APP']);
    cli(['-A', 'INPUT', '-s', any, '-p', 'tcp', '-m', 'multiport', '--dports', '22,80', '-m', 'comment', '--comment', 'a "b" c', '-j', 'APP']);
    cli(['-A', 'INPUT', '!', '-i', 'lo', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
    cli(['-A', 'INPUT', '-p', 'udp', '-j', 'LOG', '--log-prefix', 'x y ']);
    cli(['-A', 'APP', '-j', 'RETURN']);
    cli(['-A', 'FORWARD', '-i', 'eth1', '-g', 'APP']);
    cli(['-A', 'FORWARD', '-c', '5', '77', '-o', 'eth+', '-j', 'DROP']);
    cli(['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE']);
    const R = family === 6 ? Rule6 : Rule;
    for (const table of ['filter', 'nat']) {
      for (const counters of [false, true]) {
        const lines = save(table, { family, counters }).split('\n').filter((l) => /^(\[\d+:\d+\] )?-A /.test(l));
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) {
          const { chain, command, rule } = R.parseLine(line);
          expect(command).toBe('append');
          const prefix = counters ? `[${rule.counters.packets}:${rule.counters.bytes}] ` : '';
          expect(`${prefix}-A ${chain} ${rule}`).toBe(line);
        }
      }
    }
    // The rules read back install as they were: the parsed lines restored into an emptied table.
    const T = family === 6 ? Table6 : Table;
    const t = new T('filter');
    open.push(t);
    const before = save('filter', { family, counters: true });
    const parsed = before.split('\n').filter((l) => l.includes('-A ')).map((l) => R.parseLine(l));
    for (const c of ['INPUT', 'FORWARD', 'APP']) t.chain(c).flush();
    for (const { chain, rule } of parsed) t.chain(chain).appendRule(rule);
    expect(save('filter', { family, counters: true })).toBe(before);
    expect(rules('filter', 'FORWARD', { family, counters: true })).toEqual(['[0:0] -i eth1 -g APP', '[5:77] -o eth+ -j DROP']);
  });
});
