// python-iptables' easy calls on tables and chains: list, create, delete, flush, zero, policies.
import { Chain, IPTCError, Table, Table6 } from '../iptc/index.js';
import { backendFor } from '../iptc/backend-choice.js';
import { checkChain, guarded, opts, scopeOf, type RaiseOptions } from './arguments.js';
import type { EasyOptions } from './dict.js';
import { liveTables, noChain, readTable, writeTable } from './tables.js';

/** Options of deleteChain (python: `delete_chain(..., flush=False, raise_exc=True)`). */
export interface DeleteChainOptions extends RaiseOptions {
  /** Flush the chain first. */
  flush?: boolean;
}

/**
 * The tables this kernel offers (python: `get_tables(ipv6=False)`), without instantiating any.
 */
export function getTables(options?: EasyOptions): string[] {
  const o = opts(options);
  const { family, backend } = scopeOf(o);
  const all = family === 6 ? Table6.ALL : Table.ALL;
  return all.filter((name) => backendFor(backend).isAvailable(family, name));
}

/** The chains of a table, built-in ones first, as iptables lists them (python: `get_chains`). */
export function getChains(table: string, options?: EasyOptions): string[] {
  const o = opts(options);
  return readTable(scopeOf(o), table).chains.map((c) => c.name);
}

/** Whether `chain` exists in `table` (python: `has_chain`). */
export function hasChain(table: string, chain: string, options?: EasyOptions): boolean {
  const o = opts(options);
  return readTable(scopeOf(o), table).isChain(checkChain(chain));
}

/**
 * Creates a user chain; true on success (python: `add_chain`). With `raiseExc: false`, false instead
 * of an error (e.g. the chain exists).
 */
export function addChain(table: string, chain: string, options?: RaiseOptions): boolean {
  const o = opts(options);
  return guarded(o, false, () => {
    writeTable(scopeOf(o), table).createChain(checkChain(chain));
    return true;
  });
}

/**
 * Deletes a user chain (python: `delete_chain`); `flush: true` empties it first, in the same commit.
 * Equivalent to: `iptables -t TABLE [-F CHAIN] -X CHAIN`
 */
export function deleteChain(table: string, chain: string, options?: DeleteChainOptions): void {
  const o = opts(options);
  guarded(o, undefined, () => {
    const name = checkChain(chain);
    const t = writeTable(scopeOf(o), table);
    t.edit((h) => {
      if (!h.isChain(name)) throw noChain(t, name);
      if (h.isBuiltin(name)) throw new IPTCError(`cannot delete built-in chain \`${name}'`, 1);
      if (o.flush === true) h.flushEntries(name);
      h.deleteChain(name);
    });
  });
}

/** Flushes every chain of every table of the family and deletes user chains (python: `flush_all`). */
export function flushAll(options?: EasyOptions): void {
  const o = opts(options);
  const live = liveTables(scopeOf(o));
  // A table the kernel has not instantiated is empty: flushing it would only instantiate it.
  for (const name of getTables(o)) if (live.includes(name)) flushTable(name, o);
}

/** Flushes every chain of a table and deletes its user chains, in one commit (python: `flush_table`). */
export function flushTable(table: string, options?: RaiseOptions): void {
  const o = opts(options);
  guarded(o, undefined, () => writeTable(scopeOf(o), table).flush());
}

/** Deletes every rule of a chain (python: `flush_chain`). Equivalent to: `iptables -F CHAIN` */
export function flushChain(table: string, chain: string, options?: RaiseOptions): void {
  const o = opts(options);
  guarded(o, undefined, () => new Chain(writeTable(scopeOf(o), table), checkChain(chain)).flush());
}

/**
 * Zeroes the counters of every table of the family (python: `zero_all`, which takes an unused table
 * argument: accepted and ignored here too).
 */
export function zeroAll(options?: EasyOptions): void;
export function zeroAll(table: string | null | undefined, options?: EasyOptions): void;
export function zeroAll(first?: string | null | EasyOptions, second?: EasyOptions): void {
  const o = opts(typeof first === 'object' && first !== null ? first : second);
  const live = liveTables(scopeOf(o));
  for (const name of getTables(o)) if (live.includes(name)) zeroTable(name, o);
}

/** Zeroes the counters of every chain of a table, rules and policies (python: `zero_table`). */
export function zeroTable(table: string, options?: EasyOptions): void {
  const o = opts(options);
  writeTable(scopeOf(o), table).zeroEntries();
}

/** Zeroes the counters of a chain's rules and policy (python: `zero_chain`). Equivalent to: `iptables -Z CHAIN` */
export function zeroChain(table: string, chain: string, options?: EasyOptions): void {
  const o = opts(options);
  const name = checkChain(chain);
  const t = writeTable(scopeOf(o), table);
  t.edit((h) => {
    if (!h.isChain(name)) throw noChain(t, name);
    h.zeroEntries(name);
  });
}

/** The policy of a built-in chain, e.g. 'ACCEPT'; null for a user chain (python: `get_policy`). */
export function getPolicy(table: string, chain: string, options?: EasyOptions): string | null {
  const o = opts(options);
  const t = readTable(scopeOf(o), table);
  const name = checkChain(chain);
  if (!t.isChain(name)) throw noChain(t, name);
  return t.chain(name).getPolicy()?.name ?? null;
}

/** Sets the policy of a built-in chain (python: `set_policy`, default 'ACCEPT'). Equivalent to: `iptables -P` */
export function setPolicy(table: string, chain: string, options?: EasyOptions): void;
export function setPolicy(table: string, chain: string, policy: string, options?: EasyOptions): void;
export function setPolicy(table: string, chain: string, third?: string | EasyOptions, fourth?: EasyOptions): void {
  const policy = typeof third === 'string' ? third : 'ACCEPT';
  const o = opts(typeof third === 'object' ? third : fourth);
  new Chain(writeTable(scopeOf(o), table), checkChain(chain)).setPolicy(policy);
}
