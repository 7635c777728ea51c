#!/usr/bin/env node
// Builds the C shim (src/xtables/native/xtwrap.c) into prebuilds/<platform>-<arch>/libxtwrap.so.
// `--if-missing` (the package's install step) keeps a prebuilt shim shipped in the tarball.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'xtables', 'native', 'xtwrap.c');
const output = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'libxtwrap.so');

if (process.argv.includes('--if-missing') && existsSync(output)) process.exit(0);
if (process.platform !== 'linux') {
  console.error('iptc: netfilter is Linux only; the xtables shim is not built on this platform');
  process.exit(0);
}

mkdirSync(dirname(output), { recursive: true });
const cc = process.env.CC ?? 'cc';
// -z nodelete: the shim stays mapped after a worker_thread that loaded it exits, because its
// thread-exit hook (which hands the xtables layer to the next thread) runs as that thread ends.
const args = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wl,-z,nodelete', '-o', output, source,
  '-lxtables', '-lip4tc', '-lip6tc'];
const result = spawnSync(cc, args, { stdio: 'inherit' });
if (result.error || result.status !== 0) {
  console.error(
    `iptc: could not build the xtables shim with \`${cc}\`.\n` +
      'It needs a C compiler, the libxtables headers and the libiptc link libraries: on Debian/Ubuntu ' +
      '`apt-get install gcc libxtables-dev libiptc-dev`.',
  );
  process.exit(1);
}
