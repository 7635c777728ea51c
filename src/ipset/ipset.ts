// IPSet: the low-level socket to the kernel's ipset subsystem, one method per ipset command (the
// counterpart of pyroute2's IPSet). Every call is one synchronous netlink exchange, except addMany (one
// message per ~60 KiB of elements) and the dumps (as many replies as the kernel needs). The commands
// themselves live in channel.ts (plumbing), create.ts, elements.ts, dump.ts, save.ts and restore.ts.
import { readStr } from './attributes.js';
import { Channel } from './channel.js';
import { Attr, Cmd, ListFlag, NLM_F_ACK, NLM_F_EXCL, NLM_F_REQUEST } from './constants.js';
import { createSet, supportedRevisions, type CreateOptions } from './create.js';
import { dump, dumpEach, type ListVisitor } from './dump.js';
import { adt, prepareBatch, runBatch, type AddOptions } from './elements.js';
import type { Entry, EntryOptions, EntryWithOptions } from './entry.js';
import { IPSetError } from './errors.js';
import type { IPSetInfo } from './header.js';
import { intOption } from './numbers.js';
import { checkOptions, flag } from './options.js';
import { restoreInto } from './restore.js';
import { formatSetEntries, formatSetHeader } from './save.js';
import { checkNewSetName, checkSetName } from './words.js';
import { socketFactory, type IPSetOptions } from './netns.js';

export type { CreateOptions } from './create.js';
export type { AddOptions, PreparedBatch } from './elements.js';

// An IPSet that is dropped without close() gives its socket back when it is collected. The registry holds
// the channel, never the IPSet, so it does not keep the IPSet alive.
const unclosed = new FinalizationRegistry<Channel>((ch) => ch.close());

const RESTORE_OPTIONS: ReadonlySet<string> = new Set(['exist']);

/**
 * A NETLINK_NETFILTER socket to the kernel's ipset subsystem: create, fill, test, list, save and
 * restore sets, as the `ipset` command does (pyroute2's `IPSet`). Synchronous; close() it (or `using`).
 *
 * Equivalent to: the `ipset` command
 */
export class IPSet {
  private readonly ch: Channel;

  /**
   * Opens a NETLINK_NETFILTER socket in the calling thread's network namespace, or in `options.netns`
   * (see IPSetOptions).
   */
  constructor(options: IPSetOptions = {}) {
    this.ch = new Channel(socketFactory(options));
    unclosed.register(this, this.ch, this);
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.ch.closed;
  }

  /** Closes the socket (also done when the IPSet is garbage-collected, and by `using`). */
  close(): void {
    unclosed.unregister(this);
    this.ch.close();
  }

  /** close(), for `using ipset = new IPSet()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The type name of a set (cached; the cache is dropped when this socket renames/swaps/destroys it).
   *
   * Equivalent to: `ipset list -t NAME` (its `Type:` line)
   */
  typeOf(name: string): string {
    return this.ch.typeOf(name);
  }

  /**
   * The kernel's ipset protocol version (7 on current kernels).
   * Equivalent to: `ipset version` (the kernel half of its answer).
   */
  getProtoVersion(): number {
    const { seq, at } = this.ch.begin(Cmd.PROTOCOL, NLM_F_REQUEST);
    const { buf, t } = this.ch.query(seq, at, 'version');
    return buf[t.offsets[Attr.PROTOCOL]!]!;
  }

  /**
   * [min, max] revision of a set type the kernel supports for a family.
   * Equivalent to what `ipset create` asks the kernel before creating (`IPSET_CMD_TYPE`).
   */
  getSupportedRevisions(stype: string, family: 'inet' | 'inet6' | 2 | 10 = 'inet'): [number, number] {
    return supportedRevisions(this.ch, stype, family);
  }

  /**
   * Creates a set. The name must be one that `ipset save` text can carry (no white space, `"` or `,`).
   * Equivalent to: `ipset create foo hash:ip family inet timeout 600 counters comment` (`-exist` when
   * `exclusive` is false).
   */
  create(name: string, opts: CreateOptions = {}): void {
    createSet(this.ch, name, opts);
  }

  /**
   * Destroys one set. A missing name is a TypeError: destroying every set is destroyAll().
   * Equivalent to: `ipset destroy foo`.
   */
  destroy(name: string): void {
    checkSetName(name);
    this.destroyOrFlush(Cmd.DESTROY, 'destroy', name);
  }

  /** Destroys every set of the network namespace. Equivalent to: `ipset destroy` (no set name). */
  destroyAll(): void {
    this.destroyOrFlush(Cmd.DESTROY, 'destroy', undefined);
  }

  /**
   * Removes every entry of one set. A missing name is a TypeError: flushing every set is flushAll().
   * Equivalent to: `ipset flush foo`.
   */
  flush(name: string): void {
    checkSetName(name);
    this.destroyOrFlush(Cmd.FLUSH, 'flush', name);
  }

  /** Removes every entry of every set. Equivalent to: `ipset flush` (no set name). */
  flushAll(): void {
    this.destroyOrFlush(Cmd.FLUSH, 'flush', undefined);
  }

  private destroyOrFlush(cmd: number, command: string, name: string | undefined): void {
    const { seq, at } = this.ch.begin(cmd, NLM_F_REQUEST | NLM_F_ACK | (cmd === Cmd.DESTROY ? NLM_F_EXCL : 0));
    if (name !== undefined) this.ch.w.str(Attr.SETNAME, name);
    try {
      this.ch.exchange(seq, at, command, name);
    } finally {
      if (cmd === Cmd.DESTROY) {
        if (name === undefined) this.ch.typeCache.clear();
        else this.ch.typeCache.delete(name);
      }
    }
  }

  /**
   * Renames a set (it must not be referenced by a list:set... the kernel decides). The new name must be one
   * that `ipset save` text can carry.
   * Equivalent to: `ipset rename from to`.
   */
  rename(from: string, to: string): void {
    checkSetName(from);
    checkNewSetName(to, 'rename', 'new set name');
    this.twoSets(Cmd.RENAME, 'rename', from, to);
  }

  /**
   * Exchanges the contents (and types) of two sets atomically; rules keep pointing at the names.
   * Equivalent to: `ipset swap a b`.
   */
  swap(a: string, b: string): void {
    checkSetName(a);
    checkSetName(b, 'second set name');
    this.twoSets(Cmd.SWAP, 'swap', a, b);
  }

  /** A command on two sets (rename, swap): both names' cached types are stale afterwards. */
  private twoSets(cmd: number, command: string, a: string, b: string): void {
    const { seq, at } = this.ch.begin(cmd, NLM_F_REQUEST | NLM_F_ACK);
    this.ch.w.str(Attr.SETNAME, a);
    this.ch.w.str(Attr.SETNAME2, b);
    this.ch.typeCache.delete(a);
    this.ch.typeCache.delete(b);
    this.ch.exchange(seq, at, command, a);
  }

  /**
   * Adds one element. `entry` is the CLI's element text or its parts; options are its extensions.
   * Equivalent to: `ipset add foo 10.0.0.1 timeout 30 comment "x"` (`-exist` when `exclusive` is false).
   */
  add(name: string, entry: Entry, opts: AddOptions = {}): void {
    adt(this.ch, Cmd.ADD, 'add', name, entry, opts);
  }

  /**
   * Deletes one element.
   * Equivalent to: `ipset del foo 10.0.0.1` (`-exist` when `exclusive` is false: no error if absent).
   */
  delete(name: string, entry: Entry, opts: AddOptions = {}): void {
    adt(this.ch, Cmd.DEL, 'del', name, entry, opts);
  }

  /** Alias of delete() (pyroute2 has `delete`, the CLI `del`). Equivalent to: `ipset del NAME ENTRY` */
  del(name: string, entry: Entry, opts: AddOptions = {}): void {
    this.delete(name, entry, opts);
  }

  /**
   * Whether an element is in the set (for hash:net, whether an address is covered, honouring nomatch).
   * Equivalent to: `ipset test foo 10.0.0.1` (exit status 0 = true).
   */
  test(name: string, entry: Entry, opts: EntryOptions = {}): boolean {
    return adt(this.ch, Cmd.TEST, 'test', name, entry, opts);
  }

  /**
   * Adds many elements in as few messages as possible, like `ipset restore` does. Elements are applied
   * in order; on the first failure the earlier ones stay added and the IPSetError names the failing
   * entry (`index`, `entry`). Each item is an entry or `{ entry, ...options }`.
   * Equivalent to: `ipset restore` of `add foo ...` lines (with `-exist` when `exclusive` is false).
   */
  addMany(name: string, entries: Iterable<Entry | EntryWithOptions>, opts: AddOptions = {}): void {
    runBatch(this.ch, prepareBatch(this.ch, Cmd.ADD, name, entries, opts));
  }

  /** Deletes many elements, batched like addMany(). Equivalent to: `ipset restore` of `del` lines. */
  deleteMany(name: string, entries: Iterable<Entry | EntryWithOptions>, opts: AddOptions = {}): void {
    runBatch(this.ch, prepareBatch(this.ch, Cmd.DEL, name, entries, opts));
  }

  /**
   * Every set (or one) with its header and all its entries, reading every page of the dump.
   * Equivalent to: `ipset list` / `ipset list foo`.
   */
  list(name?: string): IPSetInfo[] {
    return dump(this.ch, Cmd.LIST, name, 0, 'list');
  }

  /**
   * Every set (or one) as list() gives it, handed on as the kernel sends it: `visit.set` gets each set
   * (its `entries` left empty), then `visit.entries` its entries a page at a time. A listing of any size
   * holds one page; what the callbacks keep is up to them.
   * Equivalent to: `ipset list` / `ipset list foo`, as it prints.
   */
  listEach(name: string | undefined, visit: ListVisitor): void {
    dumpEach(this.ch, Cmd.LIST, name, 0, 'list', visit);
  }

  /**
   * One set's identity and header (all create options, sizes, references), without entries.
   * Equivalent to: `ipset list -terse foo`.
   */
  headers(name: string): IPSetInfo {
    checkSetName(name);
    const sets = dump(this.ch, Cmd.LIST, name, ListFlag.HEADER, 'list');
    const info = sets.find((s) => s.name === name);
    if (!info) throw new IPSetError(2, { command: 'list', setName: name });
    return info;
  }

  /** Every set's identity and header, without entries. Equivalent to: `ipset list -terse`. */
  listHeaders(): IPSetInfo[] {
    return dump(this.ch, Cmd.LIST, undefined, ListFlag.HEADER, 'list');
  }

  /** Names of all sets. Equivalent to: `ipset list -name`. */
  listNames(): string[] {
    return dump(this.ch, Cmd.LIST, undefined, ListFlag.SETNAME, 'list').map((s) => s.name);
  }

  /**
   * The kernel index of a set (what iptables `set` rules store).
   * Equivalent to the `IPSET_CMD_GET_BYNAME` request (no CLI command).
   */
  getSetByName(name: string): number {
    checkSetName(name);
    const { seq, at } = this.ch.begin(Cmd.GET_BYNAME, NLM_F_REQUEST);
    this.ch.w.str(Attr.SETNAME, name);
    const { buf, t } = this.ch.query(seq, at, 'get_byname', name);
    return buf.readUInt16BE(t.offsets[Attr.INDEX]!);
  }

  /** The name of the set at a kernel index. Equivalent to the `IPSET_CMD_GET_BYINDEX` request. */
  getSetByIndex(index: number): string {
    intOption(index, 'set index', 0, 0xfffe);
    const { seq, at } = this.ch.begin(Cmd.GET_BYINDEX, NLM_F_REQUEST);
    this.ch.w.be16(Attr.INDEX, index);
    const { buf, t } = this.ch.query(seq, at, 'get_byindex');
    return readStr(buf, t.offsets[Attr.SETNAME]!, t.lengths[Attr.SETNAME]!);
  }

  /**
   * The sets (or one) in `ipset save` format, byte for byte. A set whose name, element or comment that
   * text cannot carry (made by another program) is an IPSetError, not text that restores differently.
   * Equivalent to: `ipset save` / `ipset save foo`.
   */
  save(name?: string): string {
    const parts: string[] = [];
    this.saveTo((text) => parts.push(text), name);
    return parts.join('');
  }

  /**
   * As save(), handing the text to `write` a piece at a time (a set's create line, then its add lines
   * a page at a time) instead of holding it whole. When a set cannot be written (see save()), the
   * IPSetError comes after the pieces before it: what was written is incomplete.
   * Equivalent to: `ipset save` / `ipset save foo`, as it prints.
   */
  saveTo(write: (text: string) => void, name?: string): void {
    dumpEach(this.ch, Cmd.SAVE, name, 0, 'save', {
      set: (info) => write(formatSetHeader(info)),
      entries: (info, entries) => write(formatSetEntries(info, entries)),
    });
  }

  /**
   * Applies `ipset save`/`ipset restore` text (create/add/del/destroy/flush/rename/swap lines), adds
   * batched, each line read as the ipset tool reads it. The whole text is checked first; then it stops at
   * the first failing line (earlier lines stay applied, as with `ipset restore`); the IPSetError carries
   * the 1-based `line`. `exist: true` is the CLI's `-exist`. A bare `destroy` / `flush` line means every
   * set, as it does for the tool.
   * Equivalent to: `ipset restore [-exist] < text`.
   */
  restore(text: string, opts: { exist?: boolean } = {}): void {
    checkOptions(opts, RESTORE_OPTIONS, 'restore options');
    restoreInto(this, this.ch, text, flag(opts.exist, 'exist'));
  }
}
