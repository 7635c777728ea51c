// One reading's text, shared by the responses that answer it: each chunk is written once, when the
// fastest of them needs it, and let go once the slowest has taken it (see ResponseBudget).
import type { ServerResponse } from 'node:http';

/** One response's progress through a body. */
export interface Delivery {
  res: ServerResponse;
  /** Index of the next chunk to hand to the connection. */
  next: number;
  /** When the connection last took a chunk (or, before it took any, when the response began). */
  progressed: number;
}

/** A chunk of a body, and how many of its writes to connections have not completed. */
interface Chunk {
  bytes: Buffer;
  writing: number;
  /** Let go by the body: no delivery will write it again. */
  released: boolean;
}

/** One reading's text, written chunk by chunk as the responses that share it need it. */
export class StreamedBody {
  /** Chunks written and not yet taken by every delivery; #chunks[0] is chunk #first. */
  readonly #chunks: Chunk[] = [];
  #first = 0;
  #held = 0;
  #source: Iterator<Buffer> | null;
  /** While open, more responses may join, from the first chunk on: nothing is let go. */
  #open = true;
  readonly deliveries = new Set<Delivery>();

  /**
   * `source` writes the text; `base` is what the reading keeps alive meanwhile, in bytes. `recycle`
   * hears of each chunk that nothing will read again (every write of it completed, and let go).
   */
  constructor(
    source: Iterable<Buffer>,
    readonly base: number,
    private readonly recycle: (chunk: Buffer) => void = () => {},
  ) {
    this.#source = source[Symbol.iterator]();
  }

  /** Bytes held: the reading and the chunks not taken by every delivery. */
  get bytes(): number {
    return this.base + this.#held;
  }

  /** Chunk `index`, written now if no delivery has needed it yet; null past the end. */
  chunk(index: number): Buffer | null {
    const at = index - this.#first;
    if (at < 0) throw new Error(`chunk ${index} of a response was let go before it was sent`);
    if (at < this.#chunks.length) return this.#chunks[at]!.bytes;
    const next = this.#source?.next();
    if (!next || next.done) {
      this.#source = null;
      return null;
    }
    this.#chunks.push({ bytes: next.value, writing: 0, released: false });
    this.#held += next.value.length;
    return next.value;
  }

  /** Writes chunk `index` (from chunk()) to `res`; `written` is called once the write has completed. */
  write(res: ServerResponse, index: number, written: () => void): void {
    const chunk = this.#chunks[index - this.#first]!;
    chunk.writing++;
    res.write(chunk.bytes, (error) => {
      chunk.writing--;
      this.#done(chunk);
      if (!error) written();
    });
  }

  #done(chunk: Chunk): void {
    if (chunk.released && chunk.writing === 0) this.recycle(chunk.bytes);
  }

  /** No more responses will join: chunks that every delivery has taken can go. */
  close(): void {
    this.#open = false;
    this.release();
  }

  /** Lets go of the chunks that every delivery has taken. */
  release(): void {
    if (this.#open) return;
    let upTo = Infinity;
    for (const d of this.deliveries) upTo = Math.min(upTo, d.next);
    if (upTo === Infinity) upTo = this.#first + this.#chunks.length;
    while (this.#first < upTo && this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!;
      this.#held -= chunk.bytes.length;
      this.#first++;
      chunk.released = true;
      this.#done(chunk);
    }
    if (this.deliveries.size === 0) {
      this.#source?.return?.();
      this.#source = null;
    }
  }
}
