// The demo: a small firewall built with iptc in one network namespace, a client in a second one joined
// by a veth pair, real traffic between them, and the per-rule counters that show what matched.
// Run it with `npm run demo`: scripts/netns-run.mjs runs it in a private namespace, so the host's
// firewall and interfaces are never touched.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { Table, Table6, Rule, Rule6 } from '../dist/iptc/index.js';
import { WiSet } from '../dist/ipset/index.js';
import { createPeer } from './peer.mjs';

process.removeAllListeners('warning'); // `iptc backend` explains the backend warning; not needed here
const started = Date.now();

// 1. Two namespaces joined by a veth pair: this one (the firewall, 10.200.0.1) and the client's.
const peer = await createPeer({
  here: '10.200.0.1/24',
  peer: '10.200.0.2/24',
  peerExtra: ['10.200.0.66/24'],
  here6: 'fd00:200::1/64',
  peer6: 'fd00:200::2/64',
});

try {
  // 2. A blocklist ipset, with per-entry counters and comments.
  const blocklist = new WiSet({ name: 'blocklist', attrType: 'hash:ip', counters: true, comment: true });
  blocklist.create();
  blocklist.add('10.200.0.66', { comment: 'known scanner' });
  blocklist.add('198.51.100.7', { comment: 'from a threat feed' });

  // 3. The firewall: one transaction, nothing reaches the kernel until commit().
  const rule = (RuleClass, spec, comment) => {
    const r = RuleClass.parse(spec);
    r.createMatch('comment', { comment });
    return r;
  };
  const filter = new Table(Table.FILTER, { autocommit: false });
  filter.createChain('web');
  const input = filter.chain('INPUT');
  input.appendRule(rule(Rule, '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', 'replies and established flows'));
  input.appendRule(rule(Rule, '-i veth-fw -m set --match-set blocklist src -j DROP', 'blocklist (ipset)'));
  input.appendRule(rule(Rule, '-i veth-fw -p tcp --dport 8080 --syn -m conntrack --ctstate NEW -j web', 'new web connections'));
  input.appendRule(rule(Rule, '-i veth-fw -p udp --dport 5353 -j ACCEPT', 'udp 5353'));
  input.appendRule(rule(Rule, '-i veth-fw -j DROP', 'everything else from the veth'));
  filter.chain('web').appendRule(rule(Rule, '-s 10.200.0.0/24 -j ACCEPT', 'web: clients on the veth'));
  filter.commit();

  const filter6 = new Table6(Table6.FILTER);
  filter6.chain('INPUT').appendRule(rule(Rule6, '-i veth-fw -p udp --dport 5353 -j DROP', 'IPv6: drop udp 5353'));

  // 4. Services here, traffic from the peer namespace.
  const web = createServer((socket) => socket.end('hello from the firewalled side\n'));
  await new Promise((resolve) => web.listen(8080, '10.200.0.1', resolve));
  const mdns = createSocket('udp4');
  let datagrams = 0;
  mdns.on('message', () => datagrams++);
  await new Promise((resolve) => mdns.bind(5353, '10.200.0.1', resolve));

  const client = fileURLToPath(new URL('./demo-client.mjs', import.meta.url));
  const outcomes = (await peer.node(client, ['10.200.0.1', 'fd00:200::1'])).trim().split('\n').map((l) => JSON.parse(l));
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the last datagrams arrive
  web.close();
  mdns.close();

  console.log('What the client in the other namespace saw:');
  console.table(outcomes.map(({ label, result }) => ({ attempt: label, result })));
  console.log(`The UDP service here received ${datagrams} datagrams.\n`);

  // 5. The counters: a fresh read of the kernel.
  const rows = [];
  for (const table of [new Table(Table.FILTER), new Table6(Table6.FILTER)]) {
    for (const chain of table.chains) {
      chain.rules.forEach((r, i) => {
        rows.push({
          family: table.family === 6 ? 'IPv6' : 'IPv4',
          chain: chain.name,
          '#': i + 1,
          packets: r.counters.packets,
          bytes: r.counters.bytes,
          rule: r.matches.find((m) => m.name === 'comment')?.get('comment') ?? r.toString(),
        });
      });
    }
    table.close();
  }
  console.log('Per-rule counters after the traffic:');
  console.table(rows);

  blocklist.updateContent();
  console.log('Blocklist entries and their counters:');
  console.table([...blocklist.content].map(([entry, s]) => ({ entry, packets: s.packets, bytes: s.bytes, comment: s.comment })));

  console.log('\nThe IPv4 filter table as iptables-legacy-save -c prints it (also: `iptc save -c`):\n');
  console.log(new Table(Table.FILTER).save({ counters: true }));
  console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
} finally {
  peer.close();
}
