import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { NetlinkDumpInterrupted } from '../netlink/errors.js';
import { NetlinkSocket } from '../netlink/socket.js';
import { NFT_MSG } from '../nft/constants.js';
import { readGeneration } from '../nft/gen.js';
import { nftRequest } from '../nft/request.js';
import { IPTCError } from '../xtables/errors.js';
import type { BackendName } from './table-backend.js';

/** What detectBackend() found: which backend the system's iptables uses, and which holds tables here. */
export interface BackendInfo {
  /** What the system's `iptables` command drives (`unknown` where there is none, or it cannot tell). */
  iptables: 'legacy' | 'nft' | 'unknown';
  /**
   * What `auto` (the default backend) resolves to in this process: the system iptables' backend, and
   * where that is unknown, `nft` when the kernel has nf_tables, else `legacy`.
   */
  auto: BackendName;
  /** Whether any legacy (ip_tables / ip6_tables) table is instantiated in this network namespace. */
  legacyTablesPresent: boolean;
  /** Whether nftables holds any table, of any family, in this network namespace (`nft list tables`). */
  nftTablesPresent: boolean;
}

/** The first `iptables` on $PATH (then /usr/sbin, /sbin), as iptables' own users find it. */
function iptablesCommand(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, 'iptables');
    if (existsSync(path)) return path;
  }
  return undefined;
}

function readSystemIptables(): BackendInfo['iptables'] {
  const path = iptablesCommand();
  if (path === undefined) return 'unknown';
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return 'unknown';
  }
  // Distributions link iptables to xtables-nft-multi or xtables-legacy-multi (directly or through
  // /etc/alternatives): the link says it without starting a process.
  const name = basename(real);
  if (/nft/.test(name)) return 'nft';
  if (/legacy/.test(name)) return 'legacy';
  // A plain binary (iptables < 1.8, or built with one backend only) says it in its version line.
  const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (/nf_tables/.test(version.stdout ?? '')) return 'nft';
  if (/legacy/.test(version.stdout ?? '')) return 'legacy';
  // iptables before 1.8 knows only the legacy tables and does not name its backend.
  if (/^iptables v1\.[0-7]\./.test(version.stdout ?? '')) return 'legacy';
  return 'unknown';
}

// The system's iptables and the kernel do not change under a running process: each is looked up once.
let systemCache: BackendInfo['iptables'] | undefined;
let kernelNftCache: boolean | undefined;

/** What the system's `iptables` command drives, looked up once per process. */
export function systemIptables(): BackendInfo['iptables'] {
  systemCache ??= readSystemIptables();
  return systemCache;
}

const EPERM = 1;
const EACCES = 13;

/**
 * Whether the kernel offers nf_tables: asks for the ruleset generation, which reads and creates nothing.
 * A kernel without nf_tables refuses the request (EOPNOTSUPP, or no NETLINK_NETFILTER at all); one that
 * refuses it for want of CAP_NET_ADMIN has the subsystem all the same.
 */
function kernelHasNfTables(): boolean {
  if (kernelNftCache !== undefined) return kernelNftCache;
  let sock: NetlinkSocket | undefined;
  try {
    sock = new NetlinkSocket();
    readGeneration(sock);
    kernelNftCache = true;
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    kernelNftCache = errno === EPERM || errno === EACCES;
  } finally {
    sock?.close();
  }
  return kernelNftCache;
}

/**
 * The backend `auto` stands for: the one the system's `iptables` uses, so that rules made here are the
 * ones `iptables` shows; without an iptables that says, nf_tables when the kernel has it, else legacy.
 */
export function autoBackend(): BackendName {
  const system = systemIptables();
  if (system !== 'unknown') return system;
  return kernelHasNfTables() ? 'nft' : 'legacy';
}

/**
 * The legacy tables the kernel has instantiated for a family in this network namespace. The list is
 * readable by root only: without it nothing can tell an empty table from one that could not be read, so
 * that is an IPTCError (EACCES), as iptables-legacy-save fails. No file means no ip_tables module: no table.
 */
export function instantiatedTables(family: 4 | 6): string[] {
  // thread-self: /proc/net is the main thread's namespace, even in a worker that entered another one.
  const file = `/proc/thread-self/net/${family === 6 ? 'ip6_tables_names' : 'ip_tables_names'}`;
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT') return [];
    const errno = (constants.errno as Record<string, number>)[code] ?? 0;
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new IPTCError(
      `cannot read the list of tables in use (${file}): ${reason}; reading the legacy tables needs root ` +
        '(a user other than root needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_DAC_READ_SEARCH)',
      errno,
    );
  }
}

/** Whether nftables holds any table here; a kernel without nf_tables holds none. */
function nftTablesPresent(): boolean {
  if (!kernelHasNfTables()) return false;
  const sock = new NetlinkSocket();
  let found = false;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        // Family 0 (NFPROTO_UNSPEC) dumps the tables of every family.
        nftRequest(sock, NFT_MSG.GETTABLE, 0, true, null, (m) => {
          if ((m.type & 0xff) === NFT_MSG.NEWTABLE) found = true;
        });
        break;
      } catch (e) {
        // A concurrent commit interrupted the dump: read it again.
        if (!(e instanceof NetlinkDumpInterrupted) || attempt >= 10) throw e;
        found = false;
      }
    }
  } catch (e) {
    // Without CAP_NET_ADMIN nothing can tell no table from one that could not be listed.
    const errno = (e as { errno?: number }).errno ?? 0;
    throw new IPTCError(`cannot list the nftables tables: ${(e as Error).message}; listing them needs CAP_NET_ADMIN`, errno);
  } finally {
    sock.close();
  }
  return found;
}

/**
 * Which iptables backend the system uses, what `auto` resolves to, and which kinds of tables exist in
 * this network namespace. Reads only: it creates no table of either kind.
 *
 * Equivalent to: `iptables --version`, `cat /proc/net/ip_tables_names` and `nft list tables`
 */
export function detectBackend(): BackendInfo {
  return {
    iptables: systemIptables(),
    auto: autoBackend(),
    legacyTablesPresent: instantiatedTables(4).length > 0 || instantiatedTables(6).length > 0,
    nftTablesPresent: nftTablesPresent(),
  };
}
