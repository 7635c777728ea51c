// `iptc list`: chains and rules with their counters, for people (columns) or programs (--json).
import type { Command } from './command.js';
import { BACKEND, HELP, IPV4, IPV6, JSON_OUT, TABLE, backendOf, familyOf, tableOf } from './command.js';
import { columns, human, toJson } from './format.js';
import { readTables, type TableRow } from './snapshot.js';

const NUMBERS = new Set([0, 1, 2]);

function text(tables: TableRow[], exact: boolean): string {
  const n = (v: bigint) => (exact ? v.toString() : human(v));
  const out: string[] = [];
  for (const t of tables) {
    out.push(`# ${t.family === 6 ? 'IPv6' : 'IPv4'} table ${t.table}`);
    for (const c of t.chains) {
      const head = c.policy
        ? `Chain ${c.name} (policy ${c.policy} ${n(c.packets)} packets, ${n(c.bytes)} bytes)`
        : `Chain ${c.name} (${c.rules.length} rules)`;
      out.push(head);
      if (c.rules.length > 0) {
        out.push(
          columns(
            ['num', 'pkts', 'bytes', 'target', 'comment', 'rule'],
            c.rules.map((r) => [String(r.position), n(r.packets), n(r.bytes), r.target || '-', r.comment || '-', r.spec]),
            NUMBERS,
          ),
        );
      }
      out.push('');
    }
  }
  return out.join('\n');
}

export const list: Command = {
  name: 'list',
  summary: 'list chains and rules with their counters',
  usage: 'list [-6] [-t TABLE] [--backend B] [-x] [--json] [CHAIN]',
  description:
    'Lists the chains of every table in use (or of one, with -t), with policy and per-rule packet and ' +
    'byte counters, the target, the comment and the rule as iptables-save writes it. Positions count from ' +
    '1, as `iptables -L --line-numbers`. --json prints the same as an array of tables.',
  options: [
    IPV6,
    IPV4,
    TABLE,
    BACKEND,
    { key: 'exact', long: 'exact', short: 'x', help: 'exact counters instead of K/M/G units' },
    JSON_OUT,
    HELP,
  ],
  run(args) {
    const [chain, extra] = args.positionals;
    if (extra !== undefined) throw new Error(`list takes at most one chain, got \`${extra}' too`);
    const { name: backend } = backendOf(args);
    let tables = readTables(familyOf(args), tableOf(args) ?? (chain ? 'filter' : undefined), backend);
    // With no table in use yet, show the (empty) filter table rather than nothing; reading it does
    // not create it.
    if (tables.length === 0) tables = readTables(familyOf(args), 'filter', backend);
    if (chain) {
      tables = tables.map((t) => ({ ...t, chains: t.chains.filter((c) => c.name === chain) }));
      if (tables.every((t) => t.chains.length === 0)) {
        throw new Error(`no chain \`${chain}' in table \`${tables[0]?.table ?? 'filter'}'`);
      }
    }
    process.stdout.write(args.options.json === true ? `${toJson(tables)}\n` : text(tables, args.options.exact === true));
    return 0;
  },
};
