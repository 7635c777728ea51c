// What console.log, util.inspect, String() and template literals show of tables, chains, rules, matches
// and targets: their iptables text, never `Rule {}` or `[object Object]`.
import { inspect } from 'node:util';
import { beforeEach, expect, it } from 'vitest';
import { Rule, Rule6, Table, Table6 } from '../src/iptc/index.js';
import { closedAfterEach, resetKernel } from './kernel.js';

const open = closedAfterEach();

beforeEach(() => {
  resetKernel();
});

it('a table shows its name, and whether it collects changes or is closed', () => {
  const t = new Table('filter');
  const t6 = new Table6('nat', { autocommit: false });
  open.push(t, t6);
  expect(inspect(t)).toBe('Table [filter]');
  expect(inspect(t6)).toBe('Table6 [nat, autocommit: false]');
  expect(`${t6}`).toBe('nat');
  t6.close();
  expect(inspect(t6)).toBe('Table6 [nat, closed]');
});

it('a chain shows its table and name; String() is its name', () => {
  const t = new Table('filter');
  open.push(t);
  const c = t.chain('INPUT');
  expect(inspect(c)).toBe('Chain [filter INPUT]');
  expect(inspect({ chains: t.chains })).toMatch(/chains: \[\s+Chain \[filter INPUT\],\s+Chain \[filter FORWARD\],\s+Chain \[filter OUTPUT\]\s+\]/);
  expect(`-A ${c}`).toBe('-A INPUT');
});

it('rules, matches and targets show their iptables-save text', () => {
  const r = Rule.parse('-p tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT');
  expect(inspect(r)).toBe('Rule [-p tcp -m tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT]');
  expect(inspect(r.matches)).toBe('[ Match [-m tcp --dport 22], Match [-m comment --comment "ssh in"] ]');
  expect(String(r.target)).toBe('-j ACCEPT');
  expect(`${r.matches[1]}`).toBe('-m comment --comment "ssh in"');
  expect(inspect(r.target)).toBe('Target [-j ACCEPT]');
  expect(inspect(Rule6.parse('-j LOG --log-prefix "x "').target)).toBe('Target [-j LOG --log-prefix "x "]');
  expect(inspect(new Rule())).toBe('Rule []');
});
