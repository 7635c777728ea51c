// IPSet in another network namespace: its socket is made there (see src/netns/socket.ts) and keeps that
// namespace for life, so every command of that IPSet acts there while the caller stays where it is.
import { checkNetnsPath, isThreadNetns } from '../netns/setns.js';
import { socketInNetns } from '../netns/socket.js';
import type { SocketFactory } from './netlink.js';

/** Where an IPSet works: its network namespace. */
export interface IPSetOptions {
  /**
   * The network namespace to work in: a file that names one, `/run/netns/NAME` (made by `ip netns add
   * NAME`) or `/proc/PID/ns/net`. Default: the calling thread's own. The socket is made in the
   * namespace once, when the IPSet is constructed (which takes some 30 ms: a short-lived worker thread
   * enters the namespace, as the caller's thread never changes namespace); a missing file or one that is
   * not a network namespace throws NetnsError.
   *
   * Equivalent to: `ip netns exec NAME ipset ...` / `nsenter --net=/proc/PID/ns/net ipset ...`
   */
  netns?: string;
}

/** How an IPSet with these options makes its socket; undefined: socket(2) in the calling thread's namespace. */
export function socketFactory(options: IPSetOptions): SocketFactory | undefined {
  if (options === null || typeof options !== 'object') throw new TypeError('IPSet options must be an object');
  if (options.netns === undefined) return undefined;
  const netns = checkNetnsPath(options.netns);
  if (isThreadNetns(netns)) return undefined;
  return (domain, type, protocol) => socketInNetns(netns, domain, type, protocol);
}
