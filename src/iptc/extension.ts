// What matches and targets share: options kept as the user gave them, blobs built through the
// extension's own parser, parameters read back through the extension's own save().
import {
  buildExtension,
  saveExtension,
  type BuiltExtension,
  type ExtensionKind,
  type ExtensionOption,
  type Family,
} from '../xtables/shim.js';
import { extensionName, extensionRevision } from '../xtables/entry.js';
import { XTablesError } from '../xtables/errors.js';
import { optionName, optionsFromSaveText, toOption, type ParameterValue } from './parameters.js';
import { buildsAt, NO_OPTIONS, siteFor, type Builds, type Site } from './builds.js';

/** The rule an extension belongs to: it supplies the family and the entry header parsers may read. */
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
}

export interface BuiltBlob {
  blob: Buffer;
  userspacesize: number;
}

/** Which shared builds an extension object's current options and rule header use. */
interface BuildMemo {
  options: readonly ExtensionOption[];
  headerKey: number;
  builds: Builds;
}

export abstract class Extension {
  protected abstract readonly kind: ExtensionKind;
  readonly #owner: ExtensionOwner;
  #name: string;
  #revision: number | undefined;
  /** The options as set; null while the extension is known only by the blob read from the kernel. */
  #options: ExtensionOption[] | null;
  #kernelBlob: Buffer | null;
  #saved: { blob: Buffer; name: string; text: string } | null = null;
  #memo: BuildMemo | null = null;
  #siteCache: Site | null = null;

  protected constructor(owner: ExtensionOwner, name: string, revision: number | undefined, kernelBlob?: Buffer) {
    if (typeof name !== 'string') throw new TypeError(`an extension name must be a string, got ${typeof name}`);
    if (revision !== undefined && (!Number.isInteger(revision) || revision < 0 || revision > 255)) {
      throw new RangeError(`revision must be an integer 0-255, got ${revision}`);
    }
    this.#owner = owner;
    this.#name = name;
    this.#revision = revision;
    this.#kernelBlob = kernelBlob ?? null;
    this.#options = kernelBlob ? null : [];
  }

  /** The name as iptables-save prints it (an alias such as `state` where the extension has one). */
  get name(): string {
    if (this.#kernelBlob && this.#options === null) return this.#save().name;
    return this.#name;
  }

  /** The revision of the extension in use: the newest this kernel supports unless one was asked for. */
  get revision(): number {
    return extensionRevision(this.#currentBlob(false));
  }

  protected get family(): Family {
    return this.#owner.family;
  }

  protected get owner(): ExtensionOwner {
    return this.#owner;
  }

  /** Options as a list; a kernel-read extension is turned into options through its save() text. */
  protected get options(): ExtensionOption[] {
    if (this.#options === null) {
      this.#name = this.#save().name;
      this.#revision = extensionRevision(this.#kernelBlob!);
      this.#siteCache = null;
      this.#options = optionsFromSaveText(this.#save().text);
    }
    return this.#options;
  }

  /** Builds with the given options to let the extension validate them now; keeps them only if it agrees. */
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
    this.#kernelBlob = null;
    this.#saved = null;
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
    this.#kernelBlob = null;
    this.#saved = null;
    return taken;
  }

  #site(): Site {
    this.#siteCache ??= siteFor(this.kind, this.family, this.#name, this.#revision);
    return this.#siteCache;
  }

  protected build(options: readonly ExtensionOption[], final: boolean): BuiltExtension {
    // Parsers read the protocol and the flags of the header (DNAT needs -p tcp for a port), never the
    // addresses or interfaces, so rules that differ only there share one parse.
    const headerKey = this.#owner.parseKey();
    let memo = this.#memo;
    if (!memo || memo.options !== options || memo.headerKey !== headerKey) {
      memo = { options, headerKey, builds: buildsAt(this.#site(), headerKey, options) };
      this.#memo = memo;
    }
    const done = final ? memo.builds.final : memo.builds.partial;
    if (done) return done;
    const built = buildExtension(this.kind, this.family, this.#name, this.#revision, this.#owner.headerBuffer(), options, final);
    if (final) memo.builds.final = built;
    else memo.builds.partial = built;
    return built;
  }

  /** Checks once per process that the extension exists (its plugin loads), without options. */
  protected checkExists(): void {
    const site = this.#site();
    if (site.exists) return;
    this.build(NO_OPTIONS, false);
    site.exists = true;
  }

  #currentBlob(final: boolean): Buffer {
    if (this.#options === null) return this.#kernelBlob!;
    return this.build(this.#options, final).blob;
  }

  /** The blob to put in a rule entry, after the extension's final check. */
  finalBlob(): BuiltBlob {
    if (this.#options === null) {
      return { blob: this.#kernelBlob!, userspacesize: this.kernelUserspacesize(this.#kernelBlob!) };
    }
    return this.build(this.#options, true);
  }

  protected abstract kernelUserspacesize(blob: Buffer): number;

  /** What the extension would put in the kernel (after its final check), or, while incomplete, what it has. */
  #displayBlob(): Buffer {
    if (this.#options === null) return this.#kernelBlob!;
    try {
      return this.build(this.#options, true).blob;
    } catch (e) {
      if (e instanceof XTablesError) return this.build(this.#options, false).blob;
      throw e;
    }
  }

  #save(): { name: string; text: string } {
    const blob = this.#displayBlob();
    if (this.#saved?.blob !== blob) {
      const header = this.#owner.ipHeader?.() ?? this.#owner.headerBuffer();
      const saved = saveExtension(this.kind, this.family, header, blob);
      this.#saved = { blob, ...saved };
    }
    return this.#saved;
  }

  /** The parameters text exactly as the extension's save() prints it (with a leading space). */
  saveText(): string {
    return this.#save().text;
  }

  /**
   * Sets one parameter, replacing an earlier value of the same parameter. A leading `!` inverts; an array
   * gives several arguments; `true` or `''` is a flag; `null`/`undefined`/`false` removes the parameter.
   * The extension's parser checks the value at once and throws XTablesError if it refuses it.
   */
  set(name: string, value: ParameterValue | null | undefined): this {
    const option = optionName(name);
    const current = this.options;
    if (current.length === 0 && value !== null && value !== undefined && value !== false) {
      this.applyOptions([toOption(option, value)]);
      return this;
    }
    const rest = current.filter((o) => o.name !== option);
    if (value === null || value === undefined || value === false) {
      this.applyOptions(rest);
      return this;
    }
    const at = current.findIndex((o) => o.name === option);
    const next = [...rest];
    next.splice(at < 0 ? next.length : at, 0, toOption(option, value));
    this.applyOptions(next);
    return this;
  }

  /** Sets several parameters in order. */
  setParameters(params: Record<string, ParameterValue | null | undefined>): this {
    if (params === null || typeof params !== 'object') throw new TypeError('parameters must be an object');
    for (const name of Object.keys(params)) this.set(name, params[name]);
    return this;
  }

  /** One parameter as `parameters` shows it, or undefined. */
  get(name: string): string | undefined {
    return this.parameters[optionName(name)];
  }

  /** Parameters as the extension's save() prints them: `{ dport: '80' }`, inverted `{ dport: '!80' }`. */
  get parameters(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, values] of Object.entries(this.getAllParameters())) {
      out[name] = values[0] === '!' ? `!${values.slice(1).join(' ')}` : values.join(' ');
    }
    return out;
  }

  /** Parameters as lists of arguments, inverted ones starting with `'!'`: `{ dport: ['!', '80'] }`. */
  getAllParameters(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const o of optionsFromSaveText(this.saveText())) out[o.name] = o.invert ? ['!', ...o.values] : [...o.values];
    return out;
  }

  /** Forgets every parameter: back to the extension's defaults. */
  reset(): this {
    this.applyOptions([]);
    return this;
  }

  /** Same name, revision and parameters. */
  equals(other: Extension): boolean {
    return (
      other instanceof Extension &&
      other.kind === this.kind &&
      this.name === other.name &&
      this.revision === other.revision &&
      this.saveText() === other.saveText()
    );
  }

  /** The stored extension name (the real name, e.g. `conntrack` for `state`). */
  protected storedName(blob: Buffer): string {
    return extensionName(blob);
  }
}
