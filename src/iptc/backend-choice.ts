// Which backend a table uses: its `backend` option, else Table.defaultBackend, else $IPTC_BACKEND, else
// `auto`. The choice is made once, when the table is made; everything after talks to that TableBackend.
import { autoBackend } from './backend.js';
import { legacyBackend } from './legacy-backend.js';
import { nftBackend } from './nft-backend.js';
import type { BackendChoice, TableBackend } from './table-backend.js';

const CHOICES: readonly string[] = ['legacy', 'nft', 'auto'];

/** Checks a backend choice (`what` names where it came from, for the TypeError). */
export function checkBackendChoice(value: unknown, what: string): BackendChoice {
  if (typeof value !== 'string' || !CHOICES.includes(value)) {
    throw new TypeError(`${what} must be 'legacy', 'nft' or 'auto', got ${typeof value === 'string' ? `'${value}'` : String(value)}`);
  }
  return value as BackendChoice;
}

let configured: BackendChoice | undefined;

/** Table.defaultBackend: as set, else $IPTC_BACKEND when set and not empty, else 'auto'. */
export function defaultBackend(): BackendChoice {
  if (configured !== undefined) return configured;
  const env = process.env.IPTC_BACKEND;
  return env === undefined || env === '' ? 'auto' : checkBackendChoice(env, 'IPTC_BACKEND');
}

export function setDefaultBackend(choice: BackendChoice): void {
  configured = checkBackendChoice(choice, 'Table.defaultBackend');
}

/**
 * The backend for a choice. `auto` is the one the system's `iptables` uses (where it cannot tell:
 * nf_tables when the kernel has it, else legacy), resolved once per process (src/iptc/backend.ts).
 */
export function backendFor(choice: BackendChoice): TableBackend {
  switch (choice) {
    case 'legacy':
      return legacyBackend;
    case 'nft':
      return nftBackend;
    case 'auto':
      return autoBackend() === 'nft' ? nftBackend : legacyBackend;
  }
}
