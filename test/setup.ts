import { readlinkSync } from 'node:fs';

const host = process.env.IPTC_HOST_NETNS;
const here = readlinkSync('/proc/self/ns/net');
if (!host || host === here || !process.env.XTABLES_LOCKFILE) {
  throw new Error(
    'refusing to run kernel tests outside a private network namespace: run them with `npm test` ' +
      '(scripts/netns-run.mjs creates the namespace)',
  );
}

// The nft backend warning (IPTC_NFT_BACKEND) would otherwise be printed once per test file, hiding real
// warnings. Child processes the tests start inherit this; test/backend.test.ts turns the warning back on
// and asserts it.
process.env.IPTC_NO_BACKEND_WARNING = '1';

// vitest.config.ts runs the kernel suite once per backend and pins it here: $IPTC_BACKEND is `legacy` or
// `nft` (never `auto`), so that test/kernel.ts reads back with the tools of the backend every Table uses.
const backend = process.env.IPTC_BACKEND;
if (backend !== 'legacy' && backend !== 'nft') {
  throw new Error(`IPTC_BACKEND must be 'legacy' or 'nft' in the test suite (a vitest project), got ${String(backend)}`);
}
