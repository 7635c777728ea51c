import { constants } from 'node:os';

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);
// The kernel's own "the ruleset changed, retry" (nf_tables generation check); libc has no name for it.
errnoNames.set(85, 'ERESTART');

/**
 * A libiptc or kernel error: a missing chain, a rule that does not exist, a commit the kernel refused.
 * `errno` is the C errno (0 when the error was found before reaching libiptc), `code` its name.
 */
export class IPTCError extends Error {
  /** Always `'IPTCError'` (subclasses name themselves). */
  override readonly name: string = 'IPTCError';
  /** The C errno libiptc or the kernel gave (0 when the error was found before reaching them). */
  readonly errno: number;
  /** The errno's name, e.g. `ENOENT`. */
  readonly code: string;

  /** An error with libiptc's (or the kernel's) message and errno. */
  constructor(message: string, errno = 0) {
    super(message);
    this.errno = errno;
    this.code = errnoNames.get(errno) ?? (errno === 0 ? 'EINVAL' : `E${errno}`);
  }
}

/** What iptables says, or what helps, when the kernel refuses a table at commit with this errno. */
const COMMIT_HINTS: Record<number, string> = {
  [constants.errno.EINVAL]: 'a match or target the kernel does not accept here (in this table or chain, or with ' +
    'these options); run `dmesg\' for more information',
  [constants.errno.ENOENT]: 'a match or target the kernel does not have (is its module available?)',
  [constants.errno.ELOOP]: 'the chains jump in a loop',
  [constants.errno.ENOMEM]: 'the kernel has no memory for a table this large',
  [constants.errno.EAGAIN]: 'another program changed the table during the commit; try again',
};

/**
 * The kernel refused a whole table at commit (libiptc's replace of the table): nothing of it was
 * applied. The kernel does not say which rule it refused; `change` names the one rule or command the
 * commit was for, when there was one.
 */
export class CommitError extends IPTCError {
  readonly table: string;
  readonly change: string | undefined;
  /** libiptc's words for the errno, without the table or the hint. */
  readonly reason: string;

  constructor(table: string, errno: number, reason: string, change?: string) {
    const hint = COMMIT_HINTS[errno];
    const what = change === undefined ? `table \`${table}'` : `\`${change}' in table \`${table}'`;
    super(`the kernel refused ${what}: ${reason}${hint ? `; ${hint}` : ''}`, errno);
    this.table = table;
    this.change = change;
    this.reason = reason;
  }

  /** The same refusal, naming the change the commit was for. */
  naming(change: string): CommitError {
    return new CommitError(this.table, this.errno, this.reason, change);
  }
}

/** An xtables extension refused a parameter; `message` is the extension's own words. */
export class XTablesError extends Error {
  /** Always `'XTablesError'`. */
  override readonly name = 'XTablesError';
  /** The match or target whose parser or final check refused the parameters. */
  readonly extension: string;

  /** The extension `extension` refused, in its own words. */
  constructor(extension: string, message: string) {
    super(message);
    this.extension = extension;
  }
}

/** A system library or the shim is missing or has the wrong ABI. */
export class LibraryError extends Error {
  /** Always `'LibraryError'`. */
  override readonly name = 'LibraryError';
}
