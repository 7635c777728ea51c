// How a table's changes reach the kernel: one transaction per change (autocommit), or a batch whose
// changes are applied at once to a private pending copy (so that a bad change throws at once and reads
// show it) and recorded, to be applied again to a fresh view at commit(). Both hold the xtables lock from
// reading the view they commit to the commit. See docs/concurrency.md.
import { IPTCError } from '../xtables/errors.js';
import type { RawChain, TableHandle } from '../xtables/libiptc.js';
import { withXtablesLock, XTablesLockError, type LockWait } from '../xtables/lock.js';
import type { Family } from '../xtables/shim.js';
import { EntryRun } from './entry-run.js';

/** A change to a libiptc handle; self-contained, so that it can be applied again to a fresh view. */
export type Change<T = unknown> = (handle: TableHandle) => T;

const EAGAIN = 11;
const COMMIT_RETRIES = 5;

/** Whether a commit failed only because a writer that takes no lock committed in between. */
function retryable(e: unknown, attempt: number): boolean {
  return e instanceof IPTCError && e.errno === EAGAIN && attempt < COMMIT_RETRIES;
}

/**
 * Runs `change` on a fresh view and commits it, holding the xtables lock from the read to the commit.
 * EAGAIN (a writer that takes no lock committed in between) retries on a new view.
 */
export function transaction<T>(wait: LockWait, open: () => TableHandle, change: Change<T>): T {
  return withXtablesLock(wait, () => {
    for (let attempt = 1; ; attempt++) {
      const handle = open();
      try {
        const result = change(handle);
        handle.commit();
        return result;
      } catch (e) {
        if (!retryable(e, attempt)) throw e;
      } finally {
        handle.free();
      }
    }
  });
}

/** A batch's table made ready to commit, under the lock. */
interface Staged {
  batch: Batch;
  /** The kernel table plus the changes: a fresh view, or the batch's copy (freed with the batch). */
  handle: TableHandle;
  /** What the kernel table held, kept when a later table's failure may need it put back. */
  before: RawChain[] | null;
}

/** The changes of a table without autocommit, and the pending copy they are applied to. */
export class Batch {
  readonly #family: Family;
  readonly #open: () => TableHandle;
  /** A view of the kernel table plus every recorded change; null until needed or after a refused change. */
  #copy: TableHandle | null = null;
  /** The rules (without counters) of the view the copy was read from. */
  #base: Buffer | null = null;
  #changes: Change[] = [];
  /** The last change when it appends or deletes rules of one chain: the next such change joins it. */
  #run: EntryRun | null = null;

  constructor(family: Family, open: () => TableHandle) {
    this.#family = family;
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
  copy(): TableHandle {
    if (this.#copy) return this.#copy;
    const handle = this.#open();
    try {
      this.#base = handle.rulesFingerprint();
      for (const change of this.#changes) change(handle);
    } catch (e) {
      handle.free();
      throw e;
    }
    this.#copy = handle;
    return handle;
  }

  /** Applies a change to the copy and records it. A change that throws is not recorded. */
  apply<T>(change: Change<T>): T {
    const handle = this.copy();
    try {
      const result = change(handle);
      this.#changes.push(change);
      this.#run = null;
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
    const handle = this.copy();
    const { entry, mask } = encode();
    // libiptc changes nothing when it refuses a single append or delete: the copy stays valid.
    EntryRun.applyOne(handle, op, chain, entry, mask, jump);
    let run = this.#run;
    if (!run || run.op !== op || run.chain !== chain) {
      const started = new EntryRun(this.#family, op, chain);
      this.#changes.push((h) => started.apply(h));
      this.#run = run = started;
    }
    run.add(entry, mask, jump);
  }

  /**
   * Commits the changes in one atomic replace of the kernel table, under the lock: the copy as it is
   * while the kernel still holds the rules it was read from, else the changes applied again to a fresh
   * view. On XTablesLockError nothing was tried and the batch stays for another commit(); on any other
   * error the kernel is as it was and the batch is dropped.
   */
  commit(wait: LockWait): void {
    Batch.commitAll([this], wait);
  }

  /**
   * Commits several tables' batches as one, all or nothing. The lock is held from the first read to the
   * last commit, as iptables-restore holds it across the tables of its input, so that no writer that
   * takes it comes in between. Every table is made ready (a fresh view with its changes) before any is
   * committed: a change that no longer applies fails with nothing committed. If the kernel refuses a
   * later table, each table committed before it is put back as it was, only while it still holds exactly
   * what this commit made of it: putting back never removes what it did not add. On XTablesLockError
   * nothing was tried and the batches stay for another commit; otherwise they are dropped.
   */
  static commitAll(batches: readonly Batch[], wait: LockWait): void {
    const pending = batches.filter((b) => b.pending);
    let kept = false;
    try {
      if (pending.length > 0) withXtablesLock(wait, () => Batch.#commitLocked(pending));
    } catch (e) {
      kept = e instanceof XTablesLockError;
      throw e;
    } finally {
      if (!kept) for (const b of batches) b.discard();
    }
  }

  static #commitLocked(batches: readonly Batch[]): void {
    const last = batches.length - 1;
    const staged: Staged[] = [];
    /** Tables committed so far (all but the last), with what they held before and after. */
    const committed: { staged: Staged; after: Buffer }[] = [];
    try {
      for (const [i, batch] of batches.entries()) staged.push(batch.#stage(true, i < last));
      try {
        for (const [i, s] of staged.entries()) {
          s.batch.#commitStaged(s);
          if (i < last) committed.push({ staged: s, after: s.batch.#kernelRules() });
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
   * Under the lock: the handle to commit, and with `keepBefore` what the kernel table holds. While the
   * kernel still holds the rules the copy was read from (counters aside, which libiptc carries over),
   * committing the copy is the same as applying the changes again, and saves doing so.
   */
  #stage(useCopy: boolean, keepBefore: boolean): Staged {
    const fresh = this.#open();
    try {
      const before = keepBefore ? fresh.read() : null;
      if (useCopy && this.#copy && this.#base && fresh.rulesFingerprint().equals(this.#base)) {
        fresh.free();
        return { batch: this, handle: this.#copy, before };
      }
      for (const change of this.#changes) change(fresh);
      return { batch: this, handle: fresh, before };
    } catch (e) {
      fresh.free();
      throw e;
    }
  }

  #release(staged: Staged): void {
    if (staged.handle !== this.#copy) staged.handle.free();
  }

  /** Commits a staged table; EAGAIN stages it again on a fresh view and retries. */
  #commitStaged(staged: Staged): void {
    for (let attempt = 1; ; attempt++) {
      try {
        staged.handle.commit();
        return;
      } catch (e) {
        if (!retryable(e, attempt)) throw e;
      }
      this.#release(staged);
      const again = this.#stage(false, staged.before !== null);
      staged.handle = again.handle;
      staged.before = again.before;
    }
  }

  /** The rules (without counters) the kernel table holds now. */
  #kernelRules(): Buffer {
    const fresh = this.#open();
    try {
      return fresh.rulesFingerprint();
    } finally {
      fresh.free();
    }
  }

  /**
   * Puts the kernel table back to `before`, only while it holds exactly `after` (what the commit made of
   * it, counters aside): then nobody else changed it, and nothing but this batch's changes is undone.
   * Counters go back to their values in `before`.
   */
  #putBack(before: RawChain[], after: Buffer): void {
    for (let attempt = 1; ; attempt++) {
      const fresh = this.#open();
      try {
        if (!fresh.rulesFingerprint().equals(after)) {
          throw new IPTCError(
            `table \`${fresh.table}' was changed after this commit by a writer that takes no xtables lock; ` +
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
        if (!retryable(e, attempt)) throw e;
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
  }

  #dropCopy(): void {
    this.#copy?.free();
    this.#copy = null;
    this.#base = null;
  }
}
