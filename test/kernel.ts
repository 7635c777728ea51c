// Helpers that read and reset what the kernel holds, through the iptables tools of the backend under test
// (iptables-legacy* or iptables-nft*, the oracle; $IPTC_BACKEND, pinned by vitest.config.ts and
// test/setup.ts) and ipset, inside the private namespace made by scripts/netns-run.mjs.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach } from 'vitest';

export type Family = 4 | 6;

export function run(file: string, args: string[], input?: string): string {
  // A save of a large table is megabytes: past the 1 MiB execFileSync takes by default.
  return execFileSync(file, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
}

/** Runs a command and returns its exit status and output instead of throwing. */
export function attempt(file: string, args: string[]): { status: number; stdout: string; stderr: string } {
  try {
    return { status: 0, stdout: run(file, args), stderr: '' };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { status: err.status ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** The backend every Table of this test run uses unless it chooses one: `legacy` or `nft`. */
export const BACKEND: 'legacy' | 'nft' = process.env.IPTC_BACKEND === 'nft' ? 'nft' : 'legacy';

const tool = (family: Family, suffix = '') => `${family === 6 ? 'ip6tables' : 'iptables'}-${BACKEND}${suffix}`;

/**
 * The iptables commands of the backend under test: `iptables-legacy` or `iptables-nft` (`ip6tables-...`
 * for family 6), and their `-save` and `-restore`.
 */
export const tools = {
  iptables: (family: Family = 4): string => tool(family),
  save: (family: Family = 4): string => tool(family, '-save'),
  restore: (family: Family = 4): string => tool(family, '-restore'),
};

/** `iptables-legacy ARGS` or `iptables-nft ARGS` (or ip6tables), as the backend under test. */
export function ipt(args: string[], family: Family = 4): string {
  const c = args.findIndex((a) => a === '-c' || a === '--set-counters');
  if (BACKEND === 'nft' && family === 6 && c >= 0) return ip6tablesNftWithCounters(args, c);
  return run(tool(family), args);
}

/**
 * ip6tables-nft 1.8.9 drops `-c PACKETS BYTES` (the rule's counter starts at 0, measured; iptables-nft keeps
 * them; ip6tables-nft-restore -c drops `[P:B]` too): an `-A CHAIN ... -c P B` is made without them, then its
 * counter is set through nft (setIp6NftCounters).
 */
function ip6tablesNftWithCounters(args: string[], c: number): string {
  const counters: [string, string] = [args[c + 1]!, args[c + 2]!];
  const rest = [...args.slice(0, c), ...args.slice(c + 3)];
  const t = rest.indexOf('-t');
  const a = rest.indexOf('-A');
  if (a < 0) throw new Error(`ipt(): counters on ip6tables-nft only with -A, got ${args.join(' ')}`);
  const out = run(tool(6), rest);
  setIp6NftCounters(t >= 0 ? rest[t + 1]! : 'filter', rest[a + 1]!, [counters]);
  return out;
}

/**
 * Sets the counters of the last `counters.length` rules of an ip6 chain, in order: nft replaces each rule
 * with itself as nft lists it, its counter set (the other expressions stay as ip6tables-nft wrote them).
 */
function setIp6NftCounters(table: string, chain: string, counters: [string, string][]): void {
  const listed = run('nft', ['-a', 'list', 'chain', 'ip6', table, chain])
    .split('\n')
    .filter((l) => !l.includes('{') && / # handle \d+$/.test(l))
    .slice(-counters.length);
  for (const [i, line] of listed.entries()) {
    const [packets, bytes] = counters[i]!;
    const m = /^\s*(.*) # handle (\d+)$/.exec(line)!;
    const rule = m[1]!.replace(/counter packets \d+ bytes \d+/, `counter packets ${packets} bytes ${bytes}`);
    run('nft', ['replace', 'rule', 'ip6', table, chain, 'handle', m[2]!, rule]);
  }
}

/**
 * `iptables-restore ARGS` of the backend under test with `text` as input. With counters, on nft IPv6 the
 * `[P:B]` of each `-A` line is set afterwards, as ip6tables-nft-restore 1.8.9 drops them (see
 * ip6tablesNftWithCounters); such a text may only append, one rule per line, to chains it lists in order.
 */
export function restoreCli(family: Family, args: string[], text: string): string {
  const out = run(tool(family, '-restore'), args, text);
  if (BACKEND !== 'nft' || family !== 6 || !args.some((a) => a === '-c' || a === '--counters')) return out;
  let table = 'filter';
  const byChain = new Map<string, [string, string][]>();
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^\[(\d+):(\d+)\] -A (\S+) /.exec(line);
    if (m) byChain.set(`${table} ${m[3]}`, [...(byChain.get(`${table} ${m[3]}`) ?? []), [m[1]!, m[2]!]]);
    else if (/^(\[\d+:\d+\] )?-[IRD] /.test(line)) throw new Error(`restoreCli(): counters on ip6tables-nft only with -A lines, got ${line}`);
  }
  for (const [key, counters] of byChain) {
    const [t, chain] = key.split(' ') as [string, string];
    setIp6NftCounters(t, chain, counters);
  }
  return out;
}

/** `iptables-legacy-save -t TABLE [-c]` (or iptables-nft-save) without its `#` comment lines. */
export function save(table = 'filter', opts: { family?: Family; counters?: boolean } = {}): string {
  const args = ['-t', table];
  if (opts.counters) args.push('-c');
  return run(tool(opts.family ?? 4, '-save'), args)
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n');
}

/** The `-A CHAIN ...` lines of one chain, as the backend's iptables-save prints them (without `-A CHAIN `). */
export function rules(table: string, chain: string, opts: { family?: Family; counters?: boolean } = {}): string[] {
  const prefix = `-A ${chain} `;
  return save(table, opts)
    .split('\n')
    .map((line) => (opts.counters ? line.replace(/^(\[\d+:\d+\]) -A /, '$1 -A ') : line))
    .filter((line) => line.startsWith(prefix) || (opts.counters && line.includes(` ${prefix}`)))
    .map((line) => (opts.counters ? line.replace(` ${prefix}`, ' ') : line.slice(prefix.length)));
}

export const BUILTIN_CHAINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** The legacy tables the kernel has instantiated for a family in this namespace. */
export function legacyTables(family: Family = 4): string[] {
  const file = family === 6 ? '/proc/net/ip6_tables_names' : '/proc/net/ip_tables_names';
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

/** The nf_tables tables of family `ip` (4) or `ip6` (6) in this namespace (`nft list tables ip`). */
export function nftTables(family: Family = 4): string[] {
  const nfFamily = family === 6 ? 'ip6' : 'ip';
  return run('nft', ['list', 'tables', nfFamily])
    .split('\n')
    .map((line) => line.replace(`table ${nfFamily} `, '').trim())
    .filter(Boolean);
}

/** The tables of a family that exist in this namespace on the backend under test. */
export function liveTables(family: Family = 4): string[] {
  return BACKEND === 'nft' ? nftTables(family) : legacyTables(family);
}

/**
 * Empties every instantiated legacy table of both families (policies ACCEPT, counters 0; a legacy table
 * cannot be removed), removes every nf_tables table (which is how iptables-nft leaves a namespace it never
 * touched), and destroys all sets.
 */
export function resetKernel(): void {
  for (const family of [4, 6] as const) {
    const text = legacyTables(family)
      .map((t) => [`*${t}`, ...BUILTIN_CHAINS[t]!.map((c) => `:${c} ACCEPT [0:0]`), 'COMMIT'].join('\n'))
      .join('\n');
    if (text) run(family === 6 ? 'ip6tables-legacy-restore' : 'iptables-legacy-restore', [], `${text}\n`);
  }
  run('nft', ['flush', 'ruleset']);
  run('ipset', ['destroy']);
}

/** Runs fn and returns what it threw; fails the test if it did not throw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, but nothing was thrown');
}

/**
 * A list that the file's tests push the tables they open onto: each one is closed after every test.
 * Call at the top level of a test file.
 */
export function closedAfterEach(): { close(): void }[] {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const t of open.splice(0)) t.close();
  });
  return open;
}
