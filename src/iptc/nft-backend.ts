// The nf_tables backend: iptables' tables as iptables-nft keeps them (`table ip filter`, ...), read as a
// snapshot and changed by one incremental batch per commit, tagged with the snapshot's generation
// (src/iptc/nft-view.ts). Nothing here touches the legacy ip_tables: no lock (iptables-nft takes none),
// no getsockopt revision probe (nft_compat is asked instead), no legacy table made as a side effect.
import { readlinkSync } from 'node:fs';
import { IPTCError } from '../xtables/errors.js';
import type { Family } from '../xtables/shim.js';
import { NetlinkDumpInterrupted } from '../netlink/errors.js';
import { NetlinkSocket } from '../netlink/socket.js';
import { NftGenerationError } from '../nft/errors.js';
import { useNftRevisionProbe } from '../nft/compat.js';
import { incompatibleChains, readSnapshotWithin } from '../nft/snapshot.js';
import { dumpTables, type NftTable } from '../nft/table.js';
import { warnLegacyTablesPresent } from './backend-warnings.js';
import { NftTableView } from './nft-view.js';
import type { TableBackend } from './table-backend.js';

const EOPNOTSUPP = 95;
const ENOENT = 2;
const EPERM = 1;
const EACCES = 13;
/** iptables' tables in the order iptables-nft-save prints them (enum nft_table_type, iptables/nft.h). */
const SAVE_ORDER = ['mangle', 'security', 'raw', 'filter', 'nat'];
const TABLE_NAMES = 'filter, nat, mangle, raw and security';
const nfproto = (family: Family): number => (family === 6 ? 10 : 2);

/**
 * The nf_tables table has a base chain iptables does not know (another program's hook, or a builtin
 * chain with another hook, priority or type): iptables-nft refuses such a table, and so does iptc.
 * An IPTCError with errno EOPNOTSUPP; nothing was changed.
 */
export class NftIncompatibleTableError extends IPTCError {
  override readonly name: string = 'NftIncompatibleTableError';
  /** A table refused for its base chains that iptables does not know (errno EOPNOTSUPP). */
  constructor(
    /** The table's name. */
    readonly table: string,
    /** Its base chains whose hook, priority or type differ from iptables'. */
    readonly chains: string[],
  ) {
    super(
      `table \`${table}' contains incompatible base-chains (${chains.join(', ')}): it is not iptables'; ` +
        "use the 'nft' tool",
      EOPNOTSUPP,
    );
  }
}

const sockets = new Map<string, NetlinkSocket>();

/**
 * One netlink socket per network namespace for every nft table of this thread (calls are synchronous,
 * one at a time). A socket talks to the namespace it was made in, and iptc/async's owner thread enters
 * other namespaces (setns), so the socket is chosen by the namespace the thread is in now. Sockets are
 * kept for the life of the thread: a view made on one may still commit through it.
 */
function sock(): NetlinkSocket {
  const netns = readlinkSync('/proc/thread-self/ns/net');
  let socket = sockets.get(netns);
  if (socket === undefined || socket.closed) {
    socket = new NetlinkSocket();
    sockets.set(netns, socket);
  }
  return socket;
}

let probing = false;

/**
 * nf_tables answers every request, reads included, with EPERM without CAP_NET_ADMIN: an IPTCError that
 * says so, as the legacy backend's (a bare netlink error would not say what is missing).
 */
function withRights<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const errno = (e as { errno?: unknown }).errno;
    if (e instanceof IPTCError || (errno !== EPERM && errno !== EACCES)) throw e;
    throw new IPTCError(
      `${what}: permission denied; reading or changing the nf_tables tables needs root (or CAP_NET_ADMIN)`,
      errno,
    );
  }
}

/** The tables of a family, the dump read again when a concurrent commit interrupted it (NLM_F_DUMP_INTR). */
function tablesOf(family: Family): NftTable[] {
  return withRights(`cannot list the ${family === 6 ? 'IPv6' : 'IPv4'} tables`, () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return dumpTables(sock(), nfproto(family));
      } catch (e) {
        if (!(e instanceof NetlinkDumpInterrupted) || attempt >= 10) throw e;
      }
    }
  });
}

export const nftBackend: TableBackend = {
  name: 'nft',
  entryForm: 'nft',

  open(family, table) {
    // iptables-nft knows its own tables only (nft_table_builtin_find), whatever nf_tables holds.
    if (!SAVE_ORDER.includes(table)) {
      throw new IPTCError(
        `cannot open table \`${table}': Table does not exist (iptables knows ${TABLE_NAMES}); perhaps iptables or your kernel needs to be upgraded`,
        ENOENT,
      );
    }
    const snap = withRights(`cannot open table \`${table}'`, () => readSnapshotWithin(sock(), nfproto(family), table));
    const foreign = incompatibleChains(snap);
    if (foreign.length > 0) throw new NftIncompatibleTableError(table, foreign.map((c) => c.name));
    return new NftTableView(sock(), family, snap);
  },

  guard(_wait, fn) {
    // iptables-nft takes no lock: the commit names the generation it was built on.
    return fn();
  },

  moved(error) {
    return error instanceof NftGenerationError;
  },

  sameOrigin(a, b) {
    return typeof a === 'number' && a === b;
  },

  tables(family) {
    const present = new Set(tablesOf(family).map((t) => t.name));
    return SAVE_ORDER.filter((name) => present.has(name));
  },

  isAvailable(family, name) {
    if (!SAVE_ORDER.includes(name)) return false;
    try {
      tablesOf(family);
      return true;
    } catch (e) {
      // Not being allowed to look is no answer about the table.
      if (e instanceof IPTCError && (e.errno === EPERM || e.errno === EACCES)) throw e;
      return false;
    }
  },

  commitTogether(views) {
    NftTableView.commitTogether(views as NftTableView[]);
  },

  announce() {
    if (!probing) {
      // Extension revisions are asked of nft_compat from now on, never of the legacy getsockopt.
      useNftRevisionProbe();
      probing = true;
    }
    warnLegacyTablesPresent();
  },
};
