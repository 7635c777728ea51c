// Rule specs that differ only in their `-s`/`-d` addresses share one parse: large rule sets repeat the
// same shape thousands of times, and parsing through the extensions is what restore spends its time on.
import { entryLayout } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import { maskedAddress, parseAddress } from './address.js';
import type { Rule } from './rule.js';

const ADDRESS_OPTIONS: Record<string, 'src' | 'dst'> = {
  '-s': 'src', '--source': 'src', '--src': 'src', '-d': 'dst', '--destination': 'dst', '--dst': 'dst',
};

interface Template {
  entry: Buffer;
  mask: Buffer;
  /** The jump label to check in the table, if the rule jumps to a user chain. */
  rule: Rule;
}

export interface CompiledRule {
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
  compile(words: readonly string[], start = 0): CompiledRule | null {
    const slots: [index: number, field: 'src' | 'dst'][] = [];
    const any = this.#family === 4 ? '0.0.0.0/0' : '::/0';
    let key = '';
    for (let i = start; i < words.length; i++) {
      const word = words[i]!;
      key += `${word}\0`;
      const field = word.charCodeAt(0) === 45 /* - */ ? ADDRESS_OPTIONS[word] : undefined;
      if (!field || i + 1 >= words.length) continue;
      const value = words[++i]!;
      if (value.startsWith('!') || value.includes(',')) return null;
      slots.push([i, field]);
      key += `${any}\0`;
    }
    let template = this.#templates.get(key);
    if (!template) {
      const keyWords = words.slice(start);
      for (const [index] of slots) keyWords[index - start] = any;
      let rule: Rule;
      try {
        rule = this.#parse(keyWords);
      } catch {
        return null;
      }
      const { entry, mask } = rule.toEntryWithMask();
      template = { entry, mask, rule };
      if (this.#templates.size >= MAX_TEMPLATES) this.#templates.clear();
      this.#templates.set(key, template);
    }
    const entry = Buffer.allocUnsafe(template.entry.length);
    template.entry.copy(entry);
    const l = entryLayout(this.#family);
    for (const [index, field] of slots) {
      const spec = maskedAddress(parseAddress(this.#family, words[index]!, field));
      spec.addr.copy(entry, field === 'src' ? l.src : l.dst);
      spec.mask.copy(entry, field === 'src' ? l.smsk : l.dmsk);
    }
    return { entry, mask: template.mask, rule: template.rule };
  }
}
