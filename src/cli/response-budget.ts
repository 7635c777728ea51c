// The exporter's bound on memory held for clients. A scrape of a large rule set is tens of megabytes of
// text, and a client that asks and never reads could otherwise make the exporter hold any amount of it.
// So the text is never held whole: responses that answer the same reading of the kernel share one
// StreamedBody, which writes the next chunk when the fastest of them needs it and lets a chunk go once
// the slowest has taken it. The budget caps what the bodies in progress hold: each reading's counters and
// labels, and the chunks some of its clients have not taken yet. When that is more than the budget, the
// clients whose connections have taken nothing for the longest are dropped first: a client that reads
// keeps its response, even while others stall.
import type { ServerResponse } from 'node:http';
import type { Delivery, StreamedBody } from './streamed-body.js';

export class ResponseBudget {
  readonly limit: number;
  /** Bodies still being sent, oldest first (a Set keeps insertion order). */
  readonly #bodies = new Set<StreamedBody>();

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`a response budget must be a positive number of bytes, got ${limit}`);
    this.limit = limit;
  }

  /** Bytes the bodies in progress hold. */
  get bytes(): number {
    let n = 0;
    for (const b of this.#bodies) n += b.bytes;
    return n;
  }

  /**
   * Sends `body` as the rest of `res` (its headers written) and ends it. The body counts against the
   * budget until its last delivery is finished or dropped. A body that alone is over the budget is
   * still sent, to a client that reads.
   */
  send(res: ServerResponse, body: StreamedBody): void {
    const delivery: Delivery = { res, next: 0, progressed: performance.now() };
    const joined = this.#bodies.has(body);
    this.#bodies.add(body);
    body.deliveries.add(delivery);
    if (!joined) this.#makeRoom(delivery);
    res.once('close', () => this.#leave(body, delivery));
    // One chunk in flight per response: the next is written (or taken from those written for a faster
    // response) once the connection has taken this one, so chunks go back for reuse as fast as they come.
    const pump = () => {
      if (res.destroyed) return;
      let chunk: Buffer | null;
      try {
        chunk = this.#chunk(body, delivery);
      } catch (e) {
        res.destroy(e as Error);
        return;
      }
      if (chunk === null) {
        res.end();
        return;
      }
      body.write(res, delivery.next++, () => {
        delivery.progressed = performance.now();
        pump();
      });
      body.release();
    };
    // After this turn of the event loop, when every response that shares the body has joined: they all
    // start from its first chunk, which can then be let go as soon as they have all taken it.
    setImmediate(pump);
  }

  #chunk(body: StreamedBody, delivery: Delivery): Buffer | null {
    const before = body.bytes;
    const chunk = body.chunk(delivery.next);
    if (body.bytes > before) this.#makeRoom(delivery);
    return chunk;
  }

  #leave(body: StreamedBody, delivery: Delivery): void {
    if (!body.deliveries.delete(delivery)) return;
    body.release();
    if (body.deliveries.size === 0) this.#bodies.delete(body);
  }

  /**
   * Drops deliveries (never `keep`) until the bodies fit the budget: first those whose connections have
   * taken nothing for the longest.
   */
  #makeRoom(keep: Delivery): void {
    if (this.bytes <= this.limit) return;
    const all: [StreamedBody, Delivery][] = [];
    for (const body of this.#bodies) for (const d of body.deliveries) if (d !== keep) all.push([body, d]);
    all.sort(([, a], [, b]) => a.progressed - b.progressed);
    for (const [body, d] of all) {
      if (this.bytes <= this.limit) return;
      d.res.destroy();
      this.#leave(body, d);
    }
  }
}
