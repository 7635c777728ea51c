// python-iptables' test_* calls: whether a dictionary, match or target is valid, without the kernel.
import { Rule, Rule6 } from '../iptc/index.js';
import { familyOf, opts } from './arguments.js';
import { addMatches, encodeRule, setTarget, type EasyOptions, type EasyValue, type RuleDict } from './dict.js';

/** Whether the dictionary makes a valid rule (every match, target and parameter) (python: `test_rule`). */
export function testRule(ruleD: RuleDict, options?: EasyOptions): boolean {
  const o = opts(options);
  try {
    encodeRule(ruleD, o);
    return true;
  } catch {
    return false;
  }
}

function newRule(o: EasyOptions): Rule {
  return familyOf(o) === 6 ? new Rule6() : new Rule();
}

/**
 * Whether `{ [name]: value }` is a valid match of a rule dictionary (python: `test_match`), e.g.
 * `testMatch('tcp', { dport: '22' })`, `testMatch('comment', 'text')`.
 */
export function testMatch(name: string, value: EasyValue, options?: EasyOptions): boolean {
  const o = opts(options);
  try {
    const rule = newRule(o);
    addMatches(rule, name, value);
    rule.toEntry();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `{ [name]: value }` is a valid target of a rule dictionary (python: `test_target`), e.g.
 * `testTarget('REJECT', { 'reject-with': 'tcp-reset' })`, `testTarget('goto', 'mychain')`.
 */
export function testTarget(name: string, value: EasyValue, options?: EasyOptions): boolean {
  const o = opts(options);
  try {
    const rule = newRule(o);
    setTarget(rule, { [name]: value });
    rule.toEntry();
    return true;
  } catch {
    return false;
  }
}
