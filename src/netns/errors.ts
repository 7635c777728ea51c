import { constants } from 'node:os';

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/**
 * A `netns` option that cannot be honoured: the namespace file is missing or is not a network namespace,
 * entering it is not permitted, or the synchronous API cannot work in another namespace. Nothing was
 * done, in either namespace. `errno` is the C errno, `code` its name, `netns` the path as given.
 *
 * Equivalent to: `ip netns exec NAME ...` failing with `Cannot open network namespace` or `setns: ...`
 */
export class NetnsError extends Error {
  /** Always `'NetnsError'`. */
  override readonly name = 'NetnsError';
  /** The C errno, e.g. 2 (ENOENT) for a namespace file that does not exist. */
  readonly errno: number;
  /** The errno's name, e.g. `EPERM`. */
  readonly code: string;
  /** The namespace path the option named. */
  readonly netns: string;

  /** The namespace `netns` could not be used, with the C errno. */
  constructor(message: string, netns: string, errno: number) {
    super(message);
    this.errno = errno;
    this.code = errnoNames.get(errno) ?? `E${errno}`;
    this.netns = netns;
  }
}
