// The Prometheus text exposition format (version 0.0.4), written as a sequence of chunks: a scrape of a
// large rule set is tens of megabytes, and a chunk at a time is all that needs to exist of it. The
// writer copies bytes kept from earlier scrapes and writes numbers digit by digit, so that a scrape
// makes next to no garbage for the collector.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A chunk is taken once it holds this many bytes (the last of a scrape may hold fewer). */
const CHUNK = 64 * 1024;
/** A chunk's buffer: room for the line that fills it (a longer line makes a larger one). */
const CHUNK_BUFFER = CHUNK + 16 * 1024;
/** Chunk buffers kept for reuse: a scrape's chunks come back as they are sent, so a few go round. */
const POOLED = 64;
const pool: Buffer[] = [];

/**
 * Gives a chunk from ChunkWriter.take() back for reuse, once nothing will read it again (every write of
 * it has completed): chunks made anew at every scrape would be garbage the collector takes long to free.
 */
export function recycleChunk(chunk: Buffer): void {
  const whole = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.buffer.byteLength - chunk.byteOffset);
  if (chunk.byteOffset === 0 && whole.length === CHUNK_BUFFER && pool.length < POOLED) pool.push(whole);
}

const newChunk = () => pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BUFFER);

/** Escapes a label value as the exposition format requires: backslash, double quote, newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name="value"` pairs joined by commas, values escaped. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',');
}

export type MetricType = 'counter' | 'gauge';

/** Bytes written into chunks: write lines, and yield `take()` whenever `full`. */
export class ChunkWriter {
  #buf = newChunk();
  #at = 0;

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(bigger, 0, 0, this.#at);
    this.#buf = bigger;
  }

  /** Any text, as UTF-8. */
  text(s: string): void {
    this.#room(s.length * 3);
    this.#at += this.#buf.write(s, this.#at);
  }

  /** `src[start, end)`, copied. */
  bytes(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.#room(n);
    const buf = this.#buf;
    let at = this.#at;
    // A short run costs less copied by hand than through a view (an object for the collector).
    if (n > 32) buf.set(new Uint8Array(src.buffer, src.byteOffset + start, n), at);
    else for (let k = start; k < end; k++) buf[at + k - start] = src[k]!;
    at += n;
    this.#at = at;
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#at++] = b;
  }

  /** A whole number from 0 to 2^53, in decimal. */
  whole(n: number): void {
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    this.#room(digits);
    const buf = this.#buf;
    let pos = this.#at + digits;
    let x = n;
    do {
      buf[--pos] = 48 + (x % 10);
      x = Math.floor(x / 10);
    } while (x > 0);
    this.#at += digits;
  }

  /** A 64-bit counter from its two 32-bit halves, in decimal, exactly. */
  u64(low: number, high: number): void {
    // Below 2^53 a double holds it exactly; a counter that large (8 PiB) is rare, but is still printed right.
    if (high < 0x200000) this.whole(high * 0x100000000 + low);
    else this.text(((BigInt(high) << 32n) | BigInt(low)).toString());
  }

  /** The family's HELP and TYPE lines. */
  family(name: string, type: MetricType, help: string): void {
    this.text(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
  }

  /** One sample line from texts; `labels` is what goes between the braces ('' for none). */
  sample(name: string, labels: string, value: string | number): void {
    this.text(labels === '' ? `${name} ${value}\n` : `${name}{${labels}} ${value}\n`);
  }

  get full(): boolean {
    return this.#at >= CHUNK;
  }

  /** Gives the chunk being written back for reuse: the writer is not used again. */
  dispose(): void {
    recycleChunk(this.#buf.subarray(0, 0));
  }

  /** The bytes written since the last take. */
  take(): Buffer {
    const chunk = this.#buf.subarray(0, this.#at);
    this.#buf = newChunk();
    this.#at = 0;
    return chunk;
  }
}
