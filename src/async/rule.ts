import type { RuleDict } from '../easy/dict.js';
import type { Counters } from '../iptc/rule.js';
import type { WireRule, WireRules } from './protocol.js';

/**
 * A rule as read from a chain: what `iptables -S` / `iptables-save -c` show of it. Plain data, valid
 * after the table changed or closed; pass it back to deleteRule() or appendRule() as it is.
 */
export class RuleSnapshot {
  /** The chain it was read from. */
  readonly chain: string;
  /** Its 0-based position in the chain when read (iptables numbers from 1). */
  readonly position: number;
  /** The rule spec as iptables-save prints it, without `-A CHAIN`: `-p tcp -m tcp --dport 22 -j ACCEPT`. */
  readonly spec: string;
  /** Packet and byte counters when read. */
  readonly counters: Counters;

  /** @internal */
  constructor(chain: string, position: number, spec: string, counters: Counters) {
    this.chain = chain;
    this.position = position;
    this.spec = spec;
    this.counters = counters;
  }

  /** The rule spec, as Rule.toString() prints it. */
  toString(): string {
    return this.spec;
  }
}

/**
 * A rule for iptc/async: an iptables rule spec as `iptables -A CHAIN` takes it after the chain name
 * (`'-p tcp --dport 22 -j ACCEPT'`, or its words as an array), an `iptc/easy` rule dictionary
 * (`{ protocol: 'tcp', tcp: { dport: '22' }, target: 'ACCEPT' }`), or a RuleSnapshot read back.
 *
 * Rule objects from `iptc` are not taken: building them uses the xtables layer on the calling thread,
 * which the owner thread must own alone (docs/async.md).
 */
export type RuleInput = string | readonly string[] | RuleDict | RuleSnapshot;

function isPlainObject(value: unknown): value is RuleDict {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Checks a rule input and puts it in the form that crosses to the owner thread. */
export function wireRule(rule: RuleInput): WireRule {
  if (typeof rule === 'string') return rule;
  if (rule instanceof RuleSnapshot) return rule.spec;
  if (Array.isArray(rule)) {
    if (!rule.every((w) => typeof w === 'string')) throw new TypeError('a rule given as words must be an array of strings');
    return { words: rule };
  }
  if (isPlainObject(rule)) return { dict: rule };
  const what = rule === null ? 'null' : typeof rule === 'object' ? `a ${(rule as object).constructor?.name ?? 'non-plain'} object` : typeof rule;
  throw new TypeError(
    `iptc/async takes a rule as a spec string, an array of words, an iptc/easy dictionary or a RuleSnapshot, got ${what}`,
  );
}

export function snapshots(chain: string, wire: WireRules): RuleSnapshot[] {
  const { specs, counters } = wire;
  return specs.map((spec, i) => new RuleSnapshot(chain, i, spec, { packets: counters[2 * i]!, bytes: counters[2 * i + 1]! }));
}
