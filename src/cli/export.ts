// `iptc export`: a read-only Prometheus exporter over node:http. It only ever reads the kernel (no
// zeroing, no writes), reads it afresh for each scrape, and listens on loopback unless told otherwise.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { backendFor, checkBackendChoice, defaultBackend } from '../iptc/backend-choice.js';
import { listNftTables } from '../iptc/nft-tables.js';
import type { BackendName } from '../iptc/table-backend.js';
import { countOption, UsageError } from './args.js';
import type { Command } from './command.js';
import { HELP } from './command.js';
import { CONTENT_TYPE, recycleChunk } from './exposition.js';
import { Collector, errorReason, render, type CollectOptions } from './metrics.js';
import { ResponseBudget } from './response-budget.js';
import { StreamedBody } from './streamed-body.js';

/**
 * 10455: the Prometheus project's list of default exporter ports has had no free port left in
 * 9100-9999 since 2023 (9455 is the iptables_exporter's), and it goes on above 10000; this one is clear
 * of both and below Linux's ephemeral ports (32768 and up). See docs/monitoring.md.
 */
export const DEFAULT_PORT = 10455;
export const DEFAULT_LISTEN = `127.0.0.1:${DEFAULT_PORT}`;
/** Per-entry series per set, with --set-entries. */
const DEFAULT_MAX_SET_ENTRIES = 1000;

let gc: (() => void) | undefined;

/**
 * A full garbage collection. Decoding thousands of rules (the first reading, or after a large change)
 * leaves megabytes of garbage that V8 would free only once the heap had grown much further; readings that
 * decode little (all the others) make next to none.
 */
function collectGarbage(): void {
  if (!gc) {
    // What `node --expose-gc` would turn on, for this one function.
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** 'HOST:PORT', '[V6]:PORT' or a bare port (on 127.0.0.1) -> host and port. */
export function parseListen(text: string): { host: string; port: number } {
  let host = '127.0.0.1';
  let portText = text;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (text.includes(':')) {
    const i = text.lastIndexOf(':');
    host = text.slice(0, i) || '127.0.0.1';
    portText = text.slice(i + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--listen needs HOST:PORT, e.g. ${DEFAULT_LISTEN}; got \`${text}'`);
  return { host, port };
}

/** How the exporter protects itself from clients that do not behave. */
export interface ExporterLimits {
  /**
   * Bytes held for responses in progress, over all clients (default 64 MiB): each reading's counters and
   * labels, and the text some of its clients have not taken yet. Past it, the clients whose connections
   * have taken nothing for the longest are dropped first.
   */
  maxPendingBytes?: number;
  /** A client whose connection moves nothing (no request bytes, no response taken) for this long is dropped (default 10 s). */
  idleTimeout?: number;
  /** A client must send a whole request within this time (default 10 s). */
  requestTimeout?: number;
}

const DEFAULT_LIMITS: Required<ExporterLimits> = { maxPendingBytes: 64 * 1024 * 1024, idleTimeout: 10_000, requestTimeout: 10_000 };

/**
 * The exporter's HTTP server (not listening yet): GET /metrics, a pointer at /, nothing else. The text
 * of a scrape is written as clients take it, never held whole. Clients that never read cannot make it
 * hold memory or starve the scrapes of others: requests that arrive together (pipelined ones too) share
 * one reading of the kernel and one writing of its text, what the responses in progress hold stays
 * within `limits.maxPendingBytes`, and stalled or slow clients are timed out.
 */
export function createExporter(options: CollectOptions = {}, log: (line: string) => void = () => {}, limits: ExporterLimits = {}): Server {
  const { maxPendingBytes, idleTimeout, requestTimeout } = { ...DEFAULT_LIMITS, ...limits };
  const budget = new ResponseBudget(maxPendingBytes);
  const sources = new SourceLog(log);
  const collector = new Collector(options, collectGarbage);
  const scrape = () => {
    const failed = new Set<string>();
    const reading = collector.read((source, e) => {
      failed.add(source);
      sources.failed(source, e);
    });
    sources.scraped(failed);
    return reading;
  };
  let body: StreamedBody | null = null;
  // Requests handled in the same turn of the event loop (they came in together, or while the kernel was
  // being read) get the same reading and its one text: a burst of clients costs one reading, not one
  // each. The next turn reads afresh.
  const shared = (): StreamedBody => {
    if (body) return body;
    const reading = scrape();
    const current = new StreamedBody(render(reading), reading.size, recycleChunk);
    body = current;
    setImmediate(() => {
      body = null;
      current.close();
    });
    return current;
  };
  const server = createServer(
    // Node checks request deadlines on a timer; once a second keeps a slow sender from staying much longer.
    { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: 1000 },
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('read-only exporter: GET /metrics\n');
        return;
      }
      if (path === '/metrics') {
        if (req.method === 'HEAD') {
          res.writeHead(200, { 'content-type': CONTENT_TYPE }).end();
          return;
        }
        let body: StreamedBody;
        try {
          body = shared();
        } catch (e) {
          // Sources that cannot be read are reported in the scrape; anything else is a fault of the
          // exporter's own, which costs this scrape, not the process.
          log(`scrape failed: ${errorReason(e)}`);
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`scrape failed: ${errorReason(e)}\n`);
          return;
        }
        res.writeHead(200, { 'content-type': CONTENT_TYPE });
        budget.send(res, body);
      } else if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><h1>iptc exporter</h1><a href="/metrics">/metrics</a></body></html>\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      }
    },
  );
  // A connection that moves nothing for this long is dropped: with a response in progress, that is a
  // client that stopped reading.
  server.setTimeout(idleTimeout, (socket: Socket) => socket.destroy());
  // A source that cannot be read (not root, say) does not stop the exporter: every scrape reports it
  // down with the reason, which is what monitoring alerts on. One read as it starts logs it at once (and
  // learns the labels of every rule, so that the first scrape reads only counters).
  server.once('listening', () => {
    try {
      scrape();
    } catch (e) {
      log(`scrape failed: ${errorReason(e)}`);
    }
  });
  return server;
}

/** Logs each source that cannot be read once per cause (not at every scrape), and when it can be read again. */
class SourceLog {
  readonly #log: (line: string) => void;
  readonly #failing = new Map<string, string>();

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  failed(source: string, e: unknown): void {
    const reason = errorReason(e);
    if (this.#failing.get(source) !== reason) this.#log(`cannot read ${source}: ${reason}`);
    this.#failing.set(source, reason);
  }

  /** After a scrape in which `failed` could not be read. */
  scraped(failed: ReadonlySet<string>): void {
    for (const source of [...this.#failing.keys()]) {
      if (failed.has(source)) continue;
      this.#failing.delete(source);
      this.#log(`reading ${source} again`);
    }
  }
}

/**
 * The backends a scrape reads: `--backend` (legacy, nft, auto, or all), else $IPTC_BACKEND when set,
 * else all: the legacy tables in use and, where the kernel has nf_tables, iptables' tables there (what
 * iptables-nft manages, and `iptables` shows on most current distributions). Both filter packets.
 */
/**
 * Whether the kernel has nf_tables. A refusal for want of rights counts as yes: the exporter then
 * reports that source down with the reason, rather than leaving it out unseen.
 */
function nftAnswers(): boolean {
  try {
    listNftTables();
    return true;
  } catch (e) {
    const errno = (e as { errno?: unknown }).errno;
    return errno === 1 || errno === 13;
  }
}

export function exportedBackends(option: string | boolean | undefined): BackendName[] {
  let choice: string;
  if (typeof option === 'string') choice = option;
  else if (process.env.IPTC_BACKEND) choice = defaultBackend();
  else choice = 'all';
  if (choice === 'all') return nftAnswers() ? ['legacy', 'nft'] : ['legacy'];
  try {
    return [backendFor(checkBackendChoice(choice, '--backend')).name];
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(" or 'auto'", ", 'auto' or 'all'")}`);
  }
}

export const exporter: Command = {
  name: 'export',
  summary: `Prometheus exporter for rule, policy and ipset counters (default ${DEFAULT_LISTEN})`,
  usage: 'export [--listen HOST:PORT] [--backend B] [-4 | -6] [--position] [--no-rule-info] [--no-ipset] [--set-entries [--max-set-entries N]]',
  description:
    'Serves the kernel\'s counters at http://HOST:PORT/metrics: per-rule packets and bytes labelled with ' +
    'backend, family, table, chain, comment, target and, where the comment does not name the rule alone, an id (a hash ' +
    'of the rule spec), so that a rule keeps its series when others move; iptc_rule_info with each rule\'s spec; ' +
    'chain policy counters; per-ipset entries, maxelem, memory and references; iptc_up and, per source that ' +
    'cannot be read, iptc_source_error with the reason. Every scrape reads the kernel afresh (scrapes arriving ' +
    'together share one reading) and decodes only the rules that are new; nothing is ever written or zeroed. ' +
    'Reads the legacy tables in use and, where the kernel has nf_tables, iptables\' tables there (what ' +
    'iptables-nft manages), unless --backend (or IPTC_BACKEND) names one. ' +
    'Listens on loopback unless --listen names another address.',
  options: [
    { key: 'listen', long: 'listen', short: 'l', value: true, meta: 'HOST:PORT', help: `address to listen on (default ${DEFAULT_LISTEN}; port 0 picks one)` },
    {
      key: 'backend',
      long: 'backend',
      value: true,
      meta: 'legacy|nft|auto|all',
      help: 'the tables to read (default: $IPTC_BACKEND, else all: legacy and, where the kernel has it, nf_tables)',
    },
    { key: 'ipv4', long: 'ipv4', short: '4', help: 'IPv4 rules only' },
    { key: 'ipv6', long: 'ipv6', short: '6', help: 'IPv6 rules only' },
    { key: 'position', long: 'position', help: 'label rule series with their position too (every rule below an inserted one then changes series)' },
    { key: 'noRuleInfo', long: 'no-rule-info', help: 'leave out iptc_rule_info, the rules\' specs (about half of a scrape\'s bytes)' },
    { key: 'noIpset', long: 'no-ipset', help: 'do not read ipsets' },
    { key: 'setEntries', long: 'set-entries', help: 'per-entry series for the entries of sets created with counters' },
    { key: 'maxSetEntries', long: 'max-set-entries', value: true, meta: 'N', help: `with --set-entries: at most N entries per set (default ${DEFAULT_MAX_SET_ENTRIES})` },
    HELP,
  ],
  async run(args) {
    if (args.positionals.length > 0) throw new UsageError(`export takes no arguments, got \`${args.positionals[0]}'`);
    const { host, port } = parseListen(typeof args.options.listen === 'string' ? args.options.listen : DEFAULT_LISTEN);
    const families: (4 | 6)[] = args.options.ipv4 === true ? [4] : args.options.ipv6 === true ? [6] : [4, 6];
    const setEntries = args.options.setEntries === true;
    if (!setEntries && args.options.maxSetEntries !== undefined) {
      throw new UsageError('--max-set-entries needs --set-entries (per-entry ipset series are off unless asked for)');
    }
    if (setEntries && args.options.noIpset === true) throw new UsageError('--set-entries and --no-ipset contradict each other');
    const options: CollectOptions = {
      backends: exportedBackends(args.options.backend),
      families,
      position: args.options.position === true,
      ruleInfo: args.options.noRuleInfo !== true,
      ipset: args.options.noIpset !== true,
      setEntries: setEntries ? countOption(args.options.maxSetEntries, 'max-set-entries', DEFAULT_MAX_SET_ENTRIES, 1) : 0,
    };
    const log = (line: string) => process.stderr.write(`iptc export: ${line}\n`);
    // A long-running server whose work is a few big scrapes: V8's heuristics for memory over speed keep
    // its resident size near what it uses (at 50,000 rules, about 125 MiB instead of 170), at no cost to
    // a scrape's time that shows.
    setFlagsFromString('--optimize-for-size');
    const server = createExporter(options, log);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.message}`)),
      );
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    const bound = typeof address === 'object' && address ? address : { address: host, port };
    const shown = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
    log(`listening on http://${shown}:${bound.port}/metrics`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.close(() => resolve());
        // Connections with a request in progress (or half sent) would keep the process up until they end.
        server.closeAllConnections();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
