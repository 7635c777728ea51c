/*
 * Force-included (`cc -include`) when scripts/build-shim.mjs builds a prebuilt shim, so that one .so
 * loads on every glibc from 2.28 (Debian 10, Ubuntu 20.04, RHEL 8) on.
 *
 * glibc 2.34 moved the libdl and libpthread functions into libc and gave them a new default version,
 * GLIBC_2.34, which a shim linked on a newer system would then require. Each such function keeps its
 * original version in libc as well (and in the libdl.so.2 / libpthread.so.0 of older glibcs, which the
 * prebuild names as dependencies), so binding to that version works on both sides of 2.34. Only
 * prebuilds, which the build script makes with a glibc toolchain, include this.
 * test/consumers.test.ts reads the highest GLIBC_ version each prebuild needs and fails above 2.28.
 */
#ifndef IPTC_GLIBC_COMPAT_H
#define IPTC_GLIBC_COMPAT_H

/* No #include here: the shim's own _GNU_SOURCE must come before the first glibc header. */
#if defined(__x86_64__)
#define IPTC_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define IPTC_GLIBC_BASE "GLIBC_2.17"
#else
#error "prebuilt shims are for x86_64 and aarch64 only"
#endif

#define IPTC_PIN(symbol) __asm__(".symver " #symbol "," #symbol "@" IPTC_GLIBC_BASE)
IPTC_PIN(dlopen);
IPTC_PIN(dlclose);
IPTC_PIN(dlsym);
IPTC_PIN(dlerror);
IPTC_PIN(dladdr);
IPTC_PIN(pthread_once);
IPTC_PIN(pthread_key_create);
IPTC_PIN(pthread_key_delete);
IPTC_PIN(pthread_getspecific);
IPTC_PIN(pthread_setspecific);
#undef IPTC_PIN

#endif
