// The demo's client, run inside the peer namespace by examples/demo.mjs: TCP connections and UDP
// datagrams to the firewalled namespace, from the addresses it is told, with a short timeout so that
// dropped packets cost little time. Prints one JSON line per attempt.
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';

const [server, server6] = process.argv.slice(2);

function tcp(port, localAddress, label) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host: server, port, localAddress, timeout: 400 });
    let reply = '';
    socket.on('data', (c) => (reply += c));
    socket.on('end', () => resolve({ label, result: `answered ${JSON.stringify(reply.trim())}`, ms: Date.now() - started }));
    socket.on('timeout', () => {
      socket.destroy();
      resolve({ label, result: 'no answer (dropped)', ms: Date.now() - started });
    });
    socket.on('error', (e) => resolve({ label, result: e.code, ms: Date.now() - started }));
  });
}

async function udp(host, port, count, label) {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (let i = 0; i < count; i++) await new Promise((r) => s.send(`datagram ${i}`, port, host, r));
  s.close();
  return { label, result: `${count} datagrams sent` };
}

const attempts = await Promise.all([
  tcp(8080, '10.200.0.2', 'tcp :8080 from 10.200.0.2 #1'),
  tcp(8080, '10.200.0.2', 'tcp :8080 from 10.200.0.2 #2'),
  tcp(8080, '10.200.0.2', 'tcp :8080 from 10.200.0.2 #3'),
  tcp(8080, '10.200.0.66', 'tcp :8080 from 10.200.0.66 (blocklisted)'),
  tcp(22, '10.200.0.2', 'tcp :22 from 10.200.0.2'),
  udp(server, 5353, 4, 'udp :5353'),
  udp(server6, 5353, 2, 'udp [v6]:5353'),
]);
for (const a of attempts) console.log(JSON.stringify(a));
