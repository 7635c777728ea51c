// The once-per-process backend warnings: rules of the other backend filter packets too, and the tools of
// this one do not show them. Both are silenced by Table.backendWarnings = false or by the environment
// variable IPTC_NO_BACKEND_WARNING; either is read at each Table until the warning has been given, so a
// program can still decide before its first Table.
import { instantiatedTables, systemIptables } from './backend.js';

/** The environment variable that silences the backend warnings: any value but empty or `0`. */
const NO_BACKEND_WARNING_ENV = 'IPTC_NO_BACKEND_WARNING';

let enabled = true;
const given = new Set<string>();

/** Table.backendWarnings: whether the backend warnings may be given (the environment variable aside). */
export function backendWarningsEnabled(): boolean {
  return enabled;
}

export function setBackendWarnings(value: boolean): void {
  if (typeof value !== 'boolean') throw new TypeError('Table.backendWarnings must be a boolean');
  enabled = value;
}

function silenced(): boolean {
  const value = process.env[NO_BACKEND_WARNING_ENV];
  return !enabled || (value !== undefined && value !== '' && value !== '0');
}

const SILENCE = 'Set Table.backendWarnings = false or IPTC_NO_BACKEND_WARNING=1 to silence this.';

/**
 * Gives the warning `code` once per process, unless silenced now. `message` says whether it is due (null:
 * not now); it is asked again at the next Table until the warning has been given.
 */
function warnOnce(code: string, message: () => string | null): void {
  if (given.has(code) || silenced()) return;
  const text = message();
  if (text === null) return;
  given.add(code);
  process.emitWarning(`${text} ${SILENCE}`, { code, type: 'IptcBackendWarning' });
}

/**
 * At a Table on the legacy backend: warns (IPTC_NFT_BACKEND) when the system's iptables is the nft
 * variant, whose `iptables` and `nft` do not show the legacy tables' rules.
 */
export function warnLegacyOnNftSystem(): void {
  warnOnce('IPTC_NFT_BACKEND', () =>
    systemIptables() !== 'nft'
      ? null
      : 'The system iptables uses the nf_tables backend, but this table uses the legacy xtables backend: ' +
        'rules made here are invisible to `iptables` and `nft`. Inspect them with `iptables-legacy-save`. Both ' +
        'backends filter packets, so check that the two rule sets do not contradict each other.',
  );
}

/**
 * At a Table on the nft backend: warns (IPTC_LEGACY_TABLES) when legacy tables exist here too, whose
 * rules filter packets but are not shown by `iptables` (nft), as iptables-nft itself warns.
 */
export function warnLegacyTablesPresent(): void {
  warnOnce('IPTC_LEGACY_TABLES', () => {
    const legacy = [...instantiatedTables(4), ...instantiatedTables(6).map((t) => `${t} (IPv6)`)];
    if (legacy.length === 0) return null;
    return (
      `Legacy iptables tables are also present (${legacy.join(', ')}): their rules filter packets too but are ` +
      'not shown by `iptables` (nft) or by this nf_tables table; inspect them with `iptables-legacy-save`.'
    );
  });
}
