// Soak: many parse/decode cycles, commits and ipset operations in one process, with its resident memory
// and open file descriptors measured before and after. Each phase warms up first (JIT, extension plugins
// loaded, buffers grown), so that the figures show growth per operation, not start-up. A leak of a libiptc
// handle (it owns a raw socket), of the lock file descriptor or of a netlink socket shows as fd growth; a
// C-side leak per call shows as RSS growth. `npm test` runs a short profile, `npm run stress` the full one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPSet } from '../src/ipset/index.js';
import { Rule, Rule6, Table } from '../src/iptc/index.js';
import { ipt, resetKernel, rules } from './kernel.js';
import { fullGc, LONG, openFds, profile, rssMiB } from './stress.js';

const PARSES = profile(20_000, 100_000);
const COMMITS = profile(1_000, 10_000);
const IPSET_OPS = profile(2_000, 10_000);
/**
 * Allowed growth per phase. RSS inside the test runner is noisy (V8 and malloc keep freed pages; measured
 * standalone with a full GC, parse/decode and commits plateau within ~10-20 MiB), so its bound only
 * catches gross native leaks (1 KiB per cycle is 98 MiB at 100,000). The JS heap after a full GC is
 * precise, hence its tighter bound.
 */
const RSS_SLACK_MIB = 96;
const HEAP_SLACK_MIB = 16;

const figures: string[] = [];

beforeAll(() => {
  resetKernel();
  ipt(['-N', 'soak']);
});

afterAll(() => {
  console.log(`soak (${LONG ? 'long' : 'short'} profile):\n  ${figures.join('\n  ')}`);
  resetKernel();
});

/** Runs `body(i)` `count` times after a warm-up of `warm` rounds, and records the process figures. */
function measure(name: string, count: number, warm: number, body: (i: number) => void): { rss: number; heap: number; fds: number } {
  const heapMiB = () => Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
  for (let i = 0; i < warm; i++) body(i);
  fullGc();
  const rss0 = rssMiB();
  const heap0 = heapMiB();
  const fds0 = openFds();
  const started = performance.now();
  for (let i = 0; i < count; i++) body(i);
  const ms = Math.round(performance.now() - started);
  fullGc();
  const rss1 = rssMiB();
  const heap1 = heapMiB();
  const fds1 = openFds();
  figures.push(
    `${name}: ${count} in ${ms} ms; RSS ${rss0} -> ${rss1} MiB (${rss1 - rss0 >= 0 ? '+' : ''}${Math.round((rss1 - rss0) * 10) / 10}); ` +
      `JS heap ${heap0} -> ${heap1} MiB; open fds ${fds0} -> ${fds1}`,
  );
  return { rss: rss1 - rss0, heap: heap1 - heap0, fds: fds1 - fds0 };
}

const SPECS: [typeof Rule, string, string, boolean][] = [
  [Rule, '-s 10.1.2.0/24 -i eth+ -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment "soak ssh" -j ACCEPT', 'ACCEPT', true],
  [Rule, '-d 192.0.2.1/32 -p udp -m udp --sport 53 -m limit --limit 5/sec -j LOG --log-prefix "soak: " --log-level 4', 'LOG', false],
  [Rule6, '-s 2001:db8::/32 -p tcp -m multiport --dports 80,443 -m state --state RELATED,ESTABLISHED -j ACCEPT', 'ACCEPT', true],
  [Rule, '! -s 10.0.0.0/8 -p icmp -m icmp --icmp-type 8 -j REJECT --reject-with icmp-host-prohibited', 'REJECT', false],
];

describe('soak', () => {
  it(`${PARSES} parse/decode cycles: bounded RSS, no fd growth`, () => {
    const d = measure('parse/decode cycles (Rule.parse -> entry -> Rule.fromEntry -> text)', PARSES, 2_000, (i) => {
      const [R, spec, label, standard] = SPECS[i % SPECS.length]!;
      const rule = R.parse(spec);
      const back = R.fromEntry({ entry: rule.toEntry(), label, standard });
      if (i % 997 === 0) expect(back.toString()).toBe(rule.toString());
      else back.toString();
    });
    expect(d.fds).toBe(0);
    expect(d.rss).toBeLessThan(RSS_SLACK_MIB);
    expect(d.heap).toBeLessThan(HEAP_SLACK_MIB);
  }, LONG ? 600_000 : 60_000);

  it(`${COMMITS} commits (autocommitted changes and batches, each under the xtables lock): bounded RSS, no fd growth`, () => {
    const t = new Table('filter');
    const batch = new Table('filter', { autocommit: false });
    const rule = (i: number) => Rule.parse(`-s 10.2.${(i >> 8) & 255}.${i & 255} -m comment --comment c${i} -j ACCEPT`);
    const d = measure('commits (append/delete autocommitted, 1 in 4 a 3-change batch)', COMMITS, 200, (i) => {
      const chain = 'soak';
      if (i % 4 === 3) {
        batch.chain(chain).appendRule(rule(i));
        batch.chain(chain).insertRule(rule(i + 1_000_000), 0);
        batch.chain(chain).deleteRule(rule(i));
        batch.commit();
        t.chain(chain).deleteRule(rule(i + 1_000_000));
        t.chain(chain).deleteRule(rule(i - 1));
      } else if (i % 2 === 0) {
        t.chain(chain).appendRule(rule(i));
      } else {
        t.chain(chain).deleteRule(rule(i - 1));
      }
    });
    t.close();
    batch.close();
    expect(rules('filter', 'soak')).toEqual([]);
    expect(d.fds).toBe(0);
    expect(d.rss).toBeLessThan(RSS_SLACK_MIB);
    expect(d.heap).toBeLessThan(HEAP_SLACK_MIB);
  }, LONG ? 900_000 : 60_000);

  it(`${IPSET_OPS} ipset operations: bounded RSS, no fd growth`, () => {
    const ips = new IPSet();
    ips.create('soak', { stype: 'hash:ip,port', counters: true, comment: true });
    const entry = (i: number) => `10.3.${(i >> 8) & 255}.${i & 255},tcp:${1 + (i % 60000)}`;
    const d = measure('ipset operations (add / test / del / list, one netlink exchange each)', IPSET_OPS, 500, (i) => {
      switch (i % 4) {
        case 0:
          ips.add('soak', entry(i), { comment: `e${i}` });
          break;
        case 1:
          if (!ips.test('soak', entry(i - 1))) throw new Error(`lost ${entry(i - 1)}`);
          break;
        case 2:
          ips.delete('soak', entry(i - 2));
          break;
        default:
          ips.list('soak');
      }
    });
    expect(ips.list('soak')[0]!.entries).toHaveLength(0);
    ips.destroy('soak');
    ips.close();
    expect(d.fds).toBe(0);
    expect(d.rss).toBeLessThan(RSS_SLACK_MIB);
    expect(d.heap).toBeLessThan(HEAP_SLACK_MIB);
  }, LONG ? 600_000 : 60_000);
});
