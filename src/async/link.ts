import type { OwnerThread } from './owner.js';
import type { Request } from './protocol.js';

// What is not closed by its owner is closed when it is garbage-collected, so a forgotten table does
// not keep its pending changes in the owner thread for the life of the process.
const forgotten = new FinalizationRegistry<{ owner: OwnerThread; handle: number }>(({ owner, handle }) => {
  owner.post({ op: 'close', handle });
});

/** An object's handle in the owner thread. */
export class Link {
  readonly #owner: OwnerThread;
  readonly #handle: number;
  readonly #closedError: () => Error;
  #closed = false;

  constructor(holder: object, owner: OwnerThread, handle: number, closedError: () => Error) {
    this.#owner = owner;
    this.#handle = handle;
    this.#closedError = closedError;
    forgotten.register(holder, { owner, handle }, this);
  }

  /** Whether it was closed, or the owner thread stopped. */
  get closed(): boolean {
    return this.#closed || this.#owner.stopped;
  }

  /** Calls a method of the object in the owner thread. */
  call(method: string, ...args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(this.#closedError());
    return this.#owner.request({ op: 'call', handle: this.#handle, method, args });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    forgotten.unregister(this);
    if (!this.#owner.stopped) await this.#owner.request({ op: 'close', handle: this.#handle } satisfies Request);
  }
}
