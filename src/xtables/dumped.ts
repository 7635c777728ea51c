// A table's chains and rules as xtw_dump_table copied them into one JS buffer. A rule is an object only
// once its chain's rules are asked for, and even then its entry is the dump's bytes, viewed and its label
// decoded only when something reads them: reading the counters of a large table should not pay for more.
import { PrintedRules } from './printed.js';
import { RecentStrings } from './recent-strings.js';
import type { Family } from './shim.js';

/**
 * A rule's flag byte in a dump (see xtw_dump_table): a standard target; an entry that does not hold
 * together; a record that holds the u32 offset of its entry in the buffer the kernel wrote, not the entry
 * (xtw_index_blob).
 */
const STANDARD = 1;
const MALFORMED = 2;
const ELSEWHERE = 4;

/** Where the record after the one at `at` starts. */
function nextRecord(dump: Buffer, at: number): number {
  const end = at + 4 + dump[at + 1]!;
  return end + (dump[at]! & ELSEWHERE ? 4 : dump[end - 2]! | (dump[end - 1]! << 8));
}

/** The last few labels read, so that thousands of rules jumping to ACCEPT share one string. */
const recentLabels = new RecentStrings(8);

/** Where the entry of the record at `at` starts: in the dump, or (recordElsewhere) in the buffer the kernel wrote. */
export function recordEntryAt(dump: Buffer, at: number): number {
  const end = at + 4 + dump[at + 1]!;
  return dump[at]! & ELSEWHERE ? dump.readUInt32LE(end) : end;
}

/** Whether the record at `at` holds where its entry is in the buffer the kernel wrote, not the entry. */
export function recordElsewhere(dump: Buffer, at: number): boolean {
  return (dump[at]! & ELSEWHERE) !== 0;
}

/** The size of the entry of the record at `at`. */
export function recordSize(dump: Buffer, at: number): number {
  const sizeAt = at + 2 + dump[at + 1]!;
  return dump[sizeAt]! | (dump[sizeAt + 1]! << 8);
}

/** What libiptc calls the target of the record at `at`: a verdict, a chain name, a target extension's name. */
export function recordLabel(dump: Buffer, at: number): string {
  return recentLabels.fromLatin1(dump, at + 2, at + 2 + dump[at + 1]!);
}

/** Whether the record at `at` has a standard target (a verdict, a jump or a fall-through). */
export function recordStandard(dump: Buffer, at: number): boolean {
  return (dump[at]! & STANDARD) !== 0;
}

/** One rule of a dump (a RawRule of libiptc.ts): its record starts at `record` in the dump. */
export class DumpedRule {
  readonly #chain: DumpedChain;
  /** Where the rule's record (flags, label, size, entry) starts in the dump. */
  readonly record: number;
  /** Its place among the rules its chain is printed with (see DumpedChain.printed). */
  readonly index: number;
  #entry: Buffer | null = null;
  #label: string | null = null;

  constructor(chain: DumpedChain, record: number, index: number) {
    this.#chain = chain;
    this.record = record;
    this.index = index;
  }

  /** The bytes the entry is in, from `at` on: the dump, or the buffer the kernel wrote the table into. */
  get source(): Buffer {
    const chain = this.#chain;
    return recordElsewhere(chain.dump, this.record) ? chain.entries : chain.dump;
  }

  get at(): number {
    return recordEntryAt(this.#chain.dump, this.record);
  }

  get size(): number {
    return recordSize(this.#chain.dump, this.record);
  }

  /** The whole entry (header, matches, target), a view of the dump. */
  get entry(): Buffer {
    if (this.#entry === null) {
      const at = this.at;
      this.#entry = this.source.subarray(at, at + this.size);
    }
    return this.#entry;
  }

  /** What libiptc calls the target: a verdict, a chain name, or a target extension name. */
  get label(): string {
    this.#label ??= recordLabel(this.#chain.dump, this.record);
    return this.#label;
  }

  get standard(): boolean {
    return recordStandard(this.#chain.dump, this.record);
  }

  /** Whether the shim found the entry's sizes holding together, as checkEntry would. */
  get checked(): boolean {
    return (this.#chain.dump[this.record]! & MALFORMED) === 0;
  }

  get printed(): PrintedRules {
    return this.#chain.printed;
  }

  get family(): Family {
    return this.#chain.family;
  }

  /** Where the entry starts in `source` (as `at`): the rule is the origin of its extensions (see KernelOrigin). */
  get base(): number {
    return this.at;
  }
}

/** Where each of `count` rules from byte `first` of a dump starts, into `offsets` from `into`. */
function ruleOffsets(dump: Buffer, first: number, count: number, offsets: Int32Array, into: number): void {
  let at = first;
  for (let i = 0; i < count; i++) {
    offsets[into + i] = at;
    at = nextRecord(dump, at);
  }
}

/**
 * Every rule of a dump of several chains, printed as one list: a table of thousands of chains of a few
 * rules each (kube-proxy's nat table) is then printed a chunk of rules per shim call, not a call per chain.
 */
export class DumpPrinter {
  /** Each chain's first rule record and rule count, in the dump's order. */
  readonly #chains: number[] = [];
  #count = 0;
  #printed: PrintedRules | null = null;

  /** `entries`: the buffer the kernel wrote the table into, where the dump's records hold their entries' offsets. */
  constructor(
    readonly family: Family,
    readonly dump: Buffer,
    readonly entries: Buffer = dump,
  ) {}

  /** Adds the dump's next chain; returns the index of its first rule among all the dump's rules. */
  add(first: number, count: number): number {
    this.#chains.push(first, count);
    this.#count += count;
    return this.#count - count;
  }

  get printed(): PrintedRules {
    if (this.#printed === null) {
      const offsets = new Int32Array(this.#count);
      let into = 0;
      for (let c = 0; c < this.#chains.length; c += 2) {
        ruleOffsets(this.dump, this.#chains[c]!, this.#chains[c + 1]!, offsets, into);
        into += this.#chains[c + 1]!;
      }
      this.#printed = new PrintedRules(this.family, this.dump, this.entries, offsets);
    }
    return this.#printed;
  }
}

/**
 * A chain of a dump, its rules made on first use. Its rules are printed with the whole dump's where a
 * DumpPrinter is given (`printBase` is then the index of its first rule there), else on their own.
 */
export class DumpedChain {
  #rules: DumpedRule[] | null = null;
  #printed: PrintedRules | null = null;

  constructor(
    readonly name: string,
    readonly builtin: boolean,
    readonly policy: { name: string; packets: bigint; bytes: bigint } | null,
    readonly family: Family,
    readonly dump: Buffer,
    private readonly first: number,
    private readonly count: number,
    private readonly printer: DumpPrinter | null = null,
    private readonly printBase = 0,
  ) {}

  get rules(): DumpedRule[] {
    if (this.#rules) return this.#rules;
    const { dump, count, printBase } = this;
    const rules: DumpedRule[] = new Array(count);
    let at = this.first;
    for (let i = 0; i < count; i++) {
      rules[i] = new DumpedRule(this, at, printBase + i);
      at = nextRecord(dump, at);
    }
    this.#rules = rules;
    return rules;
  }

  /** Where each of its rules' records starts in the dump (no DumpedRule made). */
  records(): Int32Array {
    const offsets = new Int32Array(this.count);
    ruleOffsets(this.dump, this.first, this.count, offsets, 0);
    return offsets;
  }

  /** Where the entries of records that hold none are (see DumpPrinter). */
  get entries(): Buffer {
    return this.printer?.entries ?? this.dump;
  }

  /** The chain's rules as the shim prints them, a chunk at a time; a rule's `index` is its place there. */
  get printed(): PrintedRules {
    if (this.printer !== null) return this.printer.printed;
    if (this.#printed === null) {
      this.#printed = new PrintedRules(this.family, this.dump, this.dump, this.records());
    }
    return this.#printed;
  }
}

/**
 * The chains of a table's dump (xtw_dump_table's format; `entries`: where its records that hold none have
 * their entries, see xtw_index_blob), their rules made when first asked for and printed as one list.
 */
export function dumpedChains(family: Family, dump: Buffer, entries: Buffer = dump): DumpedChain[] {
  const chains: DumpedChain[] = [];
  const printer = new DumpPrinter(family, dump, entries);
  let at = 0;
  while (at < dump.length) {
    const builtin = dump[at++] === 1;
    const name = dump.toString('latin1', at + 1, at + 1 + dump[at]!);
    at += 1 + dump[at]!;
    const policyName = dump.toString('latin1', at + 1, at + 1 + dump[at]!);
    at += 1 + dump[at]!;
    const packets = dump.readBigUInt64LE(at);
    const bytes = dump.readBigUInt64LE(at + 8);
    const count = dump.readUInt32LE(at + 16);
    at += 20;
    const first = at;
    // Skip the rules now; they are decoded when the chain's rules are first asked for.
    for (let i = 0; i < count; i++) at = nextRecord(dump, at);
    const policy = builtin ? { name: policyName, packets, bytes } : null;
    chains.push(new DumpedChain(name, builtin, policy, family, dump, first, count, printer, printer.add(first, count)));
  }
  return chains;
}
