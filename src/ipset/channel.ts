// The channel to the kernel's ipset subsystem: one NETLINK_NETFILTER socket, the message writer, and the
// request/reply plumbing every command shares (header, ACK, single reply, kernel error -> IPSetError). It
// also remembers each set's type (elements are encoded by type) and the revisions the kernel offers.
import { NlaTable, NlaWriter, readStr } from './attributes.js';
import { Attr, Cmd, IPSET_PROTOCOL, NFNL_SUBSYS_IPSET, NLM_F_REQUEST } from './constants.js';
import { IPSET_ERR, IPSetError } from './errors.js';
import { NetlinkKernelError, NetlinkSocket, type SocketFactory } from './netlink.js';
import { kindOf } from './types.js';
import { checkSetName } from './words.js';

export class Channel {
  readonly sock: NetlinkSocket;
  readonly w = new NlaWriter(64 * 1024);
  /** Set name -> type name; dropped for the names a rename/swap/destroy through this channel touched. */
  readonly typeCache = new Map<string, string>();
  readonly revisionCache = new Map<string, [number, number]>();

  /** `open` makes the socket elsewhere (another network namespace); by default right here. */
  constructor(open?: SocketFactory) {
    this.sock = new NetlinkSocket({ open });
  }

  get closed(): boolean {
    return this.sock.closed;
  }

  close(): void {
    this.sock.close();
  }

  /** Starts a request message: nfgenmsg and the protocol attribute. */
  begin(cmd: number, flags: number, family = 2): { seq: number; at: number } {
    const seq = this.sock.nextSeq();
    const w = this.w.reset();
    const at = w.beginMessage((NFNL_SUBSYS_IPSET << 8) | cmd, flags, seq, family);
    w.u8(Attr.PROTOCOL, IPSET_PROTOCOL);
    return { seq, at };
  }

  /** An IPSetError for a kernel error, with ipset's meaning for the kind of set it concerns. */
  kernelError(e: unknown, command: string, setName?: string, typeName?: string): unknown {
    if (!(e instanceof NetlinkKernelError)) return e;
    let kind = kindOf(typeName);
    if (!kind && e.code >= IPSET_ERR.TYPE_SPECIFIC && setName) {
      try {
        kind = kindOf(this.headerQuery(setName).type);
      } catch {
        // the set is gone: leave the meaning ambiguous
      }
    }
    const details = { command, ...(setName !== undefined && { setName }), ...(kind && { kind }) };
    if (e.code === IPSET_ERR.PROTOCOL && (command === 'add' || command === 'del' || command === 'test')) {
      // The kernel says only "protocol error" when an element does not fit the set (wrong family, part missing).
      return new IPSetError(e.code, details, "ipset protocol error: the element does not fit the set's type or family (e.g. an IPv4 address in an inet6 set)");
    }
    return new IPSetError(e.code, details);
  }

  /** Sends the message built so far and waits for its ACK. */
  exchange(seq: number, at: number, command: string, setName?: string, typeName?: string): void {
    this.w.finishMessage(at);
    this.sock.send(this.w.result());
    try {
      this.sock.collect(seq, false);
    } catch (e) {
      throw this.kernelError(e, command, setName, typeName);
    }
  }

  /** Sends the message built so far and returns the attribute table of the single reply (copied). */
  query(seq: number, at: number, command: string, setName?: string): { buf: Buffer; t: NlaTable } {
    this.w.finishMessage(at);
    this.sock.send(this.w.result());
    let copy: Buffer | undefined;
    try {
      this.sock.collect(seq, true, (m) => {
        copy = Buffer.from(m.buf.subarray(m.off, m.off + m.len));
      });
    } catch (e) {
      throw this.kernelError(e, command, setName);
    }
    if (!copy) throw new IPSetError(IPSET_ERR.PROTOCOL, { command }, 'the kernel sent no reply');
    return { buf: copy, t: new NlaTable(16).parse(copy, 20, copy.length) };
  }

  /** A set's type, family and revision (IPSET_CMD_HEADER); caches the type. */
  headerQuery(name: string): { type: string; family: number; revision: number } {
    checkSetName(name);
    const { seq, at } = this.begin(Cmd.HEADER, NLM_F_REQUEST);
    this.w.str(Attr.SETNAME, name);
    const { buf, t } = this.query(seq, at, 'header', name);
    const o = t.offsets;
    const type = readStr(buf, o[Attr.TYPENAME]!, t.lengths[Attr.TYPENAME]!);
    this.typeCache.set(name, type);
    return { type, family: buf[o[Attr.FAMILY]!] ?? 0, revision: buf[o[Attr.REVISION]!] ?? 0 };
  }

  /** The type name of a set, cached. */
  typeOf(name: string): string {
    return this.typeCache.get(name) ?? this.headerQuery(name).type;
  }
}
