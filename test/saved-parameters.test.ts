// Extension.parameters reads a save() text by a fast path (parametersFromSaveText) where the text is
// plain; it must give exactly what the general reading (optionsFromSaveText, as iptables-restore splits
// a line) gives, on any text.
import { describe, expect, it } from 'vitest';
import { optionsFromSaveText, parametersFromSaveText } from '../src/iptc/parameters.js';
import type { OptionSpec } from '../src/xtables/shim.js';

const SPECS: OptionSpec[] = [
  { name: 'dport', hasArg: 1, code: 1 },
  { name: 'comment', hasArg: 1, code: 2 },
  { name: 'tcp-flags', hasArg: 1, code: 3 },
  { name: 'syn', hasArg: 0, code: 4 },
  { name: 'rsource', hasArg: 0, code: 5 },
  { name: 'to-destination', hasArg: 1, code: 6 },
  // A later entry of a name does not decide whether it takes an argument.
  { name: 'syn', hasArg: 1, code: 7 },
];

/** What parameters gave before the fast path: the options the general reading finds, joined. */
function general(text: string, specs: OptionSpec[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of optionsFromSaveText(text, specs)) {
    const v = o.values;
    const join = (from: number) => v.slice(from).join(' ');
    out[o.name] = o.invert ? `!${join(0)}` : v[0] === '!' ? `!${join(1)}` : join(0);
  }
  return out;
}

const same = (text: string, specs: OptionSpec[] | null = SPECS) => {
  let expected: unknown;
  try {
    expected = general(text, specs);
  } catch (e) {
    expected = e;
  }
  if (expected instanceof Error) {
    expect(() => parametersFromSaveText(text, specs)).toThrow(expected.constructor as new () => Error);
    return;
  }
  const got = parametersFromSaveText(text, specs);
  expect(got, JSON.stringify(text)).toEqual(expected);
  // Key order too: parameters list options as save() printed them.
  expect(Object.keys(got)).toEqual(Object.keys(expected as object));
};

describe('parametersFromSaveText', () => {
  it('reads what iptables-save prints', () => {
    expect(parametersFromSaveText(' --dport 80', SPECS)).toEqual({ dport: '80' });
    expect(parametersFromSaveText(' ! --dport 80', SPECS)).toEqual({ dport: '!80' });
    expect(parametersFromSaveText(' --comment "rule 5 for host-5"', SPECS)).toEqual({ comment: 'rule 5 for host-5' });
    expect(parametersFromSaveText(' --tcp-flags FIN,SYN,RST,ACK SYN', SPECS)).toEqual({ 'tcp-flags': 'FIN,SYN,RST,ACK SYN' });
    expect(parametersFromSaveText(' --syn --rsource', SPECS)).toEqual({ syn: '', rsource: '' });
  });

  it.each([
    '',
    ' ',
    ' --dport 80 --dport 81',
    ' --dport ! 80',
    ' --dport 80 ! --syn',
    ' ! ! --dport 80',
    ' --rsource !',
    ' --rsource ! x',
    ' stray --dport 80',
    ' --comment --x',
    ' --comment "--x" --syn',
    ' --comment "!" --syn',
    ' --comment "" --syn',
    ' --comment "a b" "c d"',
    ' --comment "a\\"b"',
    ' --comment "a\\\\b" --dport 1',
    ' --comment x"y z"',
    ' --comment "y z"x',
    ' --comment "unterminated',
    ' --comment a\tb\nc',
    ' -- --- --dport 1',
    ' --unknown 1 2 ! --other',
    ' --syn 5',
    ' --tcp-flags ! SYN ACK',
    ' --to-destination 10.0.0.1:80 --persistent',
  ])('agrees with the general reading on %j', (text) => {
    same(text);
    same(text, null);
  });

  it('agrees with the general reading on random texts', () => {
    const words = ['!', '--dport', '--comment', '--syn', '--tcp-flags', '--x', '--', '80', 'a', '"q r"', '"!"', '""', '"--syn"', '"e\\"f"', 'x"y"'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 5000; i++) {
      const n = next() % 8;
      let text = '';
      for (let k = 0; k < n; k++) text += `${[' ', '  ', '\t'][next() % 3]}${words[next() % words.length]}`;
      same(text);
    }
  });
});
