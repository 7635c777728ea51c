// The package as its users meet it: the packed tarball installed offline into consumer projects (no
// network in this namespace, an empty npm cache), used from ESM, CommonJS, TypeScript under each module
// resolution, with install scripts off, rebuilt from source, and bundled with esbuild. Every consumer
// manages a rule (and an ipset) in this namespace, read back with iptables-legacy-save. The tarball's
// contents are checked as shipped: prebuilt shims (readelf), license, docs links, source maps, types.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetKernel, rules, run } from './kernel.js';

const root = join(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const esbuild = join(root, 'node_modules', '.bin', 'esbuild');
const koffiNative = `@koromix/koffi-${process.platform}-${process.arch}`;

let work: string;
let tarballs: string;
let shipped: string; // the iptc tarball, unpacked
let consumer: string; // installed with install scripts allowed
let noScripts: string; // installed with --ignore-scripts

function sh(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(file, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.error, `${what}: ${r.error?.message}`).toBeUndefined();
  expect(r.status, `${what} failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  // An empty cache of its own, and never the registry: everything comes from local tarballs.
  return sh('npm', [...args, '--offline', '--cache', join(work, 'npm-cache'), '--no-audit', '--no-fund', '--no-update-notifier'], cwd, env);
}

/** A consumer project depending on the local tarballs; `allowScripts` approves iptc's for npm versions that ask. */
function project(name: string, type: 'module' | 'commonjs'): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const iptc = readdirSync(tarballs).find((f) => f.startsWith('iptc-'))!;
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, private: true, type, allowScripts: { [`file:${join(tarballs, iptc)}`]: true } }),
  );
  return dir;
}

const tarballList = () => readdirSync(tarballs).map((f) => join(tarballs, f));

/** Source of a consumer program: an ipset through iptc/ipset, a rule matching it through iptc, a check through iptc/easy. */
function program(style: 'esm' | 'cjs' | 'ts', name: string): string {
  const imports = {
    esm: "import { Table, Rule } from 'iptc';\nimport { WiSet } from 'iptc/ipset';\nimport { hasChain } from 'iptc/easy';",
    cjs: "const { Table, Rule } = require('iptc');\nconst { WiSet } = require('iptc/ipset');\nconst { hasChain } = require('iptc/easy');",
    ts: "import { Table, Rule } from 'iptc';\nimport { WiSet } from 'iptc/ipset';\nimport { hasChain } from 'iptc/easy';",
  }[style];
  const typed = style === 'ts' ? ': Rule' : '';
  const typeCheck =
    style === 'ts'
      ? // Unused unless types resolved: an `any` import would leave the expect-error unmatched, which tsc reports.
        '\nexport function typesAreChecked(): void {\n  // @ts-expect-error a table is named by a string\n  new Table(42);\n}\n'
      : '';
  return `${imports}
const set = new WiSet({ name: 'c_${name}', attrType: 'hash:ip' });
set.create();
const rule${typed} = Rule.parse('-m set --match-set c_${name} src -m comment --comment ${name} -j ACCEPT');
new Table('filter').chain('INPUT').appendRule(rule);
if (!hasChain('filter', 'INPUT')) throw new Error('iptc/easy does not see INPUT');
console.log(rule.toString());
${typeCheck}`;
}

function expectManaged(name: string): void {
  expect(rules('filter', 'INPUT')).toContain(`-m set --match-set c_${name} src -m comment --comment ${name} -j ACCEPT`);
  expect(run('ipset', ['list', '-n']).split('\n')).toContain(`c_${name}`);
}

function runNode(file: string, cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return ok(sh(process.execPath, [file], cwd, env), `node ${relative(work, join(cwd, file))}`);
}

beforeAll(() => {
  resetKernel();
  work = mkdtempSync(join(tmpdir(), 'iptc-consumers-'));
  tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  // Packed once, as a release is: prepack refuses to pack without both prebuilds.
  ok(npm(['pack', '--pack-destination', tarballs], root), 'npm pack');
  // koffi comes from this checkout's node_modules, packed, so no install below needs the registry.
  ok(npm(['pack', join(root, 'node_modules', 'koffi'), join(root, 'node_modules', koffiNative), '--pack-destination', tarballs], work), 'npm pack koffi');
  shipped = join(work, 'shipped');
  mkdirSync(shipped);
  const iptc = tarballList().find((f) => f.includes('/iptc-'))!;
  ok(sh('tar', ['xzf', iptc, '-C', shipped, '--strip-components=1'], work), 'tar');

  consumer = project('consumer', 'commonjs');
  ok(npm(['install', ...tarballList()], consumer), 'npm install');
  noScripts = project('no-scripts', 'module');
  ok(npm(['install', '--ignore-scripts', ...tarballList()], noScripts), 'npm install --ignore-scripts');
}, 400_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  /** The highest GLIBC_ version a shared object needs, and its ELF machine, as readelf reads them. */
  function elf(file: string): { glibc: number[]; machine: string } {
    const needs = [...execFileSync('readelf', ['-V', '--wide', file], { encoding: 'utf8' }).matchAll(/Name: GLIBC_([0-9.]+)/g)];
    const versions = needs.map((m) => m[1]!.split('.').map(Number));
    const glibc = versions.reduce((max, v) => (compare(v, max) > 0 ? v : max), [0]);
    const machine = /Machine:\s+(.+)/.exec(execFileSync('readelf', ['-h', file], { encoding: 'utf8' }))![1]!.trim();
    return { glibc, machine };
  }
  const compare = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };

  it.each([
    ['x64', 'Advanced Micro Devices X86-64'],
    ['arm64', 'AArch64'],
  ])('ships a linux-%s shim for %s that loads on glibc 2.28', (arch, machine) => {
    const facts = elf(join(shipped, 'prebuilds', `linux-${arch}`, 'libxtwrap.so'));
    expect(facts.machine).toBe(machine);
    expect(facts.glibc.length, 'readelf found no GLIBC_ version needs').toBeGreaterThan(1);
    expect(compare(facts.glibc, [2, 28]), `needs GLIBC_${facts.glibc.join('.')}`).toBeLessThanOrEqual(0);
  });

  it('has an MIT LICENSE, matching package.json', () => {
    const pkg = JSON.parse(readFileSync(join(shipped, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(shipped, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
  });

  it('has the docs, and every relative link of README.md and docs/ resolves inside it', () => {
    const pages = ['README.md', ...readdirSync(join(shipped, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
    expect(pages).toContain(join('docs', 'getting-started.md'));
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(shipped, page), 'utf8');
      const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g), ...text.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
      for (const target of targets) {
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const path = resolve(shipped, dirname(page), decodeURIComponent(target.split('#')[0]!));
        if (!path.startsWith(shipped + '/') || !existsSync(path)) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('has source maps only for shipped sources', () => {
    const files = readdirSync(join(shipped, 'dist'), { recursive: true, encoding: 'utf8' }).map((f) => join(shipped, 'dist', f));
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(file, 'utf8'))?.[1];
      if (url && !existsSync(resolve(dirname(file), url))) missing.push(`${relative(shipped, file)} -> ${url}`);
    }
    for (const map of maps) {
      const { sources, sourceRoot } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const source of sources) {
        const path = resolve(dirname(map), sourceRoot ?? '', source);
        if (!existsSync(path) || !statSync(path).isFile()) missing.push(`${relative(shipped, map)} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('declares types for import and require of every entry point, and node10 subpaths', () => {
    type Conditions = Record<string, { types: string; default: string }>;
    const pkg = JSON.parse(readFileSync(join(shipped, 'package.json'), 'utf8')) as {
      exports: Record<string, Conditions | string>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    const entries = Object.entries(pkg.exports).filter((e): e is [string, Conditions] => typeof e[1] === 'object');
    expect(entries.map(([k]) => k)).toEqual(['.', './easy', './ipset', './async', './xtables', './testing']);
    for (const [, conditions] of entries) {
      expect(Object.keys(conditions)).toEqual(['import', 'require']);
      for (const { types, default: js } of Object.values(conditions)) {
        expect(existsSync(join(shipped, types)), types).toBe(true);
        expect(existsSync(join(shipped, js)), js).toBe(true);
      }
      expect(conditions.require!.types).toMatch(/\.d\.cts$/);
    }
    const subpaths = Object.keys(pkg.typesVersions['*']!);
    expect(subpaths.sort()).toEqual(entries.map(([k]) => k.slice(2)).filter(Boolean).sort());
  });

  it('admits exactly the Node.js versions that require() ESM without a flag', () => {
    const { engines } = JSON.parse(readFileSync(join(shipped, 'package.json'), 'utf8')) as { engines: { node: string } };
    // npm's own semver, as npm reads `engines`.
    const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
    const semver = createRequire(npmCli)('semver') as { satisfies(v: string, r: string): boolean };
    const admitted = ['18.20.0', '20.18.3', '20.19.0', '21.7.3', '22.11.0', '22.12.0', '23.0.0', '24.1.0'].filter((v) => semver.satisfies(v, engines.node));
    expect(admitted).toEqual(['20.19.0', '22.12.0', '23.0.0', '24.1.0']);
    expect(semver.satisfies(process.versions.node, engines.node)).toBe(true);
  });
});

describe('a consumer project', () => {
  it('imports it as ESM', () => {
    writeFileSync(join(consumer, 'esm.mjs'), program('esm', 'esm'));
    runNode('esm.mjs', consumer);
    expectManaged('esm');
  });

  it('requires it from CommonJS', () => {
    writeFileSync(join(consumer, 'cjs.cjs'), program('cjs', 'cjs'));
    runNode('cjs.cjs', consumer);
    expectManaged('cjs');
  });

  it("runs docs/getting-started.md's CommonJS example", () => {
    const text = readFileSync(join(shipped, 'docs', 'getting-started.md'), 'utf8');
    const blocks = [...text.matchAll(/^```cjs\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    blocks.forEach((code, i) => {
      writeFileSync(join(consumer, `docs-${i}.cjs`), code);
      runNode(`docs-${i}.cjs`, consumer);
    });
    expect(rules('filter', 'INPUT')).toContain('-p tcp -m tcp --dport 8080 -m comment --comment "from CommonJS" -j ACCEPT');
  });

  // Each TypeScript setup type-checks (no skipLibCheck) and compiles a consumer, whose output then runs.
  const setups = [
    { name: 'node16_cjs', file: 'node16_cjs.cts', out: 'node16_cjs.cjs', options: { module: 'node16' } },
    { name: 'node16_esm', file: 'node16_esm.mts', out: 'node16_esm.mjs', options: { module: 'node16' } },
    { name: 'nodenext_cjs', file: 'nodenext_cjs.cts', out: 'nodenext_cjs.cjs', options: { module: 'nodenext' } },
    { name: 'bundler', file: 'bundler.mts', out: 'bundler.mjs', options: { module: 'esnext', moduleResolution: 'bundler' } },
    {
      name: 'node10',
      file: 'node10.ts',
      out: 'node10.js',
      options: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
    },
  ];
  it.each(setups)('compiles and runs under TypeScript $name resolution', ({ name, file, out, options }) => {
    const dir = join(consumer, `ts-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, file), program('ts', name));
    const config = {
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
        strict: true,
        skipLibCheck: false,
        outDir: 'out',
        ...options,
      },
      files: [file],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    ok(sh(process.execPath, [tsc, '-p', dir], dir), `tsc (${name})`);
    runNode(join('out', out), dir);
    expectManaged(name);
  }, 120_000);

  it('works installed with --ignore-scripts, through the prebuilt shim', () => {
    expect(existsSync(join(noScripts, 'node_modules', 'iptc', 'build'))).toBe(false);
    writeFileSync(join(noScripts, 'app.js'), program('esm', 'noscripts'));
    runNode('app.js', noScripts);
    expectManaged('noscripts');
  });

  it('says to run `npm rebuild iptc` where no shim fits', () => {
    const prebuilds = join(noScripts, 'node_modules', 'iptc', 'prebuilds');
    const aside = join(work, 'prebuilds-aside');
    cpSync(prebuilds, aside, { recursive: true });
    rmSync(prebuilds, { recursive: true });
    try {
      writeFileSync(join(noScripts, 'none.js'), program('esm', 'none'));
      const r = sh(process.execPath, ['none.js'], noScripts);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`LibraryError: no xtables shim fits linux-${process.arch}: run \`npm rebuild iptc\``);
    } finally {
      cpSync(aside, prebuilds, { recursive: true });
      run('ipset', ['destroy', 'c_none']); // made before the rule needed the shim
    }
  });

  it('`npm rebuild iptc` compiles the shim for this machine, which is then used', () => {
    ok(npm(['rebuild', 'iptc', '--foreground-scripts'], noScripts), 'npm rebuild iptc');
    const compiled = join(noScripts, 'node_modules', 'iptc', 'build', 'libxtwrap.so');
    expect(existsSync(compiled)).toBe(true);
    writeFileSync(join(noScripts, 'rebuilt.js'), `${program('esm', 'rebuilt')}
import { readFileSync } from 'node:fs';
if (!readFileSync('/proc/self/maps', 'utf8').includes(${JSON.stringify(compiled)})) throw new Error('the compiled shim is not the one loaded');
`);
    runNode('rebuilt.js', noScripts);
    expectManaged('rebuilt');
  }, 120_000);

  it('says in one line what to install when the shim cannot be compiled', () => {
    const r = npm(['rebuild', 'iptc', '--foreground-scripts'], noScripts, { CC: join(work, 'no-such-cc') });
    expect(r.status).not.toBe(0);
    const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.startsWith('iptc: '));
    expect(lines[0]).toMatch(/could not compile the xtables shim: install `apt-get install gcc libxtables-dev libiptc-dev`, then run `npm rebuild iptc`$/);
  }, 120_000);
});

describe('a bundled app (esbuild --platform=node)', () => {
  it.each(['esm', 'cjs'])('works in %s format with IPTC_SHIM_PATH naming the shim', (format) => {
    const name = `bundle_${format}`;
    const app = join(work, name);
    mkdirSync(app, { recursive: true });
    writeFileSync(join(consumer, `${name}.mjs`), program('esm', name));
    const outfile = join(app, format === 'esm' ? 'app.mjs' : 'app.cjs');
    // koffi carries a native module, so it stays outside the bundle, installed next to it.
    ok(sh(esbuild, [`${name}.mjs`, '--bundle', '--platform=node', `--format=${format}`, '--external:koffi', `--outfile=${outfile}`, '--log-level=error'], consumer), 'esbuild');
    for (const dep of ['koffi', koffiNative]) cpSync(join(consumer, 'node_modules', dep), join(app, 'node_modules', dep), { recursive: true });
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('iptc');

    const without = sh(process.execPath, [outfile], app, { IPTC_SHIM_PATH: '' });
    expect(without.status).not.toBe(0);
    expect(without.stderr).toContain('set IPTC_SHIM_PATH');
    run('ipset', ['destroy', `c_${name}`]); // made before the rule needed the shim

    const shim = join(app, 'libxtwrap.so');
    cpSync(join(consumer, 'node_modules', 'iptc', 'prebuilds', `linux-${process.arch}`, 'libxtwrap.so'), shim);
    ok(sh(process.execPath, [outfile], app, { IPTC_SHIM_PATH: shim }), `bundled ${format} app`);
    expectManaged(name);
  }, 120_000);
});
