// "Fun with IPSet and IPTables": 400 client addresses may each reach 4 ports. As plain rules that is
// 1,600 ACCEPT rules that every packet walks through; as an ipset it is one hash:ip,port set and a
// chain of 8 rules. Real TCP requests from a second namespace measure what each costs, against no
// filtering at all.
//
//   npm run experiments                 (both experiments, full size)
//   node scripts/netns-run.mjs node examples/fun-with-ipset.mjs --short   (CI size)
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Rule, Table } from '../dist/iptc/index.js';
import { IPSet } from '../dist/ipset/index.js';
import { createPeer } from './peer.mjs';

process.removeAllListeners('warning');

const PORTS = [9001, 9002, 9003, 9004];
// 400 client addresses: 10.200.1.1 ... 10.200.2.144.
const CLIENTS = Array.from({ length: 400 }, (_, i) => `10.200.${1 + Math.floor(i / 254)}.${1 + (i % 254)}`);

/** Installs nothing: the baseline. */
function noFiltering() {}

/** 1,600 rules: -s CLIENT -p tcp --dport PORT -j ACCEPT, then DROP. One commit for all of them. */
function manyRules() {
  const filter = new Table('filter', { autocommit: false });
  filter.createChain('clients');
  const chain = filter.chain('clients');
  for (const client of CLIENTS) {
    for (const port of PORTS) chain.appendRule(Rule.parse(['-s', client, '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT']));
  }
  chain.appendRule(Rule.parse('-j DROP'));
  filter.chain('INPUT').appendRule(Rule.parse('-i veth-fw -j clients'));
  filter.commit();
}

/** One hash:ip,port set with the 1,600 pairs, and a chain of 8 rules, one of which uses it. */
function oneSet(ipset) {
  ipset.create('clients', { stype: 'hash:ip,port', maxelem: 4096 });
  ipset.addMany('clients', CLIENTS.flatMap((c) => PORTS.map((p) => `${c},tcp:${p}`)));
  const filter = new Table('filter', { autocommit: false });
  filter.createChain('clients');
  const chain = filter.chain('clients');
  for (const spec of [
    '-p icmp -j ACCEPT',
    '-m conntrack --ctstate INVALID -j DROP',
    '-s 10.99.0.0/16 -p tcp --dport 22 -j ACCEPT',
    '-p udp --dport 53 -j ACCEPT',
    '-p tcp --dport 53 -j ACCEPT',
    '-p tcp -m set --match-set clients src,dst -j ACCEPT',
    '-p tcp --dport 113 -j REJECT --reject-with tcp-reset',
    '-j DROP',
  ]) {
    chain.appendRule(Rule.parse(spec));
  }
  filter.chain('INPUT').appendRule(Rule.parse('-i veth-fw -j clients'));
  filter.commit();
}

function reset(ipset) {
  const filter = new Table('filter');
  filter.flush();
  filter.close();
  for (const s of ipset.list()) ipset.destroy(s.name);
}

export async function run({ short = false } = {}) {
  const requests = short ? 400 : 8000;
  const concurrency = short ? 8 : 32;
  const peer = await createPeer({ here: '10.200.0.1/16', peer: '10.200.0.2/16', peerExtra: CLIENTS.map((c) => `${c}/16`) });
  const servers = await Promise.all(
    PORTS.map(
      (port) =>
        new Promise((resolve) => {
          const s = createServer((socket) => {
            socket.once('data', () => socket.end('pong\n'));
            socket.on('error', () => {});
          });
          s.listen(port, '10.200.0.1', () => resolve(s));
        }),
    ),
  );
  const ipset = new IPSet();
  const client = fileURLToPath(new URL('./fun-client.mjs', import.meta.url));
  const results = [];
  try {
    for (const [label, install] of [
      ['no filtering', noFiltering],
      ['1,600 rules', manyRules],
      ['1 set + 8 rules', oneSet],
    ]) {
      reset(ipset);
      const t0 = performance.now();
      install(ipset);
      const setup = performance.now() - t0;
      // Requests from the last clients: the worst case for the rule list, which is walked in order.
      const sources = CLIENTS.slice(-8);
      const args = JSON.stringify({ server: '10.200.0.1', sources, ports: PORTS, requests, concurrency });
      await peer.node(client, [args]); // warm-up (connection setup paths, JIT)
      const r = JSON.parse(await peer.node(client, [args]));
      const rules = new Table('filter').chains.reduce((n, c) => n + c.rules.length, 0);
      results.push({
        filter: label,
        rules,
        'setup ms': Math.round(setup),
        'req/s': Math.round(r.throughput),
        'p50 ms': r.p50.toFixed(2),
        'p90 ms': r.p90.toFixed(2),
        'p99 ms': r.p99.toFixed(2),
      });
    }
  } finally {
    reset(ipset);
    ipset.close();
    for (const s of servers) s.close();
    peer.close();
  }
  return { requests, concurrency, results };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const short = process.argv.includes('--short');
  const { requests, concurrency, results } = await run({ short });
  console.log(`${requests} requests per filter, ${concurrency} at a time, from the last 8 of the 400 clients:`);
  console.table(results);
}
