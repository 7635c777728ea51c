import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';
import { IPTCError } from '../xtables/errors.js';

/** What detectBackend() found: which backend the system's iptables uses, and which holds tables here. */
export interface BackendInfo {
  /** What the system's `iptables` command drives. */
  iptables: 'legacy' | 'nft' | 'unknown';
  /** Whether any legacy (ip_tables / ip6_tables) table is instantiated in this network namespace. */
  legacyTablesPresent: boolean;
  /** Whether nftables holds any table in this network namespace (`nft list tables`). */
  nftTablesPresent: boolean;
}

function systemIptables(): BackendInfo['iptables'] {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const path = join(dir, 'iptables');
    if (!existsSync(path)) continue;
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      continue;
    }
    if (/nft/.test(real)) return 'nft';
    if (/legacy/.test(real)) return 'legacy';
    const version = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (/nf_tables/.test(version.stdout ?? '')) return 'nft';
    if (/legacy/.test(version.stdout ?? '')) return 'legacy';
    return 'unknown';
  }
  return 'unknown';
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

function nftTablesPresent(): boolean {
  const nft = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8', timeout: 5000 });
  if (nft.error || nft.status !== 0) return false;
  return nft.stdout.trim() !== '';
}

/**
 * Which iptables backend the system uses and which kinds of tables exist. Reads only: it creates no
 * table of either kind.
 */
export function detectBackend(): BackendInfo {
  return {
    iptables: systemIptables(),
    legacyTablesPresent: instantiatedTables(4).length > 0 || instantiatedTables(6).length > 0,
    nftTablesPresent: nftTablesPresent(),
  };
}

let warned = false;

/**
 * The environment variable that silences the nft backend warning: any value but empty or `0`. Read at
 * each Table until the warning has been given, so a program can still decide before its first Table.
 */
const NO_BACKEND_WARNING_ENV = 'IPTC_NO_BACKEND_WARNING';

function warningSilenced(): boolean {
  const value = process.env[NO_BACKEND_WARNING_ENV];
  return value !== undefined && value !== '' && value !== '0';
}

/**
 * Warns once per process when the system's iptables is the nft variant: rules made through libiptc
 * live in the legacy tables, which `iptables` (nft) and `nft` do not show. Silenced by
 * `IPTC_NO_BACKEND_WARNING=1`.
 */
export function warnIfNftBackend(): void {
  if (warned || warningSilenced()) return;
  warned = true;
  if (systemIptables() !== 'nft') return;
  process.emitWarning(
    'The system iptables uses the nf_tables backend, but iptc drives the legacy xtables backend: rules made ' +
      'here are invisible to `iptables` and `nft`. Inspect them with `iptables-legacy-save`. Both backends ' +
      'filter packets, so check that the two rule sets do not contradict each other.',
    { code: 'IPTC_NFT_BACKEND', type: 'IptcBackendWarning' },
  );
}
