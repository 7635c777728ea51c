// koffi bindings to libip4tc / libip6tc: one handle per table view, every failure an IPTCError.
import koffi from 'koffi';
import { constants } from 'node:os';
import { CommitError, IPTCError } from './errors.js';
import { systemLibrary } from './library.js';
import { EXTENSION_MAXNAMELEN, entryLayout } from './entry.js';
import { appendEntries, appendToChains, dumpChain, dumpTable, type Family } from './shim.js';
import type { PrintedRules } from './printed.js';
import { dumpedChains } from './dumped.js';

type Ptr = bigint;

const { EPERM, EACCES } = constants.errno;
const ENOENT = 2;

interface IptcFunctions {
  init(table: string): Ptr | null;
  free(h: Ptr): void;
  isChain(chain: string, h: Ptr): number;
  firstChain(h: Ptr): string | null;
  nextChain(h: Ptr): string | null;
  builtin(chain: string, h: Ptr): number;
  insertEntry(chain: string, e: Buffer, rulenum: number, h: Ptr): number;
  replaceEntry(chain: string, e: Buffer, rulenum: number, h: Ptr): number;
  appendEntry(chain: string, e: Buffer, h: Ptr): number;
  checkEntry(chain: string, e: Buffer, mask: Buffer, h: Ptr): number;
  deleteEntry(chain: string, e: Buffer, mask: Buffer, h: Ptr): number;
  deleteNumEntry(chain: string, rulenum: number, h: Ptr): number;
  flushEntries(chain: string, h: Ptr): number;
  zeroEntries(chain: string, h: Ptr): number;
  createChain(chain: string, h: Ptr): number;
  deleteChain(chain: string, h: Ptr): number;
  renameChain(oldName: string, newName: string, h: Ptr): number;
  setPolicy(chain: string, policy: string, counters: Buffer | null, h: Ptr): number;
  getReferences(refs: Uint32Array, chain: string, h: Ptr): number;
  commit(h: Ptr): number;
  strerror(err: number): string;
}

const bindings = new Map<Family, IptcFunctions>();

function bind(family: Family): IptcFunctions {
  const cached = bindings.get(family);
  if (cached) return cached;
  const lib = systemLibrary(family === 6 ? 'ip6tc' : 'ip4tc');
  const p = family === 6 ? 'ip6tc' : 'iptc';
  const f = (decl: string) => lib.func(decl.replace('$', p));
  const fns: IptcFunctions = {
    init: f('void *$_init(const char *table)'),
    free: f('void $_free(void *h)'),
    isChain: f('int $_is_chain(const char *chain, void *h)'),
    firstChain: f('const char *$_first_chain(void *h)'),
    nextChain: f('const char *$_next_chain(void *h)'),
    builtin: f('int $_builtin(const char *chain, void *h)'),
    insertEntry: f('int $_insert_entry(const char *chain, const void *e, unsigned int rulenum, void *h)'),
    replaceEntry: f('int $_replace_entry(const char *chain, const void *e, unsigned int rulenum, void *h)'),
    appendEntry: f('int $_append_entry(const char *chain, const void *e, void *h)'),
    checkEntry: f('int $_check_entry(const char *chain, const void *e, const void *mask, void *h)'),
    deleteEntry: f('int $_delete_entry(const char *chain, const void *e, const void *mask, void *h)'),
    deleteNumEntry: f('int $_delete_num_entry(const char *chain, unsigned int rulenum, void *h)'),
    flushEntries: f('int $_flush_entries(const char *chain, void *h)'),
    zeroEntries: f('int $_zero_entries(const char *chain, void *h)'),
    createChain: f('int $_create_chain(const char *chain, void *h)'),
    deleteChain: f('int $_delete_chain(const char *chain, void *h)'),
    renameChain: f('int $_rename_chain(const char *oldname, const char *newname, void *h)'),
    setPolicy: f('int $_set_policy(const char *chain, const char *policy, const void *counters, void *h)'),
    getReferences: f('int $_get_references(unsigned int *ref, const char *chain, void *h)'),
    commit: f('int $_commit(void *h)'),
    strerror: f('const char *$_strerror(int err)'),
  } as unknown as IptcFunctions;
  bindings.set(family, fns);
  return fns;
}

/** One rule as libiptc holds it, copied into JS memory. */
export interface RawRule {
  /** The whole ipt_entry / ip6t_entry: header, matches, target. */
  entry: Buffer;
  /** What libiptc calls the target: a verdict, a chain name, or a target extension name. */
  label: string;
  /** A verdict, jump or fall-through rather than a target extension. */
  standard: boolean;
  /** @internal The rule's chain printed by the shim as it is read (see printed.ts). */
  printed?: PrintedRules;
  /** @internal The rule's index in `printed`. */
  index?: number;
  /** @internal The bytes `entry` is a view of, from `at` (read without making the view). */
  source?: Buffer;
  /** @internal Where `entry` starts in `source`. */
  at?: number;
  /** @internal Whether the entry's sizes were found holding together already (as checkEntry checks them). */
  checked?: boolean;
}

/** One chain as libiptc holds it, copied into JS memory. */
export interface RawChain {
  /** The chain's name. */
  name: string;
  /** Whether it is a built-in chain. */
  builtin: boolean;
  /** Policy and its counters, for built-in chains. */
  policy: {
    /** ACCEPT or DROP. */
    name: string;
    /** Packets the policy decided. */
    packets: bigint;
    /** Bytes the policy decided. */
    bytes: bigint;
  } | null;
  /** The rules, in order. */
  rules: RawRule[];
}

/** The edits of a table that a restore makes: what a TableHandle does, and a ScratchTable too. */
export type TableEdits = Pick<
  TableHandle,
  | 'family' | 'table' | 'chainNames' | 'isChain' | 'isBuiltin' | 'appendEntry' | 'appendEntries' | 'insertEntry'
  | 'replaceEntry' | 'deleteEntry' | 'deleteNumEntry' | 'flushEntries' | 'zeroEntries' | 'createChain'
  | 'deleteChain' | 'renameChain' | 'setPolicy' | 'references' | 'rules'
>;

/** `count` rules serialised from `at` on, as xtw_dump_table writes them (views into `dump`). */
function decodeRules(dump: Buffer, at: number, count: number): RawRule[] {
  const rules: RawRule[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const standard = (dump[at]! & 1) !== 0;
    const labelLength = dump[at + 1]!;
    const label = dump.toString('latin1', at + 2, at + 2 + labelLength);
    at += 2 + labelLength;
    const size = dump.readUInt16LE(at);
    rules[i] = { entry: dump.subarray(at + 2, at + 2 + size), label, standard };
    at += 2 + size;
  }
  return rules;
}

/** Counts the rules serialised in a dump of one chain. */
function countRules(dump: Buffer): number {
  let count = 0;
  for (let at = 0; at < dump.length; count++) {
    at += 2 + dump[at + 1]!;
    at += 2 + dump.readUInt16LE(at);
  }
  return count;
}

/**
 * Frees the C handle (its memory and its raw socket) of a TableHandle that was dropped without free():
 * a program that forgets to close a table leaks nothing once the table is collected.
 */
const dropped = new FinalizationRegistry<{ h: Ptr; fns: IptcFunctions }>(({ h, fns }) => fns.free(h));

/**
 * A libiptc handle: a private, editable copy of one kernel table. Changes reach the kernel only at
 * commit(). The handle owns a raw socket and C memory: free() it when done.
 */
export class TableHandle {
  /** 4 (libip4tc) or 6 (libip6tc). */
  readonly family: Family;
  /** The table's name. */
  readonly table: string;
  #h: Ptr | null;
  readonly #fns: IptcFunctions;
  /**
   * Chains this handle was told exist, by libiptc or by a createChain it took: libiptc finds a chain by a
   * walk of its list (its index is rebuilt only now and then), which a restore that jumps to thousands of
   * new chains would pay per rule. Only ever true answers; emptied when a chain is deleted or renamed.
   */
  readonly #known = new Set<string>();

  private constructor(family: Family, table: string, h: Ptr, fns: IptcFunctions) {
    this.family = family;
    this.table = table;
    this.#h = h;
    this.#fns = fns;
    dropped.register(this, { h, fns }, this);
  }

  /** `iptc_init`: reads the kernel table (instantiating it in the kernel if it was not yet). */
  static open(family: Family, table: string): TableHandle {
    const fns = bind(family);
    const h = fns.init(table);
    if (!h) throw openError(fns, table);
    return new TableHandle(family, table, h, fns);
  }

  /** Whether free() was called. */
  get closed(): boolean {
    return this.#h === null;
  }

  #handle(): Ptr {
    if (this.#h === null) throw new IPTCError(`the handle of table \`${this.table}' is closed`);
    return this.#h;
  }

  #check(ok: number, what: string): void {
    if (!ok) throw iptcError(this.#fns, `${what} in table \`${this.table}'`);
  }

  /** Frees the handle (`iptc_free`); without commit(), its changes are dropped. */
  free(): void {
    if (this.#h === null) return;
    dropped.unregister(this);
    this.#fns.free(this.#h);
    this.#h = null;
  }

  /** `iptc_is_chain`. Equivalent to: `iptables -S CHAIN` succeeding */
  isChain(chain: string): boolean {
    const h = this.#handle();
    if (this.#known.has(chain)) return true;
    if (this.#fns.isChain(chain, h) === 0) return false;
    this.#known.add(chain);
    return true;
  }

  /** `iptc_builtin`: whether the chain is a built-in one. */
  isBuiltin(chain: string): boolean {
    return this.#fns.builtin(chain, this.#handle()) !== 0;
  }

  /** Every chain (`iptc_first_chain` / `iptc_next_chain`). Equivalent to: `iptables -S | grep -e -P -e -N` */
  chainNames(): string[] {
    const h = this.#handle();
    const names: string[] = [];
    for (let c = this.#fns.firstChain(h); c !== null; c = this.#fns.nextChain(h)) names.push(c);
    return names;
  }

  /** The handle's chains, policies and rules without counters: equal for equal rule sets. */
  rulesFingerprint(): Buffer {
    return dumpTable(this.family, this.#handle(), false);
  }

  /**
   * The kernel state the handle was read from, as its rules without counters (rulesFingerprint): two
   * handles hold the same state exactly when these are equal. Ask before changing the handle.
   */
  origin(): Buffer {
    return this.rulesFingerprint();
  }

  /** Copies every chain, policy and rule out of the handle in one call (see xtw_dump_table). */
  read(): RawChain[] {
    return dumpedChains(this.family, dumpTable(this.family, this.#handle()));
  }

  /**
   * Rules `from` to `from + count - 1` (0-based) of one chain, with counters: fewer where the chain ends.
   * Throws IPTCError (ENOENT) if there is no such chain.
   */
  rules(chain: string, from = 0, count = 0xffffffff): RawRule[] {
    const dump = dumpChain(this.family, this.#handle(), chain, from, count);
    if (!dump) throw new IPTCError(`chain \`${chain}' does not exist in table \`${this.table}'`, ENOENT);
    return decodeRules(dump, 0, countRules(dump));
  }

  /** Appends a rule as read from a view of the table (a standard target's label made its name again). */
  appendRule(chain: string, rule: RawRule): void {
    let entry = rule.entry;
    if (rule.standard) {
      // The kernel names a verdict or jump target "" and keeps its meaning in the verdict; libiptc
      // takes it from the name when the entry is added.
      entry = Buffer.from(entry);
      const target = entry.readUInt16LE(entryLayout(this.family).targetOffset);
      entry.fill(0, target + 2, target + 2 + EXTENSION_MAXNAMELEN);
      entry.write(rule.label, target + 2, EXTENSION_MAXNAMELEN - 1, 'latin1');
    }
    this.appendEntry(chain, entry);
  }


  /** `iptc_append_entry`. Equivalent to: `iptables -A CHAIN rule` */
  appendEntry(chain: string, entry: Buffer): void {
    this.#check(this.#fns.appendEntry(chain, entry, this.#handle()), `cannot append to chain \`${chain}'`);
  }

  /**
   * Appends `count` entries packed back to back in `entries` (as rules are laid out in a table), in one
   * call. Returns how many were appended: fewer than `count` when the next one failed (appendEntry it
   * alone for its error).
   */
  appendEntries(chain: string, entries: Buffer, count: number): number {
    return appendEntries(this.family, this.#handle(), chain, entries, count);
  }

  /**
   * Appends `count` records, each to the chain it names (see appendToChains in shim.ts), in one call.
   * Returns how many were appended: fewer than `count` when the next one failed (appendEntry it alone
   * for its error).
   */
  appendToChains(names: Buffer, records: Buffer, count: number): number {
    return appendToChains(this.family, this.#handle(), names, records, count);
  }

  /** 0-based position, as libiptc takes it. */
  insertEntry(chain: string, entry: Buffer, position: number): void {
    this.#check(this.#fns.insertEntry(chain, entry, position, this.#handle()), `cannot insert into chain \`${chain}'`);
  }

  /** `iptc_replace_entry`, 0-based. Equivalent to: `iptables -R CHAIN position+1 rule` */
  replaceEntry(chain: string, entry: Buffer, position: number): void {
    this.#check(this.#fns.replaceEntry(chain, entry, position, this.#handle()), `cannot replace in chain \`${chain}'`);
  }

  /** `iptc_delete_entry`: the first rule equal under `mask`. Equivalent to: `iptables -D CHAIN rule` */
  deleteEntry(chain: string, entry: Buffer, mask: Buffer): void {
    this.#check(this.#fns.deleteEntry(chain, entry, mask, this.#handle()), `cannot delete from chain \`${chain}'`);
  }

  /** `iptc_check_entry`: whether a rule equal under `mask` is in the chain. Equivalent to: `iptables -C CHAIN rule` */
  checkEntry(chain: string, entry: Buffer, mask: Buffer): boolean {
    return this.#fns.checkEntry(chain, entry, mask, this.#handle()) !== 0;
  }

  /** `iptc_delete_num_entry`, 0-based. Equivalent to: `iptables -D CHAIN position+1` */
  deleteNumEntry(chain: string, position: number): void {
    this.#check(this.#fns.deleteNumEntry(chain, position, this.#handle()), `cannot delete from chain \`${chain}'`);
  }

  /** `iptc_flush_entries`. Equivalent to: `iptables -F CHAIN` */
  flushEntries(chain: string): void {
    this.#check(this.#fns.flushEntries(chain, this.#handle()), `cannot flush chain \`${chain}'`);
  }

  /** `iptc_zero_entries`. Equivalent to: `iptables -Z CHAIN` */
  zeroEntries(chain: string): void {
    this.#check(this.#fns.zeroEntries(chain, this.#handle()), `cannot zero counters of chain \`${chain}'`);
  }

  /** `iptc_create_chain`. Equivalent to: `iptables -N CHAIN` */
  createChain(chain: string): void {
    this.#check(this.#fns.createChain(chain, this.#handle()), `cannot create chain \`${chain}'`);
    this.#known.add(chain);
  }

  /** `iptc_delete_chain`. Equivalent to: `iptables -X CHAIN` */
  deleteChain(chain: string): void {
    // Whatever the outcome: names that differ in JS may be one chain to libiptc (see #known).
    this.#known.clear();
    this.#check(this.#fns.deleteChain(chain, this.#handle()), `cannot delete chain \`${chain}'`);
  }

  /** `iptc_rename_chain`. Equivalent to: `iptables -E OLD NEW` */
  renameChain(oldName: string, newName: string): void {
    this.#known.clear();
    this.#check(
      this.#fns.renameChain(oldName, newName, this.#handle()),
      `cannot rename chain \`${oldName}' to \`${newName}'`,
    );
  }

  /** `iptc_set_policy`. Equivalent to: `iptables -P CHAIN POLICY` */
  setPolicy(chain: string, policy: string, counters?: { packets: bigint; bytes: bigint }): void {
    let buf: Buffer | null = null;
    if (counters) {
      buf = Buffer.alloc(16);
      buf.writeBigUInt64LE(counters.packets, 0);
      buf.writeBigUInt64LE(counters.bytes, 8);
    }
    this.#check(
      this.#fns.setPolicy(chain, policy, buf, this.#handle()),
      `cannot set policy of chain \`${chain}' to ${policy}`,
    );
  }

  /** `iptc_get_references`: how many rules jump or go to a user chain. */
  references(chain: string): number {
    const refs = new Uint32Array(1);
    this.#check(this.#fns.getReferences(refs, chain, this.#handle()), `cannot count references to \`${chain}'`);
    return refs[0]!;
  }

  /** Replaces the kernel table with this handle's copy, atomically. The handle is stale afterwards. */
  commit(): void {
    if (!this.#fns.commit(this.#handle())) {
      const errno = koffi.errno();
      throw new CommitError(this.table, errno, this.#fns.strerror(errno));
    }
  }
}

/** Why iptc_init failed, with what to do about it. */
function openError(fns: IptcFunctions, table: string): IPTCError {
  const errno = koffi.errno();
  if (errno === EPERM || errno === EACCES) {
    // libiptc's own words ("you must be root") leave out the capabilities a service can be given instead.
    return new IPTCError(
      `cannot open table \`${table}': permission denied; reading or changing the legacy tables needs root ` +
        '(or CAP_NET_ADMIN and CAP_NET_RAW)',
      errno,
    );
  }
  // iptables' advice when a table cannot be initialized.
  return new IPTCError(
    `cannot open table \`${table}': ${fns.strerror(errno)}; perhaps iptables or your kernel needs to be upgraded`,
    errno,
  );
}

/** Where libiptc's words leave the reader guessing (its strerror knows the last call, which is not always the one that failed). */
const HINTS: Record<number, string> = {
  [constants.errno.EMLINK]: 'rules still jump to it',
  [constants.errno.ENOTEMPTY]: 'it still has rules',
};

function iptcError(fns: IptcFunctions, what: string): IPTCError {
  const errno = koffi.errno();
  const hint = HINTS[errno];
  return new IPTCError(`${what}: ${fns.strerror(errno)}${hint ? ` (${hint})` : ''}`, errno);
}
