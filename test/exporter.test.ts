// `iptc export`: scraped over HTTP like Prometheus does, the exposition parsed, the values compared
// with the kernel's own counters (iptables-legacy-save -c, ipset list).
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExporter } from '../src/cli/export.js';
import { BIN, iptc, iptcSpawn } from './cli-run.js';
import { ipt, ipt as ip6t, resetKernel, rules, run } from './kernel.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict parser of the text exposition format (0.0.4): every line must be valid. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      expect(types.has(t[1]!), `duplicate TYPE ${t[1]}`).toBe(false);
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    expect(m, `bad exposition line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    const body = m![2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    let pos = 0;
    while (pos < body.length) {
      re.lastIndex = pos;
      const l = re.exec(body);
      expect(l, `bad labels: ${body}`).not.toBeNull();
      labels[l![1]!] = l![2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      pos = re.lastIndex;
    }
    expect(types.has(m![1]!), `sample before its TYPE: ${m![1]}`).toBe(true);
    samples.push({ name: m![1]!, labels, value: Number(m![3]) });
  }
  return { samples, types };
}

let child: ChildProcess;
let url: string;

async function scrape(): Promise<{ samples: Sample[]; types: Map<string, string>; text: string }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  return { ...parseExposition(text), text };
}

function find(samples: Sample[], name: string, labels: Record<string, string>): Sample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

async function udp(port: number, count: number, host = '127.0.0.1'): Promise<void> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (let i = 0; i < count; i++) await new Promise<void>((r) => s.send('0123456789', port, host, () => r()));
  s.close();
}

beforeAll(async () => {
  resetKernel();
  ipt(['-N', 'svc']);
  ipt(['-A', 'INPUT', '-p', 'udp', '--dport', '7001', '-m', 'comment', '--comment', 'probe "one"\\x', '-j', 'svc']);
  ipt(['-A', 'svc', '-j', 'DROP']);
  ipt(['-A', 'INPUT', '-p', 'udp', '--dport', '7002', '-j', 'DROP']);
  ip6t(['-A', 'INPUT', '-p', 'udp', '--dport', '7003', '-m', 'comment', '--comment', 'v6 probe', '-j', 'DROP'], 6);
  run('ipset', ['create', 'seen', 'hash:ip', 'counters', 'comment']);
  run('ipset', ['add', 'seen', '127.0.0.1', 'comment', 'loopback']);
  run('ipset', ['create', 'plain', 'hash:net']);
  run('ipset', ['add', 'plain', '10.0.0.0/8']);
  run('ipset', ['add', 'plain', '192.168.0.0/16']);
  ipt(['-I', 'INPUT', '-m', 'set', '--match-set', 'seen', 'src', '-m', 'comment', '--comment', 'count seen']);

  child = iptcSpawn(['export', '--listen', '127.0.0.1:0']);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  for (let i = 0; i < 100 && !/listening on (http:\S+)/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
  const m = /listening on (http:\S+)/.exec(err);
  expect(m, err).not.toBeNull();
  url = m![1]!;
});

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'close');
  }
});

describe('iptc export', () => {
  it('listens on loopback and serves a valid exposition with iptc_up', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const { samples, types } = await scrape();
    expect(find(samples, 'iptc_up', {})?.value).toBe(1);
    for (const source of ['iptables', 'ip6tables', 'ipset']) expect(find(samples, 'iptc_source_up', { source })?.value).toBe(1);
    expect(types.get('iptc_rule_packets_total')).toBe('counter');
    expect(types.get('iptc_ipset_entries')).toBe('gauge');
  });

  it('exposes per-rule counters with table, chain, position and comment labels, fresh at each scrape', async () => {
    const first = await scrape();
    const probe = { family: 'ipv4', table: 'filter', chain: 'INPUT', position: '2', comment: 'probe "one"\\x', target: 'svc' };
    const before = find(first.samples, 'iptc_rule_packets_total', probe);
    expect(before, first.text).toBeDefined();
    await udp(7001, 7);
    await udp(7003, 2, '::1');
    const { samples } = await scrape();
    expect(find(samples, 'iptc_rule_packets_total', probe)!.value - before!.value).toBe(7);
    expect(find(samples, 'iptc_rule_bytes_total', probe)!.value - find(first.samples, 'iptc_rule_bytes_total', probe)!.value).toBe(7 * 38);
    expect(find(samples, 'iptc_rule_packets_total', { family: 'ipv4', chain: 'svc', position: '1', target: 'DROP' })!.value).toBeGreaterThanOrEqual(7);
    expect(find(samples, 'iptc_rule_packets_total', { family: 'ipv6', chain: 'INPUT', position: '1', comment: 'v6 probe' })!.value).toBe(2);
    expect(find(samples, 'iptc_rule_packets_total', { family: 'ipv4', position: '3', comment: '' })!.labels.rule).toBe('-p udp -m udp --dport 7002 -j DROP');
    expect(find(samples, 'iptc_chain_rules', { family: 'ipv4', table: 'filter', chain: 'INPUT' })!.value).toBe(3);

    // The same numbers as the kernel's own tool.
    const kernel = rules('filter', 'INPUT', { counters: true }).find((l) => l.includes('7001'))!;
    const [, packets, bytes] = /^\[(\d+):(\d+)\]/.exec(kernel)!;
    const now = (await scrape()).samples;
    expect(find(now, 'iptc_rule_packets_total', probe)!.value).toBe(Number(packets));
    expect(find(now, 'iptc_rule_bytes_total', probe)!.value).toBe(Number(bytes));
  });

  it('exposes chain policy counters', async () => {
    const { samples } = await scrape();
    const policy = find(samples, 'iptc_chain_policy_packets_total', { family: 'ipv4', table: 'filter', chain: 'INPUT', policy: 'ACCEPT' });
    expect(policy).toBeDefined();
    expect(policy!.value).toBeGreaterThan(0); // the loopback traffic that passed every rule
    expect(find(samples, 'iptc_chain_policy_bytes_total', { family: 'ipv6', chain: 'OUTPUT' })).toBeDefined();
  });

  it('exposes ipset entry counts and per-entry counters of sets with counters', async () => {
    await udp(7002, 3);
    const { samples } = await scrape();
    expect(find(samples, 'iptc_ipset_entries', { set: 'plain', type: 'hash:net' })!.value).toBe(2);
    expect(find(samples, 'iptc_ipset_entries', { set: 'seen' })!.value).toBe(1);
    expect(find(samples, 'iptc_ipset_references', { set: 'seen' })!.value).toBe(1);
    const entry = find(samples, 'iptc_ipset_entry_packets_total', { set: 'seen', entry: '127.0.0.1', comment: 'loopback' });
    expect(entry!.value).toBeGreaterThanOrEqual(3);
    expect(samples.some((s) => s.name === 'iptc_ipset_entry_packets_total' && s.labels.set === 'plain')).toBe(false);
  });

  it('never zeroes counters: scraping leaves the kernel counters as they were', async () => {
    await scrape();
    const a = rules('filter', 'INPUT', { counters: true });
    await scrape();
    await scrape();
    const b = rules('filter', 'INPUT', { counters: true });
    const packets = (l: string) => Number(/^\[(\d+):/.exec(l)![1]);
    // The scrapes' own loopback traffic counts on the set rule; every counter only ever grows, and
    // those of rules no scrape traffic reaches stay exactly as they were.
    a.forEach((line, i) => expect(packets(b[i]!)).toBeGreaterThanOrEqual(packets(line)));
    expect(b.filter((l) => l.includes('udp'))).toEqual(a.filter((l) => l.includes('udp')));
    expect(a.some((l) => !l.startsWith('[0:0]'))).toBe(true);
  });

  it('is read-only over HTTP: other methods 405, other paths 404', async () => {
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    expect((await fetch(url.replace('/metrics', '/nope'))).status).toBe(404);
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(200);
  });

  it('reports a taken address as one error line', () => {
    const port = new URL(url).port;
    const r = iptc(['export', '--listen', `127.0.0.1:${port}`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').filter((l) => !l.includes('warning'))).toEqual([`iptc: cannot listen on 127.0.0.1:${port}: address in use`]);
  });
});

/** Starts `iptc export` (through `setpriv ARGS` when given) on a free loopback port; resolves when it listens. */
async function startExporter(args: string[], setpriv?: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const command = setpriv ? ['setpriv', [...setpriv, '--', process.execPath, BIN, 'export', '--listen', '127.0.0.1:0', ...args]] as const
    : [process.execPath, [BIN, 'export', '--listen', '127.0.0.1:0', ...args]] as const;
  const exporter = spawn(command[0], [...command[1]], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  exporter.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  for (let i = 0; i < 400 && !/listening on (http:\S+)/.test(err) && exporter.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  const m = /listening on (http:\S+)/.exec(err);
  expect(m, err).not.toBeNull();
  return { child: exporter, url: m![1]!, stderr: () => err };
}

async function stop(exporter: ChildProcess): Promise<void> {
  if (exporter.exitCode !== null || exporter.signalCode !== null) return;
  exporter.kill('SIGTERM');
  await once(exporter, 'exit');
}

describe('iptc export without the rights to read', () => {
  const who: [string, string[], string][] = [
    ['a user other than root', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'], 'EACCES'],
    ['root without CAP_NET_ADMIN', ['--inh-caps=-all', '--bounding-set=-net_admin,-net_raw'], 'EPERM'],
  ];
  it.each(who)('as %s, reports every source down with the reason, and no rule series', async (_who, setpriv, code) => {
    const exporter = await startExporter([], setpriv);
    try {
      for (let scrapes = 0; scrapes < 2; scrapes++) {
        const res = await fetch(exporter.url);
        expect(res.status).toBe(200);
        const { samples } = parseExposition(await res.text());
        expect(find(samples, 'iptc_up', {})?.value).toBe(0);
        for (const source of ['iptables', 'ip6tables', 'ipset']) {
          expect(find(samples, 'iptc_source_up', { source })?.value, source).toBe(0);
          const error = find(samples, 'iptc_source_error', { source });
          expect(error?.value, source).toBe(1);
          expect(error!.labels.reason, source).toMatch(/CAP_NET_ADMIN/);
          expect(error!.labels.code, source).toBe(source === 'ipset' ? 'EPERM' : code);
        }
        expect(error(samples, 'iptables')).toMatch(/root/);
        expect(samples.filter((s) => s.name.startsWith('iptc_rule_') || s.name === 'iptc_chain_rules')).toEqual([]);
      }
      // Logged once per cause, not at every scrape.
      expect(exporter.stderr().match(/cannot read iptables: /g)).toHaveLength(1);
    } finally {
      await stop(exporter.child);
    }
  });
});

function error(samples: Sample[], source: string): string {
  return find(samples, 'iptc_source_error', { source })?.labels.reason ?? '';
}

// Clients that never read. Loopback sockets would otherwise take megabytes into the kernel's buffers
// and hide what the process holds: small buffers in this namespace make a response that is not read
// stay in the exporter, as it does over a real network.
describe('iptc export under clients that never read', () => {
  const RULES = 8000;
  let buffers: string[] = [];

  beforeAll(() => {
    buffers = ['net.ipv4.tcp_wmem', 'net.ipv4.tcp_rmem'].map((k) => `${k}=${run('sysctl', ['-n', k]).trim()}`);
    run('sysctl', ['-qw', 'net.ipv4.tcp_wmem=4096 16384 65536', 'net.ipv4.tcp_rmem=4096 16384 65536']);
    const comment = 'x'.repeat(200);
    const lines = [':bulk - [0:0]'];
    for (let i = 0; i < RULES; i++) lines.push(`-A bulk -s 10.${(i >> 8) & 255}.${i & 255}.0/24 -m comment --comment "rule ${i} ${comment}" -j RETURN`);
    run('iptables-legacy-restore', ['--noflush'], `*filter\n${lines.join('\n')}\nCOMMIT\n`);
  });

  afterAll(() => {
    ipt(['-F', 'bulk']);
    ipt(['-X', 'bulk']);
    run('sysctl', ['-qw', ...buffers]);
  });

  /** A whole scrape of the bulk chain (fetch has checked its length against content-length). */
  const expectWhole = (text: string) => {
    expect(text).toContain(`iptc_chain_rules{family="ipv4",table="filter",chain="bulk"} ${RULES}\n`);
    expect(text.match(/^iptc_rule_packets_total\{[^\n]*chain="bulk"/gm)).toHaveLength(RULES);
    expect(text).toMatch(/^iptc_up 1$/m);
  };

  const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

  /** Connects, sends `requests` GETs at once and never reads; resolves when they are sent. */
  async function deaf(port: number, requests = 1): Promise<Socket> {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.pause();
    await once(s, 'connect');
    await new Promise<void>((r) => s.write('GET /metrics HTTP/1.1\r\nHost: deaf\r\n\r\n'.repeat(requests), () => r()));
    return s;
  }

  it('holds about one reading for any number of them, and keeps serving normal scrapes', async () => {
    const exporter = await startExporter(['-4', '--no-ipset']);
    const port = Number(new URL(exporter.url).port);
    const sockets: Socket[] = [];
    try {
      const first = await fetch(exporter.url);
      const size = (await first.arrayBuffer()).byteLength;
      expect(size).toBeGreaterThan(8_000_000);
      const before = rss(exporter.child.pid!);
      // 30 clients, 3 pipelined requests each: before the fix each response was its own reading, held
      // whole (30 x 3 x 10 MB).
      sockets.push(...(await Promise.all(Array.from({ length: 30 }, () => deaf(port, 3)))));
      let peak = 0;
      for (let i = 0; i < 3; i++) {
        const res = await fetch(exporter.url, { headers: { connection: 'close' } });
        expect(res.status).toBe(200);
        expectWhole(await res.text());
        peak = Math.max(peak, rss(exporter.child.pid!));
      }
      expect(peak - before, `RSS grew from ${before} to ${peak}`).toBeLessThan(150 * 2 ** 20);
    } finally {
      for (const s of sockets) s.destroy();
      await stop(exporter.child);
    }
  });

  /** Reads what is left on a paused socket until the server closes it; the bytes of the body received. */
  async function drain(s: Socket): Promise<{ body: number; length: number }> {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.resume();
    const done = new Promise((r) => s.once('close', r));
    // A complete response leaves the connection open (keep-alive): stop once it is all there.
    for (;;) {
      const text = Buffer.concat(chunks);
      const head = text.indexOf('\r\n\r\n');
      const length = head < 0 ? NaN : Number(/content-length: (\d+)/i.exec(text.subarray(0, head).toString())?.[1]);
      if (head >= 0 && text.length - head - 4 >= length) {
        s.destroy();
        return { body: text.length - head - 4, length };
      }
      if (s.destroyed || s.readableEnded) return { body: head < 0 ? 0 : text.length - head - 4, length };
      await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
    }
  }

  async function listening(server: Server): Promise<number> {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  }

  it('drops the responses of the oldest readings when the bodies in progress exceed the budget', async () => {
    const server = createExporter({ families: [4], ipset: false }, () => {}, { maxPendingBytes: 25_000_000, idleTimeout: 600_000 });
    const port = await listening(server);
    const sockets: Socket[] = [];
    try {
      // One after another, so that each is its own reading of about 10 MB: six do not fit in 25 MB.
      for (let i = 0; i < 6; i++) {
        const s = await deaf(port);
        await new Promise<void>((r) => {
          s.once('readable', () => r());
          s.read(0);
        });
        sockets.push(s);
      }
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } });
      expectWhole(await res.text());
      const got = [];
      for (const s of sockets) got.push(await drain(s));
      expect(got[0]!.body, 'the oldest is dropped').toBeLessThan(got[0]!.length);
      expect(got[5]!.body, 'the newest is whole').toBe(got[5]!.length);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
      server.closeAllConnections();
    }
  });

  it('drops a client that stalls, and one that takes too long to send its request', async () => {
    const server = createExporter({ families: [4], ipset: false }, () => {}, { idleTimeout: 300, requestTimeout: 500 });
    const port = await listening(server);
    const stalled = await deaf(port);
    const slow = connect(port, '127.0.0.1');
    slow.on('error', () => {});
    try {
      await once(slow, 'connect');
      // A header a byte at a time: never idle, never done, never malformed.
      slow.write('GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ');
      const dribble = setInterval(() => slow.write('a'), 100);
      const closed = new Promise((r) => slow.once('close', r));
      await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
      clearInterval(dribble);
      expect(slow.destroyed || slow.readableEnded, 'the slow sender is dropped').toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
      const got = await drain(stalled);
      expect(got.body, 'the stalled reader is dropped').toBeLessThan(got.length);
    } finally {
      stalled.destroy();
      slow.destroy();
      server.close();
      server.closeAllConnections();
    }
  });
});

describe('iptc export and SIGTERM', () => {
  it('exits at once, even with a half-sent request open', async () => {
    const exporter = await startExporter(['-4', '--no-ipset']);
    const s = connect(Number(new URL(exporter.url).port), '127.0.0.1');
    s.on('error', () => {});
    try {
      await once(s, 'connect');
      await new Promise<void>((r) => s.write('GET /metrics HTTP/1.1\r\nHost: half', () => r()));
      await new Promise((r) => setTimeout(r, 200));
      exporter.child.kill('SIGTERM');
      const exited = await Promise.race([once(exporter.child, 'exit').then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
      expect(exited, 'still running 5 s after SIGTERM').toBe(true);
      expect(exporter.child.exitCode).toBe(0);
    } finally {
      s.destroy();
      exporter.child.kill('SIGKILL');
    }
  });
});
