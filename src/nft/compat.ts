// Which xtables extension revisions the kernel has, asked of nft_compat (NFNL_MSG_COMPAT_GET) instead of
// the legacy getsockopt(IPT_SO_GET_REVISION_*), which needs ip_tables in the kernel and loads it. This is
// iptables-nft's nft_compatible_revision (iptables/nft.c); libxtables calls it through its compat_rev
// hook when it picks the revision of an extension to build.
import { NlaTable, NlaWriter } from '../netlink/attributes.js';
import { NFGENMSG_END, NLM_F_ACK, NLM_F_REQUEST } from '../netlink/constants.js';
import { NetlinkKernelError } from '../netlink/errors.js';
import { NetlinkSocket } from '../netlink/socket.js';
import { setRevisionProbe } from '../xtables/shim.js';
import { NFNL_MSG_COMPAT_GET, NFPROTO_IPV4, NFPROTO_IPV6, NFTA_COMPAT } from './constants.js';

export type CompatKind = 'match' | 'target';

/**
 * The best revision the kernel has of extension `name` if it has revision `revision`; -1 when it has
 * that name but not that revision (EPROTONOSUPPORT), -2 when it has no such extension (ENOENT).
 * Other errors (EPERM without CAP_NET_ADMIN) are thrown.
 *
 * Equivalent to: the NFNL_MSG_COMPAT_GET iptables-nft sends for each extension it uses
 */
export function compatRevision(sock: NetlinkSocket, family: number, kind: CompatKind, name: string, revision: number): number {
  const w = new NlaWriter(128);
  const seq = sock.nextSeq();
  const at = w.beginMessage(NFNL_MSG_COMPAT_GET, NLM_F_REQUEST | NLM_F_ACK, seq, family);
  w.str(NFTA_COMPAT.NAME, name);
  w.u32be(NFTA_COMPAT.REV, revision);
  w.u32be(NFTA_COMPAT.TYPE, kind === 'target' ? 1 : 0);
  w.finishMessage(at);
  sock.send(w.result());
  let best = revision;
  const t = new NlaTable(4);
  try {
    sock.collect(seq, false, (m) => {
      t.parse(m.buf, m.off + NFGENMSG_END, m.off + m.len);
      if (t.has(NFTA_COMPAT.REV)) best = m.buf.readUInt32BE(t.offsets[NFTA_COMPAT.REV]!);
    });
  } catch (e) {
    if (e instanceof NetlinkKernelError && e.code === 93 /* EPROTONOSUPPORT */) return -1;
    if (e instanceof NetlinkKernelError && e.code === 2 /* ENOENT */) return -2;
    throw e;
  }
  return best;
}

/** getsockopt option numbers libxtables passes to its compat_rev hook (ip_tables.h, ip6_tables.h). */
const REVISION_OPTS: Record<number, { family: number; kind: CompatKind }> = {
  66: { family: NFPROTO_IPV4, kind: 'match' },
  67: { family: NFPROTO_IPV4, kind: 'target' },
  68: { family: NFPROTO_IPV6, kind: 'match' },
  69: { family: NFPROTO_IPV6, kind: 'target' },
};

let probeSocket: NetlinkSocket | null = null;
const answers = new Map<string, boolean>();

/**
 * libxtables' compat_rev answered through nft_compat: 1 when revision `revision` of `name` may be used,
 * 0 when not. As iptables-nft: revision 0 and a refused question (EPERM) count as usable, so that a
 * missing extension is reported when the rule is committed rather than hidden by an older revision.
 */
export function nftRevisionProbe(name: string, revision: number, opt: number): number {
  const what = REVISION_OPTS[opt];
  if (!what) return 1;
  const key = `${opt}/${name}/${revision}`;
  const known = answers.get(key);
  if (known !== undefined) return known ? 1 : 0;
  let usable: boolean;
  try {
    probeSocket ??= new NetlinkSocket();
    usable = compatRevision(probeSocket, what.family, what.kind, name, revision) >= 0 || revision === 0;
  } catch {
    // EPERM or no socket: assume it is there, as iptables-nft does. Nothing is lost: a revision the
    // kernel lacks is refused (ENOENT) when the rule is committed, never installed as something else.
    usable = true;
  }
  answers.set(key, usable);
  return usable ? 1 : 0;
}

/**
 * Makes libxtables ask nft_compat, not the legacy getsockopt, which revision of an extension to build:
 * the nf_tables backend's rules then never touch (or load) ip_tables. Process-wide; call it before the
 * first rule is built, since libxtables keeps each answer.
 */
export function useNftRevisionProbe(): void {
  setRevisionProbe(nftRevisionProbe);
}
