// Rule specs that differ only in their `-s`/`-d` addresses share one parse: large rule sets repeat the
// same shape rule after rule, and a template fills in the addresses without reading the spec again.
import { entryLayout } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import { parseAddressAsIptables } from './command-line.js';

const LONG_ADDRESS_OPTIONS: [string, 'src' | 'dst'][] = [
  ['--source', 'src'], ['--src', 'src'], ['--destination', 'dst'], ['--dst', 'dst'],
];

/** Whether the word at [start, end) of `text` is an address option (`-s`, `--destination`, ...). */
function addressOption(text: string, start: number, end: number): 'src' | 'dst' | null {
  if (text.charCodeAt(start) !== 45 /* - */) return null;
  const length = end - start;
  if (length === 2) {
    const c = text.charCodeAt(start + 1);
    return c === 115 /* s */ ? 'src' : c === 100 /* d */ ? 'dst' : null;
  }
  if (length < 5) return null;
  for (const [name, field] of LONG_ADDRESS_OPTIONS) {
    if (name.length === length && text.startsWith(name, start)) return field;
  }
  return null;
}

/** Whether a word is not empty and holds no white space, quote or backslash (it joins a plain spec). */
function plainWord(word: string): boolean {
  if (word.length === 0) return false;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13) || c === 34 || c === 39 || c === 92 || c === 0xa0 || c > 0x7f) return false;
  }
  return true;
}

/** Whether words are separated by single spaces and nothing needs unquoting. */
export function isPlainSpec(text: string): boolean {
  return (
    text.indexOf('"') < 0 && text.indexOf("'") < 0 && text.indexOf('\\') < 0 && text.indexOf('\t') < 0 &&
    text.indexOf('  ') < 0
  );
}

/** Whether two specs are the same text around their address values (their cuts, see RuleTemplates). */
function sameShape(a: string, aFrom: number, aCuts: readonly number[], b: string, bFrom: number, bCuts: readonly number[]): boolean {
  if (aCuts.length !== bCuts.length) return false;
  const n = aCuts.length / 2;
  for (let k = 0; k <= n; k++) {
    const aStart = k === 0 ? aFrom : aCuts[2 * k - 1]!;
    const aEnd = k === n ? a.length : aCuts[2 * k]!;
    const bStart = k === 0 ? bFrom : bCuts[2 * k - 1]!;
    const bEnd = k === n ? b.length : bCuts[2 * k]!;
    if (aEnd - aStart !== bEnd - bStart) return false;
    for (let i = 0; i < aEnd - aStart; i++) if (a.charCodeAt(aStart + i) !== b.charCodeAt(bStart + i)) return false;
  }
  return true;
}

export interface CompiledRule {
  /** Valid until the next compile: hand it to libiptc (which copies it) at once. */
  entry: Buffer;
  mask: Buffer;
  /** The user chain the rule jumps or goes to, to check before libiptc takes it; null for none. */
  jump: string | null;
  /** The rule's guard bits (see guards.ts), to check against the chain of each line. */
  guard: number;
}

/** A rule spec's entry, in a buffer of its own, or null when the spec is not a rule (the caller says why). */
export type CompileSpec = (words: string[]) => CompiledRule | null;

interface Template extends CompiledRule {
  /** The entry parsed with every address left out. */
  base: Buffer;
  /** The spec's text around its address values. */
  segments: string[];
}

export class RuleTemplates {
  readonly #compile: CompileSpec;
  readonly #family: Family;
  /** The spec before, when it made no template: the next spec of its shape makes one. */
  #previous: { text: string; from: number; cuts: number[] } | null = null;
  /** The template of the previous spec: runs of lines of one shape find it without a key. */
  #last: Template | null = null;
  /** [start, end) of each address value of the spec being compiled, and its field. */
  readonly #cuts: number[] = [];
  readonly #fields: ('src' | 'dst')[] = [];

  constructor(family: Family, compile: CompileSpec) {
    this.#family = family;
    this.#compile = compile;
  }

  /**
   * The entry of rule spec words, from a template when one fits. Returns null when the spec cannot share
   * a template, or has not yet (the caller parses it in full, which also gives the right error for a bad
   * spec).
   */
  compile(words: readonly string[], start = 0): CompiledRule | null {
    for (let i = start; i < words.length; i++) if (!plainWord(words[i]!)) return null;
    return this.compileText(words.slice(start).join(' '), 0);
  }

  /** As compile, for the spec that starts at `from` in `text`, which isPlainSpec. */
  compileText(text: string, from: number): CompiledRule | null {
    const cuts = this.#cuts;
    const fields = this.#fields;
    cuts.length = 0;
    fields.length = 0;
    for (let at = from; at < text.length; ) {
      let end = text.indexOf(' ', at);
      if (end < 0) end = text.length;
      const field = addressOption(text, at, end);
      if (field === null) {
        at = end + 1;
        continue;
      }
      const valueAt = end + 1;
      if (valueAt >= text.length || text.charCodeAt(valueAt) === 33 /* ! */) return null;
      let valueEnd = text.indexOf(' ', valueAt);
      if (valueEnd < 0) valueEnd = text.length;
      const comma = text.indexOf(',', valueAt);
      if (comma >= 0 && comma < valueEnd) return null;
      cuts.push(valueAt, valueEnd);
      fields.push(field);
      at = valueEnd + 1;
    }
    const template = this.#sameAsLast(text, from) ?? this.#lookup(text, from);
    if (!template) return null;
    this.#last = template;
    return this.#fill(template, text);
  }

  /** The previous template, when the text around the addresses is the same. */
  #sameAsLast(text: string, from: number): Template | null {
    const last = this.#last;
    const cuts = this.#cuts;
    if (!last || last.segments.length !== cuts.length / 2 + 1) return null;
    for (let k = 0; k < last.segments.length; k++) {
      const start = k === 0 ? from : cuts[2 * k - 1]!;
      const end = k === cuts.length / 2 ? text.length : cuts[2 * k]!;
      const segment = last.segments[k]!;
      if (segment.length !== end - start || !text.startsWith(segment, start)) return null;
    }
    return last;
  }

  /**
   * A template for the spec when the spec before it had the same shape (only its addresses differed):
   * rule sets repeat a shape rule after rule (a block list, a host per rule). The previous spec is kept
   * as its text and cuts, so a spec of its own shape (each rule its own port or comment) costs a
   * comparison of a few characters, not a key to look up.
   */
  #lookup(text: string, from: number): Template | null {
    const cuts = this.#cuts;
    const previous = this.#previous;
    const same = previous !== null && sameShape(previous.text, previous.from, previous.cuts, text, from, cuts);
    if (!same) {
      this.#previous = { text, from, cuts: cuts.slice() };
      return null;
    }
    this.#previous = null;
    const segments: string[] = [];
    for (let k = 0; k <= cuts.length / 2; k++) {
      segments.push(text.slice(k === 0 ? from : cuts[2 * k - 1]!, k === cuts.length / 2 ? text.length : cuts[2 * k]!));
    }
    const compiled = this.#compile(segments.join(this.#family === 4 ? '0.0.0.0/0' : '::/0').split(' '));
    if (!compiled) return null;
    // `entry` is handed out for each spec: libiptc copies it, so one buffer serves every line.
    return { ...compiled, base: compiled.entry, entry: Buffer.from(compiled.entry), segments };
  }

  #fill(template: Template, text: string): Template {
    const { entry, base } = template;
    const l = entryLayout(this.#family);
    // Only the addresses and the counters differ from the template.
    for (let b = l.src; b < l.dmsk + l.addrLen; b++) entry[b] = base[b]!;
    for (let b = l.counters; b < l.counters + 16; b++) entry[b] = base[b]!;
    const cuts = this.#cuts;
    for (let k = 0; k < this.#fields.length; k++) {
      const field = this.#fields[k]!;
      const spec = parseAddressAsIptables(this.#family, text.slice(cuts[2 * k]!, cuts[2 * k + 1]!), field);
      const addrAt = field === 'src' ? l.src : l.dst;
      const maskAt = field === 'src' ? l.smsk : l.dmsk;
      // Stored masked, as iptables stores command-line addresses.
      for (let b = 0; b < l.addrLen; b++) {
        entry[addrAt + b] = spec.addr[b]! & spec.mask[b]!;
        entry[maskAt + b] = spec.mask[b]!;
      }
    }
    return template;
  }
}
