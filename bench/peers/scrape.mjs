// One Prometheus-style scrape (GET, the whole body read and dropped), as a bench contender: prints the
// milliseconds it took and the bytes it got, as JSON. Usage: node scrape.mjs URL
import { get } from 'node:http';

const start = performance.now();
get(process.argv[2], (res) => {
  if (res.statusCode !== 200) throw new Error(`${process.argv[2]}: HTTP ${res.statusCode}`);
  let bytes = 0;
  res.on('data', (chunk) => (bytes += chunk.length));
  res.on('end', () => process.stdout.write(`${JSON.stringify({ ms: performance.now() - start, bytes })}\n`));
}).on('error', (e) => {
  throw e;
});
