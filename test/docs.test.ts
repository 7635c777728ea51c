// Every code block of README.md and docs/*.md is compiled and run, in file order, against the kernel of
// this test's private namespace: ```ts blocks are type-checked together with tsc (against the built
// package, imported by name as users do) and run with node; ```js blocks run with node; ```sh blocks run
// with bash, with the `iptc` command on PATH; all from the top of the checkout. A block whose info string says `no-run` is skipped (a
// server that never returns, installation steps). Blocks of one file share the kernel state; each file
// starts from empty tables and no sets.
//
// The docs are written for a reader whose tables use `auto`, the backend of the system's `iptables`, so
// their blocks read back with plain `iptables-save` (or name a backend's tool where they are about one
// backend). The blocks run as on a system whose iptables is the backend under test: `iptables`,
// `iptables-save`, `iptables-restore` and the ip6tables ones on PATH are those of $IPTC_BACKEND.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND, resetKernel, tools } from './kernel.js';

const root = join(import.meta.dirname, '..');
// Inside the package, so that `import ... from 'iptc'` resolves to this package (self-reference).
const work = join(import.meta.dirname, '.tmp-docs');
const binDir = join(work, 'bin');

interface Block {
  file: string;
  line: number;
  lang: 'ts' | 'js' | 'sh';
  code: string;
  id: string;
}

const LANGS: Record<string, Block['lang']> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', sh: 'sh', bash: 'sh', shell: 'sh' };

function blocksOf(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(open[1]!.length));
    const lang = LANGS[open[2]!.toLowerCase()];
    if (!lang || /\bno-run\b/.test(open[3]!)) continue;
    const name = relative(root, file).replace(/[^a-z0-9]+/gi, '_');
    out.push({ file: relative(root, file), line: start + 1, lang, code: body.join('\n'), id: `${name}_${start + 1}` });
  }
  return out;
}

const files = [join(root, 'README.md'), ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => join(root, 'docs', f))];
const byFile = files.map((f) => ({ file: relative(root, f), blocks: blocksOf(f) })).filter((f) => f.blocks.length > 0);

beforeAll(() => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(binDir, { recursive: true });
  symlinkSync(join(root, 'bin', 'iptc.js'), join(binDir, 'iptc'));
  for (const family of [4, 6] as const) {
    for (const tool of [tools.iptables(family), tools.save(family), tools.restore(family)]) {
      writeFileSync(join(binDir, tool.replace(`-${BACKEND}`, '')), `#!/bin/sh\nexec ${tool} "$@"\n`, { mode: 0o755 });
    }
  }
  const tsBlocks = byFile.flatMap((f) => f.blocks).filter((b) => b.lang === 'ts');
  for (const b of tsBlocks) writeFileSync(join(work, `${b.id}.ts`), `${b.code}\nexport {};\n`);
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023', 'ESNext.Disposable', 'DOM'],
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
        strict: true,
        skipLibCheck: true,
        noEmit: true,
      },
      include: ['*.ts'],
    }),
  );
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('code blocks in the docs', () => {
  it('every ```ts block type-checks against the built package', () => {
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(work, 'tsconfig.json')], { encoding: 'utf8' });
    // Map the temporary file names back to the markdown lines they came from.
    const message = r.stdout.replace(/(\w+?)_(\d+)\.ts\((\d+),(\d+)\)/g, (_m, name: string, line: string, l: string) => `${name} block at line ${line} (+${Number(l) - 1}): `);
    expect(r.status, message).toBe(0);
  }, 120_000);

  for (const { file, blocks } of byFile) {
    describe(file, () => {
      beforeAll(() => resetKernel());
      for (const b of blocks) {
        it(`runs the ${b.lang} block at line ${b.line}`, () => {
          let cmd: string;
          let args: string[];
          let scratch: string | undefined;
          if (b.lang === 'sh') {
            cmd = 'bash';
            args = ['-euo', 'pipefail', '-c', b.code];
          } else {
            const js = b.lang === 'ts' ? ts.transpileModule(b.code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText : b.code;
            // At the top of the checkout, as a reader's script would be: `./examples/...` resolves.
            const path = join(root, `.docs-test-${b.id}.mjs`);
            writeFileSync(path, js);
            scratch = path;
            cmd = process.execPath;
            args = [path];
          }
          const r = spawnSync(cmd, args, {
            cwd: root,
            encoding: 'utf8',
            timeout: 30_000,
            env: { ...process.env, PATH: `${binDir}:${process.env.PATH}`, NODE_NO_WARNINGS: '1' },
          });
          if (scratch) rmSync(scratch, { force: true });
          expect(r.status, `${file}:${b.line} failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
        });
      }
    });
  }
});

