// Scraping `iptc export` as Prometheus does: a strict parser of the text exposition format, and the
// exporter started as users start it (bin/iptc.js in its own process).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { BIN, readableBin } from './cli-run.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
  text: string;
}

/** A strict parser of the text exposition format (0.0.4): every line must be valid, each family's samples together. */
export function parseExposition(text: string): Omit<Scrape, 'text'> {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const done = new Set<string>();
  let current = '';
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
      expect(labels[l![1]!], `label ${l![1]} twice in ${line}`).toBeUndefined();
      labels[l![1]!] = l![2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      pos = re.lastIndex;
    }
    const name = m![1]!;
    expect(types.has(name), `sample before its TYPE: ${name}`).toBe(true);
    if (name !== current) {
      expect(done.has(name), `samples of ${name} not together`).toBe(false);
      done.add(current);
      current = name;
    }
    samples.push({ name, labels, value: Number(m![3]) });
  }
  return { samples, types };
}

/** GET `url` as Prometheus does; the response must be a whole, valid exposition. */
export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await res.text();
  return { ...parseExposition(text), text };
}

export function find(samples: Sample[], name: string, labels: Record<string, string>): Sample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Every sample of `name`. */
export function all(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** A sample's identity: its name and labels, as Prometheus keys a series. */
export function seriesKey(s: Sample): string {
  return `${s.name}{${Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;
}

export interface Exporter {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

/**
 * Starts `iptc export ARGS` on a free loopback port (on its default address with `listen: null`),
 * through `setpriv SETPRIV` when given, with `env` added to the environment, and resolves when it listens.
 * Its backend is the exporter's default (IPTC_BACKEND empty), not the one the suite pins, unless `env` says.
 */
export async function startExporter(args: string[], opts: { setpriv?: string[]; listen?: string | null; env?: NodeJS.ProcessEnv } = {}): Promise<Exporter> {
  const listen = opts.listen === undefined ? '127.0.0.1:0' : opts.listen;
  // Another user may not read the checkout, so that process runs a copy it can read.
  const full = [opts.setpriv ? readableBin() : BIN, 'export', ...(listen === null ? [] : ['--listen', listen]), ...args];
  const [file, argv] = opts.setpriv ? ['setpriv', [...opts.setpriv, '--', process.execPath, ...full]] : [process.execPath, full];
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, IPTC_BACKEND: '', ...opts.env } });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  for (let i = 0; i < 600 && !/listening on (http:\S+)/.test(err) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  const m = /listening on (http:\S+)/.exec(err);
  expect(m, err).not.toBeNull();
  return { child, url: m![1]!, stderr: () => err };
}

export async function stopExporter(exporter: Exporter | undefined): Promise<void> {
  const child = exporter?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** Resident set size of a process, and its peak, in bytes. */
export function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}
