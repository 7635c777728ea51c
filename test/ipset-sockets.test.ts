// Sockets are given back: an IPSet or WiSet that is dropped without close() closes its netlink socket when
// it is garbage-collected, and `using` / close() close it at once. Counted in /proc/self/fd.
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { IPSet, WiSet } from '../src/ipset/index.js';
import { cleanIpsetChild, runIpsetChild } from './ipset-child.js';
import { cliSave, ipsetForFile, members } from './ipset-kernel.js';

const ipset = ipsetForFile();
afterAll(() => cleanIpsetChild());

const fds = () => readdirSync('/proc/self/fd').length;

describe('sockets of dropped objects', () => {
  it('3,000 IPSets and 1,000 WiSets with their own socket, never closed, leave no fd open after GC', () => {
    const { status, result, stderr } = runIpsetChild(
      `
      const { readdirSync } = await import('node:fs');
      const fds = () => readdirSync('/proc/self/fd').length;
      const settle = async () => {
        for (let i = 0; i < 5; i++) {
          globalThis.gc();
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await settle();
      const before = fds();
      let peak = 0;
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 500; i++) new ipset.IPSet().getProtoVersion();
        peak = Math.max(peak, fds());
        await settle();
      }
      for (let i = 0; i < 1000; i++) new ipset.WiSet({ name: 'w' + i }).openNetlink();
      peak = Math.max(peak, fds());
      await settle();
      return { before, peak, after: fds() };
      `,
      ['--expose-gc'],
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const { before, peak, after } = result as { before: number; peak: number; after: number };
    // The sockets were really open (so the count can tell), and are closed again.
    expect(peak - before).toBeGreaterThanOrEqual(500);
    expect(after - before).toBeLessThan(20);
  });
});

describe('close() and using', () => {
  it('using closes an IPSet at the end of its block', () => {
    const before = fds();
    {
      using s = new IPSet();
      s.create('u', {});
      expect(fds()).toBe(before + 1);
    }
    expect(fds()).toBe(before);
    expect(cliSave()).toMatch(/^create u hash:ip /);
  });

  it('a WiSet opens a socket of its own with openNetlink(); close() and using close it', () => {
    const before = fds();
    {
      using w = new WiSet({ name: 'own' });
      w.openNetlink();
      expect(fds()).toBe(before + 1);
      w.create();
      w.add('10.0.0.1');
      expect(w.sock).not.toBe(ipset);
    }
    expect(fds()).toBe(before);
    expect(members('own')).toEqual(['10.0.0.1']);
    const w = new WiSet({ name: 'own' });
    w.openNetlink();
    w.openNetlink(); // a second call keeps the socket it has
    expect(fds()).toBe(before + 1);
    w.closeNetlink();
    expect(fds()).toBe(before);
    expect(w.test('10.0.0.1')).toBe(true); // back on the shared socket
  });

  it('close() of a WiSet lets go of a socket it was given without closing it', () => {
    const given = new IPSet();
    const w = new WiSet({ name: 'given', sock: given });
    w.create();
    w.close();
    expect(given.closed).toBe(false);
    expect(given.test('given', '10.0.0.9')).toBe(false);
    given.close();
    expect(given.closed).toBe(true);
    expect(() => given.test('given', '10.0.0.9')).toThrow(/closed/);
  });
});
