import { IPTCError } from '../xtables/errors.js';
import { checkXtablesThread, isTargetExtension, type Family } from '../xtables/shim.js';
import { waitMilliseconds, type LockWait } from '../xtables/lock.js';
import { backendFor, checkBackendChoice, defaultBackend, setDefaultBackend } from './backend-choice.js';
import { backendWarningsEnabled, setBackendWarnings } from './backend-warnings.js';
import type { BackendChoice, BackendName, EntryForm, RawChain, TableBackend, TableView } from './table-backend.js';
import { Chain, checkJumpLabel, jumpLabel } from './chain.js';
import { checkChainName } from './names.js';
import { Policy } from './policy.js';
import { parseRuleSpec } from './parse.js';
import { Batch, transaction } from './batch.js';
import { EntryRun } from './entry-run.js';
import { applyBlock, refusedAt, splitTables, type RestoreOptions } from './restore.js';
import { SeenRules } from './positions.js';
import { Rule, Rule6, type Counters } from './rule.js';
import { refuseOtherNetns } from '../netns/setns.js';
import { decodeBytes, encodeText } from '../xtables/text.js';
import { saveChainLines } from './save.js';
import { chainExists, clearAndDeleteChain, clearChain } from './idempotent.js';
import { deleteOwned, type DeletedOwned } from './owned.js';

const BUILTIN_CHAINS: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

const ENOENT = 2;

/** How a Table works: commits, waits for the xtables lock, and in which network namespace. */
export interface TableOptions {
  /** Commit every change at once (default true); false collects changes until commit(). */
  autocommit?: boolean;
  /**
   * How long a change waits for the xtables lock when another program holds it, as `iptables -w`:
   * `true` as long as it takes, a number that many seconds at most, `false`/`0` not at all (throw
   * XTablesLockError at once). Default: `Table.defaultWait` (initially true: wait, as iptables 1.8.9
   * does even without -w).
   */
  wait?: LockWait;
  /**
   * The network namespace to work in (`/run/netns/NAME` or `/proc/PID/ns/net`). A synchronous Table
   * accepts only the calling thread's own namespace and throws NetnsError (EOPNOTSUPP) for any other:
   * use `AsyncTable` from `iptc/async` there (docs/async.md). Equivalent to: `ip netns exec NAME iptables ...`
   */
  netns?: string;
  /**
   * The kernel interface the table is read and changed through: `legacy` (libiptc, ip_tables), `nft`
   * (nf_tables as iptables-nft keeps it; docs/backends.md) or `auto` (the backend the system's
   * `iptables` command uses; without one, nf_tables when the kernel has it). Default: `Table.defaultBackend`.
   * Equivalent to: choosing between `iptables-legacy` and `iptables-nft`
   */
  backend?: BackendChoice;
}

let defaultWait: LockWait = true;

/** How Table.save() writes the table. */
export interface SaveOptions {
  /** Print packet and byte counters (`iptables-save -c`). */
  counters?: boolean;
  /**
   * `'buffer'`: the exact bytes iptables-save prints, as a Buffer (write this to a file). The default
   * string shows each byte that is not UTF-8 (a comment may hold any) as U+DC80 + byte, which restore()
   * turns back into that byte; `Buffer.from(string)` would not. See docs/getting-started.md.
   */
  encoding?: 'string' | 'buffer';
}

function chainName(chain: string | Chain): string {
  return chain instanceof Chain ? chain.name : chain;
}

/**
 * One IPv4 netfilter table (filter, nat, mangle, raw, security), through its backend (`legacy`: libip4tc
 * on ip_tables; `nft`: nf_tables; see the `backend` option and docs/backends.md).
 *
 * Each instance has its own view of the kernel table. With `autocommit` (the default) every change is
 * its own transaction: it is made on a fresh copy of the kernel table and committed before the call
 * returns. Without it, changes collect in a private copy until `commit()` applies them again to a fresh
 * copy and replaces the kernel table with it in one atomic step. Every commit is guarded from reading
 * that copy to committing it (legacy: under the xtables lock, the `flock` iptables takes; see the `wait`
 * option), so no concurrent change by iptables or another iptc is lost. Everything read from a table is a plain
 * snapshot that stays valid afterwards. See docs/concurrency.md.
 *
 * Equivalent to: `iptables -t TABLE ...`
 */
export class Table {
  /** The filter table: `iptables -t filter` (the default table). */
  static readonly FILTER = 'filter';
  /** The nat table: `iptables -t nat`. */
  static readonly NAT = 'nat';
  /** The mangle table: `iptables -t mangle`. */
  static readonly MANGLE = 'mangle';
  /** The raw table: `iptables -t raw`. */
  static readonly RAW = 'raw';
  /** The security table: `iptables -t security`. */
  static readonly SECURITY = 'security';
  /** Every table name iptables knows, as `iptables -t` takes them. */
  static readonly ALL: readonly string[] = ['filter', 'nat', 'mangle', 'raw', 'security'];
  /** The address family of the class: 4 (iptables), 6 for Table6 (ip6tables). */
  static readonly family: Family = 4;

  /** The table's name, as `iptables -t NAME` takes it. */
  readonly name: string;
  readonly #backend: TableBackend;
  #autocommit: boolean;
  #wait: LockWait | undefined;
  /** Without autocommit: the changes waiting for commit() and the pending copy they are applied to. */
  readonly #batch: Batch;
  #snapshot: RawChain[] | null = null;
  /** The chains of the last snapshot read by name. */
  #byName: { chains: RawChain[]; map: Map<string, RawChain> } | null = null;
  #closed = false;

  /**
   * Opens a table and reads it from the kernel (a built-in table the kernel does not have yet is not
   * created by reading it: it reads as its empty built-in chains). Throws TypeError for a bad name or
   * option, IPTCError if the kernel has no such table, NetnsError for another network namespace.
   *
   * Equivalent to: `iptables-save -t NAME` (reading it)
   */
  constructor(name: string, options: TableOptions = {}) {
    if (typeof name !== 'string' || name === '' || name.length >= 32 || /[^a-z0-9_-]/i.test(name)) {
      throw new TypeError(`invalid table name \`${String(name)}'`);
    }
    const autocommit = options.autocommit ?? true;
    if (typeof autocommit !== 'boolean') throw new TypeError('autocommit must be a boolean');
    if (options.wait !== undefined) waitMilliseconds(options.wait);
    if (options.netns !== undefined) refuseOtherNetns(options.netns, 'a synchronous Table');
    const choice = options.backend === undefined ? defaultBackend() : checkBackendChoice(options.backend, 'backend');
    const backend = backendFor(choice);
    // libxtables is process-wide: refuse a second worker_thread here, before anything is read.
    checkXtablesThread();
    this.name = name;
    this.#backend = backend;
    this.#batch = new Batch(backend, () => this.#open());
    this.#autocommit = autocommit;
    this.#wait = options.wait;
    backend.announce();
    // A table collecting changes keeps its view as the pending copy, and decodes it only when read: a
    // batch that only changes the table never pays for a copy of every rule.
    if (!autocommit && this.#instantiated()) this.#batch.copy();
    else this.#snapshot = this.#readKernel();
  }

  /** This table's address family: 4 (Table, iptables) or 6 (Table6, ip6tables). */
  get family(): Family {
    return (this.constructor as typeof Table).family;
  }

  /** The backend this table uses: 'legacy' or 'nft' (what `auto` resolved to). Equivalent to: `iptables --version` */
  get backend(): BackendName {
    return this.#backend.name;
  }

  /** @internal The form of the rule entries its backend takes (Rule.toEntry(form)). */
  get entryForm(): EntryForm {
    return this.#backend.entryForm;
  }

  /**
   * The backend of every Table (and Table6) made without a `backend` option: 'legacy', 'nft' or
   * 'auto'. Unless set, $IPTC_BACKEND when that is set, else 'auto'.
   */
  static get defaultBackend(): BackendChoice {
    return defaultBackend();
  }

  /** Sets the backend of Tables made from now on without a `backend` option (a TypeError for other values). */
  static set defaultBackend(value: BackendChoice) {
    setDefaultBackend(value);
  }

  /**
   * Whether a Table may warn (once per process) that the other backend holds rules too: code
   * `IPTC_LEGACY_TABLES` on nft when legacy tables exist, `IPTC_NFT_BACKEND` on legacy when the system's
   * `iptables` is iptables-nft (docs/backends.md). True unless set; `false` silences both, as the
   * environment variable `IPTC_NO_BACKEND_WARNING=1` does.
   */
  static get backendWarnings(): boolean {
    return backendWarningsEnabled();
  }

  /** Gives (true) or silences (false) the backend warnings of Tables made from now on (a TypeError for other values). */
  static set backendWarnings(value: boolean) {
    setBackendWarnings(value);
  }

  /** The rule class of this table's family (Rule or Rule6). */
  get ruleClass(): typeof Rule {
    return this.family === 6 ? Rule6 : Rule;
  }

  /** Whether each change commits at once. Turning it on commits changes still pending. */
  get autocommit(): boolean {
    return this.#autocommit;
  }

  /** true commits what is pending, then commits each change at once; false collects changes for commit(). */
  set autocommit(value: boolean) {
    if (typeof value !== 'boolean') throw new TypeError('autocommit must be a boolean');
    if (value && this.#batch.pending) this.commit();
    if (value) this.#batch.discard();
    this.#autocommit = value;
  }

  /**
   * The wait for the xtables lock of every Table (and Table6) that sets no `wait` of its own, as
   * `iptables -w [seconds]`: true (the default) waits as long as another program holds the lock, a
   * number of seconds bounds the wait, false fails at once with XTablesLockError.
   */
  static get defaultWait(): LockWait {
    return defaultWait;
  }

  /** Sets the wait of every table without its own: false, true, or seconds. Equivalent to: `iptables -w [seconds]` */
  static set defaultWait(value: LockWait) {
    waitMilliseconds(value);
    defaultWait = value;
  }

  /** This table's wait for the xtables lock (its `wait` option, else `Table.defaultWait`). */
  get wait(): LockWait {
    return this.#wait ?? defaultWait;
  }

  /** Sets this table's wait: false, true, or seconds. Equivalent to: `iptables -w [seconds]` */
  set wait(value: LockWait) {
    waitMilliseconds(value);
    this.#wait = value;
  }

  #open(): TableView {
    if (this.#closed) throw new IPTCError(`table \`${this.name}' is closed`);
    return this.#backend.open(this.family, this.name);
  }

  /** Whether the kernel has the table (reading a built-in table that it has not would instantiate it). */
  #instantiated(): boolean {
    return !BUILTIN_CHAINS[this.name] || this.#backend.tables(this.family).includes(this.name);
  }

  /** Reads the kernel table without instantiating a table that does not exist yet. */
  #readKernel(): RawChain[] {
    if (this.#closed) throw new IPTCError(`table \`${this.name}' is closed`);
    if (!this.#instantiated()) {
      return BUILTIN_CHAINS[this.name]!.map((name) => ({
        name,
        builtin: true,
        policy: { name: 'ACCEPT', packets: 0n, bytes: 0n },
        rules: [],
      }));
    }
    // Without autocommit the view becomes the pending copy: the first change needs no second read.
    if (!this.#autocommit) return this.#batch.copy().read();
    if (this.#backend.read) return this.#backend.read(this.family, this.name);
    const handle = this.#open();
    try {
      return handle.read();
    } finally {
      handle.free();
    }
  }

  #chains(): RawChain[] {
    if (this.#snapshot) return this.#snapshot;
    const batch = this.#batch;
    this.#snapshot = batch.hasCopy || batch.pending ? batch.copy().read() : this.#readKernel();
    return this.#snapshot;
  }

  /** See transaction(): one change on a fresh view, committed at once under the lock. */
  #transaction<T>(change: (view: TableView) => T): T {
    try {
      return transaction(this.#backend, this.wait, () => this.#open(), change);
    } finally {
      this.#snapshot = null;
    }
  }

  /** @internal The snapshot of one chain; throws IPTCError if there is no such chain. */
  rawChain(name: string): RawChain {
    // By name: a table of thousands of chains (kube-proxy's) is read chain by chain.
    const chains = this.#chains();
    if (this.#byName?.chains !== chains) this.#byName = { chains, map: new Map(chains.map((c) => [c.name, c])) };
    const chain = this.#byName.map.get(name);
    if (!chain) throw new IPTCError(`chain \`${name}' does not exist in table \`${this.name}'`, ENOENT);
    return chain;
  }

  /**
   * @internal Runs a change, which must be self-contained (everything it needs captured or read from
   * the handle). With autocommit: on a fresh view of the kernel table under the xtables lock, committed
   * at once (see #transaction). Otherwise: on the pending copy, so that errors show at once and reads see
   * it, and recorded for commit(). A change that throws is not recorded and leaves no trace.
   */
  edit<T>(change: (view: TableView) => T): T {
    if (this.#closed) throw new IPTCError(`table \`${this.name}' is closed`);
    if (this.#autocommit) return this.#transaction(change);
    this.#snapshot = null;
    return this.#batch.apply(change);
  }

  /**
   * @internal Runs a read on the table as the next change would find it, changing nothing: the pending
   * copy without autocommit, else a fresh view of the kernel table. Undefined when the kernel has no
   * such table yet (reading it would create it); the table then holds its built-in chains, empty.
   */
  peek<T>(read: (view: TableView) => T): T | undefined {
    if (this.#closed) throw new IPTCError(`table \`${this.name}' is closed`);
    const batch = this.#batch;
    if (!this.#autocommit && (batch.hasCopy || batch.pending)) return read(batch.copy());
    if (!this.#instantiated()) return undefined;
    if (!this.#autocommit) return read(batch.copy());
    const handle = this.#open();
    try {
      return read(handle);
    } finally {
      handle.free();
    }
  }

  /**
   * @internal Appends a rule to a chain, or deletes the first rule equal to it. As edit(), but a run of
   * such changes to one chain is recorded as one change holding the entries packed: a batch of thousands
   * of rules keeps a few buffers, not an object per rule.
   */
  editEntry(op: 'append' | 'delete', chain: string, rule: Rule): void {
    if (this.#closed) throw new IPTCError(`table \`${this.name}' is closed`);
    const jump = op === 'append' ? jumpLabel(rule) : null;
    if (this.#autocommit) {
      const form = this.entryForm;
      const { entry, mask } = op === 'delete' ? rule.toEntryWithMask(form) : { entry: rule.toEntry(form), mask: null };
      this.#transaction((h) => EntryRun.applyOne(h, op, chain, entry, mask, jump));
      return;
    }
    this.#batch.applyEntry(op, chain, jump, () => rule.scratchEntry(op === 'delete', this.entryForm));
    this.#snapshot = null;
  }

  /**
   * @internal Whether `chain` holds a rule equal to `rule` (libiptc's check): in the pending copy
   * without autocommit, else in a fresh view of the kernel table. Throws IPTCError (ENOENT) for a chain
   * that does not exist or a jump to a chain that does not.
   */
  hasEntry(chain: string, rule: Rule): boolean {
    const { entry, mask } = rule.toEntryWithMask(this.entryForm);
    const label = jumpLabel(rule);
    const found = this.peek((h) => {
      if (!h.isChain(chain)) throw new IPTCError(`chain \`${chain}' does not exist in table \`${this.name}'`, ENOENT);
      checkJumpLabel(h, label);
      return h.checkEntry(chain, entry, mask);
    });
    if (found !== undefined) return found;
    // A table the kernel has not made yet holds no rule; reading it would make it.
    this.rawChain(chain);
    checkJumpLabel({ table: this.name, isChain: (c) => this.isChain(c) }, label);
    return false;
  }

  /**
   * Applies the pending changes in one atomic replace of the kernel table. Under the xtables lock it
   * reads a fresh view and applies the changes to it again, in order (as `iptables-restore --noflush`
   * applies its commands), then commits: a change another program committed since the changes were made
   * is kept, not overwritten. If a change no longer applies (say, the rule it deletes is gone) or the
   * kernel refuses the table, commit throws, the kernel table stays as it was, and the pending changes
   * are dropped. If the lock stays busy (XTablesLockError), nothing was tried: the changes stay pending
   * and commit() can be called again.
   *
   * Equivalent to: the `COMMIT` line of `iptables-restore --noflush -w`
   */
  commit(): void {
    if (this.#closed) throw new IPTCError(`table \`${this.name}' is closed`);
    this.#snapshot = null;
    this.#batch.commit(this.wait);
  }

  /**
   * @internal Commits the pending changes of several tables as one, all or nothing (see
   * Batch.commitAll): on legacy the xtables lock is held across all of them, waiting as long as the
   * longest wait of the tables asks; on nft they are one nf_tables transaction.
   */
  static commitAll(tables: readonly Table[]): void {
    for (const t of tables) if (t.#closed) throw new IPTCError(`table \`${t.name}' is closed`);
    let wait = 0;
    for (const t of tables) wait = Math.max(wait, waitMilliseconds(t.wait));
    for (const t of tables) t.#snapshot = null;
    Batch.commitAll(tables.map((t) => t.#batch), wait === Infinity ? true : wait / 1000);
  }

  /**
   * Drops uncommitted changes and re-reads the kernel table.
   *
   * Equivalent to: `iptables-save -t TABLE` (reading it again)
   */
  refresh(): void {
    if (this.#closed) throw new IPTCError(`table \`${this.name}' is closed`);
    this.#batch.discard();
    this.#snapshot = this.#readKernel();
  }

  /** Releases the table's resources; uncommitted changes are dropped. */
  close(): void {
    this.#batch.discard();
    this.#snapshot = null;
    this.#closed = true;
  }

  /** close(), for `using t = new Table('filter')`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Every chain: built-in ones in hook order, then user chains, as iptables lists them. */
  get chains(): Chain[] {
    return this.#chains().map((c) => new Chain(this, c.name));
  }

  /**
   * The chain called `name`; throws IPTCError (ENOENT) if this table's snapshot has none.
   *
   * Equivalent to: `iptables -t TABLE -S NAME` succeeding
   */
  chain(name: string): Chain {
    // A pending copy not decoded yet answers without being decoded.
    if (!this.#snapshot && this.#batch.hasCopy && typeof name === 'string') {
      if (!this.#batch.copyHasChain(name)) {
        throw new IPTCError(`chain \`${name}' does not exist in table \`${this.name}'`, ENOENT);
      }
      return new Chain(this, name);
    }
    return new Chain(this, this.rawChain(name).name);
  }

  /**
   * Whether the chain exists in this table's snapshot (see chainExists for the kernel now). python-iptables:
   * `table.is_chain(name)`.
   *
   * Equivalent to: `iptables -t TABLE -S CHAIN` succeeding, when the table was read
   */
  isChain(chain: string | Chain): boolean {
    const name = chainName(chain);
    return this.#chains().some((c) => c.name === name);
  }

  /**
   * Whether the chain is one of the table's built-in chains (INPUT, FORWARD, ...). python-iptables:
   * `table.builtin_chain(name)`.
   *
   * Equivalent to: `iptables -t TABLE -S CHAIN` printing `-P CHAIN`
   */
  builtinChain(chain: string | Chain): boolean {
    const name = chainName(chain);
    return this.#chains().some((c) => c.name === name && c.builtin);
  }

  /**
   * Whether the chain exists, as the next change will find the table: the kernel table now (unlike
   * isChain, which answers from this table's snapshot), or with pending changes, the table they make.
   * go-iptables: `ChainExists`; python-iptables: `table.is_chain(name)`.
   *
   * Equivalent to: `iptables -t TABLE -S CHAIN` succeeding
   */
  chainExists(chain: string | Chain): boolean {
    return chainExists(this, chain);
  }

  /**
   * Empties a chain, creating it as a user chain if it does not exist; a built-in chain is flushed. One
   * transaction either way. go-iptables: `ClearChain`; python-iptables: `iptc.easy.add_chain` then
   * `flush_chain`.
   *
   * Equivalent to: `iptables -t TABLE -N NAME 2>/dev/null || iptables -t TABLE -F NAME`
   */
  clearChain(name: string): Chain {
    return clearChain(this, name);
  }

  /**
   * Flushes and deletes a user chain if it exists, in one transaction; true if it did. A chain that
   * rules still jump to is refused (IPTCError, EMLINK) and left as it was; so is a built-in chain.
   * go-iptables: `ClearAndDeleteChain`; python-iptables: `iptc.easy.delete_chain(..., flush=True)`.
   *
   * Equivalent to: `iptables -t TABLE -F NAME && iptables -t TABLE -X NAME` when `iptables -S NAME` succeeds
   */
  clearAndDeleteChain(chain: string | Chain): boolean {
    return clearAndDeleteChain(this, chain);
  }

  /**
   * Deletes everything an owner made in this table, in one transaction: every rule, in any chain, with
   * a comment `OWNER` or `OWNER:anything` (see Rule.comment), and every user chain named `OWNER` or
   * `OWNER-anything`, with its rules. Rules of other programs stay; if one still jumps to an owned
   * chain, nothing is deleted (IPTCError, EMLINK). Nothing owned: nothing is committed. The tag has no
   * whitespace and no `:`. Neither go-iptables nor python-iptables has this; see docs/go-iptables.md.
   *
   * Equivalent to: `iptables-save -t TABLE`, then `iptables -D` of each tagged rule, `-F` and `-X` of
   * each owned chain, as one `iptables-restore --noflush`
   */
  deleteOwned(owner: string): DeletedOwned {
    return deleteOwned(this, owner);
  }

  /**
   * Creates a user chain.
   *
   * Equivalent to: `iptables -t TABLE -N NAME`
   */
  createChain(name: string): Chain {
    checkChainName(name);
    if (isTargetExtension(this.family, name)) throw new IPTCError(`chain name may not clash with target name`, 22);
    this.edit((h) => h.createChain(name));
    return new Chain(this, name);
  }

  /**
   * Deletes an empty, unreferenced user chain.
   *
   * Equivalent to: `iptables -t TABLE -X NAME`
   */
  deleteChain(chain: string | Chain): void {
    const name = chainName(chain);
    this.edit((h) => h.deleteChain(name));
  }

  /**
   * Renames a user chain; rules jumping to it follow.
   *
   * Equivalent to: `iptables -t TABLE -E OLD NEW`
   */
  renameChain(oldName: string | Chain, newName: string): void {
    const from = chainName(oldName);
    checkChainName(newName);
    this.edit((h) => h.renameChain(from, newName));
  }

  /**
   * Flushes every chain and deletes every user chain, in one transaction (so chains that jump to each
   * other go too). Policies stay.
   *
   * Equivalent to: `iptables -t TABLE -F && iptables -t TABLE -X`
   */
  flush(): void {
    this.edit((h) => {
      const names = h.chainNames();
      for (const name of names) h.flushEntries(name);
      for (const name of names) if (!h.isBuiltin(name)) h.deleteChain(name);
    });
  }

  /**
   * Zeroes the packet and byte counters of one chain (its rules and policy), or of every chain.
   *
   * Equivalent to: `iptables -t TABLE -Z [CHAIN]`
   */
  zeroEntries(chain?: string | Chain): void {
    const name = chain === undefined ? undefined : chainName(chain);
    this.edit((h) => {
      for (const c of name === undefined ? h.chainNames() : [name]) h.zeroEntries(c);
    });
  }

  /**
   * The table as `iptables-legacy-save -t TABLE [-c]` prints it (nft backend: `iptables-nft-save`),
   * without its `#` comment lines.
   */
  save(options: SaveOptions & { encoding: 'buffer' }): Buffer;
  save(options?: SaveOptions): string;
  save(options: SaveOptions = {}): string | Buffer {
    const counters = options.counters === true;
    const parts = [`*${this.name}\n`];
    const chains = this.#chains();
    for (const c of chains) {
      const policy = c.policy ? c.policy.name : '-';
      // iptables-save prints policy counters with or without -c.
      const cnt = c.policy ? `[${c.policy.packets}:${c.policy.bytes}]` : '[0:0]';
      parts.push(`:${c.name} ${policy} ${cnt}\n`);
    }
    for (const c of chains) saveChainLines(this.family, c, counters, parts);
    parts.push('COMMIT\n');
    const text = parts.join('');
    return options.encoding === 'buffer' ? encodeText(text) : text;
  }

  /**
   * Applies iptables-restore input for this table (`*TABLE` ... `COMMIT`, or just the lines between)
   * in one atomic commit: without `noflush` the table is emptied first. A bad line throws RestoreError
   * naming it (a commit the kernel refuses: the COMMIT line), and nothing of the text is applied. A
   * Buffer is read byte for byte (as save() with `encoding: 'buffer'` gives it).
   *
   * Equivalent to: `iptables-restore [--noflush] [--counters]` with this table's text
   */
  restore(input: string | Buffer, options: RestoreOptions = {}): void {
    const text = Buffer.isBuffer(input) ? decodeBytes(input) : input;
    if (typeof text !== 'string') throw new TypeError('restore text must be a string or a Buffer');
    const blocks = splitTables(text, this.name);
    const block = blocks[0];
    if (blocks.length !== 1 || !block || block.table !== this.name) {
      throw new TypeError(`restore text for table \`${this.name}' must hold that table only`);
    }
    const RuleClass = this.ruleClass;
    const seen = new SeenRules();
    try {
      this.edit((h) => applyBlock(h, block, options, (words, lists) => parseRuleSpec(new RuleClass(), words, lists), seen));
    } catch (e) {
      throw refusedAt(block, e);
    }
  }

  /** The table's name, as `iptables -t` takes it. */
  toString(): string {
    return this.name;
  }

  /** What console.log and util.inspect show, e.g. `Table [filter]` or `Table6 [nat, autocommit: false]`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const state = this.#closed ? ', closed' : this.#autocommit ? '' : ', autocommit: false';
    return `${this.constructor.name} [${this.name}${state}]`;
  }

  /** @internal Checks that a rule's jump target exists before libiptc takes the label for an extension. */
  static checkJump(handle: TableView, rule: Rule): void {
    checkJumpLabel(handle, jumpLabel(rule));
  }

  /** @internal The policy of a built-in chain from the snapshot. */
  policyOf(name: string): { policy: Policy; counters: Counters } | null {
    const raw = this.rawChain(name);
    if (!raw.policy) return null;
    return {
      policy: new Policy(raw.policy.name),
      counters: { packets: raw.policy.packets, bytes: raw.policy.bytes },
    };
  }
}

/**
 * One IPv6 netfilter table, through its backend (`legacy`: libip6tc on ip6_tables). As Table.
 *
 * Equivalent to: `ip6tables -t TABLE ...`
 */
export class Table6 extends Table {
  /** 6: ip6tables. */
  static override readonly family: Family = 6;
}
