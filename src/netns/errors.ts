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
  override readonly name = 'NetnsError';
  readonly errno: number;
  readonly code: string;
  /** The namespace path the option named. */
  readonly netns: string;

  constructor(message: string, netns: string, errno: number) {
    super(message);
    this.errno = errno;
    this.code = errnoNames.get(errno) ?? `E${errno}`;
    this.netns = netns;
  }
}
