// The exporter and the two backends: by default the tables iptables-nft manages are read beside the
// legacy ones, each series labelled with its backend; a rule iptables cannot express (plain nft's) keeps
// its counter series and says what it is. What the exporter reads of each backend (names, counts as
// iptables-save -c, changes between scrapes, policy counters) is tested by test/exporter.test.ts, which
// runs on both.
import { createSocket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iptc } from './cli-run.js';
import { all, find, scrape, startExporter, stopExporter, type Exporter } from './exposition.js';
import { ipt, resetKernel, run } from './kernel.js';
import { freshNftEachTest, iptNft } from './nft-kernel.js';

freshNftEachTest();
let exporter: Exporter | undefined;
beforeEach(() => resetKernel());
afterEach(async () => {
  await stopExporter(exporter);
  exporter = undefined;
});

async function udp(port: number, count: number): Promise<void> {
  const s = createSocket('udp4');
  for (let i = 0; i < count; i++) await new Promise<void>((r) => s.send('x'.repeat(10), port, '127.0.0.1', () => r()));
  s.close();
}

describe('iptc export on nf_tables', () => {
  it('reads legacy and nft tables by default, each series labelled with its backend', async () => {
    iptNft(['-A', 'INPUT', '-p', 'udp', '--dport', '7100', '-m', 'comment', '--comment', 'nft probe', '-j', 'DROP']);
    iptNft(['-N', 'svc']);
    iptNft(['-A', 'svc', '-s', '10.0.0.0/8', '-j', 'RETURN']);
    iptNft(['-P', 'FORWARD', 'DROP']);
    iptNft(['-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'], 6);
    ipt(['-A', 'INPUT', '-p', 'udp', '--dport', '7200', '-m', 'comment', '--comment', 'legacy probe', '-j', 'ACCEPT']);
    await udp(7100, 3);
    exporter = await startExporter([]);
    const { samples } = await scrape(exporter.url);
    for (const source of ['iptables', 'ip6tables', 'iptables-nft', 'ip6tables-nft']) expect(find(samples, 'iptc_source_up', { source })?.value, source).toBe(1);

    const probe = find(samples, 'iptc_rule_packets_total', { comment: 'nft probe' })!;
    expect(probe.labels).toEqual({ backend: 'nft', family: 'ipv4', table: 'filter', chain: 'INPUT', comment: 'nft probe', target: 'DROP' });
    expect(probe.value).toBe(3);
    expect(find(samples, 'iptc_rule_packets_total', { comment: 'legacy probe' })!.labels.backend).toBe('legacy');
    expect(find(samples, 'iptc_rule_packets_total', { backend: 'nft', family: 'ipv6' })!.labels).toMatchObject({ table: 'filter', chain: 'INPUT', target: 'ACCEPT' });
    expect(find(samples, 'iptc_rule_info', { backend: 'nft', chain: 'svc' })!.labels.rule).toBe('-s 10.0.0.0/8 -j RETURN');
    // Chain series: the nft chains that exist, with their policy counters; the legacy ones apart.
    expect(find(samples, 'iptc_chain_rules', { backend: 'nft', family: 'ipv4', chain: 'INPUT' })!.value).toBe(1);
    expect(find(samples, 'iptc_chain_rules', { backend: 'legacy', family: 'ipv4', chain: 'INPUT' })!.value).toBe(1);
    expect(find(samples, 'iptc_chain_policy_packets_total', { backend: 'nft', chain: 'FORWARD' })!.labels.policy).toBe('DROP');
    expect(all(samples, 'iptc_chain_rules', { backend: 'nft', family: 'ipv4' }).map((s) => s.labels.chain)).toEqual(['INPUT', 'FORWARD', 'svc']);
  });

  it('keeps the counter series of a rule iptables cannot express, and names it by its handle', async () => {
    iptNft(['-A', 'INPUT', '-p', 'udp', '--dport', '7300', '-j', 'ACCEPT']);
    run('nft', ['add rule ip filter INPUT ip saddr { 127.0.0.1, 10.1.1.1 } udp dport 7301 counter drop']);
    const handle = /ip saddr .* # handle (\d+)/.exec(run('nft', ['-a', 'list', 'chain', 'ip', 'filter', 'INPUT']))![1];
    await udp(7301, 4);
    exporter = await startExporter(['--backend', 'nft']);
    const { samples } = await scrape(exporter.url);
    expect(find(samples, 'iptc_up', {})!.value).toBe(1);
    const info = all(samples, 'iptc_rule_info', { chain: 'INPUT' });
    expect(info.map((s) => s.labels.rule)).toEqual([
      '-p udp -m udp --dport 7300 -j ACCEPT',
      expect.stringMatching(new RegExp(`^# nft rule handle ${handle}: rule has no iptables form`)),
    ]);
    const { rule: _rule, ...labels } = info[1]!.labels;
    expect(labels.target).toBe('');
    expect(find(samples, 'iptc_rule_packets_total', labels)!.value).toBe(4);
    // --backend nft reads nothing else.
    expect(samples.filter((s) => s.labels.backend === 'legacy' || s.labels.source === 'iptables')).toEqual([]);
  });

  it('--backend takes legacy, nft, auto or all; anything else is a usage error', () => {
    const r = iptc(['export', '--backend', 'nftables', '--listen', '127.0.0.1:0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--backend must be 'legacy', 'nft', 'auto' or 'all', got 'nftables'/);
  });
});
