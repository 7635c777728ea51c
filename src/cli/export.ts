// `iptc export`: a read-only Prometheus exporter over node:http. It only ever reads the kernel (no
// zeroing, no writes), reads it afresh on each scrape, and listens on loopback unless told otherwise.
import { createServer, type Server } from 'node:http';
import { numberOption, UsageError } from './args.js';
import type { Command } from './command.js';
import { HELP } from './command.js';
import { collect, type CollectOptions } from './metrics.js';

export const DEFAULT_LISTEN = '127.0.0.1:9455';

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

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The exporter's HTTP server (not listening yet): GET /metrics, a pointer at /, nothing else. */
export function createExporter(options: CollectOptions = {}, log: (line: string) => void = () => {}): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('read-only exporter: GET /metrics\n');
      return;
    }
    if (path === '/metrics') {
      const body = collect(options, (source, e) => log(`cannot read ${source}: ${e instanceof Error ? e.message : String(e)}`));
      res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><h1>iptc exporter</h1><a href="/metrics">/metrics</a></body></html>\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
    }
  });
}

export const exporter: Command = {
  name: 'export',
  summary: `Prometheus exporter for rule, policy and ipset counters (default ${DEFAULT_LISTEN})`,
  usage: 'export [--listen HOST:PORT] [-4 | -6] [--no-ipset] [--max-set-entries N]',
  description:
    'Serves the kernel\'s counters at http://HOST:PORT/metrics: per-rule packets and bytes labelled with ' +
    'family, table, chain, position, comment, target and rule; chain policy counters; ipset entry counts ' +
    'and per-entry counters of sets created with counters; iptc_up. Every scrape reads the kernel afresh; ' +
    'nothing is ever written or zeroed. Listens on loopback unless --listen names another address.',
  options: [
    { key: 'listen', long: 'listen', short: 'l', value: true, meta: 'HOST:PORT', help: `address to listen on (default ${DEFAULT_LISTEN}; port 0 picks one)` },
    { key: 'ipv4', long: 'ipv4', short: '4', help: 'IPv4 rules only' },
    { key: 'ipv6', long: 'ipv6', short: '6', help: 'IPv6 rules only' },
    { key: 'noIpset', long: 'no-ipset', help: 'do not read ipsets' },
    { key: 'maxSetEntries', long: 'max-set-entries', value: true, meta: 'N', help: 'per-entry series for at most N entries per set (default 10000)' },
    HELP,
  ],
  async run(args) {
    if (args.positionals.length > 0) throw new UsageError(`export takes no arguments, got \`${args.positionals[0]}'`);
    const { host, port } = parseListen(typeof args.options.listen === 'string' ? args.options.listen : DEFAULT_LISTEN);
    const families: (4 | 6)[] = args.options.ipv4 === true ? [4] : args.options.ipv6 === true ? [6] : [4, 6];
    const options: CollectOptions = {
      families,
      ipset: args.options.noIpset !== true,
      maxSetEntries: numberOption(args.options.maxSetEntries, 'max-set-entries', 10_000, 0),
    };
    // Fail before listening if the kernel cannot be read at all (e.g. not root): one clear line.
    collect(options, (source, e) => {
      if (source !== 'ipset') throw e;
    });
    const log = (line: string) => process.stderr.write(`iptc export: ${line}\n`);
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
      const stop = () => server.close(() => resolve());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
