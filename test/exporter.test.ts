// `iptc export`: scraped over HTTP like Prometheus does, the exposition parsed, the values compared
// with the kernel's own counters (iptables-legacy-save -c, ipset list).
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iptc, iptcSpawn } from './cli-run.js';
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
