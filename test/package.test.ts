// The packed tarball installs as a dependency with install scripts disabled (npm's and pnpm's default
// for dependencies) and works: it carries the shim prebuilt for linux-x64.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetKernel, rules } from './kernel.js';

const root = join(import.meta.dirname, '..');
let dir: string;

beforeAll(() => {
  resetKernel();
  dir = mkdtempSync(join(tmpdir(), 'iptc-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: root, stdio: 'pipe' });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync(
    'npm',
    ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)],
    { cwd: dir, stdio: 'pipe' },
  );
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm pack', () => {
  it('installs with --ignore-scripts and manages rules through the prebuilt shim', () => {
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
