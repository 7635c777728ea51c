// Choosing a backend: the `backend` option, Table.defaultBackend and $IPTC_BACKEND. `auto` is what the
// system's `iptables` uses (iptables-nft on this machine, so nf_tables): resolved once per process from the
// realpath of `iptables`, else its `--version`, else nf_tables when the kernel has it. `nft` gives the
// nf_tables backend, which leaves the legacy tables alone (test/nft-backend.test.ts tests it in depth).
// Read back with both tool sets, whatever backend the suite pins (this file runs once).
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectBackend, Rule, Table, Table6, restoreAll, saveAll } from '../src/iptc/index.js';
import { cleanFresh, runFresh } from './fresh-process.js';
import { closedAfterEach, resetKernel, run } from './kernel.js';

const open = closedAfterEach();

// The suite pins $IPTC_BACKEND (test/setup.ts); this file is about the default, so it sets it itself.
beforeEach(() => {
  resetKernel();
  Table.defaultBackend = 'auto';
});

afterEach(() => {
  Table.defaultBackend = 'auto';
});

/** A chain's rules as `TOOL-save` prints them (TOOL: iptables-legacy or iptables-nft), without `-A CHAIN `. */
const rulesBy = (tool: string, chain: string, family: 4 | 6 = 4) =>
  run(family === 6 ? tool.replace('iptables', 'ip6tables') + '-save' : `${tool}-save`, ['-t', 'filter'])
    .split('\n')
    .filter((l) => l.startsWith(`-A ${chain} `))
    .map((l) => l.slice(`-A ${chain} `.length));
const save = () => run('iptables-legacy-save', ['-t', 'filter']).replace(/^#.*\n/gm, '');

afterAll(() => cleanFresh());

const nftTables = () => run('nft', ['list', 'tables']).trim();

describe('the backend option', () => {
  it("legacy gives the legacy backend; auto and the default give the system iptables' (nft here); table.backend says which", () => {
    const made: Record<string, string> = {};
    for (const backend of ['legacy', 'auto', undefined] as const) {
      const t = new Table('filter', backend === undefined ? {} : { backend });
      open.push(t);
      made[backend ?? 'default'] = t.backend;
      t.chain('INPUT').appendRule(Rule.parse(`-m comment --comment ${backend ?? 'default'} -j ACCEPT`));
    }
    expect(made).toEqual({ legacy: 'legacy', auto: 'nft', default: 'nft' });
    expect(detectBackend().auto).toBe('nft');
    const t6 = new Table6('filter', { backend: 'auto', autocommit: false });
    open.push(t6);
    expect(t6.backend).toBe('nft');
    expect(rulesBy('iptables-legacy', 'INPUT')).toEqual(['-m comment --comment legacy -j ACCEPT']);
    expect(rulesBy('iptables-nft', 'INPUT')).toEqual(['auto', 'default'].map((c) => `-m comment --comment ${c} -j ACCEPT`));
    // iptables (iptables-nft on this machine) shows the rules made by auto.
    expect(run('iptables', ['-S', 'INPUT'])).toContain('-A INPUT -m comment --comment auto -j ACCEPT');
  });

  it("'nft' gives the nf_tables backend: its rules go to nft, the legacy tables stay as they were", () => {
    const before = save();
    const t = new Table('filter', { backend: 'nft' });
    open.push(t);
    expect(t.backend).toBe('nft');
    t.chain('INPUT').appendRule(Rule.parse('-m comment --comment via-nft -j ACCEPT'));
    const t6 = new Table6('nat', { backend: 'nft', autocommit: false });
    open.push(t6);
    expect(t6.backend).toBe('nft');
    expect(run('iptables-nft-save', ['-t', 'filter'])).toContain('-A INPUT -m comment --comment via-nft -j ACCEPT');
    expect(saveAll({ backend: 'nft' })).toContain('-A INPUT -m comment --comment via-nft -j ACCEPT');
    expect(restoreAll('*filter\n-A INPUT -j DROP\nCOMMIT\n', { backend: 'nft' })).toEqual(['filter']);
    expect(run('iptables-nft-save', ['-t', 'filter'])).toMatch(/\n-A INPUT -j DROP\n/);
    expect(save()).toBe(before);
    run('nft', ['flush', 'ruleset']);
    expect(nftTables()).toBe('');
  });

  it('a backend that is not legacy, nft or auto is a TypeError', () => {
    expect(() => new Table('filter', { backend: 'iptables' as never })).toThrow(TypeError);
    expect(() => new Table('filter', { backend: null as never })).toThrow(TypeError);
    expect(() => {
      Table.defaultBackend = 'xt' as never;
    }).toThrow(TypeError);
    expect(Table.defaultBackend).toBe('auto');
  });

  it('Table.defaultBackend applies to tables made without the option', () => {
    expect(Table.defaultBackend).toBe('auto');
    Table.defaultBackend = 'nft';
    expect(Table.defaultBackend).toBe('nft');
    const implicit = new Table('filter');
    open.push(implicit);
    expect(implicit.backend).toBe('nft');
    const explicit = new Table('filter', { backend: 'legacy' });
    open.push(explicit);
    expect(explicit.backend).toBe('legacy');
    Table.defaultBackend = 'legacy';
    const t = new Table6('filter');
    open.push(t);
    expect(t.backend).toBe('legacy');
  });
});

describe('$IPTC_BACKEND', () => {
  it('sets the default backend of a process; an explicit option wins; a bad value is a TypeError', () => {
    const body = `
const out = { default: iptc.Table.defaultBackend };
try { new iptc.Table('filter'); out.made = 'yes'; } catch (e) { out.made = e.name + ':' + (e.code ?? '') ; }
try { out.explicit = new iptc.Table('filter', { backend: 'legacy' }).backend; } catch (e) { out.explicit = e.name; }
return out;`;
    const nft = runFresh(body, { IPTC_BACKEND: 'nft' });
    expect(nft.status, nft.stderr).toBe(0);
    expect(nft.result).toMatchObject({ result: { default: 'nft', made: 'yes', explicit: 'legacy' } });
    const legacy = runFresh(body, { IPTC_BACKEND: 'legacy' });
    expect(legacy.result).toMatchObject({ result: { default: 'legacy', made: 'yes', explicit: 'legacy' } });
    const unset = runFresh(`${body.replace('return out;', "out.backend = new iptc.Table('filter').backend; return out;")}`, { IPTC_BACKEND: '' });
    expect(unset.result).toMatchObject({ result: { default: 'auto', made: 'yes', backend: 'nft' } });
    const bad = runFresh(`try { iptc.Table.defaultBackend; return 'read'; } catch (e) { return e.name; }`, { IPTC_BACKEND: 'bogus' });
    expect(bad.result).toMatchObject({ result: 'TypeError' });
  });
});

describe("'auto' follows the system's iptables", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A directory put first on PATH whose `iptables` is `script` (named `name`, linked as `iptables` unless
   * it is called so) that logs each run, so that a test can count how often iptc started it.
   */
  function fakeIptables(name: string, versionLine: string): { dir: string; runs: () => number } {
    const dir = mkdtempSync(join(tmpdir(), 'iptc-auto-'));
    dirs.push(dir);
    const log = join(dir, 'runs');
    writeFileSync(log, '');
    const script = join(dir, name);
    writeFileSync(script, `#!/bin/sh\necho run >> ${log}\necho '${versionLine}'\n`);
    chmodSync(script, 0o755);
    if (name !== 'iptables') symlinkSync(script, join(dir, 'iptables'));
    return { dir, runs: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length };
  }

  const body = `
    const made = [new iptc.Table('filter'), new iptc.Table6('filter'), new iptc.Table('nat', { backend: 'auto' })];
    const out = { backends: made.map((t) => t.backend), info: iptc.detectBackend() };
    for (const t of made) t.close();
    return out;`;

  it('the realpath of iptables-legacy gives legacy, without starting iptables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iptc-auto-'));
    dirs.push(dir);
    symlinkSync(realpathSync(execFileSync('sh', ['-c', 'command -v iptables-legacy'], { encoding: 'utf8' }).trim()), join(dir, 'iptables'));
    const res = runFresh(body, { PATH: `${dir}:${process.env.PATH}`, IPTC_BACKEND: '' });
    expect(res.status, res.stderr).toBe(0);
    expect(res.result).toMatchObject({ result: { backends: ['legacy', 'legacy', 'legacy'], info: { iptables: 'legacy', auto: 'legacy' } } });
  });

  it('a link to a program named for its backend is read from its name, and iptables is never started', () => {
    for (const [name, backend] of [['xtables-nft-multi', 'nft'], ['xtables-legacy-multi', 'legacy']] as const) {
      // The script would say the other backend if it were asked.
      const fake = fakeIptables(name, `iptables v1.8.9 (${backend === 'nft' ? 'legacy' : 'nf_tables'})`);
      const res = runFresh(body, { PATH: `${fake.dir}:${process.env.PATH}`, IPTC_BACKEND: '' });
      expect(res.status, res.stderr).toBe(0);
      expect(res.result).toMatchObject({ result: { backends: [backend, backend, backend], info: { iptables: backend, auto: backend } } });
      expect(fake.runs()).toBe(0);
    }
  });

  it('a plain iptables binary is asked for its version, once per process', () => {
    for (const [line, backend] of [
      ['iptables v1.8.9 (legacy)', 'legacy'],
      ['iptables v1.8.9 (nf_tables)', 'nft'],
      ['iptables v1.6.1', 'legacy'],
    ] as const) {
      const fake = fakeIptables('iptables', line);
      const res = runFresh(body, { PATH: `${fake.dir}:${process.env.PATH}`, IPTC_BACKEND: '' });
      expect(res.status, res.stderr).toBe(0);
      expect(res.result, line).toMatchObject({ result: { backends: [backend, backend, backend], info: { iptables: backend, auto: backend } } });
      expect(fake.runs(), line).toBe(1);
    }
  });

  it('an iptables that does not say its backend gives nf_tables, which this kernel has', () => {
    const fake = fakeIptables('iptables', 'iptables, some build');
    const res = runFresh(body, { PATH: `${fake.dir}:${process.env.PATH}`, IPTC_BACKEND: '' });
    expect(res.status, res.stderr).toBe(0);
    expect(res.result).toMatchObject({ result: { backends: ['nft', 'nft', 'nft'], info: { iptables: 'unknown', auto: 'nft' } } });
    expect(fake.runs()).toBe(1);
  });
});
