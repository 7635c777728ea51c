// What the parent sends to the child process and what comes back, serialized with node:v8 (the
// structured clone format: bigint counters, Maps, Sets, Dates and typed arrays survive the trip).
import { deserialize, serialize } from 'node:v8';

/** Run a module's export, or a function given by its source. */
export type Job =
  | { kind: 'module'; specifier: string; exportName: string; args: unknown[] }
  | { kind: 'function'; source: string; args: unknown[] };

export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; error: { name: string; message: string; stack?: string; code?: unknown; errno?: unknown } };

export function encode(value: Job | Outcome): string {
  return serialize(value).toString('base64');
}

export function decode<T extends Job | Outcome>(text: string): T {
  return deserialize(Buffer.from(text.trim(), 'base64')) as T;
}

/** The child's result file descriptor: stdout and stderr stay the user code's own. */
export const RESULT_FD = 3;
