import { checkEntry, deleteMask, entryLayout, sameEntry, extensionCount } from '../xtables/entry.js';
import { counterValue, type Counters, type RuleFields } from './fields.js';
import type { Family } from '../xtables/shim.js';
import { formatAddressSpec, parseAddress, parseInterface, parseProtocol } from './address.js';
import { describeForInspect, type BuiltBlob, type Extension, type ExtensionOwner, type KernelOrigin } from './extension.js';
import { assembleEntry, type EntryParts } from './rule-entry.js';
import { RuleHeader } from './rule-header.js';
import { Match } from './match.js';
import type { ParameterValue } from './parameters.js';
import { Target, type TargetOptions } from './target.js';
import { parseRuleSpec, specWords } from './parse.js';
import { compileSpec, extensionsOf, parsedLabel, parsedMask, ruleOf, type ParsedRule } from './compile.js';
import { saveEntry } from './save.js';
import type { EntryForm } from './table-backend.js';
import type { PrintedRules } from '../xtables/printed.js';
import { DumpedRule } from '../xtables/dumped.js';
import { ruleComment, setRuleComment } from './comment.js';
import { parseRuleLine, parseRuleList, ruleSpecOf, type RuleLine } from './rule-line.js';

export type { Counters };

/**
 * The parameters of a match or target, in order: an object (own keys) or a Map. A null or undefined
 * value is a TypeError (Extension.unset removes a parameter).
 */
export type Parameters = Readonly<Record<string, ParameterValue>> | ReadonlyMap<string, ParameterValue>;

const DECODED_HEADER = 1;
const DECODED_EXTENSIONS = 2;
const DECODED_ALL = 3;
/** Views of the extensions were handed out before they were decoded: the decoded objects are kept by slot. */
const VIEWED = 4;
/**
 * The extensions were counted (#kernelParts): the count is kept above PARTS_SHIFT, with PRINTED_WHOLE when
 * the printed text has every one of them. A table's matches and target are asked for one after the other.
 */
const COUNTED = 8;
const PRINTED_WHOLE = 16;
const PARTS_SHIFT = 5;

/** See Rule.scratchEntry. */
let scratch = Buffer.allocUnsafeSlow(2048);

/** How a rule read back makes its standard target (a verdict, a jump or goto, a fall-through). */
const KERNEL_JUMP: TargetOptions = Object.freeze({ kernelLabel: true, goto: false });
const KERNEL_GOTO: TargetOptions = Object.freeze({ kernelLabel: true, goto: true });
/** The matches of every rule that has none: frozen, replaced (never changed) when one is added. */
const NO_MATCHES: Match[] = Object.freeze([]) as unknown as Match[];

/** @internal One rule as a decoded kernel entry gives it, for Rule.fromEntry. */
export interface KernelRule {
  entry: Buffer;
  label: string;
  standard: boolean;
  /** Its chain as the shim prints it, and its index there (see printed.ts). */
  printed?: PrintedRules;
  index?: number;
  /** The bytes `entry` is a view of, from `at`: read without making the view. */
  source?: Buffer;
  at?: number;
  /** Whether the entry's sizes were found holding together already (the shim checks dumped rules). */
  checked?: boolean;
}

/**
 * An IPv4 rule: the packet header fields it matches, its matches, and its target.
 *
 * Equivalent to the rule spec of `iptables -A CHAIN [rule spec]`.
 */
export class Rule {
  /** The address family of the class: 4 (iptables), 6 for Rule6 (ip6tables). */
  static readonly family: Family = 4;

  // A large table read back makes a Rule per rule, which its list holds while it is read: a rule's
  // fields are few, the header fields in an object of their own, made on first use.
  /** The header fields: null until first used (of a rule read back, until decoded). */
  #head: RuleHeader | null = null;
  /** NO_MATCHES (shared) until a match is added. */
  #matches: Match[] = NO_MATCHES;
  #target: Target | null = null;
  /** A kernel entry not decoded yet: reading only counters never pays for decoding. */
  #raw: KernelRule | null = null;
  /**
   * Which parts of #raw are decoded (DECODED_HEADER, DECODED_EXTENSIONS; #raw goes when both are), VIEWED,
   * and what counting its extensions found (COUNTED).
   */
  #decoded = 0;
  /** With VIEWED: the decoded extensions by slot (matches, then the target), what views of them stand for. */
  #bySlot: Extension[] | null = null;
  /**
   * A spec compiled in one call (Rule.parse) and not changed since: its entry, handed to the backend as
   * it is, and the plan its Match and Target objects are made from when first needed. Dropped when they
   * are made (an object may be changed from then on, unseen by the rule) and on any change to the rule.
   */
  #parsed: ParsedRule | null = null;

  /**
   * An empty rule: any packet, no match, no target (it counts and falls through). Equivalent to: `iptables -A CHAIN`
   */
  constructor() {}

  /** This rule's address family: 4 (Rule) or 6 (Rule6). */
  get family(): Family {
    return (this.constructor as typeof Rule).family;
  }

  /**
   * Parses an iptables rule spec, as `iptables -A CHAIN` takes it after the chain name: a string split
   * as iptables-restore splits a line (double quotes, `\` escapes inside them; so toString()'s text reads
   * back), or argv words. Numbers, addresses and protocols are read as iptables reads them (`010` is
   * octal). Throws as iptables would refuse it: RuleSyntaxError for the grammar, XTablesError for what an
   * extension refuses, TypeError/RangeError for bad addresses or interfaces. A whole rule line
   * (`-A INPUT ...`, `-I INPUT 2 ...`, as iptables-save writes it) is taken too: its chain is dropped
   * (Rule.parseLine reports it), its `[packets:bytes]` become the counters.
   *
   * Equivalent to: `iptables -A CHAIN -s 10.0.0.1 -p tcp --dport 80 -j ACCEPT` (the part after CHAIN)
   */
  static parse<R extends Rule>(this: new () => R, spec: string | readonly string[]): R {
    const words = specWords(ruleSpecOf(spec));
    const compiled = compileSpec((this as unknown as typeof Rule).family, words);
    return compiled ? ruleOf(new this(), compiled) : parseRuleSpec(new this(), words);
  }

  /**
   * Parses a rule line with its command and chain, as iptables-save, `iptables -S` and go-iptables'
   * `List` write it: `-A INPUT -p tcp --dport 22 -j ACCEPT`, `-I INPUT 2 ...` (also `-R CHAIN n`,
   * `-D CHAIN`, `-C CHAIN`, a leading `-t TABLE`, and `iptables-save -c`'s `[packets:bytes]`, which
   * become the rule's counters). Returns the chain, the command, the 0-based position of `-I`/`-R` and
   * the rule. Rule.parse takes the same lines and keeps only the rule. Throws RuleSyntaxError for a line
   * without a command, and as parse does.
   *
   * Equivalent to: `iptables -I INPUT 2 -p tcp --dport 22 -j ACCEPT` (what it would do, without doing it)
   */
  static parseLine<R extends Rule>(this: new () => R, line: string | readonly string[]): RuleLine<R> {
    return parseRuleLine(this, line);
  }

  /**
   * As parse, but `-s` and `-d` may list addresses (`-s 10.0.0.1,10.0.0.2`): one rule per source and
   * destination, sources outer, in the order iptables appends them. A spec without lists gives one rule.
   *
   * Equivalent to: the rules `iptables -A CHAIN -s 10.0.0.1,10.0.0.2 -d 10.1.0.0/16 -j DROP` appends
   */
  static parseAll<R extends Rule>(this: new () => R, line: string | readonly string[]): R[] {
    return parseRuleList(this, (this as unknown as typeof Rule).family, line);
  }

  /**
   * @internal A JS-owned rule for a kernel entry, decoded on first use. Throws RangeError at once if the entry's
   * sizes and offsets do not hold together.
   */
  static fromEntry<R extends Rule>(this: new () => R, raw: KernelRule): R {
    const rule = new this();
    if (raw.checked !== true) checkEntry(rule.family, raw.entry);
    rule.#raw = raw;
    return rule;
  }

  /** Decodes the kernel entry on first use of anything but the counters; makes a parsed rule's objects. */
  #ensure(): void {
    if (this.#parsed !== null) this.#makeExtensions();
    if (this.#raw === null) return;
    void this.#fields;
    this.#ensureExtensions();
  }

  /** The header fields, decoded alone (reading a field needs no Match or Target objects). */
  get #fields(): RuleHeader {
    const raw = this.#raw;
    if (raw !== null && !(this.#decoded & DECODED_HEADER)) {
      this.#head = RuleHeader.fromKernel(this.family, raw.source ?? raw.entry, raw.source ? raw.at! : 0);
      this.#decoded |= DECODED_HEADER;
      if ((this.#decoded & DECODED_ALL) === DECODED_ALL) this.#raw = null;
    }
    this.#head ??= new RuleHeader(this.family);
    return this.#head;
  }

  /** Decodes the matches and target alone: reading them needs no header fields. */
  #ensureExtensions(): void {
    if (this.#parsed !== null) this.#makeExtensions();
    const raw = this.#raw;
    if (raw === null || this.#decoded & DECODED_EXTENSIONS) return;
    this.#decodeExtensions(raw);
    this.#decoded |= DECODED_EXTENSIONS;
    if ((this.#decoded & DECODED_ALL) === DECODED_ALL) this.#raw = null;
  }

  /** @internal The entry header extensions' save() reads: the kernel's own while undecoded. */
  ipHeader(): Buffer {
    if (this.#raw) return this.#raw.entry.subarray(0, entryLayout(this.family).header);
    return this.#head?.kernel ?? this.headerBuffer();
  }

  /** How many extensions a rule read back has (its matches, then its target), and the origin they share. */
  #kernelParts(raw: KernelRule): { count: number; origin: KernelOrigin } {
    const family = this.family;
    const source = raw.source ?? raw.entry;
    const base = raw.source ? raw.at! : 0;
    let count: number;
    let whole: boolean;
    if (this.#decoded & COUNTED) {
      count = this.#decoded >> PARTS_SHIFT;
      whole = (this.#decoded & PRINTED_WHOLE) !== 0;
    } else {
      // Counted, not viewed: a match's blob is viewed only when something needs its bytes.
      count = extensionCount(family, source, base);
      whole = raw.printed !== undefined && raw.printed.extensionCount(raw.index!) === count - (raw.standard ? 1 : 0);
      this.#decoded |= COUNTED | (whole ? PRINTED_WHOLE : 0) | (count << PARTS_SHIFT);
    }
    // Printed with its chain: the extensions' texts need no save() of their own.
    const printed = whole ? raw.printed! : null;
    // A dumped rule printed with its chain is its extensions' origin itself: one object fewer per rule.
    const origin: KernelOrigin =
      printed && raw instanceof DumpedRule ? raw : { family, source, base, printed, index: raw.index ?? 0 };
    return { count, origin };
  }

  /** Whether a rule read back goes to its chain (`-g`) rather than jumping. */
  #kernelGoto(raw: KernelRule): boolean {
    const l = entryLayout(this.family);
    return ((raw.source ?? raw.entry)[(raw.source ? raw.at! : 0) + l.flags]! & l.gotoFlag) !== 0;
  }

  #kernelTarget(raw: KernelRule, origin: KernelOrigin, k: number, goto: boolean, view: boolean): Target {
    if (!raw.standard) return new Target(this, raw.label, { kernelBlob: origin, kernelK: k, view });
    return new Target(this, raw.label, view ? { kernelLabel: true, goto, kernelK: k, view } : goto ? KERNEL_GOTO : KERNEL_JUMP);
  }

  #decodeExtensions(raw: KernelRule): void {
    const { count, origin } = this.#kernelParts(raw);
    const matches = new Array<Match>(count - 1);
    for (let i = 0; i < matches.length; i++) matches[i] = new Match(this, '', undefined, origin, i);
    this.#matches = matches;
    this.#target = this.#kernelTarget(raw, origin, count - 1, this.#kernelGoto(raw), false);
    if (this.#decoded & VIEWED) this.#bySlot = [...matches, this.#target];
  }

  /** @internal See ExtensionOwner.kernelExtension. */
  kernelExtension(k: number, make: boolean): Extension | undefined {
    if (!(this.#decoded & DECODED_EXTENSIONS)) {
      if (!make) return undefined;
      this.#ensure();
    }
    return this.#bySlot?.[k];
  }

  /**
   * A parsed rule's Match and Target objects, made from its plan. Its entry goes first: once an object
   * exists it can change without the rule knowing, so the rule is laid out from its objects from then on.
   */
  #makeExtensions(): void {
    const parsed = this.#parsed!;
    this.#parsed = null;
    let made: ReturnType<typeof extensionsOf>;
    try {
      made = extensionsOf(this, parsed);
    } catch (e) {
      this.#parsed = parsed;
      throw e;
    }
    if (made.matches.length > 0) this.#matches = made.matches;
    this.#target = made.target;
  }

  /**
   * @internal Takes a spec compiled in one call (compile.ts's ruleOf): its header fields now, its Match and
   * Target objects when first needed; until then (and unless changed) its entry is the rule's.
   */
  adoptParsed(fields: RuleFields, parsed: ParsedRule): void {
    if (this.#raw !== null || this.#parsed !== null || this.#matches !== NO_MATCHES || this.#target !== null) {
      throw new TypeError('adoptParsed takes a new rule');
    }
    this.#head = RuleHeader.of(this.family, fields);
    this.#parsed = parsed;
  }

  /**
   * @internal The standard target's label as `target?.standardTarget` reads it (null for a target
   * extension, undefined for no target), without making a parsed rule's objects.
   */
  standardLabel(): string | null | undefined {
    return this.#parsed !== null ? parsedLabel(this.#parsed) : this.target?.standardTarget;
  }

  /** The parsed entry while it is still the rule's, for a backend of either form (see ParsedRule.current). */
  #parsedEntry(): Buffer | null {
    const parsed = this.#parsed;
    return parsed !== null && parsed.current ? parsed.entry : null;
  }

  #changed(): void {
    this.#parsed = null;
    this.#fields.changed();
  }

  /**
   * Source address: `[!]addr[/mask|/prefix]`; reads back as `addr/mask` (dotted for IPv4).
   *
   * Equivalent to: `[!] -s addr[/mask]`
   */
  get src(): string {
    return formatAddressSpec(this.family, this.#fields.src);
  }

  /** `''` means any address; null and undefined are a TypeError. */
  set src(value: string) {
    this.#ensure();
    this.#fields.src = parseAddress(this.family, value, 'src');
    this.#changed();
  }

  /** Destination address, as `src`. Equivalent to: `[!] -d addr[/mask]` */
  get dst(): string {
    return formatAddressSpec(this.family, this.#fields.dst);
  }

  /** `''` means any address; null and undefined are a TypeError. */
  set dst(value: string) {
    this.#ensure();
    this.#fields.dst = parseAddress(this.family, value, 'dst');
    this.#changed();
  }

  /**
   * Input interface: `[!]name`, `eth+` for a prefix; null when any. A name read back whose bytes are not
   * ASCII (iptables takes any; iptc refuses to write one) reads as those bytes in Latin-1, one character
   * a byte, as the rule writes it back; toString() and save() print it as iptables-save does.
   *
   * Equivalent to: `[!] -i name`
   */
  get inInterface(): string | null {
    const spec = this.#fields.in;
    return spec.name === '' ? null : `${spec.invert ? '!' : ''}${spec.name}`;
  }

  /** `[!]name` or `name+`; null (or '') for any. Equivalent to: `[!] -i name` */
  set inInterface(value: string | null) {
    this.#ensure();
    this.#fields.in = parseInterface(value, 'inInterface');
    this.#changed();
  }

  /** Output interface, as `inInterface`. Equivalent to: `[!] -o name` */
  get outInterface(): string | null {
    const spec = this.#fields.out;
    return spec.name === '' ? null : `${spec.invert ? '!' : ''}${spec.name}`;
  }

  /** `[!]name` or `name+`; null (or '') for any. Equivalent to: `[!] -o name` */
  set outInterface(value: string | null) {
    this.#ensure();
    this.#fields.out = parseInterface(value, 'outInterface');
    this.#changed();
  }

  /**
   * Protocol: a name or number, `!` to invert; reads back lower-case, '' when any.
   *
   * Equivalent to: `[!] -p protocol`
   */
  get protocol(): string {
    const spec = this.#fields.proto;
    return spec.number === 0 ? '' : `${spec.invert ? '!' : ''}${spec.text}`;
  }

  /** A name (`tcp`), a number (`6`), `!` to invert; '' or null for any. Equivalent to: `[!] -p tcp` */
  set protocol(value: string | number | null) {
    this.#ensure();
    this.#fields.proto = parseProtocol(value);
    this.#changed();
  }

  /** The rule matches second and further fragments only. Equivalent to: `-f` */
  get fragment(): boolean {
    return this.#fields.fragment === 1;
  }

  /** Equivalent to: `-f` */
  set fragment(value: boolean) {
    this.#ensure();
    if (typeof value !== 'boolean') throw new TypeError('fragment takes a boolean');
    this.#fields.fragment = value ? 1 : 0;
    this.#changed();
  }

  /** The rule matches unfragmented packets and first fragments only. Equivalent to: `! -f` */
  get fragmentInverted(): boolean {
    return this.#fields.fragment === -1;
  }

  /** Equivalent to: `! -f` */
  set fragmentInverted(value: boolean) {
    this.#ensure();
    if (typeof value !== 'boolean') throw new TypeError('fragmentInverted takes a boolean');
    this.#fields.fragment = value ? -1 : 0;
    this.#changed();
  }

  /**
   * The matches, in the order iptables applies them (a copy of the list). Of a rule read back and not
   * changed, each call gives new objects, views of its matches that nothing keeps (reading a large
   * table then leaves none behind); any of them acts as the one match it shows: a change through one is
   * the rule's, and every view of that match reads it. Equivalent to: the `-m NAME ...` parts of the spec
   */
  get matches(): Match[] {
    const raw = this.#raw;
    if (raw !== null && !(this.#decoded & DECODED_EXTENSIONS)) {
      // Views, kept by nothing: reading a large table's matches leaves no objects behind (see Extension).
      this.#decoded |= VIEWED;
      const { count, origin } = this.#kernelParts(raw);
      const views = new Array<Match>(count - 1);
      for (let i = 0; i < views.length; i++) views[i] = new Match(this, '', undefined, origin, i, true);
      return views;
    }
    this.#ensureExtensions();
    return this.#matches.slice();
  }

  /**
   * Creates a match, sets its parameters in order and adds it to the rule. python-iptables: `rule.create_match(name)`.
   *
   * Equivalent to: `-m NAME --param value ...` in the rule spec
   */
  createMatch(name: string, params?: Parameters, opts: { revision?: number } = {}): Match {
    this.#ensure();
    const match = new Match(this, name, opts.revision);
    if (params !== undefined) match.setParameters(params);
    if (this.#matches === NO_MATCHES) this.#matches = [match];
    else this.#matches.push(match);
    return match;
  }

  /**
   * Adds a match made with `new Match(rule, name)` at the end. python-iptables: `rule.add_match(m)`.
   *
   * Equivalent to: `-m NAME ...` in the rule spec
   */
  addMatch(match: Match): void {
    this.#ensure();
    if (!(match instanceof Match)) throw new TypeError('addMatch takes a Match');
    const own = match.own();
    if (this.#matches === NO_MATCHES) this.#matches = [own];
    else this.#matches.push(own);
  }

  /** Removes a match (the same object, or an equal one); TypeError if none. Equivalent to: leaving `-m NAME ...` out */
  removeMatch(match: Match): void {
    this.#ensure();
    const own = match instanceof Match ? match.own() : match;
    const at = this.#matches.findIndex((m) => m === own || m.equals(own));
    if (at < 0) throw new TypeError(`the rule has no such match (${match.name})`);
    this.#matches.splice(at, 1);
  }

  /**
   * What the rule does with a packet it matches; null for none (it counts and falls through). Of a rule
   * read back and not changed, a new view each call, as `matches` gives. Equivalent to: `-j TARGET`
   */
  get target(): Target | null {
    const raw = this.#raw;
    if (raw !== null && !(this.#decoded & DECODED_EXTENSIONS)) {
      this.#decoded |= VIEWED;
      const { count, origin } = this.#kernelParts(raw);
      return this.#kernelTarget(raw, origin, count - 1, this.#kernelGoto(raw), true);
    }
    this.#ensureExtensions();
    return this.#target;
  }

  /** Sets the target: a Target, a verdict or chain name, or null for none (fall through). */
  set target(value: Target | string | null) {
    this.#ensure();
    if (typeof value === 'string') value = new Target(this, value);
    if (value !== null && !(value instanceof Target)) throw new TypeError('target must be a Target, a name or null');
    this.#target = value?.own() ?? null;
  }

  /**
   * Creates a target, sets its parameters and makes it the rule's target. python-iptables: `rule.create_target(name)`.
   *
   * Equivalent to: `-j NAME --param value ...` (with `goto`: `-g CHAIN`) in the rule spec
   */
  createTarget(name: string, params?: Parameters, opts: { goto?: boolean; revision?: number } = {}): Target {
    this.#ensure();
    const target = new Target(this, name, opts);
    if (params !== undefined) target.setParameters(params);
    this.#target = target;
    return target;
  }

  /**
   * The comment (the text of the rule's `comment` match), or undefined when it has none. Setting a
   * string replaces the text of the first comment match, or adds one at the end; longer than 255 bytes
   * is a RangeError (iptables would cut it short). null or '' removes every comment match; undefined is
   * a TypeError. Table.deleteOwned finds rules by it.
   *
   * Equivalent to: `-m comment --comment "TEXT"` in the rule spec
   */
  get comment(): string | undefined {
    return ruleComment(this);
  }

  /** A text (replaces the first comment match's), or null / '' to remove every comment match. */
  set comment(value: string | null) {
    setRuleComment(this, value);
  }

  /**
   * The packet and byte counters: the kernel's when read from a chain. Equivalent to: `iptables-save -c`'s
   * `[packets:bytes]`
   */
  get counters(): Counters {
    const raw = this.#raw;
    if (raw) {
      const source = raw.source ?? raw.entry;
      const at = (raw.source ? raw.at! : 0) + entryLayout(this.family).counters;
      return { packets: source.readBigUInt64LE(at), bytes: source.readBigUInt64LE(at + 8) };
    }
    return { ...this.#fields.counters };
  }

  /** The counters, as `counters`. python-iptables: `rule.get_counters()`. Equivalent to: `iptables -L CHAIN -v -x` */
  getCounters(): Counters {
    return this.counters;
  }

  /** Counters to install with the rule when it is added (as `iptables -A ... -c packets bytes`). */
  setCounters(packets: bigint | number, bytes: bigint | number): void {
    this.#ensure();
    const fields = this.#fields;
    fields.counters = { packets: counterValue(packets, 'packets'), bytes: counterValue(bytes, 'bytes') };
    this.#parsed = null;
    fields.encoded = null;
  }

  /** Whether the target is a goto: the entry header's goto flag is the target's. */
  #goto(): boolean {
    return this.#target?.goto === true;
  }

  /** @internal See ExtensionOwner.parseKey. */
  parseKey(): number {
    this.#ensure();
    return this.#fields.parseKey(this.#goto());
  }

  /** @internal The entry header (ipt_entry / ip6t_entry) without matches or target; extensions parse against it. */
  headerBuffer(): Buffer {
    this.#ensure();
    return this.#fields.bytes(this.#goto());
  }

  /** The parts of the entry, after every extension's final check, in the form the backend takes. */
  #parts(form: EntryForm): EntryParts {
    this.#ensure();
    const target = this.#target ?? new Target(this, '');
    const matches = new Array<BuiltBlob>(this.#matches.length);
    for (let i = 0; i < matches.length; i++) matches[i] = this.#matches[i]!.finalBlob();
    return { matches, target: form === 'nft' ? target.nftBlob() : target.finalBlob() };
  }

  /** Header, matches and target in one buffer: a new one, or the start of `into` when it is large enough. */
  #assemble(parts: EntryParts, into?: Buffer): Buffer {
    return assembleEntry(this.family, this.#fields.entryHeader(this.#goto()), parts, into);
  }

  /**
   * @internal The whole kernel entry: header, matches and target, after every extension's final check, in
   * the form of a backend (see EntryForm; libxtables' own by default).
   */
  toEntry(form: EntryForm = 'xtables'): Buffer {
    const parsed = this.#parsedEntry();
    return parsed !== null ? Buffer.from(parsed) : this.#assemble(this.#parts(form));
  }

  /** @internal The entry and the mask a delete by specification compares it with (iptables' make_delete_mask). */
  toEntryWithMask(form: EntryForm = 'xtables'): { entry: Buffer; mask: Buffer } {
    const parsed = this.#parsedEntry();
    if (parsed !== null) return { entry: Buffer.from(parsed), mask: parsedMask(this.#parsed!) };
    const parts = this.#parts(form);
    return { entry: this.#assemble(parts), mask: deleteMask(this.family, parts.matches, parts.target) };
  }

  /**
   * @internal The entry, and with `withMask` its delete mask, in a buffer every rule shares: valid until
   * the next call, for a libiptc call that copies it at once. The buffer may run past the entry's end.
   */
  scratchEntry(withMask: boolean, form: EntryForm = 'xtables'): { entry: Buffer; mask: Buffer | null } {
    // A parsed rule's own entry, which no caller writes to: as valid as the shared buffer.
    const parsed = this.#parsedEntry();
    if (parsed !== null) return { entry: parsed, mask: withMask ? parsedMask(this.#parsed!) : null };
    const parts = this.#parts(form);
    let entry = this.#assemble(parts, scratch);
    if (entry !== scratch) {
      scratch = Buffer.allocUnsafeSlow(entry.length * 2);
      entry = this.#assemble(parts, scratch);
    }
    return { entry, mask: withMask ? deleteMask(this.family, parts.matches, parts.target) : null };
  }

  /**
   * Whether the kernel would take the two rules as the same for a delete; counters are ignored.
   *
   * Equivalent to: `iptables -C CHAIN other` succeeding where this rule is the chain's only rule
   */
  equals(other: Rule): boolean {
    if (!(other instanceof Rule) || other.family !== this.family) return false;
    const a = this.toEntryWithMask();
    return sameEntry(this.family, a.entry, other.toEntry(), a.mask);
  }

  /**
   * The rule spec exactly as `iptables-legacy-save` prints it after `-A CHAIN `, e.g.
   * `-s 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT`.
   */
  toString(): string {
    const raw = this.#raw;
    if (raw) {
      const line = raw.printed?.line(raw.index!);
      if (typeof line === 'string') return line;
      const printed = raw.printed?.text(raw.index!);
      const source = raw.source ?? raw.entry;
      // A printed rule needs no label: the shim printed its target.
      return saveEntry(this.family, source, raw.source ? raw.at! : 0, typeof printed === 'string' ? '' : raw.label, raw.standard, printed);
    }
    this.#ensure();
    let text = this.#fields.saveText(this.#goto());
    for (const m of this.#matches) text += ` -m ${m.name}${m.saveText()}`;
    const target = this.#target;
    if (target) {
      if (target.standardTarget === null) text += ` -j ${target.name}${target.saveText()}`;
      else if (target.standardTarget !== '') text += ` -${target.goto ? 'g' : 'j'} ${target.standardTarget}`;
    }
    return text.trimStart();
  }

  /** What console.log and util.inspect show: the class and the rule spec, e.g. `Rule [-p tcp -j ACCEPT]`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return describeForInspect(this);
  }
}

/**
 * An IPv6 rule. As Rule, without the fragment flag (use the `frag` match).
 *
 * Equivalent to the rule spec of `ip6tables -A CHAIN [rule spec]`.
 */
export class Rule6 extends Rule {
  /** 6: ip6tables. */
  static override readonly family: Family = 6;

  /** Always false: IPv6 has no fragment flag. */
  override get fragment(): boolean {
    return false;
  }

  /** A TypeError: use the `frag` match. */
  override set fragment(_value: boolean) {
    throw new TypeError('IPv6 rules have no fragment flag; use the `frag` match');
  }

  /** Always false: IPv6 has no fragment flag. */
  override get fragmentInverted(): boolean {
    return false;
  }

  /** A TypeError: use the `frag` match. */
  override set fragmentInverted(_value: boolean) {
    throw new TypeError('IPv6 rules have no fragment flag; use the `frag` match');
  }
}
