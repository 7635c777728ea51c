// What every subcommand provides, and the options they share.
import { backendFor, checkBackendChoice, defaultBackend } from '../iptc/backend-choice.js';
import type { BackendChoice, BackendName } from '../iptc/table-backend.js';
import { UsageError, type OptionSpec, type Parsed } from './args.js';

export interface Command {
  name: string;
  /** One line for the command list in `iptc --help`. */
  summary: string;
  /** The synopsis after `iptc `. */
  usage: string;
  /** A paragraph for `iptc COMMAND --help`. */
  description: string;
  options: OptionSpec[];
  /** Returns the exit status (or a promise of it, for long-running commands). */
  run(args: Parsed): number | Promise<number>;
}

export const IPV6: OptionSpec = { key: 'ipv6', long: 'ipv6', short: '6', help: 'IPv6 (ip6tables) instead of IPv4' };
export const IPV4: OptionSpec = { key: 'ipv4', long: 'ipv4', short: '4', help: 'IPv4 (the default)' };
export const TABLE: OptionSpec = {
  key: 'table',
  long: 'table',
  short: 't',
  value: true,
  meta: 'TABLE',
  help: 'only this table (filter, nat, mangle, raw, security); default: every table in use',
};
export const JSON_OUT: OptionSpec = { key: 'json', long: 'json', help: 'machine-readable JSON (counters as exact numbers)' };
export const HELP: OptionSpec = { key: 'help', long: 'help', short: 'h', help: 'show this help' };
export const PROGRESS: OptionSpec = { key: 'progress', long: 'progress', help: 'show progress even when stderr is not a terminal' };
export const QUIET: OptionSpec = { key: 'quiet', long: 'quiet', short: 'q', help: 'no progress messages' };

export function familyOf(args: Parsed): 4 | 6 {
  return args.options.ipv6 === true ? 6 : 4;
}

export function tableOf(args: Parsed): string | undefined {
  const t = args.options.table;
  return typeof t === 'string' ? t : undefined;
}

export const BACKEND: OptionSpec = {
  key: 'backend',
  long: 'backend',
  value: true,
  meta: 'legacy|nft|auto',
  help: 'the tables to work on: legacy (ip_tables) or nft (nf_tables, as iptables-nft); default: $IPTC_BACKEND, else auto (see `iptc backend`)',
};

/** The backend a command works on: --backend, else $IPTC_BACKEND, else `auto`, resolved to legacy or nft. */
export function backendOf(args: Parsed): { choice: BackendChoice; name: BackendName } {
  const option = args.options.backend;
  let choice: BackendChoice;
  if (typeof option === 'string') {
    try {
      choice = checkBackendChoice(option, '--backend');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  } else {
    choice = defaultBackend();
  }
  return { choice, name: backendFor(choice).name };
}
