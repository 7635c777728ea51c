// Which Table an easy call works on: a fresh view of the kernel outside a batch, the batch's own
// uncommitted copy inside one.
import { IPTCError, Table, Table6 } from '../iptc/index.js';
import { backendFor } from '../iptc/backend-choice.js';
import type { BackendName } from '../iptc/table-backend.js';

export type Family = 4 | 6;

/** Where an easy call works: a family's tables on one backend. */
export interface Scope {
  family: Family;
  backend: BackendName;
}

const ENOENT = 2;

function key({ family, backend }: Scope, name: string): string {
  return `${backend}\0${family}\0${name}`;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new TypeError(`a table name must be a non-empty string, got ${String(name)}`);
  return name;
}

function open({ family, backend }: Scope, name: string, autocommit: boolean): Table {
  return family === 6 ? new Table6(name, { autocommit, backend }) : new Table(name, { autocommit, backend });
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

function batchTable(scope: Scope, name: string): Table {
  const k = key(scope, name);
  let t = batch!.tables.get(k);
  if (!t) {
    t = open(scope, name, false);
    batch!.tables.set(k, t);
  }
  return t;
}

function view(scope: Scope, name: string): Table {
  const k = key(scope, name);
  let t = views.get(k);
  if (!t) {
    t = open(scope, name, true);
    views.set(k, t);
  }
  return t;
}

/**
 * A table to read from: the kernel table as it is now, or inside a batch the batch's copy (which shows
 * the batch's uncommitted changes).
 */
export function readTable(scope: Scope, name: string): Table {
  checkName(name);
  if (batch) return batchTable(scope, name);
  const t = view(scope, name);
  t.refresh();
  return t;
}

/** A table to change: autocommitted at once, or inside a batch collected until batchEnd(). */
export function writeTable(scope: Scope, name: string): Table {
  checkName(name);
  if (batch) {
    const t = batchTable(scope, name);
    batch.dirty.add(key(scope, name));
    return t;
  }
  return view(scope, name);
}

/** Runs `fn` on a table with autocommit off and commits once; nothing is committed if it throws. */
export function transaction<T>(scope: Scope, name: string, fn: (t: Table) => T): T {
  checkName(name);
  if (batch) return fn(writeTable(scope, name));
  const t = open(scope, name, false);
  try {
    const result = fn(t);
    t.commit();
    return result;
  } finally {
    t.close();
  }
}

export function beginBatch(tables: { scope: Scope; name: string }[]): void {
  batch ??= { tables: new Map(), dirty: new Set() };
  for (const { scope, name } of tables) batchTable(scope, checkName(name));
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

/** The tables that exist on the scope's backend (others are empty: flushing or zeroing them is a no-op). */
export function liveTables({ family, backend }: Scope): string[] {
  return backendFor(backend).tables(family);
}

export function noChain(table: Table, chain: string): IPTCError {
  return new IPTCError(`Table <${table.name}> has no chain <${chain}>`, ENOENT);
}
