// Rule appends or deletes of one chain in a row, as a batch (autocommit off) records them for commit():
// the entries packed in one buffer, applied again in one call when the kernel table moved meanwhile.
import type { TableView } from './table-backend.js';
import type { Family } from '../xtables/shim.js';
import { checkJumpLabel } from './chain.js';
import { PackedEntries, type EntryArena } from './packed.js';

export class EntryRun {
  readonly op: 'append' | 'delete';
  readonly chain: string;
  readonly #entries: PackedEntries;
  /** Delete masks, one per entry (shared by rules of one shape, so these are references); appends have none. */
  readonly #masks: Buffer[] = [];
  /** The user chains the entries jump to, each once; null until one does (a batch makes thousands of runs). */
  #jumps: Set<string> | null = null;
  /** How many appends, from #heldFrom on, the copy has not been given yet (see add). */
  #held = 0;
  #heldFrom = { offset: 0, index: 0 };

  /** The entries go into `arena` (shared by a batch's runs, one after another). */
  constructor(family: Family, op: 'append' | 'delete', chain: string, arena?: EntryArena) {
    this.op = op;
    this.chain = chain;
    this.#entries = new PackedEntries(family, arena);
  }

  /** One entry's change on a handle: the jump checked, then libiptc's append or delete. */
  static applyOne(handle: TableView, op: 'append' | 'delete', chain: string, entry: Buffer, mask: Buffer | null,
    jump: string | null): void {
    checkJumpLabel(handle, jump);
    if (op === 'append') handle.appendEntry(chain, entry);
    else handle.deleteEntry(chain, entry, mask!);
  }

  /**
   * Records an entry (copied from the start of `entry`). An append `held` back from the copy it is
   * recorded for waits for applyHeld(): a batch of thousands of appends crosses into libiptc once.
   */
  add(entry: Buffer, mask: Buffer | null, jump: string | null, held = false): void {
    if (held) {
      if (this.#held === 0) this.#heldFrom = { offset: this.#entries.used, index: this.#entries.count };
      this.#held++;
    }
    this.#entries.push(entry);
    if (this.op === 'delete') this.#masks.push(mask!);
    if (jump !== null) (this.#jumps ??= new Set()).add(jump);
  }

  /** Gives the copy the appends held back from it. */
  applyHeld(handle: TableView): void {
    if (this.#held === 0) return;
    const from = this.#heldFrom;
    this.#held = 0;
    this.#entries.appendTo(handle, this.chain, undefined, from);
  }

  /** The copy was made anew with every change: nothing is held back from it. */
  releaseHeld(): void {
    this.#held = 0;
  }

  /** Makes the same changes to another view of the table, in order. */
  apply(handle: TableView): void {
    if (this.#jumps !== null) for (const jump of this.#jumps) checkJumpLabel(handle, jump);
    if (this.op === 'append') {
      this.#entries.appendTo(handle, this.chain);
      return;
    }
    let index = 0;
    for (const entry of this.#entries.entries()) handle.deleteEntry(this.chain, entry, this.#masks[index++]!);
  }
}
