// The README's quick start and .ci/run describe the same set-up: CI installs exactly the system packages
// the README lists and runs each of its commands, in a fresh clone with an empty npm cache, so a step the
// README lacks (or one that works only on a warm machine) fails CI instead of a new user.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** Shell lines with continuations joined, comments and blank lines dropped. */
function shellLines(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}

function quickStart(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /## Quick start[^\n]*\n+```sh[^\n]*\n([\s\S]*?)\n```/.exec(readme);
  if (!block) throw new Error('README.md has no ```sh block under "## Quick start"');
  return shellLines(block[1]!);
}

const ciRun = () => shellLines(readFileSync(join(root, '.ci', 'run'), 'utf8'));

/** The package lists of each `apt-get install`, sorted, in order. */
const aptInstalls = (lines: string[]) =>
  lines
    .map((l) => /\bapt-get install\s+(.*)$/.exec(l)?.[1])
    .filter((rest): rest is string => rest !== undefined)
    .map((rest) => rest.split(/\s+/).filter((w) => !w.startsWith('-') && !w.startsWith('>')).sort());

describe('the README quick start and .ci/run', () => {
  it('install the same system packages, nftables among them', () => {
    const readme = aptInstalls(quickStart());
    expect(readme.length).toBeGreaterThan(0);
    expect(aptInstalls(ciRun())).toEqual(readme);
    expect(readme[0]).toContain('nftables');
  });

  it('run every command of the quick start: update, clone, npm ci, npm test, npm run demo', () => {
    const readme = quickStart();
    const ci = ciRun();
    const npm = readme.filter((l) => l.startsWith('npm '));
    expect(npm).toEqual(['npm ci', 'npm test', 'npm run demo']);
    for (const cmd of npm) expect(ci.some((l) => l === cmd || l.startsWith(`${cmd} `)), cmd).toBe(true);
    for (const step of ['apt-get update', 'git clone']) {
      expect(readme.some((l) => l.includes(step)), step).toBe(true);
      expect(ci.some((l) => l.includes(step)), step).toBe(true);
    }
  });

  it('CI starts from an npm cache and a cache directory that are new and empty', () => {
    const ci = ciRun();
    expect(ci).toContain('export npm_config_cache="$caches/npm"');
    expect(ci).toContain('export XDG_CACHE_HOME="$caches/xdg"');
    expect(ci).toContain('caches="$(mktemp -d)"');
    // The clone goes into a directory of its own: nothing beside it.
    expect(ci).toContain('work="$(mktemp -d)"');
    expect(ci).toContain('git clone --quiet "$src" "$work/iptc"');
  });
});
