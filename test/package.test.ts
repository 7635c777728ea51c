// The packed tarball installs as a dependency with install scripts disabled (npm's and pnpm's default
// for dependencies) and works: it carries the shim prebuilt for linux-x64.
// The install is what a machine without a registry can do: offline, from an npm cache of its own that
// starts empty, with the tarball's dependencies packed from what `npm ci` put in this checkout's
// node_modules. The test runs in a network namespace without network, so nothing else could work.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetKernel, rules } from './kernel.js';

const root = join(import.meta.dirname, '..');
let dir: string;
let cache: string;
let tarball: string;
let npmEnv: NodeJS.ProcessEnv;

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const manifest = (pkgDir: string) => JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Manifest;

/** Packs the installed dependency directories into `dir` (no scripts); returns their tarball names, in order. */
function packDependencies(dirs: string[]): string[] {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir, ...dirs], {
    cwd: root,
    env: npmEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (JSON.parse(out) as { filename: string }[]).map((p) => p.filename);
}

/**
 * The installed directories of everything `pkgDir` depends on, transitively, as `npm ci` laid them out.
 * An optional dependency that is not installed is one for another platform (koffi's prebuilt binaries).
 */
function installedDependencies(pkgDir: string, found = new Map<string, string>()): Map<string, string> {
  const m = manifest(pkgDir);
  const wanted = [
    ...Object.keys(m.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...Object.keys(m.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
  ];
  for (const { name, optional } of wanted) {
    if (found.has(name)) continue;
    const at = [join(pkgDir, 'node_modules', name), join(root, 'node_modules', name)].find((d) => existsSync(join(d, 'package.json')));
    if (!at) {
      if (optional) continue;
      throw new Error(`${m.name} depends on ${name}, which is not in node_modules: run \`npm ci\` first`);
    }
    found.set(name, at);
    installedDependencies(at, found);
  }
  return found;
}

beforeAll(() => {
  resetKernel();
  dir = mkdtempSync(join(tmpdir(), 'iptc-pack-'));
  cache = join(dir, 'npm-cache');
  npmEnv = { ...process.env, npm_config_cache: cache, npm_config_update_notifier: 'false' };
  // This package as `npm publish` would pack it (prepack builds it).
  execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: root, env: npmEnv, stdio: 'pipe' });
  tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const deps = installedDependencies(root);
  const depTarballs = packDependencies([...deps.values()]);
  // Every dependency, direct or not, resolves to its tarball here, never to a registry.
  const overrides = Object.fromEntries([...deps.keys()].map((name, i) => [name, `file:./${depTarballs[i]}`]));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { iptc: `file:./${tarball}` }, overrides }),
  );
  execFileSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: dir,
    env: npmEnv,
    stdio: 'pipe',
  });
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm pack', () => {
  it('installs offline, from an empty cache, with --ignore-scripts, the shim prebuilt in the tarball', () => {
    expect(tarball).toMatch(/^iptc-.*\.tgz$/);
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { resolved?: string; hasInstallScript?: boolean }>;
    };
    // The package has an install step (it builds the shim where none is prebuilt); it did not run.
    expect(lock.packages['node_modules/iptc']).toMatchObject({ resolved: `file:${tarball}`, hasInstallScript: true });
    expect(readdirSync(join(dir, 'node_modules', 'iptc', 'prebuilds', `${process.platform}-${process.arch}`))).toEqual(['libxtwrap.so']);
    expect(manifest(join(dir, 'node_modules', 'koffi')).name).toBe('koffi');
  });

  it('manages rules through the prebuilt shim', () => {
    const script = `
      import { Table, Rule } from 'iptc';
      const r = new Rule();
      r.protocol = 'tcp';
      r.createMatch('tcp', { dport: '4242' });
      r.createTarget('ACCEPT');
      new Table('filter').chain('INPUT').appendRule(r);
      console.log('ok');
    `;
    const out = execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('ok');
    expect(rules('filter', 'INPUT')).toEqual(['-p tcp -m tcp --dport 4242 -j ACCEPT']);
  });
});
