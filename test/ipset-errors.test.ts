// Every ipset error code this kernel can be made to return, as IPSetError with errno and ipset's meaning;
// a failed call leaves the kernel as it was.
import { describe, expect, it } from 'vitest';
import { IPSetError, describeError } from '../src/ipset/index.js';
import { cliSave, ipsetForFile } from './ipset-kernel.js';
import { ipt as iptables } from './kernel.js';

const ipset = ipsetForFile();

function failure(fn: () => unknown): IPSetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof IPSetError) return e;
    throw e;
  }
  throw new Error('expected an IPSetError');
}

/** Runs fn, expects an IPSetError with this code and message, and checks `ipset save` did not change. */
function expectCode(fn: () => unknown, code: number, name: string, message: RegExp): IPSetError {
  const before = cliSave();
  const e = failure(fn);
  expect(e.errno).toBe(code);
  expect(e.code).toBe(code);
  expect(e.errorName).toBe(name);
  expect(e.message).toMatch(message);
  expect(cliSave()).toBe(before);
  return e;
}

describe('generic ipset error codes', () => {
  it('4097 protocol: an IPv4 address into an inet6 set', () => {
    ipset.create('s6', { family: 'inet6' });
    expectCode(() => ipset.add('s6', '1.2.3.4'), 4097, 'IPSET_ERR_PROTOCOL', /does not fit the set's type or family/);
  });

  it('4098 find type: a type this kernel lacks', () => {
    expectCode(() => ipset.create('m', { stype: 'hash:mac' }), 4098, 'IPSET_ERR_FIND_TYPE', /not supported/);
  });

  it('4100 busy: destroying a set a list:set references', () => {
    ipset.create('a', {});
    ipset.create('l', { stype: 'list:set' });
    ipset.add('l', 'a');
    expectCode(() => ipset.destroy('a'), 4100, 'IPSET_ERR_BUSY', /in use by a kernel component/);
  });

  it('4101 rename to an existing name / swap with a missing set', () => {
    ipset.create('a', {});
    ipset.create('b', {});
    expectCode(() => ipset.rename('a', 'b'), 4101, 'IPSET_ERR_EXIST_SETNAME2', /new name already exists/);
    expectCode(() => ipset.swap('a', 'zz'), 4101, 'IPSET_ERR_EXIST_SETNAME2', /second set does not exist/);
  });

  it('4102 type mismatch: swapping inet and inet6 sets', () => {
    ipset.create('a', {});
    ipset.create('b', { family: 'inet6' });
    expectCode(() => ipset.swap('a', 'b'), 4102, 'IPSET_ERR_TYPE_MISMATCH', /type or family does not match/);
  });

  it('4103 exist: re-adding, deleting a missing element', () => {
    ipset.create('a', {});
    ipset.add('a', '1.1.1.1');
    expectCode(() => ipset.add('a', '1.1.1.1'), 4103, 'IPSET_ERR_EXIST', /element already exists/);
    expectCode(() => ipset.delete('a', '2.2.2.2'), 4103, 'IPSET_ERR_EXIST', /not in the set/);
    expect(ipset.test('a', '2.2.2.2')).toBe(false);
  });

  it('4104 invalid cidr: /0 into hash:net', () => {
    ipset.create('n', { stype: 'hash:net' });
    expectCode(() => ipset.add('n', '0.0.0.0/0'), 4104, 'IPSET_ERR_INVALID_CIDR', /CIDR/);
  });

  it('4105 invalid netmask: /33 for an inet set', () => {
    expectCode(
      () => ipset.create('b', { stype: 'hash:ip', netmask: 33 }),
      4105,
      'IPSET_ERR_INVALID_NETMASK',
      /netmask/,
    );
  });

  it('4107 timeout / 4111 counters / 4112 comment / 4114 skbinfo: extension not enabled', () => {
    ipset.create('plain', {});
    expectCode(() => ipset.add('plain', '1.1.1.1', { timeout: 5 }), 4107, 'IPSET_ERR_TIMEOUT', /timeout extension not enabled/);
    expectCode(() => ipset.add('plain', '1.1.1.1', { packets: 5 }), 4111, 'IPSET_ERR_COUNTER', /counters extension not enabled/);
    expectCode(() => ipset.add('plain', '1.1.1.1', { comment: 'x' }), 4112, 'IPSET_ERR_COMMENT', /comment extension not enabled/);
    expectCode(() => ipset.add('plain', '1.1.1.1', { skbmark: 1 }), 4114, 'IPSET_ERR_SKBINFO', /skbinfo extension not enabled/);
  });

  it('4108 referenced: renaming a set a list:set references', () => {
    ipset.create('a', {});
    ipset.create('l', { stype: 'list:set' });
    ipset.add('l', 'a');
    expectCode(() => ipset.rename('a', 'b'), 4108, 'IPSET_ERR_REFERENCED', /referenced/);
  });

  it('has a name and meaning for every code, including the ones not reachable from valid input', () => {
    for (let code = 4097; code <= 4115; code++) {
      const d = describeError(code);
      expect(d.name).toMatch(/^IPSET_ERR_/);
      expect(d.reason.length).toBeGreaterThan(5);
    }
    expect(describeError(4109).reason).toMatch(/IPv4/);
    expect(describeError(4110).reason).toMatch(/IPv6/);
    expect(describeError(4113).name).toBe('IPSET_ERR_INVALID_MARKMASK');
    expect(describeError(4354, '', 'hash').name).toBe('IPSET_ERR_INVALID_PROTO');
    expect(describeError(4355, '', 'hash').reason).toMatch(/protocol missing/i);
    expect(describeError(4352).name).toBe('IPSET_ERR_HASH_FULL|IPSET_ERR_BITMAP_RANGE|IPSET_ERR_NAME');
    expect(describeError(2, 'add').reason).toMatch(/does not exist/);
  });
});

describe('type-specific codes', () => {
  it('hash: 4352 full (maxelem), 4353 null element, 4356/4357 ranges', () => {
    ipset.create('h', { maxelem: 2 });
    ipset.add('h', '1.1.1.1');
    ipset.add('h', '1.1.1.2');
    expectCode(() => ipset.add('h', '1.1.1.3'), 4352, 'IPSET_ERR_HASH_FULL', /set is full/);
    ipset.create('h6', { family: 'inet6' });
    expectCode(() => ipset.add('h6', '::'), 4353, 'IPSET_ERR_HASH_ELEM', /null-valued/);
    ipset.create('n', { stype: 'hash:net' });
    expectCode(() => ipset.add('n', '0.0.0.0-255.255.255.255'), 4357, 'IPSET_ERR_HASH_RANGE', /whole address space/);
    ipset.create('np6', { stype: 'hash:net', family: 'inet6' });
    expectCode(() => ipset.add('np6', '2001:db8::1-2001:db8::5'), 4356, 'IPSET_ERR_HASH_RANGE_UNSUPPORTED', /range is not supported/);
  });

  it('bitmap: 4352 out of range, 4353 range too big', () => {
    ipset.create('b', { stype: 'bitmap:ip', range: '10.0.0.0/24' });
    expectCode(() => ipset.add('b', '10.0.1.1'), 4352, 'IPSET_ERR_BITMAP_RANGE', /out of the range/);
    expectCode(
      () => ipset.create('big', { stype: 'bitmap:ip', range: '10.0.0.0/8' }),
      4353,
      'IPSET_ERR_BITMAP_RANGE_SIZE',
      /exceeds the size limit/,
    );
  });

  // IPSET_ERR_LIST_FULL (4356) is unreachable here: this kernel grows a list:set past its size.
  it('list:set: 4352 name, 4353 loop, 4355 nameref, 4357 ref not in list', () => {
    ipset.create('a', {});
    ipset.create('b', {});
    ipset.create('l', { stype: 'list:set', size: 1 });
    ipset.create('l2', { stype: 'list:set' });
    expectCode(() => ipset.add('l', 'nope'), 4352, 'IPSET_ERR_NAME', /does not exist/);
    expectCode(() => ipset.add('l', 'l2'), 4353, 'IPSET_ERR_LOOP', /list:set sets cannot be added/);
    expectCode(() => ipset.add('l2', 'a', { before: 'zz' }), 4355, 'IPSET_ERR_NAMEREF', /does not exist/);
    expectCode(() => ipset.add('l2', 'a', { before: 'b' }), 4357, 'IPSET_ERR_REF_EXIST', /is not in the list/);
  });
});

describe('plain errnos', () => {
  it('ENOENT for a missing set in every command', () => {
    for (const fn of [
      () => ipset.add('nope', '1.1.1.1', { etype: 'ip' }),
      () => ipset.delete('nope', '1.1.1.1', { etype: 'ip' }),
      () => ipset.test('nope', '1.1.1.1', { etype: 'ip' }),
      () => ipset.add('nope', '1.1.1.1'),
      () => ipset.destroy('nope'),
      () => ipset.flush('nope'),
      () => ipset.rename('nope', 'x'),
      () => ipset.swap('nope', 'x'),
      () => ipset.list('nope'),
      () => ipset.headers('nope'),
      () => ipset.save('nope'),
      () => ipset.getSetByName('nope'),
      () => ipset.getSetByIndex(999),
    ]) {
      const e = failure(fn);
      expect(e.errno).toBe(2);
      expect(e.errorName).toBe('ENOENT');
    }
  });

  it('EEXIST for create of an existing set, with or without -exist for another type', () => {
    ipset.create('a', {});
    expectCode(() => ipset.create('a', {}), 17, 'EEXIST', /already exists/);
    expectCode(() => ipset.create('a', { stype: 'hash:net', exclusive: false }), 17, 'EEXIST', /already exists/);
  });

  it('4100 busy when an iptables rule references the set', () => {
    ipset.create('blk', {});
    const ipt = (args: string[]) => iptables(args);
    ipt(['-A', 'INPUT', '-m', 'set', '--match-set', 'blk', 'src', '-j', 'DROP']);
    try {
      expect(ipset.headers('blk').header.references).toBe(1);
      expectCode(() => ipset.destroy('blk'), 4100, 'IPSET_ERR_BUSY', /in use/);
    } finally {
      ipt(['-D', 'INPUT', '-m', 'set', '--match-set', 'blk', 'src', '-j', 'DROP']);
    }
    ipset.destroy('blk');
  });
});
