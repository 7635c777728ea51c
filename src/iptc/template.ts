// Rule specs that differ only in their `-s`/`-d` addresses share one parse: large rule sets repeat the
// same shape thousands of times, and parsing through the extensions is what restore spends its time on.
import { entryLayout } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import { parseAddress } from './address.js';
import type { Rule } from './rule.js';

const ADDRESS_OPTIONS: Record<string, 'src' | 'dst'> = {
  '-s': 'src', '--source': 'src', '--src': 'src', '-d': 'dst', '--destination': 'dst', '--dst': 'dst',
};

interface Template extends CompiledRule {
  /** The entry parsed with every address left out. */
  base: Buffer;
}

export interface CompiledRule {
  /** Valid until the next compile() of the same shape: hand it to libiptc (which copies it) at once. */
  entry: Buffer;
  mask: Buffer;
  /** The template's rule: the same target and matches as this line (not its addresses or counters). */
  rule: Rule;
}

const MAX_TEMPLATES = 10_000;

export class RuleTemplates {
  readonly #parse: (words: string[]) => Rule;
  readonly #family: Family;
  readonly #templates = new Map<string, Template>();

  constructor(family: Family, parse: (words: string[]) => Rule) {
    this.#family = family;
    this.#parse = parse;
  }

  /**
   * The entry of a rule spec, from a template when one fits. Returns null when the spec cannot share a
   * template (the caller parses it in full, which also gives the right error for a bad spec).
   */
  compile(words: string[], start = 0): CompiledRule | null {
    const slots: number[] = [];
    for (let i = start; i < words.length - 1; i++) {
      const word = words[i]!;
      if (word.charCodeAt(0) !== 45 /* - */ || ADDRESS_OPTIONS[word] === undefined) continue;
      const value = words[++i]!;
      if (value.startsWith('!') || value.includes(',')) return null;
      slots.push(i);
    }
    // The key is the words with the addresses left out (a native join: this runs once per line).
    const any = this.#family === 4 ? '0.0.0.0/0' : '::/0';
    const values = slots.map((i) => words[i]!);
    for (const i of slots) words[i] = any;
    const key = words.join('\0');
    slots.forEach((i, n) => (words[i] = values[n]!));
    let template = this.#templates.get(key);
    if (!template) {
      const keyWords = words.slice(start);
      for (const index of slots) keyWords[index - start] = any;
      let rule: Rule;
      try {
        rule = this.#parse(keyWords);
      } catch {
        return null;
      }
      const { entry, mask } = rule.toEntryWithMask();
      // `entry` is handed out for each line: libiptc copies it, so one buffer serves every line.
      template = { base: entry, entry: Buffer.from(entry), mask, rule };
      if (this.#templates.size >= MAX_TEMPLATES) this.#templates.clear();
      this.#templates.set(key, template);
    }
    const { entry, base } = template;
    const l = entryLayout(this.#family);
    // Only the addresses and the counters differ from the template.
    for (let b = l.src; b < l.dmsk + l.addrLen; b++) entry[b] = base[b]!;
    for (let b = l.counters; b < l.counters + 16; b++) entry[b] = base[b]!;
    for (const index of slots) {
      const field = ADDRESS_OPTIONS[words[index - 1]!]!;
      const spec = parseAddress(this.#family, words[index]!, field);
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
