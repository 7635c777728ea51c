import { readlinkSync } from 'node:fs';

const host = process.env.IPTC_HOST_NETNS;
const here = readlinkSync('/proc/self/ns/net');
if (!host || host === here || !process.env.XTABLES_LOCKFILE) {
  throw new Error(
    'refusing to run kernel tests outside a private network namespace: run them with `npm test` ' +
      '(scripts/netns-run.mjs creates the namespace)',
  );
}
