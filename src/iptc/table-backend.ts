// The seam between the object model (Table, Chain, batches, restore, iptc/easy) and the kernel. The
// object model talks to a TableBackend only; each backend binds one kernel interface: `legacy` (libiptc
// over ip_tables / ip6_tables, src/iptc/legacy-backend.ts) and, later, `nft` (nf_tables over netlink).
//
// Rules cross the seam as ipt_entry / ip6t_entry buffers (RawRule), the form libxtables builds and
// Rule.fromEntry decodes: a backend that stores rules otherwise translates at its edge, so Rule, Match,
// Target, Rule.parse and toString are the same on every backend.
//
// A TableView is a private, editable copy of one kernel table with libiptc's verbs; nothing reaches the
// kernel before commit(), which replaces the table with the view in one atomic step. What differs per
// backend is how a transaction is kept from losing another writer's change:
// - guard() wraps every read-apply-commit (legacy: holds the xtables lock; nft: nothing to hold);
// - a commit on a view the kernel has moved away from throws an error moved() recognises (legacy: EAGAIN;
//   nft: ERESTART, the generation id changed); the object model then reads a fresh view and applies its
//   changes again;
// - origin() names the kernel state a view was read from, and sameOrigin() tells whether a fresh view is
//   of the same state (legacy: the same rules byte for byte, counters aside; nft: the same generation):
//   then a batch's pending view can be committed as it is instead of re-applying its changes.
// See docs/backends.md.
import type { RawChain, RawRule } from '../xtables/libiptc.js';
import type { LockWait } from '../xtables/lock.js';
import type { Family } from '../xtables/shim.js';

export type { RawChain, RawRule };

/** The backends: `legacy` (libiptc, what iptables-legacy drives) and `nft` (nf_tables, iptables-nft). */
export type BackendName = 'legacy' | 'nft';

/** A backend, or `auto`: the one the system's `iptables` command uses. */
export type BackendChoice = BackendName | 'auto';

/**
 * How a backend lays out the entries it takes: `xtables` is libxtables' own (what ip_tables stores);
 * `nft` differs only where iptables-nft writes more than the xtables blob holds: an NFLOG prefix longer
 * than 63 characters is kept whole in a longer blob (the layout a rule read back from nf_tables has).
 */
export type EntryForm = 'xtables' | 'nft';

/** The kernel state a view was read from: opaque, compared by its backend's sameOrigin(). */
export type ViewOrigin = unknown;

/** One editable view of a kernel table. Positions are 0-based; chain and rule errors are IPTCErrors. */
export interface TableView {
  readonly family: Family;
  readonly table: string;
  /** The form of the entries it takes; absent: `xtables`. */
  readonly entryForm?: EntryForm;

  // Reading (the view, with its changes so far)
  isChain(chain: string): boolean;
  isBuiltin(chain: string): boolean;
  /** Built-in chains in hook order, then user chains, as iptables lists them. */
  chainNames(): string[];
  /** Every chain, its policy and its rules with counters, as a JS-owned copy. */
  read(): RawChain[];
  /** Rules `from` to `from + count - 1` of one chain (fewer where it ends); IPTCError ENOENT without it. */
  rules(chain: string, from?: number, count?: number): RawRule[];
  /** How many rules jump or go to a user chain. */
  references(chain: string): number;
  /** The kernel state the view was read from; ask before changing the view. */
  origin(): ViewOrigin;

  // Chains
  createChain(chain: string): void;
  deleteChain(chain: string): void;
  renameChain(oldName: string, newName: string): void;
  setPolicy(chain: string, policy: string, counters?: { packets: bigint; bytes: bigint }): void;

  // Rules, as entries whose standard target carries its label (a verdict, a chain, or '' to fall through)
  appendEntry(chain: string, entry: Buffer): void;
  /** `count` entries packed back to back; returns how many were appended before one was refused. */
  appendEntries(chain: string, entries: Buffer, count: number): number;
  /**
   * Optional (legacy): records of an AppendGroup, each appended to the chain it names, in one call;
   * returns how many were appended before one was refused. A view that has it refuses an append to a
   * chain it has, whose jump is to a user chain it has (or to none), for nothing but a lack of memory:
   * such appends can wait to be given to it together.
   */
  appendToChains?(names: Buffer, records: Buffer, count: number): number;
  /** Appends a rule as read from a view (its label made the standard target's name again). */
  appendRule(chain: string, rule: RawRule): void;
  insertEntry(chain: string, entry: Buffer, position: number): void;
  replaceEntry(chain: string, entry: Buffer, position: number): void;
  /** Deletes the first rule equal to `entry` over the bytes `mask` covers (`iptables -D RULE`). */
  deleteEntry(chain: string, entry: Buffer, mask: Buffer): void;
  checkEntry(chain: string, entry: Buffer, mask: Buffer): boolean;
  deleteNumEntry(chain: string, position: number): void;
  flushEntries(chain: string): void;
  zeroEntries(chain: string): void;

  /**
   * Optional: called by a restore without --noflush once it has emptied the view, when the backend's own
   * restore replaces the table whole (nft: deleted and rebuilt in the commit, as iptables-nft-restore).
   */
  replaceTable?(): void;

  /** Replaces the kernel table with the view, atomically. The view is spent afterwards. */
  commit(): void;
  /**
   * After commit(): the kernel state the commit itself made, where another writer may have come in
   * before it can be read (nft: the generation the transaction produced; no lock keeps iptables-nft out).
   * Without it (legacy, whose lock is still held) the object model reads the state after the commit.
   */
  committedOrigin?(): ViewOrigin;
  /** Releases what the view holds (memory, sockets). Safe to call twice. */
  free(): void;
}

/**
 * The edits a restore block makes and the reads its positions need: what every TableView offers, and an
 * in-memory table (`iptc restore --test` of a table not in use) too.
 */
export type TableEdits = Pick<
  TableView,
  | 'family' | 'table' | 'entryForm' | 'chainNames' | 'isChain' | 'isBuiltin' | 'rules' | 'references' | 'appendEntry'
  | 'appendEntries' | 'insertEntry' | 'replaceEntry' | 'deleteEntry' | 'deleteNumEntry' | 'flushEntries'
  | 'zeroEntries' | 'createChain' | 'deleteChain' | 'renameChain' | 'setPolicy' | 'replaceTable'
>;

export interface TableBackend {
  readonly name: BackendName;
  /** The form of the entries its views take. */
  readonly entryForm: EntryForm;
  /**
   * Reads a fresh view of a kernel table. A table that does not exist yet may be created by this (legacy
   * creates a built-in table when it is first read): to look without creating, check tables() first.
   */
  open(family: Family, table: string): TableView;
  /**
   * Optional: the chains and rules of a kernel table, to read only: what open(...).read() gives, without
   * a view that could take changes (legacy: no libiptc handle and its copy of every rule). Creates a
   * table as open() does.
   */
  read?(family: Family, table: string): RawChain[];
  /**
   * Runs `fn`, one read-apply-commit, so that no other writer's change is lost: legacy holds the
   * xtables lock, waiting as `wait` says (XTablesLockError, thrown before `fn` runs, when it stays
   * busy); nft needs no lock (its commit names the generation it was read from).
   */
  guard<T>(wait: LockWait, fn: () => T): T;
  /** Whether a commit failed only because the kernel table moved since the view was read. */
  moved(error: unknown): boolean;
  /** Whether two views were read from the same kernel state (see origin()). */
  sameOrigin(a: ViewOrigin, b: ViewOrigin): boolean;
  /** The tables of a family that exist in the kernel; reads only. */
  tables(family: Family): string[];
  /** Whether the kernel offers table `name` (a known table may not exist yet); creates nothing. */
  isAvailable(family: Family, name: string): boolean;
  /** Called for each Table made on this backend (a backend may warn, once per process). */
  announce(): void;
  /**
   * Optional: commits views of several tables as ONE kernel transaction, all or nothing (nft: one
   * nf_tables batch). Throws what commit() throws; moved() tells a stale one. Without it, Table.commitAll
   * commits table by table and puts back the tables committed before a refused one.
   */
  commitTogether?(views: TableView[]): void;
}
