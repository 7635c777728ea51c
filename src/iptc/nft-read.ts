// The rules of an nft view's chain as a caller reads them: decoded, when first asked for, straight into
// one buffer in the record format of a legacy table's dump (src/xtables/dumped.ts, xtw_dump_table), so
// that they print, save and give their parameters as a legacy table's rules do: the shim prints a chunk
// of rules per call (printed.ts) instead of one call per match and target, and no rule has a buffer of
// its own.
import { DumpedChain } from '../xtables/dumped.js';
import { entryLayout } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import type { RawChain, RawRule } from './table-backend.js';

const STANDARD = 1;
/** A label is one length byte and its bytes in a record; the shim prints it as it is. */
const MAX_LABEL = 255;

/** Records one after another: u8 flags (1: a standard target), u8 label length, the label, u16 size, the entry. */
export class RecordWriter {
  #buf: Buffer;
  #pos = 0;
  #count = 0;

  constructor(expected: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(expected, 1024));
  }

  get count(): number {
    return this.#count;
  }

  /**
   * Adds a rule: its entry is `size` bytes of `entry`. False (nothing added) for a label a record cannot
   * carry as the rule's text has it: longer than 255 bytes, or not ASCII (a record's label reads back as
   * Latin-1, while nf_tables names are UTF-8).
   */
  add(entry: Buffer, size: number, label: string, standard: boolean): boolean {
    const n = label.length;
    if (n > MAX_LABEL) return false;
    for (let i = 0; i < n; i++) if (label.charCodeAt(i) >= 0x80) return false;
    const need = 4 + n + size;
    if (this.#pos + need > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + need));
      this.#buf.copy(grown, 0, 0, this.#pos);
      this.#buf = grown;
    }
    const b = this.#buf;
    let p = this.#pos;
    b[p++] = standard ? STANDARD : 0;
    b[p++] = n;
    for (let i = 0; i < n; i++) b[p++] = label.charCodeAt(i);
    b[p++] = size & 0xff;
    b[p++] = size >> 8;
    entry.copy(b, p, 0, size);
    this.#pos = p + size;
    this.#count++;
    return true;
  }

  /** The records written; copied out when the buffer grew far past them (a large chain keeps its dump). */
  finish(): Buffer {
    if (this.#buf.length - this.#pos > Math.max(this.#pos >> 2, 64 * 1024)) return Buffer.from(this.#buf.subarray(0, this.#pos));
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Adds a rule read from a view (its entry whole, up to its next_offset). */
export function addRawRule(w: RecordWriter, family: Family, raw: RawRule): boolean {
  return w.add(raw.entry, raw.entry.readUInt16LE(entryLayout(family).nextOffset), raw.label, raw.standard);
}

/**
 * A chain of a view, its rules made when first asked for by `dump` (records of every rule, or null where
 * a record cannot carry one: then `fallback` gives them rule by rule). Either may throw (a rule iptables
 * cannot express): then the chain's name and policy still read, and asking for its rules throws again.
 */
export class NftReadChain implements RawChain {
  #dumped: DumpedChain | null = null;
  #rules: RawRule[] | null = null;

  constructor(
    readonly name: string,
    readonly builtin: boolean,
    readonly policy: RawChain['policy'],
    private readonly family: Family,
    private readonly dump: () => RecordWriter | null,
    private readonly fallback: () => RawRule[],
  ) {}

  get rules(): RawRule[] {
    if (this.#rules === null) {
      const records = this.dump();
      if (records === null) {
        this.#rules = this.fallback();
      } else {
        this.#dumped = new DumpedChain(this.name, this.builtin, this.policy, this.family, records.finish(), 0, records.count);
        this.#rules = this.#dumped.rules;
      }
    }
    return this.#rules;
  }

  /** The chain as one dump (save prints it a chunk of rules per call), or null when its rules are not one. */
  get dumped(): DumpedChain | null {
    void this.rules;
    return this.#dumped;
  }
}
