// The C library iptc binds through koffi is the one the process runs on: glibc's libc.so.6, or musl's
// loader (Alpine has no libc.so.6), found in /proc/self/maps.
import { describe, expect, it } from 'vitest';
import { getLibc, libcPath, libcPathIn } from '../src/netlink/libc.js';

const GLIBC_MAPS = `55d0c8e00000-55d0c9000000 r--p 00000000 08:01 1234 /usr/bin/node
7f3a1c000000-7f3a1c028000 r--p 00000000 08:01 5678 /usr/lib/x86_64-linux-gnu/libc.so.6
7f3a1c400000-7f3a1c42a000 r--p 00000000 08:01 9012 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
`;
const MUSL_MAPS = `5581d9a00000-5581d9c00000 r--p 00000000 00:2f 111 /usr/bin/node
7f0e2a1c0000-7f0e2a1d4000 r--p 00000000 00:2f 222 /usr/lib/libstdc++.so.6.0.32
7f0e2a300000-7f0e2a314000 r--p 00000000 00:2f 333 /lib/ld-musl-aarch64.so.1
7f0e2a314000-7f0e2a35f000 r-xp 00014000 00:2f 333 /lib/ld-musl-aarch64.so.1
`;

describe('the C library', () => {
  it('is glibc by its soname, or musl by its loader', () => {
    expect(libcPathIn(GLIBC_MAPS)).toBe('libc.so.6');
    expect(libcPathIn(MUSL_MAPS)).toBe('/lib/ld-musl-aarch64.so.1');
    expect(libcPathIn('')).toBe('libc.so.6');
  });

  it('binds the calls of this process, which work', () => {
    expect(libcPath()).toBe('libc.so.6');
    const c = getLibc();
    const fd = c.socket(16 /* AF_NETLINK */, 3 /* SOCK_RAW */, 12 /* NETLINK_NETFILTER */);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(c.close(fd)).toBe(0);
    expect(c.close(fd)).toBe(-1);
  });
});
