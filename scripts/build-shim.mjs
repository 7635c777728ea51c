#!/usr/bin/env node
// Builds the C shim (src/xtables/native/*.c: xtwrap.c and the files beside it).
//
//   node scripts/build-shim.mjs              the prebuilds this machine can build, into
//                                            prebuilds/linux-<arch>/libxtwrap.so: its own architecture's
//                                            always, the other one's when its cross compiler is installed
//   node scripts/build-shim.mjs --arch arm64 one prebuild (x64 or arm64)
//   node scripts/build-shim.mjs --strict     every prebuild, each checked with readelf, or fail (prepack)
//   node scripts/build-shim.mjs --install    npm's install step: keep the prebuild when it fits this system,
//                                            else compile build/libxtwrap.so here, or say in one line what
//                                            to install; `npm rebuild iptc` always compiles
//
// Prebuilds load on glibc 2.28 and later (native/glibc-compat.h); build/libxtwrap.so is for this machine only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { arch as hostArch } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'src', 'xtables', 'native');
const sources = readdirSync(native).filter((f) => f.endsWith('.c')).sort().map((f) => join(native, f));
const OLDEST_GLIBC = '2.28';

/** Each prebuilt architecture: the compiler that builds it from another host, and its ELF machine. */
const PREBUILDS = {
  x64: { cross: 'x86_64-linux-gnu-gcc', machine: 'Advanced Micro Devices X86-64' },
  arm64: { cross: 'aarch64-linux-gnu-gcc', machine: 'AArch64' },
};
const CROSS_PACKAGES = {
  x64: 'gcc-x86-64-linux-gnu libc6-dev-amd64-cross libxtables-dev:amd64 libiptc-dev:amd64',
  arm64: 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross libxtables-dev:arm64 libiptc-dev:arm64',
};

// -z nodelete: the shim stays mapped after a worker_thread that loaded it exits, because its
// thread-exit hook (which hands the xtables layer to the next thread) runs as that thread ends.
const FLAGS = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wl,-z,nodelete'];
const LIBS = ['-lxtables', '-lip4tc', '-lip6tc'];
// A prebuild binds libdl/libpthread functions to their pre-2.34 versions, which older glibcs keep in
// libdl.so.2 and libpthread.so.0: it names both (newer glibcs keep them as empty stubs).
const PREBUILD_FLAGS = ['-include', join(native, 'glibc-compat.h')];
const PREBUILD_LIBS = ['-Wl,--push-state,--no-as-needed', '-l:libdl.so.2', '-l:libpthread.so.0', '-Wl,--pop-state'];

function prebuildPath(arch) {
  return join(root, 'prebuilds', `linux-${arch}`, 'libxtwrap.so');
}

function compile(cc, output, extraFlags, extraLibs, stdio) {
  mkdirSync(dirname(output), { recursive: true });
  const args = [...FLAGS, ...extraFlags, '-o', output, ...sources, ...LIBS, ...extraLibs];
  return spawnSync(cc, args, { stdio, encoding: 'utf8' });
}

/** This machine's own shim, where no prebuild fits it (the loader prefers it to a prebuild). */
function compileHere(stdio) {
  return compile(process.env.CC ?? 'cc', join(root, 'build', 'libxtwrap.so'), [], [], stdio);
}

function hasCommand(cmd) {
  return !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;
}

function compilerFor(arch) {
  return arch === hostArch() ? (process.env.CC ?? 'cc') : PREBUILDS[arch].cross;
}

function versionAtLeast(version, minimum) {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

/** The highest GLIBC_ symbol version a shared object needs, and its ELF machine, read with readelf. */
function elfFacts(file) {
  const run = (flag) => {
    const r = spawnSync('readelf', [flag, '--wide', file], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`readelf ${flag} ${file} failed: ${r.error?.message ?? r.stderr}`);
    return r.stdout;
  };
  const versions = [...run('-V').matchAll(/Name: GLIBC_([0-9.]+)/g)].map((m) => m[1]);
  const glibc = versions.reduce((max, v) => (versionAtLeast(max, v) ? max : v), '0');
  const machine = /Machine:\s+(.+)/.exec(run('-h'))?.[1]?.trim();
  return { glibc, machine };
}

function buildPrebuild(arch) {
  const output = prebuildPath(arch);
  const cc = compilerFor(arch);
  const r = compile(cc, output, PREBUILD_FLAGS, PREBUILD_LIBS, 'inherit');
  if (r.error || r.status !== 0) {
    fail(`could not build prebuilds/linux-${arch} with \`${cc}\`; it needs ${packagesFor(arch)}`);
  }
  const { glibc, machine } = elfFacts(output);
  if (!versionAtLeast(OLDEST_GLIBC, glibc) || machine !== PREBUILDS[arch].machine) {
    rmSync(output, { force: true });
    fail(`prebuilds/linux-${arch} came out needing GLIBC_${glibc} on ${machine}; a prebuild must load on glibc ${OLDEST_GLIBC} (${PREBUILDS[arch].machine})`);
  }
  console.error(`iptc: built prebuilds/linux-${arch}/libxtwrap.so (${machine}, needs GLIBC_${glibc})`);
}

function packagesFor(arch) {
  return arch === hostArch()
    ? '`apt-get install gcc libxtables-dev libiptc-dev`'
    : `\`dpkg --add-architecture ${arch === 'arm64' ? 'arm64' : 'amd64'} && apt-get update && apt-get install ${CROSS_PACKAGES[arch]}\``;
}

function fail(message) {
  console.error(`iptc: ${message}`);
  process.exit(1);
}

/** This distribution's ID and ID_LIKE words, from /etc/os-release ('' without one). */
function osIds() {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    return [...release.matchAll(/^(?:ID|ID_LIKE)=["']?([^"'\n]*)/gm)].map((m) => m[1]).join(' ');
  } catch {
    return '';
  }
}

/** What to install to compile the shim on a distribution, from its os-release IDs. */
export function installHint(ids) {
  if (/\balpine\b/.test(ids)) return '`apk add build-base iptables-dev linux-headers`';
  if (/\b(debian|ubuntu)\b/.test(ids)) return '`apt-get install gcc libxtables-dev libiptc-dev`';
  if (/\b(rhel|fedora|centos)\b/.test(ids)) return '`dnf install gcc iptables-devel`';
  return 'a C compiler with the libxtables and libiptc headers (Debian: `apt-get install gcc libxtables-dev libiptc-dev`; Alpine: `apk add build-base iptables-dev linux-headers`)';
}

/** The C library this Node.js runs on: its glibc version, or undefined (musl and others). */
function glibcRuntime() {
  const header = process.report?.getReport().header;
  return header?.glibcVersionRuntime;
}

/**
 * What `npm install` does on a system: keep the prebuild (`compile: false`) where one fits (glibc 2.28 or
 * later on a prebuilt architecture) unless this is `npm rebuild`, else compile. `system` names the system
 * for the messages, `fits` whether a prebuild fits it.
 *   facts: { arch, glibc (version or undefined: musl), hasPrebuild, command (npm_command) }
 */
export function installPlan({ arch, glibc, hasPrebuild, command }) {
  const fits = glibc !== undefined && versionAtLeast(glibc, OLDEST_GLIBC) && hasPrebuild;
  const system = `linux-${arch} ${glibc ? `glibc ${glibc}` : 'musl'}`;
  return { compile: !fits || command === 'rebuild', fits, system };
}

/**
 * The line `npm install` prints when the shim could not be compiled: what to install, then
 * `npm rebuild iptc`.
 */
export function cannotCompileMessage({ cc, plan, ids }) {
  const why = plan.fits ? '' : `no prebuilt shim fits ${plan.system} and `;
  return `iptc: ${why}\`${cc}\` could not compile the xtables shim: install ${installHint(ids)}, then run \`npm rebuild iptc\``;
}

function install() {
  // The checkout's own `npm install`/`npm ci`: its `prepare` script builds the prebuilds.
  if (process.env.INIT_CWD && resolve(process.env.INIT_CWD) === resolve(root)) return;
  if (process.platform !== 'linux') {
    console.error('iptc: netfilter is Linux only; the xtables shim is not built on this platform');
    return;
  }
  // `npm rebuild iptc`, which the library's errors advise, compiles for this machine even where a prebuild fits.
  const plan = installPlan({
    arch: process.arch,
    glibc: glibcRuntime(),
    hasPrebuild: existsSync(prebuildPath(process.arch)),
    command: process.env.npm_command,
  });
  if (!plan.compile) return;
  const cc = process.env.CC ?? 'cc';
  const r = compileHere('pipe');
  if (!r.error && r.status === 0) {
    console.error(`iptc: compiled build/libxtwrap.so for ${plan.system}`);
    return;
  }
  console.error(cannotCompileMessage({ cc, plan, ids: osIds() }));
  const said = r.error ? r.error.message : (r.stderr.split('\n').find((l) => /error/i.test(l)) ?? r.stderr.trim());
  if (said) console.error(`iptc: ${cc}: ${said}`);
  process.exit(1);
}

function main(argv) {
  if (argv.includes('--install')) return install();
  if (process.platform !== 'linux') fail('netfilter is Linux only; the xtables shim is built on Linux');
  const archIndex = argv.indexOf('--arch');
  if (archIndex !== -1) {
    const arch = argv[archIndex + 1];
    if (!arch || !(arch in PREBUILDS)) fail(`--arch takes one of ${Object.keys(PREBUILDS).join(', ')}`);
    return buildPrebuild(arch);
  }
  const strict = argv.includes('--strict');
  if (!(hostArch() in PREBUILDS)) compileHere('inherit');
  for (const arch of Object.keys(PREBUILDS)) {
    const cc = compilerFor(arch);
    if (arch !== hostArch() && !strict && !hasCommand(cc)) {
      console.error(`iptc: skipping prebuilds/linux-${arch}: no \`${cc}\` (${packagesFor(arch)})`);
      continue;
    }
    buildPrebuild(arch);
  }
}

// Run as a script (npm's hooks); imported (the tests), it only lends its functions.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(resolve(process.argv[1]))).href) main(process.argv.slice(2));
