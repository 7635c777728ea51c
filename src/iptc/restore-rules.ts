// The entries of the rule specs of restore lines: from a template when the line has the shape of one
// before (only its addresses differ), else compiled in one shim call (compile.ts), else through a Rule
// object (the parse callback), which also words every refusal.
import { deleteMaskOfSizes, entryLayout } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import { jumpLabel } from './chain.js';
import { compiledParts, compileSpec } from './compile.js';
import { guardBits } from './guards.js';
import type { AddressLists } from './parse.js';
import type { Rule } from './rule.js';
import type { EntryForm } from './table-backend.js';
import { RuleTemplates, type CompiledRule } from './template.js';

/** Parses a rule spec of the table's family; with `lists`, address lists are taken (see AddressLists). */
export type ParseRule = (words: string[], lists?: AddressLists) => Rule;

export interface SpecEntry {
  /** Valid until the next spec: hand it to libiptc (which copies it) at once. */
  entry: Buffer;
  /** The delete mask (iptables' make_delete_mask); only when asked for. */
  mask: Buffer | null;
  jump: string | null;
  guard: number;
}

export type Counters = { packets: bigint; bytes: bigint };

export class RuleEntries {
  readonly #family: Family;
  readonly #parse: ParseRule;
  readonly #form: EntryForm;
  readonly templates: RuleTemplates;

  /** `form`: the form of the entries the backend takes (see EntryForm). */
  constructor(family: Family, parse: ParseRule, form: EntryForm = 'xtables') {
    this.#family = family;
    this.#parse = parse;
    this.#form = form;
    this.templates = new RuleTemplates(family, (words) => this.#owned(words));
  }

  /** A spec's entry in a buffer of its own, or null when it is not one rule (for a template). */
  #owned(words: string[]): CompiledRule | null {
    const fast = compileSpec(this.#family, words);
    if (fast) {
      return {
        entry: Buffer.from(fast.compiled.entry.subarray(0, fast.compiled.size)),
        mask: deleteMaskOfSizes(this.#family, compiledParts(fast)),
        jump: fast.jump,
        guard: fast.guard,
      };
    }
    try {
      const rule = this.#parse(words);
      return { ...rule.toEntryWithMask(this.#form), jump: jumpLabel(rule), guard: guardBits(rule) };
    } catch {
      return null;
    }
  }

  /**
   * The entries of a rule spec: one, or one per address of `-s a,b` / `-d a,b` (as iptables makes them),
   * with `counters` installed when given; `templates: false` where they were asked already. Throws as
   * iptables refuses the spec.
   */
  of(spec: string[], counters: Counters | undefined, withMask: boolean, templates = true): SpecEntry[] {
    const family = this.#family;
    const templated = templates ? this.templates.compile(spec) : null;
    if (templated) {
      if (counters) writeCounters(family, templated.entry, counters);
      return [templated];
    }
    const fast = compileSpec(family, spec);
    if (fast) {
      const entry = fast.compiled.entry.subarray(0, fast.compiled.size);
      if (counters) writeCounters(family, entry, counters);
      const mask = withMask ? deleteMaskOfSizes(family, compiledParts(fast)) : null;
      return [{ entry, mask, jump: fast.jump, guard: fast.guard }];
    }
    const lists: AddressLists = { src: [], dst: [] };
    const r = this.#parse(spec, lists);
    if (counters) r.setCounters(counters.packets, counters.bytes);
    const made = (): SpecEntry => ({ ...r.toEntryWithMask(this.#form), jump: jumpLabel(r), guard: guardBits(r) });
    if (lists.src.length <= 1 && lists.dst.length <= 1) return [made()];
    const entries: SpecEntry[] = [];
    for (const src of lists.src.length > 0 ? lists.src : [r.src]) {
      for (const dst of lists.dst.length > 0 ? lists.dst : [r.dst]) {
        r.src = src;
        r.dst = dst;
        entries.push(made());
      }
    }
    return entries;
  }
}

function writeCounters(family: Family, entry: Buffer, counters: Counters): void {
  const at = entryLayout(family).counters;
  entry.writeBigUInt64LE(counters.packets, at);
  entry.writeBigUInt64LE(counters.bytes, at + 8);
}
