// The `iptc` command: dispatch, help, and the one-line error contract (message on stderr, exit status
// 1 for failures, 2 for usage errors).
import { readFileSync } from 'node:fs';
import { optionHelp, parseArgs, UsageError } from './args.js';
import { backend } from './backend.js';
import type { Command } from './command.js';
import { counters } from './counters.js';
import { exporter } from './export.js';
import { ipsetCommands } from './ipset.js';
import { list } from './list.js';
import { restore } from './restore.js';
import { save } from './save.js';

const COMMANDS: Command[] = [save, restore, list, counters, backend, exporter];

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

function mainHelp(): string {
  const rows: [string, string][] = [
    ...COMMANDS.map((c): [string, string] => [c.name, c.summary]),
    ...ipsetCommands.map((c): [string, string] => [`ipset ${c.name}`, c.summary]),
  ];
  const width = Math.max(...rows.map(([n]) => n.length));
  return [
    'usage: iptc COMMAND [OPTIONS]',
    '',
    'Linux netfilter rules (legacy ip_tables or nf_tables, as iptables-nft) and ipsets, natively. Commands:',
    ...rows.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`),
    '',
    'Common options: -6 (IPv6), -t TABLE, --backend legacy|nft|auto (default: $IPTC_BACKEND, else auto;',
    'see `iptc backend`), --json, -h/--help (per command). `iptc --version`.',
    'Changing rules and reading counters needs root (CAP_NET_ADMIN).',
    '',
  ].join('\n');
}

function commandHelp(c: Command, prefix = ''): string {
  return `usage: iptc ${prefix}${c.usage}\n\n${c.description}\n\nOptions:\n${optionHelp(c.options)}\n`;
}

/** One line, whatever the error: multi-line messages (e.g. from extensions) are joined. */
function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const errno = (e as { errno?: unknown }).errno;
  let text = message.replace(/\s*\n\s*/g, '; ').trim();
  // EPERM / EACCES from libiptc or netlink: say what to do.
  if ((errno === 1 || errno === 13) && !/root|CAP_NET_ADMIN/i.test(text)) text += ' (are you root? iptc needs CAP_NET_ADMIN)';
  return text || 'unknown error';
}

/** Runs the command line `argv` (without `node` and the script); resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  // The library's backend warnings (IPTC_NFT_BACKEND, IPTC_LEGACY_TABLES: the other backend holds rules
  // too) are for the person reading `iptc list`, as one line; `iptc backend` explains them at length.
  // Scripts that save, restore or count every minute would print the same line each run.
  process.removeAllListeners('warning');
  const showsBackendWarnings = argv[0] === 'list';
  process.on('warning', (w) => {
    if (w.name === 'ExperimentalWarning') return;
    const code = 'code' in w ? w.code : undefined;
    if (code === 'IPTC_NFT_BACKEND' || code === 'IPTC_LEGACY_TABLES') {
      if (!showsBackendWarnings) return;
      const line = code === 'IPTC_NFT_BACKEND'
        ? 'the system iptables is iptables-nft; iptc works on the legacy tables here, which `iptables` and `nft` do not show (--backend nft works on nf_tables; see `iptc backend`)'
        : w.message.replace(/\s*\n\s*/g, ' ');
      process.stderr.write(`iptc: warning: ${line}\n`);
      return;
    }
    process.stderr.write(`iptc: warning: ${w.message.replace(/\s*\n\s*/g, ' ')}\n`);
  });
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
      process.stdout.write(mainHelp());
      return first === undefined ? 2 : 0;
    }
    if (first === '-V' || first === '--version') {
      process.stdout.write(`iptc ${version()}\n`);
      return 0;
    }
    let command: Command | undefined;
    let args = rest;
    let prefix = '';
    if (first === 'ipset') {
      const [sub, ...more] = rest;
      command = ipsetCommands.find((c) => c.name === sub);
      if (!command) throw new UsageError(`ipset needs a subcommand: ${ipsetCommands.map((c) => c.name).join(', ')}${sub ? ` (not \`${sub}')` : ''}`);
      args = more;
      prefix = 'ipset ';
    } else {
      command = COMMANDS.find((c) => c.name === first);
      if (!command) throw new UsageError(`unknown command \`${first}' (commands: ${COMMANDS.map((c) => c.name).join(', ')}, ipset)`);
    }
    const parsed = parseArgs(args, command.options);
    if (parsed.options.help === true) {
      process.stdout.write(commandHelp(command, prefix).replace(/^usage: iptc ipset ipset /, 'usage: iptc ipset '));
      return 0;
    }
    if (parsed.options.ipv4 === true && parsed.options.ipv6 === true) throw new UsageError('-4 and -6 exclude each other');
    return await command.run(parsed);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`iptc: ${e.message} (see iptc --help)\n`);
      return 2;
    }
    process.stderr.write(`iptc: ${oneLine(e)}\n`);
    if (process.env.IPTC_DEBUG) console.error(e);
    return 1;
  }
}
