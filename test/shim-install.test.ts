// npm's install step (scripts/build-shim.mjs --install) on the systems users run: where a prebuild fits it
// is kept; elsewhere (musl, an older glibc, another architecture) the shim is compiled, and where that
// fails one line says what to install. The systems are simulated through the decision's inputs; the real
// `npm rebuild iptc` on this machine is in test/consumers.test.ts.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { cannotCompileMessage, installHint, installPlan } from '../scripts/build-shim.mjs';

interface Plan {
  compile: boolean;
  fits: boolean;
  system: string;
}
const plan = installPlan as (facts: { arch: string; glibc: string | undefined; hasPrebuild: boolean; command?: string }) => Plan;
const message = cannotCompileMessage as (facts: { cc: string; plan: Plan; ids: string }) => string;
const hint = installHint as (ids: string) => string;

describe('npm install of iptc', () => {
  it('keeps the prebuild on glibc 2.28 and later, and compiles on `npm rebuild iptc`', () => {
    expect(plan({ arch: 'x64', glibc: '2.36', hasPrebuild: true, command: 'install' })).toEqual({
      compile: false, fits: true, system: 'linux-x64 glibc 2.36' });
    expect(plan({ arch: 'arm64', glibc: '2.28', hasPrebuild: true, command: 'ci' }).compile).toBe(false);
    expect(plan({ arch: 'x64', glibc: '2.36', hasPrebuild: true, command: 'rebuild' }).compile).toBe(true);
  });

  it('compiles where no prebuild fits: musl, an older glibc, another architecture', () => {
    expect(plan({ arch: 'x64', glibc: undefined, hasPrebuild: true, command: 'install' })).toEqual({
      compile: true, fits: false, system: 'linux-x64 musl' });
    expect(plan({ arch: 'arm64', glibc: undefined, hasPrebuild: true, command: 'install' }).system).toBe('linux-arm64 musl');
    expect(plan({ arch: 'x64', glibc: '2.17', hasPrebuild: true, command: 'install' }).compile).toBe(true);
    expect(plan({ arch: 'riscv64', glibc: '2.36', hasPrebuild: false, command: 'install' })).toEqual({
      compile: true, fits: false, system: 'linux-riscv64 glibc 2.36' });
  });

  it('on Alpine without a compiler or headers, says in one line what to apk add, then `npm rebuild iptc`', () => {
    const musl = plan({ arch: 'x64', glibc: undefined, hasPrebuild: true, command: 'install' });
    const line = message({ cc: 'cc', plan: musl, ids: 'alpine' });
    expect(line).toBe(
      'iptc: no prebuilt shim fits linux-x64 musl and `cc` could not compile the xtables shim: ' +
        'install `apk add build-base iptables-dev linux-headers`, then run `npm rebuild iptc`',
    );
    expect(line).not.toContain('\n');
  });

  it('names each distribution family its own packages, and both where it cannot tell', () => {
    expect(hint('debian')).toBe('`apt-get install gcc libxtables-dev libiptc-dev`');
    expect(hint('ubuntu debian')).toBe('`apt-get install gcc libxtables-dev libiptc-dev`');
    expect(hint('rocky rhel centos fedora')).toBe('`dnf install gcc iptables-devel`');
    expect(hint('postmarketos alpine')).toContain('apk add build-base iptables-dev linux-headers');
    const unknown = hint('');
    expect(unknown).toContain('apt-get install gcc libxtables-dev libiptc-dev');
    expect(unknown).toContain('apk add build-base iptables-dev linux-headers');
  });

  it('where a prebuild fits but `npm rebuild` cannot compile, says only what to install', () => {
    const rebuild = plan({ arch: 'x64', glibc: '2.36', hasPrebuild: true, command: 'rebuild' });
    expect(message({ cc: 'gcc', plan: rebuild, ids: 'debian' })).toBe(
      'iptc: `gcc` could not compile the xtables shim: install `apt-get install gcc libxtables-dev libiptc-dev`, then run `npm rebuild iptc`',
    );
  });
});
