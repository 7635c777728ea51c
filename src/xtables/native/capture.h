/*
 * Capturing what is printed to the C stdout. libxtables extensions print their parameters with printf,
 * putchar and fputs on stdout; iptables-save lets them write to fd 1, the shim wants the text instead.
 * Between capture_start and capture_end everything printed to stdout by this thread goes to the capture
 * (fd 1 is never redirected), and capture_offset says how much has been printed so far.
 *
 * Errors (the capture could not start, or printed text escaped it) are returned, with capture_error()
 * saying why: the capture never hands back a text it cannot vouch for. Only one capture at a time, from
 * the thread that owns the shim. This file needs libc alone (test/native builds it with musl too).
 */
#ifndef XTW_CAPTURE_H
#define XTW_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

#define CAPTURE_HIDDEN __attribute__((visibility("hidden")))

/* Sends stdout to a new capture. False on failure (stdout is then as before). */
CAPTURE_HIDDEN bool capture_start(void);

/* The bytes printed since capture_start, or -1 on failure. */
CAPTURE_HIDDEN long capture_offset(void);

/*
 * Around work inside a capture that may itself write to files without printing (loading an extension
 * plugin copies it into a memfd): the portable capture counts this thread's writes to see whether stdout
 * reached fd 1, and must not count those. False when the text so far escaped the capture.
 */
CAPTURE_HIDDEN bool capture_pause(void);
CAPTURE_HIDDEN bool capture_resume(void);

/*
 * Gives stdout back and hands over the text: *text (NUL-terminated, the caller frees it) and *len.
 * False, with *text NULL, when the text escaped the capture.
 */
CAPTURE_HIDDEN bool capture_end(char **text, size_t *len);

/* Gives stdout back and drops the text, after a failed call; nothing when no capture is open. */
CAPTURE_HIDDEN void capture_abandon(void);

/* Why the last capture call failed. */
CAPTURE_HIDDEN const char *capture_error(void);

#endif
