// A TableView over nf_tables: an editable copy of one nft table read from a snapshot. Edits change the
// copy only; commit() sends what changed as ONE incremental NftBatch tagged with the snapshot's
// generation, as iptables-nft does: untouched rules keep their handles and counters, and rules iptables
// cannot express are never deleted or rewritten (a chain holding one refuses every edit).
import { IPTCError } from '../xtables/errors.js';
import { entryLayout, extensionName, sameEntry, standardTarget } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import { NetlinkSocket } from '../netlink/socket.js';
import { BUILTIN_TABLES, type NftChain } from '../nft/chain.js';
import { NF_DROP } from '../nft/constants.js';
import { NftBatchError, NftGenerationError, NftOpaqueRuleError } from '../nft/errors.js';
import { decoderFor, type NftRule } from '../nft/rule.js';
import { rulesOf, type NftSnapshot } from '../nft/snapshot.js';
import type { RawChain, RawRule, TableView } from './table-backend.js';
import type { NftBatch } from '../nft/batch.js';
import { buildBatch, buildReplaceBatch, nftCommitError, type Command } from './nft-commit.js';
import { addRawRule, NftReadChain, RecordWriter } from './nft-read.js';

const ENOENT = 2;
const E2BIG = 7;
const EPERM = 1;
const EEXIST = 17;
const EINVAL = 22;
const EMLINK = 31;
const ENOTEMPTY = 39;
const EOPNOTSUPP = 95;
const VERDICTS = new Set(['', 'ACCEPT', 'DROP', 'RETURN', 'QUEUE']);

/**
 * A chain holds a rule that iptables cannot express (another program's, e.g. plain nft's `ip saddr
 * { ... }`): it is read-only through iptc, and nothing in it is read as a wrong rule, changed or
 * deleted. An IPTCError with errno EOPNOTSUPP; `rule` is the binding's reason.
 */
export class NftForeignRuleError extends IPTCError {
  override readonly name: string = 'NftForeignRuleError';
  /** A refusal naming the rule by its table, chain and nf_tables handle, and why it cannot be read. */
  constructor(
    /** The table of the rule. */
    readonly table: string,
    /** The chain of the rule. */
    readonly chain: string,
    /** The rule's nf_tables handle (`nft -a list ruleset` shows it). */
    readonly handle: bigint,
    /** Why the rule cannot be read as an iptables rule (the expression and its index). */
    readonly rule: NftOpaqueRuleError,
  ) {
    super(
      `chain \`${chain}' in table \`${table}' holds a rule iptables cannot express (handle ${handle}: ${rule.message}); ` +
        'the chain is read-only through iptc: use nft to change it',
      rule.errno,
    );
  }
}

/** A rule of the view: as read (maybe to be zeroed), read and replaced in place, or new. */
export type ViewRule =
  | { kind: 'kernel'; nft: NftRule; raw: RawRule | null; opaque: NftOpaqueRuleError | null; zero: boolean }
  | { kind: 'replaced'; nft: NftRule; raw: RawRule }
  | { kind: 'new'; raw: RawRule };

export interface ViewChain {
  name: string;
  builtin: boolean;
  /** The kernel chain it was read as; null for a chain the view made (or a builtin chain not there yet). */
  kernel: NftChain | null;
  policy: string | null;
  policyCounters: { packets: bigint; bytes: bigint };
  /** A policy to set at commit (with counters, as iptables-nft's -P sets them). */
  newPolicy: boolean;
  zeroPolicy: boolean;
  /** Edited: a builtin chain missing in the kernel is created at commit. */
  touched: boolean;
  /** Every rule read from the kernel was found expressible: edits need not look again. */
  checked: boolean;
  rules: ViewRule[];
}

export class NftTableView implements TableView {
  readonly family: Family;
  readonly table: string;
  readonly entryForm = 'nft';
  readonly #sock: NetlinkSocket;
  readonly #snap: NftSnapshot;
  #chains: ViewChain[] = [];
  /** The chains by name: a ruleset of thousands of chains (kube-proxy's) is looked up once per rule. */
  readonly #byName = new Map<string, ViewChain>();
  #spent = false;
  /** Deleted and rebuilt at commit (a restore without --noflush), rather than changed in place. */
  #replace = false;

  constructor(sock: NetlinkSocket, family: Family, snap: NftSnapshot) {
    this.#sock = sock;
    this.family = family;
    this.table = snap.tableName;
    this.#snap = snap;
    const builtins = Object.hasOwn(BUILTIN_TABLES, this.table) ? Object.keys(BUILTIN_TABLES[this.table]!) : [];
    const byName = new Map(snap.chains.map((c) => [c.name, c]));
    for (const name of builtins) this.#chains.push(this.#fromKernel(name, true, byName.get(name) ?? null));
    const users = snap.chains.filter((c) => !builtins.includes(c.name)).map((c) => c.name);
    // iptables-nft lists user chains sorted by strcmp (byte order), not in kernel order.
    // ASCII names (nearly all) compare so as strings; the others by their bytes (made once per name).
    if (users.every((n) => /^[\x00-\x7f]*$/.test(n))) users.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    else {
      const bytes = new Map(users.map((n) => [n, Buffer.from(n, 'latin1')]));
      users.sort((a, b) => Buffer.compare(bytes.get(a)!, bytes.get(b)!));
    }
    for (const name of users) this.#chains.push(this.#fromKernel(name, false, byName.get(name)!));
    for (const c of this.#chains) this.#byName.set(c.name, c);
  }

  #fromKernel(name: string, builtin: boolean, kernel: NftChain | null): ViewChain {
    const rules: ViewRule[] = kernel
      ? rulesOf(this.#snap, name).map((nft) => ({ kind: 'kernel', nft, raw: null, opaque: null, zero: false }))
      : [];
    return {
      name, builtin, kernel, rules,
      policy: builtin ? (kernel?.policy === NF_DROP ? 'DROP' : 'ACCEPT') : null,
      policyCounters: kernel?.counters ?? { packets: 0n, bytes: 0n },
      newPolicy: false, zeroPolicy: false, touched: false, checked: rules.length === 0,
    };
  }

  #committed: number | null = null;

  /** The generation the view was read at. */
  origin(): number {
    return this.#snap.genid;
  }

  #live(): void {
    if (this.#spent) throw new IPTCError(`the view of table \`${this.table}' was committed or freed`);
  }

  #find(name: string): ViewChain | undefined {
    this.#live();
    return this.#byName.get(name);
  }

  #chain(name: string): ViewChain {
    const c = this.#find(name);
    if (!c) throw new IPTCError(`chain \`${name}' does not exist in table \`${this.table}'`, ENOENT);
    return c;
  }

  /**
   * A chain to edit: refused while it holds a rule iptables cannot express. `touch`: the change adds to
   * it, so a builtin chain missing in the kernel is created at commit (removing creates nothing).
   */
  #editable(name: string, touch = true): ViewChain {
    const c = this.#chain(name);
    if (!c.checked) {
      // Once per chain: rules read from the kernel are the only ones that can be foreign, and a view
      // never gains more of them.
      for (const r of c.rules) this.#raw(c, r);
      c.checked = true;
    }
    if (touch) c.touched = true;
    return c;
  }

  /** A rule as iptables sees it; throws NftForeignRuleError for one it cannot express. */
  #raw(c: ViewChain, r: ViewRule): RawRule {
    if (r.kind !== 'kernel') return r.raw;
    if (r.raw === null && r.opaque === null) {
      try {
        const t = r.nft.toEntry(decoderFor(this.#snap.family));
        r.raw = { entry: t.entry, label: t.label, standard: t.standard };
      } catch (e) {
        if (!(e instanceof NftOpaqueRuleError)) throw e;
        r.opaque = e;
      }
    }
    if (r.opaque) throw new NftForeignRuleError(this.table, c.name, r.nft.handle, r.opaque);
    return r.raw!;
  }

  /**
   * A copy of the rule for the caller to keep. A kernel rule not decoded yet is decoded into a fresh
   * entry and not kept: a view that is only read (most are) decodes each rule once and copies nothing.
   */
  #owned(c: ViewChain, r: ViewRule): RawRule {
    if (r.kind !== 'kernel' || r.raw !== null || r.opaque !== null) return copyRule(this.#raw(c, r));
    try {
      const t = r.nft.toEntry(decoderFor(this.#snap.family));
      return { entry: t.entry, label: t.label, standard: t.standard };
    } catch (e) {
      if (!(e instanceof NftOpaqueRuleError)) throw e;
      r.opaque = e;
      throw new NftForeignRuleError(this.table, c.name, r.nft.handle, e);
    }
  }

  isChain(chain: string): boolean {
    return this.#find(chain) !== undefined;
  }

  isBuiltin(chain: string): boolean {
    return this.#find(chain)?.builtin === true;
  }

  chainNames(): string[] {
    this.#live();
    return this.#chains.map((c) => c.name);
  }

  read(): RawChain[] {
    this.#live();
    return this.#chains.map((c) => {
      const policy = c.policy === null ? null : { name: c.policy, ...c.policyCounters };
      // The rules as they are now (later edits of the view do not show), decoded when first asked for:
      // a chain with a foreign rule throws then (a save is refused rather than printing a wrong rule),
      // while its name and policy still read. Valid after the view is spent.
      const list = c.rules.slice();
      return new NftReadChain(c.name, c.builtin, policy, this.family, () => this.#records(c, list), () => list.map((r) => this.#owned(c, r)));
    });
  }

  /**
   * The rules as one dump's records: a kernel rule not decoded yet is decoded straight into it (and not
   * kept, as #owned), the others copied. null when a record cannot carry a rule (see RecordWriter.add).
   */
  #records(c: ViewChain, list: readonly ViewRule[]): RecordWriter | null {
    const w = new RecordWriter(list.length * 512);
    const decoder = decoderFor(this.#snap.family);
    for (const r of list) {
      if (r.kind === 'kernel' && r.raw === null && r.opaque === null) {
        let size: number;
        try {
          size = r.nft.decodeInPlace(decoder);
        } catch (e) {
          if (!(e instanceof NftOpaqueRuleError)) throw e;
          r.opaque = e;
          throw new NftForeignRuleError(this.table, c.name, r.nft.handle, e);
        }
        if (!w.add(decoder.entryBuffer, size, decoder.label, decoder.standard)) return null;
      } else if (!addRawRule(w, this.family, this.#raw(c, r))) {
        return null;
      }
    }
    return w;
  }

  rules(chain: string, from = 0, count = 0xffffffff): RawRule[] {
    const c = this.#chain(chain);
    const out: RawRule[] = [];
    for (let i = from; i < c.rules.length && out.length < count; i++) {
      out.push(this.#owned(c, c.rules[i]!));
    }
    return out;
  }

  /** A rule as iptables sees it, or null for one it cannot express. */
  #readable(c: ViewChain, r: ViewRule): RawRule | null {
    try {
      return this.#raw(c, r);
    } catch (e) {
      if (e instanceof NftForeignRuleError) return null;
      throw e;
    }
  }

  /**
   * Jumps from rules iptables can read. A foreign rule may jump too: the kernel counts those, and
   * refuses (EBUSY) to delete a chain they still use.
   */
  references(chain: string): number {
    this.#chain(chain);
    let n = 0;
    for (const c of this.#chains) {
      for (const r of c.rules) {
        const raw = this.#readable(c, r);
        if (raw?.standard && raw.label === chain) n++;
      }
    }
    return n;
  }

  createChain(chain: string): void {
    if (this.#find(chain)) throw new IPTCError(`cannot create chain \`${chain}' in table \`${this.table}': Chain already exists`, EEXIST);
    const c: ViewChain = {
      name: chain, builtin: false, kernel: null, policy: null, policyCounters: { packets: 0n, bytes: 0n },
      newPolicy: false, zeroPolicy: false, touched: true, checked: true, rules: [],
    };
    this.#chains.push(c);
    this.#byName.set(chain, c);
  }

  deleteChain(chain: string): void {
    const c = this.#editable(chain);
    const what = `cannot delete chain \`${chain}' in table \`${this.table}'`;
    if (c.builtin) throw new IPTCError(`${what}: it is a built-in chain`, EPERM);
    if (this.references(chain) > 0) throw new IPTCError(`${what}: Too many links (rules still jump to it)`, EMLINK);
    if (c.rules.length > 0) throw new IPTCError(`${what}: Directory not empty (it still has rules)`, ENOTEMPTY);
    this.#chains.splice(this.#chains.indexOf(c), 1);
    this.#byName.delete(chain);
  }

  renameChain(oldName: string, newName: string): void {
    const c = this.#editable(oldName);
    const what = `cannot rename chain \`${oldName}' to \`${newName}' in table \`${this.table}'`;
    if (c.builtin) throw new IPTCError(`${what}: it is a built-in chain`, EPERM);
    if (this.#find(newName)) throw new IPTCError(`${what}: Chain already exists`, EEXIST);
    // Jumps follow in the kernel (a verdict names the chain object); the copy relabels them.
    for (const other of this.#chains) {
      for (const r of other.rules) {
        const raw = this.#readable(other, r);
        if (raw?.standard && raw.label === oldName) {
          const relabelled = { entry: raw.entry, label: newName, standard: true };
          if (r.kind === 'kernel') r.raw = relabelled;
          else r.raw = { ...relabelled, entry: inputForm(this.family, relabelled) };
        }
      }
    }
    c.name = newName;
    this.#byName.delete(oldName);
    this.#byName.set(newName, c);
  }

  setPolicy(chain: string, policy: string, counters?: { packets: bigint; bytes: bigint }): void {
    const c = this.#chain(chain);
    if (!c.builtin) throw new IPTCError(`cannot set policy of chain \`${chain}': only built-in chains have one`, ENOENT);
    if (policy !== 'ACCEPT' && policy !== 'DROP') {
      throw new IPTCError(`cannot set policy of chain \`${chain}' to ${policy}: Bad policy name`, EINVAL);
    }
    c.touched = true;
    c.policy = policy;
    c.policyCounters = counters ? { packets: counters.packets, bytes: counters.bytes } : { packets: 0n, bytes: 0n };
    c.newPolicy = true;
  }

  /** A new rule from an entry whose standard target carries its label in the name field. */
  #newRule(entry: Buffer): { kind: 'new'; raw: RawRule } {
    const copy = Buffer.from(entry.subarray(0, entry.readUInt16LE(entryLayout(this.family).nextOffset)));
    const l = entryLayout(this.family);
    const name = extensionName(copy.subarray(copy.readUInt16LE(l.targetOffset)));
    const standard = VERDICTS.has(name) || this.isChain(name);
    return { kind: 'new', raw: { entry: copy, label: name, standard } };
  }

  appendEntry(chain: string, entry: Buffer): void {
    this.#editable(chain).rules.push(this.#newRule(entry));
  }

  appendEntries(chain: string, entries: Buffer, count: number): number {
    // As libiptc: a refusal ends the run and says how far it got; the caller appends the refused entry
    // alone for its error (and the restore line that made it).
    let c: ViewChain;
    try {
      c = this.#editable(chain);
    } catch {
      return 0;
    }
    const l = entryLayout(this.family);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const size = entries.readUInt16LE(at + l.nextOffset);
      try {
        c.rules.push(this.#newRule(entries.subarray(at, at + size)));
      } catch {
        return i;
      }
      at += size;
    }
    return count;
  }

  appendRule(chain: string, rule: RawRule): void {
    this.appendEntry(chain, inputForm(this.family, rule));
  }

  #at(c: ViewChain, position: number, what: string): void {
    if (!Number.isInteger(position) || position < 0 || position >= c.rules.length) {
      // E2BIG, as libiptc and iptables-nft (nft_rule_delete_num, nft_rule_replace, nft_rule_insert) set it.
      const noun = what === 'insert' ? 'insertion' : what === 'replace' ? 'replacement' : 'deletion';
      throw new IPTCError(`cannot ${what} rule ${position + 1} of chain \`${c.name}' in table \`${this.table}': Index of ${noun} too big`, E2BIG);
    }
  }

  insertEntry(chain: string, entry: Buffer, position: number): void {
    const c = this.#editable(chain);
    if (position !== c.rules.length) this.#at(c, position, 'insert');
    c.rules.splice(position, 0, this.#newRule(entry));
  }

  replaceEntry(chain: string, entry: Buffer, position: number): void {
    const c = this.#editable(chain);
    this.#at(c, position, 'replace');
    const old = c.rules[position]!;
    const fresh = this.#newRule(entry);
    c.rules[position] = old.kind === 'new' ? fresh : { kind: 'replaced', nft: old.nft, raw: fresh.raw };
  }

  #index(c: ViewChain, entry: Buffer, mask: Buffer): number {
    // The entry may sit in a larger scratch buffer (a batch's deletes: Rule.scratchEntry); it ends at
    // its next_offset, as libiptc reads it.
    const own = entry.subarray(0, entry.readUInt16LE(entryLayout(this.family).nextOffset));
    return c.rules.findIndex((r) => sameEntry(this.family, own, inputForm(this.family, this.#raw(c, r)), mask));
  }

  deleteEntry(chain: string, entry: Buffer, mask: Buffer): void {
    const c = this.#editable(chain, false);
    const i = this.#index(c, entry, mask);
    if (i < 0) {
      throw new IPTCError(`cannot delete from chain \`${chain}' in table \`${this.table}': Bad rule (does a matching rule exist in that chain?)`, ENOENT);
    }
    c.rules.splice(i, 1);
  }

  checkEntry(chain: string, entry: Buffer, mask: Buffer): boolean {
    const c = this.#chain(chain);
    return this.#index(c, entry, mask) >= 0;
  }

  deleteNumEntry(chain: string, position: number): void {
    const c = this.#editable(chain, false);
    this.#at(c, position, 'delete');
    c.rules.splice(position, 1);
  }

  flushEntries(chain: string): void {
    this.#editable(chain, false).rules = [];
  }

  zeroEntries(chain: string): void {
    // A zero re-sends each rule: refused, as every edit, where a rule iptables cannot express is.
    const c = this.#editable(chain, false);
    const l = entryLayout(this.family);
    c.policyCounters = { packets: 0n, bytes: 0n };
    c.zeroPolicy = true;
    for (const r of c.rules) {
      if (r.kind === 'kernel') r.zero = true;
      r.raw = { ...r.raw!, entry: Buffer.from(r.raw!.entry).fill(0, l.counters, l.counters + 16) };
    }
  }

  /**
   * A restore without --noflush, once the view is empty: the commit deletes the table and builds it
   * again, as iptables-nft-restore does (new handles, every counter and policy as the restore gives it,
   * builtin chains it does not declare gone). Refused while the table holds what iptables cannot
   * express (another program's rules, sets or objects), which deleting the table would drop.
   */
  replaceTable(): void {
    this.#live();
    for (const c of this.#chains) for (const r of c.rules) this.#raw(c, r);
    const table = this.#snap.table;
    if (table !== null && table.use > this.#snap.chains.length) {
      throw new IPTCError(
        `table \`${this.table}' holds nf_tables objects iptables does not know (sets, maps or stateful objects ` +
          'of another program): a restore without --noflush would delete them with the table; use --noflush, or nft',
        EOPNOTSUPP,
      );
    }
    this.#replace = true;
    this.#chains = this.#chains.map((c) => ({
      ...c, kernel: null, rules: [], policy: c.builtin ? 'ACCEPT' : null, policyCounters: { packets: 0n, bytes: 0n },
      newPolicy: false, zeroPolicy: false, touched: !c.builtin,
    }));
    this.#byName.clear();
    for (const c of this.#chains) this.#byName.set(c.name, c);
  }

  free(): void {
    this.#spent = true;
  }

  commit(): void {
    NftTableView.commitTogether([this]);
  }

  /**
   * Commits several views (tables of either family, of one network namespace) in ONE nf_tables
   * transaction: all or nothing. Views read at different generations mean the ruleset moved between
   * their reads: NftGenerationError, as the kernel's ERESTART, and nothing is sent. The views are spent.
   */
  static commitTogether(views: readonly NftTableView[]): void {
    const first = views[0];
    if (first === undefined) return;
    for (const v of views) v.#live();
    const genid = first.#snap.genid;
    if (views.some((v) => v.#snap.genid !== genid)) throw new NftGenerationError(genid);
    if (views.some((v) => v.#sock !== first.#sock)) {
      throw new IPTCError('tables of different network namespaces cannot be committed in one transaction', EINVAL);
    }
    let batch: NftBatch<Command> | undefined;
    for (const v of views) batch = (v.#replace ? buildReplaceBatch : buildBatch)(v.family, v.table, v.#snap, v.#chains, batch);
    for (const v of views) v.#spent = true;
    refuseOversized(batch!, first.table);
    try {
      batch!.commit(first.#sock, { genid });
    } catch (e) {
      // A stale generation is the object model's to handle (it re-reads and applies again).
      if (e instanceof NftBatchError && !(e instanceof NftGenerationError)) throw nftCommitError(first.table, e);
      throw e;
    }
    if (batch!.ops.some((op) => RELEASES.has(op.kind))) releaseRemoved();
    // The kernel took the transaction only at the views' generation, and each transaction it takes moves
    // the generation on by one (a u32 that skips 0, nf_tables_commit); an empty batch sends nothing.
    const committed = batch!.size === 0 ? genid : ((genid + 1) >>> 0) || 1;
    for (const v of views) v.#committed = committed;
  }

  committedOrigin(): number {
    if (this.#committed === null) throw new IPTCError(`the view of table \`${this.table}' was not committed`);
    return this.#committed;
  }
}

/**
 * The largest message iptc puts in a batch. The kernel (6.18, measured) takes a 32,216-byte NEWRULE
 * (107 comment matches) but silently ignores a 32,516-byte one and every message after it, while the
 * messages before it are committed and no error comes back (iptables-nft 1.8.9 exits 0 with no rule).
 */
const MAX_MESSAGE = 32 * 1024 - 512;
const EMSGSIZE = 90;

/** Refuses, before anything is sent, a batch with a message the kernel would drop without a word. */
function refuseOversized(batch: ReturnType<typeof buildBatch>, table: string): void {
  const ops = batch.ops;
  for (let i = 0; i < ops.length; i++) {
    const end = i + 1 < ops.length ? ops[i + 1]!.at : batch.bytes - 20;
    if (end - ops[i]!.at > MAX_MESSAGE) {
      const chain = ops[i]!.chain === undefined ? '' : ` in chain \`${ops[i]!.chain}'`;
      throw new IPTCError(
        `cannot write a rule${chain} of table \`${ops[i]!.table ?? table}' to nf_tables: its message is ${end - ops[i]!.at} bytes, and the ` +
          `kernel drops one over ${MAX_MESSAGE} without an error (fewer matches, or the legacy backend, take it)`,
        EMSGSIZE,
      );
    }
  }
}

/** Operations that take rules out of the kernel (a replaced rule's old expressions go too). */
const RELEASES = new Set(['deleteRule', 'flushRules', 'replaceRule', 'deleteChain', 'deleteTable']);

/**
 * The kernel frees the expressions of removed rules in deferred work, and until then they still hold
 * what they refer to: an `ipset destroy` of a set a deleted rule used gets EBUSY now and then (measured:
 * 16 of 20 times at once after the commit). Releasing a NETLINK_NETFILTER socket makes the kernel finish
 * that work first, which is why iptables-nft, whose socket goes when it exits, never shows it: so does
 * a throwaway socket here, before commit() returns.
 */
function releaseRemoved(): void {
  new NetlinkSocket().close();
}

const copyRule = (raw: RawRule): RawRule => ({ entry: Buffer.from(raw.entry), label: raw.label, standard: raw.standard });

/** The entry with a standard target's label in its name field, as Rule.toEntry builds it. */
function inputForm(family: Family, rule: RawRule): Buffer {
  if (!rule.standard) return rule.entry;
  const l = entryLayout(family);
  const entry = Buffer.from(rule.entry);
  const target = entry.readUInt16LE(l.targetOffset);
  standardTarget(rule.label).copy(entry, target);
  return entry;
}
