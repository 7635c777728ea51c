// What docs/monitoring ships for operators: the alerting rules pass `promtool check rules` and their own
// unit tests (`promtool test rules`); every query of the Grafana dashboard is valid PromQL (promtool
// parses it as a recording rule) over metrics the exporter serves; the systemd unit of
// docs/monitoring.md runs an installed `iptc` binary with arguments the exporter takes. The exporter reads
// both backends by default (as the docs run it); the rule it is checked against is on the backend under test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, scrape, startExporter, stopExporter, type Exporter } from './exposition.js';
import { BACKEND, ipt, resetKernel } from './kernel.js';

const root = join(import.meta.dirname, '..');
const monitoring = join(root, 'docs', 'monitoring');
const work = mkdtempSync(join(tmpdir(), 'iptc-monitoring-'));

function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', input, cwd: monitoring });
  expect(r.error, 'promtool is part of the quick start (apt-get install prometheus)').toBeUndefined();
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The metric names an expression uses (those of this exporter start with iptc_). */
const metricsOf = (expr: string) => [...expr.matchAll(/\b(iptc_[a-z_]+)\b/g)].map((m) => m[1]!);

let exporter: Exporter;
let served: Set<string>;
let ruleSeen: boolean;

beforeAll(async () => {
  resetKernel();
  ipt(['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-m', 'comment', '--comment', 'ssh', '-j', 'ACCEPT']);
  exporter = await startExporter(['--set-entries']);
  const scraped = await scrape(exporter.url);
  served = new Set(scraped.types.keys());
  const labels = { backend: BACKEND, family: 'ipv4', table: 'filter', chain: 'INPUT', comment: 'ssh', target: 'ACCEPT' };
  ruleSeen = find(scraped.samples, 'iptc_rule_packets_total', labels) !== undefined;
});

afterAll(async () => {
  await stopExporter(exporter);
  rmSync(work, { recursive: true, force: true });
});

describe('docs/monitoring', () => {
  it('the exporter, started as the docs start it, serves the rule of the backend under test', () => {
    expect(ruleSeen).toBe(true);
  });

  it('alerts.yml passes `promtool check rules`, and alerts on metrics the exporter serves', () => {
    const r = promtool(['check', 'rules', 'alerts.yml']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS: 6 rules found/);
    const exprs = [...readFileSync(join(monitoring, 'alerts.yml'), 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1]!);
    expect(exprs).toHaveLength(6);
    for (const name of exprs.flatMap(metricsOf)) expect(served, name).toContain(name);
  });

  it('alerts.yml fires as its unit tests say (`promtool test rules`)', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(r.status, r.out).toBe(0);
    // And the tests do test: an alert that never fires fails them.
    const broken = readFileSync(join(monitoring, 'alerts.yml'), 'utf8').replace('iptc_ipset_entries / iptc_ipset_maxelem > 0.9', 'iptc_ipset_entries / iptc_ipset_maxelem > 2');
    writeFileSync(join(work, 'alerts.yml'), broken);
    writeFileSync(join(work, 'alerts.test.yml'), readFileSync(join(monitoring, 'alerts.test.yml')));
    const failing = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { encoding: 'utf8', cwd: work });
    expect(failing.status).not.toBe(0);
    expect(`${failing.stdout}${failing.stderr}`).toContain('IptcIpsetNearlyFull');
  });

  it('grafana-dashboard.json queries only valid PromQL, over metrics the exporter serves', () => {
    const dashboard = JSON.parse(readFileSync(join(monitoring, 'grafana-dashboard.json'), 'utf8')) as {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
      templating: { list: { name: string; type: string; query: string | { query: string } }[] };
    };
    const exprs = dashboard.panels.filter((p) => p.type !== 'row').flatMap((p) => {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      return p.targets!.map((t) => t.expr);
    });
    // A variable's label_values(SELECTOR, label): its selector is PromQL too.
    for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = typeof v.query === 'string' ? v.query : v.query.query;
      const selector = /^label_values\((.+), \w+\)$/.exec(query);
      expect(selector, query).not.toBeNull();
      exprs.push(selector![1]!);
    }
    // What Grafana puts in place of its variables before Prometheus sees a query.
    const promql = exprs.map((e) => e.replaceAll('$__rate_interval', '1m').replace(/\$(instance|family|table|chain)\b/g, '.*'));
    const rules = { groups: [{ name: 'dashboard', rules: promql.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] };
    writeFileSync(join(work, 'dashboard-rules.yml'), JSON.stringify(rules, null, 2));
    const r = spawnSync('promtool', ['check', 'rules', join(work, 'dashboard-rules.yml')], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const used = new Set(exprs.flatMap(metricsOf));
    for (const name of used) expect(served, name).toContain(name);
    // Every family a panel is about: rules, policies, ipsets and their entries, errors.
    for (const name of ['iptc_rule_packets_total', 'iptc_rule_bytes_total', 'iptc_rule_info', 'iptc_chain_policy_packets_total', 'iptc_ipset_maxelem', 'iptc_ipset_memory_bytes', 'iptc_ipset_entry_packets_total', 'iptc_source_error']) {
      expect(used, name).toContain(name);
    }
  });

  it('docs/monitoring.md\'s systemd unit runs the installed iptc binary, with arguments the exporter takes', async () => {
    const doc = readFileSync(join(root, 'docs', 'monitoring.md'), 'utf8');
    const unit = /```ini\n([\s\S]*?)\n```/.exec(doc)![1]!;
    const exec = /^ExecStart=(.+)$/m.exec(unit)![1]!.split(/\s+/);
    expect(exec[0]).toBe('/usr/local/bin/iptc');
    expect(unit).not.toMatch(/npx|npm exec/);
    expect(exec[1]).toBe('export');
    // The same arguments, on a free port: the exporter starts with them and serves.
    const args = exec.slice(2);
    const listen = args.indexOf('--listen');
    expect(args[listen + 1]).toBe('127.0.0.1:10455');
    const started = await startExporter(args.filter((_, i) => i !== listen && i !== listen + 1));
    try {
      expect(find((await scrape(started.url)).samples, 'iptc_up', {})?.value).toBe(1);
    } finally {
      await stopExporter(started);
    }
  });
});
