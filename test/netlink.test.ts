// The shared NETLINK_NETFILTER socket (src/netlink) that ipset and nf_tables use: kernel errors with their
// errno, the echoed request cut where it ends, and extended-ack offsets.
import { describe, expect, it } from 'vitest';
import { thrown } from './kernel.js';
import { NetlinkSocket, parseError } from '../src/netlink/socket.js';
import { NetlinkKernelError } from '../src/netlink/errors.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_ERROR } from '../src/netlink/constants.js';
import { nftRequest } from '../src/nft/request.js';
import { NFT_MSG, NFTA_CHAIN } from '../src/nft/constants.js';

/** An NLMSG_ERROR as the kernel builds it: error, the echoed request, then ext-ack attributes. */
function errorMessage(errno: number, request: Buffer, flags: number, tlvs: Buffer): Buffer {
  const echo = flags & NLM_F_CAPPED ? request.subarray(0, 16) : request;
  const len = 20 + echo.length + tlvs.length;
  const msg = Buffer.alloc(len);
  msg.writeUInt32LE(len, 0);
  msg.writeUInt16LE(NLMSG_ERROR, 4);
  msg.writeUInt16LE(flags, 6);
  msg.writeUInt32LE(7, 8);
  msg.writeInt32LE(-errno, 16);
  echo.copy(msg, 20);
  tlvs.copy(msg, 20 + echo.length);
  return msg;
}

function request(payload: number): Buffer {
  const r = Buffer.alloc(16 + payload, 0xab);
  r.writeUInt32LE(16 + payload, 0);
  return r;
}

/** NLMSGERR_ATTR_OFFS (2) = offset, NLMSGERR_ATTR_MSG (1) = text. */
function tlvs(offset: number, text: string): Buffer {
  const str = Buffer.from(`${text}\0`);
  const msgAttr = Buffer.alloc((4 + str.length + 3) & ~3);
  msgAttr.writeUInt16LE(4 + str.length, 0);
  msgAttr.writeUInt16LE(1, 2);
  str.copy(msgAttr, 4);
  const offs = Buffer.alloc(8);
  offs.writeUInt16LE(8, 0);
  offs.writeUInt16LE(2, 2);
  offs.writeUInt32LE(offset, 4);
  return Buffer.concat([msgAttr, offs]);
}

describe('error replies', () => {
  it('carry the errno, the echoed request only, and the extended ack', () => {
    const req = request(24);
    const msg = errorMessage(22, req, NLM_F_ACK_TLVS, tlvs(32, 'bad attribute'));
    const err = parseError(msg, 0, msg.length, NLM_F_ACK_TLVS, 7)!;
    expect(err).toBeInstanceOf(NetlinkKernelError);
    expect([err.code, err.errno, err.seq]).toEqual([22, 22, 7]);
    expect(err.echo).toEqual(req);
    expect(err.extAck).toEqual({ offset: 32, message: 'bad attribute' });
    expect(err.message).toBe('kernel error EINVAL (errno 22) at offset 32: bad attribute');
  });

  it('a capped echo is the request header alone; an ACK is no error', () => {
    const req = request(40);
    const flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    const msg = errorMessage(2, req, flags, tlvs(48, 'x'));
    const err = parseError(msg, 0, msg.length, flags, 7)!;
    expect(err.echo).toEqual(req.subarray(0, 16));
    expect(err.extAck.offset).toBe(48);
    const ack = errorMessage(0, request(0), 0, Buffer.alloc(0));
    expect(parseError(ack, 0, ack.length, 0, 7)).toBeNull();
  });
});

describe('the kernel', () => {
  it('answers a request for a missing chain with ENOENT and the offset of the name that missed', () => {
    const sock = new NetlinkSocket();
    try {
      const err = thrown(() =>
        nftRequest(sock, NFT_MSG.GETCHAIN, 2, false, (w) => {
          w.str(NFTA_CHAIN.TABLE, 'iptc-no-such-table');
          w.str(NFTA_CHAIN.NAME, 'x');
        }, () => {}),
      ) as NetlinkKernelError;
      expect(err).toBeInstanceOf(NetlinkKernelError);
      expect(err.code).toBe(2);
      // The TABLE attribute starts right after nlmsghdr and nfgenmsg.
      expect(err.extAck.offset).toBe(20);
    } finally {
      sock.close();
    }
  });

  it('sizes the send buffer for a message larger than the default', () => {
    const sock = new NetlinkSocket();
    try {
      const big = Buffer.alloc(8 << 20);
      // A harmless message train: NLMSG_NOOP messages the kernel ignores.
      for (let at = 0; at < big.length; at += 4096) {
        big.writeUInt32LE(4096, at);
        big.writeUInt16LE(1, at + 4);
      }
      expect((thrown(() => sock.send(big)) as { errno: number }).errno).toBe(90); // EMSGSIZE
      sock.ensureSendBuffer(big.length);
      sock.send(big);
    } finally {
      sock.close();
    }
  });
});
