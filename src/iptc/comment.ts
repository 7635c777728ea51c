// A rule's comment: the text of its `comment` match (`-m comment --comment TEXT`), which names a rule
// for the people and tools that read the table (iptables -L shows it, the exporter labels by it).
import { encodeText } from '../xtables/text.js';
import type { Match } from './match.js';
import type { Rule } from './rule.js';

function commentMatches(rule: Rule): Match[] {
  return rule.matches.filter((m) => m.name === 'comment');
}

/** The texts of every comment match of a rule, in order. */
export function ruleComments(rule: Rule): string[] {
  return commentMatches(rule).map((m) => m.get('comment') ?? '');
}

/** See Rule.comment: the first comment match's text, or undefined. */
export function ruleComment(rule: Rule): string | undefined {
  const first = commentMatches(rule)[0];
  return first === undefined ? undefined : (first.get('comment') ?? '');
}

/** xt_comment_info holds 256 bytes with the terminating NUL. */
const MAX_COMMENT_BYTES = 255;

/**
 * See Rule.comment: replaces the text of the first comment match, or adds one at the end; null or ''
 * removes every comment match. A longer text is refused (iptables would cut it at 255 bytes, and the
 * comment read back would not be the one set), so a refused one leaves the rule as it was.
 */
export function setRuleComment(rule: Rule, value: string | null): void {
  if (value === undefined) {
    throw new TypeError("rule.comment is undefined: give it a string, or null (or '') to remove the comment");
  }
  if (value !== null && typeof value !== 'string') {
    throw new TypeError(`rule.comment takes a string or null, got ${typeof value}`);
  }
  if (value !== null) {
    const bytes = encodeText(value, 'a comment').length;
    if (bytes > MAX_COMMENT_BYTES) {
      throw new RangeError(`a comment holds at most ${MAX_COMMENT_BYTES} bytes, got ${bytes} (iptables would cut it)`);
    }
  }
  const matches = commentMatches(rule);
  if (value === null || value === '') {
    for (const m of matches) rule.removeMatch(m);
  } else if (matches[0]) {
    matches[0].set('comment', value);
  } else {
    rule.createMatch('comment', { comment: value });
  }
}
