// The exporter's bound on memory held for clients. A response that a client does not read stays in the
// process until it is taken, and a scrape of a large rule set is megabytes, so clients that ask and
// never read could make the exporter hold any amount. Responses that answer the same reading of the
// kernel share its body, sent in slices of it as the client takes them (no copies), and the budget caps
// the bytes of the distinct bodies still being sent. When a new body does not fit, the oldest bodies
// whose clients took nothing since room was last made are dropped first (their connections closed): a
// client that reads keeps its response, even while others stall.
import type { ServerResponse } from 'node:http';

/** Bytes handed to the connection at a time: what a client has not taken stays in the shared body. */
const SLICE = 64 * 1024;

interface Delivery {
  res: ServerResponse;
  /** Bytes of the body handed to the connection so far. */
  sent: number;
  /** `sent` when room was last made. */
  seen: number;
}

export class ResponseBudget {
  readonly limit: number;
  /** Each body still being sent, oldest first (a Map keeps insertion order), with its deliveries. */
  readonly #bodies = new Map<Buffer, Set<Delivery>>();
  #bytes = 0;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`a response budget must be a positive number of bytes, got ${limit}`);
    this.limit = limit;
  }

  /** Bytes of the bodies still being sent. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Sends `body` as the rest of `res` (its headers written) and ends it, counting the body until its
   * last delivery is finished or dropped. A body larger than the whole budget is still sent, alone.
   */
  send(res: ServerResponse, body: Buffer): void {
    let deliveries = this.#bodies.get(body);
    if (!deliveries) {
      this.#makeRoom(body.length);
      deliveries = new Set();
      this.#bodies.set(body, deliveries);
      this.#bytes += body.length;
    }
    const delivery: Delivery = { res, sent: 0, seen: 0 };
    deliveries.add(delivery);
    res.once('close', () => {
      const current = this.#bodies.get(body);
      if (!current?.delete(delivery) || current.size > 0) return;
      this.#forget(body);
    });
    const pump = () => {
      while (delivery.sent < body.length) {
        const end = Math.min(delivery.sent + SLICE, body.length);
        const more = res.write(body.subarray(delivery.sent, end));
        delivery.sent = end;
        if (!more) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    delivery.seen = delivery.sent;
  }

  #makeRoom(size: number): void {
    if (this.#bytes + size <= this.limit) return;
    const reading = new Set<Delivery>();
    for (const deliveries of this.#bodies.values()) {
      for (const d of deliveries) {
        if (d.sent > d.seen) reading.add(d);
        d.seen = d.sent;
      }
    }
    // Bodies no client is reading go first; then, if that is not room enough, the oldest of the rest.
    for (const spare of [false, true]) {
      for (const [body, deliveries] of this.#bodies) {
        if (this.#bytes + size <= this.limit) return;
        if (!spare && [...deliveries].some((d) => reading.has(d))) continue;
        this.#forget(body);
        for (const d of deliveries) d.res.destroy();
      }
    }
  }

  #forget(body: Buffer): void {
    if (this.#bodies.delete(body)) this.#bytes -= body.length;
  }
}
