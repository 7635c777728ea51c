// The exporter's metrics in the Prometheus text exposition format (version 0.0.4). Every scrape reads
// the kernel afresh; the values are the kernel's own counters, never zeroed or offset here, so rates
// computed by Prometheus are the rules' true rates.
import { constants } from 'node:os';
import { IPSet } from '../ipset/index.js';
import { readTables, type Family, type TableRow } from './snapshot.js';

export interface CollectOptions {
  /** Families to read (default both). */
  families?: Family[];
  /** Read ipsets (default true). */
  ipset?: boolean;
  /** Per-entry series for at most this many entries per set (default 10,000); counts are always exact. */
  maxSetEntries?: number;
}

type Labels = Record<string, string>;

/** Escapes a label value as the exposition format requires: backslash, double quote, newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

class Exposition {
  #families = new Map<string, { help: string; type: string; samples: string[] }>();

  family(name: string, type: 'counter' | 'gauge', help: string): void {
    if (!this.#families.has(name)) this.#families.set(name, { help, type, samples: [] });
  }

  sample(name: string, labels: Labels, value: bigint | number): void {
    const f = this.#families.get(name);
    if (!f) throw new Error(`metric ${name} not declared`);
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(',');
    f.samples.push(`${name}${l ? `{${l}}` : ''} ${typeof value === 'bigint' ? value.toString() : String(value)}`);
  }

  text(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.samples);
    }
    return `${out.join('\n')}\n`;
  }
}

const familyLabel = (f: Family) => (f === 6 ? 'ipv6' : 'ipv4');

function rules(x: Exposition, tables: TableRow[]): void {
  for (const t of tables) {
    for (const c of t.chains) {
      const base = { family: familyLabel(t.family), table: t.table, chain: c.name };
      x.sample('iptc_chain_rules', base, c.rules.length);
      if (c.policy) {
        x.sample('iptc_chain_policy_packets_total', { ...base, policy: c.policy }, c.packets);
        x.sample('iptc_chain_policy_bytes_total', { ...base, policy: c.policy }, c.bytes);
      }
      for (const r of c.rules) {
        const labels = { ...base, position: String(r.position), comment: r.comment, target: r.target, rule: r.spec };
        x.sample('iptc_rule_packets_total', labels, r.packets);
        x.sample('iptc_rule_bytes_total', labels, r.bytes);
      }
    }
  }
}

function sets(x: Exposition, maxEntries: number): void {
  const ipset = new IPSet();
  try {
    for (const info of ipset.list()) {
      const base = { set: info.name, type: info.type };
      x.sample('iptc_ipset_entries', base, info.entries.length);
      x.sample('iptc_ipset_references', base, info.header.references ?? 0);
      if (!info.header.counters) continue;
      for (const e of info.entries.slice(0, maxEntries)) {
        const labels = { set: info.name, entry: e.entry, comment: e.comment ?? '' };
        x.sample('iptc_ipset_entry_packets_total', labels, e.packets ?? 0n);
        x.sample('iptc_ipset_entry_bytes_total', labels, e.bytes ?? 0n);
      }
    }
  } finally {
    ipset.close();
  }
}

/** A short, stable code for an error: its errno name (EACCES, ENOENT), ipset's name, or its class. */
export function errorCode(e: unknown): string {
  const err = e as { errorName?: unknown; code?: unknown; errno?: unknown; name?: unknown };
  if (typeof err?.errorName === 'string') return err.errorName;
  if (typeof err?.code === 'string') return err.code;
  if (typeof err?.errno === 'number') {
    const name = Object.entries(constants.errno).find(([, v]) => v === Math.abs(err.errno as number))?.[0];
    if (name) return name;
  }
  return typeof err?.name === 'string' ? err.name : 'Error';
}

/** An error's message on one line. */
export function errorReason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, '; ').trim();
}

/**
 * Reads the kernel and returns one scrape in the text exposition format. A source that cannot be read
 * (not root, no ipset support) sets its `iptc_source_up` and `iptc_up` to 0 and says why in
 * `iptc_source_error`; the others are still reported. `onError` hears about each failure (the exporter logs it).
 */
export function collect(options: CollectOptions = {}, onError: (source: string, e: unknown) => void = () => {}): string {
  const started = performance.now();
  const x = new Exposition();
  x.family('iptc_up', 'gauge', 'Whether every source (iptables, ip6tables, ipset) was read in this scrape (1) or not (0).');
  x.family('iptc_source_up', 'gauge', 'Whether one source was read in this scrape (1) or not (0).');
  x.family('iptc_rule_packets_total', 'counter', 'Packets matched by a rule: the kernel\'s counter, read at scrape time.');
  x.family('iptc_rule_bytes_total', 'counter', 'Bytes matched by a rule: the kernel\'s counter, read at scrape time.');
  x.family('iptc_chain_policy_packets_total', 'counter', 'Packets that reached the end of a built-in chain and got its policy.');
  x.family('iptc_chain_policy_bytes_total', 'counter', 'Bytes that reached the end of a built-in chain and got its policy.');
  x.family('iptc_chain_rules', 'gauge', 'Number of rules in a chain.');
  x.family('iptc_ipset_entries', 'gauge', 'Number of entries in an ipset.');
  x.family('iptc_ipset_references', 'gauge', 'Number of references to an ipset (rules and list:set sets using it).');
  x.family('iptc_ipset_entry_packets_total', 'counter', 'Packets matched by an ipset entry (sets created with counters).');
  x.family('iptc_ipset_entry_bytes_total', 'counter', 'Bytes matched by an ipset entry (sets created with counters).');
  x.family('iptc_source_error', 'gauge', 'Present (1) for each source that could not be read in this scrape: the error\'s code and message.');
  x.family('iptc_scrape_duration_seconds', 'gauge', 'Time taken to read the kernel for this scrape.');

  let allUp = true;
  const source = (name: string, fn: () => void) => {
    try {
      fn();
      x.sample('iptc_source_up', { source: name }, 1);
    } catch (e) {
      allUp = false;
      x.sample('iptc_source_up', { source: name }, 0);
      x.sample('iptc_source_error', { source: name, code: errorCode(e), reason: errorReason(e) }, 1);
      onError(name, e);
    }
  };
  for (const family of options.families ?? [4, 6]) {
    source(family === 6 ? 'ip6tables' : 'iptables', () => rules(x, readTables(family)));
  }
  if (options.ipset !== false) source('ipset', () => sets(x, options.maxSetEntries ?? 10_000));
  x.sample('iptc_up', {}, allUp ? 1 : 0);
  x.sample('iptc_scrape_duration_seconds', {}, (performance.now() - started) / 1000);
  return x.text();
}
