// python-iptables' dump_* calls: chains, tables and every table as rule dictionaries.
import { checkChain, opts, scopeOf } from './arguments.js';
import { rawRules } from './chain-rules.js';
import { getTables } from './chains.js';
import { decodeRule, type EasyOptions, type RuleDict } from './dict.js';
import { readTable } from './tables.js';

/** Every rule of a chain as dictionaries, in order (python: `dump_chain`). */
export function dumpChain(table: string, chain: string, options?: EasyOptions): RuleDict[] {
  const o = opts(options);
  const t = readTable(scopeOf(o), table);
  const RuleClass = t.ruleClass;
  return rawRules(t, checkChain(chain)).map((raw) => decodeRule(RuleClass.fromEntry(raw)));
}

/**
 * `{ chain: [rules] }` for every chain of a table, from one read of it (python: `dump_table`). The
 * object has no prototype, so that any chain name (`__proto__` too) is a key of its own.
 */
export function dumpTable(table: string, options?: EasyOptions): Record<string, RuleDict[]> {
  const o = opts(options);
  const t = readTable(scopeOf(o), table);
  const RuleClass = t.ruleClass;
  const out = Object.create(null) as Record<string, RuleDict[]>;
  for (const c of t.chains) out[c.name] = t.rawChain(c.name).rules.map((raw) => decodeRule(RuleClass.fromEntry(raw)));
  return out;
}

/** `{ table: { chain: [rules] } }` for every table of the family (python: `dump_all`). */
export function dumpAll(options?: EasyOptions): Record<string, Record<string, RuleDict[]>> {
  const o = opts(options);
  const out = Object.create(null) as Record<string, Record<string, RuleDict[]>>;
  for (const name of getTables(o)) out[name] = dumpTable(name, o);
  return out;
}
