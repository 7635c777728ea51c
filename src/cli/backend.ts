// `iptc backend`: what detectBackend() finds, in words, with what it means for rules made by iptc.
import { detectBackend, type BackendInfo } from '../iptc/index.js';
import type { Command } from './command.js';
import { HELP, JSON_OUT } from './command.js';
import { liveTables } from './snapshot.js';

/** The explanation printed by `iptc backend`; exported for the docs and tests. */
export function describeBackend(info: BackendInfo, legacy4: string[], legacy6: string[]): string {
  const lines: string[] = [];
  if (info.iptables === 'legacy') {
    lines.push('The system\'s `iptables` command is iptables-legacy: it shows and edits the same tables as iptc.');
  } else if (info.iptables === 'nft') {
    lines.push(
      'The system\'s `iptables` command is iptables-nft (the nf_tables backend). iptc drives the legacy',
      'xtables backend: rules made with iptc are invisible to `iptables`, `iptables-save` and `nft`; use',
      '`iptables-legacy-save` or `iptc list` to see them. The kernel runs both rule sets, so a packet must',
      'pass both: make sure they do not contradict each other. (This is what the IPTC_NFT_BACKEND warning says.)',
    );
  } else {
    lines.push('No `iptables` command was found (or its backend could not be told); iptc drives the legacy xtables backend.');
  }
  const tables = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none');
  lines.push(
    `Legacy tables in use in this network namespace: IPv4 ${tables(legacy4)}; IPv6 ${tables(legacy6)}.`,
    info.nftTablesPresent
      ? 'nftables holds tables in this network namespace too (`nft list tables`).'
      : 'nftables holds no tables in this network namespace.',
  );
  return `${lines.join('\n')}\n`;
}

export const backend: Command = {
  name: 'backend',
  summary: 'which iptables backend the system uses, in words',
  usage: 'backend [--json]',
  description:
    'Reports what the system\'s `iptables` command drives (legacy or nft), which legacy tables are in use ' +
    'and whether nftables holds tables, and what that means for rules made with iptc. Creates nothing.',
  options: [JSON_OUT, HELP],
  run(args) {
    if (args.positionals.length > 0) throw new Error(`backend takes no arguments, got \`${args.positionals[0]}'`);
    const info = detectBackend();
    const legacy4 = liveTables(4);
    const legacy6 = liveTables(6);
    if (args.options.json === true) {
      process.stdout.write(`${JSON.stringify({ ...info, legacyTables: { ipv4: legacy4, ipv6: legacy6 } }, null, 2)}\n`);
    } else {
      process.stdout.write(describeBackend(info, legacy4, legacy6));
    }
    return 0;
  },
};
