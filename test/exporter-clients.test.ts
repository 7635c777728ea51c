// `iptc export` under clients that do not behave: clients that never read, read half and stop, or send
// their request a byte at a time. Loopback sockets would otherwise take megabytes into the kernel's
// buffers and hide what the process holds: small buffers in this namespace make a response that is not
// read stay in the exporter, as it does over a real network. The rules are made by the iptables-restore
// of the backend under test; `iptc export` reads every backend, as by default, createExporter that one.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExporter } from '../src/cli/export.js';
import { ResponseBudget } from '../src/cli/response-budget.js';
import { StreamedBody } from '../src/cli/streamed-body.js';
import { rss, startExporter, stopExporter } from './exposition.js';
import { BACKEND, ipt, resetKernel, run, tools } from './kernel.js';

const RULES = 8000;
let buffers: string[] = [];

beforeAll(() => {
  resetKernel();
  buffers = ['net.ipv4.tcp_wmem', 'net.ipv4.tcp_rmem'].map((k) => `${k}=${run('sysctl', ['-n', k]).trim()}`);
  run('sysctl', ['-qw', 'net.ipv4.tcp_wmem=4096 16384 65536', 'net.ipv4.tcp_rmem=4096 16384 65536']);
  const comment = 'x'.repeat(200);
  const lines = [':bulk - [0:0]'];
  for (let i = 0; i < RULES; i++) lines.push(`-A bulk -s 10.${(i >> 8) & 255}.${i & 255}.0/24 -m comment --comment "rule ${i} ${comment}" -j RETURN`);
  run(tools.restore(), ['--noflush'], `*filter\n${lines.join('\n')}\nCOMMIT\n`);
});

afterAll(() => {
  ipt(['-F', 'bulk']);
  ipt(['-X', 'bulk']);
  run('sysctl', ['-qw', ...buffers]);
});

/** A whole scrape of the bulk chain (fetch has checked the chunked framing to its end). */
const expectWhole = (text: string) => {
  const tail = text.slice(-300);
  expect(text.includes(`iptc_chain_rules{backend="${BACKEND}",family="ipv4",table="filter",chain="bulk"} ${RULES}\n`), tail).toBe(true);
  expect(text.match(/^iptc_rule_packets_total\{[^\n]*chain="bulk"/gm)?.length, tail).toBe(RULES);
  expect(/^iptc_up 1$/m.test(text), tail).toBe(true);
  expect(/\niptc_scrape_duration_seconds [0-9.e-]+\n$/.test(text), tail).toBe(true);
};

/** Connects, sends `requests` GETs at once and never reads; resolves when they are sent. */
async function deaf(port: number, requests = 1, path = '/metrics'): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => {});
  s.pause();
  await once(s, 'connect');
  await new Promise<void>((r) => s.write(`GET ${path} HTTP/1.1\r\nHost: deaf\r\n\r\n`.repeat(requests), () => r()));
  return s;
}

/**
 * Reads what is left of one response on a paused socket, until it is whole (its last chunk) or the
 * server closes the connection. The bytes of the body received, and whether it ended.
 */
async function drain(s: Socket): Promise<{ body: number; whole: boolean }> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.resume();
  const done = new Promise((r) => s.once('close', r));
  for (;;) {
    const parsed = chunked(Buffer.concat(chunks));
    if (parsed.whole) {
      s.destroy();
      return parsed;
    }
    if (s.destroyed || s.readableEnded) return parsed;
    await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
  }
}

/** The body bytes of a chunked response received so far, and whether its last chunk is among them. */
function chunked(data: Buffer): { body: number; whole: boolean } {
  const head = data.indexOf('\r\n\r\n');
  if (head < 0) return { body: 0, whole: false };
  expect(data.subarray(0, head).toString()).toMatch(/transfer-encoding: chunked/i);
  let at = head + 4;
  let body = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) return { body, whole: false };
    const size = parseInt(data.toString('latin1', at, eol), 16);
    if (size === 0) return { body, whole: data.length >= eol + 4 };
    body += Math.min(size, data.length - eol - 2);
    if (data.length < eol + 2 + size + 2) return { body, whole: false };
    at = eol + 2 + size + 2;
  }
}

async function listening(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function closed(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

describe('iptc export under clients that never read', () => {
  it('holds about one reading for any number of them, and keeps serving normal scrapes', async () => {
    const exporter = await startExporter(['-4', '--no-ipset']);
    const port = Number(new URL(exporter.url).port);
    const sockets: Socket[] = [];
    try {
      const first = await fetch(exporter.url);
      const size = (await first.arrayBuffer()).byteLength;
      expect(size).toBeGreaterThan(8_000_000);
      const before = rss(exporter.child.pid!).now;
      // 30 clients, 3 pipelined requests each: if each response were its own reading, held whole, that
      // would be 30 x 3 x 10 MB.
      sockets.push(...(await Promise.all(Array.from({ length: 30 }, () => deaf(port, 3)))));
      let peak = 0;
      // A fetch that asks to close the connection resolves even when the server cuts the body short
      // (undici): expectWhole checks that it is all there. (Deaf clients that had just taken their first
      // chunk once looked busier than this reader, which was dropped instead of them.)
      for (let i = 0; i < 3; i++) {
        const res = await fetch(exporter.url, { headers: { connection: 'close' } });
        expect(res.status).toBe(200);
        expectWhole(await res.text());
        peak = Math.max(peak, rss(exporter.child.pid!).now);
      }
      expect(peak - before, `RSS grew from ${before} to ${peak}`).toBeLessThan(64 * 2 ** 20);
    } finally {
      for (const s of sockets) s.destroy();
      await stopExporter(exporter);
    }
  });

  it('drops the clients of the oldest readings when the readings in progress exceed the budget', async () => {
    // Each reading of the 8,000 rules keeps its counters and labels (about 5 MB) for its clients: the
    // newest two fit in 11 MB, six do not.
    const server = createExporter({ backends: [BACKEND], families: [4], ipset: false }, () => {}, { maxPendingBytes: 11_000_000, idleTimeout: 600_000 });
    const port = await listening(server);
    const sockets: Socket[] = [];
    try {
      // One after another, so that each is a reading of its own.
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
      expect(got[0]!.whole, 'the oldest is dropped').toBe(false);
      expect(got[5]!.whole, 'the newest is whole').toBe(true);
      expect(got[5]!.body).toBeGreaterThan(8_000_000);
    } finally {
      for (const s of sockets) s.destroy();
      await closed(server);
    }
  });

  it('drops a client that stalls, and one that takes too long to send its request', async () => {
    const server = createExporter({ backends: [BACKEND], families: [4], ipset: false }, () => {}, { idleTimeout: 300, requestTimeout: 500 });
    const port = await listening(server);
    const stalled = await deaf(port);
    const slow = connect(port, '127.0.0.1');
    slow.on('error', () => {});
    try {
      await once(slow, 'connect');
      // A header a byte at a time: never idle, never done, never malformed.
      slow.write('GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ');
      const dribble = setInterval(() => slow.write('a'), 100);
      const gone = new Promise((r) => slow.once('close', r));
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      clearInterval(dribble);
      expect(slow.destroyed || slow.readableEnded, 'the slow sender is dropped').toBe(true);
      await new Promise((r) => setTimeout(r, 1000));
      const got = await drain(stalled);
      expect(got.whole, 'the stalled reader is dropped').toBe(false);
    } finally {
      stalled.destroy();
      slow.destroy();
      await closed(server);
    }
  });
});

describe('a response cut short', () => {
  it('never looks whole, even to a client that asked to close the connection after it', async () => {
    const server = createExporter({ backends: [BACKEND], families: [4], ipset: false }, () => {}, { idleTimeout: 300 });
    const port = await listening(server);
    // Without chunked framing, the end of such a connection would be the end of the body.
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.pause();
    try {
      await once(s, 'connect');
      s.write('GET /metrics HTTP/1.1\r\nHost: closing\r\nConnection: close\r\n\r\n');
      await new Promise((r) => setTimeout(r, 1500));
      const got = await drain(s);
      expect(got.whole, 'the stalled reader is dropped, and can tell').toBe(false);
      expect(got.body).toBeGreaterThan(0);
    } finally {
      s.destroy();
      await closed(server);
    }
  });
});

describe('a streamed body shared by a client that reads and one that stopped', () => {
  const CHUNKS = 300;
  const CHUNK = 64 * 1024;
  /** Chunk i is filled with the byte i % 251: the reader can check every byte. */
  const chunkOf = (i: number) => Buffer.alloc(CHUNK, i % 251);

  it('sends the reader all of it while what it holds stays within the budget, by dropping the other', async () => {
    const LIMIT = 2 * 1024 * 1024;
    const budget = new ResponseBudget(LIMIT);
    let held = 0;
    function* source() {
      for (let i = 0; i < CHUNKS; i++) {
        held = Math.max(held, budget.bytes);
        yield chunkOf(i);
      }
    }
    const body = new StreamedBody(source(), 0);
    let joined = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      budget.send(res, body);
      // Both responses have joined: the body takes no more, and lets go of what both have taken.
      if (++joined === 2) setImmediate(() => body.close());
    });
    const port = await listening(server);
    try {
      const stopped = await deaf(port, 1, '/');
      const reader = connect(port, '127.0.0.1');
      const received: Buffer[] = [];
      reader.on('data', (c: Buffer) => received.push(c));
      await once(reader, 'connect');
      reader.write('GET / HTTP/1.1\r\nHost: reader\r\n\r\n');
      for (let i = 0; i < 400 && !chunked(Buffer.concat(received)).whole; i++) await new Promise((r) => setTimeout(r, 50));
      reader.destroy();
      const data = Buffer.concat(received);
      expect(chunked(data).whole, 'the reader got all of it').toBe(true);
      // Every byte, in order: the chunks it was sent were not reused or cut.
      const body = dechunk(data);
      expect(body.length).toBe(CHUNKS * CHUNK);
      for (let i = 0; i < CHUNKS; i++) expect(body[i * CHUNK] === i % 251 && body[(i + 1) * CHUNK - 1] === i % 251, `chunk ${i}`).toBe(true);
      expect((await drain(stopped)).whole, 'the one that stopped reading is dropped').toBe(false);
      expect(held, 'what the body held').toBeLessThanOrEqual(LIMIT + CHUNK);
      expect(budget.bytes).toBe(0);
    } finally {
      await closed(server);
    }
  });
});

/** The body of a whole chunked response. */
function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = data.indexOf('\r\n\r\n') + 4;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    const size = parseInt(data.toString('latin1', at, eol), 16);
    if (size === 0) return Buffer.concat(parts);
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

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
