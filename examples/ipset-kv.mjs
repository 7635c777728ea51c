// "Using ipset the wrong way": a key-value store kept in the kernel's ipsets. Do not do this in
// production; it shows what hash:ip,port sets, timeouts and IPv6 addresses can carry.
//
// Each key is one hash:ip,port set. The value's UTF-8 bytes are cut into address-sized chunks (4 bytes
// per IPv4 address, 16 per IPv6 address: IPv6 stores 4 times as much per entry) and each chunk is one
// element, with the port as its sequence number. Port 0 holds a header (the value's length). The
// kernel refuses the all-zero address, so a chunk of zero bytes is stored as the address ...1 with
// protocol udp instead of tcp. Expiring keys are entry timeouts: the kernel forgets the value by itself.
//
//   node examples/ipset-kv.mjs            (under scripts/netns-run.mjs: see `npm run experiments`)
import { IPSet } from '../dist/ipset/index.js';

const PREFIX = 'kv.';
const MAX_KEY = 31 - PREFIX.length;

function words(bytes) {
  const out = [];
  for (let i = 0; i < bytes.length; i += 2) out.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return out.join(':');
}

function chunkToAddress(chunk, family) {
  return family === 'inet6' ? words(chunk) : Array.from(chunk).join('.');
}

/** Address text as ipset prints it -> bytes. */
function addressToBytes(text, family) {
  if (family === 'inet') return Uint8Array.from(text.split('.').map(Number));
  let groups = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    groups = `${groups.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = groups.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

export class IpsetKV {
  /** family 'inet' (4 bytes per entry) or 'inet6' (16 bytes per entry). */
  constructor({ family = 'inet', socket = new IPSet() } = {}) {
    this.family = family;
    this.width = family === 'inet6' ? 16 : 4;
    this.ipset = socket;
  }

  #name(key) {
    if (typeof key !== 'string' || key === '' || key.length > MAX_KEY || /\s/.test(key)) {
      throw new RangeError(`a key is 1 to ${MAX_KEY} characters without spaces, got ${JSON.stringify(key)}`);
    }
    return PREFIX + key;
  }

  /** The elements that store a value: header at port 0, then one chunk per port. */
  encode(value) {
    const bytes = new TextEncoder().encode(value);
    const chunks = Math.ceil(bytes.length / this.width);
    if (chunks > 65535) throw new RangeError(`value too long: at most ${65535 * this.width} bytes`);
    const header = new Uint8Array(this.width);
    new DataView(header.buffer).setUint32(this.width - 4, bytes.length);
    header[0] = 0xff; // never the zero address, whatever the length (at most 24 bits of it with IPv4)
    const entries = [`${chunkToAddress(header, this.family)},tcp:0`];
    for (let i = 0; i < chunks; i++) {
      const chunk = new Uint8Array(this.width);
      chunk.set(bytes.subarray(i * this.width, (i + 1) * this.width));
      const zero = chunk.every((b) => b === 0);
      if (zero) chunk[this.width - 1] = 1;
      entries.push(`${chunkToAddress(chunk, this.family)},${zero ? 'udp' : 'tcp'}:${i + 1}`);
    }
    return entries;
  }

  /** Stores a value; `ttl` seconds makes it expire. Readers see the old or the new value, never a mix. */
  set(key, value, { ttl = 0 } = {}) {
    const name = this.#name(key);
    const temp = `kv~${key}`;
    const entries = this.encode(String(value));
    const options = { stype: 'hash:ip,port', family: this.family, timeout: 0, maxelem: Math.max(65536, entries.length) };
    this.ipset.create(temp, { ...options, exclusive: false });
    this.ipset.flush(temp);
    this.ipset.addMany(temp, entries, { timeout: ttl });
    this.ipset.create(name, { ...options, exclusive: false });
    this.ipset.swap(temp, name); // atomic: the new value appears all at once
    this.ipset.destroy(temp);
  }

  /** The value, or undefined if absent or expired (the kernel dropped its entries). */
  get(key) {
    const name = this.#name(key);
    let info;
    try {
      [info] = this.ipset.list(name);
    } catch (e) {
      if (e.errno === 2) return undefined;
      throw e;
    }
    const chunks = new Map();
    for (const { entry } of info.entries) {
      const comma = entry.lastIndexOf(',');
      const [proto, port] = entry.slice(comma + 1).split(':');
      const bytes = addressToBytes(entry.slice(0, comma), this.family);
      chunks.set(Number(port), proto === 'udp' ? new Uint8Array(this.width) : bytes);
    }
    const header = chunks.get(0);
    if (!header) return undefined;
    const length = new DataView(header.buffer).getUint32(this.width - 4) & (this.width === 4 ? 0xffffff : 0xffffffff);
    const count = Math.ceil(length / this.width);
    const out = new Uint8Array(count * this.width);
    for (let i = 1; i <= count; i++) {
      const chunk = chunks.get(i);
      if (!chunk) return undefined; // expiring: part of it is gone already
      out.set(chunk, (i - 1) * this.width);
    }
    return new TextDecoder().decode(out.subarray(0, length));
  }

  delete(key) {
    try {
      this.ipset.destroy(this.#name(key));
      return true;
    } catch (e) {
      if (e.errno === 2) return false;
      throw e;
    }
  }

  keys() {
    return this.ipset.list().filter((s) => s.name.startsWith(PREFIX) && s.header.family === this.family && s.entries.length > 0).map((s) => s.name.slice(PREFIX.length));
  }

  /** Elements and kernel memory used by a key. */
  usage(key) {
    const h = this.ipset.headers(this.#name(key)).header;
    return { entries: h.elements ?? 0, bytes: h.memsize ?? 0 };
  }
}

async function main() {
  const short = process.argv.includes('--short');
  const ipset = new IPSet();
  const kv4 = new IpsetKV({ socket: ipset });
  const kv6 = new IpsetKV({ family: 'inet6', socket: ipset });

  kv4.set('greeting', 'Hello from the kernel! ¡Hola! こんにちは');
  console.log(`get greeting -> ${JSON.stringify(kv4.get('greeting'))}`);
  console.log('the set behind it (ipset save):');
  console.log(ipset.save('kv.greeting').trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
  kv4.set('greeting', 'replaced atomically');
  console.log(`get greeting -> ${JSON.stringify(kv4.get('greeting'))}`);
  kv4.set('zeros', '\u0000'.repeat(9));
  console.log(`nine NUL bytes round-trip: ${kv4.get('zeros') === '\u0000'.repeat(9)}`);

  kv4.set('session', 'expires soon', { ttl: 1 });
  console.log(`keys -> ${JSON.stringify(kv4.keys().sort())}`);
  console.log(`get session -> ${JSON.stringify(kv4.get('session'))}`);
  await new Promise((r) => setTimeout(r, 2100));
  console.log(`after 2.1 s: get session -> ${JSON.stringify(kv4.get('session'))}`);

  console.log(`delete greeting -> ${kv4.delete('greeting')}; get greeting -> ${JSON.stringify(kv4.get('greeting'))}`);

  const text = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(short ? 20 : 200);
  kv4.set('lorem', text);
  kv6.set('lorem6', text);
  const u4 = kv4.usage('lorem');
  const u6 = kv6.usage('lorem6');
  console.log(`\nStoring ${text.length} bytes:`);
  console.table([
    { family: 'IPv4', 'bytes/entry': 4, entries: u4.entries, 'kernel memory': u4.bytes, 'round-trips': kv4.get('lorem') === text },
    { family: 'IPv6', 'bytes/entry': 16, entries: u6.entries, 'kernel memory': u6.bytes, 'round-trips': kv6.get('lorem6') === text },
  ]);
  for (const k of kv4.keys()) kv4.delete(k);
  for (const k of kv6.keys()) kv6.delete(k);
  ipset.close();
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
