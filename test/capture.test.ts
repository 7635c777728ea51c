// The shim's capture of what extensions print (src/xtables/native/capture.c) on any libc. glibc takes its
// own way (stdout is a variable); every other libc, musl first, the portable one (stdout buffered in the
// shim's buffer and drained). test/native/capture-check.c checks a capture with a fake extension; here it
// runs built with glibc both ways and with musl-gcc on musl, the shim's sources are compiled for musl, and
// the real shim built the portable way prints a varied table as the glibc way and iptables-legacy-save do.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanFresh, runFresh } from './fresh-process.js';
import { resetKernel, run, save } from './kernel.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'src', 'xtables', 'native');
const work = mkdtempSync(join(tmpdir(), 'iptc-capture-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  cleanFresh();
});

const has = (cmd: string) => !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;
// The README's quick start and .ci/run install musl-tools: without it the musl cases fail, saying why.
const NO_MUSL = 'musl-gcc is not installed (Debian: `apt-get install musl-tools musl-dev`, as the README says)';
const requireMuslGcc = () => expect(has('musl-gcc'), NO_MUSL).toBe(true);

function compile(cc: string, args: string[]): void {
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  expect(r.error, `${cc} ${args.join(' ')}`).toBeUndefined();
  expect(r.stderr, `${cc} ${args.join(' ')}: no error or warning`).toBe('');
  expect(r.status).toBe(0);
}

/** Builds test/native/capture-check.c with the capture and runs it; returns its report lines. */
function captureCheck(name: string, cc: string, flags: string[]): string[] {
  const exe = join(work, name);
  compile(cc, ['-O2', '-Wall', '-Wextra', '-pthread', ...flags, '-o', exe,
    join(root, 'test', 'native', 'capture-check.c'), join(native, 'capture.c')]);
  const r = spawnSync(exe, [join(work, `${name}.out`), join(work, `${name}.err`)], { encoding: 'utf8', timeout: 60_000 });
  const lines = r.stderr.trim().split('\n');
  expect(lines.filter((l) => !l.startsWith('ok ')), r.stderr).toEqual([lines[0], 'all passed']);
  expect(r.status).toBe(0);
  return lines;
}

const CHECKS = ['exact', 'offsets', 'large', 'afterwards', 'again', 'warning-text', 'warning-fd2', 'foreign-fd1-text',
  'paused-write', 'thread-text'];
const PORTABLE_CHECKS = [...CHECKS, 'burst-refused', 'unpaused-write-refused', 'foreign-stdio-text', 'foreign-stdio-fd1',
  'thread-write-refused'];

describe('the capture of stdout', () => {
  it('takes exactly what a fake extension prints, on glibc its own way', () => {
    const lines = captureCheck('glibc', 'cc', []);
    expect(lines[0]).toBe('capture: glibc');
    for (const check of [...CHECKS, 'burst-whole']) expect(lines).toContain(`ok ${check}`);
  });

  it('takes the same on glibc the portable way, and refuses a text that reached fd 1', () => {
    const lines = captureCheck('portable', 'cc', ['-DIPTC_PORTABLE_CAPTURE']);
    expect(lines[0]).toBe('capture: portable');
    for (const check of PORTABLE_CHECKS) expect(lines).toContain(`ok ${check}`);
  });

  it('takes the same on musl, the portable way', () => {
    requireMuslGcc();
    const lines = captureCheck('musl', 'musl-gcc', ['-static']);
    expect(lines[0]).toBe('capture: portable');
    for (const check of PORTABLE_CHECKS) expect(lines).toContain(`ok ${check}`);
    // A static musl program: no glibc loader, no glibc symbol version.
    const elf = run('readelf', ['-l', '-s', '--wide', join(work, 'musl')]);
    expect(elf).not.toMatch(/ld-linux|GLIBC_/);
  });
});

/**
 * The headers the shim needs beside musl's own: libxtables', libiptc's and the kernel's, each linked
 * into a directory of its own (adding /usr/include would bring glibc's headers in with them).
 */
function muslIncludes(): string {
  const dir = join(work, 'musl-include');
  mkdirSync(dir, { recursive: true });
  const multiarch = spawnSync('cc', ['-print-multiarch'], { encoding: 'utf8' }).stdout.trim();
  for (const name of ['xtables.h', 'xtables-version.h', 'libiptc', 'linux', 'asm-generic']) {
    symlinkSync(join('/usr/include', name), join(dir, name));
  }
  symlinkSync(join('/usr/include', multiarch, 'asm'), join(dir, 'asm'));
  return dir;
}

describe('the shim on musl', () => {
  it('compiles and links with musl-gcc, with no error or warning', () => {
    requireMuslGcc();
    const include = muslIncludes();
    const sources = readdirSync(native).filter((f) => f.endsWith('.c'));
    expect(sources).toContain('capture.c');
    const objects = sources.map((source) => {
      const object = join(work, `${source}.o`);
      compile('musl-gcc', ['-c', '-fPIC', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-isystem', include,
        '-o', object, join(native, source)]);
      return object;
    });
    // Linked as the install step links it, less libxtables/libiptc (this machine has no musl builds of them).
    const so = join(work, 'libxtwrap-musl.so');
    compile('musl-gcc', ['-shared', '-Wl,-z,nodelete', '-o', so, ...objects]);
    const dynamic = run('readelf', ['-d', '--wide', so]);
    expect(dynamic).toMatch(/NEEDED.*\[libc\.so\]/);
    expect(dynamic).not.toMatch(/libc\.so\.6/);
    // It captures the portable way.
    const symbols = run('readelf', ['--dyn-syms', '--wide', so]);
    expect(symbols).toMatch(/ __fpurge\b/);
    expect(symbols).toMatch(/ __fpending\b/);
  });
});

/** 240 rules of many kinds over both printing paths: whole chunks (save) and one extension at a time (toString). */
function variedTable(): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':SIDE - [0:0]'];
  for (let i = 0; i < 240; i++) {
    const kind = i % 8;
    if (kind === 0) lines.push(`-A INPUT -s 10.0.${i}.0/24 -p tcp -m tcp --dport ${1000 + i} -m comment --comment "rule ${i}" -j ACCEPT`);
    else if (kind === 1) lines.push(`-A INPUT -p udp -m multiport --dports 53,${i + 100} -m conntrack --ctstate NEW -j DROP`);
    else if (kind === 2) lines.push(`-A INPUT -i eth${i % 4} -j LOG --log-prefix "in ${i}: " --log-level 4`);
    else if (kind === 3) lines.push(`-A FORWARD ! -d 192.0.2.${i}/32 -g SIDE`);
    else if (kind === 4) lines.push(`-A SIDE -m connlabel --label ${i % 64} -j RETURN`);
    else if (kind === 5) lines.push(`-A OUTPUT -p icmp -m icmp --icmp-type 8 -m limit --limit ${i}/sec -j SIDE`);
    else if (kind === 6) lines.push(`-A OUTPUT -m string --string "x${'y'.repeat(i % 100)}" --algo bm --to 65535 -j REJECT --reject-with icmp-port-unreachable`);
    else lines.push(`-A OUTPUT -m u32 --u32 "0x0&0xffff=0x${i.toString(16)}" -j MARK --set-xmark 0x${i.toString(16)}/0xffffffff`);
  }
  return `${lines.join('\n')}\nCOMMIT\n`;
}

describe('the real shim built the portable way (on glibc)', () => {
  it('prints a varied table as the glibc way and iptables-legacy-save do, and leaves stdout alone', () => {
    resetKernel();
    run('iptables-legacy-restore', [], variedTable());
    const expected = save('filter');
    const shim = join(work, 'libxtwrap-portable.so');
    compile('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wl,-z,nodelete',
      '-DIPTC_PORTABLE_CAPTURE', '-o', shim, ...readdirSync(native).filter((f) => f.endsWith('.c')).map((f) => join(native, f)),
      '-lxtables', '-lip4tc', '-lip6tc']);
    const body = `
      const t = new iptc.Table('filter', { backend: 'legacy' });
      const saved = t.save();
      const each = t.chains.flatMap((c) => c.rules.map((r) => r.toString()));
      t.close();
      return { saved, each };`;
    const portable = runFresh(body, { IPTC_SHIM_PATH: shim });
    const glibc = runFresh(body);
    for (const r of [portable, glibc]) {
      expect(r.status, r.stderr).toBe(0);
      // Nothing printed reached the process's stdout: only the result line follows the blank one.
      expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    }
    const result = (r: typeof portable) => r.result as { result: { saved: string; each: string[] } };
    expect(result(portable).result.saved.trimEnd()).toBe(expected.trimEnd());
    expect(result(portable).result).toEqual(result(glibc).result);
    expect(result(portable).result.each).toHaveLength(240);
  }, 120_000);
});
