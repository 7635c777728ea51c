// iptc/testing: functions and modules run in a fresh network namespace of their own; nothing they do
// reaches the namespace of the caller.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canCreateNetns, inNetns, inNetnsSync, NetnsError, runInNetns, runInNetnsSync } from '../dist/testing/index.js';
import { resetKernel, save } from './kernel.js';

// Inside the package, so that `import 'iptc'` resolves to this package (self-reference).
const dir = join(import.meta.dirname, '.tmp-testing');
const moduleFile = join(dir, 'firewall.mjs');

beforeAll(() => {
  resetKernel();
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    moduleFile,
    `import { Table, Rule } from 'iptc';
export function allowPort(port) {
  const r = Rule.parse(['-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT']);
  new Table('filter').chain('INPUT').appendRule(r);
  return new Table('filter').chain('INPUT').rules.map((x) => x.toString());
}
export default async function () { return { netns: (await import('node:fs')).readlinkSync('/proc/self/ns/net') }; }
export function fail() { const e = new Error('no luck'); e.code = 'ELUCK'; throw e; }
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('iptc/testing', () => {
  it('can create namespaces here', () => {
    expect(canCreateNetns()).toBe(true);
  });

  it('runs a function in a fresh namespace with the library at hand; bigints come back', async () => {
    const before = save('filter');
    const result = await inNetns(
      ({ iptc }, port: number) => {
        const filter = new iptc.Table('filter');
        filter.chain('INPUT').appendRule(iptc.Rule.parse(`-p udp --dport ${port} -j DROP`));
        const again = new iptc.Table('filter');
        return { rules: again.chain('INPUT').rules.map((r) => r.toString()), packets: again.chain('INPUT').rules[0]!.counters.packets };
      },
      [5353],
    );
    expect(result).toEqual({ rules: ['-p udp -m udp --dport 5353 -j DROP'], packets: 0n });
    expect(save('filter')).toBe(before);
  });

  it('gives each call its own namespace, with lo up and nothing else', async () => {
    const [a, b] = await Promise.all([
      inNetns(({ run }) => run('ip', ['-o', 'link', 'show'])),
      inNetns(({ require }) => (require('node:fs') as typeof import('node:fs')).readlinkSync('/proc/self/ns/net')),
    ]);
    expect(a.trim().split('\n')).toHaveLength(1);
    expect(a).toMatch(/1: lo: <LOOPBACK,UP,LOWER_UP>/);
    const here = (await import('node:fs')).readlinkSync('/proc/self/ns/net');
    expect(b).not.toBe(here);
  });

  it('runs a module export, async and sync', async () => {
    expect(await runInNetns(moduleFile, 'allowPort', [8443])).toEqual(['-p tcp -m tcp --dport 8443 -j ACCEPT']);
    expect(runInNetnsSync(new URL(`file://${moduleFile}`), 'allowPort', [22])).toEqual(['-p tcp -m tcp --dport 22 -j ACCEPT']);
    const { netns } = await runInNetns<{ netns: string }>(moduleFile);
    expect(netns).toMatch(/^net:\[\d+\]$/);
    expect(save('filter')).not.toContain('8443');
  });

  it('throws what the code threw, with its name, message and code', async () => {
    await expect(runInNetns(moduleFile, 'fail')).rejects.toMatchObject({ name: 'Error', message: 'no luck', code: 'ELUCK' });
    let caught: unknown;
    try {
      inNetnsSync(({ iptc }) => new iptc.Table('filter').chain('NOPE'));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NetnsError);
    expect(caught).toMatchObject({ name: 'IPTCError', errno: 2 });
    await expect(runInNetns(moduleFile, 'missing')).rejects.toThrow(/has no function export `missing'/);
  });

  it('kills a child that runs past the timeout', async () => {
    await expect(inNetns(() => new Promise(() => setInterval(() => {}, 1000)), [], { timeout: 500 })).rejects.toThrow(/killed by SIGKILL without a result/);
  });
});
