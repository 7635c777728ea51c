// chain.hasRule(rule | spec): libiptc's check (iptc_check_entry), compared with what `iptables-legacy -C`
// answers for the same spec in the same namespace, and with python-iptables' idiom `rule in chain.rules`
// (here: chain.rules.some((r) => r.equals(rule))), which must keep giving the same answer. Every case runs
// for IPv4 and IPv6.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { IPTCError, Rule, Rule6, RuleSyntaxError, Table, Table6 } from '../src/iptc/index.js';
import { cleanFresh, runFresh } from './fresh-process.js';
import { attempt, closedAfterEach, ipt, resetKernel, run, save, thrown, type Family, tools } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

afterAll(() => cleanFresh());

describe.each([4, 6] as const)('IPv%i', (family: Family) => {
  const T = family === 6 ? Table6 : Table;
  const R = family === 6 ? Rule6 : Rule;
  const tool = tools.iptables(family);
  const net = (n: number) => (family === 6 ? `2001:db8:${n}::/64` : `10.${n}.0.0/16`);

  function table(name = 'filter', opts?: { autocommit?: boolean }): Table {
    const t = opts ? new T(name, opts) : new T(name);
    open.push(t);
    return t;
  }

  /** What `iptables-legacy -C CHAIN spec` says: true when it exits 0. */
  const cliHas = (chain: string, spec: string[]) => attempt(tool, ['-C', chain, ...spec]).status === 0;
  /**
   * What `iptables-legacy -D CHAIN spec` would do to the kernel's rules, on a copy: whether it finds one.
   * ip6tables-legacy 1.8.9's -C overlooks some extensions' data (a conntrack --ctstate, a LOG
   * --log-prefix: it answers yes where its -D finds no such rule); hasRule answers as -D finds rules.
   */
  const cliDeletes = (chain: string, spec: string[]) => {
    const before = save('filter', { family, counters: true });
    const found = attempt(tool, ['-D', chain, ...spec]).status === 0;
    if (found) run(`${tool}-restore`, ['--counters'], `${before}\n`);
    return found;
  };

  // Installed with the CLI; `probes` differ from them in one thing each, or are them in other words.
  const installed = [
    ['-s', net(1), '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh from one', '-j', 'ACCEPT'],
    ['-s', net(2), '-p', 'udp', '-m', 'udp', '--dport', '53', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'],
    ['-i', 'eth0', '-p', 'tcp', '--dport', '80', '-j', 'LOG', '--log-prefix', 'web: '],
    ['-j', 'SIDE'],
  ];
  const probes = [
    ...installed,
    // The same rules written otherwise: the protocol's match loaded by its option, a long option name.
    ['--source', net(1), '-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh from one', '-j', 'ACCEPT'],
    ['-s', net(2), '-p', 'udp', '--dport', '53', '-m', 'conntrack', '--ctstate', 'NEW', '--jump', 'DROP'],
    // One thing differs.
    ['-s', net(1), '-p', 'tcp', '-m', 'tcp', '--dport', '23', '-m', 'comment', '--comment', 'ssh from one', '-j', 'ACCEPT'],
    ['-s', net(1), '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh from two', '-j', 'ACCEPT'],
    ['-s', net(1), '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh from one', '-j', 'DROP'],
    ['-s', net(3), '-p', 'udp', '-m', 'udp', '--dport', '53', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'],
    ['-s', net(2), '-p', 'udp', '-m', 'udp', '--dport', '53', '-m', 'conntrack', '--ctstate', 'NEW,ESTABLISHED', '-j', 'DROP'],
    ['-s', net(2), '-p', 'udp', '-m', 'udp', '--dport', '53', '-j', 'DROP'],
    ['-i', 'eth1', '-p', 'tcp', '--dport', '80', '-j', 'LOG', '--log-prefix', 'web: '],
    ['-i', 'eth0', '-p', 'tcp', '--dport', '80', '-j', 'LOG', '--log-prefix', 'web:: '],
    ['-g', 'SIDE'],
    ['-j', 'ACCEPT'],
  ];

  function install(): void {
    ipt(['-N', 'SIDE'], family);
    for (const spec of installed) ipt(['-A', 'INPUT', ...spec], family);
  }

  it('finds the rules iptables -C and -D find, for Rule objects, spec strings and argv words', () => {
    install();
    // Traffic counted on a rule does not make it another rule.
    ipt(['-Z', 'INPUT'], family);
    const before = save('filter', { family, counters: true });
    const t = table();
    const chain = t.chain('INPUT');
    let found = 0;
    for (const spec of probes) {
      const expected = cliDeletes('INPUT', spec);
      // iptables -C agrees (ip6tables' does not always, see cliDeletes).
      if (family === 4) expect(cliHas('INPUT', spec), spec.join(' ')).toBe(expected);
      if (expected) found++;
      expect(chain.hasRule(R.parse(spec)), spec.join(' ')).toBe(expected);
      expect(chain.hasRule(spec), spec.join(' ')).toBe(expected);
      expect(chain.hasRule(spec.map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' ')), spec.join(' ')).toBe(expected);
    }
    expect(found).toBe(installed.length + 2);
    expect(save('filter', { family, counters: true })).toBe(before);
  });

  it('ignores counters, as the kernel does when it compares rules', () => {
    install();
    const r = R.parse(installed[0]!);
    r.setCounters(7, 700);
    expect(table().chain('INPUT').hasRule(r)).toBe(true);
  });

  it('keeps `rule in chain.rules` (chain.rules.some(equals)) giving the same answers', () => {
    install();
    const chain = table().chain('INPUT');
    for (const spec of probes) {
      const rule = R.parse(spec);
      expect(chain.rules.some((r) => r.equals(rule)), spec.join(' ')).toBe(chain.hasRule(rule));
      expect(chain.rules.some((r) => rule.equals(r)), spec.join(' ')).toBe(chain.hasRule(rule));
    }
  });

  it('sees the kernel as it is now with autocommit, and the pending changes without', () => {
    const spec = ['-s', net(9), '-j', 'DROP'];
    const auto = table();
    const batch = table('filter', { autocommit: false });
    expect(auto.chain('INPUT').hasRule(spec)).toBe(false);
    // Another program adds it: the autocommit table sees it at once.
    ipt(['-A', 'INPUT', ...spec], family);
    expect(auto.chain('INPUT').hasRule(spec)).toBe(true);
    // A pending delete is seen by its table, not by the kernel until commit.
    batch.refresh();
    batch.chain('INPUT').deleteRule(R.parse(spec));
    expect(batch.chain('INPUT').hasRule(spec)).toBe(false);
    expect(cliHas('INPUT', spec)).toBe(true);
    batch.commit();
    expect(cliHas('INPUT', spec)).toBe(false);
    expect(auto.chain('INPUT').hasRule(spec)).toBe(false);
  });

  it('refuses a chain that does not exist and a jump to one, as iptables -C does', () => {
    ipt(['-N', 'SIDE'], family);
    const t = table();
    const missing = thrown(() => t.chain('SIDE').table.chain('NOPE'));
    expect(missing).toBeInstanceOf(IPTCError);
    const chain = t.chain('SIDE');
    ipt(['-X', 'SIDE'], family);
    const gone = thrown(() => chain.hasRule(['-j', 'ACCEPT']));
    expect(gone).toBeInstanceOf(IPTCError);
    expect((gone as IPTCError).errno).toBe(2);
    expect(cliHas('SIDE', ['-j', 'ACCEPT'])).toBe(false);
    const jump = thrown(() => t.chain('INPUT').hasRule(['-j', 'NOWHERE']));
    expect(jump).toBeInstanceOf(IPTCError);
    expect((jump as IPTCError).errno).toBe(2);
  });

  it('refuses what iptables refuses of a rule in that chain', () => {
    const chain = table().chain('INPUT');
    expect(thrown(() => chain.hasRule(['-o', 'eth0', '-j', 'ACCEPT']))).toBeInstanceOf(RuleSyntaxError);
    expect(attempt(tool, ['-C', 'INPUT', '-o', 'eth0', '-j', 'ACCEPT']).stderr).toMatch(/Can't use -o with INPUT/);
    expect(thrown(() => chain.hasRule('-p tcp --dport nope'))).toBeInstanceOf(Error);
    expect(thrown(() => table('filter').chain('INPUT').hasRule(new (family === 6 ? Rule : Rule6)()))).toBeInstanceOf(TypeError);
  });
});

describe('a table the kernel has not made', () => {
  it('holds no rule, and asking does not make it (new network namespace)', () => {
    const res = runFresh(
      `
      const fs = await import('node:fs');
      const names = () => { try { return fs.readFileSync('/proc/net/ip_tables_names', 'utf8').split('\\n').filter(Boolean); } catch { return []; } };
      const t = new iptc.Table('raw');
      const out = { has: t.chain('PREROUTING').hasRule('-j ACCEPT') };
      try { t.chain('PREROUTING').hasRule('-j NOWHERE'); } catch (e) { out.jump = e.errno; }
      try { new iptc.Table('raw').chain('NOPE'); } catch (e) { out.chain = e.errno; }
      const b = new iptc.Table('raw', { autocommit: false });
      out.batch = b.chain('OUTPUT').hasRule(['-j', 'DROP']);
      out.tables = names();
      return out;`,
      {},
      { newNetns: true },
    );
    expect(res.status, res.stderr).toBe(0);
    expect((res.result as { result: unknown }).result).toEqual({ has: false, jump: 2, chain: 2, batch: false, tables: [] });
  });
});
