// `log`: iptables' -j NFLOG is written as an nflog `log` (GROUP always set); a syslog `log` (LEVEL,
// FLAGS, no GROUP) is plain nft's and has no iptables form.
import type { NlaTable, NlaWriter } from '../../netlink/attributes.js';
import { readStr } from '../../netlink/attributes.js';
import { beginExpr, endExpr, EXPR, u32 } from './element.js';

export const NFTA_LOG = { GROUP: 1, PREFIX: 2, SNAPLEN: 3, QTHRESHOLD: 4, LEVEL: 5, FLAGS: 6 } as const;

export interface NflogOptions {
  group: number;
  /** Omitted when empty. */
  prefix: string;
  /** Only with --nflog-size. */
  snaplen?: number;
  /** Omitted when 0. */
  threshold: number;
}

/** `log [prefix P] group G [snaplen S] [qthreshold Q]` (libnftnl's order: GROUP, PREFIX, SNAPLEN, QTHRESHOLD). */
export function writeNflog(w: NlaWriter, o: NflogOptions): void {
  const e = beginExpr(w, EXPR.log);
  w.u16be(NFTA_LOG.GROUP, o.group);
  if (o.prefix !== '') w.str(NFTA_LOG.PREFIX, o.prefix);
  if (o.snaplen !== undefined) w.u32be(NFTA_LOG.SNAPLEN, o.snaplen);
  if (o.threshold !== 0) w.u16be(NFTA_LOG.QTHRESHOLD, o.threshold);
  endExpr(w, e);
}

export interface LogExpr {
  /** -1 when absent. */
  group: number;
  /** null when absent. */
  prefix: string | null;
  /** -1 when absent. */
  snaplen: number;
  threshold: number;
  /** Whether LEVEL or FLAGS (syslog logging) are present. */
  syslog: boolean;
}

export function readLog(buf: Buffer, t: NlaTable, into: LogExpr): LogExpr {
  const o = t.offsets;
  into.group = o[NFTA_LOG.GROUP]! >= 0 ? buf.readUInt16BE(o[NFTA_LOG.GROUP]!) : -1;
  into.prefix = o[NFTA_LOG.PREFIX]! >= 0 ? readStr(buf, o[NFTA_LOG.PREFIX]!, t.lengths[NFTA_LOG.PREFIX]!) : null;
  into.snaplen = u32(buf, t, NFTA_LOG.SNAPLEN);
  into.threshold = o[NFTA_LOG.QTHRESHOLD]! >= 0 ? buf.readUInt16BE(o[NFTA_LOG.QTHRESHOLD]!) : 0;
  into.syslog = o[NFTA_LOG.LEVEL]! >= 0 || o[NFTA_LOG.FLAGS]! >= 0;
  return into;
}
