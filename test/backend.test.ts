// Backends: detectBackend(), read-only use of the legacy backend (which the suite pins for this file) that
// never instantiates a legacy table (checked through /proc/net/ip_tables_names and ip6_tables_names, here
// and in a child process in a brand-new network namespace where no table exists yet), and the
// once-per-process backend warnings (IPTC_NFT_BACKEND on legacy where iptables is iptables-nft,
// IPTC_LEGACY_TABLES on nft where legacy tables exist), silenced by Table.backendWarnings or
// $IPTC_NO_BACKEND_WARNING; `auto` picks the system's backend and gives neither.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { detectBackend, isTable6Available, isTableAvailable, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { cleanFresh, runFresh } from './fresh-process.js';
import { BUILTIN_CHAINS, closedAfterEach, liveTables, resetKernel, rules, run, save, type Family } from './kernel.js';

// test/setup.ts silences the warning for every test file; this one checks it, so it turns it back on
// (for this process and the child processes it starts) before its first Table.
delete process.env.IPTC_NO_BACKEND_WARNING;

// Listen before this file makes its first Table (importing makes none): the warning must come once.
const warnings: Error[] = [];
process.on('warning', (w) => warnings.push(w));

const open = closedAfterEach();

// resetKernel() empties the tables that exist and instantiates none.
beforeEach(() => {
  resetKernel();
});

afterAll(() => {
  cleanFresh();
});

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What the system's `iptables` is, from the realpath of `which iptables`. */
function systemIptables(): 'nft' | 'legacy' | 'unknown' {
  const path = execFileSync('sh', ['-c', 'command -v iptables'], { encoding: 'utf8' }).trim();
  const real = realpathSync(path);
  return /nft/.test(real) ? 'nft' : /legacy/.test(real) ? 'legacy' : 'unknown';
}

/** Every read a user can make of a table, without changing it. */
function readEverything(t: Table) {
  return {
    name: t.name,
    chains: t.chains.map((c) => ({
      name: c.name,
      builtin: c.isBuiltin(),
      policy: c.getPolicy()?.name ?? null,
      counters: c.getCounters(),
      rules: c.rules.map((r) => r.toString()),
    })),
    isChain: t.isChain(BUILTIN_CHAINS[t.name]![0]!),
    builtin: t.builtinChain(BUILTIN_CHAINS[t.name]![0]!),
    missing: t.isChain('nope'),
    save: t.save(),
    saveCounters: t.save({ counters: true }),
  };
}

const emptyTable = (name: string) =>
  [`*${name}`, ...BUILTIN_CHAINS[name]!.map((c) => `:${c} ACCEPT [0:0]`), 'COMMIT', ''].join('\n');

// This file must read before anything here instantiates the tables it checks.
describe('read-only use does not instantiate tables', () => {
  it('reads raw and security (IPv4) and raw, security, nat, mangle (IPv6) without creating them', () => {
    const before4 = liveTables(4);
    const before6 = liveTables(6);
    const seen: Record<string, unknown> = {};
    for (const [family, name] of [
      [4, 'raw'],
      [4, 'security'],
      [6, 'raw'],
      [6, 'security'],
      [6, 'nat'],
      [6, 'mangle'],
    ] as [Family, string][]) {
      const t = family === 6 ? new Table6(name) : new Table(name);
      open.push(t);
      seen[`${family}/${name}`] = readEverything(t);
      t.refresh();
      readEverything(t);
      t.commit(); // nothing pending: no change, no table
      expect(t.chain(BUILTIN_CHAINS[name]![0]!).getPolicy()?.name).toBe('ACCEPT');
    }
    detectBackend();
    expect(liveTables(4)).toEqual(before4);
    expect(liveTables(6)).toEqual(before6);

    // What was read is what the kernel holds (asking the CLI instantiates the tables, so only now).
    for (const [key, value] of Object.entries(seen)) {
      const [family, name] = key.split('/') as [string, string];
      const v = value as ReturnType<typeof readEverything>;
      expect(v.save).toBe(save(name, { family: Number(family) as Family }));
      if (!before4.includes(name) && family === '4') expect(v.save).toBe(emptyTable(name));
      if (!before6.includes(name) && family === '6') expect(v.save).toBe(emptyTable(name));
      expect(v.chains.map((c) => c.name)).toEqual(BUILTIN_CHAINS[name]);
      expect(v.chains.every((c) => c.builtin)).toBe(true);
      expect(v.isChain).toBe(true);
      expect(v.builtin).toBe(true);
      expect(v.missing).toBe(false);
    }
  });

  it('in a new network namespace: reads create no table, the first change creates exactly its own', () => {
    const res = runFresh(
      `
      const fs = await import('node:fs');
      const names = (f) => { try { return fs.readFileSync(f === 6 ? '/proc/net/ip6_tables_names' : '/proc/net/ip_tables_names', 'utf8').split('\\n').filter(Boolean).sort(); } catch { return []; } };
      const out = { start: [names(4), names(6)] };
      const reads = [];
      for (const T of [iptc.Table, iptc.Table6]) {
        for (const name of iptc.Table.ALL) {
          const t = new T(name);
          reads.push(t.save({ counters: true }));
          for (const c of t.chains) { c.rules; c.getPolicy(); c.getCounters(); c.isBuiltin(); }
          t.isChain('x'); t.refresh(); t.commit(); t.close();
        }
      }
      iptc.detectBackend();
      out.afterReads = [names(4), names(6)];
      out.reads = reads;
      const t6 = new iptc.Table6('security');
      const r = new iptc.Rule6(); r.src = '2001:db8::1'; r.createTarget('DROP');
      t6.chain('INPUT').appendRule(r);
      out.afterChange = [names(4), names(6)];
      out.rules = t6.chain('INPUT').rules.map((x) => x.toString());
      const b = new iptc.Table('raw', { autocommit: false });
      b.chain('OUTPUT').setPolicy('ACCEPT');
      out.afterPending = [names(4), names(6)];
      b.commit();
      out.afterCommit = [names(4), names(6)];
      return out;`,
      {},
      { newNetns: true },
    );
    expect(res.stderr).not.toMatch(/Error|Segmentation|Abort/);
    expect(res.status).toBe(0);
    const out = (res.result as { result: Record<string, unknown> }).result;
    expect(out.start).toEqual([[], []]);
    expect(out.afterReads).toEqual([[], []]);
    expect(out.reads).toEqual([
      ...Table.ALL.map(emptyTable),
      ...Table.ALL.map(emptyTable),
    ]);
    expect(out.afterChange).toEqual([[], ['security']]);
    expect(out.rules).toEqual(['-s 2001:db8::1/128 -j DROP']);
    expect(out.afterCommit).toEqual([['raw'], ['security']]);
  });
});

describe('isTableAvailable() and isTable6Available()', () => {
  it('tell which tables the kernel offers without instantiating them (new network namespace)', () => {
    const res = runFresh(
      `
      const fs = await import('node:fs');
      const names = (f) => { try { return fs.readFileSync(f === 6 ? '/proc/net/ip6_tables_names' : '/proc/net/ip_tables_names', 'utf8').split('\\n').filter(Boolean).sort(); } catch { return []; } };
      const out = { start: [names(4), names(6)] };
      out.v4 = iptc.Table.ALL.map((n) => iptc.isTableAvailable(n));
      out.v6 = iptc.Table.ALL.map((n) => iptc.isTable6Available(n));
      out.after = [names(4), names(6)];
      return out;`,
      {},
      { newNetns: true },
    );
    expect(res.status).toBe(0);
    const out = (res.result as { result: Record<string, unknown> }).result;
    expect(out.start).toEqual([[], []]);
    expect(out.v4).toEqual([true, true, true, true, true]);
    expect(out.v6).toEqual([true, true, true, true, true]);
    expect(out.after).toEqual([[], []]);
  });

  it('say false for a table the kernel does not have', () => {
    expect(isTableAvailable('nosuchtable')).toBe(false);
    expect(isTable6Available('nosuchtable')).toBe(false);
    expect(isTableAvailable('filter')).toBe(true);
  });
});

describe('detectBackend()', () => {
  it('has the documented shape and reports the system iptables by the realpath of `which iptables`', () => {
    const info = detectBackend();
    expect(Object.keys(info).sort()).toEqual(['auto', 'iptables', 'legacyTablesPresent', 'nftTablesPresent']);
    expect(['legacy', 'nft', 'unknown']).toContain(info.iptables);
    expect(info.auto).toBe(info.iptables === 'unknown' ? 'nft' : info.iptables);
    expect(typeof info.legacyTablesPresent).toBe('boolean');
    expect(typeof info.nftTablesPresent).toBe('boolean');
    expect(info.iptables).toBe(systemIptables());
  });

  it('reports this machine (iptables is iptables-nft) as nft, and auto as nft', () => {
    expect(realpathSync(execFileSync('sh', ['-c', 'command -v iptables'], { encoding: 'utf8' }).trim())).toMatch(/nft/);
    expect(detectBackend()).toMatchObject({ iptables: 'nft', auto: 'nft' });
  });

  it('reports legacy tables present exactly when /proc/net lists some, without creating any', () => {
    resetKernel();
    const before = [liveTables(4), liveTables(6)];
    expect(detectBackend().legacyTablesPresent).toBe(before[0]!.length + before[1]!.length > 0);
    expect([liveTables(4), liveTables(6)]).toEqual(before);
    const t = new Table6('filter');
    open.push(t);
    const r = new Rule6();
    r.createTarget('ACCEPT');
    t.chain('OUTPUT').appendRule(r);
    expect(rules('filter', 'OUTPUT', { family: 6 })).toEqual(['-j ACCEPT']);
    expect(detectBackend().legacyTablesPresent).toBe(true);
  });

  it('reports nft tables present exactly when `nft list tables` shows some in this namespace', () => {
    const nft = (args: string[]) => run('nft', args);
    const existing = nft(['list', 'tables']).trim();
    expect(detectBackend().nftTablesPresent).toBe(existing !== '');
    if (existing === '') {
      nft(['add', 'table', 'inet', 'iptc_backend_test']);
      try {
        expect(detectBackend().nftTablesPresent).toBe(true);
      } finally {
        nft(['delete', 'table', 'inet', 'iptc_backend_test']);
      }
      expect(detectBackend().nftTablesPresent).toBe(false);
    }
  });

  it('reports legacy when the iptables found first on PATH is iptables-legacy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iptc-path-'));
    try {
      symlinkSync(realpathSync(execFileSync('sh', ['-c', 'command -v iptables-legacy'], { encoding: 'utf8' }).trim()), join(dir, 'iptables'));
      const res = runFresh(
        `const t = new iptc.Table('filter'); new iptc.Table6('filter'); t.close();
         return iptc.detectBackend().iptables;`,
        { PATH: `${dir}:${process.env.PATH}` },
      );
      expect(res.status).toBe(0);
      const out = res.result as { result: string; warnings: { code: string }[] };
      expect(out.result).toBe('legacy');
      // No nft warning where the system iptables is legacy.
      expect(out.warnings.filter((w) => w.code === 'IPTC_NFT_BACKEND')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the nft backend warning', () => {
  it('is emitted once in this process, with code IPTC_NFT_BACKEND, at the first Table', async () => {
    // Tables were made above in this file; the listener was there before the first one.
    new Table('filter').close();
    new Table6('nat').close();
    await tick();
    const ours = warnings.filter((w) => (w as { code?: string }).code === 'IPTC_NFT_BACKEND');
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toMatch(/legacy/);
    expect(ours[0]!.message).toMatch(/nft/);
  });

  it('is emitted at most once per process, in a fresh process, and names the way to see the rules', () => {
    const res = runFresh(`
      const a = new iptc.Table('filter');
      const b = new iptc.Table6('filter');
      const c = new iptc.Table('nat');
      a.chains; b.chains; c.close(); a.close(); b.close();
      new iptc.Table('mangle').close();
      return 'done';`);
    expect(res.status).toBe(0);
    const out = res.result as { result: string; warnings: { name: string; code: string; message: string }[] };
    expect(out.result).toBe('done');
    const nftWarnings = out.warnings.filter((w) => w.code === 'IPTC_NFT_BACKEND');
    expect(nftWarnings).toHaveLength(1);
    expect(nftWarnings[0]!.message).toMatch(/iptables-legacy-save/);
    expect(nftWarnings[0]!.message).toMatch(/invisible/);
    // Node prints it once on stderr, with its code.
    expect(res.stderr.match(/\[IPTC_NFT_BACKEND\]/g)).toHaveLength(1);
  });

  it('is silenced by IPTC_NO_BACKEND_WARNING=1 (any value but empty or 0), read at the first Table', () => {
    const body = `
      new iptc.Table('filter').close();
      new iptc.Table6('filter').close();
      return 'done';`;
    for (const value of ['1', 'yes']) {
      const res = runFresh(body, { IPTC_NO_BACKEND_WARNING: value });
      expect(res.status).toBe(0);
      expect(res.result).toEqual({ result: 'done', warnings: [] });
      expect(res.stderr).not.toMatch(/IPTC_NFT_BACKEND/);
    }
    for (const value of ['0', '']) {
      const res = runFresh(body, { IPTC_NO_BACKEND_WARNING: value });
      expect(res.status).toBe(0);
      const out = res.result as { warnings: { code: string }[] };
      expect(out.warnings.map((w) => w.code)).toEqual(['IPTC_NFT_BACKEND']);
    }
    // Set after the first Table was made silently, then unset: the once-per-process warning is still due.
    const late = runFresh(`
      process.env.IPTC_NO_BACKEND_WARNING = '1';
      new iptc.Table('filter').close();
      delete process.env.IPTC_NO_BACKEND_WARNING;
      new iptc.Table('filter').close();
      new iptc.Table('nat').close();
      return 'done';`);
    expect((late.result as { warnings: { code: string }[] }).warnings.map((w) => w.code)).toEqual(['IPTC_NFT_BACKEND']);
  });

  it('is not emitted by merely importing the module', () => {
    const res = runFresh(`return Object.keys(iptc).includes('Table');`);
    expect(res.status).toBe(0);
    const out = res.result as { result: boolean; warnings: { code: string }[] };
    expect(out.result).toBe(true);
    expect(out.warnings).toEqual([]);
  });
});

describe('the backend warnings when auto picks the system backend (nft here)', () => {
  // Each in a new network namespace (no legacy table yet) with $IPTC_BACKEND unset: `auto`.
  const auto = { IPTC_BACKEND: '' };
  const legacyRule = `(await import('node:child_process')).execFileSync('iptables-legacy', ['-A', 'INPUT', '-j', 'ACCEPT']);`;

  it('gives no warning where no legacy table exists', () => {
    const res = runFresh(
      `const t = new iptc.Table('filter'); const t6 = new iptc.Table6('filter');
       t.chain('INPUT').appendRule(iptc.Rule.parse('-j ACCEPT'));
       const out = [t.backend, t6.backend]; t.close(); t6.close(); return out;`,
      auto,
      { newNetns: true },
    );
    expect(res.status, res.stderr).toBe(0);
    expect(res.result).toEqual({ result: ['nft', 'nft'], warnings: [] });
    expect(res.stderr).not.toMatch(/IPTC_/);
  });

  it('warns once with IPTC_LEGACY_TABLES where legacy tables hold rules too, naming them', () => {
    const res = runFresh(
      `${legacyRule}
       for (let i = 0; i < 3; i++) new iptc.Table(i === 1 ? 'nat' : 'filter').close();
       new iptc.Table6('filter').close();
       return 'done';`,
      auto,
      { newNetns: true },
    );
    expect(res.status, res.stderr).toBe(0);
    const out = res.result as { warnings: { code: string; message: string }[] };
    expect(out.warnings.map((w) => w.code)).toEqual(['IPTC_LEGACY_TABLES']);
    expect(out.warnings[0]!.message).toMatch(/Legacy iptables tables are also present \(filter\)/);
    expect(out.warnings[0]!.message).toMatch(/iptables-legacy-save/);
    expect(out.warnings[0]!.message).toMatch(/Table\.backendWarnings = false/);
    expect(res.stderr.match(/\[IPTC_LEGACY_TABLES\]/g)).toHaveLength(1);
  });

  it('is due at the first Table after legacy tables appear, not only at the first Table', () => {
    const res = runFresh(
      `new iptc.Table('filter').close();
       ${legacyRule}
       new iptc.Table('filter').close();
       new iptc.Table('filter').close();
       return 'done';`,
      auto,
      { newNetns: true },
    );
    expect(res.status, res.stderr).toBe(0);
    expect((res.result as { warnings: { code: string }[] }).warnings.map((w) => w.code)).toEqual(['IPTC_LEGACY_TABLES']);
  });

  it('Table.backendWarnings = false silences both warnings; true gives them again; anything else is a TypeError', () => {
    const res = runFresh(
      `${legacyRule}
       const out = { initial: iptc.Table.backendWarnings };
       iptc.Table.backendWarnings = false;
       out.off = iptc.Table.backendWarnings;
       new iptc.Table('filter').close();
       new iptc.Table('filter', { backend: 'legacy' }).close();
       await new Promise((r) => setImmediate(r));
       out.silent = true;
       try { iptc.Table.backendWarnings = 'no'; } catch (e) { out.bad = e.name; }
       iptc.Table.backendWarnings = true;
       new iptc.Table6('filter').close();
       new iptc.Table6('filter', { backend: 'legacy' }).close();
       return out;`,
      auto,
      { newNetns: true },
    );
    expect(res.status, res.stderr).toBe(0);
    const out = res.result as { result: Record<string, unknown>; warnings: { code: string }[] };
    expect(out.result).toEqual({ initial: true, off: false, silent: true, bad: 'TypeError' });
    // Given only after backendWarnings was true again, each once.
    expect(out.warnings.map((w) => w.code)).toEqual(['IPTC_LEGACY_TABLES', 'IPTC_NFT_BACKEND']);
  });

  it('IPTC_NO_BACKEND_WARNING=1 silences IPTC_LEGACY_TABLES too', () => {
    const res = runFresh(`${legacyRule} new iptc.Table('filter').close(); return 'done';`, { ...auto, IPTC_NO_BACKEND_WARNING: '1' }, { newNetns: true });
    expect(res.status, res.stderr).toBe(0);
    expect(res.result).toEqual({ result: 'done', warnings: [] });
  });
});
