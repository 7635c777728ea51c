// WiSet: one set as an object (pyroute2's WiSet), on top of the shared IPSet socket or a socket of its own.
// Its content maps each element, keyed as pyroute2 keys it, to its extensions; replaceEntries swaps in a
// fully built temporary set so that rules never see a half-filled set.
import { randomBytes } from 'node:crypto';
import type { Entry, EntryOptions, EntryWithOptions, IPSetEntry } from './entry.js';
import { IPSetError } from './errors.js';
import type { IPSetHeader, IPSetInfo } from './header.js';
import { IPSet, type AddOptions, type CreateOptions } from './ipset.js';
import { checkOptions, flag } from './options.js';
import { SET_TYPES } from './types.js';
import { WiSetContent } from './wiset-content.js';
import { checkSetName } from './words.js';

/** The extensions of one element (pyroute2's IPStats). */
export interface IPStats {
  /** Packets counted (sets with counters). */
  packets?: bigint;
  /** Bytes counted (sets with counters). */
  bytes?: bigint;
  /** The element's comment (sets with comment). */
  comment?: string;
  /** Seconds left before the element expires (sets with timeout). */
  timeout?: number;
  /** '0x10/0xff' or '0x10' (mask 0xffffffff), as the CLI prints it. */
  skbmark?: string;
  /** 'major:minor' in hex, as the CLI prints it. */
  skbprio?: string;
  /** The queue the element sets (sets with skbinfo). */
  skbqueue?: number;
  /** Whether matching addresses are excluded (hash:net*). */
  nomatch: boolean;
  /** Whether the interface is a bridge port (hash:net,iface). */
  physdev: boolean;
  /** Whether the interface name is a prefix (hash:net,iface). */
  wildcard: boolean;
}

/** How a WiSet is made (pyroute2's WiSet keyword arguments, camelCased). */
export interface WiSetOptions {
  /** The set's name. */
  name: string;
  /** Set type, default 'hash:ip' (pyroute2's attr_type). */
  attrType?: string;
  /** 'inet' (default) or 'inet6'. */
  family?: 'inet' | 'inet6' | 2 | 10;
  /** Defaults to the shared socket of getIpsetSocket() (or one of its own after openNetlink()). */
  sock?: IPSet;
  /** Default timeout of entries, in seconds. Equivalent to: `ipset create NAME TYPE timeout N` */
  timeout?: number;
  /** Counters per entry. Equivalent to: `ipset create NAME TYPE counters` */
  counters?: boolean;
  /** A comment per entry. Equivalent to: `ipset create NAME TYPE comment` */
  comment?: boolean;
  /** skbinfo per entry. Equivalent to: `ipset create NAME TYPE skbinfo` */
  skbinfo?: boolean;
  /** When full, a new entry evicts a random one. Equivalent to: `ipset create NAME TYPE forceadd` */
  forceadd?: boolean;
  /** Initial hash size. Equivalent to: `ipset create NAME TYPE hashsize N` */
  hashsize?: number;
  /** The most entries. Equivalent to: `ipset create NAME TYPE maxelem N` */
  maxelem?: number;
  /** The type revision; default the newest the kernel supports. */
  revision?: number;
  /** Any other create option (range, size, netmask, bitmask, bucketsize, ...). */
  createOptions?: CreateOptions;
}

const WISET_OPTIONS: ReadonlySet<string> = new Set([
  'name', 'attrType', 'family', 'sock', 'timeout', 'counters', 'comment', 'skbinfo', 'forceadd', 'hashsize', 'maxelem',
  'revision', 'createOptions',
]);

let shared: IPSet | undefined;

/** One long-lived socket shared by every WiSet made without its own (pyroute2's get_ipset_socket). */
export function getIpsetSocket(): IPSet {
  if (!shared || shared.closed) shared = new IPSet();
  return shared;
}

export function toIPStats(e: IPSetEntry): IPStats {
  const s: IPStats = { nomatch: e.nomatch, physdev: e.physdev, wildcard: e.wildcard };
  if (e.packets !== undefined) s.packets = e.packets;
  if (e.bytes !== undefined) s.bytes = e.bytes;
  if (e.comment !== undefined) s.comment = e.comment;
  if (e.timeout !== undefined) s.timeout = e.timeout;
  if (e.skbmark !== undefined) {
    const [m, mask] = e.skbmark;
    s.skbmark = mask === 0xffffffff ? `0x${m.toString(16)}` : `0x${m.toString(16)}/0x${mask.toString(16)}`;
  }
  if (e.skbprio !== undefined) s.skbprio = `${e.skbprio[0].toString(16)}:${e.skbprio[1].toString(16)}`;
  if (e.skbqueue !== undefined) s.skbqueue = e.skbqueue;
  return s;
}

/** The create options that rebuild a set with this header. */
function headerToCreateOptions(info: IPSetInfo): CreateOptions {
  const h: IPSetHeader = info.header;
  const o: CreateOptions = { stype: info.type, revision: info.revision };
  if (info.family !== 'unspec') o.family = info.family;
  const copy = ['hashsize', 'maxelem', 'timeout', 'netmask', 'bitmask', 'bucketsize', 'initval', 'markmask', 'range', 'size'] as const;
  for (const k of copy) if (h[k] !== undefined) (o as Record<string, unknown>)[k] = h[k];
  for (const k of ['counters', 'comment', 'skbinfo', 'forceadd'] as const) if (h[k]) o[k] = true;
  return o;
}

/**
 * A set as an object (pyroute2's `WiSet`): its create options as properties, `create()`, `add()`,
 * `content` with each entry's extensions, and atomic `replaceEntries()` through a temporary set and a swap.
 *
 * Equivalent to: `ipset create`, `ipset add`, `ipset list`, `ipset swap` on one set
 */
export class WiSet {
  /** The set's name. */
  name: string;
  /** The set type, e.g. `hash:ip` (pyroute2's `attr_type`). */
  attrType: string;
  /** The set's family. */
  family: 'inet' | 'inet6' | 'unspec';
  /** Default timeout of entries, in seconds; undefined without timeout support. */
  timeout: number | undefined;
  /** Whether entries have counters. */
  counters: boolean;
  /** Whether entries have comments. */
  comment: boolean;
  /** Whether entries have skbinfo. */
  skbinfo: boolean;
  /** Whether a full set evicts an entry for a new one. */
  forceadd: boolean;
  /** The hash size, if set. */
  hashsize: number | undefined;
  /** The most entries, if set. */
  maxelem: number | undefined;
  /** The type revision, if set. */
  revision: number | undefined;
  /** The other create options (range, size, netmask, ...). */
  createOptions: CreateOptions;
  /** Filled by loadIpset/loadAllIpsets from the kernel: the full header of the set. */
  header: IPSetHeader | undefined;
  /** The socket given in the options or opened by openNetlink(); undefined: the shared one. */
  private ownSock: IPSet | undefined;
  /** Whether ownSock was opened here (and so is closed here). */
  private opened = false;
  private _content: WiSetContent | undefined;

  /**
   * A set object; nothing reaches the kernel before create() (or a load). pyroute2: `WiSet(name=..., attr_type=...)`.
   */
  constructor(opts: WiSetOptions) {
    checkOptions(opts, WISET_OPTIONS, 'WiSet options');
    checkSetName(opts.name, 'WiSet name');
    this.name = opts.name;
    this.attrType = opts.attrType ?? 'hash:ip';
    if (typeof this.attrType !== 'string') throw new TypeError('attrType must be a set type name such as hash:ip');
    const f = opts.family ?? 'inet';
    if (f !== 'inet' && f !== 'inet6' && f !== 2 && f !== 10) throw new TypeError(`unknown family ${JSON.stringify(f)} (use 'inet' or 'inet6')`);
    this.family = f === 10 || f === 'inet6' ? 'inet6' : 'inet';
    this.timeout = opts.timeout;
    this.counters = flag(opts.counters, 'counters');
    this.comment = flag(opts.comment, 'comment');
    this.skbinfo = flag(opts.skbinfo, 'skbinfo');
    this.forceadd = flag(opts.forceadd, 'forceadd');
    this.hashsize = opts.hashsize;
    this.maxelem = opts.maxelem;
    this.revision = opts.revision;
    this.createOptions = { ...opts.createOptions };
    this.header = undefined;
    if (opts.sock !== undefined && !(opts.sock instanceof IPSet)) throw new TypeError('sock must be an IPSet');
    this.ownSock = opts.sock;
  }

  /** The socket this set talks through: its own, or the shared one. */
  get sock(): IPSet {
    return this.ownSock ?? getIpsetSocket();
  }

  /**
   * Gives this set a socket of its own (pyroute2's open_netlink(), which `with WiSet(...)` calls), closed
   * by close() or at the end of a `using` block. Does nothing if it already has one.
   */
  openNetlink(): void {
    if (this.ownSock && !this.ownSock.closed) return;
    this.ownSock = new IPSet();
    this.opened = true;
  }

  /**
   * Closes the socket openNetlink() opened; a socket passed in `sock` is let go, not closed (it belongs to
   * the caller). Afterwards the set talks through the shared socket. Equivalent to pyroute2's close_netlink().
   */
  close(): void {
    if (this.opened) this.ownSock?.close();
    this.ownSock = undefined;
    this.opened = false;
  }

  /** Alias of close() (pyroute2's name). */
  closeNetlink(): void {
    this.close();
  }

  /** close(), for `using set = new WiSet(...)`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Builds a WiSet from a listed set (what loadIpset does). Equivalent to: `ipset list NAME` */
  static fromInfo(info: IPSetInfo, sock?: IPSet): WiSet {
    const h = info.header;
    const s = new WiSet({
      name: info.name,
      attrType: info.type,
      ...(info.family !== 'unspec' && { family: info.family }),
      ...(sock && { sock }),
      ...(h.timeout !== undefined && { timeout: h.timeout }),
      counters: h.counters,
      comment: h.comment,
      skbinfo: h.skbinfo,
      forceadd: h.forceadd,
      ...(h.hashsize !== undefined && { hashsize: h.hashsize }),
      ...(h.maxelem !== undefined && { maxelem: h.maxelem }),
      revision: info.revision,
      createOptions: headerToCreateOptions(info),
    });
    if (info.type.startsWith('bitmap:') || info.type === 'list:set') s.family = 'unspec';
    s.header = h;
    return s;
  }

  private options(extra: CreateOptions = {}): CreateOptions {
    const o: CreateOptions = { ...this.createOptions, stype: this.attrType };
    if (this.family !== 'unspec') o.family = this.family;
    if (this.timeout !== undefined) o.timeout = this.timeout;
    if (this.counters) o.counters = true;
    if (this.comment) o.comment = true;
    if (this.skbinfo) o.skbinfo = true;
    if (this.forceadd) o.forceadd = true;
    if (this.hashsize !== undefined) o.hashsize = this.hashsize;
    if (this.maxelem !== undefined) o.maxelem = this.maxelem;
    if (this.revision !== undefined) o.revision = this.revision;
    return { ...o, ...extra };
  }

  /**
   * Creates the set in the kernel with this object's options.
   * Equivalent to: `ipset create NAME TYPE family F [timeout T] [counters] [comment] ...`.
   */
  create(extra: CreateOptions = {}): void {
    this.sock.create(this.name, this.options(extra));
  }

  /** Equivalent to: `ipset destroy NAME`. */
  destroy(): void {
    this.sock.destroy(this.name);
  }

  /** Equivalent to: `ipset flush NAME`. */
  flush(): void {
    this.sock.flush(this.name);
    this._content = undefined;
  }

  /** Equivalent to: `ipset add NAME ENTRY [timeout T] [comment C] ...`. */
  add(entry: Entry, opts: AddOptions = {}): void {
    this.sock.add(this.name, entry, opts);
  }

  /** Equivalent to: `ipset del NAME ENTRY`. */
  delete(entry: Entry, opts: AddOptions = {}): void {
    this.sock.delete(this.name, entry, opts);
  }

  /** Equivalent to: `ipset test NAME ENTRY`. */
  test(entry: Entry, opts: EntryOptions = {}): boolean {
    return this.sock.test(this.name, entry, opts);
  }

  /**
   * The entries (as given, stringified) that are in the set: one test() each. Equivalent to: `ipset test NAME
   * ENTRY` for each
   */
  testList(entries: Iterable<Entry>, opts: EntryOptions = {}): Set<string> {
    const found = new Set<string>();
    for (const e of entries) if (this.sock.test(this.name, e, opts)) found.add(Array.isArray(e) ? e.map(String).join(',') : String(e));
    return found;
  }

  /**
   * Adds every entry in batches (existing elements are updated, not an error, unless exclusive).
   * Equivalent to: `ipset restore -exist` of `add NAME ...` lines.
   */
  insertList(entries: Iterable<Entry | EntryWithOptions>, opts: AddOptions = {}): void {
    this.sock.addMany(this.name, entries, { exclusive: false, ...opts });
  }

  /**
   * Replaces the whole content atomically: fills a temporary set with the same type and create options,
   * swaps it in and destroys it. Rules never see a partial set; on any failure the set is unchanged and
   * the temporary set is gone. Creates the set first if it does not exist.
   * Equivalent to: `ipset create TMP ...; ipset restore (add TMP ...); ipset swap TMP NAME; ipset destroy TMP`.
   */
  replaceEntries(entries: Iterable<Entry | EntryWithOptions>, opts: AddOptions = {}): void {
    const sock = this.sock;
    let info: IPSetInfo;
    try {
      info = sock.headers(this.name);
    } catch (e) {
      if (!(e instanceof IPSetError) || e.errno !== 2) throw e;
      this.create();
      info = sock.headers(this.name);
    }
    const tmp = `${this.name.slice(0, 20)}.tmp${randomBytes(4).toString('hex')}`;
    sock.create(tmp, headerToCreateOptions(info));
    try {
      sock.addMany(tmp, entries, { exclusive: false, ...opts });
      sock.swap(tmp, this.name);
    } finally {
      sock.destroy(tmp);
    }
    this._content = undefined;
  }

  /** Reloads `content` from the kernel. Equivalent to: `ipset list NAME`. */
  updateContent(): void {
    const [info] = this.sock.list(this.name);
    if (info) this.header = info.header;
    this.setContent(info?.entries ?? []);
  }

  /**
   * Every element with its extensions, loaded on first access. Keys are pyroute2's: a net part always
   * with its prefix (`192.168.1.1/32`), an interface without `physdev:` (see IPStats.physdev); get() and
   * has() also take the element as `ipset list` prints it (`192.168.1.1`, `10.0.0.0/8,physdev:eth0`).
   */
  get content(): Map<string, IPStats> {
    if (!this._content) this.updateContent();
    return this._content!;
  }

  /** @internal loadIpset fills the content from the listing it already has. */
  setContent(entries: IPSetEntry[]): void {
    const dims = Object.hasOwn(SET_TYPES, this.attrType) ? SET_TYPES[this.attrType]!.dims : undefined;
    this._content = new WiSetContent(
      entries.map((e) => [e.entry, toIPStats(e)]),
      dims,
    );
  }
}

const LOAD_OPTIONS: ReadonlySet<string> = new Set(['content', 'sock']);
const LOAD_ALL_OPTIONS: ReadonlySet<string> = new Set(['content', 'sock', 'prefix']);

/**
 * A WiSet for an existing set, with its type and options read from the kernel (and its content when
 * `content` is true). Equivalent to: `ipset list [-terse] NAME`.
 */
export function loadIpset(name: string, opts: { content?: boolean; sock?: IPSet } = {}): WiSet {
  checkOptions(opts, LOAD_OPTIONS, 'loadIpset options');
  const sock = opts.sock ?? getIpsetSocket();
  const content = flag(opts.content, 'content');
  const info = content ? sock.list(name)[0] : sock.headers(name);
  if (!info) throw new IPSetError(2, { command: 'list', setName: name });
  const s = WiSet.fromInfo(info, opts.sock);
  if (content) s.setContent(info.entries);
  return s;
}

/** Every set of the namespace as a WiSet, by name. Equivalent to: `ipset list [-terse]`. */
export function loadAllIpsets(opts: { content?: boolean; sock?: IPSet; prefix?: string } = {}): Map<string, WiSet> {
  checkOptions(opts, LOAD_ALL_OPTIONS, 'loadAllIpsets options');
  const sock = opts.sock ?? getIpsetSocket();
  const content = flag(opts.content, 'content');
  if (opts.prefix !== undefined && typeof opts.prefix !== 'string') throw new TypeError('prefix must be a string');
  const out = new Map<string, WiSet>();
  const infos = content ? sock.list() : sock.listHeaders();
  for (const info of infos) {
    if (opts.prefix !== undefined && !info.name.startsWith(opts.prefix)) continue;
    const s = WiSet.fromInfo(info, opts.sock);
    if (content) s.setContent(info.entries);
    out.set(info.name, s);
  }
  return out;
}
