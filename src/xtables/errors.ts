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
  override readonly name: string = 'IPTCError';
  readonly errno: number;
  readonly code: string;

  constructor(message: string, errno = 0) {
    super(message);
    this.errno = errno;
    this.code = errnoNames.get(errno) ?? (errno === 0 ? 'EINVAL' : `E${errno}`);
  }
}

/** An xtables extension refused a parameter; `message` is the extension's own words. */
export class XTablesError extends Error {
  override readonly name = 'XTablesError';
  /** The match or target whose parser or final check refused the parameters. */
  readonly extension: string;

  constructor(extension: string, message: string) {
    super(message);
    this.extension = extension;
  }
}

/** A system library or the shim is missing or has the wrong ABI. */
export class LibraryError extends Error {
  override readonly name = 'LibraryError';
}
