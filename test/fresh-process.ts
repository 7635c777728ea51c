// Runs a snippet of JavaScript in a fresh Node process that imports this checkout's `iptc` sources, for
// what only a new process shows (what libxtables does when the first extension loads, the once-per-
// process nft warning). The sources are transpiled (no type check) from src/iptc, src/xtables and
// src/inet into a temporary directory laid out like the package (dist/, prebuilds/, node_modules/), so the
// child runs the code under test, not a possibly stale `dist`. The child inherits this process's network namespace.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let built: { dir: string; entry: string } | null = null;

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** Transpiles the library's sources (iptc/async's with the rest) once per test file; returns the path of the iptc entry point. */
export function iptcEntry(): string {
  if (built) return built.entry;
  const dir = mkdtempSync(join(tmpdir(), 'iptc-fresh-'));
  for (const sub of ['iptc', 'xtables', 'inet', 'easy', 'ipset', 'netns', 'netlink', 'nft', 'async']) {
    for (const file of tsFiles(join(root, 'src', sub))) {
      const out = join(dir, 'dist', relative(join(root, 'src'), file)).replace(/\.ts$/, '.js');
      const js = ts.transpileModule(readFileSync(file, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        fileName: file,
      }).outputText;
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, js);
    }
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(root, 'prebuilds'), join(dir, 'prebuilds'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  built = { dir, entry: join(dir, 'dist', 'iptc', 'index.js') };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return built.entry;
}

/** Removes the transpiled tree (call from afterAll). */
export function cleanFresh(): void {
  if (built) rmSync(built.dir, { recursive: true, force: true });
  built = null;
}

/**
 * Runs `body` (an async function body; `iptc` is the imported module) in a new Node process. The last
 * stdout line is `{ result, warnings }` as JSON: what the body returned (bigints as strings) and the
 * process warnings emitted, returned parsed as `result`.
 */
export function runFresh(body: string, env: Record<string, string> = {}, opts: { newNetns?: boolean } = {}): {
  status: number | null;
  result: unknown;
  stdout: string;
  stderr: string;
} {
  const entry = iptcEntry();
  const code = `
const __out = [];
process.on('warning', (w) => __out.push({ warning: { name: w.name, code: w.code, message: w.message } }));
const iptc = await import(${JSON.stringify(entry)});
const result = await (async () => { ${body} })();
await new Promise((r) => setImmediate(r));
process.stdout.write('\\n' + JSON.stringify({ result, warnings: __out.map((x) => x.warning) }, (k, v) => typeof v === 'bigint' ? v.toString() : v) + '\\n');
`;
  // newNetns: run in a network namespace of its own (nested in the test's), where no table exists yet.
  const argv = ['--input-type=module', '-e', code];
  const [file, args]: [string, string[]] = opts.newNetns ? ['unshare', ['--net', '--', process.execPath, ...argv]] : [process.execPath, argv];
  const child = spawnSync(file, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  const lines = (child.stdout ?? '').trim().split('\n');
  let result: unknown;
  try {
    result = JSON.parse(lines[lines.length - 1] ?? '');
  } catch {
    result = undefined;
  }
  return { status: child.status, result, stdout: child.stdout ?? '', stderr: child.stderr ?? '' };
}
