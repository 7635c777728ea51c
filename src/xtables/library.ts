// Loads libxtables, libip4tc, libip6tc and the xtables shim by soname, once per process.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';

type LibraryHandle = ReturnType<typeof koffi.load>;
import { LibraryError } from './errors.js';

const SONAMES = {
  xtables: 'libxtables.so.12',
  ip4tc: 'libip4tc.so.2',
  ip6tc: 'libip6tc.so.2',
} as const;

const PACKAGES: Record<keyof typeof SONAMES, string> = {
  xtables: 'libxtables12 (part of `iptables`)',
  ip4tc: 'libip4tc2 (part of `iptables`)',
  ip6tc: 'libip6tc2 (part of `iptables`)',
};

const loaded = new Map<string, LibraryHandle>();

/**
 * Loads a system library by soname, or from `$IPTABLES_LIBDIR` when set (as python-iptables does).
 * `global` makes its symbols visible to libraries loaded later (the shim and the extension plugins).
 */
export function systemLibrary(which: keyof typeof SONAMES): LibraryHandle {
  const cached = loaded.get(which);
  if (cached) return cached;
  const soname = SONAMES[which];
  const dir = process.env.IPTABLES_LIBDIR;
  const path = dir && existsSync(join(dir, soname)) ? join(dir, soname) : soname;
  let lib: LibraryHandle;
  try {
    lib = koffi.load(path, { global: true });
  } catch (e) {
    throw new LibraryError(
      `cannot load ${soname}: ${(e as Error).message}. Install ${PACKAGES[which]}: ` +
        '`apt-get install iptables` on Debian/Ubuntu, or set IPTABLES_LIBDIR to the directory that holds it.',
    );
  }
  loaded.set(which, lib);
  return lib;
}

const SHIM_ABI = 3;

function shimPath(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'libxtwrap.so');
}

/** Loads the C shim (built by `npm run build:shim`, or shipped prebuilt in the package). */
export function shimLibrary(): LibraryHandle {
  const cached = loaded.get('shim');
  if (cached) return cached;
  if (process.platform !== 'linux') throw new LibraryError('iptc drives Linux netfilter and only runs on Linux');
  // Loaded first (and global) so the shim binds to these copies, honouring IPTABLES_LIBDIR.
  systemLibrary('xtables');
  systemLibrary('ip4tc');
  systemLibrary('ip6tc');
  const path = shimPath();
  if (!existsSync(path)) {
    throw new LibraryError(
      `the xtables shim is missing (${path}). Build it with \`npm run build:shim\`, which needs ` +
        '`apt-get install gcc libxtables-dev libiptc-dev`.',
    );
  }
  let lib: LibraryHandle;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new LibraryError(`cannot load the xtables shim ${path}: ${(e as Error).message}`);
  }
  const abi = (lib.func('int xtw_abi(void)') as () => number)();
  if (abi !== SHIM_ABI) {
    throw new LibraryError(`the xtables shim at ${path} has ABI ${abi}, this iptc needs ${SHIM_ABI}: rebuild it`);
  }
  loaded.set('shim', lib);
  return lib;
}
