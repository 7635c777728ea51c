// The exporter's bound on memory held for clients. A response that a client does not read stays in the
// process until it is taken, and a scrape of a large rule set is megabytes, so clients that ask and
// never read could make the exporter hold any amount. Responses share their body when they answer the
// same reading of the kernel; the budget caps the bytes of distinct bodies still being sent. A new body
// that does not fit drops the responses of the oldest bodies first: a client that reads takes its
// response in milliseconds, so the oldest still in progress are those of clients that do not read.
import type { ServerResponse } from 'node:http';

export class ResponseBudget {
  readonly limit: number;
  /** Each body still being sent, oldest first (a Map keeps insertion order), with the responses sending it. */
  readonly #bodies = new Map<Buffer, Set<ServerResponse>>();
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
   * Counts `res`, which sends `body`, until it is finished or its connection ends. A body not yet
   * counted first makes room: the responses of the oldest bodies are dropped (their connections closed)
   * until it fits. A body larger than the whole budget is still sent, alone.
   */
  admit(res: ServerResponse, body: Buffer): void {
    let senders = this.#bodies.get(body);
    if (!senders) {
      for (const [old, holders] of this.#bodies) {
        if (this.#bytes + body.length <= this.limit) break;
        this.#forget(old);
        for (const holder of holders) holder.destroy();
      }
      senders = new Set();
      this.#bodies.set(body, senders);
      this.#bytes += body.length;
    }
    senders.add(res);
    res.once('close', () => {
      const current = this.#bodies.get(body);
      if (!current?.delete(res) || current.size > 0) return;
      this.#forget(body);
    });
  }

  #forget(body: Buffer): void {
    if (this.#bodies.delete(body)) this.#bytes -= body.length;
  }
}
