// A small firewall built with iptc, real traffic on the loopback interface, and the per-rule counters
// that show what matched. Run it with `npm run demo`: it runs in a private network namespace of its own.
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { Table, Table6, Rule, Rule6 } from '../dist/iptc/index.js';

process.removeAllListeners('warning'); // the demo explains the backend itself, below

function rule(RuleClass, build) {
  const r = new RuleClass();
  build(r);
  return r;
}

// One transaction: nothing reaches the kernel until commit().
const filter = new Table(Table.FILTER, { autocommit: false });
const input = filter.chain('INPUT');
filter.createChain('web');
input.appendRule(rule(Rule, (r) => {
  r.createMatch('conntrack', { ctstate: 'RELATED,ESTABLISHED' });
  r.createMatch('comment', { comment: 'replies and established flows' });
  r.createTarget('ACCEPT');
}));
input.appendRule(rule(Rule, (r) => {
  r.protocol = 'tcp';
  r.createMatch('tcp', { dport: '8080', syn: true });
  r.createMatch('comment', { comment: 'new connections to the web port' });
  r.createTarget('web');
}));
filter.chain('web').appendRule(rule(Rule, (r) => {
  r.src = '127.0.0.0/8';
  r.createMatch('comment', { comment: 'web: loopback clients' });
  r.createTarget('ACCEPT');
}));
input.appendRule(rule(Rule, (r) => {
  r.protocol = 'udp';
  r.createMatch('udp', { dport: '9999' });
  r.createMatch('comment', { comment: 'drop udp/9999' });
  r.createTarget('DROP');
}));
filter.commit();

const filter6 = new Table6(Table6.FILTER);
filter6.chain('INPUT').appendRule(rule(Rule6, (r) => {
  r.src = '::1/128';
  r.protocol = 'udp';
  r.createMatch('udp', { dport: '9999' });
  r.createMatch('comment', { comment: 'IPv6: drop udp/9999 from ::1' });
  r.createTarget('DROP');
}));

// Traffic: 3 TCP connections to :8080, 5 UDP datagrams to 127.0.0.1:9999 and 2 to [::1]:9999.
const server = createServer((socket) => socket.end('hello\n'));
await new Promise((resolve) => server.listen(8080, '127.0.0.1', resolve));
for (let i = 0; i < 3; i++) {
  await new Promise((resolve, reject) => {
    const c = connect(8080, '127.0.0.1');
    c.on('data', () => {});
    c.on('end', resolve);
    c.on('error', reject);
  });
}
server.close();
for (const [family, host, count] of [['udp4', '127.0.0.1', 5], ['udp6', '::1', 2]]) {
  const s = createSocket(family);
  for (let i = 0; i < count; i++) await new Promise((resolve) => s.send(`datagram ${i}`, 9999, host, resolve));
  s.close();
}

// Counters: a fresh read of the kernel.
filter.refresh();
filter6.refresh();
const rows = [];
for (const [table, family] of [[filter, 'IPv4'], [filter6, 'IPv6']]) {
  for (const chain of table.chains) {
    chain.rules.forEach((r, i) => {
      rows.push({
        family,
        chain: chain.name,
        '#': i + 1,
        packets: r.counters.packets,
        bytes: r.counters.bytes,
        rule: r.matches.find((m) => m.name === 'comment')?.get('comment') ?? r.toString(),
      });
    });
  }
}
console.log('Per-rule counters after the traffic:');
console.table(rows);
console.log('\nThe IPv4 filter table as iptables-legacy-save -c prints it:\n');
console.log(filter.save({ counters: true }));
filter.close();
filter6.close();
