// Rule entries packed back to back, as libiptc lays rules out: thousands of rules of a batch or a restore
// kept in one buffer and handed to libiptc in one call, not an object and a call per rule.
import { entryLayout } from '../xtables/entry.js';
import type { TableEdits } from '../xtables/libiptc.js';
import type { Family } from '../xtables/shim.js';

export class PackedEntries {
  readonly #nextOffset: number;
  /** Grown as entries come: a batch that alternates chains makes many runs of one entry each. */
  #buffer = Buffer.alloc(0);
  #used = 0;
  #count = 0;

  constructor(family: Family) {
    this.#nextOffset = entryLayout(family).nextOffset;
  }

  get count(): number {
    return this.#count;
  }

  /** Copies in the entry at the start of `entry` (which may be longer: a scratch buffer). */
  push(entry: Buffer): void {
    const size = entry[this.#nextOffset]! | (entry[this.#nextOffset + 1]! << 8);
    if (this.#used + size > this.#buffer.length) {
      // Room for a few more from the start, from the pool while small: a batch that alternates chains
      // makes many short runs.
      const bigger = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#used + size, 4 * size, 1024));
      this.#buffer.copy(bigger, 0, 0, this.#used);
      this.#buffer = bigger;
    }
    entry.copy(this.#buffer, this.#used, 0, size);
    this.#used += size;
    this.#count++;
  }

  clear(): void {
    this.#used = 0;
    this.#count = 0;
  }

  /** Each entry in order, as a view. */
  *entries(): Generator<Buffer> {
    for (let at = 0; at < this.#used; ) {
      const size = this.#buffer.readUInt16LE(at + this.#nextOffset);
      yield this.#buffer.subarray(at, at + size);
      at += size;
    }
  }

  /**
   * Appends every entry to `chain` in one call. When libiptc refuses one, that entry is appended alone for
   * its error, which `refused` may turn into another (it gets the entry's index).
   */
  appendTo(handle: Pick<TableEdits, 'appendEntries' | 'appendEntry'>, chain: string, refused?: (index: number, error: unknown) => Error): void {
    const done = handle.appendEntries(chain, this.#buffer, this.#count);
    if (done === this.#count) return;
    let index = 0;
    for (const entry of this.entries()) {
      if (index >= done) {
        try {
          handle.appendEntry(chain, entry);
        } catch (e) {
          throw refused ? refused(index, e) : e;
        }
      }
      index++;
    }
  }
}
