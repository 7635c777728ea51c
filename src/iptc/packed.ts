// Rule entries packed back to back, as libiptc lays rules out: thousands of rules of a batch or a restore
// kept in one buffer and handed to libiptc in one call, not an object and a call per rule.
import { entryLayout } from '../xtables/entry.js';
import type { TableEdits } from './table-backend.js';
import type { Family } from '../xtables/shim.js';

/**
 * The buffer the entries of one or more PackedEntries are in, one after another: a batch that alternates
 * chains makes thousands of short runs, and a buffer each would cost more than their entries.
 */
export class EntryArena {
  buffer = Buffer.alloc(0);
  used = 0;

  /** Room for `size` more bytes at `used`. */
  reserve(size: number): void {
    if (this.used + size <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.used + size, 1 << 16));
    bigger.set(this.buffer.subarray(0, this.used));
    this.buffer = bigger;
  }
}

export class PackedEntries {
  readonly #nextOffset: number;
  readonly #arena: EntryArena;
  /** Where the entries start in the arena; they end where the arena's used bytes end while adding. */
  #start: number;
  #used = 0;
  #count = 0;

  /**
   * Entries of a family, in an arena of their own or in `arena`, after what it holds: such entries must
   * be added before any others go into that arena.
   */
  constructor(family: Family, arena = new EntryArena()) {
    this.#nextOffset = entryLayout(family).nextOffset;
    this.#arena = arena;
    this.#start = arena.used;
  }

  get count(): number {
    return this.#count;
  }

  /** The bytes the entries take. */
  get used(): number {
    return this.#used;
  }

  /** Copies in the entry at the start of `entry` (which may be longer: a scratch buffer). */
  push(entry: Buffer): void {
    const size = entry[this.#nextOffset]! | (entry[this.#nextOffset + 1]! << 8);
    const arena = this.#arena;
    if (arena.used !== this.#start + this.#used) throw new Error('iptc: entries added out of turn to a shared arena');
    arena.reserve(size);
    arena.buffer.set(entry.length === size ? entry : new Uint8Array(entry.buffer, entry.byteOffset, size), arena.used);
    arena.used += size;
    this.#used += size;
    this.#count++;
  }

  /** Forgets the entries (an arena of their own is used again from its start). */
  clear(): void {
    if (this.#arena.used === this.#start + this.#used) this.#arena.used = this.#start;
    this.#used = 0;
    this.#count = 0;
  }

  /** Each entry in order, as a view. */
  *entries(): Generator<Buffer> {
    const buffer = this.#arena.buffer;
    for (let at = this.#start; at < this.#start + this.#used; ) {
      const size = buffer.readUInt16LE(at + this.#nextOffset);
      yield buffer.subarray(at, at + size);
      at += size;
    }
  }

  /**
   * Appends every entry (or those from the entry at `from`) to `chain` in one call. When libiptc refuses
   * one, that entry is appended alone for its error, which `refused` may turn into another (it gets the
   * entry's index).
   */
  appendTo(handle: Pick<TableEdits, 'appendEntries' | 'appendEntry'>, chain: string, refused?: (index: number, error: unknown) => Error,
    from = { offset: 0, index: 0 }): void {
    const count = this.#count - from.index;
    const done = handle.appendEntries(chain, this.#arena.buffer.subarray(this.#start + from.offset), count);
    if (done === count) return;
    let index = 0;
    for (const entry of this.entries()) {
      if (index >= from.index + done) {
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
