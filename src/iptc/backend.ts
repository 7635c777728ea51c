import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';
import { IPTCError } from '../xtables/errors.js';

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
  const file = family === 6 ? '/proc/net/ip6_tables_names' : '/proc/net/ip_tables_names';
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
 * Warns once per process when the system's iptables is the nft variant: rules made through libiptc
 * live in the legacy tables, which `iptables` (nft) and `nft` do not show.
 */
export function warnIfNftBackend(): void {
  if (warned) return;
  warned = true;
  if (systemIptables() !== 'nft') return;
  process.emitWarning(
    'The system iptables uses the nf_tables backend, but iptc drives the legacy xtables backend: rules made ' +
      'here are invisible to `iptables` and `nft`. Inspect them with `iptables-legacy-save`. Both backends ' +
      'filter packets, so check that the two rule sets do not contradict each other.',
    { code: 'IPTC_NFT_BACKEND', type: 'IptcBackendWarning' },
  );
}
