// A legacy table read the way a scraper needs it: every rule's counters at each read, a rule's entry only
// when it is new. libiptc's read copies the kernel's blob, then every rule again into a structure of its
// own (and a dump copies them once more), which at 50,000 rules costs more time and memory than the
// kernel's own copy. Here the kernel writes its blob (IPT_SO_GET_ENTRIES) into one buffer that is reused
// from read to read, and the blob is split into chains exactly as libiptc splits it (see
// __iptcc_p_del_policy and iptcc_find_chain_by_offset in libiptc.c).
import { createHash } from 'node:crypto';
import { entryLayout, EXTENSION_HEADER, type EntryLayout } from './entry.js';
import { IPTCError } from './errors.js';
import { ENTRIES_AT, readKernelBlob } from './kernel-blob.js';
import type { Family } from './shim.js';

const HOOKS = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'] as const;
/** XT_EXTENSION_MAXNAMELEN: the name field of xt_entry_match / xt_entry_target. */
const NAME_SIZE = 29;
/** Standard verdicts, as libiptc's standard_target_map names them. */
const VERDICTS = new Map<number, string>([[-1, 'DROP'], [-2, 'ACCEPT'], [-4, 'QUEUE'], [-5, 'RETURN']]);
const RETURN = -5;

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

interface Span {
  name: string;
  builtin: boolean;
  /** Offset (in the entry table) of the first entry: the hook entry, or a user chain's ERROR head. */
  head: number;
  /** Offsets of the chain's rules. */
  entries: number[];
  /** Offset of the policy entry (built-in chain) or of the RETURN tail (user chain): the chain's last. */
  foot: number;
  hook: number;
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
    const buf = this.#buffer;
    const l = entryLayout(family);
    const validHooks = info.readUInt32LE(32);
    const hookAt = new Map<number, number>();
    for (let h = HOOKS.length - 1; h >= 0; h--) if (validHooks & (1 << h)) hookAt.set(info.readUInt32LE(36 + 4 * h), h);
    const underflow = (h: number) => info.readUInt32LE(56 + 4 * h);
    const bad = (what: string) => new IPTCError(`cannot read table \`${table}': ${what}`);

    const spans: Span[] = [];
    let current: Span | null = null;
    let ended = false;
    for (let off = 0; off < size; ) {
      const e = ENTRIES_AT + off;
      if (off + l.header > size) throw bad(`the entry at ${off} is cut short`);
      const targetOffset = buf.readUInt16LE(e + l.targetOffset);
      const next = buf.readUInt16LE(e + l.nextOffset);
      if (targetOffset < l.header || targetOffset + EXTENSION_HEADER > next || off + next > size) {
        throw bad(`the entry at ${off} has a bad size`);
      }
      const t = e + targetOffset;
      if (cString(buf, t + 2, NAME_SIZE) === 'ERROR') {
        if (current) spans.push(current);
        current = null;
        if (off + next === size) {
          ended = true;
          break;
        }
        const name = cString(buf, t + EXTENSION_HEADER, next - targetOffset - EXTENSION_HEADER);
        current = { name, builtin: false, head: off, entries: [], foot: -1, hook: -1 };
      } else if (hookAt.has(off)) {
        if (current) spans.push(current);
        const hook = hookAt.get(off)!;
        current = { name: HOOKS[hook]!, builtin: true, head: off, entries: [off], foot: -1, hook };
      } else {
        if (!current) throw bad(`the entry at ${off} belongs to no chain`);
        current.entries.push(off);
      }
      off += next;
    }
    if (!ended) throw bad('the table does not end with its ERROR entry');
    // libiptc's reading: a chain's last entry is its policy, or the RETURN that ends a user chain.
    for (const span of spans) {
      const foot = span.entries.pop();
      if (foot === undefined) throw bad(`chain \`${span.name}' has no ${span.builtin ? 'policy' : 'end'}`);
      span.foot = foot;
    }

    // The chain whose entries span `offset` (spans are in the blob's order): where a jump goes.
    const chainAt = (offset: number): string | undefined => {
      let lo = 0;
      let hi = spans.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (spans[mid]!.head <= offset) lo = mid;
        else hi = mid - 1;
      }
      const span = spans[lo];
      return span && offset >= span.head && offset <= span.foot ? span.name : undefined;
    };
    const generation = this.#generation;
    const valid = () => {
      if (this.#generation !== generation) throw new IPTCError(`the read of table \`${table}' has been replaced by a later one`);
    };
    const chains = spans.map((span) => this.#chain(span, l, underflow, chainAt, valid, bad));
    const builtins = chains.filter((c) => c.builtin);
    const users = chains.filter((c) => !c.builtin).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return [...builtins, ...users];
  }

  #chain(
    span: Span,
    l: EntryLayout,
    underflow: (hook: number) => number,
    chainAt: (offset: number) => string | undefined,
    valid: () => void,
    bad: (what: string) => IPTCError,
  ): ScannedChain {
    const buf = this.#buffer;
    const words = this.#words;
    const foot = span.foot;
    const footTarget = ENTRIES_AT + foot + buf.readUInt16LE(ENTRIES_AT + foot + l.targetOffset);
    const footVerdict = standardVerdict(buf, footTarget);
    let policy: ScannedChain['policy'] = null;
    if (span.builtin) {
      const name = footVerdict === undefined ? undefined : VERDICTS.get(footVerdict);
      if (foot !== underflow(span.hook) || name === undefined) throw bad(`the policy of chain \`${span.name}' is not where the kernel says`);
      const at = ENTRIES_AT + foot + l.counters;
      policy = { name, packets: buf.readBigUInt64LE(at), bytes: buf.readBigUInt64LE(at + 8) };
    } else if (footVerdict !== RETURN) {
      throw bad(`chain \`${span.name}' does not end with RETURN`);
    }

    const count = span.entries.length;
    const offsets = new Uint32Array(count);
    for (let i = 0; i < count; i++) offsets[i] = ENTRIES_AT + span.entries[i]!;
    const counters = new Uint32Array(count * 4);
    // Where a jump or fall-through goes, by rule: the only targets named now (the others are named
    // when a rule is decoded), since their offsets are zeroed below and the digest needs their names.
    const jumps = new Map<number, string>();
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
      if (buf[t + 2] !== 0) continue;
      const verdict = standardVerdict(buf, t);
      if (verdict === undefined) throw bad(`a rule of chain \`${span.name}' has a standard target without a verdict`);
      if (verdict < 0) {
        if (!VERDICTS.has(verdict)) throw bad(`a rule of chain \`${span.name}' has verdict ${verdict}, which is no verdict`);
        continue;
      }
      const label = verdict === e - ENTRIES_AT + buf.readUInt16LE(e + l.nextOffset) ? '' : chainAt(verdict);
      if (label === undefined) throw bad(`a rule of chain \`${span.name}' jumps to ${verdict}, where no chain starts`);
      jumps.set(i, label);
      buf.writeInt32LE(0, t + EXTENSION_HEADER);
    }
    const start = ENTRIES_AT + (count > 0 ? span.entries[0]! : foot);
    const digest = createHash('sha1')
      .update(buf.subarray(start, ENTRIES_AT + foot))
      .update([...jumps.values()].join('\0'))
      .digest('binary');
    const entryAt = (i: number) => {
      valid();
      if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`no rule ${i} in chain \`${span.name}'`);
      const e = offsets[i]!;
      return buf.subarray(e, e + buf.readUInt16LE(e + l.nextOffset));
    };
    /** What libiptc calls the rule's target, and whether it is a standard one. */
    const target = (i: number): [string, boolean] => {
      const jump = jumps.get(i);
      if (jump !== undefined) return [jump, true];
      const e = offsets[i]!;
      const t = e + buf.readUInt16LE(e + l.targetOffset);
      const name = cString(buf, t + 2, NAME_SIZE);
      return name === '' ? [VERDICTS.get(standardVerdict(buf, t)!)!, true] : [name, false];
    };
    return {
      name: span.name,
      builtin: span.builtin,
      policy,
      count,
      counters,
      digest,
      ruleDigest: (i) => createHash('sha1').update(entryAt(i)).update(target(i)[0]).digest('binary'),
      rule: (i) => {
        const entry = Buffer.from(entryAt(i));
        const [label, standard] = target(i);
        return { entry, label, standard };
      },
    };
  }
}

/** The verdict of a standard target (an xt_standard_target: header and an int), or undefined. */
function standardVerdict(buf: Buffer, target: number): number | undefined {
  if (cString(buf, target + 2, NAME_SIZE) !== '' || buf.readUInt16LE(target) < EXTENSION_HEADER + 4) return undefined;
  return buf.readInt32LE(target + EXTENSION_HEADER);
}

function cString(buf: Buffer, at: number, max: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 || end > at + max ? at + max : end);
}
