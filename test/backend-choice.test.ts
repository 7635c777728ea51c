// Choosing a backend: the `backend` option, Table.defaultBackend and $IPTC_BACKEND. `auto` resolves to
// legacy (docs/backends.md says why); `nft` gives the nf_tables backend, which leaves the legacy tables
// alone (test/nft-backend.test.ts tests it in depth).
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rule, Table, Table6, restoreAll, saveAll } from '../src/iptc/index.js';
import { cleanFresh, runFresh } from './fresh-process.js';
import { closedAfterEach, resetKernel, rules, run, save, thrown } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

afterEach(() => {
  Table.defaultBackend = 'auto';
});

afterAll(() => cleanFresh());

const nftTables = () => run('nft', ['list', 'tables']).trim();

describe('the backend option', () => {
  it('legacy and auto give the legacy backend; table.backend says which', () => {
    for (const backend of ['legacy', 'auto', undefined] as const) {
      const t = new Table('filter', backend === undefined ? {} : { backend });
      open.push(t);
      expect(t.backend).toBe('legacy');
      t.chain('INPUT').appendRule(Rule.parse(`-m comment --comment ${backend ?? 'default'} -j ACCEPT`));
    }
    const t6 = new Table6('filter', { backend: 'legacy', autocommit: false });
    open.push(t6);
    expect(t6.backend).toBe('legacy');
    expect(rules('filter', 'INPUT')).toEqual(['legacy', 'auto', 'default'].map((c) => `-m comment --comment ${c} -j ACCEPT`));
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
    const unset = runFresh(body, { IPTC_BACKEND: '' });
    expect(unset.result).toMatchObject({ result: { default: 'auto', made: 'yes' } });
    const bad = runFresh(`try { iptc.Table.defaultBackend; return 'read'; } catch (e) { return e.name; }`, { IPTC_BACKEND: 'bogus' });
    expect(bad.result).toMatchObject({ result: 'TypeError' });
  });
});
