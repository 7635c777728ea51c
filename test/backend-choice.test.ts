// Choosing a backend: the `backend` option, Table.defaultBackend and $IPTC_BACKEND. This iptc has the
// legacy backend only: `auto` resolves to it, and `nft` is refused with a typed error that reads and
// changes nothing (no nftables table appears, no legacy table changes).
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, IPTCError, Rule, Table, Table6, restoreAll, saveAll } from '../src/iptc/index.js';
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

  it("'nft' throws BackendUnavailableError (an IPTCError, ENOSYS) and touches nothing", () => {
    const before = save();
    const nftBefore = nftTables();
    for (const make of [() => new Table('filter', { backend: 'nft' }), () => new Table6('nat', { backend: 'nft', autocommit: false })]) {
      const err = thrown(make);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err).toBeInstanceOf(IPTCError);
      expect(err).toMatchObject({ backend: 'nft', code: 'ENOSYS' });
      expect((err as Error).message).toMatch(/nf_tables backend .* is not available/);
    }
    expect(thrown(() => saveAll({ backend: 'nft' }))).toBeInstanceOf(BackendUnavailableError);
    expect(thrown(() => restoreAll('*filter\n-A INPUT -j DROP\nCOMMIT\n', { backend: 'nft' }))).toBeInstanceOf(BackendUnavailableError);
    expect(save()).toBe(before);
    expect(nftTables()).toBe(nftBefore);
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
    expect(thrown(() => new Table('filter'))).toBeInstanceOf(BackendUnavailableError);
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
    expect(nft.result).toMatchObject({ result: { default: 'nft', made: 'IPTCError:ENOSYS', explicit: 'legacy' } });
    const legacy = runFresh(body, { IPTC_BACKEND: 'legacy' });
    expect(legacy.result).toMatchObject({ result: { default: 'legacy', made: 'yes', explicit: 'legacy' } });
    const unset = runFresh(body, { IPTC_BACKEND: '' });
    expect(unset.result).toMatchObject({ result: { default: 'auto', made: 'yes' } });
    const bad = runFresh(`try { iptc.Table.defaultBackend; return 'read'; } catch (e) { return e.name; }`, { IPTC_BACKEND: 'bogus' });
    expect(bad.result).toMatchObject({ result: 'TypeError' });
  });
});
