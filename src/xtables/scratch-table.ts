// The edits of a libiptc handle, in memory, on a table the kernel has not instantiated: its built-in
// chains, empty, with policy ACCEPT, which is what the table holds when it is created. Reading the
// kernel table would create it (and load its module), so a check that must leave the kernel as it was
// (`iptc restore --test`) applies its lines to this instead. Each refusal is the one a TableHandle
// gives: same errno, same words. Nothing here reaches the kernel; rules are kept as given, unchecked by it.
import { constants } from 'node:os';
import { IPTCError } from './errors.js';
import { entryLayout, EXTENSION_MAXNAMELEN, extensionName, sameEntry } from './entry.js';
import type { RawRule, TableEdits } from './libiptc.js';
import type { Family } from './shim.js';

const { ENOENT, EEXIST, EINVAL, E2BIG, EMLINK, ENOTEMPTY } = constants.errno;

const VERDICTS = new Set(['ACCEPT', 'DROP', 'QUEUE', 'RETURN']);
/** sizeof(xt_chainlabel): a chain name and its terminating NUL. */
const CHAIN_LABEL = 32;

interface ScratchRule {
  entry: Buffer;
  /** The user chain it jumps to, as libiptc resolves a label when the rule is added; null otherwise. */
  jump: string | null;
}

interface ScratchChain {
  builtin: boolean;
  rules: ScratchRule[];
}

export class ScratchTable implements TableEdits {
  readonly family: Family;
  readonly table: string;
  readonly #chains = new Map<string, ScratchChain>();
  readonly #nextOffset: number;
  readonly #targetOffset: number;

  /** `builtins`: the table's built-in chains, in the kernel's order. */
  constructor(family: Family, table: string, builtins: readonly string[]) {
    this.family = family;
    this.table = table;
    for (const name of builtins) this.#chains.set(name, { builtin: true, rules: [] });
    this.#nextOffset = entryLayout(family).nextOffset;
    this.#targetOffset = entryLayout(family).targetOffset;
  }

  /** Built-in chains first, then user chains by name, as libiptc lists them. */
  chainNames(): string[] {
    const names = [...this.#chains.keys()];
    const builtin = names.filter((n) => this.#chains.get(n)!.builtin);
    return [...builtin, ...names.filter((n) => !this.#chains.get(n)!.builtin).sort()];
  }

  isChain(chain: string): boolean {
    return this.#chains.has(chain);
  }

  isBuiltin(chain: string): boolean {
    return this.#chains.get(chain)?.builtin === true;
  }

  appendEntry(chain: string, entry: Buffer): void {
    const c = this.#chain(chain, `cannot append to chain \`${chain}'`);
    c.rules.push(this.#rule(entry));
  }

  appendEntries(chain: string, entries: Buffer, count: number): number {
    // As libiptc: none is appended to a chain that does not exist; appendEntry says why.
    if (!this.#chains.has(chain)) return 0;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const size = entries.readUInt16LE(at + this.#nextOffset);
      this.appendEntry(chain, entries.subarray(at, at + size));
      at += size;
    }
    return count;
  }

  insertEntry(chain: string, entry: Buffer, position: number): void {
    const what = `cannot insert into chain \`${chain}'`;
    const c = this.#chain(chain, what);
    if (position > c.rules.length) throw this.#error(what, E2BIG, 'Index of insertion too big');
    c.rules.splice(position, 0, this.#rule(entry));
  }

  replaceEntry(chain: string, entry: Buffer, position: number): void {
    const what = `cannot replace in chain \`${chain}'`;
    const c = this.#chain(chain, what);
    if (position >= c.rules.length) throw this.#error(what, E2BIG, 'Index of replacement too big');
    c.rules[position] = this.#rule(entry);
  }

  deleteEntry(chain: string, entry: Buffer, mask: Buffer): void {
    const what = `cannot delete from chain \`${chain}'`;
    const c = this.#chain(chain, what);
    const size = entry.readUInt16LE(this.#nextOffset);
    const wanted = entry.subarray(0, size);
    const at = c.rules.findIndex((r) => sameEntry(this.family, wanted, r.entry, mask.subarray(0, size)));
    if (at < 0) throw this.#error(what, ENOENT, 'Bad rule (does a matching rule exist in that chain?)');
    c.rules.splice(at, 1);
  }

  deleteNumEntry(chain: string, position: number): void {
    const what = `cannot delete from chain \`${chain}'`;
    const c = this.#chain(chain, what);
    if (position >= c.rules.length) throw this.#error(what, E2BIG, 'Index of deletion too big');
    c.rules.splice(position, 1);
  }

  flushEntries(chain: string): void {
    this.#chain(chain, `cannot flush chain \`${chain}'`).rules = [];
  }

  zeroEntries(chain: string): void {
    // Counters are not kept here: only whether the chain exists matters.
    this.#chain(chain, `cannot zero counters of chain \`${chain}'`);
  }

  createChain(chain: string): void {
    const what = `cannot create chain \`${chain}'`;
    if (this.#chains.has(chain) || VERDICTS.has(chain)) throw this.#error(what, EEXIST, 'Chain already exists');
    if (chain.length + 1 > CHAIN_LABEL) throw this.#error(what, EINVAL, 'Invalid argument');
    this.#chains.set(chain, { builtin: false, rules: [] });
  }

  deleteChain(chain: string): void {
    const what = `cannot delete chain \`${chain}'`;
    const c = this.#chain(chain, what);
    if (c.builtin) throw this.#error(what, EINVAL, 'Invalid argument');
    if (this.references(chain) > 0) throw this.#error(what, EMLINK, 'Too many links (rules still jump to it)');
    if (c.rules.length > 0) throw this.#error(what, ENOTEMPTY, 'Directory not empty (it still has rules)');
    this.#chains.delete(chain);
  }

  renameChain(oldName: string, newName: string): void {
    const what = `cannot rename chain \`${oldName}' to \`${newName}'`;
    if (this.#chains.has(newName) || VERDICTS.has(newName)) throw this.#error(what, EEXIST, 'File exists');
    const c = this.#chains.get(oldName);
    if (!c || c.builtin) throw this.#error(what, ENOENT, 'No chain/target/match by that name');
    if (newName.length + 1 > CHAIN_LABEL) throw this.#error(what, EINVAL, 'Invalid argument');
    this.#chains.delete(oldName);
    this.#chains.set(newName, c);
    // Jumps follow the chain (libiptc keeps them as pointers); the labels in their entries follow too,
    // so that a delete by the new name finds them.
    for (const other of this.#chains.values()) {
      for (const r of other.rules) {
        if (r.jump !== oldName) continue;
        r.jump = newName;
        r.entry = this.#withLabel(r.entry, newName);
      }
    }
  }

  setPolicy(chain: string, policy: string): void {
    const what = `cannot set policy of chain \`${chain}' to ${policy}`;
    if (!this.isBuiltin(chain)) throw this.#error(what, ENOENT, 'Bad built-in chain name');
    if (policy !== 'ACCEPT' && policy !== 'DROP') throw this.#error(what, EINVAL, 'Bad policy name');
  }

  /** The rules of a chain as a view lists them (restore's `-I/-R/-D CHAIN n` note the rule they saw). */
  rules(chain: string, from = 0, count = Number.MAX_SAFE_INTEGER): RawRule[] {
    const c = this.#chain(chain, `cannot read chain \`${chain}'`);
    return c.rules.slice(from, from + count).map(({ entry, jump }) => {
      const label = extensionName(entry.subarray(entry.readUInt16LE(this.#targetOffset)));
      return { entry, label, standard: label === '' || VERDICTS.has(label) || jump !== null };
    });
  }

  references(chain: string): number {
    let count = 0;
    for (const c of this.#chains.values()) for (const r of c.rules) if (r.jump === chain) count++;
    return count;
  }

  #chain(name: string, what: string): ScratchChain {
    const c = this.#chains.get(name);
    if (!c) throw this.#error(what, ENOENT, 'No chain/target/match by that name');
    return c;
  }

  /** A copy of the entry (callers reuse their buffers) and the chain its label jumps to, if one. */
  #rule(entry: Buffer): ScratchRule {
    const copy = Buffer.from(entry.subarray(0, entry.readUInt16LE(this.#nextOffset)));
    const label = extensionName(copy.subarray(copy.readUInt16LE(this.#targetOffset)));
    return { entry: copy, jump: label !== '' && !VERDICTS.has(label) && this.#chains.has(label) ? label : null };
  }

  #withLabel(entry: Buffer, label: string): Buffer {
    const copy = Buffer.from(entry);
    const at = copy.readUInt16LE(this.#targetOffset) + 2;
    copy.fill(0, at, at + EXTENSION_MAXNAMELEN);
    copy.write(label, at, EXTENSION_MAXNAMELEN - 1, 'latin1');
    return copy;
  }

  #error(what: string, errno: number, words: string): IPTCError {
    return new IPTCError(`${what} in table \`${this.table}': ${words}`, errno);
  }
}
