// What `ipset save` text can carry (issue 12, items 8 and 25). A comment with `"` or a line break, or a set
// or interface name with white space, would restore as something else: such words are refused with an
// IPSetError when written, save() refuses to print one another program put in the kernel, and restore
// reads each line as `ipset restore` does. Every check reads the kernel back with `ipset save`.
import { describe, expect, it } from 'vitest';
import { IPSetError } from '../src/ipset/index.js';
import { cliRestore, cliSave, destroyAllSets, ipsetCli, ipsetForFile, ipsetTry, members, setNames } from './ipset-kernel.js';

const ipset = ipsetForFile();

function ipsetError(fn: () => unknown): IPSetError {
  const before = cliSave();
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IPSetError);
  expect(cliSave()).toBe(before);
  return err as IPSetError;
}

/** Applies text with the library and with `ipset restore` (from the same start); both outcomes. */
function bothRestore(setup: string, text: string): { ours: string | Error; cli: string | Error } {
  const run = (apply: () => void): string | Error => {
    destroyAllSets();
    cliRestore(setup);
    try {
      apply();
    } catch (e) {
      return e as Error;
    }
    return cliSave().replace(/ initval 0x[0-9a-f]+/g, '');
  };
  return { ours: run(() => ipset.restore(text)), cli: run(() => cliRestore(text)) };
}

describe('comments', () => {
  const blocked = 'create blk hash:net comment\ncreate other hash:net comment\n';

  it('a " is refused as the ipset CLI refuses it, with IPSetError, and changes nothing', () => {
    cliRestore(blocked);
    const e = ipsetError(() => ipset.add('blk', '10.0.0.0/8', { comment: 'x" nomatch "' }));
    expect(e.errno).toBe(22);
    expect(e.setName).toBe('blk');
    expect(e.message).toMatch(/ipset add blk: the " character is not permitted in comments/);
    expect(ipsetTry('add', 'blk', '10.0.0.0/8', 'comment', 'x" nomatch "').stderr).toMatch(/not permitted in comments/);
  });

  it('the crafted comment of the report cannot make a save/restore add nomatch or 0.0.0.0/1', () => {
    cliRestore(blocked);
    const crafted = 'x" nomatch\nadd other 0.0.0.0/1 comment "y';
    ipsetError(() => ipset.add('blk', '10.0.0.0/8', { comment: crafted }));
    ipsetError(() => ipset.addMany('blk', [{ entry: '10.0.0.0/8', comment: crafted }]));
    ipsetError(() => ipset.add('blk', '10.0.0.0/8', { comment: 'a\nadd other 0.0.0.0/1' }));
    ipset.add('blk', '10.0.0.0/8', { comment: "managed by ansible: it's \\ fine\t(tab)" });
    const text = ipset.save();
    destroyAllSets();
    ipset.restore(text);
    expect(cliSave()).toBe(text);
    expect(members('blk')).toEqual([`10.0.0.0/8 comment "managed by ansible: it's \\ fine\t(tab)"`]);
    expect(members('other')).toEqual([]);
  });

  it('a comment that the tool would take for its own option (-exist) is refused', () => {
    cliRestore(blocked);
    ipsetError(() => ipset.add('blk', '10.0.0.0/8', { comment: '-exist' }));
    ipsetError(() => ipset.add('blk', '10.0.0.0/8', { comment: '--q' }));
    ipset.add('blk', '10.0.0.0/8', { comment: '-- managed by ansible --' });
    const text = ipset.save('blk');
    destroyAllSets();
    ipset.restore(text);
    expect(members('blk')).toEqual(['10.0.0.0/8 comment "-- managed by ansible --"']);
  });

  it('over 255 bytes is an IPSetError from add, addMany (with its index) and restore (with its line)', () => {
    cliRestore(blocked);
    const long = 'é'.repeat(128); // 256 bytes
    const e = ipsetError(() => ipset.add('blk', '10.0.0.0/8', { comment: long }));
    expect(e.reason).toMatch(/longer than 255 bytes/);
    const m = ipsetError(() => ipset.addMany('blk', ['10.1.0.0/16', { entry: '10.2.0.0/16', comment: long }]));
    expect(m).toMatchObject({ index: 1, entry: '10.2.0.0/16', command: 'add', setName: 'blk' });
    const r = ipsetError(() => ipset.restore(`add blk 10.3.0.0/16\nadd blk 10.4.0.0/16 comment ${'x'.repeat(256)}\n`));
    expect(r.line).toBe(2);
    ipset.add('blk', '10.0.0.0/8', { comment: 'é'.repeat(127) + 'x' }); // 255 bytes
    expect(members('blk')).toHaveLength(1);
  });
});

describe('names', () => {
  it('a set name or new name that ipset text cannot carry is refused with IPSetError', () => {
    for (const name of ['a b', 'a\tb', 'a"b', 'x,y', '-exist', '--name', 'a\nb']) {
      expect(ipsetError(() => ipset.create(name, {})).setName).toBe(name);
    }
    ipset.create('ok', {});
    ipsetError(() => ipset.rename('ok', 'o k'));
    expect(setNames()).toEqual(['ok']);
  });

  it('an interface name with white space, " or , is refused (the kernel would store "eth0 nomatch")', () => {
    cliRestore('create ni hash:net,iface\n');
    for (const iface of ['eth0 nomatch', 'eth"0', 'a,b', 'eth0\n']) {
      expect(() => ipset.add('ni', ['10.0.0.0/8', iface])).toThrow(TypeError);
    }
    expect(members('ni')).toEqual([]);
  });
});

describe('save() of what another program made', () => {
  it('refuses a name, element or comment the text cannot carry, instead of printing an injection', () => {
    cliRestore('create clean hash:ip comment\nadd clean 1.2.3.4 comment "fine"\n');
    const clean = ipset.save('clean');
    ipsetCli('add', 'clean', '1.2.3.5', 'comment', 'a\nadd clean 0.0.0.0/1');
    const c = ipsetError(() => ipset.save());
    expect(c.message).toMatch(/ipset save clean: cannot be written as ipset save text: the element '1.2.3.5': a line break/);
    ipsetCli('del', 'clean', '1.2.3.5');
    expect(ipset.save('clean')).toBe(clean);

    ipsetCli('create', 'a b', 'hash:ip');
    expect(ipsetError(() => ipset.save()).message).toMatch(/the set name 'a b'/);
    expect(ipset.save('clean')).toBe(clean);
    expect(ipset.list('a b')[0]!.name).toBe('a b'); // still readable, and destroyable
    ipset.destroy('a b');

    ipsetCli('create', 'ni', 'hash:net,iface');
    ipsetCli('add', 'ni', '10.0.0.0/8,eth0 nomatch');
    expect(ipsetError(() => ipset.save('ni')).message).toMatch(/the element '10.0.0.0\/8,eth0 nomatch': it contains white space/);
  });
});

describe('restore reads each line as `ipset restore` does', () => {
  const setup = 'create s hash:ip comment\ncreate t hash:net\n';

  it('quotes toggle anywhere in a word and "" vanishes, as in the tool', () => {
    const same = (text: string) => {
      const { ours, cli } = bothRestore(setup, text);
      expect(typeof ours, `${text}: ${String(ours)}`).toBe('string');
      expect(ours, text).toBe(cli);
    };
    same('add s 1.2.3.4 comment "a b"c\n');
    same('add s 1.2.3.5 comment x"y z"\n');
    same('add "s" 1.2.3.6\n');
    same('  \t add s 1.2.3.7\r\n');
    same('# a comment\n\nadd s 1.2.3.8 -exist\nadd s 1.2.3.8 -exist\n');
  });

  it('what the tool refuses or reads otherwise is a TypeError, and nothing of the text is applied', () => {
    for (const text of [
      'add s 1.2.3.4 comment ""\n', // the tool: comment without a value
      'add s 1.2.3.4 comment "-exist"\n', // the tool takes -exist out of the line, quoted or not
      'add s 1.2.3.4 -o save\n', // the tool's output option, with its argument
      'add s 1.2.3.4\u00a0comment x\n', // not a word separator for the tool
      'add s 1.2.3.4 timeout 1 timeout 2\n',
      'add s 1.2.3.4 comment a comment b\n',
      'destroy s t\n',
      'add s 1.2.3.4\0 comment x\n',
      'add s 1.2.3.4 comment "unterminated\n',
      'add s 1.2.3.4 comment x"y\n',
    ]) {
      destroyAllSets();
      cliRestore(setup);
      const before = cliSave();
      expect(() => ipset.restore(`add t 192.0.2.0/24\n${text}`), JSON.stringify(text)).toThrow(TypeError);
      expect(cliSave(), JSON.stringify(text)).toBe(before);
    }
  });

  it('a line longer than the tool reads at once is refused: the tool would run its tail as a command', () => {
    destroyAllSets();
    cliRestore(setup);
    const before = cliSave();
    const line = `# ${'x'.repeat(1021)}add t 0.0.0.0/1\n`;
    expect(() => ipset.restore(line)).toThrow(/longer than the 1022 bytes/);
    expect(cliSave()).toBe(before);
    cliRestore(line); // the tool: the comment's tail is a command
    expect(members('t')).toEqual(['0.0.0.0/1']);
  });
});
