// A rule spec read by the grammar (parse.ts) into a plan, and compiled by the shim in one call: the fast
// path of Rule.parse and of restore. Building each option through the extension as it comes (the
// RuleSink of parse.ts) crosses into C once per option and once per final check, and makes the rule's
// objects; iptables-restore does the whole line in C. The plan path is taken only where it gives what
// the option-by-option path gives; anything else (an error, an address list, a parser that reads the
// protocol before `-p` is given) is left to that path, which also words every error.
import { compilable, compileRule, CompileSlot, PLAN_MATCH, PLAN_STANDARD, PLAN_TARGET, samePlan, type CompiledEntry } from '../xtables/compile.js';
import { deleteMaskOfSizes, encodeHeaderInto, entryLayout } from '../xtables/entry.js';
import { readsKernelState, type BuiltExtension, type ExtensionOption, type Family } from '../xtables/shim.js';
import { parseInterface, parseProtocol, type AddressSpec } from './address.js';
import { ANY_ADDRESS, NO_INTERFACE, NO_PROTOCOL, ZERO_COUNTERS } from './kernel-fields.js';
import { checkExtensionExists } from './extension.js';
import { flagBytes, headerOf, parseKeyOf, withGoto, type RuleFields } from './fields.js';
import { GUARD_DROP, GUARD_IN, GUARD_OUT } from './guards.js';
import { Match } from './match.js';
import { RuleParser, type RuleSink } from './parse.js';
import type { Rule } from './rule.js';
import { isStandardTarget, Target } from './target.js';

const VERDICTS = new Set(['ACCEPT', 'DROP', 'QUEUE', 'RETURN']);

interface PlannedOption extends ExtensionOption {
  /** The header's parse key when the option came: parsers read the header as it is then. */
  key: number;
}

/** One extension of the plan: a match, a target extension, or a standard target (verdict, chain, ''). */
interface PlannedExtension {
  kind: typeof PLAN_MATCH | typeof PLAN_TARGET | typeof PLAN_STANDARD;
  name: string;
  options: PlannedOption[];
  /** What the compile reported of it: its size in the entry, its userspacesize and revision. */
  size: number;
  userspacesize: number;
  revision: number;
}

const planned = (kind: PlannedExtension['kind'], name: string): PlannedExtension =>
  ({ kind, name, options: [], size: 0, userspacesize: 0, revision: 0 });


/** The sink that records a rule spec as fields and a plan, without building anything. */
class PlanSink implements RuleSink<PlannedExtension> {
  readonly family: Family;
  readonly fields: RuleFields;
  readonly matches: PlannedExtension[] = [];
  given: PlannedExtension | null = null;
  goto = false;
  #key = -1;
  readonly #header: Buffer;

  constructor(family: Family, header: Buffer) {
    this.family = family;
    this.#header = header;
    const any = ANY_ADDRESS[family];
    this.fields = { src: any, dst: any, in: NO_INTERFACE, out: NO_INTERFACE, proto: NO_PROTOCOL, fragment: 0, counters: ZERO_COUNTERS };
  }

  /** The parse key of the header as it is now (see ExtensionOwner.parseKey). */
  key(): number {
    if (this.#key < 0) this.#key = parseKeyOf(this.fields, this.flags());
    return this.#key;
  }

  flags(): number {
    return withGoto(this.family, flagBytes(this.family, this.fields), this.goto);
  }

  address(field: 'src' | 'dst', spec: AddressSpec): void {
    this.fields[field] = spec;
    this.#key = -1;
  }

  iface(field: 'inInterface' | 'outInterface', value: string): void {
    this.fields[field === 'inInterface' ? 'in' : 'out'] = parseInterface(value, field);
    this.#key = -1;
  }

  protocol(value: string): void {
    this.fields.proto = parseProtocol(value);
    this.#key = -1;
  }

  fragment(inverted: boolean): void {
    this.fields.fragment = inverted ? -1 : 1;
    this.#key = -1;
  }

  match(name: string): PlannedExtension {
    checkExtensionExists('match', this.family, name, this.#header);
    const match = planned(PLAN_MATCH, name);
    this.matches.push(match);
    return match;
  }

  target(name: string, goto: boolean): PlannedExtension | null {
    const standard = isStandardTarget(this.family, name, goto);
    if (!standard) checkExtensionExists('target', this.family, name, this.#header);
    this.given = planned(standard ? PLAN_STANDARD : PLAN_TARGET, name);
    this.goto = goto;
    this.#key = -1;
    return standard ? null : this.given;
  }

  option(ext: PlannedExtension, name: string, candidates: string[], invert: boolean): number {
    ext.options.push({ name, values: candidates, invert, key: this.key() });
    return candidates.length;
  }

  counters(packets: bigint, bytes: bigint): void {
    this.fields.counters = { packets, bytes };
  }
}

/** A rule spec compiled in one call. */
export interface CompiledSpec {
  family: Family;
  fields: RuleFields;
  matches: readonly PlannedExtension[];
  /** The target as given; a standard '' (fall through) when none was. */
  target: PlannedExtension;
  /** Whether the target was given at all (a rule object keeps no target otherwise). */
  hasTarget: boolean;
  goto: boolean;
  /** The parse key the extensions were built against. */
  key: number;
  /** The entry, in a scratch buffer valid until the next compile. */
  compiled: CompiledEntry;
  /** Whether an extension of it builds from kernel state (an ipset's index): see ParsedRule.current. */
  kernelState: boolean;
  /** The user chain the rule jumps or goes to, to check before libiptc takes the label; null for none. */
  jump: string | null;
  /** The rule's guard bits (see guards.ts). */
  guard: number;
}

/** A compile slot, with what its plan was compiled against. */
interface Slot extends CompileSlot {
  family: Family;
  key: number;
  /** False when an extension of the plan prints or builds from kernel state: never reused. */
  reusable: boolean;
}

const newSlot = (): Slot => Object.assign(new CompileSlot(), { family: 4 as Family, key: -1, reusable: false });
/**
 * Two slots, used in turn: the plan being made is compared with the last one compiled, and rules of one
 * shape (only their addresses or interfaces differ, as rule after rule of a block list) take its
 * extensions without another compile: the same plan against the same header key builds the same bytes.
 */
const slots: [Slot, Slot] = [newSlot(), newSlot()];
let last: 0 | 1 = 0;

const headers: Record<Family, Buffer> = {
  4: Buffer.alloc(entryLayout(4).header),
  6: Buffer.alloc(entryLayout(6).header),
};

/**
 * The grammar of a rule spec's words read into a plan and compiled by the shim in one call. null where
 * the option-by-option path must decide: a spec it refuses (that path words the error), `-s`/`-d` lists,
 * text the plan cannot carry (NULs, bytes that are not UTF-8), or options read before the header fields
 * they depend on were given (that path builds each option against the header of its moment, as iptables).
 */
export function compileSpec(family: Family, words: readonly string[]): CompiledSpec | null {
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (typeof word !== 'string' || !compilable(word)) return null;
  }
  const header = headers[family];
  const sink = new PlanSink(family, header);
  try {
    // Without address lists: `-s a,b` is refused, and the option-by-option path makes its rules.
    new RuleParser(sink, words, null).parse();
  } catch {
    return null;
  }
  // NFLOG's parser keeps its whole prefix beside the blob (udata), which nf_tables writes whole and the
  // one-call compile does not carry: the option-by-option path builds it.
  if (sink.given?.name === 'NFLOG') return null;
  const key = sink.key();
  const target = sink.given ?? planned(PLAN_STANDARD, '');
  const extensions = sink.matches.length + 1;
  const previous = slots[last]!;
  const slot = slots[1 - last]!;
  const plan = slot.plan;
  plan.reset();
  plan.int(extensions);
  let infoWords = 0;
  let reusable = true;
  for (let e = 0; e < extensions; e++) {
    const ext = e < sink.matches.length ? sink.matches[e]! : target;
    plan.int(ext.kind);
    plan.string(ext.name);
    plan.int(-1);
    plan.int(ext.options.length);
    infoWords += 3 + ext.options.length;
    if (ext.kind !== PLAN_STANDARD && readsKernelState(ext.kind === PLAN_MATCH ? 'match' : 'target', ext.name)) reusable = false;
    for (const o of ext.options) {
      if (o.key !== key) return null;
      plan.string(o.name);
      plan.int(o.invert ? 1 : 0);
      plan.int(o.values.length);
      for (const v of o.values) plan.string(v);
    }
  }
  encodeHeaderInto(family, headerOf(sink.fields, sink.flags()), header);
  let compiled: CompiledEntry | null;
  if (reusable && previous.reusable && previous.family === family && previous.key === key && samePlan(plan, previous.plan)) {
    // The extensions of the rule before, under this rule's header; the offsets stay the entry's.
    const l = entryLayout(family);
    const offsets = previous.out.readUInt32LE(l.targetOffset);
    previous.out.set(header, 0);
    previous.out.writeUInt32LE(offsets, l.targetOffset);
    compiled = { entry: previous.out, size: previous.size, info: previous.info };
  } else {
    compiled = compileRule(family, header, slot, infoWords);
    if (!compiled) return null;
    slot.family = family;
    slot.key = key;
    slot.reusable = reusable;
    last = last === 0 ? 1 : 0;
  }
  const info = compiled.info;
  let at = 0;
  for (let e = 0; e < extensions; e++) {
    const ext = e < sink.matches.length ? sink.matches[e]! : target;
    ext.userspacesize = info[at]!;
    ext.revision = info[at + 1]!;
    ext.size = info[at + 2]!;
    at += 3;
    // An option that took fewer words than it was offered leaves a word iptables refuses.
    for (const o of ext.options) if (info[at++] !== o.values.length) return null;
  }
  const label = target.kind === PLAN_STANDARD ? target.name : null;
  const fields = sink.fields;
  return {
    family,
    fields,
    matches: sink.matches,
    target,
    hasTarget: sink.given !== null,
    goto: sink.goto,
    key,
    compiled,
    kernelState: !reusable,
    jump: label && !VERDICTS.has(label) ? label : null,
    guard: (label === 'DROP' ? GUARD_DROP : 0) | (fields.in.name !== '' ? GUARD_IN : 0) | (fields.out.name !== '' ? GUARD_OUT : 0),
  };
}

/** The userspacesize and size of each extension of a compiled spec, in entry order (for a delete mask). */
export function compiledParts(spec: { matches: readonly PlannedExtension[]; target: PlannedExtension }): PlannedExtension[] {
  return [...spec.matches, spec.target];
}

/**
 * A rule spec compiled in one call, as a Rule keeps it until its Match and Target objects are made:
 * the entry in a buffer of its own (never written: the objects' blobs are views of it), and the plan
 * they are made from.
 */
export interface ParsedRule {
  readonly family: Family;
  readonly entry: Buffer;
  readonly matches: readonly PlannedExtension[];
  readonly target: PlannedExtension;
  readonly hasTarget: boolean;
  readonly goto: boolean;
  readonly key: number;
  /**
   * Whether the entry is what laying the rule out again would give, for a backend of either form: false
   * where an extension builds from kernel state (an ipset's index, looked up again at every build). The
   * forms differ only in an NFLOG target (see EntryForm), which compileSpec never compiles.
   */
  readonly current: boolean;
}

/** A Rule of the spec compileSpec just compiled (before any other compile): see Rule.adoptParsed. */
export function ruleOf<R extends Rule>(rule: R, spec: CompiledSpec): R {
  const { entry, size } = spec.compiled;
  const own = Buffer.allocUnsafe(size);
  entry.copy(own, 0, 0, size);
  rule.adoptParsed(spec.fields, {
    family: spec.family,
    entry: own,
    matches: spec.matches,
    target: spec.target,
    hasTarget: spec.hasTarget,
    goto: spec.goto,
    key: spec.key,
    current: !spec.kernelState,
  });
  return rule;
}

/** The standard target's label of a parsed rule, as `rule.target?.standardTarget` reads it. */
export function parsedLabel(parsed: ParsedRule): string | null | undefined {
  if (!parsed.hasTarget) return undefined;
  return parsed.target.kind === PLAN_STANDARD ? parsed.target.name : null;
}

/** The delete mask of a parsed rule's entry (iptables' make_delete_mask). */
export function parsedMask(parsed: ParsedRule): Buffer {
  return deleteMaskOfSizes(parsed.family, compiledParts(parsed));
}

/**
 * The Match and Target objects of a parsed rule, holding their builds as if each option had been set:
 * the planned options are the options as set (each took every value it was given, see compileSpec).
 */
export function extensionsOf(rule: Rule, parsed: ParsedRule): { matches: Match[]; target: Target | null } {
  const { entry, key } = parsed;
  let offset = entryLayout(parsed.family).header;
  const built = (ext: PlannedExtension): BuiltExtension => {
    const build: BuiltExtension = {
      blob: entry.subarray(offset, offset + ext.size),
      consumed: ext.options.map((o) => o.values.length),
      userspacesize: ext.userspacesize,
      revision: ext.revision,
    };
    offset += ext.size;
    return build;
  };
  const matches = parsed.matches.map((planned) => {
    const match = new Match(rule, planned.name);
    match.presetBuild(planned.options, key, built(planned));
    return match;
  });
  let target: Target | null = null;
  if (parsed.hasTarget) {
    target = new Target(rule, parsed.target.name, parsed.goto ? { goto: true } : {});
    if (parsed.target.kind === PLAN_TARGET) target.presetBuild(parsed.target.options, key, built(parsed.target));
  }
  return { matches, target };
}
