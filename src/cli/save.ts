// `iptc save`: the rule set as iptables-legacy-save (or, on nft, iptables-nft-save) prints it, ready for
// `iptc restore` or iptables-restore.
import { Table, Table6, saveAll } from '../iptc/index.js';
import type { Command } from './command.js';
import { BACKEND, HELP, IPV4, IPV6, TABLE, backendOf, familyOf, tableOf } from './command.js';

export const save: Command = {
  name: 'save',
  summary: 'print the rules as iptables-save does',
  usage: 'save [-6] [-t TABLE] [--backend B] [-c]',
  description:
    'Prints every table the kernel has in use (or one, with -t) in iptables-save format. Tables that ' +
    'are not in use are not created. Same output as `iptables-legacy-save` (--backend nft: ' +
    '`iptables-nft-save`) without its # comment lines.',
  options: [IPV6, IPV4, TABLE, BACKEND, { key: 'counters', long: 'counters', short: 'c', help: 'include [packets:bytes] of every rule' }, HELP],
  run(args) {
    const counters = args.options.counters === true;
    const family = familyOf(args);
    const name = tableOf(args);
    const { choice: backend } = backendOf(args);
    if (args.positionals.length > 0) throw new Error(`save takes no arguments, got \`${args.positionals[0]}'`);
    // Bytes, not a string: a comment that is not UTF-8 is written as the kernel holds it.
    let text: Buffer;
    if (name) {
      const table = family === 6 ? new Table6(name, { backend }) : new Table(name, { backend });
      try {
        text = table.save({ counters, encoding: 'buffer' });
      } finally {
        table.close();
      }
    } else {
      text = saveAll({ counters, ipv6: family === 6, encoding: 'buffer', backend });
    }
    process.stdout.write(text);
    return 0;
  },
};
