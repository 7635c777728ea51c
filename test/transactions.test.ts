// Transactions: autocommit per Table instance, batches that become visible only at commit(), refresh()
// dropping uncommitted changes, failed commits (kernel refusals) that throw and change nothing, close(),
// snapshots that stay valid after refresh/commit/close, and fresh views of the kernel for each
// autocommitted change. Everything is checked against iptables-legacy-save / ip6tables-legacy-save.
import { beforeEach, describe, expect, it } from 'vitest';
import { IPTCError, Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { TableHandle } from '../src/xtables/libiptc.js';
import { BACKEND, closedAfterEach, ipt, resetKernel, rules, run, save, thrown, type Family, restoreCli } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

describe.each([4, 6] as const)('IPv%i', (family: Family) => {
  const T = family === 6 ? Table6 : Table;
  const R = family === 6 ? Rule6 : Rule;
  const sv = (table = 'filter', counters = false) => save(table, { family, counters });
  const rl = (chain: string, table = 'filter') => rules(table, chain, { family });
  const cli = (args: string[]) => ipt(args, family);
  const host = (n: number) => (family === 6 ? `2001:db8::${n}` : `10.0.0.${n}`);
  const hostSave = (n: number) => (family === 6 ? `-s 2001:db8::${n}/128` : `-s 10.0.0.${n}/32`);
  const accept = (n: number) => `${hostSave(n)} -j ACCEPT`;
  const dnatTo = family === 6 ? '[2001:db8::99]:80' : '10.0.0.99:80';

  function table(name = 'filter', opts?: { autocommit?: boolean }): Table {
    const t = opts ? new T(name, opts) : new T(name);
    open.push(t);
    return t;
  }

  function rule(n: number, target = 'ACCEPT'): Rule {
    const r = new R();
    r.src = host(n);
    r.createTarget(target);
    return r;
  }

  /** A rule the kernel refuses at commit: the tcp match without `-p tcp`. */
  function tcpWithoutProtocol(): Rule {
    const r = new R();
    r.createMatch('tcp', { dport: '80' });
    r.createTarget('ACCEPT');
    return r;
  }

  /** A rule the kernel refuses at commit in the mangle table: DNAT belongs to nat. */
  function dnat(): Rule {
    const r = new R();
    r.protocol = 'tcp';
    r.createTarget('DNAT', { toDestination: dnatTo });
    return r;
  }

  /** A rule with several extensions, to check snapshots. */
  function rich(): Rule {
    const r = new R();
    // nf_tables compares the address under its mask as iptables-nft writes it: iptc refuses an IPv6
    // address with bits outside the mask there (NftTranslateError) rather than drop them.
    r.src = BACKEND === 'nft' && family === 6 ? '2001:db8::/120' : `${host(7)}/${family === 6 ? 120 : 24}`;
    r.inInterface = 'eth+';
    r.protocol = 'tcp';
    r.createMatch('tcp', { dport: '22', syn: true });
    r.createMatch('comment', { comment: 'keep me around' });
    r.createTarget('LOG', { logPrefix: 'snap: ', logLevel: '4' });
    r.setCounters(3, 333);
    return r;
  }

  function snapshotOf(r: Rule) {
    return {
      text: r.toString(),
      src: r.src,
      inInterface: r.inInterface,
      protocol: r.protocol,
      matches: r.matches.map((m) => ({ name: m.name, revision: m.revision, parameters: m.parameters, all: m.getAllParameters() })),
      target: r.target && { name: r.target.name, parameters: r.target.parameters, standard: r.target.standardTarget },
      counters: r.counters,
    };
  }

  describe('autocommit', () => {
    it('is per Table instance, true by default', () => {
      const a = table();
      const b = table('filter', { autocommit: false });
      expect(a.autocommit).toBe(true);
      expect(b.autocommit).toBe(false);
      b.chain('INPUT').appendRule(rule(1));
      expect(rl('INPUT')).toEqual([]);
      a.chain('OUTPUT').appendRule(rule(2));
      expect(rl('OUTPUT')).toEqual([accept(2)]);
      expect(rl('INPUT')).toEqual([]);
      expect(a.autocommit).toBe(true);
      expect(b.autocommit).toBe(false);
    });

    it('sees its own autocommitted changes in later reads', () => {
      const t = table();
      expect(t.chain('INPUT').rules).toEqual([]);
      t.chain('INPUT').appendRule(rule(1));
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1)]);
      t.createChain('user');
      expect(t.isChain('user')).toBe(true);
      t.chain('INPUT').setPolicy('DROP');
      expect(t.chain('INPUT').getPolicy()?.name).toBe('DROP');
      t.chain('INPUT').deleteRuleAt(0);
      expect(t.chain('INPUT').rules).toEqual([]);
      expect(rl('INPUT')).toEqual([]);
    });

    it('reads the kernel when constructed; sees CLI changes only after refresh()', () => {
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      const t = table();
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1)]);
      cli(['-A', 'INPUT', '-s', host(2), '-j', 'ACCEPT']);
      cli(['-N', 'fromcli']);
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1)]);
      expect(t.isChain('fromcli')).toBe(false);
      // A new table reads the kernel as it is now.
      expect(table().chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1), accept(2)]);
      t.refresh();
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1), accept(2)]);
      expect(t.isChain('fromcli')).toBe(true);
    });

    it('works on a fresh view for each change: CLI changes in between are not lost', () => {
      const t = table();
      t.chain('INPUT').appendRule(rule(1));
      const stale = t.chain('INPUT').rules; // read before the CLI change
      expect(stale).toHaveLength(1);
      cli(['-A', 'INPUT', '-s', host(2), '-j', 'ACCEPT']);
      cli(['-N', 'cli']);
      t.chain('INPUT').appendRule(rule(3));
      expect(rl('INPUT')).toEqual([accept(1), accept(2), accept(3)]);
      expect(sv()).toContain(':cli - [0:0]');
      cli(['-D', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      t.chain('INPUT').insertRule(rule(4), 1);
      expect(rl('INPUT')).toEqual([accept(2), accept(4), accept(3)]);
      t.createChain('mine');
      t.chain('OUTPUT').setPolicy('DROP');
      expect(sv()).toContain(':cli - [0:0]');
      expect(sv()).toContain(':mine - [0:0]');
      // The change refreshed the instance's view too.
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(2), accept(4), accept(3)]);
      expect(t.isChain('cli')).toBe(true);
    });

    it('turning autocommit on commits the pending changes; off again batches again', () => {
      const t = table('filter', { autocommit: false });
      t.chain('INPUT').appendRule(rule(1));
      t.createChain('later');
      expect(rl('INPUT')).toEqual([]);
      t.autocommit = true;
      expect(t.autocommit).toBe(true);
      expect(rl('INPUT')).toEqual([accept(1)]);
      expect(sv()).toContain(':later - [0:0]');
      t.chain('INPUT').appendRule(rule(2));
      expect(rl('INPUT')).toEqual([accept(1), accept(2)]);
      t.autocommit = false;
      t.chain('INPUT').appendRule(rule(3));
      expect(rl('INPUT')).toEqual([accept(1), accept(2)]);
      t.commit();
      expect(rl('INPUT')).toEqual([accept(1), accept(2), accept(3)]);
    });
  });

  describe('batches (autocommit off)', () => {
    it('shows nothing to iptables-legacy-save until commit(), then everything at once', () => {
      cli(['-N', 'old']);
      cli(['-A', 'INPUT', '-s', host(9), '-j', 'DROP']);
      const before = sv('filter', true);
      const t = table('filter', { autocommit: false });
      t.createChain('batch');
      t.chain('batch').appendRule(rule(1));
      t.chain('INPUT').appendRule(rule(2, 'batch'));
      t.chain('INPUT').insertRule(rule(3), 0);
      t.chain('INPUT').deleteRule(rule(9, 'DROP'));
      t.chain('FORWARD').setPolicy('DROP');
      t.renameChain('old', 'renamed');
      t.chain('OUTPUT').appendRule(rule(4));
      t.chain('OUTPUT').replaceRule(rule(5), 0);
      expect(sv('filter', true)).toBe(before);
      // The instance itself sees its pending changes.
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(3), `${hostSave(2)} -j batch`]);
      expect(t.isChain('batch')).toBe(true);
      expect(t.isChain('old')).toBe(false);
      expect(t.chain('FORWARD').getPolicy()?.name).toBe('DROP');
      expect(sv('filter', true)).toBe(before);

      t.commit();
      expect(sv()).toBe(
        [
          '*filter',
          ':INPUT ACCEPT [0:0]',
          ':FORWARD DROP [0:0]',
          ':OUTPUT ACCEPT [0:0]',
          ':batch - [0:0]',
          ':renamed - [0:0]',
          `-A INPUT ${accept(3)}`,
          `-A INPUT ${hostSave(2)} -j batch`,
          `-A OUTPUT ${accept(5)}`,
          `-A batch ${accept(1)}`,
          'COMMIT',
          '',
        ].join('\n'),
      );
      expect(t.autocommit).toBe(false);
      // A commit with nothing pending changes nothing.
      const after = sv('filter', true);
      t.commit();
      expect(sv('filter', true)).toBe(after);
    });

    it('refresh() drops uncommitted changes and re-reads the kernel', () => {
      const t = table('filter', { autocommit: false });
      t.chain('INPUT').appendRule(rule(1));
      t.createChain('gone');
      cli(['-A', 'OUTPUT', '-s', host(2), '-j', 'ACCEPT']);
      t.refresh();
      expect(t.isChain('gone')).toBe(false);
      expect(t.chain('INPUT').rules).toEqual([]);
      expect(t.chain('OUTPUT').rules.map((r) => r.toString())).toEqual([accept(2)]);
      t.commit();
      expect(rl('INPUT')).toEqual([]);
      expect(sv()).not.toContain('gone');
      t.chain('INPUT').appendRule(rule(3));
      t.commit();
      expect(rl('INPUT')).toEqual([accept(3)]);
      expect(rl('OUTPUT')).toEqual([accept(2)]);
    });

    it('re-applies a pending batch to a fresh view at commit(): a CLI change made meanwhile is kept', () => {
      const t = table('filter', { autocommit: false });
      t.chain('INPUT').appendRule(rule(1));
      cli(['-A', 'OUTPUT', '-s', host(2), '-j', 'ACCEPT']);
      t.commit();
      expect(rl('INPUT')).toEqual([accept(1)]);
      expect(rl('OUTPUT')).toEqual([accept(2)]);
    });

    it('re-applies runs of appends and deletes to a fresh view at commit(), in order, with a CLI change made meanwhile', () => {
      for (let n = 1; n <= 10; n++) cli(['-A', 'INPUT', '-s', host(n), '-j', 'ACCEPT']);
      cli(['-N', 'sub']);
      const t = table('filter', { autocommit: false });
      for (let n = 11; n <= 40; n++) t.chain('INPUT').appendRule(rule(n));
      for (let n = 1; n <= 5; n++) t.chain('INPUT').deleteRule(rule(n));
      t.chain('OUTPUT').appendRule(rule(41, 'sub'));
      t.chain('INPUT').appendRule(rule(42, 'DROP'));
      t.chain('INPUT').deleteRule(rule(11));
      cli(['-A', 'FORWARD', '-s', host(99), '-j', 'DROP']);
      t.commit();
      const input = [6, 7, 8, 9, 10, ...Array.from({ length: 29 }, (_, i) => i + 12)].map((n) => accept(n));
      expect(rl('INPUT')).toEqual([...input, `${hostSave(42)} -j DROP`]);
      expect(rl('OUTPUT')).toEqual([`${hostSave(41)} -j sub`]);
      expect(rl('FORWARD')).toEqual([`${hostSave(99)} -j DROP`]);
    });

    it('a batch committed as it is keeps the counters the kernel has then, zeroed meanwhile or not', () => {
      const text = `*filter\n[5:500] -A INPUT ${accept(1)}\n[7:700] -A OUTPUT ${accept(2)}\nCOMMIT\n`;
      restoreCli(family, ['--counters', '--noflush'], text);
      const t = table('filter', { autocommit: false });
      t.chain('INPUT').appendRule(rule(3));
      cli(['-Z', 'OUTPUT']);
      t.commit();
      expect(rl('INPUT', 'filter').length).toBe(2);
      const counted = sv('filter', true);
      expect(counted).toContain(`[5:500] -A INPUT ${accept(1)}`);
      expect(counted).toContain(`[0:0] -A OUTPUT ${accept(2)}`);
      expect(counted).toContain(`[0:0] -A INPUT ${accept(3)}`);
    });

    it('a batch whose delete no longer applies at commit() fails whole, and the kernel keeps its rules', () => {
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      const t = table('filter', { autocommit: false });
      t.chain('INPUT').appendRule(rule(2));
      t.chain('INPUT').deleteRule(rule(1));
      cli(['-D', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-s', host(3), '-j', 'ACCEPT']);
      const before = sv();
      expect(thrown(() => t.commit())).toBeInstanceOf(IPTCError);
      expect(sv()).toBe(before);
    });

    it('a change refused inside a batch leaves the batch as it was', () => {
      const before = sv('filter', true);
      const t = table('filter', { autocommit: false });
      t.chain('INPUT').appendRule(rule(1));
      expect(() => t.chain('INPUT').insertRule(rule(2), 5)).toThrow(IPTCError);
      expect(() => t.chain('INPUT').deleteRule(rule(3))).toThrow(IPTCError);
      expect(() => t.chain('INPUT').setPolicy('QUEUE')).toThrow(IPTCError);
      expect(() => t.chain('INPUT').appendRule(rule(4, 'missing'))).toThrow(IPTCError);
      expect(() => t.deleteChain('missing')).toThrow(IPTCError);
      expect(() => t.createChain('LOG')).toThrow(IPTCError);
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1)]);
      expect(sv('filter', true)).toBe(before);
      t.commit();
      expect(rl('INPUT')).toEqual([accept(1)]);
      expect(sv()).toBe(before.replace(':OUTPUT ACCEPT [0:0]\n', `:OUTPUT ACCEPT [0:0]\n-A INPUT ${accept(1)}\n`));
    });

    it('a batch can create a chain and jump to it, rename it and flush the table', () => {
      const t = table('filter', { autocommit: false });
      t.createChain('made');
      t.chain('made').appendRule(rule(1, 'DROP'));
      t.chain('INPUT').appendRule(rule(2, 'made'));
      t.renameChain('made', 'renamed');
      t.chain('OUTPUT').appendRule(rule(3, 'renamed'));
      expect(sv()).not.toContain('renamed');
      t.commit();
      expect(rl('INPUT')).toEqual([`${hostSave(2)} -j renamed`]);
      expect(rl('OUTPUT')).toEqual([`${hostSave(3)} -j renamed`]);
      expect(rl('renamed')).toEqual([`${hostSave(1)} -j DROP`]);
      t.flush();
      t.chain('FORWARD').setPolicy('DROP');
      expect(rl('renamed')).toEqual([`${hostSave(1)} -j DROP`]);
      t.commit();
      expect(sv()).toBe(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', ''].join('\n'));
    });

    it('two batches on two instances commit independently', () => {
      const a = table('filter', { autocommit: false });
      const b = table('filter', { autocommit: false });
      a.chain('INPUT').appendRule(rule(1));
      a.commit();
      b.chain('OUTPUT').appendRule(rule(2));
      b.commit();
      expect(rl('INPUT')).toEqual([accept(1)]);
      expect(rl('OUTPUT')).toEqual([accept(2)]);
    });
  });

  describe('failed commits', () => {
    it('autocommit: DNAT in mangle throws IPTCError errno 22, kernel unchanged', () => {
      cli(['-t', 'mangle', '-A', 'PREROUTING', '-s', host(1), '-j', 'ACCEPT']);
      const t = table('mangle');
      const before = sv('mangle', true);
      for (const fn of [
        () => t.chain('PREROUTING').appendRule(dnat()),
        () => t.chain('PREROUTING').insertRule(dnat(), 0),
        () => t.chain('OUTPUT').appendRule(dnat()),
        () => t.chain('PREROUTING').replaceRule(dnat(), 0),
      ]) {
        const err = thrown(fn);
        expect(err).toBeInstanceOf(IPTCError);
        expect((err as IPTCError).errno).toBe(22);
        expect((err as IPTCError).code).toBe('EINVAL');
        expect(sv('mangle', true)).toBe(before);
      }
      // The table is still usable.
      expect(t.chain('PREROUTING').rules.map((r) => r.toString())).toEqual([accept(1)]);
      t.chain('PREROUTING').appendRule(rule(2));
      expect(rl('PREROUTING', 'mangle')).toEqual([accept(1), accept(2)]);
      // The same rule is fine in nat.
      table('nat').chain('PREROUTING').appendRule(dnat());
      expect(rl('PREROUTING', 'nat')).toEqual([`-p tcp -j DNAT --to-destination ${dnatTo}`]);
    });

    it('autocommit: -m tcp without -p tcp throws IPTCError errno 22, kernel unchanged', () => {
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      const t = table();
      const before = sv('filter', true);
      const err = thrown(() => t.chain('INPUT').appendRule(tcpWithoutProtocol()));
      expect(err).toBeInstanceOf(IPTCError);
      expect((err as IPTCError).errno).toBe(22);
      expect(sv('filter', true)).toBe(before);
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1)]);
    });

    it('autocommit off: the whole batch fails at commit(), kernel unchanged, pending changes dropped', () => {
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      const before = sv('filter', true);
      const t = table('filter', { autocommit: false });
      t.createChain('batch');
      t.chain('INPUT').appendRule(rule(2));
      t.chain('OUTPUT').setPolicy('DROP');
      t.chain('INPUT').appendRule(tcpWithoutProtocol()); // accepted by libiptc, refused by the kernel
      expect(sv('filter', true)).toBe(before);
      const err = thrown(() => t.commit());
      expect(err).toBeInstanceOf(IPTCError);
      expect((err as IPTCError).errno).toBe(22);
      expect(sv('filter', true)).toBe(before);
      // Nothing is left pending: a second commit does nothing, reads show the kernel.
      t.commit();
      expect(sv('filter', true)).toBe(before);
      expect(t.isChain('batch')).toBe(false);
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1)]);
      t.chain('INPUT').appendRule(rule(3));
      t.commit();
      expect(rl('INPUT')).toEqual([accept(1), accept(3)]);
    });

    it('autocommit off: DNAT in mangle fails at commit(), kernel unchanged', () => {
      const before = sv('mangle', true);
      const t = table('mangle', { autocommit: false });
      t.chain('FORWARD').appendRule(rule(1));
      t.chain('PREROUTING').appendRule(dnat());
      const err = thrown(() => t.commit());
      expect(err).toBeInstanceOf(IPTCError);
      expect((err as IPTCError).errno).toBe(22);
      expect(sv('mangle', true)).toBe(before);
    });

    it('turning autocommit on with a failing batch throws and commits nothing', () => {
      const before = sv('filter', true);
      const t = table('filter', { autocommit: false });
      t.chain('INPUT').appendRule(rule(1));
      t.chain('INPUT').appendRule(tcpWithoutProtocol());
      expect(() => {
        t.autocommit = true;
      }).toThrow(IPTCError);
      expect(sv('filter', true)).toBe(before);
    });
  });

  describe('construction', () => {
    it('refuses a table the kernel does not have with IPTCError, and bad names with TypeError', () => {
      expect(() => new T('nosuchtable')).toThrow(IPTCError);
      expect(() => new T('')).toThrow(TypeError);
      expect(() => new T('filter', { autocommit: 'yes' as never })).toThrow(TypeError);
      const t = table();
      expect(() => {
        t.autocommit = 1 as never;
      }).toThrow(TypeError);
      expect(t.autocommit).toBe(true);
    });

    it('without autocommit, reads the view taken at construction, whenever it is first read', () => {
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      const t = table('filter', { autocommit: false });
      cli(['-A', 'INPUT', '-s', host(2), '-j', 'ACCEPT']);
      cli(['-N', 'later']);
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1)]);
      expect(t.isChain('later')).toBe(false);
      expect(thrown(() => t.chain('later'))).toBeInstanceOf(IPTCError);
      t.refresh();
      expect(t.chain('INPUT').rules.map((r) => r.toString())).toEqual([accept(1), accept(2)]);
      expect(t.chain('later').name).toBe('later');
    });

    it('without autocommit, finds chains before reading any rule, and refuses missing ones', () => {
      cli(['-N', 'mine']);
      const t = table('filter', { autocommit: false });
      expect(thrown(() => t.chain('nosuch'))).toBeInstanceOf(IPTCError);
      t.chain('mine').appendRule(rule(1));
      t.commit();
      expect(rl('mine')).toEqual([accept(1)]);
    });
  });

  // libiptc's own views (legacy); the nft backend's views are compared by generation (test/nft-backend.test.ts).
  describe.runIf(BACKEND === 'legacy')('views', () => {
    it('give equal rule fingerprints for an unchanged table, so that a batch commits without re-applying', () => {
      cli(['-N', 'sub']);
      for (let n = 1; n <= 50; n++) {
        cli(['-A', 'INPUT', '-s', host(n), '-p', 'tcp', '--dport', String(n), '-j', n % 2 ? 'ACCEPT' : 'sub']);
        cli(['-A', 'sub', '-m', 'comment', '--comment', `rule ${n}`, '-j', 'LOG', '--log-prefix', `n${n}`]);
      }
      const views = Array.from({ length: 3 }, () => TableHandle.open(family, 'filter'));
      try {
        const [first, ...others] = views.map((v) => v.rulesFingerprint());
        for (const other of others) expect(other.equals(first!)).toBe(true);
        cli(['-A', 'sub', '-j', 'RETURN']);
        const changed = TableHandle.open(family, 'filter');
        views.push(changed);
        expect(changed.rulesFingerprint().equals(first!)).toBe(false);
      } finally {
        for (const v of views) v.free();
      }
    });
  });

  describe('close() and snapshots', () => {
    it('after close() reads and changes throw IPTCError; rules read before stay usable', () => {
      const t = new T('filter');
      t.chain('INPUT').appendRule(rich());
      const read = t.chain('INPUT').rules;
      const chain = t.chain('INPUT');
      const snap = snapshotOf(read[0]!);
      t.close();
      for (const fn of [
        () => t.chains,
        () => t.chain('INPUT'),
        () => t.isChain('INPUT'),
        () => chain.rules,
        () => chain.getPolicy(),
        () => t.refresh(),
        () => t.commit(),
        () => chain.appendRule(rule(1)),
        () => t.createChain('x'),
        () => t.flush(),
      ]) {
        expect(fn).toThrow(IPTCError);
      }
      expect(rl('INPUT')).toEqual([snap.text]);
      expect(snapshotOf(read[0]!)).toEqual(snap);
      expect(read[0]!.toString()).toBe(rl('INPUT')[0]);
      expect(read[0]!.src).toBe(family === 4 ? '10.0.0.0/255.255.255.0' : BACKEND === 'nft' ? '2001:db8::/120' : '2001:db8::7/120');
      expect(read[0]!.matches.map((m) => m.name)).toEqual(['tcp', 'comment']);
      expect(read[0]!.matches[1]!.parameters).toEqual({ comment: 'keep me around' });
      expect(read[0]!.target?.name).toBe('LOG');
      expect(read[0]!.counters).toEqual({ packets: 3n, bytes: 333n });
      // A closed table can be closed again, and the rule can go into another table.
      t.close();
      const other = table();
      other.chain('FORWARD').appendRule(read[0]!); // not OUTPUT: the rule has -i, which iptables refuses there
      expect(rl('FORWARD')).toEqual([snap.text]);
    });

    it('closes with Symbol.dispose', () => {
      const t = new T('filter');
      t[Symbol.dispose]();
      expect(() => t.chains).toThrow(IPTCError);
    });

    it('close() drops uncommitted changes', () => {
      const t = new T('filter', { autocommit: false });
      t.chain('INPUT').appendRule(rule(1));
      t.close();
      expect(rl('INPUT')).toEqual([]);
    });

    it('rules read stay the same after refresh, commit and kernel changes (no pointers into freed memory)', () => {
      const t = table();
      t.chain('INPUT').appendRule(rich());
      t.chain('INPUT').appendRule(rule(1, 'DROP'));
      const read = t.chain('INPUT').rules;
      const snaps = read.map(snapshotOf);
      const text = rl('INPUT');
      expect(snaps.map((s) => s.text)).toEqual(text);

      t.refresh();
      cli(['-F', 'INPUT']);
      for (let i = 0; i < 20; i++) cli(['-A', 'INPUT', '-s', host(100 + i), '-p', 'udp', '-m', 'udp', '--dport', String(i + 1)]);
      t.refresh();
      t.chain('INPUT').flush();
      for (let i = 0; i < 20; i++) t.chain('INPUT').appendRule(rule(50 + i, 'DROP'));
      const batch = table('filter', { autocommit: false });
      batch.chain('INPUT').flush();
      batch.commit();
      batch.refresh();
      t.refresh();
      expect(read.map(snapshotOf)).toEqual(snaps);
      expect(read.map((r) => r.toString())).toEqual(text);
      // They can be put back into the kernel, giving the same lines.
      for (const r of read) t.chain('INPUT').appendRule(r);
      expect(rl('INPUT')).toEqual(text);
    });

    it('chains and policies read stay the same after refresh', () => {
      cli(['-N', 'user']);
      cli(['-P', 'INPUT', 'DROP']);
      const t = table();
      const chains = t.chains.map((c) => c.name);
      const policy = t.chain('INPUT').getPolicy();
      cli(['-X', 'user']);
      cli(['-P', 'INPUT', 'ACCEPT']);
      t.refresh();
      expect(chains).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'user']);
      expect(policy?.name).toBe('DROP');
      expect(t.chain('INPUT').getPolicy()?.name).toBe('ACCEPT');
    });
  });
});
