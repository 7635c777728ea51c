// Fuzz for iptc/ipset's fail-closed classes of input (issue 12): leading zeros (addresses, prefixes, ports,
// protocols, ICMP codes, numbers in restore text), quotes and line breaks (comments, set and interface
// names, restore lines), unset values (undefined/null option values and set names) and `__proto__` keys
// (options from JSON.parse). Each input is otherwise valid against an existing set, so that read any other
// way it would change the kernel; each must be a typed error, and `ipset save` must be exactly as before.
// A seeded PRNG makes every run the same; IPTC_SEED=n replays another one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IPSet, IPSetError, WiSet } from '../src/ipset/index.js';
import { cliRestore, cliSave, destroyAllSets } from './ipset-kernel.js';
import { LONG, Prng, profile, seedOf } from './stress.js';

const TYPED = [IPSetError, TypeError, RangeError] as const;
const COUNT = profile(10_000, 100_000);
const SEED = seedOf(12_2026);

interface Input {
  kind: string;
  text: string;
  run: () => unknown;
}

let ips: IPSet;

beforeAll(() => {
  destroyAllSets();
  cliRestore(
    [
      'create fz4 hash:ip comment timeout 600 counters skbinfo',
      'add fz4 192.0.2.1 timeout 0 comment "kept"',
      'create fzn hash:net comment',
      'add fzn 10.0.0.0/8',
      'create fz6 hash:net family inet6',
      'create fzp hash:ip,port',
      'create fzi hash:net,iface',
      'create fzl list:set',
      'create fzb bitmap:port range 0-1000',
      '',
    ].join('\n'),
  );
  ips = new IPSet();
});

afterAll(() => {
  ips.close();
  destroyAllSets();
});

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const TEXT = `${ALNUM} -_.:/'\\\t`;

const zeroPad = (g: Prng, n: number) => `${'0'.repeat(1 + g.int(2))}${n}`;
const octet = (g: Prng) => g.int(256);
const v4parts = (g: Prng) => [10 + g.int(200), octet(g), octet(g), 1 + g.int(254)];

/** An IPv4 text the ipset tool reads differently (octal, short form) or not at all. */
function leadingZeroAddress(g: Prng): string {
  const p: (string | number)[] = v4parts(g);
  switch (g.int(4)) {
    case 0:
      p[g.int(4)] = zeroPad(g, Number(p[0]));
      return p.join('.');
    case 1:
      return p.slice(0, 1 + g.int(3)).join('.');
    case 2:
      return `${p.join('.')}-${zeroPad(g, Number(p[0]))}.${p.slice(1).join('.')}`;
    default:
      return `${p.join('.')}-${g.int(255) + 1}`; // ipset: a range down from 0.0.0.N
  }
}

function leadingZeros(g: Prng): Input {
  const roll = g.int(7);
  if (roll === 0) {
    const e = leadingZeroAddress(g);
    return { kind: 'address', text: e, run: () => ips.add(g.pick(['fz4', 'fzn']), e) };
  }
  if (roll === 1) {
    const e = `${v4parts(g).slice(0, 3).join('.')}.0/${zeroPad(g, 1 + g.int(32))}`;
    return { kind: 'prefix', text: e, run: () => ips.add('fzn', e) };
  }
  if (roll === 2) {
    const e = g.chance(0.5) ? `2001:db8:${g.int(0xffff).toString(16)}::/${zeroPad(g, 1 + g.int(128))}` : `::ffff:${v4parts(g).map((x, i) => (i === 1 ? zeroPad(g, x) : x)).join('.')}`;
    return { kind: 'ipv6', text: e, run: () => ips.add('fz6', e) };
  }
  if (roll === 3) {
    const ip = v4parts(g).join('.');
    const e = g.pick([
      `${ip},${zeroPad(g, 1 + g.int(65535))}`,
      `${ip},tcp:${zeroPad(g, 1 + g.int(65535))}`,
      `${ip},udp:${1 + g.int(100)}-${zeroPad(g, 200 + g.int(1000))}`,
      `${ip},${zeroPad(g, g.pick([6, 17]))}:${1 + g.int(65535)}`,
      `${ip},icmp:${zeroPad(g, g.int(19))}/0`,
      `${ip},icmp:${g.int(19)}/${zeroPad(g, g.int(16))}`,
    ]);
    return { kind: 'port', text: e, run: () => ips.add('fzp', e) };
  }
  if (roll === 4) {
    const ip = v4parts(g).join('.');
    const line = g.pick([
      `add fz4 ${ip} timeout ${zeroPad(g, 1 + g.int(500))}`,
      `add fz4 ${ip} packets ${zeroPad(g, 1 + g.int(500))}`,
      `add fz4 ${ip} skbqueue ${zeroPad(g, 1 + g.int(500))}`,
      `create fzr${g.int(1e6)} hash:ip maxelem ${zeroPad(g, 1 + g.int(5000))}`,
      `create fzr${g.int(1e6)} hash:ip netmask ${zeroPad(g, 1 + g.int(31))}`,
      `create fzr${g.int(1e6)} bitmap:port range ${zeroPad(g, 1 + g.int(99))}-200`,
    ]);
    return { kind: 'restore number', text: line, run: () => ips.restore(`add fzn 172.16.0.0/12\n${line}\n`) };
  }
  if (roll === 5) {
    const e = `${v4parts(g).join('.')}`;
    return { kind: 'skbmark', text: e, run: () => ips.add('fz4', e, { skbmark: zeroPad(g, 1 + g.int(100)) }) };
  }
  const range = `${zeroPad(g, g.int(100))}-${1000 + g.int(1000)}`;
  return { kind: 'create range', text: range, run: () => ips.create(`fzc${g.int(1e6)}`, { stype: 'bitmap:port', range }) };
}

/** A comment the save format cannot carry: a quote, a line break, the tool's own option, too long. */
function badComment(g: Prng): string {
  const a = g.string(g.int(20), TEXT);
  const b = g.string(g.int(20), TEXT);
  switch (g.int(4)) {
    case 0:
      return `${a}"${b}`;
    case 1:
      return `${a}" nomatch\nadd fzn 0.0.0.0/1 comment "${b}`;
    case 2:
      return g.pick(['-exist', '-!', '--exist', '-q', '-o', '--file']);
    default:
      return `${a}${'é'.repeat(128)}`;
  }
}

function quotes(g: Prng): Input {
  const ip = v4parts(g).join('.');
  switch (g.int(6)) {
    case 0: {
      const comment = badComment(g);
      return { kind: 'comment', text: JSON.stringify(comment), run: () => ips.add('fz4', ip, { comment }) };
    }
    case 1: {
      const comment = badComment(g);
      return { kind: 'comment in addMany', text: JSON.stringify(comment), run: () => ips.addMany('fz4', [ip, { entry: `${ip}9`.slice(0, 15), comment }]) };
    }
    case 2: {
      const bad = g.pick([' ', '"', ',', '\t', '\n']);
      const name = `fz${g.string(1 + g.int(5), ALNUM)}${bad}${g.string(g.int(5), ALNUM)}`;
      return { kind: 'set name', text: JSON.stringify(name), run: () => (g.chance(0.5) ? ips.create(name, {}) : ips.rename('fzb', name)) };
    }
    case 3: {
      const iface = `eth${g.int(10)}${g.pick([' nomatch', '"', ',x', '\n', ' '])}`;
      return { kind: 'iface', text: JSON.stringify(iface), run: () => ips.add('fzi', ['10.9.0.0/16', iface]) };
    }
    case 4: {
      const line = g.pick([
        `add fz4 ${ip} comment "${g.string(g.int(10), ALNUM)}`,
        `add fz4 ${ip} comment ""`,
        `add fz4 ${ip} comment "-exist"`,
        `add fz4 ${ip} comment ${g.string(1 + g.int(5), ALNUM)}"${g.string(g.int(5), ALNUM)}`,
        `add fz4 ${ip}\u00a0comment x`,
      ]);
      return { kind: 'restore quote', text: line, run: () => ips.restore(`add fzn 172.16.0.0/12\n${line}\n`) };
    }
    default: {
      const comment = badComment(g);
      return { kind: 'WiSet comment', text: JSON.stringify(comment), run: () => new WiSet({ name: 'fz4', sock: ips }).add(ip, { comment }) };
    }
  }
}

/** A valid options object for each call, so that the one unset key is all that is wrong. */
function unset(g: Prng): Input {
  const missing = g.pick([undefined, null]);
  const ip = v4parts(g).join('.');
  const cases: [string, () => unknown][] = [
    ['destroy', () => ips.destroy(missing as unknown as string)],
    ['flush', () => ips.flush(missing as unknown as string)],
    ['add fz4', () => ips.add('fz4', ip, { ...{ timeout: 0, comment: 'c', skbmark: 1, exclusive: false }, [g.pick(['timeout', 'comment', 'skbmark', 'exclusive', 'packets'])]: missing })],
    ['add fzn nomatch', () => ips.add('fzn', `${ip.split('.').slice(0, 2).join('.')}.0.0/16`, { nomatch: missing as unknown as boolean })],
    ['addMany', () => ips.addMany('fzn', ['10.20.0.0/16', { entry: '10.21.0.0/16', [g.pick(['nomatch', 'comment', 'etype'])]: missing }])],
    ['create', () => ips.create(`fzu${g.int(1e6)}`, { stype: 'hash:ip', [g.pick(['family', 'counters', 'timeout', 'maxelem', 'exclusive', 'comment'])]: missing })],
    ['restore', () => ips.restore('add fzn 10.22.0.0/16\n', { exist: missing as unknown as boolean })],
    ['WiSet', () => new WiSet({ name: 'fz4', sock: ips, [g.pick(['counters', 'timeout', 'family', 'attrType'])]: missing }).create()],
    [
      'WiSet name',
      () => {
        const w = new WiSet({ name: 'fzn', sock: ips });
        w.name = missing as unknown as string;
        w.flush();
      },
    ],
  ];
  const [kind, run] = g.pick(cases);
  return { kind: `unset ${kind}`, text: String(missing), run };
}

function protoKeys(g: Prng): Input {
  const inner = JSON.stringify(g.pick([{ nomatch: true }, { timeout: 5 }, { exclusive: false }, {}, { stype: 'hash:net' }]));
  const ip = v4parts(g).join('.');
  const cases: [string, () => unknown][] = [
    ['add', () => ips.add('fzn', `${ip.split('.')[0]}.30.0.0/16`, JSON.parse(`{"__proto__": ${inner}}`))],
    ['addMany item', () => ips.addMany('fzn', [JSON.parse(`{"entry": "10.31.0.0/16", "__proto__": ${inner}}`)])],
    ['create', () => ips.create(`fzp${g.int(1e6)}`, JSON.parse(`{"stype": "hash:ip", "__proto__": ${inner}}`))],
    ['restore', () => ips.restore('add fzn 10.32.0.0/16\n', JSON.parse(`{"__proto__": ${inner}}`))],
    ['WiSet', () => new WiSet(JSON.parse(`{"name": "fz4", "__proto__": ${inner}}`)).add(ip)],
    ['flag string', () => ips.add('fzn', '10.33.0.0/16', { nomatch: g.pick(['false', 'true', 0, 1]) as unknown as boolean })],
  ];
  const [kind, run] = g.pick(cases);
  return { kind: `__proto__ ${kind}`, text: inner, run };
}

function generate(g: Prng): Input {
  return g.pick([leadingZeros, quotes, unset, protoKeys])(g);
}

describe('ipset fuzz', () => {
  it(`${COUNT} inputs of the fail-closed classes: each a typed error, ipset save unchanged (seed ${SEED})`, () => {
    const before = cliSave();
    const g = new Prng(SEED);
    const problems: string[] = [];
    const byKind = new Map<string, number>();
    for (let i = 0; i < COUNT && problems.length <= 20; i++) {
      const input = generate(g);
      byKind.set(input.kind, (byKind.get(input.kind) ?? 0) + 1);
      try {
        input.run();
        problems.push(`#${i} ${input.kind}: accepted ${input.text}`);
      } catch (e) {
        if (!TYPED.some((T) => e instanceof T)) problems.push(`#${i} ${input.kind}: untyped ${String(e)} for ${input.text}`);
      }
    }
    expect(problems).toEqual([]);
    expect(cliSave()).toBe(before);
    ips.add('fz4', '192.0.2.2', { timeout: 0 }); // still usable
    console.log(`ipset fuzz: ${COUNT} inputs, seed ${SEED}${LONG ? ' (long profile)' : ''}: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }, LONG ? 900_000 : 120_000);
});
