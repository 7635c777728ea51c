// The words of a rule line exactly as iptables-restore splits them (add_param_to_argv in xshared.c), so
// that text iptables-legacy-save prints reads back as the values it was printed from.
import { RuleSyntaxError } from './errors.js';

/** The words of a line, and which of them were written in double quotes (never an option or a `!`). */
export interface SplitWords {
  words: string[];
  quoted: boolean[];
}

const SPACE = 32;
const TAB = 9;
const NEWLINE = 10;
const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Splits a rule line as iptables-restore does: words are separated by spaces, tabs or newlines; a
 * double quote opens a quoted part, in which a backslash takes the next character as it is (`\"`, `\\`,
 * `\'`); the closing quote ends the word. Outside double quotes, single quotes and backslashes are
 * ordinary characters (`'a b'` is the two words `'a` and `b'`). Where iptables-restore would take an
 * unterminated quote up to the end of the line, this refuses it (RuleSyntaxError).
 */
export function splitRuleWords(text: string): SplitWords {
  const words: string[] = [];
  const quoted: boolean[] = [];
  let start = -1;
  let word = '';
  let inQuotes = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuotes) {
      if (escaped) {
        escaped = false;
      } else if (c === BACKSLASH) {
        word += text.slice(start, i);
        start = i + 1;
        escaped = true;
        continue;
      } else if (c === QUOTE) {
        word += text.slice(start, i);
        inQuotes = false;
        words.push(word);
        quoted.push(true);
        word = '';
        start = -1;
      }
      continue;
    }
    if (c === QUOTE) {
      if (start >= 0) word += text.slice(start, i);
      start = i + 1;
      inQuotes = true;
      continue;
    }
    if (c === SPACE || c === TAB || c === NEWLINE) {
      if (start >= 0) {
        // A word that had a quoted part ended at its closing quote: this one has none.
        words.push(word + text.slice(start, i));
        quoted.push(false);
        word = '';
        start = -1;
      }
      continue;
    }
    if (start < 0) start = i;
  }
  if (inQuotes) throw new RuleSyntaxError(`unterminated double quote in: ${text}`);
  if (start >= 0) {
    words.push(word + text.slice(start));
    quoted.push(false);
  }
  return { words, quoted };
}

/**
 * splitRuleWords for a text without double quotes, where nothing is quoted or escaped: the words between
 * spaces, tabs and newlines.
 */
export function splitPlainWords(text: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : SPACE;
    if (c === SPACE || c === TAB || c === NEWLINE) {
      if (start >= 0) words.push(text.slice(start, i));
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  return words;
}
