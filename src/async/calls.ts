// The owner thread's side of every AsyncTable, AsyncChain and AsyncIPSet method: the synchronous API,
// called with the arguments as they arrived. Each entry names the method the caller's side sends; the
// synchronous API checks the arguments, so a bad one fails here exactly as it would there.
import { encodeRule } from '../easy/dict.js';
import type { IPSet } from '../ipset/ipset.js';
import { Chain } from '../iptc/chain.js';
import { ruleFor } from '../iptc/idempotent.js';
import type { Counters, Rule } from '../iptc/rule.js';
import type { SaveOptions, Table } from '../iptc/table.js';
import type { RestoreOptions } from '../iptc/restore.js';
import type { LockWait } from '../xtables/lock.js';
import { decodePorts, type WireRule, type WireRules } from './protocol.js';

/**
 * `wait: true` would block this thread inside flock(2), where nothing can stop it, and a process does
 * not exit while one of its threads is stuck in a system call. Waiting "as long as it takes" is done
 * by polling instead, which sleeps in Atomics.wait, and that ends when the thread is told to stop.
 */
const FOREVER_SECONDS = 1e9;

export function ownerWait(wait: LockWait): LockWait {
  return wait === true ? FOREVER_SECONDS : wait;
}

/** The rule a call gives for a chain; a spec that starts with `-A CHAIN` must name that chain. */
function toRule(table: Table, chain: string, wire: WireRule): Rule {
  if (typeof wire === 'string') return ruleFor(new Chain(table, chain), wire);
  if ('words' in wire) return ruleFor(new Chain(table, chain), wire.words);
  return encodeRule(wire.dict, { ipv6: table.family === 6 });
}

function readRules(table: Table, chain: string): WireRules {
  const rules = table.chain(chain).rules;
  const counters = new BigUint64Array(rules.length * 2);
  const specs = rules.map((rule, i) => {
    counters[2 * i] = rule.counters.packets;
    counters[2 * i + 1] = rule.counters.bytes;
    return rule.toString();
  });
  return { specs, counters };
}

/**
 * Appends many rules as one change: every rule is parsed before anything changes; with autocommit the
 * rules are committed together (all or none), without it they join the pending changes.
 */
function appendRules(table: Table, chain: string, wires: WireRule[]): void {
  const rules = wires.map((w) => toRule(table, chain, w));
  const target = table.chain(chain);
  if (!table.autocommit) {
    for (const rule of rules) target.appendRule(rule);
    return;
  }
  table.autocommit = false;
  try {
    for (const rule of rules) target.appendRule(rule);
    table.commit();
  } catch (e) {
    table.refresh();
    throw e;
  } finally {
    table.autocommit = true;
  }
}

type Call<T> = (target: T, ...args: never[]) => unknown;

export const TABLE_CALLS: Record<string, Call<Table>> = {
  commit: (t) => t.commit(),
  refresh: (t) => t.refresh(),
  setAutocommit: (t, value: boolean) => {
    t.autocommit = value;
  },
  setWait: (t, value: LockWait) => {
    t.wait = ownerWait(value);
  },
  chains: (t) => t.chains.map((c) => c.name),
  isChain: (t, name: string) => t.isChain(name),
  builtinChain: (t, name: string) => t.builtinChain(name),
  createChain: (t, name: string) => void t.createChain(name),
  deleteChain: (t, name: string) => t.deleteChain(name),
  renameChain: (t, from: string, to: string) => t.renameChain(from, to),
  chainExists: (t, name: string) => t.chainExists(name),
  clearChain: (t, name: string) => void t.clearChain(name),
  clearAndDeleteChain: (t, name: string) => t.clearAndDeleteChain(name),
  deleteOwned: (t, owner: string) => t.deleteOwned(owner),
  flush: (t) => t.flush(),
  zeroEntries: (t, chain: string | undefined) => t.zeroEntries(chain),
  save: (t, options: SaveOptions) => t.save(options),
  restore: (t, text: string, options: RestoreOptions) => t.restore(text, options),
  // Chains: the chain's name comes first.
  rules: (t, chain: string) => readRules(t, chain),
  appendRule: (t, chain: string, rule: WireRule) => t.chain(chain).appendRule(toRule(t, chain, rule)),
  appendRules: (t, chain: string, rules: WireRule[]) => appendRules(t, chain, rules),
  insertRule: (t, chain: string, rule: WireRule, position: number) => t.chain(chain).insertRule(toRule(t, chain, rule), position),
  replaceRule: (t, chain: string, rule: WireRule, position: number) => t.chain(chain).replaceRule(toRule(t, chain, rule), position),
  deleteRule: (t, chain: string, rule: WireRule) => t.chain(chain).deleteRule(toRule(t, chain, rule)),
  hasRule: (t, chain: string, rule: WireRule) => t.chain(chain).hasRule(toRule(t, chain, rule)),
  appendUnique: (t, chain: string, rule: WireRule) => t.chain(chain).appendUnique(toRule(t, chain, rule)),
  insertUnique: (t, chain: string, rule: WireRule, position: number) => t.chain(chain).insertUnique(toRule(t, chain, rule), position),
  // A chain that does not exist holds no rule: no t.chain(), which would throw.
  deleteIfExists: (t, chain: string, rule: WireRule) => new Chain(t, chain).deleteIfExists(toRule(t, chain, rule)),
  deleteRuleAt: (t, chain: string, position: number) => t.chain(chain).deleteRuleAt(position),
  flushChain: (t, chain: string) => t.chain(chain).flush(),
  zeroCounters: (t, chain: string) => t.chain(chain).zeroCounters(),
  getCounters: (t, chain: string) => t.chain(chain).getCounters(),
  getPolicy: (t, chain: string) => t.chain(chain).getPolicy()?.name ?? null,
  setPolicy: (t, chain: string, policy: string, counters: Counters | undefined) => t.chain(chain).setPolicy(policy, counters),
  isBuiltin: (t, chain: string) => t.chain(chain).isBuiltin(),
  deleteChainOf: (t, chain: string) => t.chain(chain).delete(),
};

const IPSET_METHODS = [
  'create', 'add', 'delete', 'test', 'addMany', 'deleteMany', 'list', 'headers', 'listHeaders', 'listNames',
  'destroy', 'destroyAll', 'flush', 'flushAll', 'rename', 'swap', 'getProtoVersion', 'getSetByName', 'getSetByIndex',
  'getSupportedRevisions', 'save', 'restore',
] as const;

export const IPSET_CALLS: Record<string, Call<IPSet>> = Object.fromEntries(
  IPSET_METHODS.map((method) => [
    method,
    (s: IPSet, ...args: unknown[]) => (s[method] as (...a: unknown[]) => unknown).apply(s, args.map(decodePorts)),
  ]),
);
