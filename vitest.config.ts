import { defineConfig } from 'vitest/config';

// The kernel suite runs twice, once per backend, pinned through $IPTC_BACKEND (test/setup.ts checks it):
// project `legacy` runs every file, project `nft` every file but those below. test/kernel.ts reads back
// with the tools of the backend under test (iptables-legacy-save or iptables-nft-save, ...).

/** Files that run once (on legacy): they test no backend, one backend only, or choose it themselves. */
const ONCE = [
  // No iptables table at all: ipset, netlink, the exports, the examples.
  'ipset', 'ipset-batch', 'ipset-errors', 'ipset-fuzz', 'ipset-save-words', 'ipset-sockets', 'ipset-text',
  'ipset-unset', 'ipset-wiset', 'netlink', 'libc', 'public-api', 'quickstart', 'demo', 'experiments',
  // The nf_tables binding and the nft backend's own tests choose `backend: 'nft'` in each table.
  'nft-backend', 'nft-batch', 'nft-compat', 'nft-read', 'nft-write', 'nft-commit', 'nft-commitall', 'nft-restore',
  'nft-nflog-prefix', 'nft-cli', 'nft-export', 'nft-easy', 'nft-async',
  // Runs the extension corpus through both backends itself.
  'conformance',
  // Legacy internals: libiptc handles and their sockets, TableScanner reading the ip_tables blob.
  'handles', 'table-scan',
  // Rules printed by the shim a chunk at a time, against iptables-legacy-save; the shim's capture of
  // stdout on glibc and musl, the portable way against iptables-legacy-save; npm's install step.
  'read-printed', 'capture', 'shim-install',
  // The save() text of an extension read into parameters, fast path against the general one (no kernel).
  'saved-parameters',
  // The backend choice, detectBackend() and the warnings: they set the backend (and $IPTC_BACKEND of the
  // processes they start) themselves.
  'backend', 'backend-choice',
  // The packed tarball in a consumer project (npm pack and install are the cost, not the backend).
  'consumers',
];


const files = (names: string[]) => names.map((name) => `test/${name}.test.ts`);

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    // Every test file shares the one private network namespace made by scripts/netns-run.mjs and
    // resets its tables, so files must not run at the same time (of either project).
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'legacy', include: ['test/**/*.test.ts'], env: { IPTC_BACKEND: 'legacy' } },
      },
      {
        extends: true,
        test: {
          name: 'nft',
          include: ['test/**/*.test.ts'],
          exclude: files(ONCE),
          env: { IPTC_BACKEND: 'nft' },
        },
      },
    ],
  },
});
