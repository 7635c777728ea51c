// Extension revisions asked of nft_compat (NFNL_MSG_COMPAT_GET) rather than the legacy getsockopt, and
// the shim hook that makes libxtables use that answer when it picks the revision to build.
import { afterAll, describe, expect, it } from 'vitest';
import { compatRevision, nftRevisionProbe } from '../src/nft/compat.js';
import { buildExtension, setRevisionProbe } from '../src/xtables/shim.js';
import { encodeHeader } from '../src/xtables/entry.js';
import { sharedSocket } from './nft-kernel.js';

const io = sharedSocket();
afterAll(() => setRevisionProbe(null));

const header = encodeHeader(4, {
  src: new Uint8Array(4), smsk: new Uint8Array(4), dst: new Uint8Array(4), dmsk: new Uint8Array(4),
  iniface: '', outiface: '', proto: 6, flags: 0, invflags: 0, packets: 0n, bytes: 0n,
});

describe('nft_compat revision probe', () => {
  it('answers the best revision, -1 for a missing revision, -2 for a missing extension', () => {
    expect(compatRevision(io.sock, 2, 'match', 'conntrack', 1)).toBe(3);
    // Revision 0 of conntrack left the kernel long ago.
    expect(compatRevision(io.sock, 2, 'match', 'conntrack', 0)).toBe(-1);
    expect(compatRevision(io.sock, 10, 'match', 'conntrack', 3)).toBe(3);
    expect(compatRevision(io.sock, 2, 'match', 'conntrack', 9)).toBe(-1);
    expect(compatRevision(io.sock, 2, 'match', 'iptc-no-such-match', 0)).toBe(-2);
    expect(compatRevision(io.sock, 2, 'target', 'LOG', 0)).toBe(0);
    expect(compatRevision(io.sock, 2, 'target', 'conntrack', 0)).toBe(-2);
  });

  it('speaks libxtables\' compat_rev: 1 usable, 0 not; revision 0 always usable', () => {
    expect(nftRevisionProbe('conntrack', 3, 66)).toBe(1);
    expect(nftRevisionProbe('conntrack', 9, 68)).toBe(0);
    expect(nftRevisionProbe('iptc-no-such-match', 1, 66)).toBe(0);
    expect(nftRevisionProbe('iptc-no-such-match', 0, 66)).toBe(1);
    expect(nftRevisionProbe('MASQUERADE', 0, 67)).toBe(1);
  });

  it('the shim asks the installed probe when libxtables picks a revision', () => {
    const asked: string[] = [];
    setRevisionProbe((name, revision, opt) => {
      asked.push(`${name}/${revision}/${opt}`);
      return nftRevisionProbe(name, revision, opt);
    });
    const built = buildExtension('match', 4, 'conntrack', undefined, header, [{ name: 'ctstate', values: ['NEW'], invert: false }], true);
    expect(built.revision).toBe(3);
    expect(asked).toContain('conntrack/3/66');

    // A probe that allows only revision 0 makes libxtables fall back to it (connmark has 0 and 1).
    setRevisionProbe((name, revision) => (name === 'connmark' && revision > 0 ? 0 : 1));
    const old = buildExtension('match', 4, 'connmark', undefined, header, [{ name: 'mark', values: ['1'], invert: false }], true);
    expect(old.revision).toBe(0);
  });
});
