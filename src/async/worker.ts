// The owner thread of iptc/async: it owns the xtables layer (the first thread to use it; see
// docs/concurrency.md) and does every change, read and commit, so the caller's event loop never waits
// for libiptc, the kernel or the xtables lock. Requests run one at a time, in the order they were sent.
// Handles in another network namespace are worked on after entering it, with setns on this thread only.
import { parentPort } from 'node:worker_threads';
import { IPSet } from '../ipset/ipset.js';
import { Table, Table6 } from '../iptc/table.js';
import { IPTCError } from '../xtables/errors.js';
import { XTablesThreadError } from '../xtables/shim.js';
import { ThreadNamespaces, type NetnsPlace } from '../netns/thread.js';
import { IPSET_CALLS, ownerWait, TABLE_CALLS } from './calls.js';
import { errorToWire } from './errors.js';
import type { Envelope, OpenedTable, Reply, Request } from './protocol.js';

type Handle = { place: NetnsPlace } & ({ kind: 'table'; table: Table } | { kind: 'ipset'; ipset: IPSet });

const port = parentPort!;
const places = new ThreadNamespaces();
const handles = new Map<number, Handle>();
let nextHandle = 1;

/** The thread error, said from where the caller stands. */
function explain(e: unknown): unknown {
  if (!(e instanceof XTablesThreadError)) return e;
  return new XTablesThreadError(
    `${e.message}: iptc/async's owner thread cannot use it, because another thread of this process ` +
      '(usually the main thread, through the synchronous Table or Rule API) used it first. In one process, ' +
      'use either the synchronous API or iptc/async for tables (docs/async.md).',
  );
}

function opened<T>(netns: string | undefined, make: () => T): [NetnsPlace, T] {
  const place = places.open(netns);
  try {
    return [place, make()];
  } catch (e) {
    places.release(place);
    throw e;
  }
}

function run(request: Request): unknown {
  switch (request.op) {
    case 'openTable': {
      const { netns, wait, ...options } = request.options;
      const TableClass = request.family === 6 ? Table6 : Table;
      const [place, table] = opened(netns, () => new TableClass(request.name, { ...options, wait: ownerWait(wait ?? false) }));
      const handle = nextHandle++;
      handles.set(handle, { kind: 'table', place, table });
      return { handle, autocommit: table.autocommit, backend: table.backend } satisfies OpenedTable;
    }
    case 'openIPSet': {
      const [place, ipset] = opened(request.netns, () => new IPSet());
      const handle = nextHandle++;
      handles.set(handle, { kind: 'ipset', place, ipset });
      return handle;
    }
    case 'call': {
      const h = handles.get(request.handle);
      // The caller's side refuses calls on what it closed; this is only a safety net.
      if (!h) throw new IPTCError('iptc/async: this table or ipset is closed');
      const calls = h.kind === 'table' ? TABLE_CALLS : IPSET_CALLS;
      const call = Object.hasOwn(calls, request.method) ? (calls[request.method] as (target: unknown, ...args: unknown[]) => unknown) : undefined;
      if (!call) throw new TypeError(`iptc/async: no such method \`${request.method}'`);
      places.enter(h.place);
      return call(h.kind === 'table' ? h.table : h.ipset, ...request.args);
    }
    case 'close': {
      const h = handles.get(request.handle);
      if (!h) return undefined;
      handles.delete(request.handle);
      if (h.kind === 'table') h.table.close();
      else h.ipset.close();
      places.release(h.place);
      return undefined;
    }
    case 'stop': {
      for (const id of [...handles.keys()]) run({ op: 'close', handle: id });
      return undefined;
    }
  }
}

/** ArrayBuffers in a reply move to the caller's thread instead of being copied. */
function transfers(value: unknown): ArrayBuffer[] {
  const counters = (value as { counters?: unknown } | null)?.counters;
  return counters instanceof BigUint64Array ? [counters.buffer as ArrayBuffer] : [];
}

port.on('message', (message: Envelope) => {
  let reply: Reply;
  try {
    reply = { id: message.id, value: run(message) };
  } catch (e) {
    reply = { id: message.id, error: errorToWire(explain(e)) };
  }
  try {
    port.postMessage(reply, 'value' in reply ? transfers(reply.value) : []);
  } catch (e) {
    port.postMessage({ id: message.id, error: errorToWire(e) });
  }
  // Nothing else keeps this thread alive: it ends after the last reply.
  if (message.op === 'stop') port.close();
});
