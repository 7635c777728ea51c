// Rule appends or deletes of one chain in a row, as a batch (autocommit off) records them for commit():
// the entries packed in one buffer, applied again in one call when the kernel table moved meanwhile.
import type { TableView } from './table-backend.js';
import type { Family } from '../xtables/shim.js';
import { checkJumpLabel } from './chain.js';
import { PackedEntries } from './packed.js';

export class EntryRun {
  readonly op: 'append' | 'delete';
  readonly chain: string;
  readonly #entries: PackedEntries;
  /** Delete masks, one per entry (shared by rules of one shape, so these are references). */
  readonly #masks: Buffer[] = [];
  /** The user chains the entries jump to, each once. */
  readonly #jumps = new Set<string>();

  constructor(family: Family, op: 'append' | 'delete', chain: string) {
    this.op = op;
    this.chain = chain;
    this.#entries = new PackedEntries(family);
  }

  /** One entry's change on a handle: the jump checked, then libiptc's append or delete. */
  static applyOne(handle: TableView, op: 'append' | 'delete', chain: string, entry: Buffer, mask: Buffer | null,
    jump: string | null): void {
    checkJumpLabel(handle, jump);
    if (op === 'append') handle.appendEntry(chain, entry);
    else handle.deleteEntry(chain, entry, mask!);
  }

  /** Records an entry (copied from the start of `entry`). */
  add(entry: Buffer, mask: Buffer | null, jump: string | null): void {
    this.#entries.push(entry);
    if (this.op === 'delete') this.#masks.push(mask!);
    if (jump !== null) this.#jumps.add(jump);
  }

  /** Makes the same changes to another view of the table, in order. */
  apply(handle: TableView): void {
    for (const jump of this.#jumps) checkJumpLabel(handle, jump);
    if (this.op === 'append') {
      this.#entries.appendTo(handle, this.chain);
      return;
    }
    let index = 0;
    for (const entry of this.#entries.entries()) handle.deleteEntry(this.chain, entry, this.#masks[index++]!);
  }
}
