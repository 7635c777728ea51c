// The rules of a dump (a chain's, or a whole table's) as iptables-save prints them after their header
// fields, printed by the shim many at a time (xtw_print_rules): one FFI crossing and one memstream per
// extension would cost more than iptables-save's whole printf. Rules are printed as they are first asked for, in chunks that grow
// while reading goes on, so that asking for one rule never prints a whole large chain; about 2 MiB of
// text is kept, and a rule asked for again after its chunk went is printed again.
import { isAscii } from 'node:buffer';
import { NFPROTO, shim, type Family } from './shim.js';
import { decodeBytes } from './text.js';
import { RecentStrings } from './recent-strings.js';

/**
 * xtw_print_rules' span words: per rule start, end, flags, extensions and where its extensions start
 * (after its header fields); per extension name and text.
 */
const RULE_SPAN = 5;
const EXTENSION_SPAN = 4;
const NOT_PRINTED = 1;
const HEADER_NOT_PRINTED = 2;
const FIRST_CHUNK = 32;
const MAX_CHUNK = 4096;
/**
 * How much printed text the rules printed together (a table's, or a chain's) keep, oldest chunks let go first. Reading goes through a large table in
 * order: chunks kept all along would outlive the young generation and be moved to the old one (15 MB of
 * text at 100,000 rules), to be printed again only if asked for again. A table of a few megabytes of text
 * (kube-proxy's nat table for 1,000 services: 1.6 MB) stays printed, in whatever order it is read.
 */
const KEPT_TEXT = 2 * 2 ** 20;

interface Chunk {
  /** The chunk's text: a string when it is ASCII (offsets are then the same), else its bytes. */
  text: string | Buffer;
  spans: Int32Array;
  /** Where each rule's span starts in `spans`, from the chunk's first rule. */
  ruleAt: Int32Array;
  first: number;
}

let out = Buffer.allocUnsafeSlow(1 << 16);
let spans = new Int32Array(1 << 14);
const result = new Float64Array(2);

export class PrintedRules {
  readonly #family: Family;
  readonly #dump: Buffer;
  /** Where the dump's records that hold no entry have it (the dump itself for a dump that holds them all). */
  readonly #entries: Buffer;
  /** Where each rule starts in the dump (xtw_dump_table's format). */
  readonly #offsets: Int32Array;
  readonly #chunkOf: (Chunk | undefined)[];
  #chunkSize = FIRST_CHUNK;
  /** The chunks kept, oldest first, and the length of their text. */
  readonly #kept: Chunk[] = [];
  #keptText = 0;
  /** Which rules were printed before: one printed again (its chunk let go) starts a small chunk. */
  readonly #printedBefore: Uint8Array;
  /** Where the last chunk printed ends: reading on from there makes chunks grow again. */
  #end = 0;

  constructor(family: Family, dump: Buffer, entries: Buffer, offsets: Int32Array) {
    this.#family = family;
    this.#dump = dump;
    this.#entries = entries;
    this.#offsets = offsets;
    this.#chunkOf = new Array(offsets.length);
    this.#printedBefore = new Uint8Array(offsets.length);
  }

  /**
   * Rule `index`'s matches and target as iptables-save prints them after the header fields (with a
   * leading space, '' for none); null when the shim left it to the caller (an extension that prints
   * kernel state, or bytes it does not print), or could not print it (the caller's own path says why).
   */
  text(index: number): string | null {
    const chunk = this.#chunk(index);
    if (!chunk) return null;
    const at = chunk.ruleAt[index - chunk.first]!;
    const s = chunk.spans;
    if (s[at + 2]! & NOT_PRINTED) return null;
    return slice(chunk.text, s[at + 4]!, s[at + 1]!);
  }

  /**
   * Rule `index` whole, header fields, matches and target, as iptables-save prints it after `-A CHAIN `;
   * null where text() gives null or the header fields are the caller's to print (bytes JS reads as
   * Latin-1: an interface name that is not ASCII).
   */
  line(index: number): string | null {
    const chunk = this.#chunk(index);
    if (!chunk) return null;
    const at = chunk.ruleAt[index - chunk.first]!;
    const s = chunk.spans;
    if (s[at + 2]! & (NOT_PRINTED | HEADER_NOT_PRINTED)) return null;
    // Every part starts with a space.
    return s[at + 1]! > s[at]! ? slice(chunk.text, s[at]! + 1, s[at + 1]!) : '';
  }

  /**
   * The name extension `k` of rule `index` (its matches, then a target extension) was printed under, or
   * null as text() gives null.
   */
  extensionName(index: number, k: number): string | null {
    const at = this.#extensionAt(index, k);
    if (at < 0) return null;
    const text = this.#chunkOf[index]!.text;
    const spans = this.#spansOf(index);
    return typeof text === 'string' ? extensionNames.fromText(text, spans[at]!, spans[at + 1]!) : slice(text, spans[at]!, spans[at + 1]!, true);
  }

  /** The parameters text extension `k` of rule `index` was printed with, or null as text() gives null. */
  extensionText(index: number, k: number): string | null {
    const at = this.#extensionAt(index, k);
    return at < 0 ? null : slice(this.#chunkOf[index]!.text, this.#spansOf(index)[at + 2]!, this.#spansOf(index)[at + 3]!);
  }

  /** How many extensions rule `index` was printed with (its matches and a target extension), or -1. */
  extensionCount(index: number): number {
    const chunk = this.#chunk(index);
    if (!chunk) return -1;
    const at = chunk.ruleAt[index - chunk.first]!;
    return chunk.spans[at + 2]! & NOT_PRINTED ? -1 : chunk.spans[at + 3]!;
  }

  #spansOf(index: number): Int32Array {
    return this.#chunkOf[index]!.spans;
  }

  /** Where extension `k` of rule `index` is in its chunk's spans, or -1. */
  #extensionAt(index: number, k: number): number {
    const chunk = this.#chunk(index);
    if (!chunk) return -1;
    const at = chunk.ruleAt[index - chunk.first]!;
    const s = chunk.spans;
    if (s[at + 2]! & NOT_PRINTED || k >= s[at + 3]!) return -1;
    return at + RULE_SPAN + k * EXTENSION_SPAN;
  }

  #chunk(index: number): Chunk | null {
    const known = this.#chunkOf[index];
    if (known) return known;
    if (index !== this.#end && this.#printedBefore[index] === 1) this.#chunkSize = FIRST_CHUNK;
    let count = Math.min(this.#chunkSize, this.#offsets.length - index);
    for (let i = index + 1; i < index + count; i++) {
      if (this.#chunkOf[i]) {
        count = i - index;
        break;
      }
    }
    const chunk = print(this.#family, this.#dump, this.#entries, this.#offsets.subarray(index, index + count), index);
    if (!chunk) return null;
    this.#chunkSize = Math.min(MAX_CHUNK, this.#chunkSize * 2);
    for (let i = 0; i < chunk.ruleAt.length; i++) this.#chunkOf[index + i] = chunk;
    this.#end = index + chunk.ruleAt.length;
    this.#printedBefore.fill(1, index, this.#end);
    this.#kept.push(chunk);
    this.#keptText += chunk.text.length;
    while (this.#keptText > KEPT_TEXT && this.#kept.length > 1) {
      const old = this.#kept.shift()!;
      this.#keptText -= old.text.length;
      for (let i = old.first; i < old.first + old.ruleAt.length; i++) if (this.#chunkOf[i] === old) this.#chunkOf[i] = undefined;
    }
    return chunk;
  }
}

/** Extension names printed lately: a table's rules use a few extensions, asked for by name again and again. */
const extensionNames = new RecentStrings(16);

function slice(text: string | Buffer, start: number, end: number, name = false): string {
  if (typeof text === 'string') return text.slice(start, end);
  // As saveExtension decodes them: names as UTF-8, texts keeping each byte that is not UTF-8.
  return name ? text.toString('utf8', start, end) : decodeBytes(text, start, end);
}

/** Prints the rules at `offsets` (as many as fit); null when an extension cannot print (the caller's path says why). */
function print(family: Family, dump: Buffer, entries: Buffer, offsets: Int32Array, first: number): Chunk | null {
  const { printRules } = shim();
  for (;;) {
    const printed = printRules(NFPROTO[family], dump, dump.length, entries, entries.length, offsets, offsets.length, out, out.length,
      spans, spans.length, result);
    if (printed === -2) {
      out = Buffer.allocUnsafeSlow(Math.max(out.length * 2, result[0]!));
      continue;
    }
    if (printed < 0) return null;
    if (printed === 0) {
      // Not even one rule's spans fit.
      spans = new Int32Array(spans.length * 2);
      continue;
    }
    const bytes = result[0]!;
    const view = out.subarray(0, bytes);
    const ruleAt = new Int32Array(printed);
    let used = 0;
    for (let i = 0; i < printed; i++) {
      ruleAt[i] = used;
      used += RULE_SPAN + spans[used + 3]! * EXTENSION_SPAN;
    }
    return {
      text: isAscii(view) ? view.toString('latin1') : Buffer.from(view),
      spans: spans.slice(0, used),
      ruleAt,
      first,
    };
  }
}

/**
 * Whole iptables-save lines (`[packets:bytes] -A CHAIN rule`, a line each) of up to `count` rules of a
 * dump from `at` (the entries of its records that hold none in `entries`), printed by the shim as the rules
 * are now. Stops before a rule it leaves to the caller (see xtw_print_lines); `printed` says how many it
 * printed. null when an extension cannot print.
 */
export function printLines(family: Family, dump: Buffer, entries: Buffer, at: number, count: number, chain: string,
  counters: boolean):
  { text: string; printed: number } | null {
  // A chain name JS reads as Latin-1 is printed by JS.
  if (!/^[\x21-\x7e]*$/.test(chain)) return { text: '', printed: 0 };
  const print = shim().printLines;
  for (;;) {
    const printed = print(NFPROTO[family], dump, dump.length, entries, entries.length, at, count, chain, counters ? 1 : 0, out,
      out.length, result);
    if (printed === -2) {
      out = Buffer.allocUnsafeSlow(Math.max(out.length * 2, result[0]!));
      continue;
    }
    // An extension that cannot print: null, and the caller's own path says why.
    if (printed < 0) return null;
    const view = out.subarray(0, result[0]!);
    return { text: isAscii(view) ? view.toString('latin1') : decodeBytes(view), printed };
  }
}
