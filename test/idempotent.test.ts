// Changes that may be repeated without harm (go-iptables' AppendUnique, InsertUnique, DeleteIfExists,
// ChainExists, ClearChain, ClearAndDeleteChain) and Table.deleteOwned, for IPv4 and IPv6, checked against
// iptables-legacy-save / ip6tables-legacy-save. "Commits nothing" is shown by holding the xtables lock
// from another process: a call that commits fails at once with XTablesLockError, one that does not passes.
import { dirname, join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { IPTCError, Rule, Rule6, Table, Table6, XTablesLockError } from '../src/iptc/index.js';
import { ruleExists } from '../src/iptc/idempotent.js';
import { cleanFresh, iptcEntry, runFresh } from './fresh-process.js';
import { BACKEND, closedAfterEach, ipt, resetKernel, rules, save, thrown, type Family } from './kernel.js';
import { withLockHeld } from './xtables-lock.js';

const open = closedAfterEach();
const ERRNO = { EPERM: 1, ENOENT: 2, EINVAL: 22, EMLINK: 31 };

beforeEach(() => {
  resetKernel();
});
afterAll(() => cleanFresh());

describe.each([4, 6] as const)('IPv%i', (family: Family) => {
  const T = family === 6 ? Table6 : Table;
  const R = family === 6 ? Rule6 : Rule;
  const sv = (table = 'filter') => save(table, { family });
  const rl = (chain: string, table = 'filter') => rules(table, chain, { family });
  const cli = (args: string[]) => ipt(args, family);
  const host = (n: number) => (family === 6 ? `2001:db8::${n}` : `10.0.0.${n}`);
  const hostSave = (n: number) => (family === 6 ? `-s 2001:db8::${n}/128` : `-s 10.0.0.${n}/32`);

  function table(name = 'filter', opts?: { autocommit?: boolean; wait?: boolean }): Table {
    const t = opts ? new T(name, opts) : new T(name);
    open.push(t);
    return t;
  }

  /** Expects fn to throw `type` (an IPTCError with `errno` if given) and the kernel table to be unchanged. */
  function refused(fn: () => unknown, type: new (...a: never[]) => Error, errno?: number, tableName = 'filter'): Error {
    const before = save(tableName, { family, counters: true });
    const err = thrown(fn);
    expect(err).toBeInstanceOf(type);
    if (errno !== undefined) expect((err as IPTCError).errno).toBe(errno);
    expect(save(tableName, { family, counters: true })).toBe(before);
    return err as Error;
  }

  describe('appendUnique / insertUnique', () => {
    it('appends a rule once: a Rule, a spec string, its words and its -A line are the same rule', () => {
      const c = table().chain('INPUT');
      expect(c.appendUnique(`-s ${host(1)} -p tcp --dport 22 -j ACCEPT`)).toBe(true);
      expect(c.appendUnique(`-s ${host(1)} -p tcp --dport 22 -j ACCEPT`)).toBe(false);
      expect(c.appendUnique(R.parse(`-s ${host(1)} -p tcp -m tcp --dport 22 -j ACCEPT`))).toBe(false);
      expect(c.appendUnique(['-s', host(1), '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'])).toBe(false);
      expect(c.appendUnique(`-A INPUT ${hostSave(1)} -p tcp -m tcp --dport 22 -j ACCEPT`)).toBe(false);
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -p tcp -m tcp --dport 22 -j ACCEPT`]);
    });

    it('compares as iptables -C does: counters ignored, another target or -g for -j is another rule', () => {
      cli(['-N', 'X']);
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'X', '-c', '5', '500']);
      const c = table().chain('INPUT');
      expect(c.appendUnique(`-s ${host(1)} -j X`)).toBe(false);
      expect(c.appendUnique(`-s ${host(1)} -g X`)).toBe(true);
      expect(c.appendUnique(`-s ${host(1)} -j DROP`)).toBe(true);
      expect(c.appendUnique(`-s ${host(2)} -j X`)).toBe(true);
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j X`, `${hostSave(1)} -g X`, `${hostSave(1)} -j DROP`, `${hostSave(2)} -j X`]);
      expect(save('filter', { family, counters: true })).toContain(`[5:500] -A INPUT ${hostSave(1)} -j X`);
    });

    it('sees rules another program added after the table was read', () => {
      const t = table();
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      expect(t.chain('INPUT').appendUnique(`-s ${host(1)} -j ACCEPT`)).toBe(false);
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j ACCEPT`]);
    });

    it('commits nothing when the rule is there already (passes while another program holds the lock)', async () => {
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      const c = table('filter', { wait: false }).chain('INPUT');
      await withLockHeld(() => {
        expect(c.appendUnique(`-s ${host(1)} -j ACCEPT`)).toBe(false);
        expect(c.insertUnique(`-s ${host(1)} -j ACCEPT`, 0)).toBe(false);
        expect(c.deleteIfExists(`-s ${host(2)} -j ACCEPT`)).toBe(false);
        if (BACKEND === 'legacy') {
          expect(thrown(() => c.appendUnique(`-s ${host(2)} -j ACCEPT`))).toBeInstanceOf(XTablesLockError);
        } else {
          // nft takes no lock (as iptables-nft): the change that is due goes through.
          expect(c.appendUnique(`-s ${host(2)} -j ACCEPT`)).toBe(true);
        }
      });
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j ACCEPT`, ...(BACKEND === 'nft' ? [`${hostSave(2)} -j ACCEPT`] : [])]);
    });

    it('insertUnique inserts at a 0-based position unless the rule is anywhere in the chain', () => {
      for (const n of [1, 2, 3]) cli(['-A', 'INPUT', '-s', host(n), '-j', 'ACCEPT']);
      const c = table().chain('INPUT');
      expect(c.insertUnique(`-s ${host(3)} -j ACCEPT`)).toBe(false);
      expect(c.insertUnique(`-s ${host(4)} -j ACCEPT`, 1)).toBe(true);
      expect(c.insertUnique(`-s ${host(5)} -j ACCEPT`)).toBe(true);
      expect(c.insertUnique(`-s ${host(4)} -j ACCEPT`, 0)).toBe(false);
      expect(rl('INPUT')).toEqual([5, 1, 4, 2, 3].map((n) => `${hostSave(n)} -j ACCEPT`));
      refused(() => c.insertUnique(`-s ${host(6)} -j ACCEPT`, -1), RangeError);
      refused(() => c.insertUnique(`-s ${host(6)} -j ACCEPT`, 9), IPTCError);
    });

    it('refuses what appendRule refuses, kernel unchanged', () => {
      const t = table();
      const c = t.chain('INPUT');
      refused(() => c.appendUnique('-j NOSUCHCHAIN'), IPTCError, ERRNO.ENOENT);
      refused(() => c.appendUnique('-o eth0 -j ACCEPT'), Error);
      refused(() => c.appendUnique(family === 6 ? new Rule() : new Rule6()), TypeError);
      refused(() => c.appendUnique('-A FORWARD -j ACCEPT'), TypeError);
      refused(() => c.appendUnique('-t nat -A INPUT -j ACCEPT'), TypeError);
      refused(() => c.appendUnique('-p tcp --dport 99999 -j ACCEPT'), Error);
      refused(() => c.appendUnique(undefined as unknown as string), TypeError);
      refused(() => t.chain('INPUT').insertUnique('-j ACCEPT', 1.5), RangeError);
      cli(['-N', 'GONE']);
      const gone = table().chain('GONE');
      cli(['-X', 'GONE']);
      refused(() => gone.appendUnique('-j ACCEPT'), IPTCError, ERRNO.ENOENT);
    });

    it('without autocommit: unique among the pending changes, and again at commit', () => {
      const t = table('filter', { autocommit: false });
      const c = t.chain('INPUT');
      expect(c.appendUnique(`-s ${host(1)} -j ACCEPT`)).toBe(true);
      expect(c.appendUnique(`-s ${host(1)} -j ACCEPT`)).toBe(false);
      expect(c.rules.map(String)).toEqual([`${hostSave(1)} -j ACCEPT`]);
      expect(rl('INPUT')).toEqual([]);
      // Another program adds the same rule before the commit: the commit does not add it twice.
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-s', host(2), '-j', 'ACCEPT']);
      t.commit();
      expect(rl('INPUT')).toEqual([`${hostSave(1)} -j ACCEPT`, `${hostSave(2)} -j ACCEPT`]);
    });
  });

  describe('deleteIfExists', () => {
    it('deletes the first equal rule when there is one, and is no error when there is none', () => {
      for (const n of [1, 2, 1]) cli(['-A', 'INPUT', '-s', host(n), '-j', 'ACCEPT']);
      const t = table();
      const c = t.chain('INPUT');
      expect(c.deleteIfExists(`-s ${host(1)} -j ACCEPT`)).toBe(true);
      expect(rl('INPUT')).toEqual([`${hostSave(2)} -j ACCEPT`, `${hostSave(1)} -j ACCEPT`]);
      expect(c.deleteIfExists(R.parse(`-s ${host(1)} -j ACCEPT`))).toBe(true);
      expect(c.deleteIfExists(`-s ${host(1)} -j ACCEPT`)).toBe(false);
      expect(c.deleteIfExists(`-s ${host(2)} -j DROP`)).toBe(false);
      expect(rl('INPUT')).toEqual([`${hostSave(2)} -j ACCEPT`]);
    });

    it('a chain that does not exist holds no rule: false, nothing changed', () => {
      cli(['-N', 'GONE']);
      const gone = table().chain('GONE');
      cli(['-X', 'GONE']);
      const before = sv();
      expect(gone.deleteIfExists('-j ACCEPT')).toBe(false);
      expect(sv()).toBe(before);
    });
  });

  describe('the existence check (Chain.hasRule)', () => {
    it('answers for the kernel now, and throws IPTCError (ENOENT) for a chain that does not exist', () => {
      const t = table();
      const c = t.chain('INPUT');
      expect(ruleExists(c, `-s ${host(1)} -j ACCEPT`)).toBe(false);
      cli(['-A', 'INPUT', '-s', host(1), '-j', 'ACCEPT']);
      expect(ruleExists(c, `-s ${host(1)} -j ACCEPT`)).toBe(true);
      expect(ruleExists(c, `-s ${host(1)} -j DROP`)).toBe(false);
      cli(['-N', 'GONE']);
      const gone = table().chain('GONE');
      cli(['-X', 'GONE']);
      expect((thrown(() => ruleExists(gone, '-j ACCEPT')) as IPTCError).errno).toBe(ERRNO.ENOENT);
    });

    it('does not create a table the kernel does not have yet (new network namespace)', () => {
      const res = runFresh(
        `
        const fs = await import('node:fs');
        const cp = await import('node:child_process');
        // The tables of the backend under test: /proc for legacy, \`nft list tables\` for nft.
        const live = ${JSON.stringify(BACKEND)} === 'nft'
          ? () => cp.execFileSync('nft', ['list', 'tables', ${JSON.stringify(family === 6 ? 'ip6' : 'ip')}], { encoding: 'utf8' }).split('\\n').filter(Boolean).map((l) => l.split(' ').pop())
          : () => { try { return fs.readFileSync(${JSON.stringify(family === 6 ? '/proc/net/ip6_tables_names' : '/proc/net/ip_tables_names')}, 'utf8').split('\\n').filter(Boolean); } catch { return []; } };
        const out = { before: live() };
        const t = new iptc.${family === 6 ? 'Table6' : 'Table'}('raw');
        const { ruleExists } = await import(${JSON.stringify(join(dirname(iptcEntry()), 'idempotent.js'))});
        const code = (fn) => { try { fn(); return 'no error'; } catch (e) { return e.code; } };
        out.answers = [
          ruleExists(t.chain('OUTPUT'), '-j ACCEPT'), code(() => ruleExists(new iptc.Chain(t, 'INPUT'), '-j ACCEPT')),
          t.chainExists('OUTPUT'), t.chainExists('INPUT'), t.clearAndDeleteChain('X'),
          t.chain('OUTPUT').deleteIfExists('-j ACCEPT'), t.deleteOwned('APP'),
        ];
        out.afterReads = live();
        out.appended = [t.chain('OUTPUT').appendUnique('-j ACCEPT'), t.chain('OUTPUT').appendUnique('-j ACCEPT')];
        out.afterAppend = live();
        return out;`,
        {},
        { newNetns: true },
      );
      expect(res.status, res.stderr).toBe(0);
      const out = (res.result as { result: Record<string, unknown> }).result;
      expect(out.before).toEqual([]);
      expect(out.answers).toEqual([false, 'ENOENT', true, false, false, false, { rules: 0, chains: [] }]);
      expect(out.afterReads).toEqual([]);
      // The append creates the table, as iptables -A does.
      expect(out.appended).toEqual([true, false]);
      expect(out.afterAppend).toEqual(['raw']);
    });
  });

  describe('chains', () => {
    it('chainExists asks the kernel now, where isChain answers from the snapshot', () => {
      const t = table();
      cli(['-N', 'LATER']);
      expect(t.isChain('LATER')).toBe(false);
      expect(t.chainExists('LATER')).toBe(true);
      expect(t.chainExists(t.chain('INPUT'))).toBe(true);
      expect(t.chainExists('NOPE')).toBe(false);
      expect(() => t.chainExists(undefined as unknown as string)).toThrow(TypeError);
      expect(() => t.chainExists('')).toThrow(TypeError);
    });

    it('chainExists sees the pending changes without autocommit', () => {
      const t = table('filter', { autocommit: false });
      t.createChain('PENDING');
      expect(t.chainExists('PENDING')).toBe(true);
      expect(sv()).not.toContain('PENDING');
    });

    it('clearChain creates a chain that does not exist and empties one that does', () => {
      const t = table();
      expect(t.clearChain('APP').name).toBe('APP');
      expect(sv()).toContain(':APP - [0:0]');
      cli(['-A', 'APP', '-s', host(1), '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-j', 'APP']);
      t.clearChain('APP');
      expect(rl('APP')).toEqual([]);
      expect(rl('INPUT')).toEqual(['-j APP']);
      cli(['-P', 'FORWARD', 'DROP']);
      cli(['-A', 'FORWARD', '-j', 'ACCEPT']);
      t.clearChain('FORWARD');
      expect(rl('FORWARD')).toEqual([]);
      expect(sv()).toContain(':FORWARD DROP');
    });

    it('clearChain refuses names iptables refuses, kernel unchanged', () => {
      const t = table();
      refused(() => t.clearChain('LOG'), IPTCError, ERRNO.EINVAL);
      refused(() => t.clearChain('a b'), TypeError);
      refused(() => t.clearChain('x'.repeat(40)), RangeError);
      refused(() => t.clearChain(undefined as unknown as string), TypeError);
    });

    it('clearAndDeleteChain deletes a chain with its rules, and is no error when there is none', () => {
      cli(['-N', 'APP']);
      cli(['-N', 'APP2']);
      cli(['-A', 'APP', '-j', 'APP2']);
      const t = table();
      expect(t.clearAndDeleteChain('APP')).toBe(true);
      expect(t.clearAndDeleteChain(t.chain('APP2'))).toBe(true);
      expect(t.clearAndDeleteChain('APP')).toBe(false);
      expect(sv()).not.toContain('APP');
    });

    it('clearAndDeleteChain refuses a referenced or built-in chain, kernel unchanged; absent commits nothing', async () => {
      cli(['-N', 'APP']);
      cli(['-A', 'APP', '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-j', 'APP']);
      const t = table('filter', { wait: false });
      refused(() => t.clearAndDeleteChain('APP'), IPTCError, ERRNO.EMLINK);
      refused(() => t.clearAndDeleteChain('INPUT'), IPTCError, ERRNO.EPERM);
      refused(() => t.clearAndDeleteChain(''), TypeError);
      refused(() => t.clearAndDeleteChain(undefined as unknown as string), TypeError);
      await withLockHeld(() => expect(t.clearAndDeleteChain('NOPE')).toBe(false));
    });
  });

  describe('deleteOwned', () => {
    it("deletes the owner's tagged rules and chains, and nothing of anyone else's", () => {
      cli(['-N', 'APP']);
      cli(['-N', 'APP-IN']);
      cli(['-N', 'APPX']);
      cli(['-N', 'OTHER']);
      cli(['-A', 'APP', '-j', 'APP-IN']);
      cli(['-A', 'APP-IN', '-s', host(1), '-j', 'RETURN']);
      cli(['-A', 'APP-IN', '-s', host(2), '-j', 'DROP']);
      cli(['-A', 'INPUT', '-m', 'comment', '--comment', 'APP', '-j', 'APP']);
      cli(['-A', 'INPUT', '-s', host(3), '-m', 'comment', '--comment', 'APP:ssh from LAN', '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-s', host(4), '-m', 'comment', '--comment', 'APPX:other', '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-s', host(5), '-m', 'comment', '--comment', 'app:lowercase', '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-s', host(6), '-m', 'comment', '--comment', 'x APP', '-j', 'ACCEPT']);
      cli(['-A', 'INPUT', '-s', host(7), '-j', 'ACCEPT']);
      cli(['-A', 'FORWARD', '-m', 'comment', '--comment', 'first', '-m', 'comment', '--comment', 'APP:second', '-j', 'OTHER']);
      cli(['-A', 'OTHER', '-j', 'APPX']);
      cli(['-A', 'APPX', '-s', host(8), '-m', 'comment', '--comment', 'APP', '-j', 'ACCEPT']);
      const t = table();
      expect(t.deleteOwned('APP')).toEqual({ rules: 7, chains: ['APP', 'APP-IN'] });
      const text = sv();
      expect(text).not.toMatch(/:APP |:APP-IN /);
      expect(text).toContain(':APPX - ');
      expect(text).toContain(':OTHER - ');
      expect(rl('INPUT')).toEqual([
        `${hostSave(4)} -m comment --comment "APPX:other" -j ACCEPT`,
        `${hostSave(5)} -m comment --comment "app:lowercase" -j ACCEPT`,
        `${hostSave(6)} -m comment --comment "x APP" -j ACCEPT`,
        `${hostSave(7)} -j ACCEPT`,
      ]);
      expect(rl('FORWARD')).toEqual([]);
      expect(rl('OTHER')).toEqual(['-j APPX']);
      expect(rl('APPX')).toEqual([]);
      expect(t.deleteOwned('APP')).toEqual({ rules: 0, chains: [] });
    });

    it('refuses, deleting nothing, when a rule not tagged jumps to an owned chain', () => {
      cli(['-N', 'APP-IN']);
      cli(['-A', 'INPUT', '-m', 'comment', '--comment', 'APP', '-j', 'ACCEPT']);
      cli(['-A', 'FORWARD', '-j', 'APP-IN']);
      const t = table();
      const err = refused(() => t.deleteOwned('APP'), IPTCError, ERRNO.EMLINK);
      expect(err.message).toContain('APP-IN');
    });

    it('works in any table, and commits nothing when nothing is owned', async () => {
      cli(['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-m', 'comment', '--comment', 'APP:masq', '-j', 'MASQUERADE']);
      cli(['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth1', '-j', 'MASQUERADE']);
      const t = table('nat', { wait: false });
      await withLockHeld(() => expect(t.deleteOwned('NOBODY')).toEqual({ rules: 0, chains: [] }));
      expect(t.deleteOwned('APP')).toEqual({ rules: 1, chains: [] });
      expect(rl('POSTROUTING', 'nat')).toEqual(['-o eth1 -j MASQUERADE']);
    });

    it('takes a tag without whitespace or `:`; anything else is a TypeError', () => {
      const t = table();
      for (const bad of ['', 'a b', 'a:b', undefined, null, 5]) {
        refused(() => t.deleteOwned(bad as unknown as string), TypeError);
      }
    });

    it('without autocommit: the deletion waits for commit', () => {
      cli(['-A', 'INPUT', '-m', 'comment', '--comment', 'APP', '-j', 'ACCEPT']);
      const t = table('filter', { autocommit: false });
      expect(t.deleteOwned('APP')).toEqual({ rules: 1, chains: [] });
      expect(t.chain('INPUT').rules).toEqual([]);
      expect(rl('INPUT')).toHaveLength(1);
      t.commit();
      expect(rl('INPUT')).toEqual([]);
    });
  });
});
