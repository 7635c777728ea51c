// Runs a snippet in a new Node process that imports this checkout's `iptc/ipset` sources, for what only a
// fresh process shows (its own file descriptors, `--expose-gc`). src/ipset and what it imports (src/inet, src/netns, src/netlink) are transpiled
// (no type check) into a temporary directory, so the child runs the code under test, not a stale `dist`.
// The child inherits this process's network namespace.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let built: { dir: string; entry: string } | undefined;

function ipsetEntry(): string {
  if (built) return built.entry;
  const dir = mkdtempSync(join(tmpdir(), 'iptc-ipset-child-'));
  for (const sub of ['ipset', 'inet', 'netns', 'netlink']) {
    for (const name of readdirSync(join(root, 'src', sub))) {
      if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
      const file = join(root, 'src', sub, name);
      const js = ts.transpileModule(readFileSync(file, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        fileName: file,
      }).outputText;
      const out = join(dir, 'dist', relative(join(root, 'src'), file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, js);
    }
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  built = { dir, entry: join(dir, 'dist', 'ipset', 'index.js') };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return built.entry;
}

/**
 * Runs `body` (an async function body in which `ipset` is the imported `iptc/ipset` module) in a new
 * Node process started with `nodeArgs`; returns what the body returned (through JSON) and the exit status.
 */
export function runIpsetChild(body: string, nodeArgs: string[] = []): { status: number | null; result: unknown; stderr: string } {
  const code = `
const ipset = await import(${JSON.stringify(ipsetEntry())});
const result = await (async () => { ${body} })();
process.stdout.write('\\n' + JSON.stringify(result) + '\\n');
`;
  const child = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 120_000 });
  const lines = (child.stdout ?? '').trim().split('\n');
  let result: unknown;
  try {
    result = JSON.parse(lines[lines.length - 1] ?? '');
  } catch {
    result = undefined;
  }
  return { status: child.status, result, stderr: child.stderr ?? '' };
}

/** Removes the transpiled tree (call from afterAll). */
export function cleanIpsetChild(): void {
  if (built) rmSync(built.dir, { recursive: true, force: true });
  built = undefined;
}
