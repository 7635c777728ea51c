// Which Table an easy call works on: a fresh view of the kernel outside a batch, the batch's own
// uncommitted copy inside one.
import { IPTCError, Table, Table6, type Rule } from '../iptc/index.js';
import { instantiatedTables } from '../iptc/backend.js';

export type Family = 4 | 6;

const ENOENT = 2;

function key(family: Family, name: string): string {
  return `${family}\0${name}`;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new TypeError(`a table name must be a non-empty string, got ${String(name)}`);
  return name;
}

function open(family: Family, name: string, autocommit: boolean): Table {
  return family === 6 ? new Table6(name, { autocommit }) : new Table(name, { autocommit });
}

/**
 * Autocommit tables reused outside batches. Their snapshots are never trusted: reads refresh() first
 * (one read of the kernel table), changes go through edit() on a fresh copy of the kernel table and are
 * committed at once. So nothing kept here can go stale; it only saves re-validating the table name.
 */
const views = new Map<string, Table>();

interface Batch {
  tables: Map<string, Table>;
  /** Tables changed during the batch, in the order they were first changed. */
  dirty: Set<string>;
}

let batch: Batch | null = null;

export function inBatch(): boolean {
  return batch !== null;
}

function batchTable(family: Family, name: string): Table {
  const k = key(family, name);
  let t = batch!.tables.get(k);
  if (!t) {
    t = open(family, name, false);
    batch!.tables.set(k, t);
  }
  return t;
}

function view(family: Family, name: string): Table {
  const k = key(family, name);
  let t = views.get(k);
  if (!t) {
    t = open(family, name, true);
    views.set(k, t);
  }
  return t;
}

/**
 * A table to read from: the kernel table as it is now, or inside a batch the batch's copy (which shows
 * the batch's uncommitted changes).
 */
export function readTable(family: Family, name: string): Table {
  checkName(name);
  if (batch) return batchTable(family, name);
  const t = view(family, name);
  t.refresh();
  return t;
}

/** A table to change: autocommitted at once, or inside a batch collected until batchEnd(). */
export function writeTable(family: Family, name: string): Table {
  checkName(name);
  if (batch) {
    const t = batchTable(family, name);
    batch.dirty.add(key(family, name));
    return t;
  }
  return view(family, name);
}

/** Runs `fn` on a table with autocommit off and commits once; nothing is committed if it throws. */
export function transaction<T>(family: Family, name: string, fn: (t: Table) => T): T {
  checkName(name);
  if (batch) return fn(writeTable(family, name));
  const t = open(family, name, false);
  try {
    const result = fn(t);
    t.commit();
    return result;
  } finally {
    t.close();
  }
}

export function beginBatch(tables: { family: Family; name: string }[]): void {
  batch ??= { tables: new Map(), dirty: new Set() };
  for (const { family, name } of tables) batchTable(family, checkName(name));
}

/** The whole content of a kernel table, to put it back if a later commit of the same batch fails. */
interface Backup {
  family: Family;
  name: string;
  chains: { name: string; builtin: boolean; policy: { name: string; packets: bigint; bytes: bigint } | null; rules: Rule[] }[];
}

function backup(family: Family, name: string): Backup {
  const t = open(family, name, true);
  try {
    const chains = t.chains.map((c) => {
      const raw = t.rawChain(c.name);
      return { name: c.name, builtin: raw.builtin, policy: raw.policy, rules: c.rules };
    });
    return { family, name, chains };
  } finally {
    t.close();
  }
}

/** Replaces a kernel table with a backup, in one commit (counters included). */
function restore(b: Backup): void {
  const t = open(b.family, b.name, false);
  try {
    t.edit((h) => {
      const existing = h.chainNames();
      for (const c of existing) h.flushEntries(c);
      for (const c of existing) if (!h.isBuiltin(c)) h.deleteChain(c);
      for (const c of b.chains) if (!c.builtin) h.createChain(c.name);
      for (const c of b.chains) {
        if (c.policy) h.setPolicy(c.name, c.policy.name, { packets: c.policy.packets, bytes: c.policy.bytes });
        for (const r of c.rules) h.appendEntry(c.name, r.toEntry());
      }
    });
    t.commit();
  } finally {
    t.close();
  }
}

/**
 * Commits every table changed in the batch and ends it. If a commit fails, the tables of the batch
 * already committed are put back as they were, the rest is dropped, and the error is thrown: the
 * kernel is left as before the batch.
 */
export function endBatch(): void {
  const b = batch;
  if (!b) return;
  batch = null;
  const order = [...b.dirty].map((k) => b.tables.get(k)!);
  const committed: Backup[] = [];
  try {
    for (const [i, t] of order.entries()) {
      // A backup is needed only if a later commit may fail after this one succeeded.
      const saved = i < order.length - 1 ? backup(t.family, t.name) : null;
      t.commit();
      if (saved) committed.push(saved);
    }
  } catch (e) {
    const problems: string[] = [];
    for (const d of committed.reverse()) {
      try {
        restore(d);
      } catch (re) {
        problems.push(`${d.name} (IPv${d.family}): ${(re as Error).message}`);
      }
    }
    if (problems.length > 0 && e instanceof Error) {
      e.message += `; and putting back tables committed earlier in the batch failed: ${problems.join('; ')}`;
    }
    throw e;
  } finally {
    for (const t of b.tables.values()) t.close();
  }
}

/** Ends a batch without committing anything. */
export function abortBatch(): void {
  const b = batch;
  batch = null;
  if (b) for (const t of b.tables.values()) t.close();
}

/** The tables the kernel has instantiated (others are empty: flushing or zeroing them is a no-op). */
export function liveTables(family: Family): string[] {
  return instantiatedTables(family);
}

export function noChain(table: Table, chain: string): IPTCError {
  return new IPTCError(`Table <${table.name}> has no chain <${chain}>`, ENOENT);
}
