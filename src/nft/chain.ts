// nf_tables chains as iptables-nft makes them: base chains with the exact hook, priority and type of
// iptables' builtin chains (iptables/nft.c builtin_table), user chains without a hook. A base chain that
// differs from the builtin definition is not iptables': iptables-nft drops it from its view.
import { NlaTable, readStr, type NlaWriter } from '../netlink/attributes.js';
import { NFGENMSG_END } from '../netlink/constants.js';
import type { NetlinkSocket, NlMessage } from '../netlink/socket.js';
import { NF_INET, NFT_MSG, NFTA_CHAIN, NFTA_COUNTER, NFTA_HOOK } from './constants.js';
import { nftRequest } from './request.js';

export interface BuiltinChain {
  hook: number;
  priority: number;
  type: 'filter' | 'nat' | 'route';
}

const { PRE_ROUTING, LOCAL_IN, FORWARD, LOCAL_OUT, POST_ROUTING } = NF_INET;
const filter = (hook: number, priority: number): BuiltinChain => ({ hook, priority, type: 'filter' });

/** iptables' tables and their builtin chains, in hook order (the order iptables-nft-save prints them). */
export const BUILTIN_TABLES: Readonly<Record<string, Readonly<Record<string, BuiltinChain>>>> = {
  raw: { PREROUTING: filter(PRE_ROUTING, -300), OUTPUT: filter(LOCAL_OUT, -300) },
  mangle: {
    PREROUTING: filter(PRE_ROUTING, -150),
    INPUT: filter(LOCAL_IN, -150),
    FORWARD: filter(FORWARD, -150),
    OUTPUT: { hook: LOCAL_OUT, priority: -150, type: 'route' },
    POSTROUTING: filter(POST_ROUTING, -150),
  },
  filter: { INPUT: filter(LOCAL_IN, 0), FORWARD: filter(FORWARD, 0), OUTPUT: filter(LOCAL_OUT, 0) },
  security: { INPUT: filter(LOCAL_IN, 150), FORWARD: filter(FORWARD, 150), OUTPUT: filter(LOCAL_OUT, 150) },
  nat: {
    PREROUTING: { hook: PRE_ROUTING, priority: -100, type: 'nat' },
    INPUT: { hook: LOCAL_IN, priority: 100, type: 'nat' },
    OUTPUT: { hook: LOCAL_OUT, priority: -100, type: 'nat' },
    POSTROUTING: { hook: POST_ROUTING, priority: 100, type: 'nat' },
  },
};

/** The builtin definition of `table`/`chain`, or undefined for a user chain or an unknown table. */
export function builtinChain(table: string, chain: string): BuiltinChain | undefined {
  const chains = Object.hasOwn(BUILTIN_TABLES, table) ? BUILTIN_TABLES[table]! : undefined;
  // Own keys only: a user chain named `__proto__` or `constructor` is no builtin chain.
  return chains && Object.hasOwn(chains, chain) ? chains[chain] : undefined;
}

export interface NftChain {
  family: number;
  table: string;
  name: string;
  handle: bigint;
  /** Base chains only. */
  hook: { hooknum: number; priority: number } | null;
  /** NF_DROP 0 / NF_ACCEPT 1, base chains only. */
  policy: number | null;
  type: string | null;
  /** Policy counters: only for base chains created with NFTA_CHAIN_COUNTERS. */
  counters: { packets: bigint; bytes: bigint } | null;
  flags: number;
  /** References: rules jumping here. */
  use: number;
}

const t = new NlaTable(12);
const inner = new NlaTable(4);

export function parseChain(m: NlMessage): NftChain {
  const buf = m.buf;
  t.parse(buf, m.off + NFGENMSG_END, m.off + m.len);
  const o = t.offsets;
  const str = (type: number) => (o[type]! >= 0 ? readStr(buf, o[type]!, t.lengths[type]!) : null);
  const u32 = (type: number) => (o[type]! >= 0 ? buf.readUInt32BE(o[type]!) : null);
  let hook: NftChain['hook'] = null;
  if (o[NFTA_CHAIN.HOOK]! >= 0) {
    inner.parse(buf, o[NFTA_CHAIN.HOOK]!, o[NFTA_CHAIN.HOOK]! + t.lengths[NFTA_CHAIN.HOOK]!);
    const io = inner.offsets;
    hook = {
      hooknum: io[NFTA_HOOK.HOOKNUM]! >= 0 ? buf.readUInt32BE(io[NFTA_HOOK.HOOKNUM]!) : -1,
      priority: io[NFTA_HOOK.PRIORITY]! >= 0 ? buf.readInt32BE(io[NFTA_HOOK.PRIORITY]!) : 0,
    };
  }
  let counters: NftChain['counters'] = null;
  if (o[NFTA_CHAIN.COUNTERS]! >= 0) {
    inner.parse(buf, o[NFTA_CHAIN.COUNTERS]!, o[NFTA_CHAIN.COUNTERS]! + t.lengths[NFTA_CHAIN.COUNTERS]!);
    const io = inner.offsets;
    counters = {
      packets: io[NFTA_COUNTER.PACKETS]! >= 0 ? buf.readBigUInt64BE(io[NFTA_COUNTER.PACKETS]!) : 0n,
      bytes: io[NFTA_COUNTER.BYTES]! >= 0 ? buf.readBigUInt64BE(io[NFTA_COUNTER.BYTES]!) : 0n,
    };
  }
  return {
    family: buf[m.off + 16]!,
    table: str(NFTA_CHAIN.TABLE) ?? '',
    name: str(NFTA_CHAIN.NAME) ?? '',
    handle: o[NFTA_CHAIN.HANDLE]! >= 0 ? buf.readBigUInt64BE(o[NFTA_CHAIN.HANDLE]!) : 0n,
    hook,
    policy: u32(NFTA_CHAIN.POLICY),
    type: str(NFTA_CHAIN.TYPE),
    counters,
    flags: u32(NFTA_CHAIN.FLAGS) ?? 0,
    use: u32(NFTA_CHAIN.USE) ?? 0,
  };
}

/**
 * The chains of a family, of one table when `table` is given.
 *
 * Equivalent to: `nft list chains ip`
 */
export function dumpChains(sock: NetlinkSocket, family: number, table?: string): NftChain[] {
  const chains: NftChain[] = [];
  nftRequest(sock, NFT_MSG.GETCHAIN, family, true, table === undefined ? null : (w) => w.str(NFTA_CHAIN.TABLE, table), (m) => {
    if ((m.type & 0xff) !== NFT_MSG.NEWCHAIN) return;
    const chain = parseChain(m);
    if (chain.family === family && (table === undefined || chain.table === table)) chains.push(chain);
  });
  return chains;
}

/**
 * Whether a chain is what iptables calls a builtin chain of its table: a base chain with exactly the
 * hook, priority and type iptables gives it. A base chain that differs, or a base chain under a name
 * iptables does not know, is another program's (iptables-nft: "contains incompatible base-chains").
 */
export function chainCompatibility(chain: NftChain): 'builtin' | 'user' | 'incompatible' {
  const builtin = builtinChain(chain.table, chain.name);
  if (chain.hook === null) return builtin ? 'incompatible' : 'user';
  if (!builtin) return 'incompatible';
  return chain.hook.hooknum === builtin.hook && chain.hook.priority === builtin.priority && chain.type === builtin.type
    ? 'builtin'
    : 'incompatible';
}

/** The attributes of a chain by name: TABLE, NAME. */
export function writeChainName(w: NlaWriter, table: string, name: string): void {
  w.str(NFTA_CHAIN.TABLE, table);
  w.str(NFTA_CHAIN.NAME, name);
}

/** NFTA_CHAIN_COUNTERS { BYTES, PACKETS }: policy counters to create or set. */
export function writeChainCounters(w: NlaWriter, packets: bigint, bytes: bigint): void {
  const nest = w.beginNest(NFTA_CHAIN.COUNTERS);
  w.u64be(NFTA_COUNTER.BYTES, bytes);
  w.u64be(NFTA_COUNTER.PACKETS, packets);
  w.endNest(nest);
}

/**
 * A builtin chain as iptables-nft creates it: TABLE, NAME, HOOK { HOOKNUM, PRIORITY }, POLICY, TYPE,
 * and, when given, policy COUNTERS (without them the chain has none to read or zero).
 */
export function writeBuiltinChain(w: NlaWriter, table: string, name: string, builtin: BuiltinChain, policy: number,
  counters?: { packets: bigint; bytes: bigint }): void {
  writeChainName(w, table, name);
  const hook = w.beginNest(NFTA_CHAIN.HOOK);
  w.u32be(NFTA_HOOK.HOOKNUM, builtin.hook);
  w.u32be(NFTA_HOOK.PRIORITY, builtin.priority >>> 0);
  w.endNest(hook);
  w.u32be(NFTA_CHAIN.POLICY, policy);
  w.str(NFTA_CHAIN.TYPE, builtin.type);
  if (counters) writeChainCounters(w, counters.packets, counters.bytes);
}
