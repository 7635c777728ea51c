// The exporter's metrics. A reading takes the kernel's counters at one moment (decoding only the rules
// that are new since the last one, for their labels); it is then written in the text exposition format a
// chunk at a time, as clients take it. The values are the kernel's own counters, never zeroed or offset
// here, so rates computed by Prometheus are the rules' true rates.
import { constants } from 'node:os';
import { IPSet, IPSetError, type IPSetInfo } from '../ipset/index.js';
import { forgetSavedExtensions } from '../xtables/shim.js';
import { TableScanner, type ScannedChain } from '../xtables/table-scan.js';
import { ChunkWriter, labelText, type MetricType } from './exposition.js';
import type { BackendName } from '../iptc/table-backend.js';
import { IPTCError } from '../xtables/errors.js';
import { NftTableScanner } from './nft-scan.js';
import { chainLabels, RuleLabels, type ChainLabels } from './rule-series.js';
import { liveTables, type Family } from './snapshot.js';

export interface CollectOptions {
  /**
   * Backends to read (default legacy): `legacy` the ip_tables tables in use, `nft` iptables' tables in
   * nf_tables (what iptables-nft manages). Their series carry a `backend` label.
   */
  backends?: BackendName[];
  /** Families to read (default both). */
  families?: Family[];
  /** Read ipsets (default true). */
  ipset?: boolean;
  /** Per-entry series of sets created with counters, at most this many per set (default 0: none). */
  setEntries?: number;
  /** A `position` label on rule series (default false): every rule below an inserted one changes series. */
  position?: boolean;
  /** iptc_rule_info, each rule's spec (default true): about half of a scrape's bytes. */
  ruleInfo?: boolean;
}

interface ChainReading {
  /** The labels of the chain's own series. */
  labels: string;
  policy: ScannedChain['policy'];
  rules: ChainLabels;
  /** ScannedChain.counters. */
  counters: Uint32Array;
}

interface SetReading {
  /** The labels of the set's own series. */
  labels: string;
  entries: number;
  /** maxelem of a hash set, size of a list:set; undefined for bitmaps, whose range is their limit. */
  maxelem: number | undefined;
  memory: number | undefined;
  references: number;
  /** Per-entry series (with --set-entries). */
  series: { labels: string; packets: bigint; bytes: bigint }[];
}

interface SourceReading {
  name: string;
  error: { code: string; reason: string } | null;
}

/** One reading of the kernel: all it takes to write a scrape, whenever clients take it. */
export interface Reading {
  sources: SourceReading[];
  chains: ChainReading[];
  sets: SetReading[];
  /** Time taken to read the kernel. */
  seconds: number;
  /** What the reading keeps alive, in bytes, roughly: its counters and the labels it uses. */
  size: number;
  /** Rules decoded for their labels (new since the last reading). */
  decoded: number;
  position: boolean;
  ruleInfo: boolean;
}

/**
 * Reads the kernel for the exporter, keeping the labels of rules from one reading to the next. A source
 * that cannot be read (not root, no ipset support) is reported down with the reason; the others are
 * still read. `onError` hears about each failure (the exporter logs it).
 */
export class Collector {
  readonly #scanner = new TableScanner();
  readonly #nftScanner = new NftTableScanner();
  readonly #labels: RuleLabels;
  readonly #options: Required<CollectOptions>;
  readonly #collect: () => void;

  /**
   * `collectGarbage`, if given, frees the garbage decoding leaves: called after every 10,000 rules
   * decoded and after a reading that decoded 2,000 or more, since V8 would free it only once the heap
   * had grown much further. (The exporter passes a full collection.)
   */
  constructor(options: CollectOptions = {}, collectGarbage?: () => void) {
    this.#options = { backends: ['legacy'], families: [4, 6], ipset: true, setEntries: 0, position: false, ruleInfo: true, ...options };
    // Decoding leaves the printed blobs in xtables' memo, which helps a reader that prints the same rules
    // again; the exporter never does, so each batch's are forgotten.
    this.#collect = () => {
      forgetSavedExtensions();
      collectGarbage?.();
    };
    this.#labels = new RuleLabels(this.#collect, this.#options.ruleInfo);
  }

  read(onError: (source: string, e: unknown) => void = () => {}): Reading {
    const started = performance.now();
    const reading: Reading = {
      sources: [], chains: [], sets: [], seconds: 0, size: 0, decoded: 0, position: this.#options.position, ruleInfo: this.#options.ruleInfo,
    };
    const source = (name: string, read: () => void): boolean => {
      try {
        read();
        reading.sources.push({ name, error: null });
        return true;
      } catch (e) {
        reading.sources.push({ name, error: { code: errorCode(e), reason: errorReason(e) } });
        onError(name, e);
        return false;
      }
    };
    for (const backend of this.#options.backends) {
      for (const family of this.#options.families) {
        const chains: ChainReading[] = [];
        const read = source(sourceName(backend, family), () => {
          try {
            for (const table of liveTables(family, backend)) {
              const scanned = backend === 'nft' ? this.#nftScanner.read(family, table) : this.#scanner.read(family, table);
              for (const chain of scanned) chains.push(this.#chain(backend, family, table, chain));
            }
          } catch (e) {
            throw backend === 'nft' ? withRightsHint(e) : e;
          }
        });
        if (read) reading.chains.push(...chains);
        else this.#labels.keep(backend, family);
      }
    }
    reading.decoded = this.#labels.readingDone();
    if (reading.decoded >= 2000) this.#collect();
    else if (reading.decoded > 0) forgetSavedExtensions();
    if (this.#options.ipset) source('ipset', () => (reading.sets = readSets(this.#options.setEntries)));
    reading.seconds = (performance.now() - started) / 1000;
    for (const c of reading.chains) reading.size += c.counters.byteLength + c.rules.size + c.labels.length;
    for (const s of reading.sets) reading.size += 128 + s.series.reduce((n, e) => n + e.labels.length + 64, 0);
    return reading;
  }

  #chain(backend: BackendName, family: Family, table: string, chain: ScannedChain): ChainReading {
    return {
      labels: labelText(chainLabels(backend, family, table, chain.name)),
      policy: chain.policy,
      rules: this.#labels.of(backend, family, table, chain),
      counters: chain.counters,
    };
  }
}

/** nf_tables refuses every request without CAP_NET_ADMIN (EPERM): say so, as the legacy reader does. */
function withRightsHint(e: unknown): unknown {
  const errno = (e as { errno?: unknown }).errno;
  if (errno !== 1 && errno !== 13) return e;
  return new IPTCError(
    `cannot read the nf_tables tables: ${(e as Error).message}; reading them needs root (or CAP_NET_ADMIN)`,
    errno,
  );
}

/** The source a backend's family is reported as: iptables / ip6tables (legacy), iptables-nft / ip6tables-nft. */
export function sourceName(backend: BackendName, family: Family): string {
  return `${family === 6 ? 'ip6tables' : 'iptables'}${backend === 'nft' ? '-nft' : ''}`;
}

function readSets(maxEntries: number): SetReading[] {
  const ipset = new IPSet();
  try {
    const sets: SetReading[] = [];
    for (const info of ipset.listHeaders()) {
      const h = info.header;
      const wanted = maxEntries > 0 && h.counters;
      // A kernel too old to say how many entries a set holds has them counted.
      const listed = wanted || h.elements === undefined ? listSet(ipset, info.name) : undefined;
      if (listed === null) continue;
      const labels = { set: info.name, type: info.type };
      sets.push({
        labels: labelText(labels),
        entries: h.elements ?? listed!.entries.length,
        maxelem: h.maxelem ?? h.size,
        memory: h.memsize,
        references: h.references ?? 0,
        series: !wanted
          ? []
          : listed!.entries.slice(0, maxEntries).map((e) => ({
              labels: labelText({ set: info.name, entry: e.entry, comment: e.comment ?? '' }),
              packets: e.packets ?? 0n,
              bytes: e.bytes ?? 0n,
            })),
      });
    }
    return sets;
  } finally {
    ipset.close();
  }
}

/** One set with its entries; null if it was destroyed since the sets were listed. */
function listSet(ipset: IPSet, name: string): IPSetInfo | null {
  try {
    return ipset.list(name).find((s) => s.name === name) ?? null;
  } catch (e) {
    if (e instanceof IPSetError && e.errno === constants.errno.ENOENT) return null;
    throw e;
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

const HELP: Record<string, [MetricType, string]> = {
  iptc_up: ['gauge', 'Whether every source (iptables, ip6tables, iptables-nft, ip6tables-nft, ipset) was read in this scrape (1) or not (0).'],
  iptc_source_up: ['gauge', 'Whether one source was read in this scrape (1) or not (0).'],
  iptc_rule_packets_total: ['counter', "Packets matched by a rule: the kernel's counter, read at scrape time."],
  iptc_rule_bytes_total: ['counter', "Bytes matched by a rule: the kernel's counter, read at scrape time."],
  iptc_rule_info: ['gauge', 'Always 1: the spec of each rule (as iptables-save prints it after -A CHAIN), with the labels of its series.'],
  iptc_chain_policy_packets_total: ['counter', 'Packets that reached the end of a built-in chain and got its policy.'],
  iptc_chain_policy_bytes_total: ['counter', 'Bytes that reached the end of a built-in chain and got its policy.'],
  iptc_chain_rules: ['gauge', 'Number of rules in a chain.'],
  iptc_ipset_entries: ['gauge', 'Number of entries in an ipset.'],
  iptc_ipset_maxelem: ['gauge', 'Most entries an ipset can hold: maxelem of a hash set, size of a list:set.'],
  iptc_ipset_memory_bytes: ['gauge', 'Memory the kernel uses for an ipset.'],
  iptc_ipset_references: ['gauge', 'Number of references to an ipset (rules and list:set sets using it).'],
  iptc_ipset_entry_packets_total: ['counter', 'Packets matched by an ipset entry (sets created with counters; with --set-entries).'],
  iptc_ipset_entry_bytes_total: ['counter', 'Bytes matched by an ipset entry (sets created with counters; with --set-entries).'],
  iptc_source_error: ['gauge', "Present (1) for each source that could not be read in this scrape: the error's code and message."],
  iptc_scrape_duration_seconds: ['gauge', 'Time taken to read the kernel for this scrape.'],
};

const NAMES = Object.fromEntries(Object.keys(HELP).map((name) => [name, Buffer.from(`${name}{`)]));

/** One scrape of `reading` in the text exposition format, a chunk at a time. */
export function* render(reading: Reading): Generator<Buffer, void, undefined> {
  const out = new ChunkWriter();
  try {
    yield* write(reading, out);
  } finally {
    out.dispose();
  }
}

function* write(reading: Reading, out: ChunkWriter): Generator<Buffer, void, undefined> {
  const family = (name: string) => out.family(name, HELP[name]![0], HELP[name]![1]);
  family('iptc_up');
  out.sample('iptc_up', '', reading.sources.every((s) => s.error === null) ? 1 : 0);
  family('iptc_source_up');
  for (const s of reading.sources) out.sample('iptc_source_up', labelText({ source: s.name }), s.error ? 0 : 1);

  for (const [name, at] of [['iptc_rule_packets_total', 0], ['iptc_rule_bytes_total', 2]] as const) {
    family(name);
    for (const { rules, counters } of reading.chains) {
      for (let i = 0; i < rules.count; ) {
        i = out.series(NAMES[name]!, rules.labels, i, reading.position, { counters, at });
        if (out.full) yield out.take();
      }
    }
  }
  if (reading.ruleInfo) family('iptc_rule_info');
  for (const { rules } of reading.ruleInfo ? reading.chains : []) {
    for (let i = 0; i < rules.count; ) {
      i = out.series(NAMES.iptc_rule_info!, rules.labels, i, reading.position, { specs: rules.specs });
      if (out.full) yield out.take();
    }
  }

  for (const [name, value] of [
    ['iptc_chain_policy_packets_total', 'packets'],
    ['iptc_chain_policy_bytes_total', 'bytes'],
  ] as const) {
    family(name);
    for (const c of reading.chains) if (c.policy) out.sample(name, `${c.labels},policy="${c.policy.name}"`, c.policy[value].toString());
  }
  family('iptc_chain_rules');
  for (const c of reading.chains) out.sample('iptc_chain_rules', c.labels, c.rules.count);
  if (out.full) yield out.take();

  const gauges = [
    ['iptc_ipset_entries', (s: SetReading) => s.entries],
    ['iptc_ipset_maxelem', (s: SetReading) => s.maxelem],
    ['iptc_ipset_memory_bytes', (s: SetReading) => s.memory],
    ['iptc_ipset_references', (s: SetReading) => s.references],
  ] as const;
  for (const [name, value] of gauges) {
    family(name);
    for (const s of reading.sets) {
      const v = value(s);
      if (v !== undefined) out.sample(name, s.labels, v);
    }
  }
  for (const [name, value] of [
    ['iptc_ipset_entry_packets_total', 'packets'],
    ['iptc_ipset_entry_bytes_total', 'bytes'],
  ] as const) {
    family(name);
    for (const s of reading.sets) {
      for (const e of s.series) {
        out.sample(name, e.labels, e[value].toString());
        if (out.full) yield out.take();
      }
    }
  }

  family('iptc_source_error');
  for (const s of reading.sources) {
    if (s.error) out.sample('iptc_source_error', labelText({ source: s.name, code: s.error.code, reason: s.error.reason }), 1);
  }
  family('iptc_scrape_duration_seconds');
  out.sample('iptc_scrape_duration_seconds', '', reading.seconds);
  yield out.take();
}
