// How a table's changes reach the kernel: one transaction per change (autocommit), or a batch whose
// changes are applied at once to a private pending copy (so that a bad change throws at once and reads
// show it) and recorded, to be applied again to a fresh view at commit(). Both hold the xtables lock from
// reading the view they commit to the commit. See docs/concurrency.md.
import { IPTCError } from '../xtables/errors.js';
import type { LockWait } from '../xtables/lock.js';
import { AppendGroup } from './append-group.js';
import { EntryRun } from './entry-run.js';
import type { RawChain, TableBackend, TableView, ViewOrigin } from './table-backend.js';
import { EntryArena } from './packed.js';
import { checkJumpLabel } from './chain.js';

/** The names a built-in chain can have, in any table. */
const BUILTIN_NAMES = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

/** A change to a view; self-contained, so that it can be applied again to a fresh view. */
export type Change<T = unknown> = (view: TableView) => T;

/**
 * How long a commit refused because the table moved (legacy EAGAIN, nft ERESTART) keeps being tried on
 * fresh reads. On nf_tables nobody takes a lock (iptables-nft retries without end): with 4 iptc
 * processes and an iptables-nft loop in one table, a batch commit measurably lost to newer generations
 * more than 50 times in a row (test/concurrency.test.ts on nft, IPTC_STRESS=1).
 */
const MOVED_BUDGET_MS = 30_000;
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Whether to try again after the table moved under attempt `attempt` (started at `since`): while within
 * the budget, after a short random pause that grows with the attempts (up to 20 ms), so that writers
 * that keep meeting each other stop doing so in lockstep.
 */
function againAfterMove(attempt: number, since: number): boolean {
  if (performance.now() - since > MOVED_BUDGET_MS) return false;
  Atomics.wait(pauseCell, 0, 0, Math.random() * Math.min(20, attempt));
  return true;
}

/**
 * Runs `change` on a fresh view and commits it, guarded by the backend from the read to the commit
 * (legacy: under the xtables lock). A commit refused because the table moved meanwhile (a writer that
 * takes no lock) retries on a new view.
 */
export function transaction<T>(backend: TableBackend, wait: LockWait, open: () => TableView, change: Change<T>): T {
  return backend.guard(wait, () => {
    const since = performance.now();
    for (let attempt = 1; ; attempt++) {
      const view = open();
      try {
        const result = change(view);
        view.commit();
        return result;
      } catch (e) {
        if (!(backend.moved(e) && againAfterMove(attempt, since))) throw e;
      } finally {
        view.free();
      }
    }
  });
}

/** A batch's table made ready to commit, under the guard. */
interface Staged {
  batch: Batch;
  /** The kernel table plus the changes: a fresh view, or the batch's copy (freed with the batch). */
  view: TableView;
  /** What the kernel table held, kept when a later table's failure may need it put back. */
  before: RawChain[] | null;
}

/** The changes of a table without autocommit, and the pending copy they are applied to. */
export class Batch {
  readonly #backend: TableBackend;
  readonly #open: () => TableView;
  /** A view of the kernel table plus every recorded change; null until needed or after a refused change. */
  #copy: TableView | null = null;
  /** The kernel state the copy was read from; undefined while there is no copy. */
  #base: ViewOrigin | undefined;
  #changes: Change[] = [];
  /** The last change when it appends or deletes rules of one chain: the next such change joins it. */
  #run: EntryRun | null = null;
  /** The last change when it appends rules to chains of a view that takes them together: the next append joins it. */
  #group: AppendGroup | null = null;
  /** Every group of #changes, released when the changes are dropped. */
  #groups: AppendGroup[] = [];
  /** The user chains rules were found jumping to since the last other change (see applyEntry). */
  readonly #jumpsChecked = new Set<string>();
  /** Where the runs keep their entries, one run after another. */
  #arena = new EntryArena();

  constructor(backend: TableBackend, open: () => TableView) {
    this.#backend = backend;
    this.#open = open;
  }

  /** Whether changes wait for commit(). */
  get pending(): boolean {
    return this.#changes.length > 0;
  }

  /** Whether the copy is open: reading it costs no read of the kernel. */
  get hasCopy(): boolean {
    return this.#copy !== null;
  }

  /** The pending copy: opened (or rebuilt after a refused change) as a fresh view plus the changes. */
  copy(): TableView {
    const view = this.#current();
    this.#applyHeld(view);
    return view;
  }

  /**
   * Whether the pending copy has the chain: held appends change no chain, so they are not given to it
   * for this (a batch that asks for each chain before appending to it keeps them waiting together).
   */
  copyHasChain(name: string): boolean {
    return this.#current().isChain(name);
  }

  /** The copy, without the appends the run holds back (see applyEntry). */
  #current(): TableView {
    if (this.#copy) return this.#copy;
    const view = this.#open();
    try {
      this.#base = view.origin();
      for (const change of this.#changes) change(view);
    } catch (e) {
      view.free();
      throw e;
    }
    this.#run?.releaseHeld();
    this.#group?.releaseHeld();
    this.#copy = view;
    return view;
  }

  /** Gives the copy the appends the run held back; if libiptc refuses one, the copy is made anew when next needed. */
  #applyHeld(view: TableView): void {
    try {
      this.#run?.applyHeld(view);
      this.#group?.applyHeld(view);
    } catch (e) {
      this.#dropCopy();
      throw e;
    }
  }

  /** Applies a change to the copy and records it. A change that throws is not recorded. */
  apply<T>(change: Change<T>): T {
    const view = this.copy();
    try {
      const result = change(view);
      this.#changes.push(change);
      this.#run = null;
      this.#group = null;
      this.#jumpsChecked.clear();
      return result;
    } catch (e) {
      // The change may have got half way (a restore text, a flush then delete); rebuild the copy
      // from the recorded changes when next needed.
      this.#dropCopy();
      throw e;
    }
  }

  /**
   * Appends an entry to a chain, or deletes the first rule equal to it under its mask, on the copy; a run
   * of such changes to one chain is recorded as one change holding the entries packed. `encode` runs
   * once the copy is ready (rebuilding it may encode rules) and may return a shared scratch buffer:
   * it is copied into the run at once.
   */
  applyEntry(op: 'append' | 'delete', chain: string, jump: string | null,
    encode: () => { entry: Buffer; mask: Buffer | null }): void {
    const view = this.#current();
    const { entry, mask } = encode();
    // Only a change other than rule appends and deletes can delete a chain: jumps checked since hold.
    if (jump !== null && !this.#jumpsChecked.has(jump)) {
      checkJumpLabel(view, jump);
      this.#jumpsChecked.add(jump);
    }
    if (op === 'append' && view.appendToChains !== undefined && this.#holds(view, chain, jump)) {
      // libiptc refuses such an append for nothing but a lack of memory: it waits, with the appends
      // before and after it to any chain, to be given to the copy in one call.
      let group = this.#group;
      if (group === null) {
        this.#applyHeld(view);
        const started = new AppendGroup(view.family);
        this.#changes.push((h) => started.apply(h));
        this.#groups.push(started);
        this.#run = null;
        this.#group = group = started;
      }
      group.add(chain, entry, jump);
      return;
    }
    let run = this.#run;
    if (op === 'append' && run !== null && run.op === 'append' && run.chain === chain) {
      // A later append of a run: its chain took the run's first, and libiptc refuses an append for
      // nothing else that can happen meanwhile. libiptc gets it with the run's other held appends before
      // anything reads or changes the copy.
      run.add(entry, mask, jump, true);
      return;
    }
    this.#applyHeld(view);
    // A view changes nothing when it refuses a single append or delete: the copy stays valid.
    EntryRun.applyOne(view, op, chain, entry, mask, null);
    if (!run || run.op !== op || run.chain !== chain) {
      const started = new EntryRun(view.family, op, chain, this.#arena);
      this.#changes.push((h) => started.apply(h));
      this.#run = run = started;
      this.#group = null;
    }
    run.add(entry, mask, jump);
  }

  /**
   * Whether an append to `chain` jumping to `jump` (checked) can wait: the copy has the chain, and the
   * jump, if any, is to a user chain (libiptc refuses a jump to a built-in chain, EINVAL, when it takes
   * the entry: such an append is given to it at once, which says so).
   */
  #holds(view: TableView, chain: string, jump: string | null): boolean {
    if (jump !== null && BUILTIN_NAMES.has(jump) && view.isBuiltin(jump)) return false;
    // A chain the group appends to stays: any other change ends the group.
    return this.#group?.has(chain) === true || view.isChain(chain);
  }

  /**
   * Commits the changes in one atomic replace of the kernel table, guarded by the backend (legacy: under
   * the lock): the copy as it is while the kernel still holds the state it was read from, else the
   * changes applied again to a fresh view. If the guard fails before anything is tried (a busy lock:
   * XTablesLockError), the batch stays for another commit(); on any other error the kernel is as it was
   * and the batch is dropped.
   */
  commit(wait: LockWait): void {
    Batch.commitAll([this], wait);
  }

  /**
   * Commits several tables' batches (of one backend) as one, all or nothing. One guard covers the first
   * read to the last commit (legacy: the lock is held across the tables, as iptables-restore holds it
   * across the tables of its input), so that no writer that takes it comes in between. Every table is
   * made ready (a fresh view with its changes) before any is committed: a change that no longer applies
   * fails with nothing committed. If the kernel refuses a later table, each table committed before it is
   * put back as it was, only while it still holds exactly what this commit made of it: putting back
   * never removes what it did not add. If the guard fails before anything is tried, the batches stay for
   * another commit; otherwise they are dropped.
   */
  static commitAll(batches: readonly Batch[], wait: LockWait): void {
    const pending = batches.filter((b) => b.pending);
    const first = pending[0];
    const backend = first === undefined ? undefined : first.#backend;
    if (pending.some((b) => b.#backend !== backend)) {
      throw new TypeError('tables of different backends cannot be committed as one');
    }
    let tried = false;
    try {
      if (backend) {
        backend.guard(wait, () => {
          tried = true;
          Batch.#commitGuarded(pending);
        });
      }
    } finally {
      if (tried || !backend) for (const b of batches) b.discard();
    }
  }

  static #commitGuarded(batches: readonly Batch[]): void {
    const backend = batches.length > 1 ? batches[0]!.#backend : undefined;
    if (backend?.commitTogether) {
      Batch.#commitTogether(backend, batches);
      return;
    }
    const last = batches.length - 1;
    const staged: Staged[] = [];
    /** Tables committed so far (all but the last), with the kernel state each commit left. */
    const committed: { staged: Staged; after: ViewOrigin }[] = [];
    try {
      for (const [i, batch] of batches.entries()) staged.push(batch.#stage(true, i < last));
      try {
        for (const [i, s] of staged.entries()) {
          s.batch.#commitStaged(s);
          if (i < last) committed.push({ staged: s, after: s.view.committedOrigin?.() ?? s.batch.#kernelOrigin() });
        }
      } catch (e) {
        const problems: string[] = [];
        for (const { staged: s, after } of committed.reverse()) {
          try {
            s.batch.#putBack(s.before!, after);
          } catch (re) {
            problems.push((re as Error).message);
          }
        }
        if (problems.length > 0 && e instanceof Error) {
          e.message += `; and putting back the tables committed before it failed: ${problems.join('; ')}`;
        }
        throw e;
      }
    } finally {
      for (const s of staged) s.batch.#release(s);
    }
  }

  /**
   * Commits several tables in one kernel transaction (the backend's commitTogether): nothing to put
   * back, since the kernel applies all of them or none. A transaction refused because the ruleset moved
   * is staged again on fresh views (every change applied again) and retried.
   */
  static #commitTogether(backend: TableBackend, batches: readonly Batch[]): void {
    const since = performance.now();
    for (let attempt = 1; ; attempt++) {
      const staged: Staged[] = [];
      try {
        for (const batch of batches) staged.push(batch.#stage(attempt === 1, false));
        backend.commitTogether!(staged.map((s) => s.view));
        return;
      } catch (e) {
        if (!(backend.moved(e) && againAfterMove(attempt, since))) throw e;
      } finally {
        for (const s of staged) s.batch.#release(s);
      }
    }
  }

  /**
   * Under the guard: the view to commit, and with `keepBefore` what the kernel table holds. While the
   * kernel still holds the state the copy was read from (legacy: its rules, counters aside, which libiptc
   * carries over), committing the copy is the same as applying the changes again, and saves doing so.
   */
  #stage(useCopy: boolean, keepBefore: boolean): Staged {
    if (useCopy && this.#copy) {
      try {
        this.#applyHeld(this.#copy);
      } catch {
        // The copy is gone; the changes are applied again to a fresh view below.
      }
    }
    const fresh = this.#open();
    try {
      const before = keepBefore ? fresh.read() : null;
      if (useCopy && this.#copy && this.#backend.sameOrigin(fresh.origin(), this.#base)) {
        fresh.free();
        return { batch: this, view: this.#copy, before };
      }
      for (const change of this.#changes) change(fresh);
      return { batch: this, view: fresh, before };
    } catch (e) {
      fresh.free();
      throw e;
    }
  }

  #release(staged: Staged): void {
    if (staged.view !== this.#copy) staged.view.free();
  }

  /** Commits a staged table; a table that moved meanwhile is staged again on a fresh view. */
  #commitStaged(staged: Staged): void {
    const since = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        staged.view.commit();
        return;
      } catch (e) {
        if (!(this.#backend.moved(e) && againAfterMove(attempt, since))) throw e;
      }
      this.#release(staged);
      const again = this.#stage(false, staged.before !== null);
      staged.view = again.view;
      staged.before = again.before;
    }
  }

  /** The state the kernel table is in now. */
  #kernelOrigin(): ViewOrigin {
    const fresh = this.#open();
    try {
      return fresh.origin();
    } finally {
      fresh.free();
    }
  }

  /**
   * Puts the kernel table back to `before`, only while it is still in the state `after` (what the commit
   * made of it): then nobody else changed it, and nothing but this batch's changes is undone. Counters
   * go back to their values in `before`.
   */
  #putBack(before: RawChain[], after: ViewOrigin): void {
    const since = performance.now();
    for (let attempt = 1; ; attempt++) {
      const fresh = this.#open();
      try {
        if (!this.#backend.sameOrigin(fresh.origin(), after)) {
          throw new IPTCError(
            `table \`${fresh.table}' was changed after this commit by a writer that does not wait for it; ` +
              'it is left as committed',
          );
        }
        const names = fresh.chainNames();
        for (const name of names) fresh.flushEntries(name);
        for (const name of names) if (!fresh.isBuiltin(name)) fresh.deleteChain(name);
        for (const chain of before) if (!chain.builtin) fresh.createChain(chain.name);
        for (const chain of before) {
          if (chain.policy) fresh.setPolicy(chain.name, chain.policy.name, chain.policy);
          for (const rule of chain.rules) fresh.appendRule(chain.name, rule);
        }
        fresh.commit();
        return;
      } catch (e) {
        if (!(this.#backend.moved(e) && againAfterMove(attempt, since))) throw e;
      } finally {
        fresh.free();
      }
    }
  }

  /** Drops the changes and the copy. */
  discard(): void {
    this.#dropCopy();
    this.#changes = [];
    this.#run = null;
    this.#group = null;
    for (const group of this.#groups) group.release();
    this.#groups = [];
    this.#arena = new EntryArena();
  }

  #dropCopy(): void {
    this.#copy?.free();
    this.#copy = null;
    this.#base = undefined;
    this.#jumpsChecked.clear();
  }
}
