import { extensionUserspacesize, isTargetExtension, type ExtensionKind, type Family } from '../xtables/shim.js';
import { EXTENSION_HEADER, extensionRevision, standardTarget, STANDARD_TARGET_USERSPACESIZE } from '../xtables/entry.js';
import { wideNflogBlob, XT_NFLOG } from '../xtables/blobs.js';
import { XTablesError } from '../xtables/errors.js';
import { Extension, type BuiltBlob, type ExtensionOwner, type KernelOrigin } from './extension.js';
import type { ParameterValue } from './parameters.js';
import { checkChainName } from './names.js';
import type { Rule } from './rule.js';

const VERDICTS = new Set(['ACCEPT', 'DROP', 'QUEUE', 'RETURN', '']);
/**
 * Whether `-j NAME` (`-g NAME` with goto) names a standard target (a verdict, a user chain, or `''` for
 * none) rather than a target extension; throws as iptables refuses the name (a chain name it cannot
 * be, or goto to anything but a chain).
 */
export function isStandardTarget(family: Family, name: string, goto: boolean): boolean {
  let standard: boolean;
  if (VERDICTS.has(name)) {
    standard = true;
  } else if (isTargetExtension(family, name)) {
    standard = false;
  } else {
    checkChainName(name);
    standard = true;
  }
  if (goto && (!standard || VERDICTS.has(name))) throw new TypeError(`goto needs a user chain as target, not \`${name}'`);
  return standard;
}

/** The built standard targets by label: shared, never modified. */
const standardBlobs = new Map<string, BuiltBlob>();

/** How Target's constructor makes a target. */
export interface TargetOptions {
  /** `-g` instead of `-j`: continue in the chain and do not come back. Only for chain targets. */
  goto?: boolean;
  /** The revision of the target extension to use; the newest this kernel supports by default. */
  revision?: number;
  /** @internal A target extension read back from the kernel: its blob, or its rule's origin (see kernelK). */
  kernelBlob?: Buffer | KernelOrigin;
  /** @internal With an origin as kernelBlob: which extension of the rule the target is (its last). */
  kernelK?: number;
  /** @internal A verdict, jump or fall-through read back from the kernel. */
  kernelLabel?: boolean;
  /** @internal A view of extension `kernelK` of a rule read back (see Rule.target). */
  view?: boolean;
}

/**
 * What a rule does with a packet: a verdict (`ACCEPT`, `DROP`, `QUEUE`, `RETURN`), a jump or goto to a
 * user chain, nothing (`''`, fall through), or a target extension with parameters (`DNAT`, `LOG`, ...).
 *
 * Equivalent to: `iptables ... -j DNAT --to-destination 10.0.0.1:80`
 */
export class Target extends Extension {
  /** @internal */
  protected get kind(): ExtensionKind {
    return 'target';
  }
  /** The label of a verdict, chain jump or fall-through; null for a target extension. */
  #standard: string | null;
  #goto: boolean;

  /**
   * A target for `rule`, not yet its target (see `rule.target = t`, or `rule.createTarget` to do both):
   * a verdict, `''`, a user chain, or a target extension (XTablesError if none is installed by that name).
   *
   * Equivalent to: `-j NAME` (with `goto`: `-g NAME`) in the rule spec
   */
  constructor(rule: Rule, name: string, revisionOrOptions?: number | TargetOptions);
  constructor(rule: ExtensionOwner, name: string, revisionOrOptions?: number | TargetOptions) {
    const opts: TargetOptions =
      typeof revisionOrOptions === 'number' ? { revision: revisionOrOptions } : (revisionOrOptions ?? {});
    super(rule, name, opts.revision, opts.kernelBlob, opts.kernelK, opts.view);
    if (opts.kernelBlob) {
      this.#standard = null;
    } else if (opts.kernelLabel) {
      this.#standard = name;
    } else {
      this.#standard = isStandardTarget(rule.family, name, opts.goto === true) ? name : null;
      if (this.#standard === null) this.checkExists();
    }
    this.#goto = opts.goto === true;
  }

  /**
   * For a verdict, chain jump or fall-through: its label; for a target extension: null. Settable on a
   * standard target (as in python-iptables) to another verdict, `''` or a user chain; a target extension
   * is replaced with `rule.createTarget()` instead.
   *
   * Equivalent to: changing `-j ACCEPT` to `-j DROP` in the rule
   */
  get standardTarget(): string | null {
    const self = this.self();
    if (self !== this) return self.standardTarget;
    return this.#standard;
  }

  /** Another verdict, `''` or a user chain; TypeError on a target extension. Equivalent to: `-j NEW` for `-j OLD` */
  set standardTarget(value: string) {
    const own = this.own();
    if (own !== this) {
      own.standardTarget = value;
      return;
    }
    if (typeof value !== 'string') throw new TypeError(`standardTarget must be a string, got ${String(value)}`);
    if (this.#standard === null) {
      throw new TypeError(`\`${this.name}' is a target extension, not a standard target: use rule.createTarget() to replace it`);
    }
    if (!VERDICTS.has(value)) {
      if (isTargetExtension(this.family, value)) {
        throw new TypeError(`\`${value}' is a target extension, not a chain: use rule.createTarget('${value}')`);
      }
      checkChainName(value);
    }
    if (this.#goto && VERDICTS.has(value)) throw new TypeError(`goto needs a user chain as target, not \`${value}'`);
    this.#standard = value;
  }

  /**
   * Whether the rule continues in the target chain with `-g` (goto) rather than `-j` (jump). Equivalent to: `-g
   * CHAIN`
   */
  get goto(): boolean {
    const self = this.self();
    if (self !== this) return self.goto;
    return this.#goto;
  }

  /** true for `-g CHAIN`, false for `-j CHAIN`; only a user chain can be gone to. */
  set goto(value: boolean) {
    const own = this.own();
    if (own !== this) {
      own.goto = value;
      return;
    }
    if (typeof value !== 'boolean') throw new TypeError('goto must be a boolean');
    if (value && (this.#standard === null || VERDICTS.has(this.#standard))) {
      throw new TypeError(`goto needs a user chain as target, not \`${this.name}'`);
    }
    this.#goto = value;
  }

  override get name(): string {
    const self = this.self();
    if (self !== this) return self.name;
    return this.#standard ?? super.name;
  }

  override get revision(): number {
    const self = this.self();
    if (self !== this) return self.revision;
    return this.#standard === null ? super.revision : 0;
  }

  override set(name: string, value: ParameterValue): this {
    if (this.#standard !== null) {
      throw new XTablesError(this.name, `${this.name || 'standard'}: a standard target takes no parameter (--${name})`);
    }
    return super.set(name, value);
  }

  /** @internal */
  override finalBlob(): BuiltBlob {
    if (this.#standard !== null) {
      let built = standardBlobs.get(this.#standard);
      if (!built) {
        built = { blob: standardTarget(this.#standard), userspacesize: STANDARD_TARGET_USERSPACESIZE };
        if (standardBlobs.size < 10_000) standardBlobs.set(this.#standard, built);
      }
      return built;
    }
    return super.finalBlob();
  }

  /**
   * @internal The blob in the form nf_tables takes it: as finalBlob(), except that an NFLOG prefix longer
   * than the blob's 63 characters is kept whole (iptables-nft writes the parser's udata, up to 127).
   */
  nftBlob(): BuiltBlob {
    const built = this.finalBlob();
    if (this.#standard !== null || built.udata === undefined || this.name !== XT_NFLOG.name) return built;
    const end = built.udata.indexOf(0);
    const prefix = built.udata.subarray(0, end < 0 ? built.udata.length : end);
    const inBlob = built.blob.subarray(EXTENSION_HEADER + XT_NFLOG.PREFIX);
    const inBlobEnd = inBlob.indexOf(0);
    if (prefix.equals(inBlob.subarray(0, inBlobEnd < 0 ? inBlob.length : inBlobEnd))) return built;
    const blob = wideNflogBlob(built.blob, prefix);
    return { blob, userspacesize: blob.length - EXTENSION_HEADER };
  }

  /** The target as `iptables-save` prints it in a rule: `-j DROP`, `-g chain`, `-j LOG --log-prefix x`; '' for none. */
  override toString(): string {
    const self = this.self();
    if (self !== this) return self.toString();
    if (this.#standard === null) return `-j ${this.name}${this.saveText()}`;
    return this.#standard === '' ? '' : `-${this.#goto ? 'g' : 'j'} ${this.#standard}`;
  }

  override saveText(): string {
    const self = this.self();
    if (self !== this) return self.saveText();
    return this.#standard === null ? super.saveText() : '';
  }

  override equals(other: Extension): boolean {
    if (!(other instanceof Target)) return false;
    const self = this.self();
    const that = other.self();
    if (self.#standard !== null || that.#standard !== null) {
      return self.#standard === that.#standard && self.#goto === that.#goto;
    }
    return super.equals(other);
  }

  /** @internal */
  protected kernelUserspacesize(blob: Buffer): number {
    return extensionUserspacesize('target', this.family, this.storedName(blob), extensionRevision(blob));
  }
}
