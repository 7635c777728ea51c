// Chains of a table: policies (with counters), user chain create / rename / delete / flush and their
// errors, chain listing, rule positions (insert, replace, delete at), delete by equality, Table.flush()
// with chains that reference each other, and jumps to missing chains. Every case runs for IPv4 (Table,
// Rule) and IPv6 (Table6, Rule6) and is checked against the backend's iptables-save / ip6tables-save.
import { beforeEach, describe, expect, it } from 'vitest';
import { Chain, IPTCError, Policy, Rule, Rule6, RuleSyntaxError, Table, Table6 } from '../src/iptc/index.js';
import { BACKEND, closedAfterEach, ipt, resetKernel, rules, save, thrown, type Family } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

const ERRNO = { ENOENT: 2, E2BIG: 7, EEXIST: 17, EINVAL: 22, EMLINK: 31, ENOTEMPTY: 39 };

describe.each([4, 6] as const)('IPv%i', (family: Family) => {
  const T = family === 6 ? Table6 : Table;
  const R = family === 6 ? Rule6 : Rule;
  const sv = (table = 'filter', counters = false) => save(table, { family, counters });
  const rl = (chain: string, counters = false, table = 'filter') => rules(table, chain, { family, counters });
  const cli = (args: string[]) => ipt(args, family);
  /** A host address n, and how iptables-save prints it as a source. */
  const host = (n: number) => (family === 6 ? `2001:db8::${n}` : `10.0.0.${n}`);
  const hostSave = (n: number) => (family === 6 ? `-s 2001:db8::${n}/128` : `-s 10.0.0.${n}/32`);
  const accept = (n: number) => `${hostSave(n)} -j ACCEPT`;

  function table(name = 'filter', opts?: { autocommit?: boolean }): Table {
    const t = opts ? new T(name, opts) : new T(name);
    open.push(t);
    return t;
  }

  function rule(n: number, target: string | null = 'ACCEPT', opts: { goto?: boolean } = {}): Rule {
    const r = new R();
    r.src = host(n);
    if (target !== null) r.createTarget(target, undefined, opts);
    return r;
  }

  /** The `:CHAIN POLICY [p:b]` lines of a saved table. */
  function chainLines(table = 'filter', counters = false): string[] {
    return sv(table, counters)
      .split('\n')
      .filter((l) => l.startsWith(':'));
  }

  /** Expects fn to throw an IPTCError (with `errno` if given) and the kernel table to be unchanged. */
  function refused(fn: () => unknown, errno?: number, tableName = 'filter'): IPTCError {
    const before = sv(tableName, true);
    const err = thrown(fn);
    expect(err).toBeInstanceOf(IPTCError);
    if (errno !== undefined) expect((err as IPTCError).errno).toBe(errno);
    expect(sv(tableName, true)).toBe(before);
    return err as IPTCError;
  }

  describe('policies', () => {
    it('reads the built-in chain policies and null for user chains', () => {
      cli(['-P', 'FORWARD', 'DROP']);
      cli(['-N', 'user']);
      const t = table();
      const input = t.chain('INPUT').getPolicy();
      expect(input).toBeInstanceOf(Policy);
      expect(input?.name).toBe('ACCEPT');
      expect(t.chain('FORWARD').getPolicy()?.name).toBe('DROP');
      expect(t.chain('OUTPUT').getPolicy()?.name).toBe('ACCEPT');
      expect(t.chain('user').getPolicy()).toBeNull();
      expect(t.chain('user').getCounters()).toBeNull();
      expect(t.chain('INPUT').getCounters()).toEqual({ packets: 0n, bytes: 0n });
    });

    it('sets DROP and ACCEPT from strings', () => {
      const t = table();
      t.chain('INPUT').setPolicy('DROP');
      expect(chainLines()).toContain(':INPUT DROP [0:0]');
      expect(t.chain('INPUT').getPolicy()?.name).toBe('DROP');
      t.chain('OUTPUT').setPolicy('DROP');
      t.chain('INPUT').setPolicy('ACCEPT');
      expect(chainLines()).toEqual([':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT DROP [0:0]']);
      expect(t.chain('OUTPUT').getPolicy()?.name).toBe('DROP');
      expect(t.chain('INPUT').getPolicy()?.name).toBe('ACCEPT');
    });

    it('sets policies from Policy objects, in the mangle table too', () => {
      const t = table();
      t.chain('FORWARD').setPolicy(Policy.DROP);
      expect(chainLines()).toContain(':FORWARD DROP [0:0]');
      t.chain('FORWARD').setPolicy(new Policy('ACCEPT'));
      expect(chainLines()).toContain(':FORWARD ACCEPT [0:0]');

      const m = table('mangle');
      m.chain('POSTROUTING').setPolicy(new Policy('DROP'));
      expect(chainLines('mangle')).toContain(':POSTROUTING DROP [0:0]');
      expect(new T('mangle').chain('POSTROUTING').getPolicy()?.equals('DROP')).toBe(true);
    });

    it('refuses QUEUE and RETURN as policies with IPTCError, kernel unchanged', () => {
      const t = table();
      t.chain('INPUT').setPolicy('DROP');
      for (const p of ['QUEUE', 'RETURN', Policy.QUEUE, Policy.RETURN]) {
        refused(() => t.chain('INPUT').setPolicy(p));
      }
      expect(chainLines()).toContain(':INPUT DROP [0:0]');
      expect(t.chain('INPUT').getPolicy()?.name).toBe('DROP');
    });

    it('refuses a policy on a user chain and an unknown policy name', () => {
      const t = table();
      t.createChain('user');
      refused(() => t.chain('user').setPolicy('DROP'));
      const before = sv();
      expect(() => t.chain('INPUT').setPolicy('FOO')).toThrow();
      expect(() => t.chain('INPUT').setPolicy('drop')).toThrow();
      expect(sv()).toBe(before);
    });

    it('sets a policy with counters, visible in save -c and getCounters()', () => {
      const t = table();
      t.chain('INPUT').setPolicy('DROP', { packets: 5n, bytes: 500n });
      expect(chainLines('filter', true)).toContain(':INPUT DROP [5:500]');
      expect(t.chain('INPUT').getCounters()).toEqual({ packets: 5n, bytes: 500n });
      t.chain('OUTPUT').setPolicy(Policy.ACCEPT, { packets: 2n ** 40n, bytes: 2n ** 50n });
      expect(chainLines('filter', true)).toContain(`:OUTPUT ACCEPT [${2n ** 40n}:${2n ** 50n}]`);
      expect(table().chain('OUTPUT').getCounters()).toEqual({ packets: 2n ** 40n, bytes: 2n ** 50n });
      // Like `iptables-legacy -P` (libiptc), a commit resets the policy counters of the other built-in
      // chains, so INPUT's are not checked here.
    });

    it('sets policy counters in the nat table', () => {
      const t = table('nat');
      t.chain('POSTROUTING').setPolicy('ACCEPT', { packets: 1n, bytes: 60n });
      expect(chainLines('nat', true)).toContain(':POSTROUTING ACCEPT [1:60]');
      expect(t.chain('POSTROUTING').getCounters()).toEqual({ packets: 1n, bytes: 60n });
    });

    it('reads a policy changed by the CLI after refresh()', () => {
      const t = table();
      expect(t.chain('INPUT').getPolicy()?.name).toBe('ACCEPT');
      cli(['-P', 'INPUT', 'DROP']);
      expect(t.chain('INPUT').getPolicy()?.name).toBe('ACCEPT');
      t.refresh();
      expect(t.chain('INPUT').getPolicy()?.name).toBe('DROP');
    });
  });

  describe('user chains', () => {
    it('creates a chain: listed, not built-in, empty', () => {
      const t = table();
      const c = t.createChain('custom');
      expect(c.name).toBe('custom');
      expect(c.table).toBe(t);
      expect(chainLines()).toContain(':custom - [0:0]');
      expect(t.isChain('custom')).toBe(true);
      expect(t.builtinChain('custom')).toBe(false);
      expect(c.isBuiltin()).toBe(false);
      expect(c.rules).toEqual([]);
      expect(t.chain('custom').name).toBe('custom');
    });

    it('lists chains in iptables-save order: built-in chains in hook order, then user chains', () => {
      const t = table();
      for (const name of ['zeta', 'alpha', 'Mid', 'beta2', 'beta10']) t.createChain(name);
      const expected = chainLines().map((l) => l.slice(1).split(' ')[0]);
      expect(expected.slice(0, 3)).toEqual(['INPUT', 'FORWARD', 'OUTPUT']);
      expect(t.chains.map((c) => c.name)).toEqual(expected);
      expect(table().chains.map((c) => c.name)).toEqual(expected);

      const nat = table('nat');
      nat.createChain('x');
      expect(nat.chains.map((c) => c.name)).toEqual(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING', 'x']);
      expect(nat.chains.map((c) => c.name)).toEqual(chainLines('nat').map((l) => l.slice(1).split(' ')[0]));
    });

    it('tells built-in chains from user chains and missing ones', () => {
      cli(['-N', 'mine']);
      const t = table();
      for (const name of ['INPUT', 'FORWARD', 'OUTPUT']) {
        expect(t.isChain(name)).toBe(true);
        expect(t.builtinChain(name)).toBe(true);
        expect(t.chain(name).isBuiltin()).toBe(true);
      }
      expect(t.isChain('mine')).toBe(true);
      expect(t.builtinChain('mine')).toBe(false);
      expect(t.isChain(t.chain('mine'))).toBe(true);
      expect(t.builtinChain(t.chain('INPUT'))).toBe(true);
      expect(t.isChain('PREROUTING')).toBe(false);
      expect(t.builtinChain('PREROUTING')).toBe(false);
      expect(t.isChain('nope')).toBe(false);
      expect(t.builtinChain('nope')).toBe(false);
      expect(() => t.chain('nope')).toThrow(IPTCError);
    });

    it('refuses a duplicate chain and a built-in chain name with IPTCError, kernel unchanged', () => {
      const t = table();
      t.createChain('dup');
      cli(['-A', 'dup', '-j', 'ACCEPT']);
      refused(() => t.createChain('dup'), ERRNO.EEXIST);
      refused(() => t.createChain('INPUT'));
      expect(rl('dup')).toEqual(['-j ACCEPT']);
    });

    it('takes a 28-character name and refuses a 29-character one, kernel unchanged', () => {
      const t = table();
      const ok = 'c'.repeat(28);
      t.createChain(ok);
      expect(chainLines()).toContain(`:${ok} - [0:0]`);
      const before = sv();
      expect(() => t.createChain('d'.repeat(29))).toThrow(/too long/);
      expect(() => t.renameChain(ok, 'e'.repeat(29))).toThrow(/too long/);
      expect(sv()).toBe(before);
    });

    it("refuses names starting with '-' or '!' and names of targets, kernel unchanged", () => {
      const t = table();
      t.createChain('ok');
      const before = sv();
      expect(() => t.createChain('-foo')).toThrow(/not allowed to start with `-'/);
      expect(() => t.createChain('!foo')).toThrow(/not allowed to start with `!'/);
      expect(() => t.renameChain('ok', '-foo')).toThrow();
      expect(() => t.renameChain('ok', '!foo')).toThrow();
      for (const name of ['LOG', 'REJECT', 'MARK']) {
        const err = thrown(() => t.createChain(name));
        expect(err).toBeInstanceOf(IPTCError);
        expect((err as Error).message).toMatch(/clash with target name/);
      }
      for (const name of ['ACCEPT', 'DROP', 'RETURN']) expect(() => t.createChain(name)).toThrow();
      expect(() => t.createChain('')).toThrow();
      expect(() => t.createChain('has space')).toThrow();
      expect(sv()).toBe(before);
    });

    it('renames a chain; rules that jump or go to it follow', () => {
      const t = table();
      t.createChain('old');
      t.chain('INPUT').appendRule(rule(1, 'old'));
      t.chain('OUTPUT').appendRule(rule(2, 'old', { goto: true }));
      cli(['-A', 'old', '-j', 'DROP']);
      t.renameChain('old', 'new');
      expect(chainLines()).toContain(':new - [0:0]');
      expect(sv()).not.toContain('old');
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j new`]);
      expect(rl('OUTPUT')).toEqual([`${hostSave(2)} -g new`]);
      expect(rl('new')).toEqual(['-j DROP']);
      expect(t.isChain('old')).toBe(false);
      expect(t.chain('INPUT').rules[0]!.target?.name).toBe('new');

      t.chain('new').rename('newer');
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j newer`]);
      expect(rl('newer')).toEqual(['-j DROP']);
      t.renameChain(t.chain('newer'), 'newest');
      expect(rl('newest')).toEqual(['-j DROP']);
    });

    it('refuses to rename to an existing chain, a missing chain and a built-in chain', () => {
      const t = table();
      t.createChain('a');
      t.createChain('b');
      cli(['-A', 'a', '-j', 'ACCEPT']);
      refused(() => t.renameChain('a', 'b'), ERRNO.EEXIST);
      refused(() => t.renameChain('a', 'INPUT'));
      refused(() => t.renameChain('missing', 'c'));
      refused(() => t.renameChain('INPUT', 'c'));
      expect(rl('a')).toEqual(['-j ACCEPT']);
    });

    it('deletes chains by name, by Chain, and with chain.delete()', () => {
      const t = table();
      for (const name of ['one', 'two', 'three', 'keep']) t.createChain(name);
      t.deleteChain('one');
      t.deleteChain(t.chain('two'));
      t.chain('three').delete();
      expect(chainLines()).toEqual([
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':keep - [0:0]',
      ]);
      expect(t.isChain('one')).toBe(false);
      expect(t.chains.map((c) => c.name)).toEqual(['INPUT', 'FORWARD', 'OUTPUT', 'keep']);
    });

    it('refuses to delete a non-empty, a referenced, a missing or a built-in chain', () => {
      const t = table();
      t.createChain('full');
      t.createChain('target');
      t.chain('full').appendRule(rule(1));
      t.chain('INPUT').appendRule(rule(2, 'target'));
      refused(() => t.deleteChain('full'), ERRNO.ENOTEMPTY);
      refused(() => t.deleteChain('target'), ERRNO.EMLINK);
      refused(() => t.chain('target').delete(), ERRNO.EMLINK);
      refused(() => t.deleteChain('missing'));
      refused(() => t.deleteChain('INPUT'));
      refused(() => t.chain('INPUT').delete());
      expect(rl('full')).toEqual([`${hostSave(1)} -j ACCEPT`]);
      expect(rl('INPUT')).toEqual([`${hostSave(2)} -j target`]);
    });

    it('flushes one chain: its rules go, policy and other chains stay', () => {
      const t = table();
      t.chain('INPUT').setPolicy('DROP');
      t.createChain('user');
      for (const n of [1, 2, 3]) t.chain('INPUT').appendRule(rule(n));
      t.chain('OUTPUT').appendRule(rule(4, 'DROP'));
      t.chain('user').appendRule(rule(5));
      t.chain('INPUT').flush();
      expect(rl('INPUT')).toEqual([]);
      expect(chainLines()).toContain(':INPUT DROP [0:0]');
      expect(rl('OUTPUT')).toEqual([`${hostSave(4)} -j DROP`]);
      t.chain('user').flush();
      expect(rl('user')).toEqual([]);
      expect(t.isChain('user')).toBe(true);
      expect(t.chain('INPUT').rules).toEqual([]);
      expect(t.chain('OUTPUT').rules).toHaveLength(1);
    });

    it('refuses to flush a missing chain', () => {
      const t = table();
      refused(() => new Chain(t, 'missing').flush(), ERRNO.ENOENT);
      refused(() => new Chain(t, 'missing').zeroCounters());
    });
  });

  describe('rule positions', () => {
    const srcs = (chain = 'INPUT') => rl(chain).map((l) => l.split(' ')[1]);
    const addr = (n: number) => (family === 6 ? `2001:db8::${n}/128` : `10.0.0.${n}/32`);

    it('inserts at 0 (the default), in the middle, and at length (append)', () => {
      const c = table().chain('INPUT');
      c.insertRule(rule(1));
      c.insertRule(rule(2)); // default position 0
      expect(srcs()).toEqual([addr(2), addr(1)]);
      c.insertRule(rule(3), 0);
      expect(srcs()).toEqual([addr(3), addr(2), addr(1)]);
      c.insertRule(rule(4), 1);
      expect(srcs()).toEqual([addr(3), addr(4), addr(2), addr(1)]);
      c.insertRule(rule(5), 4);
      expect(srcs()).toEqual([addr(3), addr(4), addr(2), addr(1), addr(5)]);
      c.appendRule(rule(6));
      expect(srcs()).toEqual([addr(3), addr(4), addr(2), addr(1), addr(5), addr(6)]);
      expect(c.rules.map((r) => r.src.split('/')[0])).toEqual([3, 4, 2, 1, 5, 6].map(host));
    });

    it('inserts at 0 into an empty chain, and at length of an empty chain', () => {
      const t = table();
      t.createChain('empty');
      t.chain('empty').insertRule(rule(1), 0);
      t.createChain('empty2');
      t.chain('empty2').appendRule(rule(2));
      expect(rl('empty')).toEqual([`${hostSave(1)} -j ACCEPT`]);
      expect(rl('empty2')).toEqual([`${hostSave(2)} -j ACCEPT`]);
    });

    it('refuses to insert beyond the end with IPTCError, kernel unchanged', () => {
      const c = table().chain('INPUT');
      c.appendRule(rule(1));
      c.appendRule(rule(2));
      refused(() => c.insertRule(rule(3), 3), ERRNO.E2BIG);
      refused(() => c.insertRule(rule(3), 100));
      const t = table();
      t.createChain('empty');
      refused(() => t.chain('empty').insertRule(rule(3), 1), ERRNO.E2BIG);
      expect(srcs()).toEqual([addr(1), addr(2)]);
    });

    it('refuses negative and fractional positions', () => {
      const c = table().chain('INPUT');
      c.appendRule(rule(1));
      const before = sv();
      expect(() => c.insertRule(rule(2), -1)).toThrow(RangeError);
      expect(() => c.insertRule(rule(2), 0.5)).toThrow(RangeError);
      expect(() => c.replaceRule(rule(2), -1)).toThrow(RangeError);
      expect(() => c.deleteRuleAt(-1)).toThrow(RangeError);
      expect(sv()).toBe(before);
    });

    it('replaces the rule at a position', () => {
      const c = table().chain('INPUT');
      for (const n of [1, 2, 3]) c.appendRule(rule(n));
      c.replaceRule(rule(9, 'DROP'), 1);
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j ACCEPT`, `${hostSave(9)} -j DROP`, `${hostSave(3)} -j ACCEPT`]);
      c.replaceRule(rule(8, null), 0);
      c.replaceRule(rule(7, 'RETURN'), 2);
      expect(rl('INPUT')).toEqual([hostSave(8), `${hostSave(9)} -j DROP`, `${hostSave(7)} -j RETURN`]);
    });

    it('refuses to replace beyond the last rule with IPTCError, kernel unchanged', () => {
      const c = table().chain('INPUT');
      c.appendRule(rule(1));
      refused(() => c.replaceRule(rule(2), 1), ERRNO.E2BIG);
      refused(() => c.replaceRule(rule(2), 5));
      const t = table();
      t.createChain('empty');
      refused(() => t.chain('empty').replaceRule(rule(2), 0));
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j ACCEPT`]);
    });

    it('deletes the rule at a position; beyond the end is an IPTCError', () => {
      const c = table().chain('INPUT');
      for (const n of [1, 2, 3, 4]) c.appendRule(rule(n));
      c.deleteRuleAt(1);
      expect(srcs()).toEqual([addr(1), addr(3), addr(4)]);
      c.deleteRuleAt(2);
      expect(srcs()).toEqual([addr(1), addr(3)]);
      c.deleteRuleAt(0);
      expect(srcs()).toEqual([addr(3)]);
      refused(() => c.deleteRuleAt(1), ERRNO.E2BIG);
      refused(() => c.deleteRuleAt(7));
      c.deleteRuleAt(0);
      expect(rl('INPUT')).toEqual([]);
      refused(() => c.deleteRuleAt(0));
    });
  });

  describe('deleteRule by equality', () => {
    function tcpRule(port: string, n = 1): Rule {
      const r = new R();
      r.src = host(n);
      r.protocol = 'tcp';
      r.createMatch('tcp', { dport: port });
      r.createTarget('ACCEPT');
      return r;
    }
    const tcpSave = (port: string, n = 1) => `${hostSave(n)} -p tcp -m tcp --dport ${port} -j ACCEPT`;

    it('deletes the first equal rule, ignoring counters', () => {
      const c = table().chain('INPUT');
      const first = tcpRule('80');
      first.setCounters(7, 700);
      c.appendRule(first);
      c.appendRule(tcpRule('443'));
      c.appendRule(tcpRule('80')); // counters 0
      expect(rl('INPUT', true)).toEqual([`[7:700] ${tcpSave('80')}`, `[0:0] ${tcpSave('443')}`, `[0:0] ${tcpSave('80')}`]);

      const victim = tcpRule('80');
      victim.setCounters(1, 1);
      c.deleteRule(victim);
      expect(rl('INPUT', true)).toEqual([`[0:0] ${tcpSave('443')}`, `[0:0] ${tcpSave('80')}`]);
      c.deleteRule(tcpRule('80'));
      expect(rl('INPUT', true)).toEqual([`[0:0] ${tcpSave('443')}`]);
    });

    it('does not take a rule that differs only in a match parameter as equal', () => {
      const c = table().chain('INPUT');
      c.appendRule(tcpRule('80'));
      expect(tcpRule('81').equals(tcpRule('80'))).toBe(false);
      expect(tcpRule('80').equals(tcpRule('80'))).toBe(true);
      expect(c.rules[0]!.equals(tcpRule('81'))).toBe(false);
      const err = refused(() => c.deleteRule(tcpRule('81')), ERRNO.ENOENT);
      expect(err.code).toBe('ENOENT');
      refused(() => c.deleteRule(tcpRule('!80')));
      refused(() => c.deleteRule(tcpRule('80', 2)));
      expect(rl('INPUT')).toEqual([tcpSave('80')]);
    });

    it('takes rules read back from the kernel as equal to the rules they were made from', () => {
      const t = table();
      const made = () => {
        const r = tcpRule('80');
        r.createMatch('comment', { comment: 'a comment' });
        r.createTarget('LOG', { logPrefix: 'pfx ' });
        return r;
      };
      t.chain('INPUT').appendRule(tcpRule('80'));
      t.chain('INPUT').appendRule(made());
      t.chain('INPUT').appendRule(rule(3, 'DROP'));
      const back = table().chain('INPUT').rules;
      expect(back.map((r) => r.equals(tcpRule('80')))).toEqual([true, false, false]);
      expect(back.map((r) => r.equals(made()))).toEqual([false, true, false]);
      expect(back.map((r) => r.equals(rule(3, 'DROP')))).toEqual([false, false, true]);
      expect(back.map((r) => tcpRule('80').equals(r))).toEqual([true, false, false]);
      expect(back.map((r) => made().equals(r))).toEqual([false, true, false]);
      expect(back[1]!.equals(table().chain('INPUT').rules[1]!)).toBe(true);
    });

    it('throws IPTCError with errno when no rule is equal, also for an empty chain', () => {
      const c = table().chain('OUTPUT');
      const err = refused(() => c.deleteRule(rule(1)), ERRNO.ENOENT);
      expect(err.errno).toBeGreaterThan(0);
      c.appendRule(rule(1, 'DROP'));
      refused(() => c.deleteRule(rule(1, 'ACCEPT')), ERRNO.ENOENT);
      refused(() => c.deleteRule(rule(1, null)), ERRNO.ENOENT);
      expect(rl('OUTPUT')).toEqual([`${hostSave(1)} -j DROP`]);
    });

    it('tells -g from -j when deleting', () => {
      const t = table();
      t.createChain('sub');
      t.chain('INPUT').appendRule(rule(1, 'sub', { goto: true }));
      expect(rule(1, 'sub').equals(rule(1, 'sub', { goto: true }))).toBe(false);
      refused(() => t.chain('INPUT').deleteRule(rule(1, 'sub')), ERRNO.ENOENT);
      t.chain('INPUT').appendRule(rule(1, 'sub'));
      t.chain('INPUT').deleteRule(rule(1, 'sub'));
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -g sub`]);
    });

    it('deletes with a rule read back from the kernel, and a CLI-made rule with an equal new Rule', () => {
      cli(['-A', 'INPUT', '-s', host(1), '-p', 'tcp', '-m', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-s', host(2), '-j', 'DROP']);
      cli(['-A', 'INPUT', '-s', host(3), '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'ACCEPT']);
      const c = table().chain('INPUT');
      const [, second] = c.rules;
      c.deleteRule(second!);
      expect(rl('INPUT')).toEqual([tcpSave('22', 1), tcpSave('80', 3)]);
      c.deleteRule(tcpRule('80', 3));
      expect(rl('INPUT')).toEqual([tcpSave('22', 1)]);
    });
  });

  describe('deleteRule with extensions that keep kernel-private data', () => {
    type Params = Record<string, string | boolean | string[]>;
    const CASES: { name: string; cli: string[]; protocol?: string; matches: [string, Params][]; target: [string, Params] }[] = [
      { name: 'limit', cli: ['-m', 'limit', '--limit', '5/min', '--limit-burst', '10', '-j', 'ACCEPT'], matches: [['limit', { limit: '5/min', limitBurst: '10' }]], target: ['ACCEPT', {}] },
      {
        name: 'hashlimit',
        cli: ['-m', 'hashlimit', '--hashlimit-upto', '10/sec', '--hashlimit-name', 'hl', '--hashlimit-mode', 'srcip', '-j', 'ACCEPT'],
        matches: [['hashlimit', { hashlimitUpto: '10/sec', hashlimitName: 'hl', hashlimitMode: 'srcip' }]],
        target: ['ACCEPT', {}],
      },
      { name: 'quota', cli: ['-m', 'quota', '--quota', '1000', '-j', 'ACCEPT'], matches: [['quota', { quota: '1000' }]], target: ['ACCEPT', {}] },
      {
        name: 'statistic',
        cli: ['-m', 'statistic', '--mode', 'nth', '--every', '3', '--packet', '0', '-j', 'ACCEPT'],
        matches: [['statistic', { mode: 'nth', every: '3', packet: '0' }]],
        target: ['ACCEPT', {}],
      },
      {
        name: 'connlimit',
        cli: ['-p', 'tcp', '-m', 'connlimit', '--connlimit-above', '5', '-j', 'REJECT'],
        protocol: 'tcp',
        matches: [['connlimit', { connlimitAbove: '5' }]],
        target: ['REJECT', {}],
      },
      {
        name: 'recent',
        cli: ['-m', 'recent', '--name', 'r1', '--rcheck', '--seconds', '60', '-j', 'DROP'],
        matches: [['recent', { name: 'r1', rcheck: true, seconds: '60' }]],
        target: ['DROP', {}],
      },
      { name: 'string', cli: ['-m', 'string', '--algo', 'bm', '--string', 'foo', '-j', 'DROP'], matches: [['string', { algo: 'bm', string: 'foo' }]], target: ['DROP', {}] },
      { name: 'LOG', cli: ['-j', 'LOG', '--log-prefix', 'abc '], matches: [], target: ['LOG', { logPrefix: 'abc ' }] },
    ];

    function build(c: (typeof CASES)[number]): Rule {
      const r = new R();
      if (c.protocol) r.protocol = c.protocol;
      for (const [name, params] of c.matches) r.createMatch(name, params);
      r.createTarget(c.target[0], c.target[1]);
      return r;
    }

    for (const c of CASES) {
      it(`${c.name}: deletes CLI-made and own rules by equality; the CLI deletes ours`, () => {
        const t = table();
        cli(['-A', 'INPUT', ...c.cli]);
        const line = rl('INPUT');
        expect(line).toHaveLength(1);
        // A CLI-made rule, deleted with an equal new rule.
        t.chain('INPUT').deleteRule(build(c));
        expect(rl('INPUT')).toEqual([]);
        // Ours gives the same line, reads back equal, and `iptables -D` finds it.
        t.chain('INPUT').appendRule(build(c));
        expect(rl('INPUT')).toEqual(line);
        const back = table().chain('INPUT').rules[0]!;
        expect(back.equals(build(c))).toBe(true);
        expect(build(c).equals(back)).toBe(true);
        cli(['-D', 'INPUT', ...c.cli]);
        expect(rl('INPUT')).toEqual([]);
        // Between other rules, only the first equal one goes.
        t.chain('INPUT').appendRule(rule(1));
        t.chain('INPUT').appendRule(build(c));
        t.chain('INPUT').appendRule(rule(2));
        t.chain('INPUT').appendRule(build(c));
        t.chain('INPUT').deleteRule(build(c));
        expect(rl('INPUT')).toEqual([accept(1), accept(2), ...line]);
        // A rule read back from the kernel deletes it too.
        t.chain('INPUT').deleteRule(table().chain('INPUT').rules[2]!);
        expect(rl('INPUT')).toEqual([accept(1), accept(2)]);
      });
    }

    it('does not take a LOG target with another prefix as equal', () => {
      const t = table();
      cli(['-A', 'INPUT', '-j', 'LOG', '--log-prefix', 'abc ']);
      const other = new R();
      other.createTarget('LOG', { logPrefix: 'abd ' });
      refused(() => t.chain('INPUT').deleteRule(other), ERRNO.ENOENT);
      expect(t.chain('INPUT').rules[0]!.equals(other)).toBe(false);
      const level = new R();
      level.createTarget('LOG', { logPrefix: 'abc ', logLevel: '7' });
      refused(() => t.chain('INPUT').deleteRule(level), ERRNO.ENOENT);
    });
  });

  describe('Table.flush()', () => {
    it('deletes user chains that jump and go to each other; built-in chains keep their policies', () => {
      const t = table();
      t.chain('FORWARD').setPolicy('DROP');
      for (const name of ['a', 'b', 'c', 'd']) t.createChain(name);
      t.chain('INPUT').appendRule(rule(1, 'a'));
      t.chain('OUTPUT').appendRule(rule(2, 'b', { goto: true }));
      t.chain('a').appendRule(rule(3, 'b'));
      t.chain('a').appendRule(rule(4, 'c', { goto: true }));
      t.chain('b').appendRule(rule(5, 'c'));
      t.chain('c').appendRule(rule(6, 'd', { goto: true }));
      t.chain('d').appendRule(rule(7, 'DROP'));
      cli(['-A', 'FORWARD', '-j', 'd']);
      expect(rl('a')).toEqual([`${hostSave(3)} -j b`, `${hostSave(4)} -g c`]);
      t.refresh();

      t.flush();
      expect(sv()).toBe(
        ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', ''].join('\n'),
      );
      expect(t.chains.map((c) => c.name)).toEqual(['INPUT', 'FORWARD', 'OUTPUT']);
      expect(t.chain('FORWARD').getPolicy()?.name).toBe('DROP');
      expect(t.isChain('a')).toBe(false);
    });

    it('deletes user chains that jump to each other in a cycle no built-in chain enters', () => {
      // Regression (nft): each deleted chain was flushed and deleted in turn, so deleting `x` while `y`
      // still jumped to it was refused (EBUSY) and the whole flush failed.
      const t = table();
      t.createChain('x');
      t.createChain('y');
      t.chain('x').appendRule(rule(1, 'y'));
      t.chain('y').appendRule(rule(2, 'x', { goto: true }));
      expect(rl('y')).toEqual([`${hostSave(2)} -g x`]);
      t.flush();
      expect(chainLines()).toEqual([':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]']);
      expect(sv()).not.toContain('-A ');
    });

    it('flushes the nat table with user chains, leaving its built-in chains and policies', () => {
      const t = table('nat');
      // `iptables -t nat -P OUTPUT DROP` is refused (as setPolicy refuses it); iptables-restore's
      // chain line takes it.
      expect(() => t.chain('OUTPUT').setPolicy('DROP')).toThrow(RuleSyntaxError);
      t.restore(':OUTPUT DROP [0:0]\n', { noflush: true });
      t.createChain('n1');
      t.createChain('n2');
      t.chain('PREROUTING').appendRule(rule(1, 'n1'));
      t.chain('n1').appendRule(rule(2, 'n2', { goto: true }));
      t.chain('n2').appendRule(rule(3, 'RETURN'));
      t.flush();
      expect(chainLines('nat')).toEqual([
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT DROP [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
      ]);
      expect(sv('nat')).not.toContain('-A ');
    });
  });

  describe('rules of the other family', () => {
    it('refuses a rule of the other family with TypeError, kernel unchanged', () => {
      const t = table();
      const other = family === 6 ? new Rule() : new Rule6();
      other.createTarget('ACCEPT');
      const before = sv();
      expect(() => t.chain('INPUT').appendRule(other)).toThrow(TypeError);
      expect(() => t.chain('INPUT').insertRule(other, 0)).toThrow(TypeError);
      expect(() => t.chain('INPUT').deleteRule(other)).toThrow(TypeError);
      expect(sv()).toBe(before);
    });
  });

  describe('jumps to missing chains', () => {
    it('refuses a jump or goto to a missing chain with IPTCError, kernel unchanged', () => {
      const t = table();
      t.createChain('exists');
      t.chain('INPUT').appendRule(rule(1));
      refused(() => t.chain('INPUT').appendRule(rule(2, 'missing')));
      refused(() => t.chain('INPUT').insertRule(rule(2, 'missing'), 0));
      refused(() => t.chain('INPUT').replaceRule(rule(2, 'missing'), 0));
      refused(() => t.chain('INPUT').appendRule(rule(2, 'missing', { goto: true })));
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j ACCEPT`]);
      t.chain('INPUT').appendRule(rule(2, 'exists'));
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j ACCEPT`, `${hostSave(2)} -j exists`]);
    });

    it('refuses a rule in a missing chain', () => {
      const t = table();
      refused(() => new Chain(t, 'missing').appendRule(rule(1)));
      refused(() => new Chain(t, 'missing').insertRule(rule(1)));
      refused(() => new Chain(t, 'missing').deleteRule(rule(1)));
    });

    it('refuses a jump to a chain deleted or renamed earlier in the same batch or restore', () => {
      const t = table('filter', { autocommit: false });
      t.createChain('gone');
      t.createChain('old');
      const input = t.chain('INPUT');
      // Each jump found once, then its chain goes: the next jump to it must be refused at once.
      input.appendRule(rule(1, 'gone'));
      input.appendRule(rule(2, 'old'));
      input.deleteRule(rule(1, 'gone'));
      t.deleteChain('gone');
      t.renameChain('old', 'new');
      const gone = thrown(() => input.appendRule(rule(3, 'gone')));
      expect(gone).toBeInstanceOf(IPTCError);
      expect((gone as IPTCError).errno).toBe(ERRNO.ENOENT);
      const old = thrown(() => input.appendRule(rule(3, 'old')));
      expect(old).toBeInstanceOf(IPTCError);
      expect((old as IPTCError).errno).toBe(ERRNO.ENOENT);
      t.commit();
      expect(rl('INPUT')).toEqual([`${hostSave(2)} -j new`]);

      const text = `*filter\n:gone - [0:0]\n-A INPUT ${hostSave(1)} -j gone\n-D INPUT ${hostSave(1)} -j gone\n` +
        `-X gone\n-A INPUT ${hostSave(1)} -j gone\nCOMMIT\n`;
      const before = sv('filter', true);
      const err = thrown(() => table().restore(text, { noflush: true }));
      expect((err as Error).message).toMatch(/^line 6: Couldn't load target `gone'/);
      expect(sv('filter', true)).toBe(before);
    });

    it('refuses a jump to a chain of another table', () => {
      table('nat').createChain('natonly');
      refused(() => table().chain('INPUT').appendRule(rule(1, 'natonly')));
    });

    // libiptc refuses a jump to a built-in chain (EINVAL); an append it takes later must be refused as at once.
    it.skipIf(BACKEND !== 'legacy')('refuses a jump to a built-in chain at once, wherever the append falls in a batch, and the batch goes on', () => {
      const t = table('filter', { autocommit: false });
      t.createChain('a');
      t.createChain('b');
      const a = t.chain('a');
      a.appendRule(rule(1));
      // The second append of a run, then the first after a change of chain: both refused at the call.
      for (const [chain, target] of [[a, 'INPUT'], [t.chain('b'), 'FORWARD']] as const) {
        const err = thrown(() => chain.appendRule(rule(2, target)));
        expect(err).toBeInstanceOf(IPTCError);
        expect((err as IPTCError).errno).toBe(ERRNO.EINVAL);
      }
      t.chain('b').appendRule(rule(3, 'a'));
      a.appendRule(rule(4, 'DROP'));
      t.commit();
      expect(rl('a')).toEqual([accept(1), `${hostSave(4)} -j DROP`]);
      expect(rl('b')).toEqual([`${hostSave(3)} -j a`]);
    });

    it('keeps each chain\'s order when a batch goes from chain to chain rule after rule', () => {
      const t = table('filter', { autocommit: false });
      const names = ['c0', 'c1', 'c2'];
      for (const name of names) t.createChain(name);
      for (let n = 1; n <= 12; n++) {
        const name = names[n % 3]!;
        t.chain(name).appendRule(rule(n, n % 4 === 0 && name !== 'c2' ? 'c2' : 'ACCEPT'));
        if (n === 6) expect(t.chain(name).rules.length).toBeGreaterThan(0);
      }
      t.chain('INPUT').appendRule(rule(13, 'c0'));
      t.commit();
      for (const [i, name] of names.entries()) {
        const want = [];
        for (let n = 1; n <= 12; n++) {
          if (n % 3 === i) want.push(`${hostSave(n)} -j ${n % 4 === 0 && name !== 'c2' ? 'c2' : 'ACCEPT'}`);
        }
        expect(rl(name)).toEqual(want);
      }
      expect(rl('INPUT')).toEqual([`${hostSave(13)} -j c0`]);
    });
  });
});

describe('a rule read back from the kernel, modified and put back', () => {
  it('keeps what was not changed and changes what was', () => {
    resetKernel();
    ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', '80', '-m', 'comment', '--comment', 'web', '-j', 'ACCEPT']);
    const t = new Table('filter');
    const [r] = t.chain('INPUT').rules;
    r!.matches[0]!.set('dport', '8080');
    r!.matches[1]!.set('comment', 'web 2');
    r!.src = '10.0.0.0/8';
    t.chain('INPUT').replaceRule(r!, 0);
    expect(rules('filter', 'INPUT')).toEqual(['-s 10.0.0.0/8 -p tcp -m tcp --dport 8080 -m comment --comment "web 2" -j ACCEPT']);
    t.close();
  });
});

describe('goto set on a target after the rule was built', () => {
  it('is what the kernel gets', () => {
    resetKernel();
    const t = new Table('filter');
    t.createChain('next');
    const r = new Rule();
    r.protocol = 'udp';
    r.createTarget('next');
    expect(r.toEntry()).toBeInstanceOf(Buffer);
    r.target!.goto = true;
    t.chain('INPUT').appendRule(r);
    expect(rules('filter', 'INPUT')).toEqual(['-p udp -g next']);
    t.close();
  });
});

describe('chain names', () => {
  it('refuses white space, NUL and anything but printable ASCII, as iptables does, and takes the rest', () => {
    resetKernel();
    const t = new Table('filter', { autocommit: false });
    for (const name of ['a b', 'a\tb', 'a\nb', 'a\0b', 'caf\u00e9', 'a\u00a0b', 'a\u2028b', '\ud800x']) {
      expect(() => t.createChain(name)).toThrow(new TypeError(`Invalid chain name \`${name}'`));
      expect(() => Rule.parse(['-j', name])).toThrow(TypeError);
    }
    t.createChain('a~!"#z');
    t.chain('INPUT').appendRule(Rule.parse(['-j', 'a~!"#z']));
    t.commit();
    t.close();
    expect(rules('filter', 'INPUT')).toEqual(['-j a~!"#z']);
  });
});
