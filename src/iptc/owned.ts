// What a program made in a table, found again to remove it: rules tagged with its owner tag in a
// comment, and user chains named after it. iptables keeps no record of who made a rule, so the tag is
// the record; the same convention as Calico's `cali:` comments and Docker's `DOCKER-` chains.
import { extensionName, splitEntry } from '../xtables/entry.js';
import { IPTCError } from '../xtables/errors.js';
import type { RawRule } from '../xtables/libiptc.js';
import type { View } from './idempotent.js';
import { ruleComments } from './comment.js';
import type { Table } from './table.js';

/** What Table.deleteOwned removed. */
export interface DeletedOwned {
  /** Rules deleted: the tagged ones, and every rule of the owned chains. */
  rules: number;
  /** The owned user chains deleted. */
  chains: string[];
}

const EMLINK = 31;

function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || owner === '') {
    throw new TypeError(`an owner tag must be a non-empty string, got ${owner === '' ? "''" : String(owner)}`);
  }
  if (/[\s\0]/.test(owner) || owner.includes(':')) {
    throw new TypeError(`an owner tag has no whitespace and no \`:', got \`${owner}'`);
  }
}

/** Whether a comment marks its rule as the owner's: `OWNER`, or `OWNER:` and anything. */
export function ownsComment(owner: string, comment: string): boolean {
  return comment === owner || comment.startsWith(`${owner}:`);
}

/** Whether a user chain is the owner's by name: `OWNER`, or `OWNER-` and anything. */
export function ownsChain(owner: string, chain: string): boolean {
  return chain === owner || chain.startsWith(`${owner}-`);
}

function hasComment(family: 4 | 6, raw: RawRule): boolean {
  return splitEntry(family, raw.entry).matches.some((blob) => extensionName(blob) === 'comment');
}

/**
 * See Table.deleteOwned. One change: tagged rules out of every other chain (from the last, so positions
 * hold), then the owned chains flushed (so they may jump to each other) and deleted. A deleted chain that
 * a rule not tagged still jumps to stops it all: that rule belongs to someone else.
 */
export function deleteOwned(table: Table, owner: string): DeletedOwned {
  checkOwner(owner);
  const RuleClass = table.ruleClass;
  const family = table.family;
  const change = (h: View, dryRun: boolean): DeletedOwned => {
    const chains = h.read();
    const owned = chains.filter((c) => !c.builtin && ownsChain(owner, c.name));
    let rules = 0;
    for (const c of chains) {
      if (owned.includes(c)) continue;
      const raws = c.rules;
      for (let i = raws.length - 1; i >= 0; i--) {
        const raw = raws[i]!;
        if (!hasComment(family, raw)) continue;
        if (!ruleComments(RuleClass.fromEntry(raw)).some((text) => ownsComment(owner, text))) continue;
        if (!dryRun) h.deleteNumEntry(c.name, i);
        rules++;
      }
    }
    for (const c of owned) rules += c.rules.length;
    if (!dryRun) {
      for (const c of owned) h.flushEntries(c.name);
      for (const c of owned) {
        const references = h.references(c.name);
        if (references > 0) {
          throw new IPTCError(
            `cannot delete chain \`${c.name}' of owner \`${owner}' in table \`${table.name}': ${references} rule(s) ` +
              `not tagged \`${owner}' jump to it; nothing was deleted`,
            EMLINK,
          );
        }
        h.deleteChain(c.name);
      }
    }
    return { rules, chains: owned.map((c) => c.name) };
  };
  // Nothing to delete commits nothing.
  const found = table.peek((h) => change(h, true));
  if (found === undefined || (found.rules === 0 && found.chains.length === 0)) return { rules: 0, chains: [] };
  return table.edit((h) => change(h, false));
}
