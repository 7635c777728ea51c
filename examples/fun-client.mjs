// The load generator of examples/fun-with-ipset.mjs, run inside the client namespace: `requests` TCP
// request/response exchanges (connect, send, read the answer, close), `concurrency` at a time, each
// from one of the given source addresses to one of the given ports. Prints one JSON object.
import { connect } from 'node:net';

const { server, sources, ports, requests, concurrency } = JSON.parse(process.argv[2]);

function once(i) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const socket = connect({ host: server, port: ports[i % ports.length], localAddress: sources[Math.floor(i / ports.length) % sources.length] });
    socket.setTimeout(5000);
    socket.on('connect', () => socket.write('ping\n'));
    socket.on('data', () => {});
    socket.on('end', () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
    socket.on('timeout', () => reject(new Error(`request ${i} timed out (dropped by the firewall?)`)));
    socket.on('error', reject);
  });
}

const latencies = [];
let next = 0;
const started = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < requests) latencies.push(await once(next++));
  }),
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(JSON.stringify({ requests, seconds, throughput: requests / seconds, p50: pct(50), p90: pct(90), p99: pct(99), max: latencies.at(-1) }));
