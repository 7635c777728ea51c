// `npm run bench`: the nine workloads of the performance issue, iptc and its peers measured side by side
// in one run, inside the private network namespace scripts/netns-run.mjs makes. Contenders take turns
// round by round (so a slow moment of the machine hits them alike), after four warm-up rounds that are
// not counted (one for the contenders that take seconds a round): iptc's restore path, for one, takes
// about four restores of 10,000 rules to reach its steady speed. Prints a table of medians with ratios and writes bench/last-run.json. `--short` runs fewer
// rounds (CI); nothing here asserts a timing. The exporter's workloads (scrapes of 10,000 and 50,000 rules,
// with peak memory) are in bench/exporter.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rule, Table } from '../dist/iptc/index.js';
import { IPSet } from '../dist/ipset/index.js';
import { exporterWorkloads } from './exporter.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const short = process.argv.includes('--short');
/** `--only 1,5`: just those workloads, for working on them (the README's table comes from a whole run). */
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1]?.split(',').map(Number)) : null;
const ROUNDS = short ? 3 : 9;
/** The Python peers take seconds a round; a few rounds show their scale. */
const PYTHON_ROUNDS = short ? 1 : 3;
const RULES = 10_000;
const INSERTS = short ? 100 : 1_000;
const ENTRIES = 100_000;
const TESTS = 10_000;
const PYTHON = '/usr/bin/python3';

process.removeAllListeners('warning');

const addr = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const ruleSpec = (i) => `-s ${addr(i)}/32 -p tcp -m tcp --dport 80 -j ACCEPT`;
const restoreText = (n, command = '-A', offset = 0) =>
  `*filter\n${Array.from({ length: n }, (_, i) => `${command} INPUT ${ruleSpec(i + offset)}`).join('\n')}\nCOMMIT\n`;
const setText = Array.from({ length: ENTRIES }, (_, i) => `add bench ${addr(i)}`).join('\n') + '\n';

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

function reset() {
  sh('iptables-legacy-restore', [], '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
  sh('ipset', ['destroy']);
}

const withRules = (n) => () => {
  reset();
  sh('iptables-legacy-restore', ['--noflush'], restoreText(n));
};

const withSet = (entries) => () => {
  reset();
  sh('ipset', ['create', 'bench', 'hash:ip', 'maxelem', '1000000']);
  if (entries) sh('ipset', ['restore'], setText);
};

function buildRule(i) {
  const r = new Rule();
  r.src = `${addr(i)}/32`;
  r.protocol = 'tcp';
  r.createMatch('tcp', { dport: '80' });
  r.createTarget('ACCEPT');
  return r;
}

/** One transaction on the filter table: `change` on its INPUT chain for every rule, then one commit. */
function batch(change) {
  const t = new Table('filter', { autocommit: false });
  const input = t.chain('INPUT');
  for (let i = 0; i < RULES; i++) change(input, i);
  t.commit();
  t.close();
}

const pythonPeer = (script, module) =>
  existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${module}`]).status === 0 ? join(here, 'peers', script) : null;
const pyIptables = pythonPeer('python_iptables.py', 'iptc');
const pyroute2 = pythonPeer('pyroute2_ipset.py', 'pyroute2.ipset');

/** A Python peer reports the time of its own work (interpreter start-up and setup not included). */
const python = (script, args) => () => JSON.parse(sh(PYTHON, [script, ...args])).seconds * 1000;

/** A contender: `setup` (not timed) before each run, then `run` returns milliseconds. */
const WARMUP = 4;
const contender = (setup, run, rounds = ROUNDS) => ({ setup, run, rounds, warmup: rounds === ROUNDS ? WARMUP : 1 });
const tool = (setup, file, args, input) => contender(setup, () => timed(() => sh(file, args, input)));

const workloads = [
  {
    name: `append ${RULES} rules, one commit`,
    target: ['iptables-legacy-restore', 1.5],
    contenders: {
      iptc: contender(reset, () => timed(() => batch((input, i) => input.appendRule(buildRule(i))))),
      'iptables-legacy-restore': tool(reset, 'iptables-legacy-restore', [], restoreText(RULES)),
      ...(pyIptables && { 'python-iptables': contender(reset, python(pyIptables, ['append', String(RULES)]), PYTHON_ROUNDS) }),
    },
  },
  {
    name: `read ${RULES} rules with all parameters`,
    setup: withRules(RULES),
    target: ['iptables-legacy-save -c', 1.5],
    contenders: {
      iptc: contender(null, () =>
        timed(() => {
          const t = new Table('filter');
          for (const r of t.chain('INPUT').rules) r.toString();
          t.close();
        }),
      ),
      'iptables-legacy-save -c': tool(null, 'iptables-legacy-save', ['-c']),
      ...(pyIptables && { 'python-iptables': contender(null, python(pyIptables, ['read', '0']), PYTHON_ROUNDS) }),
    },
  },
  {
    name: `read the counters of ${RULES} rules`,
    target: ['iptables-legacy-save -c', 1.0],
    contenders: {
      iptc: contender(null, () =>
        timed(() => {
          const t = new Table('filter');
          for (const r of t.chain('INPUT').rules) void r.counters.packets;
          t.close();
        }),
      ),
      'iptables-legacy-save -c': tool(null, 'iptables-legacy-save', ['-c']),
      ...(pyIptables && { 'python-iptables': contender(null, python(pyIptables, ['counters', '0']), PYTHON_ROUNDS) }),
    },
  },
  {
    name: `${INSERTS} autocommit inserts into 1000 rules (per insert)`,
    perOp: INSERTS,
    target: pyIptables ? ['python-iptables', 1.0] : null,
    contenders: {
      iptc: contender(withRules(1000), () =>
        timed(() => {
          const t = new Table('filter');
          const input = t.chain('INPUT');
          for (let i = 0; i < INSERTS; i++) input.insertRule(buildRule(100_000 + i), 0);
          t.close();
        }),
      ),
      'iptables-legacy per call': contender(
        withRules(1000),
        () =>
          timed(() => {
            for (let i = 0; i < INSERTS; i++) sh('iptables-legacy', ['-I', 'INPUT', ...ruleSpec(100_000 + i).split(' ')]);
          }),
        PYTHON_ROUNDS,
      ),
      ...(pyIptables && {
        'python-iptables': contender(withRules(1000), python(pyIptables, ['insert', String(INSERTS)]), PYTHON_ROUNDS),
      }),
    },
  },
  {
    name: `delete ${RULES} rules, one commit`,
    target: ['iptables-legacy-restore', 1.5],
    contenders: {
      iptc: contender(withRules(RULES), () => timed(() => batch((input, i) => input.deleteRule(buildRule(i))))),
      'iptables-legacy-restore': tool(withRules(RULES), 'iptables-legacy-restore', ['--noflush'], restoreText(RULES, '-D')),
      ...(pyIptables && {
        'python-iptables': contender(withRules(RULES), python(pyIptables, ['delete', String(RULES)]), PYTHON_ROUNDS),
      }),
    },
  },
  {
    name: `restore ${RULES} rules from iptables-save text`,
    target: ['iptables-legacy-restore', 1.5],
    contenders: {
      iptc: contender(reset, () =>
        timed(() => {
          const t = new Table('filter');
          t.restore(restoreText(RULES));
          t.close();
        }),
      ),
      'iptables-legacy-restore': tool(reset, 'iptables-legacy-restore', [], restoreText(RULES)),
    },
  },
  {
    name: `add ${ENTRIES} entries to a hash:ip set`,
    target: ['ipset restore', 1.0],
    contenders: {
      iptc: contender(withSet(false), () => {
        const entries = Array.from({ length: ENTRIES }, (_, i) => addr(i));
        return timed(() => {
          const ipset = new IPSet();
          ipset.addMany('bench', entries);
          ipset.close();
        });
      }),
      'ipset restore': tool(withSet(false), 'ipset', ['restore'], setText),
      ...(pyroute2 &&
        !short && { 'pyroute2 (one call per entry)': contender(withSet(false), python(pyroute2, ['add', 'bench', String(ENTRIES)]), 1) }),
    },
  },
  {
    name: `list a ${ENTRIES}-entry set with content`,
    setup: withSet(true),
    target: ['ipset list -o save', 2.0],
    contenders: {
      iptc: contender(null, () =>
        timed(() => {
          const ipset = new IPSet();
          const [info] = ipset.list('bench');
          if (info.entries.length !== ENTRIES) throw new Error(`listed ${info.entries.length} entries`);
          ipset.close();
        }),
      ),
      'ipset list -o save': tool(null, 'ipset', ['list', '-o', 'save', 'bench']),
      ...(pyroute2 && { pyroute2: contender(null, python(pyroute2, ['list', 'bench', '0']), PYTHON_ROUNDS) }),
    },
  },
  {
    name: `${TESTS} test() calls on that set`,
    target: pyroute2 ? ['pyroute2', 0.1] : null,
    contenders: {
      iptc: contender(null, () => {
        const addrs = Array.from({ length: TESTS }, (_, i) => addr(i * 7));
        return timed(() => {
          const ipset = new IPSet();
          for (const a of addrs) ipset.test('bench', a);
          ipset.close();
        });
      }),
      ...(pyroute2 && { pyroute2: contender(null, python(pyroute2, ['test', 'bench', String(TESTS)]), PYTHON_ROUNDS) }),
    },
  },
];

workloads.push(...exporterWorkloads(contender));

const median = (times) => {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/**
 * Round by round, every contender in turn, after its warm-up rounds (the JIT compiles iptc's code over the
 * first thousands of rules, and the heap settles).
 */
function measure(w) {
  w.setup?.();
  const contenders = Object.entries(w.contenders);
  const runs = Object.fromEntries(contenders.map(([name]) => [name, []]));
  const warmup = Math.max(...contenders.map(([, c]) => c.warmup));
  for (let round = -warmup; round < ROUNDS; round++) {
    for (const [name, c] of contenders) {
      if (round < -c.warmup || round >= c.rounds) continue;
      c.setup?.();
      const ms = c.run();
      if (round >= 0) runs[name].push(Math.round(ms * 10) / 10);
    }
  }
  return runs;
}

const results = [];
workloads.forEach((w, index) => {
  if (only && !only.has(index + 1)) return;
  let runs;
  try {
    runs = measure(w);
  } finally {
    w.teardown?.();
  }
  const medians = Object.fromEntries(Object.entries(runs).map(([name, times]) => [name, median(times)]));
  const ours = medians.iptc;
  const ratios = Object.fromEntries(Object.entries(medians).filter(([n]) => n !== 'iptc').map(([n, ms]) => [n, ours / ms]));
  const target = w.target && { peer: w.target[0], max: w.target[1] };
  const met = target ? ratios[target.peer] <= target.max : null;
  results.push({ id: index + 1, workload: w.name, medians, runs, ratios, target, met, perOp: w.perOp, notes: w.notes?.(medians) });
  process.stderr.write(`  ${index + 1}. ${w.name}: iptc ${runs.iptc.join(', ')} ms\n`);
});
reset();

const fmt = (ms, perOp) => (perOp ? `${(ms / perOp).toFixed(3)} ms/op` : `${ms.toFixed(1)} ms`);
const lines = [
  `iptc bench (${short ? 'short' : 'full'} profile: medians of ${ROUNDS} rounds (${PYTHON_ROUNDS} for the Python peers) ` +
    `taken in turn after warm-up rounds; node ${process.version})`,
  '',
  '| # | workload | iptc | peer | peer time | iptc / peer | target |',
  '|---|---|---|---|---|---|---|',
];
for (const r of results) {
  const peers = Object.keys(r.ratios);
  if (peers.length === 0) peers.push('(none installed)');
  peers.forEach((peer, i) => {
    const target = r.target?.peer === peer ? `≤ ${r.target.max}x ${r.met ? 'met' : 'NOT met'}` : '';
    const peerMs = r.medians[peer];
    lines.push(
      `| ${i === 0 ? r.id : ''} | ${i === 0 ? r.workload : ''} | ${i === 0 ? fmt(r.medians.iptc, r.perOp) : ''} | ${peer} | ` +
        `${peerMs === undefined ? '' : fmt(peerMs, r.perOp)} | ${r.ratios[peer] === undefined ? '' : `${r.ratios[peer].toFixed(2)}x`} | ${target} |`,
    );
  });
}
const notes = results.flatMap((r) => r.notes ?? []);
if (notes.length > 0) lines.push('', ...notes);
console.log(lines.join('\n'));
if (!only) writeFileSync(join(here, 'last-run.json'), `${JSON.stringify({ profile: short ? 'short' : 'full', rounds: ROUNDS, results }, null, 2)}\n`);
if (!pyIptables || !pyroute2) {
  const missing = [!pyIptables && 'python3-iptables', !pyroute2 && 'python3-pyroute2'].filter(Boolean).join(', ');
  console.log(`\nPeers not installed: ${missing} (Debian packages; \`apt-get install ${missing.replace(', ', ' ')}\` adds them).`);
}
