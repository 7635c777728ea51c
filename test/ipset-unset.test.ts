// A value that went missing never widens a call (issue 12, item 6). A missing set name in destroy/flush is
// a TypeError; every set is the explicit destroyAll()/flushAll(). An options key that is undefined or null,
// unknown (a typo, `__proto__` from JSON.parse) or a truthy string for a flag is a TypeError. The kernel is
// read back with `ipset save` after each refusal.
import { describe, expect, it } from 'vitest';
import { IPSet, WiSet, loadAllIpsets } from '../src/ipset/index.js';
import { cliRestore, cliSave, ipsetForFile, members, setNames, stripTimeouts } from './ipset-kernel.js';

const ipset = ipsetForFile();

function setup(): string {
  cliRestore(
    [
      'create a hash:ip',
      'add a 10.0.0.1',
      'create n hash:net comment timeout 600',
      'add n 10.0.0.0/8 timeout 0', // permanent: ipset save does not tick between two reads
      'create l list:set',
      'add l a',
      '',
    ].join('\n'),
  );
  return cliSave();
}

/** fn throws a TypeError and `ipset save` is as before. */
function refused(fn: () => unknown, message?: RegExp): void {
  const before = cliSave();
  expect(fn).toThrow(TypeError);
  if (message) expect(fn).toThrow(message);
  expect(cliSave()).toBe(before);
}

const u = undefined as unknown as string;

describe('destroy and flush name one set; destroyAll and flushAll are explicit', () => {
  it('destroy(undefined), destroy(), flush(undefined), flush(null) are TypeErrors that touch no set', () => {
    const before = setup();
    refused(() => ipset.destroy(u), /set name must be a string, got undefined/);
    refused(() => (ipset.destroy as () => void)());
    refused(() => ipset.flush(u));
    refused(() => ipset.flush(null as unknown as string), /got null/);
    refused(() => (ipset.flush as () => void)());
    expect(cliSave()).toBe(before);
  });

  it('a WiSet whose name went missing does not destroy or flush every set', () => {
    setup();
    const w = new WiSet({ name: 'a' });
    w.name = u;
    refused(() => w.flush());
    refused(() => w.destroy());
    expect(setNames()).toEqual(['a', 'l', 'n']);
  });

  it('flushAll() empties every set and destroyAll() removes every set, as `ipset flush` / `ipset destroy`', () => {
    setup();
    ipset.flushAll();
    expect(members('a')).toEqual([]);
    expect(members('n')).toEqual([]);
    expect(members('l')).toEqual([]);
    expect(setNames()).toEqual(['a', 'l', 'n']);
    ipset.destroyAll();
    expect(setNames()).toEqual([]);
  });

  it('a bare destroy / flush line of restore text still means every set, as for `ipset restore`', () => {
    setup();
    ipset.restore('flush\n');
    expect(members('a')).toEqual([]);
    ipset.restore('destroy\n');
    expect(setNames()).toEqual([]);
  });
});

describe('options objects', () => {
  it('an undefined or null value is a TypeError, never "absent"', () => {
    setup();
    refused(() => ipset.add('n', '10.1.0.0/16', { nomatch: undefined }), /'nomatch' is undefined/);
    refused(() => ipset.add('n', '10.1.0.0/16', { timeout: null as unknown as number }), /'timeout' is null/);
    refused(() => ipset.add('n', '10.1.0.0/16', { comment: undefined }));
    refused(() => ipset.add('n', '10.1.0.0/16', { exclusive: undefined }));
    refused(() => ipset.delete('n', '10.0.0.0/8', { exclusive: undefined }));
    refused(() => ipset.test('n', '10.0.0.1', { etype: undefined }));
    refused(() => ipset.create('c', { family: undefined }));
    refused(() => ipset.create('c', { counters: null as unknown as boolean }));
    refused(() => ipset.addMany('n', ['10.2.0.0/16', { entry: '10.3.0.0/16', nomatch: undefined }]), /entry #1/);
    refused(() => ipset.addMany('n', ['10.2.0.0/16'], { timeout: undefined }));
    refused(() => ipset.restore('add a 10.0.0.2\n', { exist: undefined }));
    refused(() => new WiSet({ name: 'w', counters: undefined }));
    refused(() => new WiSet({ name: 'w' }).create({ timeout: undefined }));
    refused(() => new WiSet({ name: 'n' }).insertList(['10.4.0.0/16'], { nomatch: undefined }));
    refused(() => loadAllIpsets({ prefix: undefined }));
  });

  it('unknown keys (a typo, __proto__ from JSON) and truthy strings for flags are TypeErrors', () => {
    setup();
    const fromJson = JSON.parse('{"__proto__": {"nomatch": true}, "timeout": 5}') as { timeout: number };
    refused(() => ipset.add('n', '10.1.0.0/16', fromJson), /unknown option '__proto__'/);
    refused(() => ipset.addMany('n', [JSON.parse('{"entry": "10.1.0.0/16", "__proto__": {"nomatch": true}}')]), /__proto__/);
    refused(() => ipset.add('n', '10.1.0.0/16', { nomatc: true } as never), /unknown option 'nomatc'/);
    refused(() => ipset.create('c', JSON.parse('{"stype": "hash:ip", "__proto__": {"timeout": 5}}')));
    refused(() => ipset.add('n', '10.1.0.0/16', { nomatch: 'false' as unknown as boolean }), /nomatch must be true or false/);
    refused(() => ipset.create('c', { counters: 'no' as unknown as boolean }));
    refused(() => ipset.addMany('n', [{ entry: '10.1.0.0/16', exclusive: true } as never]), /unknown option 'exclusive'/);
  });

  it('an option the set type has no use for is refused, not dropped by the kernel', () => {
    setup();
    // Dropped, nomatch would turn an exception into a plain element; a dropped range, a smaller set.
    refused(() => ipset.add('a', '10.0.0.7', { nomatch: true }), /nomatch applies only/);
    refused(() => ipset.add('a', '10.0.0.7', { before: 'n' }), /before applies only to list:set/);
    refused(() => ipset.add('n', '10.5.0.0/16', { wildcard: true }), /wildcard applies only to hash:net,iface/);
    refused(() => ipset.create('c', { stype: 'hash:ip', range: '10.0.0.0/24' }), /'range' does not apply to hash:ip/);
    refused(() => ipset.create('c', { stype: 'hash:net', netmask: 24 }), /'netmask' does not apply/);
    refused(() => ipset.create('c', { stype: 'list:set', hashsize: 1024 }), /'hashsize' does not apply/);
    refused(() => ipset.restore('add a 10.0.0.8 nomatch\n'));
    // Where it applies, it is kept.
    ipset.add('n', '10.6.0.0/16', { nomatch: true });
    expect(stripTimeouts(members('n'))).toContain('10.6.0.0/16 timeout N nomatch');
  });
});

it('IPSet survives all of it', () => {
  using s = new IPSet();
  s.create('ok', { stype: 'hash:ip', counters: true });
  s.add('ok', '192.0.2.1');
  expect(members('ok')).toEqual(['192.0.2.1 packets 0 bytes 0']);
});
