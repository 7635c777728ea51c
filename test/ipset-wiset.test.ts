// WiSet, loadIpset/loadAllIpsets, the shared socket, and sets used by iptables rules end to end.
import { createSocket } from 'node:dgram';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { IPSet, IPSetError, WiSet, getIpsetSocket, loadAllIpsets, loadIpset } from '../src/ipset/index.js';
import { cliSave, createLine, destroyAllSets, ipsetCli, members, setNames } from './ipset-kernel.js';
import { ipt } from './kernel.js';

beforeEach(() => destroyAllSets());
afterAll(() => {
  getIpsetSocket().close();
  destroyAllSets();
});

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

describe('WiSet', () => {
  it('creates, adds, tests, deletes, flushes and destroys', () => {
    const s = new WiSet({ name: 'blocklist', attrType: 'hash:ip', family: 'inet', counters: true, comment: true });
    s.create();
    expect(createLine('blocklist')).toBe('hash:ip family inet hashsize 1024 maxelem 65536 counters comment bucketsize 12');
    s.add('10.0.0.1', { comment: 'x' });
    s.add('10.0.0.2');
    expect(members('blocklist')).toEqual(['10.0.0.1 packets 0 bytes 0 comment "x"', '10.0.0.2 packets 0 bytes 0']);
    expect(s.test('10.0.0.1')).toBe(true);
    expect(s.testList(['10.0.0.1', '10.0.0.3', '10.0.0.2'])).toEqual(new Set(['10.0.0.1', '10.0.0.2']));
    s.delete('10.0.0.1');
    expect(s.test('10.0.0.1')).toBe(false);
    s.insertList(['10.0.0.2', '10.0.0.5', { entry: '10.0.0.6', comment: 'six' }]);
    expect(members('blocklist')).toHaveLength(3);
    s.flush();
    expect(members('blocklist')).toEqual([]);
    s.destroy();
    expect(setNames()).toEqual([]);
  });

  it('content maps entries to IPStats, IPv4 and IPv6', () => {
    const s = new WiSet({ name: 'v6', family: 'inet6', counters: true, comment: true, timeout: 300 });
    s.create({ skbinfo: true });
    s.add('2001:db8::1', { comment: 'one', packets: 3, bytes: 300, timeout: 0, skbmark: '0x10/0xff' });
    s.add('fe80::1');
    s.updateContent();
    const c = s.content;
    expect([...c.keys()].sort()).toEqual(['2001:db8::1', 'fe80::1']);
    expect(c.get('2001:db8::1')).toEqual({
      packets: 3n, bytes: 300n, comment: 'one', timeout: 0, skbmark: '0x10/0xff', nomatch: false, physdev: false, wildcard: false,
    });
    expect(c.get('fe80::1')!.timeout).toBeGreaterThan(290);

    const n = new WiSet({ name: 'ni', attrType: 'hash:net,iface' });
    n.create();
    n.add('10.0.0.0/24,eth', { wildcard: true });
    n.add('10.0.1.0/24,physdev:br0');
    expect(n.content.get('10.0.0.0/24,eth')).toEqual({ nomatch: false, physdev: false, wildcard: true });
    expect(n.content.get('10.0.1.0/24,physdev:br0')).toEqual({ nomatch: false, physdev: true, wildcard: false });
  });

  it('content keys nets with their prefix and interfaces without physdev:, as pyroute2; the CLI form finds them', () => {
    ipsetCli('create', 'n', 'hash:net');
    ipsetCli('add', 'n', '192.168.1.1/32');
    ipsetCli('add', 'n', '10.0.0.0/8');
    ipsetCli('create', 'n6', 'hash:net', 'family', 'inet6');
    ipsetCli('add', 'n6', '2001:db8::1');
    const n = loadIpset('n', { content: true });
    expect([...n.content.keys()].sort()).toEqual(['10.0.0.0/8', '192.168.1.1/32']);
    expect(n.content.has('192.168.1.1')).toBe(true); // as `ipset list` prints it
    expect(n.content.get('192.168.1.1')).toBe(n.content.get('192.168.1.1/32'));
    expect(n.content.has('192.168.1.2')).toBe(false);
    expect([...loadIpset('n6', { content: true }).content.keys()]).toEqual(['2001:db8::1/128']);

    ipsetCli('create', 'ni', 'hash:net,iface');
    ipsetCli('add', 'ni', '10.1.0.0/16,physdev:br0');
    ipsetCli('add', 'ni', '10.2.0.1,eth1', 'wildcard');
    const w = new WiSet({ name: 'ni', attrType: 'hash:net,iface' });
    expect([...w.content.keys()].sort()).toEqual(['10.1.0.0/16,br0', '10.2.0.1/32,eth1']);
    expect(w.content.get('10.1.0.0/16,br0')).toEqual({ nomatch: false, physdev: true, wildcard: false });
    expect(w.content.get('10.1.0.0/16,physdev:br0')!.physdev).toBe(true);
    expect(w.content.get('10.2.0.1,eth1')).toEqual({ nomatch: false, physdev: false, wildcard: true });
    expect(w.content.get('10.2.0.1,physdev:eth1')).toBeUndefined();

    // The kernel holds the same net and interface with and without physdev as two elements: both stay.
    ipsetCli('add', 'ni', '10.1.0.0/16,br0');
    w.updateContent();
    expect(w.content.size).toBe(3);
    expect(w.content.get('10.1.0.0/16,br0')!.physdev).toBe(false);
    expect(w.content.get('10.1.0.0/16,physdev:br0')!.physdev).toBe(true);
  });

  it('WiSets without a socket share one long-lived socket', () => {
    const a = new WiSet({ name: 'a' });
    const b = new WiSet({ name: 'b' });
    expect(a.sock).toBe(b.sock);
    expect(a.sock).toBe(getIpsetSocket());
    const own = new IPSet();
    const c = new WiSet({ name: 'c', sock: own });
    expect(c.sock).toBe(own);
    own.close();
  });
});

describe('replaceEntries', () => {
  it('swaps in a new content atomically, keeping the create options, beyond 65,536 entries', () => {
    const s = new WiSet({ name: 'big', maxelem: 200000, hashsize: 4096, timeout: 600, comment: true });
    s.create({ bucketsize: 10 });
    s.add('1.1.1.1', { comment: 'old' });
    const before = createLine('big');
    const N = 100000;
    s.replaceEntries(Array.from({ length: N }, (_, i) => ip(i)));
    expect(createLine('big').replace(/hashsize \d+ /, '')).toBe(before.replace(/hashsize \d+ /, ''));
    expect(createLine('big')).toMatch(/maxelem 200000 timeout 600 comment bucketsize 10/);
    expect(Number(/Number of entries: (\d+)/.exec(ipsetCli('list', '-t', 'big'))![1])).toBe(N);
    expect(s.test('1.1.1.1')).toBe(false);
    expect(setNames()).toEqual(['big']);
    s.updateContent();
    expect(s.content.size).toBe(N);
  });

  it('keeps references: a rule on the set sees the new content', () => {
    const s = new WiSet({ name: 'r' });
    s.create();
    ipt(['-A', 'INPUT', '-m', 'set', '--match-set', 'r', 'src', '-j', 'DROP']);
    s.replaceEntries(['5.5.5.5', '6.6.6.6']);
    expect(members('r')).toEqual(['5.5.5.5', '6.6.6.6']);
    expect(loadIpset('r').header!.references).toBe(1);
    expect(setNames()).toEqual(['r']);
  });

  it('leaves the set unchanged and no temporary set behind when it fails', () => {
    const s = new WiSet({ name: 'small', maxelem: 10 });
    s.create();
    s.add('1.1.1.1');
    expect(() => s.replaceEntries(Array.from({ length: 20 }, (_, i) => ip(i)))).toThrow(IPSetError);
    expect(() => s.replaceEntries(['1.2.3.4', 'not-an-ip'])).toThrow(TypeError);
    expect(setNames()).toEqual(['small']);
    expect(members('small')).toEqual(['1.1.1.1']);
  });

  it('creates the set when it does not exist yet', () => {
    const s = new WiSet({ name: 'fresh', attrType: 'hash:net', family: 'inet6' });
    s.replaceEntries(['2001:db8::/32']);
    expect(cliSave('fresh')).toMatch(/^create fresh hash:net family inet6 .*\nadd fresh 2001:db8::\/32\n$/);
  });
});

describe('loadIpset / loadAllIpsets', () => {
  it('loads type, options and content from the kernel', () => {
    ipsetCli('create', 'x', 'hash:ip,port', 'family', 'inet6', 'timeout', '60', 'counters', 'maxelem', '1000');
    ipsetCli('add', 'x', '::1,udp:53', 'timeout', '0');
    ipsetCli('create', 'y', 'bitmap:port', 'range', '1-100');
    ipsetCli('create', 'z', 'list:set');
    const x = loadIpset('x', { content: true });
    expect(x).toMatchObject({ name: 'x', attrType: 'hash:ip,port', family: 'inet6', timeout: 60, counters: true, maxelem: 1000 });
    expect(x.content.get('::1,udp:53')).toEqual({ packets: 0n, bytes: 0n, timeout: 0, nomatch: false, physdev: false, wildcard: false });
    const all = loadAllIpsets();
    expect([...all.keys()]).toEqual(['x', 'y', 'z']);
    expect(all.get('y')).toMatchObject({ attrType: 'bitmap:port', family: 'unspec' });
    expect(all.get('y')!.header!.range).toBe('1-100');
    // A loaded set can be rebuilt with the same options.
    all.get('y')!.replaceEntries([5, 6]);
    expect(cliSave('y')).toBe('create y bitmap:port range 1-100\nadd y 5\nadd y 6\n');
    expect(() => loadIpset('nope')).toThrow(IPSetError);
    const withContent = loadAllIpsets({ content: true });
    expect(withContent.get('x')!.content.size).toBe(1);
  });
});

describe('sets in iptables rules, end to end', () => {
  function sendUdp(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = createSocket('udp4');
      sock.send(Buffer.from('x'), port, '127.0.0.1', (err) => {
        sock.close();
        if (err) reject(err);
        else resolve();
      });
    });
  }
  const packets = (chain: string) =>
    ipt(['-L', chain, '-v', '-x', '-n'])
      .split('\n')
      .filter((l) => l.includes('match-set'))
      .map((l) => Number(l.trim().split(/\s+/)[0]));

  it('a set created here matches packets at once, and SET targets add to it', async () => {
    const s = new IPSet();
    s.create('dst4', { stype: 'hash:ip,port' });
    s.add('dst4', '127.0.0.1,udp:9999');
    s.create('seen', { stype: 'hash:ip', timeout: 60 });
    ipt(['-A', 'OUTPUT', '-m', 'set', '--match-set', 'dst4', 'dst,dst']);
    ipt(['-A', 'OUTPUT', '-p', 'udp', '-j', 'SET', '--add-set', 'seen', 'dst']);
    await sendUdp(9999);
    await sendUdp(9998);
    expect(packets('OUTPUT')).toEqual([1]);
    expect(s.list('seen')[0]!.entries.map((e) => e.entry)).toEqual(['127.0.0.1']);
    expect(s.headers('dst4').header.references).toBe(1);
    expect(() => s.destroy('dst4')).toThrow(/in use/);
    s.close();
  });
});
