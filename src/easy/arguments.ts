// What every easy call checks first: its options (family, backend, raiseExc) and the chain names and
// positions it is given, so that a bad argument throws before any table is read.
import { backendFor, checkBackendChoice, defaultBackend } from '../iptc/backend-choice.js';
import type { EasyOptions } from './dict.js';
import type { Family, Scope } from './tables.js';

/** EasyOptions and python's `raise_exc=` keyword. */
export interface RaiseOptions extends EasyOptions {
  /** Throw errors (the default); with false, errors are swallowed and a neutral value is returned. */
  raiseExc?: boolean;
}

export function opts<T extends EasyOptions>(options: T | undefined): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`options must be an object like { ipv6: true }, got ${typeof options}`);
  }
  return options;
}

export function familyOf(options: EasyOptions): Family {
  if (options.ipv6 !== undefined && typeof options.ipv6 !== 'boolean') throw new TypeError('ipv6 must be a boolean');
  return options.ipv6 === true ? 6 : 4;
}

/** The family and backend an easy call works on: its `backend` option, else Table.defaultBackend. */
export function scopeOf(options: EasyOptions): Scope {
  const choice = options.backend === undefined ? defaultBackend() : checkBackendChoice(options.backend, 'backend');
  return { family: familyOf(options), backend: backendFor(choice).name };
}

export function checkChain(chain: unknown): string {
  if (typeof chain !== 'string' || chain === '') throw new TypeError(`a chain name must be a non-empty string, got ${String(chain)}`);
  return chain;
}

export function checkPosition(position: unknown): number {
  if (typeof position !== 'number' || !Number.isSafeInteger(position)) {
    throw new TypeError(`a position must be an integer, got ${String(position)}`);
  }
  return position;
}

/** Runs fn; with raiseExc false, returns `fallback` instead of throwing. */
export function guarded<T>(options: RaiseOptions, fallback: T, fn: () => T): T {
  if (options.raiseExc === undefined || options.raiseExc) return fn();
  try {
    return fn();
  } catch {
    return fallback;
  }
}
