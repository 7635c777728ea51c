// Text means what the ipset tool makes of it, or is refused (issue 12, item 7). The tool reads numbers
// with strtoull base 0 (a leading 0 is octal: `/010` is /8, port `010` is 8) and addresses with
// gethostbyname2 (inet_aton: `010.0.0.8` is 8.0.0.8, `10.1` is 10.0.0.1). Each form below is given to the
// library and to `ipset` 7.x in the same namespace: either both make the same element, byte for byte in
// `ipset save`, or the library refuses with a typed error and the kernel stays as it was.
import { describe, expect, it } from 'vitest';
import { IPSetError } from '../src/ipset/index.js';
import { cliRestore, cliSave, destroyAllSets, ipsetForFile, ipsetTry, members, stripTimeouts } from './ipset-kernel.js';

const ipset = ipsetForFile();

const TYPED = [IPSetError, TypeError, RangeError];

/** ipset save without the random initval of each create line, timeouts normalised. */
function state(): string {
  return stripTimeouts(cliSave().replace(/ initval 0x[0-9a-f]+/g, '').split('\n')).join('\n');
}

/**
 * Adds `text` to set `ours` with the library and to set `cli` (same type) with `ipset add`. Returns
 * 'same' when both made the same elements, 'refused' when the library refused (with the kernel unchanged).
 */
function addBoth(create: string[], text: string): 'same' | 'refused' {
  destroyAllSets();
  cliRestore(`create ours ${create.join(' ')}\ncreate cli ${create.join(' ')}\n`);
  const before = members('ours');
  let refused: unknown;
  try {
    ipset.add('ours', text);
  } catch (e) {
    refused = e;
  }
  if (refused !== undefined) {
    expect(TYPED.some((T) => refused instanceof T), `${text}: ${String(refused)}`).toBe(true);
    expect(members('ours'), text).toEqual(before);
    return 'refused';
  }
  const cli = ipsetTry('add', 'cli', text);
  expect(cli.status, `ipset add cli ${text}: ${cli.stderr}`).toBe(0);
  expect(members('ours'), text).toEqual(members('cli'));
  return 'same';
}

/** Applies restore text after `setup` with the library, then with `ipset restore`; compares as addBoth. */
function restoreBoth(setup: string, text: string): 'same' | 'refused' {
  destroyAllSets();
  cliRestore(setup);
  const before = state();
  let refused: unknown;
  try {
    ipset.restore(text);
  } catch (e) {
    refused = e;
  }
  if (refused !== undefined) {
    expect(TYPED.some((T) => refused instanceof T), `${text}: ${String(refused)}`).toBe(true);
    expect(state(), text).toBe(before);
    return 'refused';
  }
  const ours = state();
  destroyAllSets();
  cliRestore(setup);
  cliRestore(text);
  expect(ours, text).toBe(state());
  return 'same';
}

describe('IPv4 addresses', () => {
  it('leading zeros, short forms, hex and host names are refused; what is accepted is what ipset makes', () => {
    // ipset: 8.0.0.8, 10.0.0.1, 10.1.0.2, 0.0.0.10, 0.0.0.1, a host lookup, the range 0.0.0.5-1.2.3.4, 8.0.0.1-8.0.0.3
    for (const text of ['010.0.0.8', '10.1', '10.1.2', '10', '00.0.0.1', '0x0a.0.0.1', 'localhost', '1.2.3.4-5', '010.0.0.1-010.0.0.3', '1.2.3.4/010', '192.168.001.010']) {
      expect(addBoth(['hash:ip'], text), text).toBe('refused');
    }
    for (const text of ['10.0.0.8', '0.0.0.1', '1.2.3.0/30', '1.2.3.4-1.2.3.6', '1.2.3.4/0x1e', '192.168.1.10']) {
      expect(addBoth(['hash:ip'], text), text).toBe('same');
    }
  });

  it('the refusal says what ipset would have made of it', () => {
    expect(() => ipset.add('x', '010.0.0.8', { etype: 'ip' })).toThrow(/leading zero.*octal/);
    expect(() => ipset.add('x', '10.1', { etype: 'ip' })).toThrow(/fills in zeros.*all four parts/);
    expect(() => ipset.add('x', 'localhost', { etype: 'ip' })).toThrow(/host names are not resolved/);
    expect(() => ipset.add('x', '10.0.0.0/010', { etype: 'net' })).toThrow(/leading zero: the ipset tool reads it as octal 8/);
  });
});

describe('prefix lengths and IPv6', () => {
  it('/010 (ipset: /8) and /08 (ipset: an error) are refused, /0x10 is /16 as for ipset', () => {
    for (const text of ['10.0.0.0/010', '10.0.0.0/08', '10.0.0.0/+8', '10.0.0.0/ 8', '10.0.0.0/8.']) {
      expect(addBoth(['hash:net'], text), text).toBe('refused');
    }
    for (const text of ['10.0.0.0/8', '10.0.0.0/0x10', '10.1.0.0/0X10']) expect(addBoth(['hash:net'], text), text).toBe('same');
  });

  it('IPv6: /064 (ipset: /52) and an IPv4 tail with a leading zero are refused', () => {
    for (const text of ['2001:db8::/064', '::ffff:010.2.3.4', '2001:db8::1%lo']) {
      expect(addBoth(['hash:net', 'family', 'inet6'], text), text).toBe('refused');
    }
    for (const text of ['2001:db8::/64', '2001:0db8::1', '::ffff:1.2.3.4', '2001:DB8::3']) {
      expect(addBoth(['hash:net', 'family', 'inet6'], text), text).toBe('same');
    }
  });
});

describe('ports, protocols and ICMP', () => {
  it('a leading zero is refused (ipset: octal, or an error); hex is read as ipset reads it', () => {
    // ipset: an error, 8, tcp:8, 8-10, protocol 15, echo-request (8/0)
    for (const text of ['1.1.1.1,080', '1.1.1.1,010', '1.1.1.1,tcp:010', '1.1.1.1,010-012', '1.1.1.1,017:53', '1.1.1.1,icmp:010/0', '1.1.1.1,icmp:8/00', '1.1.1.1,+80']) {
      expect(addBoth(['hash:ip,port'], text), text).toBe('refused');
    }
    for (const text of ['1.1.1.1,0x50', '1.1.1.1,udp:0x35', '1.1.1.1,0x11:53', '1.1.1.1,6:80', '1.1.1.1,icmp:0x8/0', '1.1.1.1,icmp:8/0', '1.1.1.1,http', '1.1.1.1,tcp:80-0x51', '1.1.1.1,icmp:echo-request']) {
      expect(addBoth(['hash:ip,port'], text), text).toBe('same');
    }
  });
});

describe('list:set elements', () => {
  it("'a,before,b' (ipset: a, before b) is refused even when another program made a set of that name", () => {
    cliRestore('create a hash:ip\ncreate b hash:ip\ncreate a,before,b hash:ip\ncreate ours list:set\ncreate cli list:set\nadd ours b\nadd cli b\n');
    expect(() => ipset.add('ours', 'a,before,b')).toThrow(/use the before\/after options/);
    expect(members('ours')).toEqual(['b']);
    ipsetTry('add', 'cli', 'a,before,b');
    expect(members('cli')).toEqual(['a', 'b']); // the tool: the set a, placed before b
    ipset.add('ours', 'a', { before: 'b' });
    expect(cliSave('ours').split('\n').slice(1)).toEqual(cliSave('cli').split('\n').slice(1).map((l) => l.replace('add cli', 'add ours')));
  });
});

describe('numbers in restore text', () => {
  const setup = 'create c hash:ip timeout 100 counters skbinfo\n';

  it('a leading zero is refused (ipset: octal), hex is read as ipset reads it', () => {
    for (const line of [
      'add c 9.9.9.1 timeout 010',
      'add c 9.9.9.2 packets 010',
      'add c 9.9.9.3 bytes 010',
      'add c 9.9.9.4 skbqueue 010',
      'create q hash:ip maxelem 010',
      'create q hash:ip netmask 010',
      'create q hash:ip hashsize 01024',
      'create b bitmap:port range 010-020',
      'create b bitmap:ip range 10.0.0.0/030',
      'add c 9.9.9.5 skbmark 010',
    ]) {
      expect(restoreBoth(setup, `${line}\n`), line).toBe('refused');
    }
    for (const line of [
      'add c 9.9.9.1 timeout 0x10',
      'add c 9.9.9.2 packets 0x10 bytes 16',
      'add c 9.9.9.3 skbmark 0x10/0xff skbprio 10:10 skbqueue 0x8',
      'create q hash:ip maxelem 0x100 netmask 0x18',
      'create b bitmap:port range 10-0x20',
      'add c 9.9.9.4 packets 18446744073709551614',
    ]) {
      expect(restoreBoth(setup, `${line}\n`), line).toBe('same');
    }
  });

  it('a timeout above what the kernel keeps (2147483 s) is refused, not silently cut', () => {
    ipset.create('t', { timeout: 2147483 });
    expect(() => ipset.create('t2', { timeout: 2147484 })).toThrow(RangeError);
    expect(() => ipset.add('t', '1.2.3.4', { timeout: 3_000_000 })).toThrow(RangeError);
    expect(restoreBoth('create t hash:ip timeout 100\n', 'add t 1.2.3.5 timeout 2147484\n')).toBe('refused');
    expect(members('t')).toEqual([]);
  });
});
