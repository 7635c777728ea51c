// How a table's changes reach the kernel: one transaction per change (autocommit), or a batch whose
// changes are applied at once to a private pending copy (so that a bad change throws at once and reads
// show it) and recorded, to be applied again to a fresh view at commit(). Both hold the xtables lock from
// reading the view they commit to the commit. See docs/concurrency.md.
import { IPTCError } from '../xtables/errors.js';
import type { TableHandle } from '../xtables/libiptc.js';
import { withXtablesLock, XTablesLockError, type LockWait } from '../xtables/lock.js';
import type { Family } from '../xtables/shim.js';
import { EntryRun } from './entry-run.js';
import { EntryArena } from './packed.js';
import { checkJumpLabel } from './chain.js';

/** A change to a libiptc handle; self-contained, so that it can be applied again to a fresh view. */
export type Change<T = unknown> = (handle: TableHandle) => T;

const EAGAIN = 11;
const COMMIT_RETRIES = 5;

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
        if (!(e instanceof IPTCError && e.errno === EAGAIN && attempt < COMMIT_RETRIES)) throw e;
      } finally {
        handle.free();
      }
    }
  });
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
  /** The user chains rules were found jumping to since the last other change (see applyEntry). */
  readonly #jumpsChecked = new Set<string>();
  /** Where the runs keep their entries, one run after another. */
  #arena = new EntryArena();

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
    const handle = this.#current();
    this.#applyHeld(handle);
    return handle;
  }

  /** The copy, without the appends the run holds back (see applyEntry). */
  #current(): TableHandle {
    if (this.#copy) return this.#copy;
    const handle = this.#open();
    try {
      this.#base = handle.rulesFingerprint();
      for (const change of this.#changes) change(handle);
    } catch (e) {
      handle.free();
      throw e;
    }
    this.#run?.releaseHeld();
    this.#copy = handle;
    return handle;
  }

  /** Gives the copy the appends the run held back; if libiptc refuses one, the copy is made anew when next needed. */
  #applyHeld(handle: TableHandle): void {
    try {
      this.#run?.applyHeld(handle);
    } catch (e) {
      this.#dropCopy();
      throw e;
    }
  }

  /** Applies a change to the copy and records it. A change that throws is not recorded. */
  apply<T>(change: Change<T>): T {
    const handle = this.copy();
    try {
      const result = change(handle);
      this.#changes.push(change);
      this.#run = null;
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
    const handle = this.#current();
    const { entry, mask } = encode();
    // Only a change other than rule appends and deletes can delete a chain: jumps checked since hold.
    if (jump !== null && !this.#jumpsChecked.has(jump)) {
      checkJumpLabel(handle, jump);
      this.#jumpsChecked.add(jump);
    }
    let run = this.#run;
    if (op === 'append' && run !== null && run.op === 'append' && run.chain === chain) {
      // A later append of a run: its chain took the run's first, and libiptc refuses an append for
      // nothing else that can happen meanwhile. libiptc gets it with the run's other held appends before
      // anything reads or changes the copy.
      run.add(entry, mask, jump, true);
      return;
    }
    this.#applyHeld(handle);
    // libiptc changes nothing when it refuses a single append or delete: the copy stays valid.
    EntryRun.applyOne(handle, op, chain, entry, mask, null);
    if (!run || run.op !== op || run.chain !== chain) {
      const started = new EntryRun(this.#family, op, chain, this.#arena);
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
    if (this.#changes.length === 0) {
      // Nothing to commit; the next read takes a fresh view, as after any commit.
      this.discard();
      return;
    }
    if (this.#copy) {
      try {
        this.#applyHeld(this.#copy);
      } catch {
        // The copy is gone; the changes are applied again to a fresh view below.
      }
    }
    const changes = this.#changes;
    const copy = this.#copy;
    const base = this.#base;
    let kept = false;
    try {
      withXtablesLock(wait, () => {
        for (let attempt = 1; ; attempt++) {
          const fresh = this.#open();
          try {
            // The copy already holds the changes. While the kernel still holds the rules it was read
            // from (counters aside, which libiptc carries over), committing it is the same as applying
            // the changes again, and saves doing so.
            if (attempt === 1 && copy && base && fresh.rulesFingerprint().equals(base)) copy.commit();
            else {
              for (const change of changes) change(fresh);
              fresh.commit();
            }
            return;
          } catch (e) {
            if (!(e instanceof IPTCError && e.errno === EAGAIN && attempt < COMMIT_RETRIES)) throw e;
          } finally {
            fresh.free();
          }
        }
      });
    } catch (e) {
      kept = e instanceof XTablesLockError;
      throw e;
    } finally {
      if (!kept) this.discard();
    }
  }

  /** Drops the changes and the copy. */
  discard(): void {
    this.#dropCopy();
    this.#changes = [];
    this.#run = null;
    this.#arena = new EntryArena();
  }

  #dropCopy(): void {
    this.#copy?.free();
    this.#copy = null;
    this.#base = null;
    this.#jumpsChecked.clear();
  }
}
