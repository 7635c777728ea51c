import { checkNetnsPath, closeNetns, enterNetns, openNetns, THREAD_NETNS } from './setns.js';

/** A network namespace a thread can enter: its file held open, so it is the same namespace every time. */
export interface NetnsPlace {
  readonly netns: string;
  readonly fd: number;
}

/**
 * The network namespaces one thread works in: the one it started in, and others entered on demand
 * with setns(2). Only this thread moves; every other thread of the process stays where it is.
 */
export class ThreadNamespaces {
  readonly home: NetnsPlace;
  #current: NetnsPlace;

  constructor() {
    this.home = { netns: THREAD_NETNS, fd: openNetns(THREAD_NETNS) };
    this.#current = this.home;
  }

  /**
   * Opens a namespace and enters it, which checks that it is one (NetnsError otherwise, and this thread
   * stays where it was). Without a path: the thread's own namespace.
   */
  open(netns: string | undefined): NetnsPlace {
    if (netns === undefined) {
      this.enter(this.home);
      return this.home;
    }
    const path = checkNetnsPath(netns);
    const place = { netns: path, fd: openNetns(path) };
    try {
      this.enter(place);
    } catch (e) {
      closeNetns(place.fd);
      throw e;
    }
    return place;
  }

  /** Moves this thread into `place`, unless it is there. */
  enter(place: NetnsPlace): void {
    if (place === this.#current) return;
    enterNetns(place.fd, place.netns);
    this.#current = place;
  }

  /** Lets go of a namespace no one works in any more; this thread goes back to its own. */
  release(place: NetnsPlace): void {
    if (place === this.home) return;
    this.enter(this.home);
    closeNetns(place.fd);
  }
}
