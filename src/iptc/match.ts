import { extensionUserspacesize, type ExtensionKind } from '../xtables/shim.js';
import { extensionRevision } from '../xtables/entry.js';
import { Extension, type ExtensionOwner, type KernelOrigin } from './extension.js';
import type { Rule } from './rule.js';

/**
 * A match extension of a rule (`-m NAME --option value ...`), with string parameters parsed by the
 * extension itself.
 *
 * Equivalent to: `iptables ... -m tcp --dport 22 ...`
 */
export class Match extends Extension {
  /** @internal */
  protected get kind(): ExtensionKind {
    return 'match';
  }

  /**
   * A match for `rule`, not yet added to it (see `rule.addMatch`, or `rule.createMatch` to do both).
   * Throws XTablesError if no such match extension is installed.
   *
   * Equivalent to: `-m NAME` in the rule spec
   */
  constructor(rule: Rule, name: string, revision?: number);
  /** @internal A match read back from the kernel; with `view`, a view of it (see Rule.matches). */
  constructor(rule: ExtensionOwner, name: string, revision: number | undefined, kernel: Buffer | KernelOrigin, k?: number,
    view?: boolean);
  constructor(rule: ExtensionOwner, name: string, revision?: number, kernel?: Buffer | KernelOrigin, k?: number, view?: boolean) {
    super(rule, name, revision, kernel, k, view);
    if (!kernel) this.checkExists();
  }

  /** The match as `iptables-save` prints it in a rule, e.g. `-m tcp --dport 22`. */
  override toString(): string {
    return `-m ${this.name}${this.saveText()}`;
  }

  /** @internal */
  protected kernelUserspacesize(blob: Buffer): number {
    return extensionUserspacesize('match', this.family, this.storedName(blob), extensionRevision(blob));
  }
}
