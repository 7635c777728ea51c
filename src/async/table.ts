import { checkBackendChoice, defaultBackend } from '../iptc/backend-choice.js';
import { Table, type SaveOptions, type TableOptions } from '../iptc/table.js';
import type { BackendName } from '../iptc/table-backend.js';
import type { RestoreOptions } from '../iptc/restore.js';
import type { DeletedOwned } from '../iptc/owned.js';
import { IPTCError } from '../xtables/errors.js';
import { waitMilliseconds, type LockWait } from '../xtables/lock.js';
import type { Family } from '../xtables/shim.js';
import { checkNetnsPath } from '../netns/setns.js';
import { AsyncChain } from './chain.js';
import { Link } from './link.js';
import { ownerThread } from './owner.js';
import type { OpenedTable } from './protocol.js';

function chainName(chain: string | AsyncChain): string {
  return chain instanceof AsyncChain ? chain.name : chain;
}

const links = new WeakMap<AsyncTable, Link>();

/** @internal The handle of a table in the owner thread, for its chains. */
export function tableLink(table: AsyncTable): Link {
  return links.get(table)!;
}

/**
 * One IPv4 netfilter table, worked on by iptc/async's owner thread: Table's object model with promises.
 * Each method does what the same method of Table does, on a Table in the owner thread, and settles
 * with its result or with its error (same class and fields: IPTCError, XTablesError, RuleSyntaxError,
 * RestoreError, XTablesLockError, NetnsError, TypeError, RangeError). The caller's event loop runs on
 * meanwhile, through lock waits and commits of any size. Calls on one table run in the order made.
 *
 * With `netns`, the table is the one of that network namespace; the caller's thread never changes
 * namespace. See docs/async.md.
 *
 * Equivalent to: `iptables -t TABLE ...` (with `netns`: `ip netns exec NAME iptables -t TABLE ...`)
 */
export class AsyncTable {
  /** The address family: 4 (iptables) or 6 (ip6tables, AsyncTable6). */
  static readonly family: Family = 4;

  /** The table's name, as `iptables -t NAME` takes it. */
  readonly name: string;
  /** The network namespace it works in, as given; undefined for the caller's own. */
  readonly netns: string | undefined;
  readonly #link: Link;
  /** The backend the table uses: 'legacy' or 'nft' (Table's `backend`). */
  readonly backend: BackendName;
  #autocommit: boolean;
  #wait: LockWait;

  /** @internal Use AsyncTable.open(). */
  constructor(link: (holder: AsyncTable) => Link, name: string, netns: string | undefined, autocommit: boolean, wait: LockWait, backend: BackendName) {
    this.name = name;
    this.netns = netns;
    this.backend = backend;
    this.#link = link(this);
    links.set(this, this.#link);
    this.#autocommit = autocommit;
    this.#wait = wait;
  }

  /**
   * Opens a table: the owner thread constructs `new Table(name, options)` (reading the kernel table)
   * in the network namespace `options.netns`, if given. `wait` defaults to `Table.defaultWait` as it is
   * now. Rejects as that constructor throws, and with NetnsError for a namespace that cannot be entered.
   *
   * Equivalent to: `iptables-save -t NAME` (reading it), in `ip netns exec NAME` with `netns`
   */
  static open(name: string, options: TableOptions = {}): Promise<AsyncTable> {
    return openTable(AsyncTable, name, options);
  }

  /** 4 or 6, as the class says. */
  get family(): Family {
    return (this.constructor as typeof AsyncTable).family;
  }

  /** Whether each change commits at once (Table's `autocommit`); change it with setAutocommit(). */
  get autocommit(): boolean {
    return this.#autocommit;
  }

  /** This table's wait for the xtables lock (Table's `wait`); change it with setWait(). */
  get wait(): LockWait {
    return this.#wait;
  }

  /** Whether close() was called, or the owner thread stopped (see shutdown()). */
  get closed(): boolean {
    return this.#link.closed;
  }

  /** Turns autocommit on or off; turning it on commits the pending changes. As Table's `autocommit` setter. */
  async setAutocommit(value: boolean): Promise<void> {
    await this.#link.call('setAutocommit', value);
    this.#autocommit = value;
  }

  /** Sets the wait for the xtables lock, as Table's `wait` setter. Equivalent to: `iptables -w SECONDS` */
  async setWait(value: LockWait): Promise<void> {
    waitMilliseconds(value);
    await this.#link.call('setWait', value);
    this.#wait = value;
  }

  /**
   * A chain by name, at once; a chain that does not exist makes its calls reject with IPTCError (ENOENT).
   *
   * Equivalent to: `iptables -t TABLE ... CHAIN`
   */
  chain(name: string): AsyncChain {
    return new AsyncChain(this, name);
  }

  /** Every chain: built-in ones in hook order, then user chains. Equivalent to: `iptables -t TABLE -S` (the `-P`/`-N` lines) */
  async chains(): Promise<AsyncChain[]> {
    const names = (await this.#link.call('chains')) as string[];
    return names.map((name) => new AsyncChain(this, name));
  }

  /** Whether the chain exists. Equivalent to: `iptables -t TABLE -S CHAIN` succeeding */
  async isChain(chain: string | AsyncChain): Promise<boolean> {
    return (await this.#link.call('isChain', chainName(chain))) as boolean;
  }

  /**
   * Whether the chain is a built-in one (INPUT, FORWARD, ...). Equivalent to: `iptables -S CHAIN` printing `-P
   * CHAIN`
   */
  async builtinChain(chain: string | AsyncChain): Promise<boolean> {
    return (await this.#link.call('builtinChain', chainName(chain))) as boolean;
  }

  /**
   * Whether the chain exists in the kernel table now (or with the pending changes), as Table.chainExists.
   * Equivalent to: `iptables -t TABLE -S CHAIN` succeeding
   */
  async chainExists(chain: string | AsyncChain): Promise<boolean> {
    return (await this.#link.call('chainExists', chainName(chain))) as boolean;
  }

  /**
   * Empties a chain, creating it if it does not exist, as Table.clearChain.
   * Equivalent to: `iptables -t TABLE -N NAME 2>/dev/null || iptables -t TABLE -F NAME`
   */
  async clearChain(name: string): Promise<AsyncChain> {
    await this.#link.call('clearChain', name);
    return new AsyncChain(this, name);
  }

  /**
   * Flushes and deletes a user chain if it exists, as Table.clearAndDeleteChain; true if it did.
   * Equivalent to: `iptables -t TABLE -F NAME && iptables -t TABLE -X NAME`
   */
  async clearAndDeleteChain(chain: string | AsyncChain): Promise<boolean> {
    return (await this.#link.call('clearAndDeleteChain', chainName(chain))) as boolean;
  }

  /**
   * Deletes the rules tagged `owner` and the chains named after it, as Table.deleteOwned.
   * Equivalent to: `iptables -D` of each rule commented `OWNER[:...]`, `-F` and `-X` of each chain `OWNER[-...]`
   */
  async deleteOwned(owner: string): Promise<DeletedOwned> {
    return (await this.#link.call('deleteOwned', owner)) as DeletedOwned;
  }

  /** Creates a user chain. Equivalent to: `iptables -t TABLE -N NAME` */
  async createChain(name: string): Promise<AsyncChain> {
    await this.#link.call('createChain', name);
    return new AsyncChain(this, name);
  }

  /** Deletes an empty, unreferenced user chain. Equivalent to: `iptables -t TABLE -X NAME` */
  async deleteChain(chain: string | AsyncChain): Promise<void> {
    await this.#link.call('deleteChain', chainName(chain));
  }

  /** Renames a user chain; rules jumping to it follow. Equivalent to: `iptables -t TABLE -E OLD NEW` */
  async renameChain(oldName: string | AsyncChain, newName: string): Promise<void> {
    await this.#link.call('renameChain', chainName(oldName), newName);
  }

  /** Flushes every chain and deletes every user chain. Equivalent to: `iptables -t TABLE -F && iptables -t TABLE -X` */
  async flush(): Promise<void> {
    await this.#link.call('flush');
  }

  /** Zeroes the counters of one chain or of all. Equivalent to: `iptables -t TABLE -Z [CHAIN]` */
  async zeroEntries(chain?: string | AsyncChain): Promise<void> {
    await this.#link.call('zeroEntries', chain === undefined ? undefined : chainName(chain));
  }

  /** The table as `iptables-legacy-save -t TABLE [-c]` prints it, without its `#` comment lines. */
  async save(options: SaveOptions = {}): Promise<string> {
    return (await this.#link.call('save', options)) as string;
  }

  /**
   * Applies iptables-restore input for this table in one atomic commit, as Table.restore(); a bad line
   * rejects with RestoreError naming it, and nothing of the text is applied.
   *
   * Equivalent to: `iptables-restore [--noflush] [--counters]` with this table's text
   */
  async restore(text: string, options: RestoreOptions = {}): Promise<void> {
    await this.#link.call('restore', text, options);
  }

  /**
   * Applies the pending changes in one atomic replace of the kernel table, as Table.commit().
   *
   * Equivalent to: the `COMMIT` line of `iptables-restore --noflush -w`
   */
  async commit(): Promise<void> {
    await this.#link.call('commit');
  }

  /** Drops uncommitted changes and re-reads the kernel table. Equivalent to: `iptables-save -t TABLE` */
  async refresh(): Promise<void> {
    await this.#link.call('refresh');
  }

  /** Releases the table in the owner thread; uncommitted changes are dropped. Later calls reject. */
  async close(): Promise<void> {
    await this.#link.close();
  }

  /** close(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * One IPv6 netfilter table, worked on by iptc/async's owner thread. As AsyncTable.
 *
 * Equivalent to: `ip6tables -t TABLE ...`
 */
export class AsyncTable6 extends AsyncTable {
  static override readonly family: Family = 6;

  /** Opens an IPv6 table, as AsyncTable.open(). Equivalent to: `ip6tables-save -t NAME` */
  static override open(name: string, options: TableOptions = {}): Promise<AsyncTable6> {
    return openTable(AsyncTable6, name, options);
  }
}

type TableClass<T> = (new (...args: ConstructorParameters<typeof AsyncTable>) => T) & { family: Family };

async function openTable<T extends AsyncTable>(Class: TableClass<T>, name: string, options: TableOptions): Promise<T> {
  if (options === null || typeof options !== 'object') throw new TypeError('table options must be an object');
  const netns = options.netns === undefined ? undefined : checkNetnsPath(options.netns);
  const wait = options.wait ?? Table.defaultWait;
  waitMilliseconds(wait);
  // The caller's default (Table.defaultBackend, IPTC_BACKEND as it is now), not the owner thread's.
  const backend = options.backend === undefined ? defaultBackend() : checkBackendChoice(options.backend, 'backend');
  const owner = ownerThread();
  const opened = (await owner.request({ op: 'openTable', family: Class.family === 6 ? 6 : 4, name, options: { ...options, wait, backend } })) as OpenedTable;
  const closed = () => new IPTCError(`table \`${name}' is closed`);
  return new Class((holder) => new Link(holder, owner, opened.handle, closed), name, netns, opened.autocommit, wait, opened.backend);
}
