// A TableView over nf_tables: an editable copy of one nft table read from a snapshot. Edits change the
// copy only; commit() sends what changed as ONE incremental NftBatch tagged with the snapshot's
// generation, as iptables-nft does: untouched rules keep their handles and counters, and rules iptables
// cannot express are never deleted or rewritten (a chain holding one refuses every edit). Its chains and
// their rules, decoded when first needed, are nft-view-chain.ts'; the batch a commit sends, nft-commit.ts'.
import { IPTCError } from '../xtables/errors.js';
import { entryLayout, extensionName, sameEntry } from '../xtables/entry.js';
import type { Family } from '../xtables/shim.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import type { NftBatch } from '../nft/batch.js';
import { BUILTIN_TABLES } from '../nft/chain.js';
import { NftBatchError, NftGenerationError } from '../nft/errors.js';
import type { NftSnapshot } from '../nft/snapshot.js';
import { buildBatch, buildReplaceBatch, nftCommitError, refuseOversized, releaseRemoved, type Command } from './nft-commit.js';
import { NftReadChain } from './nft-read.js';
import {
  inputForm,
  kernelChain,
  newChain,
  ownedRule,
  rawRule,
  readableRule,
  ruleRecords,
  type ViewChain,
} from './nft-view-chain.js';
import type { RawChain, RawRule, TableView } from './table-backend.js';

const ENOENT = 2;
const E2BIG = 7;
const EPERM = 1;
const EEXIST = 17;
const EINVAL = 22;
const EMLINK = 31;
const ENOTEMPTY = 39;
const EOPNOTSUPP = 95;
const VERDICTS = new Set(['', 'ACCEPT', 'DROP', 'RETURN', 'QUEUE']);

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
    for (const name of builtins) this.#chains.push(kernelChain(snap, name, true, byName.get(name) ?? null));
    const users = snap.chains.filter((c) => !builtins.includes(c.name)).map((c) => c.name);
    // iptables-nft lists user chains sorted by strcmp (byte order), not in kernel order.
    // ASCII names (nearly all) compare so as strings; the others by their bytes (made once per name).
    if (users.every((n) => /^[\x00-\x7f]*$/.test(n))) users.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    else {
      const bytes = new Map(users.map((n) => [n, Buffer.from(n, 'latin1')]));
      users.sort((a, b) => Buffer.compare(bytes.get(a)!, bytes.get(b)!));
    }
    for (const name of users) this.#chains.push(kernelChain(snap, name, false, byName.get(name)!));
    for (const c of this.#chains) this.#byName.set(c.name, c);
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
      for (const r of c.rules) rawRule(this.#snap, c, r);
      c.checked = true;
    }
    if (touch) c.touched = true;
    return c;
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
      return new NftReadChain(c.name, c.builtin, policy, this.family, () => ruleRecords(this.#snap, this.family, c, list), () => list.map((r) => ownedRule(this.#snap, c, r)));
    });
  }

  rules(chain: string, from = 0, count = 0xffffffff): RawRule[] {
    const c = this.#chain(chain);
    const out: RawRule[] = [];
    for (let i = from; i < c.rules.length && out.length < count; i++) {
      out.push(ownedRule(this.#snap, c, c.rules[i]!));
    }
    return out;
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
        const raw = readableRule(this.#snap, c, r);
        if (raw?.standard && raw.label === chain) n++;
      }
    }
    return n;
  }

  createChain(chain: string): void {
    if (this.#find(chain)) throw new IPTCError(`cannot create chain \`${chain}' in table \`${this.table}': Chain already exists`, EEXIST);
    const c = newChain(chain);
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
        const raw = readableRule(this.#snap, other, r);
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
    return c.rules.findIndex((r) => sameEntry(this.family, own, inputForm(this.family, rawRule(this.#snap, c, r)), mask));
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
    for (const c of this.#chains) for (const r of c.rules) rawRule(this.#snap, c, r);
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
    releaseRemoved(batch!);
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
