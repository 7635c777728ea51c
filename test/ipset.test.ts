// IPSet commands against the kernel, checked with the ipset CLI: every set type, create option, entry
// form and extension, IPv4 and IPv6.
import { describe, expect, it } from 'vitest';
import { IPSet, IPSetError, PortEntry, PortRange } from '../src/ipset/index.js';
import { cliSave, createLine, ipsetCli, ipsetForFile, members, setNames, stripTimeouts } from './ipset-kernel.js';

const ipset = ipsetForFile();

describe('protocol and types', () => {
  it('reports protocol version 7', () => {
    expect(ipset.getProtoVersion()).toBe(7);
  });

  it('reports supported revisions per type and family', () => {
    const [min, max] = ipset.getSupportedRevisions('hash:ip');
    expect(min).toBe(0);
    expect(max).toBeGreaterThanOrEqual(4);
    expect(ipset.getSupportedRevisions('hash:net', 'inet6')[1]).toBeGreaterThanOrEqual(6);
    expect(ipset.getSupportedRevisions('list:set')[1]).toBeGreaterThanOrEqual(3);
  });

  it('rejects a type the kernel lacks with set type not supported', () => {
    const err = (() => {
      try {
        ipset.getSupportedRevisions('hash:nonexistent');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(IPSetError);
    expect((err as IPSetError).errno).toBe(4098);
  });
});

describe('create', () => {
  it('creates hash:ip with every option, as the CLI shows them', () => {
    ipset.create('a', {
      stype: 'hash:ip',
      family: 'inet',
      hashsize: 2048,
      maxelem: 1000,
      timeout: 600,
      counters: true,
      comment: true,
      skbinfo: true,
      forceadd: true,
      netmask: 24,
      bucketsize: 8,
      initval: 0x12345678,
    });
    expect(cliSave('a')).toBe(
      'create a hash:ip family inet hashsize 2048 maxelem 1000 netmask 24 timeout 600 counters comment skbinfo bucketsize 8 initval 0x12345678\n',
    );
    const h = ipset.headers('a');
    expect(h).toMatchObject({ name: 'a', type: 'hash:ip', family: 'inet', revision: ipset.getSupportedRevisions('hash:ip')[1] });
    expect(h.header).toMatchObject({
      family: 'inet', hashsize: 2048, maxelem: 1000, netmask: 24, timeout: 600, counters: true, comment: true,
      skbinfo: true, forceadd: true, bucketsize: 8, initval: 0x12345678, references: 0, elements: 0,
    });
    expect(h.entries).toEqual([]);
  });

  it('creates every set type of this kernel', () => {
    ipset.create('ip6', { stype: 'hash:ip', family: 'inet6', netmask: 64 });
    ipset.create('net', { stype: 'hash:net', family: 'inet6', counters: true, comment: true });
    ipset.create('ipport', { stype: 'hash:ip,port', timeout: 10 });
    ipset.create('netport', { stype: 'hash:net,port', maxelem: 10 });
    ipset.create('netiface', { stype: 'hash:net,iface', family: 10 });
    ipset.create('ipportip', { stype: 'hash:ip,port,ip' });
    ipset.create('ipportnet', { stype: 'hash:ip,port,net', family: 10 });
    ipset.create('bip', { stype: 'bitmap:ip', range: '10.0.0.0/24', timeout: 5, counters: true, comment: true, skbinfo: true });
    ipset.create('bip2', { stype: 'bitmap:ip', range: '10.0.0.0-10.0.1.255', netmask: 28 });
    ipset.create('bmac', { stype: 'bitmap:ip,mac', range: '10.0.0.0/24' });
    ipset.create('bport', { stype: 'bitmap:port', bitmapPortsRange: [1000, 2000] });
    ipset.create('bport2', { stype: 'bitmap:port', range: '0-1023' });
    ipset.create('bitmask', { stype: 'hash:ip', bitmask: '255.255.255.0' });
    ipset.create('lst', { stype: 'list:set', size: 16, timeout: 3 });
    expect(createLine('ip6')).toBe('hash:ip family inet6 hashsize 1024 maxelem 65536 netmask 64 bucketsize 12');
    expect(createLine('net')).toBe('hash:net family inet6 hashsize 1024 maxelem 65536 counters comment bucketsize 12');
    expect(createLine('ipport')).toBe('hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 10 bucketsize 12');
    expect(createLine('netport')).toBe('hash:net,port family inet hashsize 1024 maxelem 10 bucketsize 12');
    expect(createLine('netiface')).toBe('hash:net,iface family inet6 hashsize 1024 maxelem 65536 bucketsize 12');
    expect(createLine('ipportip')).toBe('hash:ip,port,ip family inet hashsize 1024 maxelem 65536 bucketsize 12');
    expect(createLine('ipportnet')).toBe('hash:ip,port,net family inet6 hashsize 1024 maxelem 65536 bucketsize 12');
    expect(createLine('bip')).toBe('bitmap:ip range 10.0.0.0-10.0.0.255 timeout 5 counters comment skbinfo');
    expect(createLine('bip2')).toBe('bitmap:ip range 10.0.0.0-10.0.1.255 netmask 28');
    expect(createLine('bmac')).toBe('bitmap:ip,mac range 10.0.0.0-10.0.0.255');
    expect(createLine('bport')).toBe('bitmap:port range 1000-2000');
    expect(createLine('bport2')).toBe('bitmap:port range 0-1023');
    expect(createLine('bitmask')).toBe('hash:ip family inet hashsize 1024 maxelem 65536 bitmask 255.255.255.0 bucketsize 12');
    expect(createLine('lst')).toBe('list:set size 16 timeout 3');
    expect(ipset.headers('bport').header.range).toBe('1000-2000');
    expect(ipset.headers('lst')).toMatchObject({ type: 'list:set', family: 'unspec', header: { size: 16, timeout: 3 } });
  });

  it('is exclusive by default and idempotent with exclusive: false', () => {
    ipset.create('x', { stype: 'hash:ip' });
    expect(() => ipset.create('x', { stype: 'hash:ip' })).toThrow(IPSetError);
    ipset.create('x', { stype: 'hash:ip', exclusive: false });
    // A different type is still a clash, -exist or not.
    expect(() => ipset.create('x', { stype: 'hash:net', exclusive: false })).toThrow(/already exists/);
  });

  it('rejects bad options before talking to the kernel', () => {
    expect(() => ipset.create('', {})).toThrow(RangeError);
    expect(() => ipset.create('a'.repeat(32), {})).toThrow(RangeError);
    expect(() => ipset.create('x', { stype: 'hash:foo' })).toThrow(TypeError);
    expect(() => ipset.create('x', { stype: 'bitmap:ip' })).toThrow(/range/);
    expect(() => ipset.create('x', { stype: 'bitmap:port' })).toThrow(/port range/);
    expect(() => ipset.create('x', { stype: 'hash:ip', family: 'inet7' as 'inet' })).toThrow(TypeError);
    expect(() => ipset.create('x', { stype: 'hash:ip', maxelem: -1 })).toThrow(RangeError);
    expect(() => ipset.create('x', { stype: 'hash:ip', timeout: 1.5 })).toThrow(RangeError);
    expect(() => ipset.create('x', { stype: 'bitmap:ip', family: 'inet6', range: '10.0.0.0/24' })).toThrow(TypeError);
    expect(setNames()).toEqual([]);
  });
});

describe('add / delete / test per type', () => {
  it('hash:ip IPv4 and IPv6, with ranges and CIDR', () => {
    ipset.create('v4', { stype: 'hash:ip' });
    ipset.add('v4', '10.0.0.1');
    ipset.add('v4', '10.0.1.0/30');
    ipset.add('v4', '10.0.2.1-10.0.2.2');
    expect(members('v4')).toEqual(['10.0.0.1', '10.0.1.0', '10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.2.1', '10.0.2.2']);
    expect(ipset.test('v4', '10.0.1.2')).toBe(true);
    expect(ipset.test('v4', '10.0.1.4')).toBe(false);
    ipset.delete('v4', '10.0.1.0/30');
    expect(members('v4')).toEqual(['10.0.0.1', '10.0.2.1', '10.0.2.2']);

    ipset.create('v6', { stype: 'hash:ip', family: 'inet6' });
    for (const a of ['fe80::1', '2001:db8::1:0:0:1', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8', '::1:0:0:0:1', '1:0:0:1::']) ipset.add('v6', a);
    expect(members('v6')).toEqual(['1:0:0:1::', '1:2:3:4:5:6:7:8', '2001:db8::1:0:0:1', '::1:0:0:0:1', '::ffff:1.2.3.4', 'fe80::1']);
    const listed = ipset.list('v6')[0]!.entries.map((e) => e.entry).sort();
    expect(listed).toEqual(members('v6'));
    expect(ipset.test('v6', 'FE80:0::1')).toBe(true);
  });

  it('hash:net with nomatch, IPv4 and IPv6', () => {
    ipset.create('n', { stype: 'hash:net' });
    ipset.add('n', '10.0.0.0/8');
    ipset.add('n', '10.1.0.0/16', { nomatch: true });
    ipset.add('n', '192.168.0.1');
    ipset.add('n', '10.5.0.0-10.5.0.9');
    expect(members('n')).toEqual(['10.0.0.0/8', '10.1.0.0/16 nomatch', '10.5.0.0/29', '10.5.0.8/31', '192.168.0.1']);
    expect(ipset.test('n', '10.2.3.4')).toBe(true);
    expect(ipset.test('n', '10.1.3.4')).toBe(false);
    const e = ipset.list('n')[0]!.entries.find((x) => x.entry === '10.1.0.0/16');
    expect(e?.nomatch).toBe(true);

    ipset.create('n6', { stype: 'hash:net', family: 'inet6' });
    ipset.add('n6', '2001:db8::/32');
    ipset.add('n6', '2001:db8:1::/48', { nomatch: true });
    ipset.add('n6', '::1/128');
    expect(members('n6')).toEqual(['2001:db8:1::/48 nomatch', '2001:db8::/32', '::1']);
    expect(ipset.test('n6', '2001:db8:2::5')).toBe(true);
    expect(ipset.test('n6', '2001:db8:1::5')).toBe(false);
  });

  it('hash:ip,port with protocol names, numbers, ranges, ICMP types and PortEntry/PortRange', () => {
    ipset.create('ipp', { stype: 'hash:ip,port' });
    ipset.add('ipp', '1.2.3.4,udp:53');
    ipset.add('ipp', '1.2.3.4,80');
    ipset.add('ipp', '1.2.3.4,icmp:ping');
    ipset.add('ipp', '1.2.3.4,icmp:3/5');
    ipset.add('ipp', '1.2.3.4,icmp:3/8');
    ipset.add('ipp', '1.2.3.4,gre:0');
    ipset.add('ipp', '1.2.3.12,http');
    ipset.add('ipp', ['1.2.3.5', new PortEntry(22, 'sctp')]);
    ipset.add('ipp', ['1.2.3.6', new PortEntry(443)]);
    ipset.add('ipp', ['1.2.3.7', PortEntry.icmp('echo-reply')]);
    ipset.add('ipp', ['1.2.3.8', PortEntry.icmp(13, 0)]);
    ipset.add('ipp', ['1.2.3.9', new PortRange(1000, 1002, 'udp')]);
    ipset.add('ipp', ['1.2.3.10', 8080]);
    ipset.add('ipp', '1.2.3.11,udplite:7');
    expect(members('ipp')).toEqual([
      '1.2.3.10,tcp:8080', '1.2.3.11,udplite:7', '1.2.3.12,tcp:80', '1.2.3.4,gre:0', '1.2.3.4,icmp:3/8', '1.2.3.4,icmp:echo-request',
      '1.2.3.4,icmp:source-route-failed', '1.2.3.4,tcp:80', '1.2.3.4,udp:53', '1.2.3.5,sctp:22', '1.2.3.6,tcp:443',
      '1.2.3.7,icmp:echo-reply', '1.2.3.8,icmp:timestamp-request', '1.2.3.9,udp:1000', '1.2.3.9,udp:1001', '1.2.3.9,udp:1002',
    ]);
    expect(ipset.test('ipp', ['1.2.3.4', new PortEntry(53, 'udp')])).toBe(true);
    expect(ipset.test('ipp', '1.2.3.4,tcp:53')).toBe(false);
    expect(ipset.test('ipp', '1.2.3.4,icmp:echo-request')).toBe(true);

    ipset.create('ipp6', { stype: 'hash:ip,port', family: 'inet6' });
    ipset.add('ipp6', '::1,icmpv6:ping');
    ipset.add('ipp6', '::1,ipv6-icmp:1/5');
    ipset.add('ipp6', ['::1', PortEntry.icmp('address-unreachable', 0, true)]);
    ipset.add('ipp6', '::1,udp:53');
    expect(members('ipp6')).toEqual(['::1,ipv6-icmp:1/5', '::1,ipv6-icmp:address-unreachable', '::1,ipv6-icmp:echo-request', '::1,udp:53']);
  });

  it('hash:net,port, hash:ip,port,ip and hash:ip,port,net', () => {
    ipset.create('np', { stype: 'hash:net,port' });
    ipset.add('np', '10.0.0.0/24,tcp:443');
    ipset.add('np', '1.2.3.4,80', { nomatch: true });
    ipset.add('np', ['192.168.0.0/16', new PortEntry(80, 'tcp')], { etype: 'net,port' });
    expect(members('np')).toEqual(['1.2.3.4,tcp:80 nomatch', '10.0.0.0/24,tcp:443', '192.168.0.0/16,tcp:80']);

    ipset.create('ipi', { stype: 'hash:ip,port,ip', family: 'inet6' });
    ipset.add('ipi', '::1,tcp:22,::2');
    ipset.add('ipi', ['2001:db8::1', new PortEntry(53, 'udp'), '2001:db8::2']);
    expect(members('ipi')).toEqual(['2001:db8::1,udp:53,2001:db8::2', '::1,tcp:22,::2']);
    expect(ipset.test('ipi', '::1,22,::2')).toBe(true);

    ipset.create('ipn', { stype: 'hash:ip,port,net' });
    ipset.add('ipn', '1.2.3.4,icmp:ping,10.0.0.0/16');
    ipset.add('ipn', '1.2.3.4,80,10.0.0.0/8', { nomatch: true });
    expect(members('ipn')).toEqual(['1.2.3.4,icmp:echo-request,10.0.0.0/16', '1.2.3.4,tcp:80,10.0.0.0/8 nomatch']);
  });

  it('hash:net,iface with physdev, wildcard and nomatch', () => {
    ipset.create('ni', { stype: 'hash:net,iface' });
    ipset.add('ni', '10.0.0.0/24,eth0');
    ipset.add('ni', '10.0.0.0/24,physdev:veth+');
    ipset.add('ni', '10.0.1.0/24,eth', { wildcard: true });
    ipset.add('ni', '10.0.2.0/24,br0', { physdev: true, nomatch: true });
    expect(members('ni')).toEqual([
      '10.0.0.0/24,eth0', '10.0.0.0/24,physdev:veth+', '10.0.1.0/24,eth wildcard', '10.0.2.0/24,physdev:br0 nomatch',
    ]);
    const entries = ipset.list('ni')[0]!.entries;
    expect(entries.find((e) => e.entry === '10.0.1.0/24,eth')).toMatchObject({ wildcard: true, physdev: false });
    expect(entries.find((e) => e.entry === '10.0.2.0/24,physdev:br0')).toMatchObject({ physdev: true, nomatch: true });
    expect(ipset.test('ni', '10.0.0.5,eth0')).toBe(true);
    expect(ipset.test('ni', '10.0.0.5,eth1')).toBe(false);
    expect(() => ipset.add('ni', '10.0.0.0/24,' + 'x'.repeat(16))).toThrow(RangeError);
  });

  it('bitmap:ip, bitmap:ip,mac and bitmap:port', () => {
    ipset.create('b', { stype: 'bitmap:ip', range: '10.0.0.0/24' });
    ipset.add('b', '10.0.0.7');
    ipset.add('b', '10.0.0.16/30');
    expect(members('b')).toEqual(['10.0.0.16', '10.0.0.17', '10.0.0.18', '10.0.0.19', '10.0.0.7']);
    expect(ipset.test('b', '10.0.0.7')).toBe(true);

    ipset.create('bm', { stype: 'bitmap:ip,mac', range: '10.0.0.0-10.0.0.255' });
    ipset.add('bm', '10.0.0.1,aa:bb:cc:dd:ee:ff');
    ipset.add('bm', '10.0.0.2');
    expect(members('bm')).toEqual(['10.0.0.1,AA:BB:CC:DD:EE:FF', '10.0.0.2']);
    expect(ipset.test('bm', '10.0.0.1,AA:BB:CC:DD:EE:FF')).toBe(true);
    expect(() => ipset.add('bm', '10.0.0.3,zz:bb:cc:dd:ee:ff')).toThrow(TypeError);

    ipset.create('bp', { stype: 'bitmap:port', range: '1000-2000' });
    ipset.add('bp', 1500);
    ipset.add('bp', '1600-1602');
    ipset.add('bp', new PortEntry(1700));
    ipset.add('bp', new PortRange(1800, 1801));
    ipset.add('bp', 'tcp:1900');
    expect(members('bp')).toEqual(['1500', '1600', '1601', '1602', '1700', '1800', '1801', '1900']);
    expect(ipset.test('bp', 1601)).toBe(true);
    expect(ipset.test('bp', 1603)).toBe(false);
  });

  it('list:set with before and after', () => {
    ipset.create('m1', {});
    ipset.create('m2', { stype: 'hash:net' });
    ipset.create('m3', { family: 'inet6' });
    ipset.create('l', { stype: 'list:set' });
    ipset.add('l', 'm1');
    ipset.add('l', 'm2', { before: 'm1' });
    ipset.add('l', 'm3', { after: 'm2' });
    expect(ipset.list('l')[0]!.entries.map((e) => e.entry)).toEqual(['m2', 'm3', 'm1']);
    expect(cliSave('l')).toBe('create l list:set size 8\nadd l m2\nadd l m3\nadd l m1\n');
    expect(ipset.test('l', 'm3', { after: 'm2' })).toBe(true);
    expect(ipset.test('l', 'm3', { before: 'm2' })).toBe(false);
    ipset.delete('l', 'm3');
    expect(ipset.list('l')[0]!.entries.map((e) => e.entry)).toEqual(['m2', 'm1']);
    expect(() => ipset.add('l', 'm3', { before: 'm1', after: 'm2' })).toThrow(TypeError);
  });

  it('-exist semantics with exclusive: false', () => {
    ipset.create('t', { stype: 'hash:ip', timeout: 100 });
    ipset.add('t', '1.1.1.1', { timeout: 10 });
    expect(() => ipset.add('t', '1.1.1.1')).toThrow(/already exists/);
    ipset.add('t', '1.1.1.1', { timeout: 50, exclusive: false });
    expect(ipset.list('t')[0]!.entries[0]!.timeout).toBeGreaterThan(40);
    expect(() => ipset.delete('t', '2.2.2.2')).toThrow(/not in the set/);
    ipset.delete('t', '2.2.2.2', { exclusive: false });
  });
});

describe('entry extensions', () => {
  it('timeout, counters, comment and skbinfo on add, as the CLI lists them', () => {
    ipset.create('x', { stype: 'hash:ip', timeout: 600, counters: true, comment: true, skbinfo: true });
    ipset.add('x', '1.2.3.4', { timeout: 300, packets: 5, bytes: 500n, comment: 'hello wörld', skbmark: '0x10/0xff', skbprio: '1:2', skbqueue: 3 });
    ipset.add('x', '1.2.3.5', { timeout: 0, skbmark: 0x20, skbprio: [0x10, 0x20] });
    ipset.add('x', '1.2.3.6', { skbmark: [1, 0xf] });
    expect(stripTimeouts(members('x'))).toEqual([
      '1.2.3.4 timeout N packets 5 bytes 500 comment "hello wörld" skbmark 0x10/0xff skbprio 1:2 skbqueue 3',
      '1.2.3.5 timeout N packets 0 bytes 0 skbmark 0x20 skbprio 10:20',
      '1.2.3.6 timeout N packets 0 bytes 0 skbmark 0x1/0xf',
    ]);
    const e = ipset.list('x')[0]!.entries.find((v) => v.entry === '1.2.3.4')!;
    expect(e).toMatchObject({ packets: 5n, bytes: 500n, comment: 'hello wörld', skbmark: [0x10, 0xff], skbprio: [1, 2], skbqueue: 3 });
    expect(e.timeout).toBeGreaterThan(290);
    expect(ipset.list('x')[0]!.entries.find((v) => v.entry === '1.2.3.5')!.timeout).toBe(0);
  });

  it('validates extension values before sending', () => {
    ipset.create('x', { stype: 'hash:ip', comment: true, skbinfo: true, timeout: 10 });
    expect(() => ipset.add('x', '1.1.1.1', { comment: 'x'.repeat(256) })).toThrow(IPSetError);
    expect(() => ipset.add('x', '1.1.1.1', { comment: 'a\0b' })).toThrow(IPSetError);
    expect(() => ipset.add('x', '1.1.1.1', { timeout: -1 })).toThrow(RangeError);
    expect(() => ipset.add('x', '1.1.1.1', { skbprio: '1-2' })).toThrow(TypeError);
    expect(() => ipset.add('x', '1.1.1.1', { skbqueue: 70000 })).toThrow(RangeError);
    expect(() => ipset.add('x', '1.1.1.1', { skbmark: 'zz' })).toThrow(TypeError);
    expect(() => ipset.add('x', '1.1.1.256')).toThrow(TypeError);
    expect(() => ipset.add('x', '1.1.1.1/33')).toThrow(RangeError);
    expect(() => ipset.add('x', 42 as unknown as string)).toThrow(TypeError);
    ipset.add('x', '1.1.1.1', { comment: 'x'.repeat(255) });
    expect(members('x')).toHaveLength(1);
  });
});

describe('set management', () => {
  it('flush, rename, swap and destroy, one or all', () => {
    ipset.create('a', {});
    ipset.create('b', {});
    ipset.add('a', '1.1.1.1');
    ipset.add('b', '2.2.2.2');
    ipset.swap('a', 'b');
    expect(members('a')).toEqual(['2.2.2.2']);
    ipset.rename('a', 'c');
    expect(setNames()).toEqual(['b', 'c']);
    ipset.flush('c');
    expect(members('c')).toEqual([]);
    ipset.flushAll();
    expect(members('b')).toEqual([]);
    ipset.destroy('c');
    expect(setNames()).toEqual(['b']);
    ipset.destroyAll();
    expect(setNames()).toEqual([]);
  });

  it('list() and listNames() return every set; indexes round-trip', () => {
    ipset.create('a', {});
    ipset.create('b', { stype: 'hash:net', family: 'inet6' });
    ipsetCli('add', 'a', '5.5.5.5');
    const all = ipset.list();
    expect(all.map((s) => s.name)).toEqual(['a', 'b']);
    expect(all[0]!.entries).toEqual([{ entry: '5.5.5.5', nomatch: false, physdev: false, wildcard: false }]);
    expect(all[1]).toMatchObject({ type: 'hash:net', family: 'inet6' });
    expect(ipset.listNames()).toEqual(['a', 'b']);
    const idx = ipset.getSetByName('b');
    expect(ipset.getSetByIndex(idx)).toBe('b');
    expect(all[1]!.index).toBe(idx);
  });

  it('uses the kernel type after another process recreated a set with the same name', () => {
    ipset.create('r', { stype: 'hash:ip' });
    ipset.add('r', '1.1.1.1');
    ipsetCli('destroy', 'r');
    ipsetCli('create', 'r', 'hash:ip,port');
    ipset.add('r', '1.1.1.1,udp:53');
    expect(members('r')).toEqual(['1.1.1.1,udp:53']);
  });

  it('close() and using', () => {
    {
      using s = new IPSet();
      s.create('u', {});
    }
    const s = new IPSet();
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    expect(() => s.create('v', {})).toThrow(/closed/);
    expect(setNames()).toEqual(['u']);
  });
});
