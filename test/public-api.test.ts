// The public API as its types and the typedoc site show it: every public symbol documented (typedoc's
// notDocumented validation, warnings as errors), the object model's methods saying what iptables/ipset
// command they stand for, and the declarations users compile against free of internals and consistent
// on their own (no skipLibCheck). Nothing here touches the kernel.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'iptc-public-api-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function run(file: string, args: string[]): string {
  const r = spawnSync(process.execPath, [file, ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  expect(r.status, `${file} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

interface Comment {
  summary?: { text: string }[];
  blockTags?: { content: { text: string }[] }[];
}
interface Reflection {
  name: string;
  kind: number;
  flags?: { isPrivate?: boolean; isProtected?: boolean };
  inheritedFrom?: unknown;
  comment?: Comment;
  signatures?: { comment?: Comment }[];
  children?: Reflection[];
}

const CLASS = 128;
const CONSTRUCTOR = 512;
const METHOD = 2048;

function text(c: Comment | undefined): string {
  if (!c) return '';
  return [...(c.summary ?? []), ...(c.blockTags ?? []).flatMap((t) => t.content)].map((p) => p.text).join('');
}

describe('the typedoc site', () => {
  let project: Reflection;

  beforeAll(() => {
    // typedoc.json: notDocumented (constructors included) with warnings as errors; a warning fails here.
    const json = join(work, 'api.json');
    run(typedoc, ['--json', json, '--out', join(work, 'html')]);
    project = JSON.parse(readFileSync(json, 'utf8')) as Reflection;
  }, 240_000);

  it('documents every method of the object model with the command it stands for', () => {
    const classes = new Set(['Table', 'Chain', 'Rule', 'Match', 'Target', 'Extension', 'Policy', 'AsyncTable', 'AsyncChain', 'IPSet', 'WiSet']);
    // Calls with no command to stand for: the object's own lifecycle.
    const lifecycle = new Set(['close', '[dispose]', '[asyncDispose]', 'closeNetlink', 'openNetlink', 'setAutocommit', 'equals', 'constructor']);
    const missing: string[] = [];
    const seen = new Set<string>();
    const walk = (node: Reflection, module: string): void => {
      for (const c of node.children ?? []) {
        if (c.kind === CLASS && classes.has(c.name)) {
          seen.add(c.name);
          for (const m of c.children ?? []) {
            if (m.flags?.isPrivate || m.flags?.isProtected || m.inheritedFrom || lifecycle.has(m.name)) continue;
            if (m.kind !== METHOD && m.kind !== CONSTRUCTOR) continue;
            const doc = text(m.comment) + (m.signatures ?? []).map((s) => text(s.comment)).join('');
            if (!/Equivalent to|`(?:iptables|ip6tables|ipset)[^`]*`/.test(doc)) missing.push(`${module}.${c.name}.${m.name}`);
          }
        }
        walk(c, module || c.name);
      }
    };
    walk(project, '');
    expect([...seen].sort()).toEqual([...classes].sort());
    expect(missing).toEqual([]);
  });

  it('shows no internal member', () => {
    const names = new Set<string>();
    const walk = (node: Reflection): void => {
      for (const c of node.children ?? []) {
        names.add(c.name);
        walk(c);
      }
    };
    walk(project);
    for (const internal of ['rawChain', 'edit', 'editEntry', 'peek', 'policyOf', 'checkJump', 'fromEntry', 'toEntry', 'toEntryWithMask',
      'scratchEntry', 'headerBuffer', 'parseKey', 'ipHeader', 'finalBlob', 'parseOption', 'kernelBlob', 'kernelLabel', 'KernelRule',
      'BuiltBlob', 'ExtensionOwner', 'tableLink', 'adoptParsed', 'standardLabel', 'ParsedRule']) {
      expect(names.has(internal), internal).toBe(false);
    }
  });
});

describe('the declarations', () => {
  let dist: string;

  beforeAll(() => {
    dist = join(work, 'dist');
    run(tsc, ['-p', join(root, 'tsconfig.build.json'), '--emitDeclarationOnly', '--declarationMap', 'false', '--sourceMap', 'false', '--outDir', dist]);
  }, 240_000);

  it('hold no internal member of the public classes', () => {
    const files = ['iptc/table', 'iptc/chain', 'iptc/rule', 'iptc/match', 'iptc/target', 'iptc/extension', 'iptc/index', 'async/table', 'async/chain', 'async/rule'];
    const internal = /\b(rawChain|edit|editEntry|peek|policyOf|checkJump|fromEntry|toEntry|toEntryWithMask|scratchEntry|headerBuffer|parseKey|ipHeader|finalBlob|parseOption|kernelBlob|kernelLabel|kernelUserspacesize|storedName|applyOptions|checkExists|KernelRule|BuiltBlob|ExtensionOwner|TableHandle|TableEdits|checkJumpLabel|jumpLabel|naming|adoptParsed|standardLabel|ParsedRule)\b/;
    for (const file of files) {
      const declarations = readFileSync(join(dist, `${file}.d.ts`), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\/\*\*|\*)/.test(line));
      const leaks = declarations.filter((line) => internal.test(line));
      expect(leaks, file).toEqual([]);
    }
  });

  it('type-check on their own, as a consumer without skipLibCheck compiles them', () => {
    const entries = ['iptc', 'async', 'easy', 'ipset', 'testing', 'xtables'].map((m) => join(dist, m, 'index.d.ts'));
    const config = join(work, 'tsconfig.json');
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false,
          lib: ['ES2023'], types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: entries,
      }),
    );
    run(tsc, ['-p', config]);
  });
});
