// Rules read back are printed by the shim a chunk at a time (src/xtables/printed.ts; on legacy the chunks
// run across chains), and
// their matches and targets take their parameters from that text. Whatever order they are read in, the
// text is iptables-legacy-save's and the parameters are those of the same rule parsed anew; a rule
// naming an ipset is printed when it is read, never ahead with its chain.
import { beforeEach, describe, expect, it } from 'vitest';
import { IPSet } from '../src/ipset/index.js';
import { Rule, Table, Table6, Target } from '../src/iptc/index.js';
import { shim } from '../src/xtables/shim.js';
import { closedAfterEach, ipt, resetKernel, rules, run } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

function table(name = 'filter'): Table {
  const t = new Table(name);
  open.push(t);
  return t;
}

/** 150 rules of many kinds: more than the first chunks the printer makes (32, then 64). */
function specs(): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < 150; i++) {
    const kind = i % 6;
    if (kind === 0) out.push(['-s', `10.0.${i}.0/24`, '-p', 'tcp', '--dport', String(1000 + i), '-m', 'comment', '--comment', `rule ${i} café`, '-j', 'ACCEPT']);
    else if (kind === 1) out.push(['-p', 'udp', '-m', 'multiport', '--dports', `53,${i + 100}`, '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP']);
    else if (kind === 2) out.push(['-i', `eth${i % 4}`, '-j', 'LOG', '--log-prefix', `in ${i}: `, '--log-level', '4']);
    else if (kind === 3) out.push(['!', '-d', `192.0.2.${i}`, '-g', 'SIDE']);
    else if (kind === 4) out.push(['-m', 'comment', '--comment', `no target ${i}`]);
    else out.push(['-p', 'icmp', '--icmp-type', 'echo-request', '-m', 'limit', '--limit', `${i}/sec`, '-j', 'SIDE']);
  }
  return out;
}

/**
 * The matches' and target's names and parameters, as both reading paths give them (a rule read back
 * without a target has the fall-through target '', a rule parsed without one none).
 */
function described(r: Rule): unknown {
  const t = r.target;
  return {
    matches: r.matches.map((m) => [m.name, m.parameters, m.getAllParameters(), m.saveText()]),
    target: t && t.name !== '' ? [t.name, t.parameters, t.saveText(), t.goto] : null,
  };
}

describe('rules printed with their chain', () => {
  it('read in any order, give the text iptables-legacy-save prints and the parameters of a fresh parse', () => {
    ipt(['-N', 'SIDE']);
    for (const spec of specs()) ipt(['-A', 'INPUT', ...spec]);
    const expected = rules('filter', 'INPUT');
    expect(expected).toHaveLength(150);
    let seed = 7;
    const shuffled = expected.map((_, i) => i).sort(() => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 3) - 1);
    const orders: Record<string, number[]> = {
      forward: expected.map((_, i) => i),
      backward: expected.map((_, i) => expected.length - 1 - i),
      shuffled,
      'from the middle': [...expected.map((_, i) => i).slice(75), ...expected.map((_, i) => i).slice(0, 75)],
    };
    for (const [name, order] of Object.entries(orders)) {
      const read = table().chain('INPUT').rules;
      for (const i of order) expect(read[i]!.toString(), `${name}, rule ${i}`).toBe(expected[i]);
      const again = table().chain('INPUT').rules;
      for (const i of order) expect(described(again[i]!), `${name}, rule ${i}`).toEqual(described(Rule.parse(expected[i]!)));
    }
    expect(table().save()).toBe(run('iptables-legacy-save', ['-t', 'filter']).replace(/^#.*\n/gm, ''));
  });

  it('a large chain keeps about 2 MiB printed: rules read again after the whole chain are printed again, alike', () => {
    ipt(['-N', 'SIDE']);
    const all = specs();
    // 10,000 rules of about 300 bytes of text each: more than the 2 MiB a chain keeps printed, so the
    // first chunks are let go by the time the last rules are read.
    const pad = 'x'.repeat(200);
    const restore = ['*filter', ':SIDE - [0:0]'];
    for (let i = 0; i < 10_000; i++) {
      const spec = all[i % 150]!.map((w) => (w.includes(' ') ? `"${w}"` : w)).join(' ');
      restore.push(`-A INPUT ${spec} -m comment --comment "${i} ${pad}"`);
    }
    run('iptables-legacy-restore', ['--noflush'], `${restore.join('\n')}\nCOMMIT\n`);
    const expected = rules('filter', 'INPUT');
    expect(expected).toHaveLength(10_000);
    const read = table().chain('INPUT').rules;
    const params = read.map((r) => described(r));
    for (let i = 0; i < read.length; i++) expect(read[i]!.toString(), `rule ${i}`).toBe(expected[i]);
    // Printed again, in a chunk that starts small, then in order from there, then elsewhere.
    for (const i of [0, 1, 31, 32, 200, 9999, 5, 100, 5000, 5001, 5002, 4999]) {
      expect(read[i]!.toString(), `rule ${i} again`).toBe(expected[i]);
      expect(described(read[i]!), `rule ${i} again`).toEqual(params[i]);
      expect(params[i]).toEqual(described(Rule.parse(expected[i]!)));
    }
  });

  it('a table of many small chains is printed across chains: any chain read first gives its own rules', () => {
    // kube-proxy's shape: thousands of chains of a few rules. The legacy backend prints the whole table's
    // rules as one list, so a chunk spans chains; each chain must still get its own rules' text.
    const names = Array.from({ length: 60 }, (_, c) => `SVC-${c}`);
    const restore = ['*filter', ...names.map((n) => `:${n} - [0:0]`)];
    names.forEach((name, c) => {
      for (let r = 0; r <= c % 4; r++) {
        const spec = specs()[(c * 4 + r) % 150]!.map((w) => (w.includes(' ') ? `"${w}"` : w)).join(' ').replace('-g SIDE', `-g ${names[(c + 1) % 60]}`).replace('-j SIDE', `-j ${names[(c + 2) % 60]}`);
        restore.push(`-A ${name} ${spec}`);
      }
    });
    run('iptables-legacy-restore', [], `${restore.join('\n')}\nCOMMIT\n`);
    const expected = new Map(names.map((n) => [n, rules('filter', n)]));
    expect(expected.get('SVC-3')).toHaveLength(4);
    let seed = 11;
    const order = [...names].sort(() => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 3) - 1);
    const total = [...expected.values()].reduce((n, r) => n + r.length, 0);
    // Counts the rules the shim prints: a table this small stays printed, whatever order it is read in.
    const fns = shim();
    const printRules = fns.printRules;
    let printed = 0;
    fns.printRules = (...args: Parameters<typeof printRules>) => {
      const n = printRules(...args);
      if (n > 0) printed += n;
      return n;
    };
    try {
      for (const reversed of [false, true]) {
        const t = table();
        printed = 0;
        for (const name of reversed ? [...order].reverse() : order) {
          const read = t.chain(name).rules;
          expect(read.map((r) => r.toString()), name).toEqual(expected.get(name));
          for (const [i, r] of read.entries()) expect(described(r), `${name} rule ${i}`).toEqual(described(Rule.parse(expected.get(name)![i]!)));
        }
        expect(printed, 'each rule printed once').toBe(total);
      }
    } finally {
      fns.printRules = printRules;
    }
    expect(table().save()).toBe(run('iptables-legacy-save', ['-t', 'filter']).replace(/^#.*\n/gm, ''));
  });

  it.each([false, true])('an interface name that is not ASCII saves as iptables-legacy-save\'s bytes (counters: %s)', (counters) => {
    ipt(['-N', 'SIDE']);
    for (const spec of specs().slice(0, 40)) ipt(['-A', 'INPUT', ...spec]);
    ipt(['-A', 'INPUT', '-i', 'é0', '-j', 'ACCEPT']);
    // Its bytes are iptables-legacy-save's, whichever way the rest of the rules are printed.
    const expected = run('iptables-legacy-save', ['-t', 'filter', ...(counters ? ['-c'] : [])]).replace(/^#.*\n/gm, '');
    expect(expected).toContain('-i é0');
    expect(table().save({ counters, encoding: 'buffer' }).equals(Buffer.from(expected))).toBe(true);
    expect(table().save({ counters })).toBe(expected);
  });

  it('an interface name that is not ASCII reads as the rest of the text reads, and is written back as it was', () => {
    ipt(['-A', 'INPUT', '-i', 'é0', '-j', 'ACCEPT']);
    const t = table();
    const [rule] = t.chain('INPUT').rules;
    expect(rule!.toString()).toBe('-i é0 -j ACCEPT');
    expect(t.save({ encoding: 'buffer' }).includes(Buffer.from('-A INPUT -i é0 -j ACCEPT\n'))).toBe(true);
    // Changed elsewhere, the rule keeps the name's bytes (and prints them the same way).
    rule!.target = new Target(rule!, 'DROP');
    expect(rule!.toString()).toBe('-i é0 -j DROP');
    t.chain('INPUT').appendRule(rule!);
    expect(rules('filter', 'INPUT')).toEqual(['-i é0 -j ACCEPT', '-i é0 -j DROP']);
  });

  it.each([
    [4, ['-s 10.0.0.0/255.0.255.0 -j ACCEPT', '! -i eth+ -o ppp0 -j ACCEPT', '-p 253 -j ACCEPT', '! -p udp -j DROP', '-p 135',
      '! -f -j ACCEPT', '! -d 192.0.2.0/24 -p 47', '-i lo -m comment --comment "é \\" q" -j ACCEPT']],
    [6, ['-s ::ffff:10.0.0.1/128 -j ACCEPT', '-d 2001:db8::/ffff:0:ffff:: -j DROP', '-s ::10.0.0.1 -p 253', '! -s 2001:db8::/64 ! -p tcp',
      '-o eth0+ -p ipv6-icmp -j ACCEPT']],
  ] as const)('header fields of every kind print as iptables-legacy-save prints them (IPv%i)', (family, specs) => {
    const cli = family === 6 ? 'ip6tables-legacy' : 'iptables-legacy';
    for (const spec of specs) run('sh', ['-c', `${cli} -A FORWARD ${spec}`]);
    run(cli, ['-Z']);
    const t = family === 6 ? new Table6('filter') : table();
    open.push(t);
    const saved = (counters: boolean) => run(`${cli}-save`, ['-t', 'filter', ...(counters ? ['-c'] : [])]).replace(/^#.*\n/gm, '');
    expect(t.save()).toBe(saved(false));
    expect(t.save({ counters: true })).toBe(saved(true));
    const lines = saved(false).split('\n').filter((l) => l.startsWith('-A FORWARD ')).map((l) => l.slice('-A FORWARD '.length));
    expect(lines).toHaveLength(specs.length);
    expect(t.chain('FORWARD').rules.map(String)).toEqual(lines);
  });

  it('a rule naming an ipset is printed when it is read: the set its index names then', () => {
    const ipset = new IPSet();
    try {
      ipset.create('alpha', { stype: 'hash:ip' });
      ipt(['-A', 'INPUT', '-s', '10.0.0.1', '-j', 'ACCEPT']);
      ipt(['-A', 'INPUT', '-m', 'set', '--match-set', 'alpha', 'src', '-j', 'DROP']);
      const read = table().chain('INPUT').rules;
      // Reading the first rule prints its chain's first chunk; the set rule is left to be printed later.
      expect(read[0]!.toString()).toBe('-s 10.0.0.1/32 -j ACCEPT');
      // Meanwhile the set's index changes hands, as another program may make it.
      ipt(['-D', 'INPUT', '2']);
      ipset.destroy('alpha');
      ipset.create('beta', { stype: 'hash:ip' });
      ipt(['-A', 'INPUT', '-m', 'set', '--match-set', 'beta', 'src', '-j', 'DROP']);
      expect(rules('filter', 'INPUT')[1]).toBe('-m set --match-set beta src -j DROP');
      expect(read[1]!.toString()).toBe('-m set --match-set beta src -j DROP');
      expect(read[1]!.matches[0]!.parameters).toEqual({ 'match-set': 'beta src' });
    } finally {
      ipset.close();
    }
  });
});
