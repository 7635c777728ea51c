// `iptc backend`: both backends in words: what the system's iptables uses, which tables each backend
// holds in this network namespace, what `auto` picks, and what that means for rules made with iptc.
import { backendFor } from '../iptc/backend-choice.js';
import { detectBackend, Table, type BackendInfo } from '../iptc/index.js';
import { listNftTables } from '../iptc/nft-tables.js';
import type { BackendChoice, BackendName } from '../iptc/table-backend.js';
import type { Command } from './command.js';
import { BACKEND, HELP, JSON_OUT, backendOf } from './command.js';
import { liveTables } from './snapshot.js';

interface ByFamily {
  ipv4: string[];
  ipv6: string[];
}

/** What `iptc backend --json` prints. */
export interface BackendReport extends BackendInfo {
  /** Legacy tables in use (ip_tables / ip6_tables). */
  legacyTables: ByFamily;
  /** iptables' tables in nf_tables (`table ip filter`, ...): what the nft backend and iptables-nft work on. */
  nftTables: ByFamily;
  /** Other nf_tables tables (other families or names: firewalld's, plain nft's), as `FAMILY NAME`. */
  otherNftTables: string[];
  /** What `auto` resolves to. */
  auto: BackendName;
  /** What a Table made without a `backend` option uses here: the choice (--backend, IPTC_BACKEND or auto) and its backend. */
  selected: { choice: BackendChoice; backend: BackendName };
}

/** Reads what `iptc backend` reports; creates nothing. `choice` is what the command line (or IPTC_BACKEND) chose. */
export function backendReport(choice: BackendChoice): BackendReport {
  const info = detectBackend();
  const nft = listNftTables();
  const iptablesTable = (family: string) => (t: { family: string; name: string }) => t.family === family && Table.ALL.includes(t.name);
  return {
    ...info,
    legacyTables: { ipv4: liveTables(4, 'legacy'), ipv6: liveTables(6, 'legacy') },
    nftTables: { ipv4: liveTables(4, 'nft'), ipv6: liveTables(6, 'nft') },
    otherNftTables: nft.filter((t) => !iptablesTable('ip')(t) && !iptablesTable('ip6')(t)).map((t) => `${t.family} ${t.name}`),
    auto: backendFor('auto').name,
    selected: { choice, backend: backendFor(choice).name },
  };
}

const list = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none');
const tables = (t: ByFamily) => `IPv4 ${list(t.ipv4)}; IPv6 ${list(t.ipv6)}`;
const holds = (t: ByFamily) => t.ipv4.length + t.ipv6.length > 0;

/** The explanation printed by `iptc backend`; exported for the docs and tests. */
export function describeBackend(r: BackendReport): string {
  const lines: string[] = [];
  if (r.iptables === 'nft') lines.push('The system\'s `iptables` command is iptables-nft: it shows and edits the nf_tables tables (the nft backend).');
  else if (r.iptables === 'legacy') lines.push('The system\'s `iptables` command is iptables-legacy: it shows and edits the legacy tables (the legacy backend).');
  else lines.push('No `iptables` command was found (or its backend could not be told).');
  lines.push(
    '',
    'iptc works on either backend (per table: the `backend` option; for a process: IPTC_BACKEND; here: --backend):',
    '  legacy  ip_tables / ip6_tables through libiptc, as iptables-legacy (python-iptables\' only backend).',
    `          Tables in use: ${tables(r.legacyTables)}.`,
    '  nft     nf_tables, as iptables-nft keeps iptables\' tables (`table ip filter`, ...): `iptables`',
    '          (nft), `iptables-nft-save` and `nft list ruleset` show these rules.',
    `          Tables in use: ${tables(r.nftTables)}.`,
  );
  if (r.otherNftTables.length > 0) {
    lines.push(`          Other nftables tables (not iptables'; iptc never touches them): ${r.otherNftTables.join(', ')}.`);
  }
  const why =
    r.auto === r.iptables
      ? 'the backend the system\'s `iptables` uses'
      : r.iptables === 'unknown'
        ? 'there is no `iptables` command to follow'
        : `not the system's: rules made on it are invisible to \`iptables\`; choose ${r.iptables} with --backend or IPTC_BACKEND`;
  lines.push('', `\`auto\` picks ${r.auto} (${why}).`);
  lines.push(
    r.selected.choice === 'auto'
      ? `A table made without a backend option uses auto here, so ${r.selected.backend}.`
      : `A table made without a backend option uses ${r.selected.backend} here (chosen by --backend or IPTC_BACKEND).`,
  );
  if (holds(r.legacyTables) && holds(r.nftTables)) {
    lines.push(
      '',
      'Both backends hold tables here. The kernel runs both rule sets, so a packet must pass both: make sure',
      'they do not contradict each other. Each side\'s tools show only their own (`iptables-legacy-save`,',
      '`iptables-nft-save`); `iptc save --backend legacy|nft` shows either.',
    );
  } else if (r.selected.backend === 'legacy' && r.iptables === 'nft') {
    lines.push(
      '',
      'Rules iptc makes on the legacy backend are invisible to `iptables`, `iptables-save` and `nft`; use',
      '`iptables-legacy-save` or `iptc save --backend legacy` to see them. (This is what the IPTC_NFT_BACKEND',
      'warning says.)',
    );
  }
  return `${lines.join('\n')}\n`;
}

export const backend: Command = {
  name: 'backend',
  summary: 'both iptables backends in words: what the system uses, the tables each holds, what auto picks',
  usage: 'backend [--backend B] [--json]',
  description:
    'Reports what the system\'s `iptables` command drives (legacy or nft), which tables each backend holds ' +
    'in this network namespace (and nftables tables that are not iptables\'), what `auto` picks and what a ' +
    'table made without a backend option uses (--backend, IPTC_BACKEND, else auto). Creates nothing.',
  options: [BACKEND, JSON_OUT, HELP],
  run(args) {
    if (args.positionals.length > 0) throw new Error(`backend takes no arguments, got \`${args.positionals[0]}'`);
    const report = backendReport(backendOf(args).choice);
    process.stdout.write(args.options.json === true ? `${JSON.stringify(report, null, 2)}\n` : describeBackend(report));
    return 0;
  },
};
