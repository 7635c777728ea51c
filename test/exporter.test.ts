// `iptc export`: scraped over HTTP like Prometheus does, the exposition parsed strictly (and checked by
// promtool), the values compared with the kernel's own tools (iptables-legacy-save -c or iptables-nft-save -c
// as the backend under test, ipset list -t). The rules are made by that backend's iptables; the exporter
// reads every backend, as by default (the denied cases pin the one under test).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iptc } from './cli-run.js';
import { all, find, parseExposition, scrape, seriesKey, startExporter, stopExporter, type Exporter, type Sample } from './exposition.js';
import { BACKEND, ipt, ipt as ip6t, resetKernel, rules, run } from './kernel.js';

let exporter: Exporter;

async function udp(port: number, count: number, host = '127.0.0.1'): Promise<void> {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (let i = 0; i < count; i++) await new Promise<void>((r) => s.send('0123456789', port, host, () => r()));
  s.close();
}

/** What the exporter's `id` of a rule must be: from the spec iptables-save prints. */
const idOf = (spec: string) => createHash('sha256').update(spec).digest('hex').slice(0, 12);

/** The identity labels of a rule series (without the metric name). */
const identity = (s: Sample) => seriesKey({ ...s, name: '' });

beforeAll(async () => {
  resetKernel();
  // iptables-nft makes a builtin chain on first use without policy counters (they stay 0); -P sends
  // them, so the chain counts as iptables-legacy's always do.
  ipt(['-P', 'INPUT', 'ACCEPT']);
  ip6t(['-P', 'OUTPUT', 'ACCEPT'], 6);
  ipt(['-N', 'svc']);
  ipt(['-A', 'INPUT', '-p', 'udp', '--dport', '7001', '-m', 'comment', '--comment', 'probe "one"\\x', '-j', 'svc']);
  ipt(['-A', 'svc', '-j', 'DROP']);
  ipt(['-A', 'INPUT', '-p', 'udp', '--dport', '7002', '-j', 'DROP']);
  ip6t(['-A', 'INPUT', '-p', 'udp', '--dport', '7003', '-m', 'comment', '--comment', 'v6 probe', '-j', 'DROP'], 6);
  run('ipset', ['create', 'seen', 'hash:ip', 'counters', 'comment']);
  run('ipset', ['add', 'seen', '127.0.0.1', 'comment', 'loopback']);
  run('ipset', ['add', 'seen', '127.0.0.2', 'comment', 'other']);
  run('ipset', ['create', 'plain', 'hash:net', 'maxelem', '1000']);
  run('ipset', ['add', 'plain', '10.0.0.0/8']);
  run('ipset', ['add', 'plain', '192.168.0.0/16']);
  run('ipset', ['create', 'lst', 'list:set', 'size', '4']);
  run('ipset', ['add', 'lst', 'plain']);
  run('ipset', ['create', 'ports', 'bitmap:port', 'range', '1000-2000']);
  ipt(['-I', 'INPUT', '-m', 'set', '--match-set', 'seen', 'src', '-m', 'comment', '--comment', 'count seen']);
  exporter = await startExporter([]);
});

afterAll(async () => {
  await stopExporter(exporter);
  // A set in a list:set cannot be destroyed (resetKernel destroys every set): empty the list first.
  run('ipset', ['flush', 'lst']);
});

describe('iptc export', () => {
  it('listens on loopback and serves a valid exposition with iptc_up', async () => {
    expect(exporter.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const { samples, types } = await scrape(exporter.url);
    expect(find(samples, 'iptc_up', {})?.value).toBe(1);
    for (const source of ['iptables', 'ip6tables', 'iptables-nft', 'ip6tables-nft', 'ipset']) expect(find(samples, 'iptc_source_up', { source })?.value).toBe(1);
    expect(types.get('iptc_rule_packets_total')).toBe('counter');
    expect(types.get('iptc_rule_info')).toBe('gauge');
    expect(types.get('iptc_ipset_entries')).toBe('gauge');
  });

  it('names a rule series by its comment, or by a hash of its spec where the comment does not name it alone', async () => {
    const { samples } = await scrape(exporter.url);
    const input = rules('filter', 'INPUT');
    const probe = find(samples, 'iptc_rule_packets_total', { chain: 'INPUT', comment: 'probe "one"\\x' })!;
    expect(probe.labels).toEqual({ backend: BACKEND, family: 'ipv4', table: 'filter', chain: 'INPUT', comment: 'probe "one"\\x', target: 'svc' });
    const plain = input.find((spec) => spec.includes('7002'))!;
    expect(find(samples, 'iptc_rule_packets_total', { chain: 'INPUT', comment: '' })!.labels).toEqual({
      backend: BACKEND, family: 'ipv4', table: 'filter', chain: 'INPUT', comment: '', target: 'DROP', id: idOf(plain),
    });
    expect(find(samples, 'iptc_rule_packets_total', { chain: 'svc' })!.labels.id).toBe(idOf(rules('filter', 'svc')[0]!));
    expect(find(samples, 'iptc_rule_packets_total', { family: 'ipv6', comment: 'v6 probe' })!.labels).toEqual({
      backend: BACKEND, family: 'ipv6', table: 'filter', chain: 'INPUT', comment: 'v6 probe', target: 'DROP',
    });
    // iptc_rule_info gives each series its rule spec, as iptables-save prints it.
    const info = all(samples, 'iptc_rule_info', { family: 'ipv4', chain: 'INPUT' });
    expect(info.map((s) => s.labels.rule).sort()).toEqual([...input].sort());
    expect(info.every((s) => s.value === 1)).toBe(true);
    for (const s of info) {
      const { rule, ...labels } = s.labels;
      expect(rule).toBeDefined();
      expect(find(samples, 'iptc_rule_bytes_total', labels), rule).toBeDefined();
    }
    expect(find(samples, 'iptc_chain_rules', { backend: BACKEND, family: 'ipv4', table: 'filter', chain: 'INPUT' })!.value).toBe(3);
  });

  it('counts as the kernel does, fresh at each scrape', async () => {
    const probe = { family: 'ipv4', chain: 'INPUT', comment: 'probe "one"\\x' };
    const first = await scrape(exporter.url);
    await udp(7001, 7);
    await udp(7003, 2, '::1');
    const { samples } = await scrape(exporter.url);
    expect(find(samples, 'iptc_rule_packets_total', probe)!.value - find(first.samples, 'iptc_rule_packets_total', probe)!.value).toBe(7);
    expect(find(samples, 'iptc_rule_bytes_total', probe)!.value - find(first.samples, 'iptc_rule_bytes_total', probe)!.value).toBe(7 * 38);
    expect(find(samples, 'iptc_rule_packets_total', { family: 'ipv6', comment: 'v6 probe' })!.value).toBe(2);

    // Every udp rule's counters are those of the kernel's own tool (scrapes do not reach them).
    const now = (await scrape(exporter.url)).samples;
    for (const chain of ['INPUT', 'svc']) {
      for (const line of rules('filter', chain, { counters: true }).filter((l) => !l.includes('match-set'))) {
        const [, packets, bytes, spec] = /^\[(\d+):(\d+)\] (.*)$/.exec(line)!;
        const info = find(now, 'iptc_rule_info', { family: 'ipv4', chain, rule: spec! })!;
        const { rule: _rule, ...labels } = info.labels;
        expect(find(now, 'iptc_rule_packets_total', labels)!.value, spec).toBe(Number(packets));
        expect(find(now, 'iptc_rule_bytes_total', labels)!.value, spec).toBe(Number(bytes));
      }
    }
    expect(find(now, 'iptc_rule_packets_total', { chain: 'svc' })!.value).toBeGreaterThanOrEqual(7);
  });

  it('keeps the series of every other rule when rules are inserted above them', async () => {
    const before = (await scrape(exporter.url)).samples;
    ipt(['-I', 'INPUT', '1', '-p', 'tcp', '--dport', '9', '-j', 'ACCEPT']);
    ipt(['-I', 'svc', '1', '-m', 'comment', '--comment', 'first', '-j', 'RETURN']);
    try {
      const after = (await scrape(exporter.url)).samples;
      for (const name of ['iptc_rule_packets_total', 'iptc_rule_bytes_total', 'iptc_rule_info']) {
        const was = all(before, name, { family: 'ipv4' }).map(identity);
        const is = all(after, name, { family: 'ipv4' }).map(identity);
        expect(was.length).toBe(4);
        expect(is.filter((k) => was.includes(k)), name).toEqual(was);
        expect(is.length, name).toBe(was.length + 2);
      }
      expect(find(after, 'iptc_rule_packets_total', { chain: 'svc', comment: 'first' })!.labels.id).toBeUndefined();
      expect(find(after, 'iptc_rule_packets_total', { chain: 'INPUT', target: 'ACCEPT' })!.labels.id).toBe(idOf('-p tcp -m tcp --dport 9 -j ACCEPT'));
      // The moved rules' counters carry on.
      for (const s of all(before, 'iptc_rule_packets_total', { family: 'ipv4' })) {
        expect(find(after, s.name, s.labels)!.value).toBeGreaterThanOrEqual(s.value);
      }
    } finally {
      ipt(['-D', 'INPUT', '1']);
      ipt(['-D', 'svc', '1']);
    }
    expect(all((await scrape(exporter.url)).samples, 'iptc_rule_info', { family: 'ipv4' }).map(identity)).toEqual(
      all(before, 'iptc_rule_info', { family: 'ipv4' }).map(identity),
    );
  });

  it('tells rules that share a comment apart by their hash, and the same rule twice by its order', async () => {
    ipt(['-N', 'dups']);
    try {
      ipt(['-A', 'dups', '-m', 'comment', '--comment', 'twin', '-j', 'RETURN']);
      ipt(['-A', 'dups', '-s', '10.0.0.1', '-m', 'comment', '--comment', 'twin', '-j', 'RETURN']);
      ipt(['-A', 'dups', '-m', 'comment', '--comment', 'twin', '-j', 'RETURN']);
      ipt(['-A', 'dups', '-m', 'comment', '--comment', 'solo', '-j', 'RETURN']);
      const specs = rules('filter', 'dups');
      const { samples } = await scrape(exporter.url);
      const ids = all(samples, 'iptc_rule_packets_total', { chain: 'dups' }).map((s) => [s.labels.comment, s.labels.id]);
      expect(ids).toEqual([
        ['twin', idOf(specs[0]!)],
        ['twin', idOf(specs[1]!)],
        ['twin', `${idOf(specs[0]!)}-2`],
        ['solo', undefined],
      ]);
    } finally {
      ipt(['-F', 'dups']);
      ipt(['-X', 'dups']);
    }
  });

  it('follows a rule that is replaced, and a chain that is renamed', async () => {
    ipt(['-N', 'edits']);
    try {
      ipt(['-A', 'edits', '-s', '10.1.0.0/16', '-m', 'comment', '--comment', 'old name', '-j', 'RETURN']);
      ipt(['-A', 'edits', '-s', '10.2.0.0/16', '-m', 'comment', '--comment', 'kept', '-j', 'RETURN']);
      expect(all((await scrape(exporter.url)).samples, 'iptc_rule_packets_total', { chain: 'edits' }).map((s) => s.labels.comment)).toEqual(['old name', 'kept']);
      // Same size, same place: only the comment's bytes differ.
      ipt(['-R', 'edits', '1', '-s', '10.1.0.0/16', '-m', 'comment', '--comment', 'new name', '-j', 'RETURN']);
      expect(all((await scrape(exporter.url)).samples, 'iptc_rule_packets_total', { chain: 'edits' }).map((s) => s.labels.comment)).toEqual(['new name', 'kept']);
      // A jump's entry holds where the chain starts, not its name.
      ipt(['-E', 'svc', 'service']);
      const { samples } = await scrape(exporter.url);
      expect(find(samples, 'iptc_rule_packets_total', { chain: 'INPUT', comment: 'probe "one"\\x' })!.labels.target).toBe('service');
      expect(find(samples, 'iptc_rule_info', { chain: 'INPUT', comment: 'probe "one"\\x' })!.labels.rule).toContain('-j service');
    } finally {
      ipt(['-E', 'service', 'svc']);
      ipt(['-F', 'edits']);
      ipt(['-X', 'edits']);
    }
    expect(find((await scrape(exporter.url)).samples, 'iptc_rule_packets_total', { comment: 'probe "one"\\x' })!.labels.target).toBe('svc');
  });

  it('exposes chain policy counters', async () => {
    const { samples } = await scrape(exporter.url);
    const policy = find(samples, 'iptc_chain_policy_packets_total', { backend: BACKEND, family: 'ipv4', table: 'filter', chain: 'INPUT', policy: 'ACCEPT' });
    expect(policy).toBeDefined();
    expect(policy!.value).toBeGreaterThan(0); // the loopback traffic that passed every rule
    expect(find(samples, 'iptc_chain_policy_bytes_total', { backend: BACKEND, family: 'ipv6', chain: 'OUTPUT' })).toBeDefined();
  });

  it('exposes each ipset\'s entries, maxelem, memory and references as `ipset list -t` shows them, and no entry series unless asked', async () => {
    const { samples } = await scrape(exporter.url);
    const terse = new Map<string, Record<string, string>>();
    for (const block of run('ipset', ['list', '-t']).trim().split(/\n\n/)) {
      const fields = Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      terse.set(fields.Name!, fields);
    }
    expect([...terse.keys()].sort()).toEqual(['lst', 'plain', 'ports', 'seen']);
    for (const [set, fields] of terse) {
      const labels = { set, type: fields.Type! };
      expect(find(samples, 'iptc_ipset_entries', labels)?.value, set).toBe(Number(fields['Number of entries']));
      expect(find(samples, 'iptc_ipset_memory_bytes', labels)?.value, set).toBe(Number(fields['Size in memory']));
      expect(find(samples, 'iptc_ipset_references', labels)?.value, set).toBe(Number(fields.References));
      const max = /\b(?:maxelem|size) (\d+)/.exec(fields.Header!)?.[1];
      expect(find(samples, 'iptc_ipset_maxelem', labels)?.value, set).toBe(max === undefined ? undefined : Number(max));
    }
    expect(find(samples, 'iptc_ipset_entries', { set: 'plain' })!.value).toBe(2);
    expect(find(samples, 'iptc_ipset_maxelem', { set: 'plain' })!.value).toBe(1000);
    expect(find(samples, 'iptc_ipset_references', { set: 'seen' })!.value).toBe(1);
    expect(samples.some((s) => s.name.startsWith('iptc_ipset_entry_'))).toBe(false);
  });

  it('never zeroes counters: scraping leaves the kernel counters as they were', async () => {
    await scrape(exporter.url);
    const a = rules('filter', 'INPUT', { counters: true });
    await scrape(exporter.url);
    await scrape(exporter.url);
    const b = rules('filter', 'INPUT', { counters: true });
    const packets = (l: string) => Number(/^\[(\d+):/.exec(l)![1]);
    // The scrapes' own loopback traffic counts on the set rule; every counter only ever grows, and
    // those of rules no scrape traffic reaches stay exactly as they were.
    a.forEach((line, i) => expect(packets(b[i]!)).toBeGreaterThanOrEqual(packets(line)));
    expect(b.filter((l) => l.includes('udp'))).toEqual(a.filter((l) => l.includes('udp')));
    expect(a.some((l) => !l.startsWith('[0:0]'))).toBe(true);
  });

  it('is read-only over HTTP: other methods 405, other paths 404, HEAD without a body', async () => {
    expect((await fetch(exporter.url, { method: 'POST' })).status).toBe(405);
    expect((await fetch(exporter.url.replace('/metrics', '/nope'))).status).toBe(404);
    expect((await fetch(exporter.url.replace('/metrics', '/'))).status).toBe(200);
    const head = await fetch(exporter.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('passes `promtool check metrics`, with every option on', async () => {
    const full = await startExporter(['--position', '--set-entries']);
    try {
      const { text } = await scrape(full.url);
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.error, 'promtool is part of the quick start (apt-get install prometheus)').toBeUndefined();
      expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
      // promtool does find fault where there is one: a counter named without _total.
      const misnamed = text.replaceAll('iptc_rule_packets_total', 'iptc_rule_packets');
      const bad = spawnSync('promtool', ['check', 'metrics'], { input: misnamed, encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(`${bad.stdout}${bad.stderr}`).toContain('iptc_rule_packets counter metrics should have "_total" suffix');
    } finally {
      await stopExporter(full);
    }
  });

  it('reports a taken address as one error line', () => {
    const port = new URL(exporter.url).port;
    const r = iptc(['export', '--listen', `127.0.0.1:${port}`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').filter((l) => !l.includes('warning'))).toEqual([`iptc: cannot listen on 127.0.0.1:${port}: address in use`]);
  });

  it('listens on 127.0.0.1:10455 by default, clear of the iptables exporter\'s 9455', async () => {
    const byDefault = await startExporter(['-4', '--no-ipset'], { listen: null });
    try {
      expect(byDefault.url).toBe('http://127.0.0.1:10455/metrics');
      expect(find((await scrape(byDefault.url)).samples, 'iptc_up', {})?.value).toBe(1);
    } finally {
      await stopExporter(byDefault);
    }
  });
});

describe('iptc export options', () => {
  it('--position labels each rule series with its position too, which every insertion above changes', async () => {
    const positioned = await startExporter(['--position', '-4', '--no-ipset']);
    try {
      const positions = async () =>
        all((await scrape(positioned.url)).samples, 'iptc_rule_packets_total', { chain: 'INPUT' }).map((s) => [s.labels.comment, s.labels.position]);
      expect(await positions()).toEqual([['count seen', '1'], ['probe "one"\\x', '2'], ['', '3']]);
      ipt(['-I', 'INPUT', '1', '-m', 'comment', '--comment', 'top', '-j', 'RETURN']);
      try {
        expect(await positions()).toEqual([['top', '1'], ['count seen', '2'], ['probe "one"\\x', '3'], ['', '4']]);
      } finally {
        ipt(['-D', 'INPUT', '1']);
      }
    } finally {
      await stopExporter(positioned);
    }
  });

  it('--set-entries adds per-entry series of sets created with counters, at most --max-set-entries per set', async () => {
    await udp(7002, 3);
    const entries = await startExporter(['-4', '--set-entries']);
    const capped = await startExporter(['-4', '--set-entries', '--max-set-entries', '1']);
    try {
      const { samples } = await scrape(entries.url);
      const loopback = find(samples, 'iptc_ipset_entry_packets_total', { set: 'seen', entry: '127.0.0.1', comment: 'loopback' });
      expect(loopback!.value).toBeGreaterThanOrEqual(3);
      expect(find(samples, 'iptc_ipset_entry_bytes_total', { set: 'seen', entry: '127.0.0.2', comment: 'other' })!.value).toBe(0);
      // Only sets created with counters have them.
      expect(all(samples, 'iptc_ipset_entry_packets_total').map((s) => s.labels.set)).toEqual(['seen', 'seen']);
      const few = (await scrape(capped.url)).samples;
      expect(all(few, 'iptc_ipset_entry_packets_total')).toHaveLength(1);
      expect(find(few, 'iptc_ipset_entries', { set: 'seen' })!.value).toBe(2);
    } finally {
      await stopExporter(entries);
      await stopExporter(capped);
    }
  });

  it('--no-rule-info leaves out iptc_rule_info, and nothing else', async () => {
    const lean = await startExporter(['--no-rule-info']);
    try {
      const { samples, types } = await scrape(lean.url);
      const full = (await scrape(exporter.url)).samples;
      expect(types.has('iptc_rule_info')).toBe(false);
      expect(all(samples, 'iptc_rule_info')).toEqual([]);
      const names = (list: Sample[]) => all(list, 'iptc_rule_packets_total').map(identity);
      expect(names(samples)).toEqual(names(full));
    } finally {
      await stopExporter(lean);
    }
  });

  it('refuses options that contradict each other, as usage errors', () => {
    for (const [args, message] of [
      [['--max-set-entries', '5'], '--max-set-entries needs --set-entries'],
      [['--set-entries', '--no-ipset'], '--set-entries and --no-ipset contradict each other'],
      [['--set-entries', '--max-set-entries', '0'], '--max-set-entries needs a whole number of at least 1'],
    ] as const) {
      const r = iptc(['export', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });
});

describe('iptc export with the capabilities docs/monitoring.md gives it', () => {
  it('reads every source as a user other than root with CAP_NET_ADMIN, CAP_NET_RAW and CAP_DAC_READ_SEARCH', async () => {
    const caps = '+net_admin,+net_raw,+dac_read_search';
    const user = await startExporter([], { setpriv: ['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all,${caps}`, `--ambient-caps=${caps}`] });
    try {
      const { samples } = await scrape(user.url);
      expect(find(samples, 'iptc_up', {})?.value).toBe(1);
      expect(find(samples, 'iptc_rule_packets_total', { comment: 'v6 probe' })).toBeDefined();
      expect(find(samples, 'iptc_ipset_entries', { set: 'plain' })?.value).toBe(2);
    } finally {
      await stopExporter(user);
    }
  });
});

describe('iptc export without the rights to read', () => {
  const who: [string, string[], string][] = [
    ['a user other than root', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'], 'EACCES'],
    ['root without CAP_NET_ADMIN', ['--inh-caps=-all', '--bounding-set=-net_admin,-net_raw'], 'EPERM'],
  ];
  // The backend under test only: with no legacy table in the namespace (as on the nft run, unless a
  // legacy test made one) there is nothing of legacy's to be refused.
  const sources = BACKEND === 'nft' ? ['iptables-nft', 'ip6tables-nft', 'ipset'] : ['iptables', 'ip6tables', 'ipset'];
  it.each(who)('as %s, reports every source down with the reason, and no rule series', async (_who, setpriv, code) => {
    const denied = await startExporter([], { setpriv, env: { IPTC_BACKEND: BACKEND } });
    try {
      for (let scrapes = 0; scrapes < 2; scrapes++) {
        const res = await fetch(denied.url);
        expect(res.status).toBe(200);
        const { samples } = parseExposition(await res.text());
        expect(find(samples, 'iptc_up', {})?.value).toBe(0);
        expect(all(samples, 'iptc_source_up').map((s) => s.labels.source)).toEqual(sources);
        for (const source of sources) {
          expect(find(samples, 'iptc_source_up', { source })?.value, source).toBe(0);
          const error = find(samples, 'iptc_source_error', { source });
          expect(error?.value, source).toBe(1);
          expect(error!.labels.reason, source).toMatch(/CAP_NET_ADMIN/);
          // nf_tables refuses every request without CAP_NET_ADMIN, whoever asks.
          expect(error!.labels.code, source).toBe(source === 'ipset' || source.endsWith('-nft') ? 'EPERM' : code);
        }
        if (BACKEND === 'legacy') expect(find(samples, 'iptc_source_error', { source: 'iptables' })!.labels.reason).toMatch(/root/);
        expect(samples.filter((s) => s.name.startsWith('iptc_rule_') || s.name === 'iptc_chain_rules' || s.name.startsWith('iptc_ipset_'))).toEqual([]);
      }
      // Logged once per cause, not at every scrape.
      expect(denied.stderr().match(new RegExp(`cannot read ${sources[0]}: `, 'g'))).toHaveLength(1);
    } finally {
      await stopExporter(denied);
    }
  });
});
