import type { Family } from '../xtables/shim.js';
import { backendFor, defaultBackend } from './backend-choice.js';

function available(family: Family, name: string): boolean {
  if (typeof name !== 'string' || name === '') throw new TypeError('a table name must be a non-empty string');
  return backendFor(defaultBackend()).isAvailable(family, name);
}

/** Whether the kernel offers the IPv4 table `name` (on Table.defaultBackend), without instantiating it. */
export function isTableAvailable(name: string): boolean {
  return available(4, name);
}

/** Whether the kernel offers the IPv6 table `name` (on Table.defaultBackend), without instantiating it. */
export function isTable6Available(name: string): boolean {
  return available(6, name);
}
