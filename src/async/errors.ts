// Errors cross from the owner thread to the caller as data: structured clone keeps neither an error's
// class nor its own fields (errno, line, extension, ...). Each is sent as its class name and fields and
// rebuilt as an instance of the same class, so `instanceof IPTCError` and `e.errno` work as with the
// synchronous API.
import { IPTCError, LibraryError, XTablesError } from '../xtables/errors.js';
import { XTablesLockError } from '../xtables/lock.js';
import { XTablesThreadError } from '../xtables/shim.js';
import { RuleSyntaxError } from '../iptc/parse.js';
import { RestoreError } from '../iptc/restore.js';
import { ConcurrentChangeError } from '../iptc/positions.js';
import { NftForeignRuleError } from '../iptc/nft-foreign-rule.js';
import { NftIncompatibleTableError } from '../iptc/nft-backend.js';
import { NftOpaqueRuleError } from '../nft/errors.js';
import { IPSetError } from '../ipset/errors.js';
import { NetnsError } from '../netns/errors.js';

// Most derived first: an error is sent as the first class it is an instance of. Every error class the
// package exports is here, those of the nft backend included.
const CLASSES = {
  XTablesLockError,
  XTablesThreadError,
  ConcurrentChangeError,
  NftForeignRuleError,
  NftOpaqueRuleError,
  NftIncompatibleTableError,
  IPTCError,
  XTablesError,
  LibraryError,
  RuleSyntaxError,
  RestoreError,
  IPSetError,
  NetnsError,
  TypeError,
  RangeError,
  SyntaxError,
  Error,
} as const;

type ClassName = keyof typeof CLASSES;

/** An error as it crosses between threads. */
export interface WireError {
  kind: ClassName;
  message: string;
  stack: string | undefined;
  /** The error's own fields that structured clone can carry. */
  fields: Record<string, unknown>;
  /** The error's own fields that are errors themselves (NftForeignRuleError's `rule`), sent likewise. */
  errorFields?: Record<string, WireError>;
  cause?: WireError;
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

export function errorToWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { kind: 'Error', message: String(error), stack: undefined, fields: {} };
  const kind = (Object.keys(CLASSES) as ClassName[]).find((name) => error instanceof CLASSES[name]) ?? 'Error';
  const fields: Record<string, unknown> = {};
  const errorFields: Record<string, WireError> = {};
  for (const [key, value] of Object.entries(error)) {
    // Structured clone would make an error field a plain Error without its fields.
    if (value instanceof Error) errorFields[key] = errorToWire(value);
    else if (cloneable(value)) fields[key] = value;
  }
  const wire: WireError = { kind, message: error.message, stack: error.stack, fields };
  if (Object.keys(errorFields).length > 0) wire.errorFields = errorFields;
  if (error.cause !== undefined) wire.cause = errorToWire(error.cause);
  return wire;
}

export function errorFromWire(wire: WireError): Error {
  const error = Object.create(CLASSES[wire.kind].prototype) as Error;
  // As the Error constructor makes them: own, not enumerable.
  const hidden = (key: string, value: unknown) => Object.defineProperty(error, key, { value, writable: true, configurable: true });
  hidden('message', wire.message);
  hidden('stack', wire.stack ?? `${wire.kind}: ${wire.message}`);
  if (wire.cause) hidden('cause', errorFromWire(wire.cause));
  Object.assign(error, wire.fields);
  for (const [key, value] of Object.entries(wire.errorFields ?? {})) Object.assign(error, { [key]: errorFromWire(value) });
  return error;
}
