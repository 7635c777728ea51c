// Which Table an easy call works on: a fresh view of the kernel outside a batch, the batch's own
// uncommitted copy inside one.
import { IPTCError, Table, Table6 } from '../iptc/index.js';
import { backendFor, defaultBackend } from '../iptc/backend-choice.js';

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

/**
 * Commits every table changed in the batch, all or nothing, and ends the batch (see Table.commitAll):
 * under one hold of the xtables lock, so no other writer comes in between; if the kernel refuses a
 * table, the tables committed before it are put back, which never removes another program's rule. The
 * batch ends either way; the error is thrown.
 */
export function endBatch(): void {
  const b = batch;
  if (!b) return;
  batch = null;
  try {
    Table.commitAll([...b.dirty].map((k) => b.tables.get(k)!));
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
  return backendFor(defaultBackend()).tables(family);
}

export function noChain(table: Table, chain: string): IPTCError {
  return new IPTCError(`Table <${table.name}> has no chain <${chain}>`, ENOENT);
}
