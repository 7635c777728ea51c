// The exporter workloads of `npm run bench`: scrapes of `iptc export` over HTTP at 10,000 and 50,000 rules,
// each with its own comment, source /24, tcp or udp port, conntrack match and ACCEPT or DROP (the varied
// rule set of the speed issue), side by side with iptables-legacy-save -c reading the same table. The
// rules are in a chain no packet goes through: a rule set this long in INPUT would make every packet of
// the scrape itself walk it, which measures the firewall, not the exporter. Besides the times, each
// reports the exporter's peak resident size (its first reading, which decodes every rule, included) and
// that of iptables-legacy-save -c.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '..', 'bin', 'iptc.js');
/** The targets for a scrape at 50,000 rules. */
const TARGET_MS = 300;
const TARGET_RSS = 150 * 2 ** 20;

/** The varied rule set, in the user chain `bench`. */
export function variedRules(n) {
  const lines = ['*filter', ':bench - [0:0]'];
  for (let i = 0; i < n; i++) {
    const proto = i % 2 ? 'tcp' : 'udp';
    lines.push(
      `-A bench -s 10.${(i >> 8) & 255}.${i & 255}.0/24 -p ${proto} -m ${proto} --dport ${1 + (i % 60000)} ` +
        `-m conntrack --ctstate NEW -m comment --comment "rule ${i} of the bench" -j ${i % 3 ? 'ACCEPT' : 'DROP'}`,
    );
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function sh(file, args, input) {
  const r = spawnSync(file, args, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}

const json = (file, args) => JSON.parse(sh(process.execPath, [join(here, 'peers', file), ...args]));

/** `iptc export` in a process of its own, on a free port, started once its first reading is done. */
function startExporter() {
  const log = join(tmpdir(), `iptc-bench-export-${process.pid}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, [BIN, 'export', '--listen', '127.0.0.1:0', '-4', '--no-ipset'], { stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  let url;
  for (let i = 0; i < 1200 && !url; i++) {
    sleep(50);
    url = /listening on (\S+)/.exec(readFileSync(log, 'utf8'))?.[1];
  }
  rmSync(log, { force: true });
  if (!url) throw new Error('iptc export did not start');
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return {
    url,
    peakRss: () => Number(/VmHWM:\s+(\d+) kB/.exec(status())[1]) * 1024,
    stop: () => child.kill('SIGTERM'),
  };
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** The exporter workload at `rules` rules, for bench/run.mjs. */
function scrapeWorkload(rules, contender) {
  let exporter;
  let bytes = 0;
  let peerRss = 0;
  let rss = 0;
  return {
    name: `exporter: one scrape of ${rules} rules with a comment each`,
    setup: () => {
      sh('iptables-legacy-restore', [], variedRules(rules));
      exporter = startExporter();
    },
    teardown: () => {
      if (exporter) rss = exporter.peakRss();
      exporter?.stop();
      sh('iptables-legacy-restore', [], '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
    },
    target: null,
    contenders: {
      iptc: contender(null, () => {
        const r = json('scrape.mjs', [exporter.url]);
        bytes = r.bytes;
        return r.ms;
      }),
      'iptables-legacy-save -c': contender(null, () => {
        const r = json('peak-rss.mjs', ['iptables-legacy-save', '-c']);
        peerRss = Math.max(peerRss, r.maxrss);
        return r.ms;
      }),
    },
    /** Lines for under the table, once measured: sizes and peak memory, and the targets at 50,000 rules. */
    notes: (medians) => {
      const lines = [
        `exporter, ${rules} rules: ${(bytes / 1e6).toFixed(1)} MB a scrape; peak RSS of iptc export ${mib(rss)}, of iptables-legacy-save -c ${mib(peerRss)}`,
      ];
      if (rules >= 50_000) {
        const ms = medians.iptc;
        lines.push(
          `  targets at ${rules} rules: a scrape ≤ ${TARGET_MS} ms (${ms.toFixed(0)} ms: ${ms <= TARGET_MS ? 'met' : 'NOT met'}), ` +
            `RSS ≤ ${mib(TARGET_RSS)} (${mib(rss)}: ${rss <= TARGET_RSS ? 'met' : 'NOT met'})`,
        );
      }
      return lines;
    },
  };
}

/** The exporter workloads; `contender(setup, run)` is bench/run.mjs's. */
export function exporterWorkloads(contender) {
  return [scrapeWorkload(10_000, contender), scrapeWorkload(50_000, contender)];
}
