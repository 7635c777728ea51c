// `npm run bench`: the nine workloads of the performance issue, iptc and its peers measured side by side
// in one run, inside the private network namespace scripts/netns-run.mjs makes. Prints a table of medians
// with ratios and writes bench/last-run.json. `--short` runs fewer repetitions (CI); it asserts nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rule, Table } from '../dist/iptc/index.js';
import { IPSet } from '../dist/ipset/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const short = process.argv.includes('--short');
const RUNS = short ? 3 : 5;
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

function loadRules(n, offset = 0) {
  sh('iptables-legacy-restore', ['--noflush'], restoreText(n, '-A', offset));
}

/** One transaction on the filter table: `change` on its INPUT chain, then a single commit. */
function batch(change) {
  const t = new Table('filter', { autocommit: false });
  const input = t.chain('INPUT');
  for (let i = 0; i < RULES; i++) change(input, i);
  t.commit();
  t.close();
}

const withRules = (n) => () => {
  reset();
  loadRules(n);
};

function buildRule(i) {
  const r = new Rule();
  r.src = `${addr(i)}/32`;
  r.protocol = 'tcp';
  r.createMatch('tcp', { dport: '80' });
  r.createTarget('ACCEPT');
  return r;
}

const pythonPeer = (script, module) =>
  existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${module}`]).status === 0 ? join(here, 'peers', script) : null;
const pyIptables = pythonPeer('python_iptables.py', 'iptc');
const pyroute2 = pythonPeer('pyroute2_ipset.py', 'pyroute2.ipset');

function python(script, args) {
  return JSON.parse(sh(PYTHON, [script, ...args])).seconds * 1000;
}

/** Every run's time of the measurements so far, in order (for the JSON results). */
let runTimes = [];

/**
 * Runs `measure` RUNS times after `setup` each time, after one warm-up run that is not counted (the
 * JIT compiles iptc's code on first use; a long-running program pays that once). Returns the median in ms.
 */
function median(setup, measure) {
  setup();
  measure();
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    setup();
    times.push(measure());
  }
  runTimes.push(times.map((t) => Math.round(t * 10) / 10));
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const workloads = [
  {
    id: 1,
    name: `append ${RULES} rules, one commit`,
    ours: () =>
      median(reset, () => timed(() => batch((input, i) => input.appendRule(buildRule(i))))),
    peers: {
      'iptables-legacy-restore': () => median(reset, () => timed(() => sh('iptables-legacy-restore', [], restoreText(RULES)))),
      ...(pyIptables && { 'python-iptables': () => median(reset, () => python(pyIptables, ['append', String(RULES)])) }),
    },
    target: { peer: 'iptables-legacy-restore', max: 1.5 },
  },
  {
    id: 2,
    name: `read ${RULES} rules with all parameters`,
    ours: () =>
      median(withRules(RULES), () =>
        timed(() => {
          const t = new Table('filter');
          for (const r of t.chain('INPUT').rules) r.toString();
          t.close();
        }),
      ),
    peers: {
      'iptables-legacy-save -c': () =>
        median(() => {}, () => timed(() => sh('iptables-legacy-save', ['-c']))),
      ...(pyIptables && { 'python-iptables': () => median(() => {}, () => python(pyIptables, ['read', '0'])) }),
    },
    target: { peer: 'iptables-legacy-save -c', max: 1.5 },
  },
  {
    id: 3,
    name: `read the counters of ${RULES} rules`,
    ours: () =>
      median(
        () => {},
        () =>
          timed(() => {
            const t = new Table('filter');
            for (const r of t.chain('INPUT').rules) void r.counters.packets;
            t.close();
          }),
      ),
    peers: {
      'iptables-legacy-save -c': () => median(() => {}, () => timed(() => sh('iptables-legacy-save', ['-c']))),
      ...(pyIptables && { 'python-iptables': () => median(() => {}, () => python(pyIptables, ['counters', '0'])) }),
    },
    target: { peer: 'iptables-legacy-save -c', max: 1.0 },
  },
  {
    id: 4,
    name: `${INSERTS} autocommit inserts into 1000 rules (per insert)`,
    perOp: INSERTS,
    ours: () =>
      median(withRules(1000), () =>
          timed(() => {
            const t = new Table('filter');
            const input = t.chain('INPUT');
            for (let i = 0; i < INSERTS; i++) input.insertRule(buildRule(100_000 + i), 0);
            t.close();
          }),
      ),
    peers: {
      'iptables-legacy per call': () =>
        median(withRules(1000), () =>
            timed(() => {
              for (let i = 0; i < INSERTS; i++) sh('iptables-legacy', ['-I', 'INPUT', ...ruleSpec(100_000 + i).split(' ')]);
            }),
        ),
      ...(pyIptables && {
        'python-iptables': () =>
          median(withRules(1000), () => python(pyIptables, ['insert', String(INSERTS)])),
      }),
    },
    target: pyIptables ? { peer: 'python-iptables', max: 1.0 } : null,
  },
  {
    id: 5,
    name: `delete ${RULES} rules, one commit`,
    ours: () =>
      median(withRules(RULES), () => timed(() => batch((input, i) => input.deleteRule(buildRule(i))))),
    peers: {
      'iptables-legacy-restore': () =>
        median(withRules(RULES), () => timed(() => sh('iptables-legacy-restore', ['--noflush'], restoreText(RULES, '-D')))),
      ...(pyIptables && {
        'python-iptables': () =>
          median(withRules(RULES), () => python(pyIptables, ['delete', String(RULES)])),
      }),
    },
    target: { peer: 'iptables-legacy-restore', max: 1.5 },
  },
  {
    id: 6,
    name: `restore ${RULES} rules from iptables-save text`,
    ours: () => {
      const text = restoreText(RULES);
      return median(reset, () =>
        timed(() => {
          const t = new Table('filter');
          t.restore(text);
          t.close();
        }),
      );
    },
    peers: {
      'iptables-legacy-restore': () => median(reset, () => timed(() => sh('iptables-legacy-restore', [], restoreText(RULES)))),
    },
    target: { peer: 'iptables-legacy-restore', max: 1.5 },
  },
  {
    id: 7,
    name: `add ${ENTRIES} entries to a hash:ip set`,
    ours: () =>
      median(
        () => {
          reset();
          sh('ipset', ['create', 'bench', 'hash:ip', 'maxelem', '1000000']);
        },
        () => {
          const entries = Array.from({ length: ENTRIES }, (_, i) => addr(i));
          return timed(() => {
            const ipset = new IPSet();
            ipset.addMany('bench', entries);
            ipset.close();
          });
        },
      ),
    peers: {
      'ipset restore': () => {
        const text = Array.from({ length: ENTRIES }, (_, i) => `add bench ${addr(i)}`).join('\n') + '\n';
        return median(
          () => {
            reset();
            sh('ipset', ['create', 'bench', 'hash:ip', 'maxelem', '1000000']);
          },
          () => timed(() => sh('ipset', ['restore'], text)),
        );
      },
      ...(pyroute2 &&
        !short && {
          'pyroute2 (one call per entry)': () =>
            median(
              () => {
                reset();
                sh('ipset', ['create', 'bench', 'hash:ip', 'maxelem', '1000000']);
              },
              () => python(pyroute2, ['add', 'bench', String(ENTRIES)]),
            ),
        }),
    },
    target: { peer: 'ipset restore', max: 1.0 },
  },
  {
    id: 8,
    name: `list a ${ENTRIES}-entry set with content`,
    setup: () => {
      reset();
      sh('ipset', ['create', 'bench', 'hash:ip', 'maxelem', '1000000']);
      sh('ipset', ['restore'], Array.from({ length: ENTRIES }, (_, i) => `add bench ${addr(i)}`).join('\n') + '\n');
    },
    ours: () =>
      median(() => {}, () =>
        timed(() => {
          const ipset = new IPSet();
          const [info] = ipset.list('bench');
          if (info.entries.length !== ENTRIES) throw new Error(`listed ${info.entries.length} entries`);
          ipset.close();
        }),
      ),
    peers: {
      'ipset list -o save': () => median(() => {}, () => timed(() => sh('ipset', ['list', '-o', 'save', 'bench']))),
      ...(pyroute2 && { pyroute2: () => median(() => {}, () => python(pyroute2, ['list', 'bench', '0'])) }),
    },
    target: { peer: 'ipset list -o save', max: 2.0 },
  },
  {
    id: 9,
    name: `${TESTS} test() calls on that set`,
    ours: () =>
      median(() => {}, () => {
        const addrs = Array.from({ length: TESTS }, (_, i) => addr(i * 7));
        return timed(() => {
          const ipset = new IPSet();
          for (const a of addrs) ipset.test('bench', a);
          ipset.close();
        });
      }),
    peers: {
      ...(pyroute2 && { pyroute2: () => median(() => {}, () => python(pyroute2, ['test', 'bench', String(TESTS)])) }),
    },
    target: pyroute2 ? { peer: 'pyroute2', max: 0.1 } : null,
  },
];

const results = [];
for (const w of workloads) {
  w.setup?.();
  runTimes = [];
  const ours = w.ours();
  const oursRuns = runTimes;
  const peers = {};
  for (const [name, run] of Object.entries(w.peers)) peers[name] = run();
  const ratios = Object.fromEntries(Object.entries(peers).map(([name, ms]) => [name, ours / ms]));
  const met = w.target ? ratios[w.target.peer] <= w.target.max : null;
  results.push({ id: w.id, workload: w.name, oursMs: ours, oursRunsMs: oursRuns[0], peersMs: peers, ratios, target: w.target, met, perOp: w.perOp });
  process.stderr.write(`  ${w.id}. ${w.name}: ${ours.toFixed(1)} ms (runs: ${oursRuns[0].join(', ')})\n`);
}
reset();

const fmt = (ms, perOp) => (perOp ? `${(ms / perOp).toFixed(3)} ms/op` : `${ms.toFixed(1)} ms`);
const lines = [
  `iptc bench (${short ? 'short' : 'full'} profile, median of ${RUNS} runs after a warm-up run, node ${process.version})`,
  '',
  '| # | workload | iptc | peer | peer time | iptc / peer | target |',
  '|---|---|---|---|---|---|---|',
];
for (const r of results) {
  const names = Object.keys(r.peersMs);
  if (names.length === 0) names.push('(none installed)');
  names.forEach((peer, i) => {
    const isTarget = r.target?.peer === peer;
    const target = isTarget ? `≤ ${r.target.max}x ${r.met ? 'met' : 'NOT met'}` : '';
    lines.push(
      `| ${i === 0 ? r.id : ''} | ${i === 0 ? r.workload : ''} | ${i === 0 ? fmt(r.oursMs, r.perOp) : ''} | ${peer} | ` +
        `${r.peersMs[peer] === undefined ? '' : fmt(r.peersMs[peer], r.perOp)} | ` +
        `${r.ratios[peer] === undefined ? '' : `${r.ratios[peer].toFixed(2)}x`} | ${target} |`,
    );
  });
}
console.log(lines.join('\n'));
writeFileSync(join(here, 'last-run.json'), `${JSON.stringify({ profile: short ? 'short' : 'full', runs: RUNS, results }, null, 2)}\n`);
if (!pyIptables || !pyroute2) {
  console.log('\nPeers not installed: ' + [!pyIptables && 'python3-iptables', !pyroute2 && 'python3-pyroute2'].filter(Boolean).join(', ') +
    ' (Debian packages; `apt-get install python3-iptables python3-pyroute2` adds them to the comparison).');
}

