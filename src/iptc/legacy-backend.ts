// The legacy backend: ip_tables / ip6_tables through libiptc (src/xtables/libiptc.ts), each transaction
// under the xtables lock (src/xtables/lock.ts), as iptables-legacy works. A view is a libiptc handle; a
// table only read is read straight from the kernel (src/xtables/kernel-blob.ts), as libiptc reads it.
import { readFileSync } from 'node:fs';
import { constants, release } from 'node:os';
import { IPTCError } from '../xtables/errors.js';
import { readTable } from '../xtables/kernel-blob.js';
import { TableHandle, type RawChain } from '../xtables/libiptc.js';
import { withXtablesLock } from '../xtables/lock.js';
import { loadKernelModule, type Family } from '../xtables/shim.js';
import { instantiatedTables } from './backend.js';
import { warnLegacyOnNftSystem } from './backend-warnings.js';
import type { TableBackend } from './table-backend.js';

const EAGAIN = 11;
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

export const legacyBackend: TableBackend = {
  name: 'legacy',
  entryForm: 'xtables',

  open(family, table) {
    try {
      return TableHandle.open(family, table);
    } catch (e) {
      // iptables loads ip_tables / ip6_tables itself when the kernel lacks it; so do we, once.
      if (e instanceof IPTCError && loadKernelModule(family)) return TableHandle.open(family, table);
      throw e;
    }
  },

  read(family, table) {
    let chains: RawChain[] | null = null;
    try {
      chains = readTable(family, table);
    } catch (e) {
      // libiptc's read below words every failure its own way (and loads a missing kernel module).
      if (!(e instanceof IPTCError || e instanceof TypeError)) throw e;
    }
    if (chains) return chains;
    const view = legacyBackend.open(family, table);
    try {
      return view.read();
    } finally {
      view.free();
    }
  },

  guard: withXtablesLock,

  moved(error) {
    // libiptc's commit tells the kernel how many rules the table had; EAGAIN: a writer that takes no
    // lock changed that meanwhile.
    return error instanceof IPTCError && error.errno === EAGAIN;
  },

  sameOrigin(a, b) {
    return a instanceof Buffer && b instanceof Buffer && a.equals(b);
  },

  tables: instantiatedTables,

  isAvailable(family, name) {
    if (instantiatedTables(family).includes(name)) return true;
    // Opening a known table would instantiate it in the kernel, so ask the module lists instead.
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
  },

  announce: warnLegacyOnNftSystem,
};
