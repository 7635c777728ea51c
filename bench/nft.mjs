// `npm run bench:nft`: the nf_tables binding layer against iptables-nft 1.8.9, side by side in one run,
// inside the private namespace scripts/netns-run.mjs makes: 10,000 rules that differ in comment, port,
// source and verdict, written in one commit, read back with every parameter, and read for counters only.
// Contenders take turns round by round after warm-up rounds; prints medians and ratios. Nothing here
// asserts a timing. `--short` runs fewer rounds.
import { spawnSync } from 'node:child_process';
import { Rule } from '../dist/iptc/index.js';
import { NetlinkSocket } from '../dist/netlink/socket.js';
import { NftBatch } from '../dist/nft/batch.js';
import { readSnapshot } from '../dist/nft/snapshot.js';
import { walkCounters } from '../dist/nft/rule.js';

const short = process.argv.includes('--short');
const ROUNDS = short ? 3 : 7;
const WARMUP = short ? 1 : 2;
const RULES = 10_000;

const addr = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const spec = (i) => `-s ${addr(i)}/32 -p tcp -m tcp --dport ${1 + (i % 60000)} -m conntrack --ctstate NEW ` +
  `-m comment --comment r${i} -j ${i % 3 === 0 ? 'DROP' : 'ACCEPT'}`;
const restoreText = `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${
  Array.from({ length: RULES }, (_, i) => `-A INPUT ${spec(i)}`).join('\n')}\nCOMMIT\n`;

function sh(file, args, input) {
  const r = spawnSync(file, args, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}

function timed(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const flush = () => sh('nft', ['flush', 'ruleset']);
const sock = new NetlinkSocket();

// The object model's part (Rule.parse, libxtables blobs) is the same for both backends: built once.
const parsed = Array.from({ length: RULES }, (_, i) => Rule.parse(spec(i)));
const entries = parsed.map((r) => ({ entry: r.toEntry(), standard: true }));

/** One transaction: table, chain and 10,000 rules encoded straight into the batch, then one sendmsg. */
function commitRules() {
  const snap = readSnapshot(sock, 2, 'filter');
  const batch = new NftBatch(4);
  batch.addTable('filter');
  batch.addBuiltinChain('filter', 'INPUT');
  for (const e of entries) batch.appendRule('filter', 'INPUT', e);
  batch.commit(sock, { genid: snap.genid });
}

const withRules = () => {
  flush();
  sh('iptables-nft-restore', [], restoreText);
};

const workloads = [
  {
    name: 'write 10,000 rules in one commit',
    contenders: [
      { name: 'iptables-nft-restore', setup: flush, run: () => sh('iptables-nft-restore', [], restoreText) },
      { name: 'iptc nft: encode + commit', setup: flush, run: commitRules },
    ],
  },
  {
    name: 'read every rule with its parameters',
    contenders: [
      { name: 'iptables-nft-save -c', setup: withRules, run: () => sh('iptables-nft-save', ['-c', '-t', 'filter']) },
      {
        name: 'iptc nft: snapshot + entries + toString',
        setup: withRules,
        run: () => {
          const snap = readSnapshot(sock, 2, 'filter');
          let n = 0;
          for (const rule of snap.rules.get('INPUT')) n += Rule.fromEntry(rule.toEntry()).toString().length;
          if (n === 0) throw new Error('nothing read');
        },
      },
      {
        name: 'iptc nft: snapshot + entries',
        setup: withRules,
        run: () => {
          const snap = readSnapshot(sock, 2, 'filter');
          for (const rule of snap.rules.get('INPUT')) rule.toEntry();
        },
      },
    ],
  },
  {
    name: 'read the counters only',
    contenders: [
      { name: 'iptables-nft-save -c', setup: withRules, run: () => sh('iptables-nft-save', ['-c', '-t', 'filter']) },
      {
        name: 'iptc nft: counters walk',
        setup: withRules,
        run: () => {
          let packets = 0n;
          walkCounters(sock, 2, 'filter', (_chain, _handle, p) => {
            packets += p;
          });
        },
      },
    ],
  },
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const w of workloads) {
  const times = w.contenders.map(() => []);
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    w.contenders.forEach((c, i) => {
      c.setup();
      const ms = timed(c.run);
      if (round >= WARMUP) times[i].push(ms);
    });
  }
  const base = median(times[0]);
  console.log(`\n${w.name} (median of ${ROUNDS}, ms)`);
  w.contenders.forEach((c, i) => {
    const m = median(times[i]);
    console.log(`  ${c.name.padEnd(42)} ${m.toFixed(1).padStart(8)}  ${(m / base).toFixed(2)}x`);
  });
}
flush();
sock.close();
