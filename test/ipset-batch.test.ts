// addMany batching (and its failure reporting), save() byte-for-byte against `ipset save`, restore(),
// and dumps that span many pages.
import { describe, expect, it } from 'vitest';
import { IPSetError, PortEntry } from '../src/ipset/index.js';
import { cliRestore, cliSave, destroyAllSets, ipsetCli, ipsetForFile, members, setNames, stripTimeouts } from './ipset-kernel.js';

const ipset = ipsetForFile();

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const ips = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ip(from + i));
const count = (name: string) => Number(/Number of entries: (\d+)/.exec(ipsetCli('list', '-t', name))![1]);

function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('addMany', () => {
  it('adds 20,000 elements in a few messages', () => {
    ipset.create('s', { maxelem: 100000 });
    ipset.addMany('s', ips(20000));
    expect(count('s')).toBe(20000);
    expect(ipset.test('s', ip(19999))).toBe(true);
  });

  it('takes per-entry options, arrays and generators', () => {
    ipset.create('c', { stype: 'hash:ip,port', comment: true, timeout: 100 });
    function* gen() {
      yield '1.1.1.1,udp:53';
      yield { entry: ['1.1.1.2', new PortEntry(80)], comment: 'web', timeout: 0 };
      yield { entry: '1.1.1.3,icmp:ping', comment: 'x y' };
    }
    ipset.addMany('c', gen(), { timeout: 50 });
    expect(stripTimeouts(members('c'))).toEqual([
      '1.1.1.1,udp:53 timeout N',
      '1.1.1.2,tcp:80 timeout N comment "web"',
      '1.1.1.3,icmp:echo-request timeout N comment "x y"',
    ]);
    expect(members('c')[1]).toBe('1.1.1.2,tcp:80 timeout 0 comment "web"');
  });

  it('stops at the first failing element and names it; earlier elements stay', () => {
    ipset.create('s', { maxelem: 100000 });
    ipset.add('s', ip(7000));
    const e = failure(() => ipset.addMany('s', ips(10000))) as IPSetError;
    expect(e).toBeInstanceOf(IPSetError);
    expect(e.errno).toBe(4103);
    expect(e.index).toBe(7000);
    expect(e.entry).toBe(ip(7000));
    expect(e.message).toMatch(/entry #7000.*element already exists/);
    expect(count('s')).toBe(7001); // 0..6999 were added, 7000 was there already, nothing after it
    expect(ipset.test('s', ip(6999))).toBe(true);
    expect(ipset.test('s', ip(7001))).toBe(false);
  });

  it('with exclusive: false (-exist) duplicates do not fail', () => {
    ipset.create('s', {});
    ipset.addMany('s', ips(100));
    ipset.addMany('s', ips(200), { exclusive: false });
    expect(count('s')).toBe(200);
  });

  it('a malformed entry anywhere changes nothing', () => {
    ipset.create('s', { maxelem: 100000 });
    const list = ips(10000);
    list[9000] = '10.0.0.300';
    const e = failure(() => ipset.addMany('s', list));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/entry #9000 \(10\.0\.0\.300\)/);
    expect(count('s')).toBe(0);
  });

  it('deleteMany removes in batches', () => {
    ipset.create('s', { maxelem: 100000 });
    ipset.addMany('s', ips(5000));
    ipset.deleteMany('s', ips(4000));
    expect(count('s')).toBe(1000);
  });

  it('reports a kernel error of a whole set (ENOENT, set full)', () => {
    expect((failure(() => ipset.addMany('nope', ['1.1.1.1'], { etype: 'ip' })) as IPSetError).errno).toBe(2);
    ipset.create('f', { maxelem: 10 });
    const e = failure(() => ipset.addMany('f', ips(20))) as IPSetError;
    expect(e.errno).toBe(4352);
    expect(e.index).toBe(10);
    expect(e.message).toMatch(/set is full/);
  });
});

/** A namespace full of sets of every type, with extensions and IPv6, made by the CLI. */
const FIXTURE = `create a hash:ip family inet hashsize 2048 maxelem 1000 netmask 24 timeout 600 counters comment skbinfo bucketsize 8 initval 0x4f6786b9
add a 1.2.3.0 timeout 0 packets 5 bytes 500 comment "hello world" skbmark 0x10/0xff skbprio 1:2 skbqueue 3
create a6 hash:ip family inet6 hashsize 1024 maxelem 65536 netmask 64 bucketsize 12 initval 0x5f4cfc25
add a6 fe80::
add a6 1:0:0:1::
create b hash:net family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12 initval 0x7a76d044
add b 10.0.0.0/8 nomatch packets 0 bytes 0
add b 10.1.0.0/16 packets 7 bytes 70 comment "c"
create b6 hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x7a76d045
add b6 2001:db8::/32
add b6 ::ffff:1.2.3.4
create c hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x14ec6b18
add c 1.2.3.4,tcp:80
add c 1.2.3.4,icmp:source-route-failed
add c 1.2.3.4,icmp:3/8
add c 1.2.3.4,sctp:5
add c 1.2.3.4,gre:0
add c 1.2.3.4,udp:53
create c6 hash:ip,port family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x14ec6b19
add c6 ::1,ipv6-icmp:echo-request
add c6 ::1,udplite:3
create d hash:net,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x37594230
add d 10.0.0.0/24,tcp:443
add d 1.2.3.4,tcp:80 nomatch
create e hash:net,iface family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0xd3189f87
add e 10.0.0.0/24,eth0
add e 10.0.0.0/24,physdev:veth+
add e 10.1.0.0/24,eth wildcard
create f hash:ip,port,ip family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1d37d199
add f ::1,tcp:22,::2
create g hash:ip,port,net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0xe12a7dc6
add g 1.2.3.4,icmp:echo-request,10.0.0.0/16
add g 1.2.3.4,tcp:80,10.0.0.0/8 nomatch
create h bitmap:ip range 10.0.0.0-10.0.0.255 timeout 5 counters comment skbinfo
add h 10.0.0.7 timeout 0 packets 0 bytes 0 skbmark 0x1
create h2 bitmap:ip range 10.0.0.0-10.0.1.255 netmask 28
add h2 10.0.0.16
create i bitmap:ip,mac range 10.0.0.0-10.0.0.255
add i 10.0.0.1,AA:BB:CC:DD:EE:FF
add i 10.0.0.2
create j bitmap:port range 1000-2000
add j 1500
create l hash:ip family inet hashsize 1024 maxelem 65536 bitmask 255.255.255.0 bucketsize 12 initval 0x598005f4
add l 1.2.3.0
create m hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x02ed34fb bitmask 255.255.0.0
create k list:set size 16 timeout 3
add k b timeout 0
add k a timeout 0
`;

describe('save', () => {
  it('is byte for byte `ipset save` for every type, extension and family', () => {
    cliRestore(FIXTURE);
    expect(ipset.save()).toBe(cliSave());
    for (const name of setNames()) expect(ipset.save(name)).toBe(cliSave(name));
  });

  it('of an empty namespace is empty', () => {
    expect(ipset.save()).toBe('');
  });
});

describe('restore', () => {
  it('round-trips `ipset save` text', () => {
    cliRestore(FIXTURE);
    const saved = cliSave();
    destroyAllSets();
    ipset.restore(saved);
    expect(cliSave()).toBe(saved);
  });

  it('batches adds into existing sets, understands -exist and the other commands', () => {
    ipsetCli('create', 'x', 'hash:ip');
    const text = [
      '# a comment',
      ...ips(3000).map((a) => `add x ${a}`),
      'create y hash:net comment',
      'add y 10.0.0.0/8 comment "a b"',
      'add -exist x 10.0.0.1',
      'create z hash:ip',
      'swap x z',
      'rename z old',
      'flush old',
      'destroy old',
      'del y 10.0.0.0/8',
      '',
    ].join('\n');
    ipset.restore(text);
    expect(setNames()).toEqual(['x', 'y']);
    expect(count('x')).toBe(0);
    expect(count('y')).toBe(0);
  });

  it('reports the failing line; earlier lines stay applied', () => {
    const text = 'create x hash:ip\nadd x 1.1.1.1\nadd x 1.1.1.2\nadd x 1.1.1.1\nadd x 1.1.1.3\n';
    const e = failure(() => ipset.restore(text)) as IPSetError;
    expect(e).toBeInstanceOf(IPSetError);
    expect(e.errno).toBe(4103);
    expect(e.line).toBe(4);
    expect(e.message).toMatch(/line 4/);
    expect(members('x')).toEqual(['1.1.1.1', '1.1.1.2']);
    ipset.restore(text, { exist: true });
    expect(members('x')).toEqual(['1.1.1.1', '1.1.1.2', '1.1.1.3']);
  });

  it('a syntax error anywhere changes nothing', () => {
    for (const text of [
      'create x hash:ip\nadd x 1.1.1.1\nbogus line\n',
      'create x hash:ip\nadd x 1.1.1.1\nadd x 1.1.1.1 timeout\n',
      'create x hash:ip frobnicate\n',
      'create x hash:ip\nadd x 1.1.1.1 comment "unterminated\n',
      'create x hash:ip\nadd x 1.1.1.1\nadd x not-an-ip\n',
      'create x hash:ip\nadd x 1.1.1.1\ncreate y hash:nosuchtype\n',
    ]) {
      expect(() => ipset.restore(text)).toThrow(TypeError);
      expect(setNames()).toEqual([]);
    }
  });
});

describe('speed (loose bounds; issue 7 benchmarks precisely)', () => {
  it('10,000 test() calls take well under pyroute2\'s 1.2 s', () => {
    ipset.create('s', { maxelem: 100000 });
    const list = ips(10000);
    ipset.addMany('s', list);
    const t = performance.now();
    let found = 0;
    for (const a of list) if (ipset.test('s', a)) found++;
    const ms = performance.now() - t;
    expect(found).toBe(10000);
    expect(ms).toBeLessThan(600);
  });
});

describe('pagination', () => {
  it('lists a 1,000,000-entry set completely (hundreds of dump messages)', () => {
    const N = 1_000_000;
    ipset.create('huge', { maxelem: N, hashsize: 262144 });
    function* gen() {
      for (let i = 0; i < N; i++) yield ip(i);
    }
    ipset.addMany('huge', gen());
    expect(count('huge')).toBe(N);
    const [info] = ipset.list('huge');
    expect(info!.header.elements).toBe(N);
    expect(info!.entries.length).toBe(N);
    const seen = new Set(info!.entries.map((e) => e.entry));
    expect(seen.size).toBe(N);
    expect(seen.has(ip(0)) && seen.has(ip(N - 1))).toBe(true);
    ipset.destroy('huge');
  }, 120_000);

  it('lists every set with many entries each, and list:set last', () => {
    ipset.create('l', { stype: 'list:set' });
    ipset.create('p', { maxelem: 100000 });
    ipset.create('q', { stype: 'hash:net', family: 'inet6' });
    ipset.addMany('p', ips(30000));
    ipset.addMany('q', Array.from({ length: 5000 }, (_, i) => `2001:db8:${i.toString(16)}::/48`));
    ipset.add('l', 'p');
    const all = ipset.list();
    expect(all.map((s) => [s.name, s.entries.length])).toEqual([
      ['p', 30000],
      ['q', 5000],
      ['l', 1],
    ]);
    expect(ipset.save()).toBe(cliSave());
  });
});
