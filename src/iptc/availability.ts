import { readFileSync } from 'node:fs';
import { constants, release } from 'node:os';
import { TableHandle } from '../xtables/libiptc.js';
import { IPTCError } from '../xtables/errors.js';
import type { Family } from '../xtables/shim.js';
import { instantiatedTables } from './backend.js';

const { EPERM, EACCES } = constants.errno;
const KNOWN = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);

let kernelSymbols: string | null | undefined;

/** The kernel's symbol names: a built-in or loaded table module shows its table_init function. */
function kallsyms(): string | null {
  if (kernelSymbols === undefined) {
    try {
      kernelSymbols = readFileSync('/proc/kallsyms', 'utf8');
    } catch {
      kernelSymbols = null;
    }
  }
  return kernelSymbols;
}

function kernelHasTableModule(family: Family, name: string): boolean | undefined {
  const module = `${family === 6 ? 'ip6table' : 'iptable'}_${name}`;
  const pattern = new RegExp(`(^|/)${module}(\\.ko[^:\\s]*)?[:\\s]`, 'm');
  let seen = false;
  for (const file of ['/proc/modules', `/lib/modules/${release()}/modules.builtin`, `/lib/modules/${release()}/modules.dep`]) {
    try {
      if (pattern.test(`${readFileSync(file, 'utf8')}\n`)) return true;
      seen = true;
    } catch {
      // a file this kernel does not have
    }
  }
  const symbols = kallsyms();
  if (symbols !== null && symbols.includes(` ${module}_table_init`)) return true;
  return seen || symbols !== null ? false : undefined;
}

function available(family: Family, name: string): boolean {
  if (typeof name !== 'string' || name === '') throw new TypeError('a table name must be a non-empty string');
  if (instantiatedTables(family).includes(name)) return true;
  // A probe would instantiate a known table in the kernel, so ask the module lists instead.
  if (KNOWN.has(name)) {
    const known = kernelHasTableModule(family, name);
    if (known !== undefined) return known;
  }
  try {
    TableHandle.open(family, name).free();
    return true;
  } catch (e) {
    // Not being allowed to look is no answer about the table.
    if (e instanceof IPTCError && e.errno !== EPERM && e.errno !== EACCES) return false;
    throw e;
  }
}

/** Whether the kernel offers the IPv4 table `name`, without instantiating it. */
export function isTableAvailable(name: string): boolean {
  return available(4, name);
}

/** Whether the kernel offers the IPv6 table `name`, without instantiating it. */
export function isTable6Available(name: string): boolean {
  return available(6, name);
}
