// nf_tables transactions: one sendmsg per batch, tagged with the generation of the view it was built on;
// refusals mapped back to the operation; chain and rule operations by handle and position; counters read,
// zeroed and preset; a 50,000-rule batch.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, thrown } from './kernel.js';
import { appendParsed, entryRule, freshNftEachTest, iptNft, parseRule, savedRules, sharedSocket } from './nft-kernel.js';
import { NftBatch } from '../src/nft/batch.js';
import { NftBatchError, NftGenerationError, NftSnapshotError } from '../src/nft/errors.js';
import { readGeneration } from '../src/nft/gen.js';
import { incompatibleChains, readSnapshot, rulesOf } from '../src/nft/snapshot.js';
import { dumpRules, walkCounters } from '../src/nft/rule.js';
import { chainCompatibility, dumpChains } from '../src/nft/chain.js';
import { NF_DROP } from '../src/nft/constants.js';
import { probeRuleReset } from '../src/nft/reset.js';
import { Rule } from '../src/iptc/index.js';
import { entryLayout } from '../src/xtables/entry.js';

freshNftEachTest();
const io = sharedSocket();

const rule = (spec: string) => entryRule(parseRule(4, spec));

function filterWith(specs: string[]): void {
  appendParsed(io.sock, 4, 'filter', 'INPUT', specs);
}

describe('generation ids', () => {
  it('a batch built on a view the ruleset moved past is refused with ERESTART, and nothing is applied', () => {
    filterWith(['-s 10.0.0.1/32 -j ACCEPT']);
    const snap = readSnapshot(io.sock, 2, 'filter');
    const batch = new NftBatch(4);
    batch.appendRule('filter', 'INPUT', rule('-s 10.0.0.2/32 -j DROP'));
    // Another program commits in between.
    iptNft(['-A', 'INPUT', '-s', '10.0.0.3', '-j', 'ACCEPT']);
    const err = thrown(() => batch.commit(io.sock, { genid: snap.genid }));
    expect(err).toBeInstanceOf(NftGenerationError);
    expect((err as NftGenerationError).errno).toBe(85);
    expect((err as NftGenerationError).code).toBe('ERESTART');
    expect(savedRules('filter').get('INPUT')).toEqual(['-s 10.0.0.1/32 -j ACCEPT', '-s 10.0.0.3/32 -j ACCEPT']);
    // Rebuilt on a fresh view, the same operation goes through.
    const fresh = readSnapshot(io.sock, 2, 'filter');
    const again = new NftBatch(4);
    again.appendRule('filter', 'INPUT', rule('-s 10.0.0.2/32 -j DROP'));
    const result = again.commit(io.sock, { genid: fresh.genid, echo: true });
    expect(result.genid).toBe(fresh.genid + 1);
    expect(readGeneration(io.sock)).toBe(fresh.genid + 1);
    expect(savedRules('filter').get('INPUT')).toHaveLength(3);
  });

  it('genid 0 commits whatever the generation', () => {
    filterWith([]);
    iptNft(['-A', 'INPUT', '-j', 'ACCEPT']);
    const batch = new NftBatch(4);
    batch.appendRule('filter', 'INPUT', rule('-j DROP'));
    batch.commit(io.sock, { genid: 0 });
    expect(savedRules('filter').get('INPUT')).toEqual(['-j ACCEPT', '-j DROP']);
  });
});

describe('errors map back to the operation', () => {
  it('every refused message is reported with its errno and operation; nothing is applied', () => {
    filterWith(['-j ACCEPT']);
    const batch = new NftBatch<string>(4);
    batch.appendRule('filter', 'INPUT', rule('-j DROP'), undefined, 'good');
    batch.appendRule('filter', 'NOSUCH', rule('-j DROP'), undefined, 'missing chain');
    batch.appendRule('filter', 'INPUT', rule('-j NOSUCHCHAIN'), undefined, 'missing jump target');
    batch.appendRule('filter', 'INPUT', rule('-p tcp -m tcp --dport 1 -j ACCEPT'), undefined, 'good too');
    const err = thrown(() => batch.commit(io.sock)) as NftBatchError<{ tag?: string }>;
    expect(err).toBeInstanceOf(NftBatchError);
    expect(err.failures.map((f) => [f.index, f.op?.tag, f.errno])).toEqual([
      [1, 'missing chain', 2],
      [2, 'missing jump target', 2],
    ]);
    expect(err.errno).toBe(2);
    // The extended ack points into the refused message (the chain name attribute).
    expect(err.failures[0]!.extAck.offset).toBeGreaterThan(0);
    expect(err.message).toMatch(/operation 1 \(newRule in chain NOSUCH of table filter\): ENOENT/);
    expect(savedRules('filter').get('INPUT')).toEqual(['-j ACCEPT']);
  });

  it('a compat blob the kernel rejects (DNAT in filter) names its rule', () => {
    filterWith([]);
    const batch = new NftBatch(4);
    batch.appendRule('filter', 'INPUT', rule('-p tcp -j DNAT --to-destination 10.0.0.1'), undefined, 'dnat');
    const err = thrown(() => batch.commit(io.sock)) as NftBatchError<{ tag?: string }>;
    expect(err.failures).toHaveLength(1);
    expect(err.failures[0]!.op!.tag).toBe('dnat');
    expect(err.failures[0]!.errno).toBe(22);
  });
});

describe('chain and rule operations', () => {
  it('insert before a handle, append after one, replace in place, delete by handle, positions from earlier operations', () => {
    filterWith(['-s 1.0.0.1/32 -j ACCEPT', '-s 1.0.0.2/32 -j ACCEPT', '-s 1.0.0.3/32 -j ACCEPT']);
    const snap = readSnapshot(io.sock, 2, 'filter');
    const [r1, r2, r3] = rulesOf(snap, 'INPUT');
    expect(r2!.position).toBe(r1!.handle);
    const batch = new NftBatch(4);
    batch.insertRule('filter', 'INPUT', rule('-s 9.0.0.1/32 -j DROP'), { handle: r2!.handle });
    const appended = batch.appendRule('filter', 'INPUT', rule('-s 9.0.0.2/32 -j DROP'), { handle: r3!.handle });
    batch.insertRule('filter', 'INPUT', rule('-s 9.0.0.3/32 -j DROP'), { op: appended });
    batch.appendRule('filter', 'INPUT', rule('-s 9.0.0.4/32 -j DROP'), { op: appended });
    batch.insertRule('filter', 'INPUT', rule('-s 9.0.0.5/32 -j DROP'));
    batch.replaceRule('filter', 'INPUT', r1!.handle, rule('-s 7.0.0.1/32 -j RETURN'));
    batch.deleteRule('filter', 'INPUT', r3!.handle);
    const result = batch.commit(io.sock, { genid: snap.genid, echo: true });
    expect(savedRules('filter').get('INPUT')).toEqual([
      '-s 9.0.0.5/32 -j DROP',
      '-s 7.0.0.1/32 -j RETURN',
      '-s 9.0.0.1/32 -j DROP',
      '-s 1.0.0.2/32 -j ACCEPT',
      '-s 9.0.0.3/32 -j DROP',
      '-s 9.0.0.2/32 -j DROP',
      '-s 9.0.0.4/32 -j DROP',
    ]);
    // Echoed handles match the kernel's; a replace keeps the handle.
    const after = rulesOf(readSnapshot(io.sock, 2, 'filter'), 'INPUT');
    expect(after[1]!.handle).toBe(r1!.handle);
    expect(result.handles.get(appended)).toBe(after[5]!.handle);
    expect(result.handles.get(5)).toBe(r1!.handle);
  });

  it('user chains: create (EEXIST when present), rename by handle, flush, delete (EBUSY while referenced)', () => {
    filterWith([]);
    const b1 = new NftBatch(4);
    b1.addChain('filter', 'a');
    b1.addChain('filter', 'b');
    b1.appendRule('filter', 'INPUT', rule('-j a'));
    b1.appendRule('filter', 'a', rule('-j ACCEPT'));
    b1.commit(io.sock);
    const exists = new NftBatch(4);
    exists.addChain('filter', 'a');
    expect((thrown(() => exists.commit(io.sock)) as NftBatchError).errno).toBe(17);

    const a = dumpChains(io.sock, 2, 'filter').find((c) => c.name === 'a')!;
    const b2 = new NftBatch(4);
    b2.renameChain('filter', a.handle, 'renamed');
    b2.commit(io.sock);
    expect(savedRules('filter').get('INPUT')).toEqual(['-j renamed']);
    expect(savedRules('filter').get('renamed')).toEqual(['-j ACCEPT']);

    const busy = new NftBatch(4);
    busy.deleteChain('filter', 'renamed');
    expect((thrown(() => busy.commit(io.sock)) as NftBatchError).errno).toBe(16);
    const b3 = new NftBatch(4);
    b3.flushRules('filter', 'INPUT');
    b3.flushRules('filter', 'renamed');
    b3.deleteChain('filter', 'renamed');
    b3.deleteChain('filter', 'b');
    b3.commit(io.sock);
    expect(iptNft(['-S'])).toBe('-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n');
  });

  it('policy with counters: -P sets them, iptables-nft-save -c shows them', () => {
    filterWith([]);
    const batch = new NftBatch(4);
    batch.setPolicy('filter', 'INPUT', NF_DROP, { packets: 5n, bytes: 500n });
    batch.commit(io.sock);
    expect(run('iptables-nft-save', ['-c', '-t', 'filter'])).toContain(':INPUT DROP [5:500]');
    const input = dumpChains(io.sock, 2, 'filter').find((c) => c.name === 'INPUT')!;
    expect(input.policy).toBe(NF_DROP);
    expect(input.counters).toEqual({ packets: 5n, bytes: 500n });
    const zero = new NftBatch(4);
    zero.setChainCounters('filter', 'INPUT', 0n, 0n);
    zero.commit(io.sock);
    expect(run('iptables-nft-save', ['-c', '-t', 'filter'])).toContain(':INPUT DROP [0:0]');
  });
});

describe('counters', () => {
  function presetRules(): void {
    iptNft(['-A', 'INPUT', '-c', '3', '300', '-s', '10.0.0.1', '-j', 'ACCEPT']);
    iptNft(['-A', 'INPUT', '-c', '4', '400', '-s', '10.0.0.2', '-m', 'comment', '--comment', 'kept', '-j', 'ACCEPT']);
    run('nft', ['add', 'rule', 'ip', 'filter', 'INPUT', 'ct', 'state', 'new', 'counter', 'packets', '9', 'bytes', '900', 'accept']);
  }

  it('a counters-only walk reads what iptables-nft-save -c shows, without decoding', () => {
    presetRules();
    const seen: [string, bigint, bigint][] = [];
    walkCounters(io.sock, 2, 'filter', (chain, _handle, packets, bytes) => seen.push([chain, packets, bytes]));
    expect(seen).toEqual([['INPUT', 3n, 300n], ['INPUT', 4n, 400n], ['INPUT', 9n, 900n]]);
  });

  it('zeroing by re-sending each rule at 0 keeps every rule (an opaque one too), its comment and handle', () => {
    presetRules();
    const before = rulesOf(readSnapshot(io.sock, 2, 'filter'), 'INPUT');
    const batch = new NftBatch(4);
    for (const r of before) batch.rewriteRule(r);
    batch.commit(io.sock);
    const after = rulesOf(readSnapshot(io.sock, 2, 'filter'), 'INPUT');
    expect(after.map((r) => r.handle)).toEqual(before.map((r) => r.handle));
    expect(after.map((r) => r.counters)).toEqual(before.map(() => ({ packets: 0n, bytes: 0n })));
    expect(run('nft', ['list', 'chain', 'ip', 'filter', 'INPUT'])).toMatch(/ct state new counter packets 0 bytes 0 accept/);
    // The table now holds a rule iptables cannot show, so iptables-nft-save refuses it: read ours.
    expect(after.slice(0, 2).map((r) => Rule.fromEntry(r.toEntry()).toString())).toEqual([
      '-s 10.0.0.1/32 -j ACCEPT',
      '-s 10.0.0.2/32 -m comment --comment kept -j ACCEPT',
    ]);
  });

  it('GETRULE_RESET, where the kernel has it, returns the counters and zeroes them in one pass', () => {
    presetRules();
    if (!probeRuleReset(io.sock, 2)) return; // Linux < 6.2: zero by rewriteRule instead.
    const read = dumpRules(io.sock, 2, 'filter', { reset: true }).map((r) => r.counters.packets);
    expect(read).toEqual([3n, 4n, 9n]);
    expect(dumpRules(io.sock, 2, 'filter').map((r) => r.counters.packets)).toEqual([0n, 0n, 0n]);
  });

  it('rules are written with their preset counters, as iptables-nft -c does', () => {
    const r = parseRule(4, '-s 10.0.0.9/32 -j ACCEPT');
    r.setCounters(11, 1100);
    appendParsed(io.sock, 4, 'filter', 'INPUT', []);
    const batch = new NftBatch(4);
    batch.appendRule('filter', 'INPUT', entryRule(r));
    batch.commit(io.sock);
    expect(savedRules('filter', 4, true).get('INPUT')).toEqual(['[11:1100] -s 10.0.0.9/32 -j ACCEPT']);
  });
});

describe('large batches', () => {
  it('a 50,000-rule batch commits in one sendmsg (socket buffers sized to it)', () => {
    filterWith([]);
    // Two parsed rules as templates; each copy gets its own source, port and comment in place.
    const templates = ['DROP', 'ACCEPT'].map((verdict) =>
      parseRule(4, `-s 10.0.0.0/32 -p tcp -m tcp --dport 1 -m comment --comment r00000 -j ${verdict}`).toEntry());
    const l = entryLayout(4);
    const tcpPorts = l.header + 32 + 4;
    const comment = l.header + 48 + 32;
    const batch = new NftBatch(4);
    for (let i = 0; i < 50_000; i++) {
      const entry = Buffer.from(templates[i % 2]!);
      entry.set([10, (i >> 16) & 255, (i >> 8) & 255, i & 255], l.src);
      entry.writeUInt16LE(1 + (i % 60000), tcpPorts);
      entry.writeUInt16LE(1 + (i % 60000), tcpPorts + 2);
      entry.write(`r${i}`.padEnd(6, '\0'), comment, 'latin1');
      batch.appendRule('filter', 'INPUT', { entry, standard: true });
    }
    expect(batch.bytes).toBeGreaterThan(16 << 20);
    batch.commit(io.sock);
    let count = 0;
    walkCounters(io.sock, 2, 'filter', () => count++);
    expect(count).toBe(50_000);
    const lines = run('sh', ['-c', 'iptables-nft-save -t filter | grep "^-A INPUT " | awk \'NR==1{print} {last=$0} END{print last; print NR}\'']);
    expect(lines).toBe([
      '-A INPUT -s 10.0.0.0/32 -p tcp -m tcp --dport 1 -m comment --comment r0 -j DROP',
      '-A INPUT -s 10.0.195.79/32 -p tcp -m tcp --dport 50000 -m comment --comment r49999 -j ACCEPT',
      '50000',
      '',
    ].join('\n'));
  });
});

describe('snapshots', () => {
  it('chains are told apart: iptables\' builtin chains, user chains, and other programs\' base chains', () => {
    filterWith([]);
    iptNft(['-N', 'mine']);
    run('nft', ['add', 'chain', 'ip', 'filter', 'FORWARD', '{ type filter hook forward priority 10; }']);
    run('nft', ['add', 'chain', 'ip', 'filter', 'theirs', '{ type filter hook output priority 0; }']);
    const snap = readSnapshot(io.sock, 2, 'filter');
    const kinds = Object.fromEntries(snap.chains.map((c) => [c.name, chainCompatibility(c)]));
    expect(kinds).toEqual({ INPUT: 'builtin', mine: 'user', FORWARD: 'incompatible', theirs: 'incompatible' });
    expect(incompatibleChains(snap).map((c) => c.name).sort()).toEqual(['FORWARD', 'theirs']);
    expect(readSnapshot(io.sock, 2, 'nat').table).toBeNull();
  });

  it('a snapshot taken while another program rewrites the table is never a mix of two rulesets', async () => {
    const table = (tag: string) =>
      `*filter\n:INPUT ACCEPT [0:0]\n${Array.from({ length: 1500 }, (_, i) => `-A INPUT -s 10.0.${i >> 8}.${i & 255}/32 -m comment --comment ${tag}`).join('\n')}\nCOMMIT\n`;
    const dir = mkdtempSync(join(tmpdir(), 'iptc-nft-'));
    writeFileSync(join(dir, 'a'), table('a'));
    writeFileSync(join(dir, 'b'), table('b'));
    run('iptables-nft-restore', [join(dir, 'a')]);
    // A writer swapping the whole table back and forth, for a bounded time.
    const writer = spawn('sh', ['-c',
      `end=$(($(date +%s) + 8)); while [ $(date +%s) -lt $end ]; do iptables-nft-restore ${dir}/b; iptables-nft-restore ${dir}/a; done`]);
    const exited = new Promise((resolve) => writer.on('exit', resolve));
    let consistent = 0;
    try {
      for (let i = 0; i < 40; i++) {
        let snap;
        try {
          snap = readSnapshot(io.sock, 2, 'filter', 20);
        } catch (e) {
          // Giving up after 20 moving reads is allowed; returning a mixed view is not.
          expect(e).toBeInstanceOf(NftSnapshotError);
          continue;
        }
        const tags = new Set(rulesOf(snap, 'INPUT').map((r) => Rule.fromEntry(r.toEntry()).toString().split(' ').pop()));
        expect(rulesOf(snap, 'INPUT')).toHaveLength(1500);
        expect(tags.size).toBe(1);
        consistent++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      writer.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(consistent).toBeGreaterThan(0);
  });
});
