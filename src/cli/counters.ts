// `iptc counters`: per-rule packets and bytes with their rates; --watch redraws the same screen area
// every interval, like `watch iptables -L -v` but with rates.
import { setTimeout as sleep } from 'node:timers/promises';
import { countOption, secondsOption } from './args.js';
import type { Command } from './command.js';
import { BACKEND, HELP, IPV4, IPV6, TABLE, backendOf, familyOf, tableOf } from './command.js';
import { columns, human, rate } from './format.js';
import { readTables, type TableRow } from './snapshot.js';

interface Sample {
  at: number;
  rows: Map<string, { packets: bigint; bytes: bigint }>;
}

interface Row {
  key: string;
  table: string;
  chain: string;
  num: string;
  packets: bigint;
  bytes: bigint;
  name: string;
}

function rowsOf(tables: TableRow[], chain: string | undefined, policies: boolean): Row[] {
  const rows: Row[] = [];
  for (const t of tables) {
    for (const c of t.chains) {
      if (chain && c.name !== chain) continue;
      if (policies && c.policy) {
        rows.push({ key: `${t.table}/${c.name}/policy`, table: t.table, chain: c.name, num: '-', packets: c.packets, bytes: c.bytes, name: `policy ${c.policy}` });
      }
      for (const r of c.rules) {
        // The spec is part of the key: a rule replaced at the same position starts a new rate.
        rows.push({
          key: `${t.table}/${c.name}/${r.position}/${r.spec}`,
          table: t.table,
          chain: c.name,
          num: String(r.position),
          packets: r.packets,
          bytes: r.bytes,
          name: r.comment || r.spec,
        });
      }
    }
  }
  return rows;
}

function render(rows: Row[], previous: Sample | null, now: number, exact: boolean): string {
  const n = (v: bigint) => (exact ? v.toString() : human(v));
  const seconds = previous ? (now - previous.at) / 1000 : 0;
  const perSecond = (row: Row, field: 'packets' | 'bytes'): string => {
    const before = previous?.rows.get(row.key);
    // No rate without an earlier sample, or when the counter went down (someone zeroed it).
    if (!before || seconds <= 0 || row[field] < before[field]) return '-';
    return rate(Number(row[field] - before[field]) / seconds, field === 'bytes' ? 'B' : '');
  };
  if (rows.length === 0) return 'no rules\n';
  return `${columns(
    ['table', 'chain', 'num', 'pkts', 'bytes', 'pkts/s', 'bytes/s', 'rule'],
    rows.map((r) => [r.table, r.chain, r.num, n(r.packets), n(r.bytes), perSecond(r, 'packets'), perSecond(r, 'bytes'), r.name]),
    new Set([2, 3, 4, 5, 6]),
  )}\n`;
}

export const counters: Command = {
  name: 'counters',
  summary: 'per-rule packets and bytes with rates (--watch: refreshed in place)',
  usage: 'counters [-6] [-t TABLE] [--backend B] [--watch] [--interval SECONDS] [--count N] [--policies] [-x] [CHAIN]',
  description:
    'Shows each rule\'s packet and byte counters and their rates per second, named by the rule\'s comment ' +
    '(or its spec without one). Without --watch it takes two readings --interval seconds apart (default 1; ' +
    '0 for counters only). With --watch it redraws in place every --interval seconds until interrupted ' +
    '(or --count readings). Counters are only read, never zeroed.',
  options: [
    IPV6,
    IPV4,
    TABLE,
    BACKEND,
    { key: 'watch', long: 'watch', short: 'w', help: 'keep refreshing in place' },
    { key: 'interval', long: 'interval', short: 'i', value: true, meta: 'SECONDS', help: 'seconds between readings (default 1)' },
    { key: 'count', long: 'count', short: 'n', value: true, meta: 'N', help: 'stop after N readings (--watch)' },
    { key: 'policies', long: 'policies', short: 'p', help: 'also show the policy counters of built-in chains' },
    { key: 'exact', long: 'exact', short: 'x', help: 'exact counters instead of K/M/G units' },
    HELP,
  ],
  async run(args) {
    const [chain, extra] = args.positionals;
    if (extra !== undefined) throw new Error(`counters takes at most one chain, got \`${extra}' too`);
    const family = familyOf(args);
    const table = tableOf(args);
    const { name: backend } = backendOf(args);
    const watch = args.options.watch === true;
    const interval = secondsOption(args.options.interval, 'interval', 1, watch ? 0.05 : 0);
    const limit = countOption(args.options.count, 'count', Infinity, 1);
    const exact = args.options.exact === true;
    const policies = args.options.policies === true;
    const read = (): { rows: Row[]; sample: Sample } => {
      let tables = readTables(family, table, backend);
      // With no table in use yet, the (empty) filter table, as `list` shows; reading it does not create it.
      if (tables.length === 0) tables = readTables(family, 'filter', backend);
      if (chain !== undefined && !tables.some((t) => t.chains.some((c) => c.name === chain))) {
        throw new Error(`no chain \`${chain}' in ${tables.length === 1 ? `table \`${tables[0]!.table}'` : `any ${family === 6 ? 'IPv6' : 'IPv4'} table in use`}`);
      }
      const rows = rowsOf(tables, chain, policies);
      const at = performance.now();
      return { rows, sample: { at, rows: new Map(rows.map((r) => [r.key, { packets: r.packets, bytes: r.bytes }])) } };
    };

    if (!watch) {
      let previous: Sample | null = null;
      if (interval > 0) {
        previous = read().sample;
        await sleep(interval * 1000);
      }
      const { rows, sample } = read();
      process.stdout.write(render(rows, previous, sample.at, exact));
      return 0;
    }

    const tty = process.stdout.isTTY === true;
    let stop = false;
    const onSignal = () => {
      stop = true;
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let previous: Sample | null = null;
    let drawn = 0;
    try {
      for (let i = 0; i < limit && !stop; i++) {
        if (i > 0) await sleep(interval * 1000);
        if (stop) break;
        const { rows, sample } = read();
        const frame = `${new Date().toISOString().slice(11, 19)}  every ${interval}s  (Ctrl-C to stop)\n${render(rows, previous, sample.at, exact)}`;
        if (tty) {
          // Back to the top of the previous frame and clear below it: the table updates in place
          // without wiping the rest of the terminal.
          process.stdout.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}\x1b[J${frame}`);
          drawn = frame.split('\n').length - 1;
        } else {
          process.stdout.write(`${frame}\n`);
        }
        previous = sample;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};
