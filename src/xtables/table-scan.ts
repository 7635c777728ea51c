// A legacy table read the way a scraper needs it: every rule's counters at each read, a rule's entry only
// when it is new. libiptc's read copies the kernel's blob, then every rule again into a structure of its
// own (and a dump copies them once more), which at 50,000 rules costs more time and memory than the
// kernel's own copy. Here the kernel writes its blob (IPT_SO_GET_ENTRIES) into one buffer that is reused
// from read to read, and the shim's index of it (xtw_index_blob, as readTable reads a table) splits it into
// chains exactly as libiptc splits it.
import { createHash } from 'node:crypto';
import { dumpedChains, recordEntryAt, recordLabel, recordSize, recordStandard, type DumpedChain } from './dumped.js';
import { entryLayout, EXTENSION_HEADER, type EntryLayout } from './entry.js';
import { IPTCError } from './errors.js';
import { ENTRIES_AT, readKernelBlob } from './kernel-blob.js';
import { indexBlob, type Family } from './shim.js';

/** One rule's entry as Rule.fromEntry takes it: a copy, with counters and jump offsets zeroed. */
export interface ScannedRule {
  entry: Buffer;
  /** A verdict, a chain to jump to, '' for no target, or a target extension's name. */
  label: string;
  /** A verdict, jump or fall-through rather than a target extension. */
  standard: boolean;
}

export interface ScannedChain {
  readonly name: string;
  readonly builtin: boolean;
  /** The policy of a built-in chain and its counters; null for a user chain. */
  readonly policy: { name: string; packets: bigint; bytes: bigint } | null;
  /** Number of rules. */
  readonly count: number;
  /**
   * Per rule, four numbers: packets (low and high 32 bits), then bytes (low, high). The chain's own
   * array: it stays as it is after the next read.
   */
  readonly counters: Uint32Array;
  /** Equal for two reads exactly when the chain holds the same rules (whatever their counters). */
  readonly digest: string;
  /** Equal for two rules exactly when they are the same rule (counters aside). Until the next read. */
  ruleDigest(index: number): string;
  /** The rule at `index`, for decoding. Until the next read. */
  rule(index: number): ScannedRule;
}

/**
 * Reads legacy tables of either family into one buffer of its own, reused from read to read: what a read
 * returns is valid until the next one (counters and digests stay).
 */
export class TableScanner {
  #buffer = Buffer.alloc(0);
  /** The buffer as 32-bit words (its own, from offset 0: entries and their counters are 8-byte aligned). */
  #words = new Uint32Array(0);
  #generation = 0;

  /**
   * The chains of a kernel table, built-in ones first (in hook order), then user chains by name, as
   * libiptc lists them. Throws IPTCError with the errno when the table cannot be read.
   *
   * Equivalent to: the reading half of `iptables-save -c -t TABLE`
   */
  read(family: Family, table: string): ScannedChain[] {
    const { info, size } = readKernelBlob(family, table, (length) => this.#bufferFor(length));
    return this.#split(family, table, info, size);
  }

  /** The buffer, zeroed, for a read of `length` bytes: what an earlier read returned is no longer valid. */
  #bufferFor(length: number): Buffer {
    if (this.#buffer.length < length) {
      this.#buffer = Buffer.alloc(length);
      this.#words = new Uint32Array(this.#buffer.buffer, this.#buffer.byteOffset, length >> 2);
    } else {
      this.#buffer.fill(0, 0, length);
    }
    this.#generation++;
    return this.#buffer;
  }

  #split(family: Family, table: string, info: Buffer, size: number): ScannedChain[] {
    const index = indexBlob(family, info, this.#buffer, ENTRIES_AT, size);
    if (index === null) throw new IPTCError(`cannot read table \`${table}': its entries are not laid out as libiptc reads them`);
    const generation = this.#generation;
    const valid = () => {
      if (this.#generation !== generation) throw new IPTCError(`the read of table \`${table}' has been replaced by a later one`);
    };
    const l = entryLayout(family);
    return dumpedChains(family, index, this.#buffer).map((chain) => this.#chain(chain, index, l, valid));
  }

  #chain(chain: DumpedChain, index: Buffer, l: EntryLayout, valid: () => void): ScannedChain {
    const buf = this.#buffer;
    const words = this.#words;
    // The index's records, not a DumpedRule per rule: a scrape holds every chain it read.
    const records = chain.records();
    const count = records.length;
    const offsets = new Uint32Array(count);
    for (let i = 0; i < count; i++) offsets[i] = recordEntryAt(index, records[i]!);
    const counters = new Uint32Array(count * 4);
    // The labels of the jumps and fall-throughs, whose offsets are zeroed below: the digest needs them.
    const jumps: string[] = [];
    // Where the kernel and libiptc put numbers that are not part of what the rule means: the
    // counters, the hooks that reach the entry (`comefrom`, after next_offset in both families), and
    // the byte offset a jump or fall-through goes to, which moves whenever a rule before it changes.
    const comefrom = l.nextOffset + 2;
    for (let i = 0; i < count; i++) {
      const e = offsets[i]!;
      const c = (e + l.counters) >> 2;
      for (let k = 0; k < 4; k++) {
        counters[i * 4 + k] = words[c + k]!;
        words[c + k] = 0;
      }
      words[(e + comefrom) >> 2] = 0;
      const t = e + buf.readUInt16LE(e + l.targetOffset);
      // A verdict is negative; a jump or a fall-through is where it goes.
      if (!recordStandard(index, records[i]!) || buf.readInt32LE(t + EXTENSION_HEADER) < 0) continue;
      jumps.push(recordLabel(index, records[i]!));
      buf.writeInt32LE(0, t + EXTENSION_HEADER);
    }
    const start = count > 0 ? offsets[0]! : 0;
    const end = count > 0 ? offsets[count - 1]! + recordSize(index, records[count - 1]!) : 0;
    const digest = createHash('sha1').update(buf.subarray(start, end)).update(jumps.join('\0')).digest('binary');
    /** Rule i's record, once its entry is known to be there. */
    const recordOf = (i: number) => {
      valid();
      if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`no rule ${i} in chain \`${chain.name}'`);
      return records[i]!;
    };
    const entryOf = (i: number, record: number) => buf.subarray(offsets[i]!, offsets[i]! + recordSize(index, record));
    return {
      name: chain.name,
      builtin: chain.builtin,
      policy: chain.policy,
      count,
      counters,
      digest,
      ruleDigest: (i) => {
        const record = recordOf(i);
        return createHash('sha1').update(entryOf(i, record)).update(recordLabel(index, record)).digest('binary');
      },
      rule: (i) => {
        const record = recordOf(i);
        return { entry: Buffer.from(entryOf(i, record)), label: recordLabel(index, record), standard: recordStandard(index, record) };
      },
    };
  }
}
