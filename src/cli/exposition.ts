// The Prometheus text exposition format (version 0.0.4), written as a sequence of chunks: a scrape of a
// large rule set is tens of megabytes, and a chunk at a time is all that needs to exist of it. The
// writer copies bytes kept from earlier scrapes and writes numbers digit by digit, so that a scrape
// makes next to no garbage for the collector.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * A chunk is taken once it holds this many bytes (the last of a scrape may hold fewer). Each chunk costs
 * a round trip through the event loop before the next is written: 64 KiB chunks made a scrape of 5 MB
 * take twice as long as 256 KiB ones, and larger ones gained nothing more.
 */
const CHUNK = 256 * 1024;
/** A chunk's buffer: room for the line that fills it (a longer line makes a larger one). */
const CHUNK_BUFFER = CHUNK + 16 * 1024;
/** Chunk buffers kept for reuse: a scrape's chunks come back as they are sent, so a few go round. */
const POOLED = 16;
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

/** The texts of many series in one buffer: text `i` from at[i] to at[i + 1]. */
export interface Texts {
  readonly bytes: Buffer;
  readonly at: Uint32Array;
}

const POSITION = Buffer.from(',position="');
const RULE = Buffer.from(',rule="');

/** Copies src[start, end) to dst at `at`; returns where it ends. */
function copy(dst: Buffer, at: number, src: Uint8Array, start: number, end: number): number {
  const n = end - start;
  // A short run costs less copied by hand than through a view (an object for the collector).
  if (n > 32) dst.set(new Uint8Array(src.buffer, src.byteOffset + start, n), at);
  else for (let k = 0; k < n; k++) dst[at + k] = src[start + k]!;
  return at + n;
}

/** Writes a whole number from 0 to 2^53 in decimal at `at`; returns where it ends. */
function writeWhole(buf: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let pos = at + digits;
  let x = n;
  do {
    buf[--pos] = 48 + (x % 10);
    x = Math.floor(x / 10);
  } while (x > 0);
  return at + digits;
}

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

  /**
   * The lines `NAME{LABELS_i} VALUE_i` of series from..labels' count, until the chunk is full; returns
   * the next series. `name` is the metric's name and `{`; LABELS_i is labels' text i, followed by
   * `,position="i + 1"` with `position`. VALUE_i is a 64-bit counter from its 32-bit halves, low at
   * counters[4i + at] and high after it; or, given `specs`, `1` after the label `rule` with specs' text i.
   */
  series(name: Uint8Array, labels: Texts, from: number, position: boolean, value: { counters: Uint32Array; at: number } | { specs: Texts }): number {
    const count = labels.at.length - 1;
    const { bytes: text, at: textAt } = labels;
    const counters = 'counters' in value ? value.counters : null;
    const half = 'counters' in value ? value.at : 0;
    const specs = 'specs' in value ? value.specs : null;
    let i = from;
    for (; i < count && this.#at < CHUNK; i++) {
      const specLength = specs ? specs.at[i + 1]! - specs.at[i]! : 0;
      this.#room(name.length + textAt[i + 1]! - textAt[i]! + specLength + 64);
      const buf = this.#buf;
      let at = copy(buf, this.#at, name, 0, name.length);
      at = copy(buf, at, text, textAt[i]!, textAt[i + 1]!);
      if (position) {
        at = writeWhole(buf, copy(buf, at, POSITION, 0, POSITION.length), i + 1);
        buf[at++] = 0x22;
      }
      if (specs) {
        at = copy(buf, copy(buf, at, RULE, 0, RULE.length), specs.bytes, specs.at[i]!, specs.at[i + 1]!);
        buf[at++] = 0x22;
        buf[at++] = 0x7d;
        buf[at++] = 0x20;
        buf[at++] = 0x31;
      } else {
        buf[at++] = 0x7d;
        buf[at++] = 0x20;
        const low = counters![i * 4 + half]!;
        const high = counters![i * 4 + half + 1]!;
        // Below 2^53 a double holds it exactly; a counter that large (8 PiB) is rare, but is printed right.
        if (high < 0x200000) at = writeWhole(buf, at, high * 0x100000000 + low);
        else at += buf.write(((BigInt(high) << 32n) | BigInt(low)).toString(), at, 'latin1');
      }
      buf[at++] = 0x0a;
      this.#at = at;
    }
    return i;
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
