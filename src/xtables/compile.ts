// A whole rule compiled in one call to the shim (xtw_compile_rule): the header, then every extension
// built through its own parser with its final check, laid out as the kernel stores the entry. The rule's
// grammar is read in JS (src/iptc/compile.ts); this is the plan format and the call.
import { entryLayout } from './entry.js';
import { NFPROTO, shim, type Family } from './shim.js';

export const PLAN_MATCH = 0;
export const PLAN_TARGET = 1;
export const PLAN_STANDARD = 2;
export type PlanKind = typeof PLAN_MATCH | typeof PLAN_TARGET | typeof PLAN_STANDARD;

/** An entry's size is 16-bit; the scratch holds the largest and then some. */
const OUT_SIZE = 0x10000 + 256;

/**
 * The plan of one rule as xtw_compile_rule reads it: int32 words, each string as (offset, length) in a
 * text buffer written alongside. Reused rule after rule: nothing is allocated per rule once it has grown.
 */
export class RulePlan {
  text = Buffer.allocUnsafeSlow(1024);
  textUsed = 0;
  words = new Int32Array(256);
  used = 0;
  /** Per extension: where its option count is (patched as options come) and how many info words it takes. */
  infoWords = 0;

  reset(): void {
    this.textUsed = 0;
    this.used = 0;
    this.infoWords = 0;
  }

  int(value: number): void {
    if (this.used === this.words.length) {
      const bigger = new Int32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    this.words[this.used++] = value;
  }

  /** A string, with no NUL and no escaped byte (the caller checks; see compilable()). */
  string(value: string): void {
    // UTF-8 takes at most three bytes per UTF-16 unit.
    const room = value.length * 3;
    if (this.textUsed + room > this.text.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.text.length * 2, this.textUsed + room));
      this.text.copy(bigger, 0, 0, this.textUsed);
      this.text = bigger;
    }
    const at = this.textUsed;
    const text = this.text;
    // Byte by byte while it is ASCII (most words are short), else as UTF-8.
    let length = 0;
    for (; length < value.length; length++) {
      const c = value.charCodeAt(length);
      if (c > 0x7f) break;
      text[at + length] = c;
    }
    if (length < value.length) length = text.write(value, at);
    this.textUsed += length;
    this.int(at);
    this.int(length);
  }
}

/** A NUL or any UTF-16 surrogate unit (no `u` flag: the class is of code units). */
const NOT_COMPILABLE = /[\0\ud800-\udfff]/;

/**
 * Whether a string can go into a plan as it is: no NUL (which would end it early in C) and no surrogate
 * (a lone one stands for a byte that is not UTF-8, see text.ts: the slow path writes those bytes exactly).
 * A regular expression, not a charCodeAt loop: the words of a parsed spec are slices of its text, which
 * charCodeAt reads through one indirection per character (measured 2-3 times slower for kube-proxy's rules).
 */
export function compilable(value: string): boolean {
  return !NOT_COMPILABLE.test(value);
}

/** What xtw_compile_rule made: the entry, and per extension, then per option, what it reports. */
export interface CompiledEntry {
  /** The entry, at the start of a scratch buffer (see CompileSlot). */
  entry: Buffer;
  size: number;
  info: Int32Array;
}

/** A plan and the entry compiled from it, kept until the slot is used again. */
export class CompileSlot {
  readonly plan = new RulePlan();
  out = Buffer.allocUnsafeSlow(OUT_SIZE);
  info = new Int32Array(256);
  size = 0;
}

/** Whether two plans are the same words and the same text. */
export function samePlan(a: RulePlan, b: RulePlan): boolean {
  if (a.used !== b.used || a.textUsed !== b.textUsed) return false;
  for (let i = 0; i < a.used; i++) if (a.words[i] !== b.words[i]) return false;
  return a.text.compare(b.text, 0, b.textUsed, 0, a.textUsed) === 0;
}

/**
 * Compiles the slot's plan into an entry whose header the caller wrote into `header` (the first
 * `header.length` bytes of an entry). Returns null when an extension refuses or the entry is too large:
 * the caller then takes the slow path, which says why in iptables' words.
 */
export function compileRule(family: Family, header: Buffer, slot: CompileSlot, infoWords: number): CompiledEntry | null {
  const l = entryLayout(family);
  const fns = shim();
  if (slot.info.length < infoWords) slot.info = new Int32Array(infoWords * 2);
  const { plan, out, info } = slot;
  out.set(header.subarray(0, l.header), 0);
  const size = fns.compileRule(NFPROTO[family], plan.text, plan.textUsed, plan.words, plan.used, out, out.length, info, info.length);
  if (size < 0) return null;
  slot.size = size;
  return { entry: out, size, info };
}
