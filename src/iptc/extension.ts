// What matches and targets share: options kept as the user gave them, blobs built through the
// extension's own parser, parameters read back through the extension's own save().
import {
  buildExtension,
  extensionOptions,
  readsKernelState,
  saveExtension,
  type BuiltExtension,
  type ExtensionKind,
  type ExtensionOption,
  type Family,
  type OptionSpec,
} from '../xtables/shim.js';
import { extensionName, extensionRevision, extensionSlices } from '../xtables/entry.js';
import { XTablesError } from '../xtables/errors.js';
import { optionName, optionsFromSaveText, parametersFromSaveText, toOption, type ParameterValue } from './parameters.js';
import { buildsAt, NO_OPTIONS, siteFor, type Builds, type Site } from './builds.js';
import type { PrintedRules } from '../xtables/printed.js';

/**
 * Checks once per process that an extension exists (its plugin loads), as a Match or Target object does
 * when made; throws XTablesError if it does not. `header` is any entry header of the family.
 */
export function checkExtensionExists(kind: ExtensionKind, family: Family, name: string, header: Buffer): void {
  const site = siteFor(kind, family, name, undefined);
  if (site.exists) return;
  buildExtension(kind, family, name, undefined, header, NO_OPTIONS, false);
  site.exists = true;
}

/** @internal The rule an extension belongs to: it supplies the family and the entry header parsers may read. */
export interface ExtensionOwner {
  readonly family: Family;
  headerBuffer(): Buffer;
  /**
   * What of the header parsers read: protocol, flags and inversion flags as one number (protocol in
   * the low 16 bits, flags, then invflags), so a build can be found without encoding the header.
   */
  parseKey(): number;
  /** The header save() reads; the kernel's own for a rule read back and not modified. */
  ipHeader?(): Buffer;
  /**
   * A rule read back: its own object for extension `k` (its matches, then its target), once it has made
   * them; with `make`, made now. undefined while it has not (views of its extensions stand for them).
   */
  kernelExtension?(k: number, make: boolean): Extension | undefined;
}

/** @internal A built match or target blob, and how much of it a delete by specification compares. */
export interface BuiltBlob {
  blob: Buffer;
  userspacesize: number;
  /** What the target's parser kept beside the blob (NFLOG's whole prefix; see BuiltExtension). */
  udata?: Buffer;
}

/** Which shared builds an extension object's current options and rule header use. */
interface BuildMemo {
  options: readonly ExtensionOption[];
  headerKey: number;
  builds: Builds;
}

interface Caches {
  /** The last blob printed, and what it printed. */
  saved: { blob: Buffer; name: string; text: string; kernelState: boolean } | null;
  memo: BuildMemo | null;
  site: Site | null;
}

/**
 * @internal Where a rule read back came from, shared by its extensions: the bytes its entry is in, and its chain as
 * the shim printed it (see printed.ts) with the rule's index there, or null where it was not printed.
 */
export interface KernelOrigin {
  family: Family;
  /** The entry is `source` from `base`. */
  source: Buffer;
  base: number;
  printed: PrintedRules | null;
  index: number;
}

/**
 * What Match and Target share: a name, a revision, and parameters set and read as iptables' command
 * line and iptables-save write them.
 *
 * Equivalent to: `-m NAME --option value` / `-j NAME --option value` in a rule spec
 */
export abstract class Extension {
  /** @internal Of the prototype, not each object: a table read back holds thousands. */
  protected abstract get kind(): ExtensionKind;
  readonly #owner: ExtensionOwner;
  #name: string;
  #revision: number | undefined;
  /** The options as set; null while the extension is known only by the blob read from the kernel. */
  #options: ExtensionOption[] | null;
  /** The blob read from the kernel (while #options is null): a view made on first use of the slice below. */
  #kernelBlob: Buffer | null = null;
  /** Its rule's origin (with the texts its chain was printed with), and which of its extensions it is. */
  #origin: KernelOrigin | null = null;
  #kernelK = 0;
  /** What builds and prints remembered; made on first use (a rule read back and only read needs none). */
  #caches: Caches | null = null;
  /**
   * For a view of extension `#slot` of a rule read back (see Rule.matches), else -1. A rule read back
   * and only read makes no objects of its own for its extensions, only views that nothing keeps: reading
   * a large table then leaves no Match per match for the collector to move. Once the rule makes its own
   * (on a change), every view of the slot stands for that object, as if it were that object.
   */
  #slot = -1;

  /**
   * @internal `kernel`: the blob read from the kernel, or the origin of the rule it is extension `k` of (its
   * matches, then its target; the blob is then viewed only when needed: a rule read back holds several).
   * With `view`, a view of that extension (see #slot).
   */
  protected constructor(
    owner: ExtensionOwner,
    name: string,
    revision: number | undefined,
    kernel?: Buffer | KernelOrigin,
    k = 0,
    view = false,
  ) {
    if (typeof name !== 'string') throw new TypeError(`an extension name must be a string, got ${typeof name}`);
    if (revision !== undefined && (!Number.isInteger(revision) || revision < 0 || revision > 255)) {
      throw new RangeError(`revision must be an integer 0-255, got ${revision}`);
    }
    this.#owner = owner;
    this.#name = name;
    this.#revision = revision;
    if (kernel === undefined) {
      this.#options = [];
    } else {
      this.#options = null;
      if (Buffer.isBuffer(kernel)) {
        this.#kernelBlob = kernel;
      } else {
        this.#origin = kernel;
        this.#kernelK = k;
      }
    }
    if (view) this.#slot = k;
  }

  /**
   * The object this one is: itself, or for a view (see #slot), the rule's own object for the slot once
   * the rule has one.
   */
  protected self(): this {
    if (this.#slot < 0) return this;
    return (this.#owner.kernelExtension!(this.#slot, false) as this | undefined) ?? this;
  }

  /** @internal The object a change goes to: itself, or for a view, the rule's own object for the slot, made now. */
  own(): this {
    if (this.#slot < 0) return this;
    return this.#owner.kernelExtension!(this.#slot, true) as this;
  }

  #cached(): Caches {
    this.#caches ??= { saved: null, memo: null, site: null };
    return this.#caches;
  }

  /** The blob read from the kernel; only while #options is null. */
  #kernel(): Buffer {
    if (this.#kernelBlob === null) {
      const { family, source, base } = this.#origin!;
      const slices = extensionSlices(family, source, base);
      const at = slices[2 * this.#kernelK]!;
      this.#kernelBlob = source.subarray(at, at + slices[2 * this.#kernelK + 1]!);
    }
    return this.#kernelBlob;
  }

  /** The name as iptables-save prints it (an alias such as `state` where the extension has one). */
  get name(): string {
    const self = this.self();
    if (self !== this) return self.name;
    if (this.#options === null) return this.#savedName();
    return this.#name;
  }

  /**
   * The revision in use: the newest this kernel supports unless one was asked for. Equivalent to: `iptables -m
   * NAME --help`'s revision
   */
  get revision(): number {
    const self = this.self();
    if (self !== this) return self.revision;
    return extensionRevision(this.#currentBlob(false));
  }

  /** @internal */
  protected get family(): Family {
    return this.#owner.family;
  }

  /** @internal Options as a list; a kernel-read extension is turned into options through its save() text. */
  protected get options(): ExtensionOption[] {
    if (this.#options === null) {
      this.#name = this.#savedName();
      this.#revision = extensionRevision(this.#kernel());
      if (this.#caches) this.#caches.site = null;
      this.#options = optionsFromSaveText(this.#savedText(), this.#optionSpecs());
    }
    return this.#options;
  }

  /** @internal Builds with the given options to let the extension validate them now; keeps them only if it agrees. */
  protected applyOptions(options: ExtensionOption[]): void {
    const { consumed } = this.build(options, false);
    for (let i = 0; i < options.length; i++) {
      const o = options[i]!;
      const n = consumed[i]!;
      if (n !== o.values.length) {
        throw new XTablesError(
          this.#name,
          `${this.#name}: option "--${o.name}" takes ${n === 0 ? 'no value' : `${n} value${n > 1 ? 's' : ''}`}, ` +
            `${o.values.length} given`,
        );
      }
    }
    this.#options = options;
    this.#forgetKernel();
  }

  /** Options were set: the kernel blob and what it printed are no longer the extension. */
  #forgetKernel(): void {
    this.#kernelBlob = null;
    this.#origin = null;
    if (this.#caches) this.#caches.saved = null;
  }

  /**
   * @internal Adds one option as iptables' command line gives it: `candidates` are the words after it that
   * the extension may take (old-style parsers read extra words, as `--tcp-flags MASK COMP`). Returns how
   * many it took.
   */
  parseOption(name: string, candidates: string[], invert: boolean): number {
    const current = this.options;
    const taken = this.build([...current, { name, values: candidates, invert }], false).consumed[current.length]!;
    // A new array: the one built with every candidate is remembered as the request it was.
    this.#options = [...current, { name, values: candidates.slice(0, taken), invert }];
    this.#forgetKernel();
    return taken;
  }

  #site(): Site {
    const caches = this.#cached();
    caches.site ??= siteFor(this.kind, this.family, this.#name, this.#revision);
    return caches.site;
  }

  /** @internal */
  protected build(options: readonly ExtensionOption[], final: boolean): BuiltExtension {
    const site = this.#site();
    if (site.kernelState) {
      // The parser looks the set's index up now: a build from before may name a set since replaced.
      return buildExtension(this.kind, this.family, this.#name, this.#revision, this.#owner.headerBuffer(), options, final);
    }
    // Parsers read the protocol and the flags of the header (DNAT needs -p tcp for a port), never the
    // addresses or interfaces, so rules that differ only there share one parse.
    const headerKey = this.#owner.parseKey();
    const caches = this.#cached();
    let memo = caches.memo;
    if (!memo || memo.options !== options || memo.headerKey !== headerKey) {
      memo = { options, headerKey, builds: buildsAt(site, headerKey, options) };
      caches.memo = memo;
    }
    const done = final ? memo.builds.final : memo.builds.partial;
    if (done) return done;
    const built = buildExtension(this.kind, this.family, this.#name, this.#revision, this.#owner.headerBuffer(), options, final);
    if (final) memo.builds.final = built;
    else memo.builds.partial = built;
    return built;
  }

  /**
   * @internal Takes options and the final build they made against a header with this parse key (a rule
   * compiled in one call, see compile.ts), as if each option had been set and the rule built.
   */
  presetBuild(options: ExtensionOption[], headerKey: number, built: BuiltExtension): void {
    this.#options = options;
    this.#forgetKernel();
    this.#cached().memo = { options, headerKey, builds: { final: built } };
  }

  /** @internal Checks once per process that the extension exists (its plugin loads), without options. */
  protected checkExists(): void {
    const site = this.#site();
    if (site.exists) return;
    this.build(NO_OPTIONS, false);
    site.exists = true;
  }

  #currentBlob(final: boolean): Buffer {
    if (this.#options === null) return this.#kernel();
    return this.build(this.#options, final).blob;
  }

  /** @internal The blob to put in a rule entry, after the extension's final check. */
  finalBlob(): BuiltBlob {
    if (this.#options === null) {
      const blob = this.#kernel();
      return { blob, userspacesize: this.kernelUserspacesize(blob) };
    }
    return this.build(this.#options, true);
  }

  /** @internal */
  protected abstract kernelUserspacesize(blob: Buffer): number;

  /** What the extension would put in the kernel (after its final check), or, while incomplete, what it has. */
  #displayBlob(): Buffer {
    if (this.#options === null) return this.#kernel();
    try {
      return this.build(this.#options, true).blob;
    } catch (e) {
      if (e instanceof XTablesError) return this.build(this.#options, false).blob;
      throw e;
    }
  }

  /** The name save() prints: as the shim printed it with its rule's chain, else printed now. */
  #savedName(): string {
    const origin = this.#options === null ? this.#origin : null;
    return origin?.printed?.extensionName(origin.index, this.#kernelK) ?? this.#save().name;
  }

  #savedText(): string {
    const origin = this.#options === null ? this.#origin : null;
    return origin?.printed?.extensionText(origin.index, this.#kernelK) ?? this.#save().text;
  }

  #save(): { name: string; text: string } {
    const blob = this.#displayBlob();
    const caches = this.#cached();
    const known = caches.saved;
    if (known?.blob === blob && !known.kernelState) return known;
    const header = this.#owner.ipHeader?.() ?? this.#owner.headerBuffer();
    const saved = saveExtension(this.kind, this.family, header, blob);
    caches.saved = { blob, ...saved, kernelState: readsKernelState(this.kind, saved.name) };
    return caches.saved;
  }

  /** The extension's options as getopt sees them; null if it cannot tell (the text is then read without). */
  #optionSpecs(): OptionSpec[] | null {
    try {
      return extensionOptions(this.kind, this.family, this.#name || this.#savedName(), this.#revision);
    } catch {
      return null;
    }
  }

  /**
   * What option a name stands for, as getopt_long finds it (an exact name, else an unambiguous prefix):
   * aliases such as `hashlimit` and `hashlimit-upto` share the extension's code for it, so setting one
   * replaces the other. A name the extension does not know stands for itself (its parser refuses it).
   */
  #takesValue(name: string): boolean {
    const specs = this.#optionSpecs() ?? [];
    const found = specs.find((o) => o.name === name) ?? specs.find((o) => o.name.startsWith(name));
    return found?.hasArg === 1;
  }

  #optionKey(name: string): string {
    const site = this.#site();
    let key = site.optionKeys.get(name);
    if (key === undefined) {
      const specs = this.#optionSpecs() ?? [];
      const exact = specs.find((o) => o.name === name);
      const prefixed = exact ? [exact] : specs.filter((o) => o.name.startsWith(name));
      key = prefixed.length > 0 && prefixed.every((o) => o.code === prefixed[0]!.code) ? `#${prefixed[0]!.code}` : `=${name}`;
      if (site.optionKeys.size < 1000) site.optionKeys.set(name, key);
    }
    return key;
  }

  /**
   * The parameters text exactly as the extension's save() prints it (with a leading space). Equivalent to:
   * `iptables-save`
   */
  saveText(): string {
    const self = this.self();
    if (self !== this) return self.saveText();
    return this.#savedText();
  }

  /**
   * Sets one parameter, replacing an earlier value of the same parameter (under any of its names: an
   * alias or an abbreviation getopt accepts). A leading `!` inverts; an array gives several arguments;
   * `true` or `''` is a flag. `null`, `undefined` and `false` are a TypeError: a missing value must not
   * widen the rule; `unset()` removes a parameter. The extension's parser checks the value at once and
   * throws XTablesError if it refuses it.
   *
   * Equivalent to: `--name value` after `-m NAME` / `-j NAME`
   */
  set(name: string, value: ParameterValue): this {
    const own = this.own();
    if (own !== this) {
      own.set(name, value);
      return this;
    }
    const option = optionName(name);
    if (value === null || value === undefined || value === false) {
      throw new TypeError(
        `${this.#name || 'extension'}: parameter \`${name}' is ${String(value)}; give it a value, or remove it with unset('${name}')`,
      );
    }
    // First: a kernel-read extension learns its name (and so its options) from its saved text.
    const current = this.options;
    let made = toOption(option, value);
    // `!` alone cannot invert an option that needs a value: for such an option it is the value `!`.
    if (made.invert && made.values.length === 0 && this.#takesValue(option)) made = { name: option, values: ['!'], invert: false };
    if (current.length === 0) {
      this.applyOptions([made]);
      return this;
    }
    const key = this.#optionKey(option);
    const at = current.findIndex((o) => this.#optionKey(o.name) === key);
    const next = current.filter((o) => this.#optionKey(o.name) !== key);
    next.splice(at < 0 ? next.length : at, 0, made);
    this.applyOptions(next);
    return this;
  }

  /**
   * Removes one parameter (given by any of its names); nothing happens if it is not set.
   *
   * Equivalent to: leaving `--name value` out of the rule
   */
  unset(name: string): this {
    const own = this.own();
    if (own !== this) {
      own.unset(name);
      return this;
    }
    const option = optionName(name);
    // First: a kernel-read extension learns its name (and so its options) from its saved text.
    const current = this.options;
    const key = this.#optionKey(option);
    const rest = current.filter((o) => this.#optionKey(o.name) !== key);
    if (rest.length !== current.length) this.applyOptions(rest);
    return this;
  }

  /**
   * Sets several parameters in order, from an object (own keys, `__proto__` included) or a Map. A key
   * whose value is null or undefined is a TypeError, as in set().
   *
   * Equivalent to: `--name1 value1 --name2 value2` after `-m NAME` / `-j NAME`
   */
  setParameters(params: Readonly<Record<string, ParameterValue>> | ReadonlyMap<string, ParameterValue>): this {
    if (params instanceof Map) {
      for (const [name, value] of params) this.set(name, value);
      return this;
    }
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      throw new TypeError('parameters must be an object or a Map');
    }
    const record = params as Readonly<Record<string, ParameterValue>>;
    for (const name of Object.keys(record)) this.set(name, record[name]!);
    return this;
  }

  /** One parameter as `parameters` shows it, or undefined. Equivalent to: `--name value` in `iptables-save` */
  get(name: string): string | undefined {
    return this.parameters[optionName(name)];
  }

  /**
   * Parameters as the extension's save() prints them: `{ dport: '80' }`, inverted `{ dport: '!80' }`.
   *
   * Equivalent to: the `--name value` parts `iptables-save` prints
   */
  get parameters(): Record<string, string> {
    const self = this.self();
    if (self !== this) return self.parameters;
    const text = this.saveText();
    // No text, no options: a standard target, or an extension printed without any.
    if (text === '') return {};
    return parametersFromSaveText(text, this.#optionSpecs());
  }

  /**
   * Parameters as lists of arguments, inverted ones starting with `'!'`: `{ dport: ['!', '80'] }`.
   *
   * Equivalent to: the `[!] --name values` parts `iptables-save` prints
   */
  getAllParameters(): Record<string, string[]> {
    const self = this.self();
    if (self !== this) return self.getAllParameters();
    const out: Record<string, string[]> = {};
    const text = this.saveText();
    // Nothing saved, nothing to read: no option list asked for (a jump's target names a chain, which
    // libxtables would look for as a plugin on disk, and fail, on every call).
    if (text === '') return out;
    for (const o of optionsFromSaveText(text, this.#optionSpecs())) {
      out[o.name] = o.invert ? ['!', ...o.values] : [...o.values];
    }
    return out;
  }

  /** Forgets every parameter: back to the extension's defaults. Equivalent to: `-m NAME` alone */
  reset(): this {
    const own = this.own();
    if (own !== this) {
      own.reset();
      return this;
    }
    this.applyOptions([]);
    return this;
  }

  /** Same name, revision and parameters. Equivalent to: the same text in `iptables-save` */
  equals(other: Extension): boolean {
    return (
      other instanceof Extension &&
      other.kind === this.kind &&
      this.name === other.name &&
      this.revision === other.revision &&
      this.saveText() === other.saveText()
    );
  }

  /** The extension as `iptables-save` prints it in a rule (`-m tcp --dport 22`, `-j LOG --log-prefix x`). */
  abstract toString(): string;

  /** What console.log and util.inspect show: the class and the extension as iptables-save prints it. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return describeForInspect(this);
  }

  /** @internal The stored extension name (the real name, e.g. `conntrack` for `state`). */
  protected storedName(blob: Buffer): string {
    return extensionName(blob);
  }
}

/** @internal `Name [text]` for util.inspect; an object that cannot print itself says why instead of throwing. */
export function describeForInspect(value: { toString(): string }): string {
  let text: string;
  try {
    text = value.toString();
  } catch (e) {
    text = `unprintable: ${(e as Error).message}`;
  }
  return `${value.constructor.name} [${text}]`;
}
