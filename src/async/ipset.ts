import type { AddOptions, CreateOptions } from '../ipset/ipset.js';
import type { Entry, EntryOptions, EntryWithOptions } from '../ipset/entry.js';
import type { IPSetInfo } from '../ipset/header.js';
import type { IPSetOptions } from '../ipset/netns.js';
import { checkNetnsPath } from '../netns/setns.js';
import { Link } from './link.js';
import { ownerThread } from './owner.js';
import { encodePorts } from './protocol.js';

function setName(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`a set name must be a string, got ${typeof name}: a missing name never means every set`);
  return name;
}

/**
 * IPSet with promises: a NETLINK_NETFILTER socket in iptc/async's owner thread. Each method does what
 * the same method of IPSet does and settles with its result or its IPSetError (same fields). With
 * `netns`, the socket is made in that network namespace; the caller's thread never changes namespace.
 *
 * Unlike IPSet, `destroy()` and `flush()` need a set name; destroyAll() and flushAll() act on every set.
 *
 * Equivalent to: `ipset ...` (with `netns`: `ip netns exec NAME ipset ...`)
 */
export class AsyncIPSet {
  /** The network namespace it works in, as given; undefined for the caller's own. */
  readonly netns: string | undefined;
  readonly #link: Link;

  /** @internal Use AsyncIPSet.open(). */
  constructor(link: (holder: AsyncIPSet) => Link, netns: string | undefined) {
    this.netns = netns;
    this.#link = link(this);
  }

  /** Opens the socket, in `options.netns` if given (NetnsError if it cannot be entered). */
  static async open(options: IPSetOptions = {}): Promise<AsyncIPSet> {
    if (options === null || typeof options !== 'object') throw new TypeError('IPSet options must be an object');
    const netns = options.netns === undefined ? undefined : checkNetnsPath(options.netns);
    const owner = ownerThread();
    const handle = (await owner.request({ op: 'openIPSet', netns })) as number;
    return new AsyncIPSet((holder) => new Link(holder, owner, handle, () => new Error('ipset socket is closed')), netns);
  }

  /** Whether close() was called, or the owner thread stopped. */
  get closed(): boolean {
    return this.#link.closed;
  }

  /** Equivalent to: `ipset create NAME TYPE [options]` */
  async create(name: string, options: CreateOptions = {}): Promise<void> {
    await this.#link.call('create', name, options);
  }

  /** Equivalent to: `ipset add NAME ENTRY [options]` */
  async add(name: string, entry: Entry, options: AddOptions = {}): Promise<void> {
    await this.#link.call('add', name, encodePorts(entry), options);
  }

  /** Equivalent to: `ipset del NAME ENTRY` */
  async delete(name: string, entry: Entry, options: AddOptions = {}): Promise<void> {
    await this.#link.call('delete', name, encodePorts(entry), options);
  }

  /** Whether the set holds the element. Equivalent to: `ipset test NAME ENTRY` (exit status 0) */
  async test(name: string, entry: Entry, options: EntryOptions = {}): Promise<boolean> {
    return (await this.#link.call('test', name, encodePorts(entry), options)) as boolean;
  }

  /** Adds many elements, batched as IPSet.addMany(). Equivalent to: `ipset restore` of `add` lines */
  async addMany(name: string, entries: Iterable<Entry | EntryWithOptions>, options: AddOptions = {}): Promise<void> {
    await this.#link.call('addMany', name, encodePorts(Array.from(entries)), options);
  }

  /** Deletes many elements, batched. Equivalent to: `ipset restore` of `del` lines */
  async deleteMany(name: string, entries: Iterable<Entry | EntryWithOptions>, options: AddOptions = {}): Promise<void> {
    await this.#link.call('deleteMany', name, encodePorts(Array.from(entries)), options);
  }

  /** Every set (or one) with its header and entries. Equivalent to: `ipset list [NAME]` */
  async list(name?: string): Promise<IPSetInfo[]> {
    return (await this.#link.call('list', ...(name === undefined ? [] : [setName(name)]))) as IPSetInfo[];
  }

  /** One set's header, without entries. Equivalent to: `ipset list -terse NAME` */
  async headers(name: string): Promise<IPSetInfo> {
    return (await this.#link.call('headers', setName(name))) as IPSetInfo;
  }

  /** Names of all sets. Equivalent to: `ipset list -name` */
  async listNames(): Promise<string[]> {
    return (await this.#link.call('listNames')) as string[];
  }

  /** Destroys one set. Equivalent to: `ipset destroy NAME` */
  async destroy(name: string): Promise<void> {
    await this.#link.call('destroy', setName(name));
  }

  /** Destroys every set not in use. Equivalent to: `ipset destroy` */
  async destroyAll(): Promise<void> {
    await this.#link.call('destroyAll');
  }

  /** Removes every entry of one set. Equivalent to: `ipset flush NAME` */
  async flush(name: string): Promise<void> {
    await this.#link.call('flush', setName(name));
  }

  /** Removes every entry of every set. Equivalent to: `ipset flush` */
  async flushAll(): Promise<void> {
    await this.#link.call('flushAll');
  }

  /** Equivalent to: `ipset rename FROM TO` */
  async rename(from: string, to: string): Promise<void> {
    await this.#link.call('rename', from, to);
  }

  /** Exchanges two sets atomically. Equivalent to: `ipset swap A B` */
  async swap(a: string, b: string): Promise<void> {
    await this.#link.call('swap', a, b);
  }

  /** The kernel's ipset protocol version. Equivalent to: `ipset version` (the protocol part) */
  async getProtoVersion(): Promise<number> {
    return (await this.#link.call('getProtoVersion')) as number;
  }

  /** The kernel index of a set. Equivalent to the `IPSET_CMD_GET_BYNAME` request (no CLI command) */
  async getSetByName(name: string): Promise<number> {
    return (await this.#link.call('getSetByName', setName(name))) as number;
  }

  /** The name of the set at a kernel index. Equivalent to the `IPSET_CMD_GET_BYINDEX` request */
  async getSetByIndex(index: number): Promise<string> {
    return (await this.#link.call('getSetByIndex', index)) as string;
  }

  /** The [min, max] revisions the kernel supports for a set type. Equivalent to: `ipset help TYPE` */
  async getSupportedRevisions(stype: string, family: 'inet' | 'inet6' | 2 | 10 = 'inet'): Promise<[number, number]> {
    return (await this.#link.call('getSupportedRevisions', stype, family)) as [number, number];
  }

  /** The sets (or one) in `ipset save` format. Equivalent to: `ipset save [NAME]` */
  async save(name?: string): Promise<string> {
    return (await this.#link.call('save', ...(name === undefined ? [] : [setName(name)]))) as string;
  }

  /** Applies `ipset save` text, as IPSet.restore(). Equivalent to: `ipset restore [-exist]` */
  async restore(text: string, options: { exist?: boolean } = {}): Promise<void> {
    await this.#link.call('restore', text, options);
  }

  /** Closes the socket. Later calls reject. */
  async close(): Promise<void> {
    await this.#link.close();
  }

  /** close(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
