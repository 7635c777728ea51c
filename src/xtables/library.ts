// Loads libxtables, libip4tc, libip6tc and the xtables shim by soname, once per process.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';

type LibraryHandle = ReturnType<typeof koffi.load>;
import { libcPath } from '../netlink/libc.js';
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
        '`apt-get install iptables` on Debian/Ubuntu, `apk add iptables` on Alpine, or set IPTABLES_LIBDIR to ' +
        'the directory that holds it.',
    );
  }
  loaded.set(which, lib);
  return lib;
}

const SHIM_ABI = 5;

/** How to get a shim that fits, for the errors below. */
const REBUILD = 'run `npm rebuild iptc` to compile it (it says what to install if it cannot), or set IPTC_SHIM_PATH to a libxtwrap.so';

/** The package's directory, two levels above this module; undefined in a bundle without import.meta.url. */
function packageRoot(): string | undefined {
  try {
    return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  } catch {
    return undefined;
  }
}

/** True when the directory is iptc's package (not, say, a bundle's directory), for the error below. */
function isIptcPackage(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'iptc';
  } catch {
    return false;
  }
}

/** True when this process runs on musl, for which the glibc prebuilds do not fit. */
function onMusl(): boolean {
  return libcPath() !== 'libc.so.6';
}

/**
 * The shim to load: `$IPTC_SHIM_PATH` when set (a bundled app names its copy there); else the one
 * `npm rebuild iptc` compiled on this machine (build/, made only where no prebuild fits or on request);
 * else the package's prebuild for this architecture (glibc 2.28 or later).
 */
function shimPath(): string {
  const explicit = process.env.IPTC_SHIM_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new LibraryError(`IPTC_SHIM_PATH names ${explicit}, which does not exist`);
    return explicit;
  }
  const root = packageRoot();
  const musl = onMusl();
  if (root !== undefined) {
    const compiled = join(root, 'build', 'libxtwrap.so');
    if (existsSync(compiled)) return compiled;
    const prebuilt = join(root, 'prebuilds', `linux-${process.arch}`, 'libxtwrap.so');
    if (!musl && existsSync(prebuilt)) return prebuilt;
  }
  if (root === undefined || !isIptcPackage(root)) {
    throw new LibraryError(
      'cannot find the xtables shim: iptc runs outside its package directory (bundled?); ' +
        'set IPTC_SHIM_PATH to a copy of its prebuilds/linux-<arch>/libxtwrap.so',
    );
  }
  throw new LibraryError(`no xtables shim fits linux-${process.arch}${musl ? ' (musl)' : ''}: ${REBUILD}`);
}

/** Loads the C shim: prebuilt in the package, compiled by `npm rebuild iptc`, or named by IPTC_SHIM_PATH. */
export function shimLibrary(): LibraryHandle {
  const cached = loaded.get('shim');
  if (cached) return cached;
  if (process.platform !== 'linux') throw new LibraryError('iptc drives Linux netfilter and only runs on Linux');
  // Loaded first (and global) so the shim binds to these copies, honouring IPTABLES_LIBDIR.
  systemLibrary('xtables');
  systemLibrary('ip4tc');
  systemLibrary('ip6tc');
  const path = shimPath();
  let lib: LibraryHandle;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new LibraryError(`cannot load the xtables shim ${path}: ${(e as Error).message}. ${REBUILD}`);
  }
  const abi = (lib.func('int xtw_abi(void)') as () => number)();
  if (abi !== SHIM_ABI) {
    throw new LibraryError(`the xtables shim ${path} has ABI ${abi}, this iptc needs ${SHIM_ABI}: ${REBUILD}`);
  }
  loaded.set('shim', lib);
  return lib;
}
