/*
 * Capturing stdout (see capture.h): one way on glibc, where stdout is a variable, and one on any libc.
 * Build with -DIPTC_PORTABLE_CAPTURE to take the portable way on glibc too (the tests do, to compare).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "capture.h"

static char error[320];

static bool failed(const char *what, int err)
{
	if (err != 0)
		snprintf(error, sizeof(error), "%s: %s", what, strerror(err));
	else
		snprintf(error, sizeof(error), "%s", what);
	return false;
}

const char *capture_error(void)
{
	return error;
}

#if defined(__GLIBC__) && !defined(IPTC_PORTABLE_CAPTURE)
/*
 * glibc: stdout is an assignable variable, so it points at an open_memstream for the capture. No system
 * call, the stream grows as needed, fd 1 and the real stdout's buffer are never touched.
 */
static FILE *real_stdout, *stream;
static char *buf;
static size_t len;

bool capture_start(void)
{
	fflush(stdout);
	stream = open_memstream(&buf, &len);
	if (stream == NULL)
		return failed("open_memstream", errno);
	real_stdout = stdout;
	stdout = stream;
	return true;
}

long capture_offset(void)
{
	return ftell(stream);
}

bool capture_pause(void)
{
	return true;
}

bool capture_resume(void)
{
	return true;
}

bool capture_end(char **text, size_t *n)
{
	/* fclose writes the last of the text into buf; a failure there (no memory) leaves it short. */
	bool ok;

	stdout = real_stdout;
	ok = fclose(stream) == 0;
	stream = NULL;
	*text = ok ? buf : NULL;
	*n = ok ? len : 0;
	if (!ok) {
		failed("open_memstream", errno);
		free(buf);
	}
	buf = NULL;
	return ok;
}

void capture_abandon(void)
{
	if (stream == NULL)
		return;
	stdout = real_stdout;
	fclose(stream);
	stream = NULL;
	free(buf);
	buf = NULL;
}

#else
/*
 * Any libc (on musl stdout is `FILE *const`). stdout keeps its fd 1 but writes into a buffer of ours,
 * fully buffered and far larger than an extension prints between two looks at it. Each look moves what
 * the buffer holds into the text and drops it from the stream (__fpending, __fpurge from stdio_ext.h,
 * which glibc and musl have), so nothing is flushed to fd 1.
 *
 * Were something to print more than the buffer holds in one go, stdio would flush to fd 1. Then the
 * text would be short and the rest on the real stdout: the capture counts this thread's write calls
 * (syscw in /proc/thread-self/io) and refuses a text during which there was one. So that libxtables'
 * warnings (connlabel's, on stderr) are no such call, stderr is buffered too and written out once the
 * text is checked. Other threads' C stdio waits on stdout's lock meanwhile; writes to fd 1 that do not go
 * through stdio (Node's own) never reach the buffer, so no foreign byte enters the text. fd 1 is never
 * redirected, as that would swallow them.
 */
#define AREA (1 << 20)
#define ERR_AREA (64 << 10)
/* Drained into the text past this, which leaves 3/4 of the buffer for one extension's print. */
#define DRAIN_AT (AREA / 4)
#define PROBE "\001iptc stdout probe\001"
#define ESCAPED                                                                                               \
	"the text printed to stdout did not stay in the capture (this thread wrote to a file meanwhile; an " \
	"extension printing more than 1 MiB at once flushes to fd 1), so none of it is returned"

static char area[AREA], err_area[ERR_AREA];
/* stdout's buffer after a capture: libc's own cannot be handed back. */
static char normal[BUFSIZ];
/* Where in area stdio keeps the first pending byte (musl keeps a few bytes in front for ungetc). */
static size_t base;
static bool capturing;
static char *text;
static size_t text_len, text_cap;
static unsigned long long writes_before;
static int io_fd = -1;
static pid_t io_tid;

/* How many write calls (write, writev, pwrite...) this thread has made, from the kernel's accounting. */
static bool write_calls(unsigned long long *count)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	char buf[512];
	const char *syscw;
	ssize_t n;

	if (io_fd < 0 || io_tid != tid) {
		if (io_fd >= 0)
			close(io_fd);
		/* thread-self names the calling thread whatever pid namespace /proc was mounted in. */
		io_fd = open("/proc/thread-self/io", O_RDONLY | O_CLOEXEC);
		if (io_fd < 0)
			return failed("capturing stdout needs this thread's write count from /proc/thread-self/io "
				      "(a kernel with CONFIG_TASK_IO_ACCOUNTING, /proc mounted)", errno);
		io_tid = tid;
	}
	n = pread(io_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return failed("reading /proc/thread-self/io", n < 0 ? errno : EIO);
	buf[n] = '\0';
	syscw = strstr(buf, "syscw: ");
	if (syscw == NULL)
		return failed("/proc/thread-self/io has no syscw line", 0);
	*count = strtoull(syscw + strlen("syscw: "), NULL, 10);
	return true;
}

/*
 * Makes `f` fully buffered in `buffer`, empty. Returns where stdio puts its first pending byte there,
 * found with a probe (a libc may keep bytes in front), or -1.
 */
static long buffer_in(FILE *f, char *buffer, size_t size)
{
	const char *found;

	if (setvbuf(f, buffer, _IOFBF, size) != 0)
		return -1;
	memset(buffer, 0, 64);
	fputs(PROBE, f);
#ifdef __GLIBC__
	/*
	 * glibc's setvbuf on a stream that has written before keeps it in put mode with an empty put area:
	 * the probe then went in a byte at a time, and the next write would flush it. Its write_end below
	 * its write_ptr tells; the whole buffer is the put area of a fully buffered stream. (Only a test
	 * build takes this path on glibc; musl's setvbuf leaves nothing stale.)
	 */
	if (f->_IO_write_end < f->_IO_write_ptr)
		f->_IO_write_end = f->_IO_buf_end;
#endif
	found = __fpending(f) == strlen(PROBE) ? memmem(buffer, 64 + strlen(PROBE), PROBE, strlen(PROBE)) : NULL;
	__fpurge(f);
	return found != NULL ? found - buffer : -1;
}

static void give_back_stdout(void)
{
	__fpurge(stdout);
	setvbuf(stdout, normal, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, sizeof(normal));
	/* stderr's lock too: setvbuf takes none, and another thread may be writing to it. */
	flockfile(stderr);
	fflush(stderr);
	setvbuf(stderr, NULL, _IONBF, 0);
	funlockfile(stderr);
	funlockfile(stdout);
	capturing = false;
}

/* Moves what stdout holds into the text. */
static bool drain(void)
{
	size_t n = __fpending(stdout);

	if (n > AREA - base)
		return failed(ESCAPED, 0);
	if (text == NULL || text_len + n + 1 > text_cap) {
		size_t cap = text_cap < 4096 ? 4096 : text_cap;
		char *grown;

		while (cap < text_len + n + 1)
			cap *= 2;
		grown = realloc(text, cap);
		if (grown == NULL)
			return failed("capturing stdout", ENOMEM);
		text = grown;
		text_cap = cap;
	}
	memcpy(text + text_len, area + base, n);
	text_len += n;
	text[text_len] = '\0';
	__fpurge(stdout);
	return true;
}

/* Whether every byte printed since writes_before was counted is still in the buffer or the text. */
static bool stayed(void)
{
	unsigned long long now;

	if (!drain() || !write_calls(&now))
		return false;
	if (now != writes_before || ferror(stdout))
		return failed(ESCAPED, 0);
	return true;
}

bool capture_start(void)
{
	long at, err_at;

	flockfile(stdout);
	fflush(stdout);
	fflush(stderr);
	clearerr(stdout);
	at = buffer_in(stdout, area, AREA);
	flockfile(stderr);
	err_at = at < 0 ? -1 : buffer_in(stderr, err_area, ERR_AREA);
	funlockfile(stderr);
	if (at < 0 || err_at < 0) {
		give_back_stdout();
		return failed("capturing stdout: cannot buffer stdout and stderr (setvbuf)", 0);
	}
	base = (size_t)at;
	text = NULL;
	text_len = text_cap = 0;
	if (!write_calls(&writes_before)) {
		give_back_stdout();
		return false;
	}
	capturing = true;
	return true;
}

long capture_offset(void)
{
	size_t pending = __fpending(stdout);

	if (pending > DRAIN_AT && !drain())
		return -1;
	return (long)(text_len + (pending > DRAIN_AT ? 0 : pending));
}

bool capture_pause(void)
{
	return !capturing || stayed();
}

bool capture_resume(void)
{
	return !capturing || write_calls(&writes_before);
}

bool capture_end(char **out, size_t *n)
{
	bool ok = stayed();

	give_back_stdout();
	*out = ok ? text : NULL;
	*n = ok ? text_len : 0;
	if (!ok)
		free(text);
	text = NULL;
	text_len = text_cap = 0;
	return ok;
}

void capture_abandon(void)
{
	if (!capturing)
		return;
	give_back_stdout();
	free(text);
	text = NULL;
	text_len = text_cap = 0;
}
#endif
