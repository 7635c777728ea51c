// Rule appends in a row, to any chains, as a batch (autocommit off) records them for commit() on a view
// that takes them together (legacy: appendToChains). A batch that goes from chain to chain rule after rule
// (kube-proxy's: a service's chain, then its endpoints' chains, then the next service) would otherwise
// make a run, and a crossing into libiptc, per rule. Appends to different chains commute, so the group
// keeps them in the order given and gives them to a view in one call.
import type { TableView } from './table-backend.js';
import { checkJumpLabel } from './chain.js';
import { entryLayout } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';

/** A record's head: the byte offset of its chain's name in the names, then padding (entries stay aligned). */
const HEAD = 8;
/**
 * The records buffer of a group that was dropped, for the next group: a batch of thousands of appends
 * writes megabytes, and fresh memory costs a page fault per page written, each batch again. Kept only up
 * to this size.
 */
const SPARE_MAX = 16 << 20;
let spare: Buffer | null = null;

export class AppendGroup {
  readonly #nextOffset: number;
  /** The chains' names, NUL-terminated, back to back; #nameAt gives each one's offset. */
  #names = Buffer.allocUnsafeSlow(1024);
  #namesUsed = 0;
  readonly #nameAt = new Map<string, number>();
  #records: Buffer;
  #used = 0;
  #count = 0;
  /** The user chains the entries jump to, each once (checked again on a fresh view). */
  readonly #jumps = new Set<string>();
  /** Where the records the copy has not been given yet start (see applyHeld). */
  #heldFrom = 0;
  #heldIndex = 0;

  constructor(family: Family) {
    this.#nextOffset = entryLayout(family).nextOffset;
    this.#records = spare ?? Buffer.allocUnsafeSlow(1 << 16);
    spare = null;
  }

  /** The group is dropped with its batch: its buffer serves the next group. */
  release(): void {
    const records = this.#records;
    if (records.length <= SPARE_MAX && (spare === null || spare.length < records.length)) spare = records;
    this.#records = Buffer.alloc(0);
    this.#used = 0;
    this.#count = 0;
    this.#heldFrom = 0;
    this.#heldIndex = 0;
  }

  /** Whether an append to the chain is in the group: the view had the chain then, and still has it. */
  has(chain: string): boolean {
    return this.#nameAt.has(chain);
  }

  /** Records an append (the entry copied from the start of `entry`), held back from the copy until applyHeld. */
  add(chain: string, entry: Buffer, jump: string | null): void {
    let nameAt = this.#nameAt.get(chain);
    if (nameAt === undefined) {
      const bytes = Buffer.byteLength(chain);
      if (this.#namesUsed + bytes + 1 > this.#names.length) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(this.#names.length * 2, this.#namesUsed + bytes + 1));
        this.#names.copy(bigger, 0, 0, this.#namesUsed);
        this.#names = bigger;
      }
      nameAt = this.#namesUsed;
      this.#names.write(chain, nameAt);
      this.#names[nameAt + bytes] = 0;
      this.#namesUsed += bytes + 1;
      this.#nameAt.set(chain, nameAt);
    }
    const size = entry[this.#nextOffset]! | (entry[this.#nextOffset + 1]! << 8);
    if (this.#used + HEAD + size > this.#records.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.#records.length * 2, this.#used + HEAD + size));
      this.#records.copy(bigger, 0, 0, this.#used);
      this.#records = bigger;
    }
    const records = this.#records;
    records.writeUInt32LE(nameAt, this.#used);
    records.writeUInt32LE(0, this.#used + 4);
    records.set(entry.length === size ? entry : new Uint8Array(entry.buffer, entry.byteOffset, size), this.#used + HEAD);
    this.#used += HEAD + size;
    this.#count++;
    if (jump !== null) this.#jumps.add(jump);
  }

  /** Gives the copy the appends held back from it. */
  applyHeld(view: TableView): void {
    if (this.#heldIndex === this.#count) return;
    const from = this.#heldFrom;
    const index = this.#heldIndex;
    this.#heldFrom = this.#used;
    this.#heldIndex = this.#count;
    this.#appendTo(view, from, index);
  }

  /** The copy was made anew with every change: nothing is held back from it. */
  releaseHeld(): void {
    this.#heldFrom = this.#used;
    this.#heldIndex = this.#count;
  }

  /** Makes the same appends to another view of the table, in order. */
  apply(view: TableView): void {
    for (const jump of this.#jumps) checkJumpLabel(view, jump);
    this.#appendTo(view, 0, 0);
  }

  /** Appends the records from byte `from` (record `index`) on; one refused is appended alone for its error. */
  #appendTo(view: TableView, from: number, index: number): void {
    const count = this.#count - index;
    const records = this.#records.subarray(from, this.#used);
    const done = view.appendToChains!(this.#names, records, count);
    if (done === count) return;
    let at = 0;
    for (let i = 0; i < done; i++) at += HEAD + records.readUInt16LE(at + HEAD + this.#nextOffset);
    const size = records.readUInt16LE(at + HEAD + this.#nextOffset);
    const nameAt = records.readUInt32LE(at);
    const chain = this.#names.toString('utf8', nameAt, this.#names.indexOf(0, nameAt));
    view.appendEntry(chain, records.subarray(at + HEAD, at + HEAD + size));
    // libiptc took it alone: what made it refuse is gone; give it the rest.
    this.#appendTo(view, from + at + HEAD + size, index + done + 1);
  }
}
