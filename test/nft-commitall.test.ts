// Table.commitAll (and an iptc/easy batch) on nf_tables: the changes of several tables, of both
// families, go to the kernel as ONE transaction (the generation moves by exactly one), all or nothing;
// a change another writer committed meanwhile is kept (the changes are applied again to a fresh read).
import { afterAll, describe, expect, it } from 'vitest';
import * as easy from '../src/easy/index.js';
import { Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { NetlinkSocket } from '../src/netlink/socket.js';
import { readGeneration } from '../src/nft/gen.js';
import { CommitError } from '../src/xtables/errors.js';
import { closedAfterEach, run, thrown } from './kernel.js';
import { freshNftEachTest, iptNft, savedRules } from './nft-kernel.js';

freshNftEachTest();
const open = closedAfterEach();
const sock = new NetlinkSocket();
afterAll(() => sock.close());
const generation = () => readGeneration(sock);

function tables(): [Table, Table, Table6] {
  const t: [Table, Table, Table6] = [
    new Table('filter', { backend: 'nft', autocommit: false }),
    new Table('nat', { backend: 'nft', autocommit: false }),
    new Table6('filter', { backend: 'nft', autocommit: false }),
  ];
  open.push(...t);
  return t;
}

describe('Table.commitAll on nft', () => {
  it('commits the tables of both families in one transaction', () => {
    const [filter, nat, filter6] = tables();
    filter.createChain('web');
    filter.chain('web').appendRule(Rule.parse('-p tcp --dport 80 -j ACCEPT'));
    filter.chain('INPUT').appendRule(Rule.parse('-j web'));
    nat.chain('POSTROUTING').appendRule(Rule.parse('-o eth0 -j MASQUERADE'));
    filter6.chain('INPUT').appendRule(Rule6.parse('-p tcp --dport 22 -j ACCEPT'));
    const before = generation();
    Table.commitAll([filter, nat, filter6]);
    expect(generation()).toBe(before + 1);
    expect(savedRules('filter').get('web')).toEqual(['-p tcp -m tcp --dport 80 -j ACCEPT']);
    expect(savedRules('filter').get('INPUT')).toEqual(['-j web']);
    expect(savedRules('nat').get('POSTROUTING')).toEqual(['-o eth0 -j MASQUERADE']);
    expect(savedRules('filter', 6).get('INPUT')).toEqual(['-p tcp -m tcp --dport 22 -j ACCEPT']);
  });

  it('applies nothing in any table when the kernel refuses one change, and names it', () => {
    iptNft(['-A', 'OUTPUT', '-j', 'ACCEPT']);
    const [filter, nat, filter6] = tables();
    nat.chain('POSTROUTING').appendRule(Rule.parse('-o eth0 -j MASQUERADE'));
    filter6.chain('INPUT').appendRule(Rule6.parse('-j DROP'));
    filter.chain('INPUT').appendRule(Rule.parse('-p tcp -j DNAT --to-destination 192.0.2.1'));
    const before = run('nft', ['list', 'ruleset']);
    const generationBefore = generation();
    const e = thrown(() => Table.commitAll([nat, filter6, filter])) as CommitError;
    expect(e).toBeInstanceOf(CommitError);
    expect(e.table).toBe('filter');
    expect(e.change).toBe('-A INPUT -p tcp -j DNAT --to-destination 192.0.2.1');
    expect(e.errno).toBe(22);
    expect(run('nft', ['list', 'ruleset'])).toBe(before);
    expect(generation()).toBe(generationBefore);
  });

  it('keeps a change another writer committed between the changes and commitAll', () => {
    const [filter, nat] = tables();
    filter.chain('INPUT').appendRule(Rule.parse('-s 10.0.0.1/32 -j DROP'));
    nat.chain('OUTPUT').appendRule(Rule.parse('-d 192.0.2.1/32 -j DNAT --to-destination 192.0.2.2'));
    // The pending copies were read before this: commitAll applies the changes again to fresh reads.
    iptNft(['-A', 'INPUT', '-s', '10.9.9.9', '-j', 'ACCEPT']);
    iptNft(['-t', 'nat', '-A', 'OUTPUT', '-d', '192.0.2.7', '-j', 'ACCEPT']);
    const before = generation();
    Table.commitAll([filter, nat]);
    expect(generation()).toBe(before + 1);
    expect(savedRules('filter').get('INPUT')).toEqual(['-s 10.9.9.9/32 -j ACCEPT', '-s 10.0.0.1/32 -j DROP']);
    expect(savedRules('nat').get('OUTPUT')).toEqual(['-d 192.0.2.7/32 -j ACCEPT', '-d 192.0.2.1/32 -j DNAT --to-destination 192.0.2.2']);
  });

  it('an iptc/easy batch over several tables is one transaction too', () => {
    const before = generation();
    easy.batchBegin({ backend: 'nft' });
    easy.addRule('filter', 'INPUT', { src: '192.0.2.3', target: 'DROP' }, { backend: 'nft' });
    easy.addRule('mangle', 'PREROUTING', { src: '192.0.2.4', target: 'ACCEPT' }, { backend: 'nft' });
    easy.addRule('filter', 'INPUT', { src: '2001:db8::1', target: 'DROP' }, { backend: 'nft', ipv6: true });
    easy.batchEnd({ backend: 'nft' });
    expect(generation()).toBe(before + 1);
    expect(savedRules('mangle').get('PREROUTING')).toEqual(['-s 192.0.2.4/32 -j ACCEPT']);
    expect(savedRules('filter', 6).get('INPUT')).toEqual(['-s 2001:db8::1/128 -j DROP']);
  });
});
