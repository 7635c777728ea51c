// One request to nf_tables and its replies: a GET (single answer or dump) built in a small writer and
// answered on the caller's socket.
import { NlaWriter } from '../netlink/attributes.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from '../netlink/constants.js';
import type { NetlinkSocket, NlMessage } from '../netlink/socket.js';
import { nftType } from './constants.js';

const writer = new NlaWriter(1024);

/**
 * Sends `msg` (an NFT_MSG_GET*) for `family` with the attributes `attrs` writes, and hands each reply to
 * onMessage. A dump ends with NLMSG_DONE; a plain GET with its ACK. `keep` lets onMessage keep views of
 * the replies (each datagram gets a buffer of its own).
 */
export function nftRequest(sock: NetlinkSocket, msg: number, family: number, dump: boolean, attrs: ((w: NlaWriter) => void) | null,
  onMessage: (m: NlMessage) => void, keep = false): void {
  const seq = sock.nextSeq();
  const w = writer.reset();
  const at = w.beginMessage(nftType(msg), NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK), seq, family);
  attrs?.(w);
  w.finishMessage(at);
  sock.send(w.result());
  sock.collect(seq, false, onMessage, keep);
}
