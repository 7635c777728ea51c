/*
 * Checks the shim's capture of stdout (src/xtables/native/capture.c) as extensions use it, on whatever
 * libc it is built with: test/capture.test.ts builds it with glibc (both ways) and with musl-gcc.
 *
 *   capture-check OUT ERR  fd 1 becomes the file OUT and fd 2 the file ERR; each check prints "ok NAME"
 *                          or "FAIL NAME: why" to the stderr it was started with; exits 0 when all passed.
 *
 * A fake extension prints with printf, putchar, fputs, fwrite and puts, as libxtables extensions do.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../../src/xtables/native/capture.h"

#if defined(__GLIBC__) && !defined(IPTC_PORTABLE_CAPTURE)
#define PORTABLE 0
#else
#define PORTABLE 1
#endif

static int failures;
static const char *fd_path[3];
static FILE *report;

static void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		fprintf(report, "ok %s\n", name);
		return;
	}
	failures++;
	fprintf(report, "FAIL %s: ", name);
	va_start(ap, fmt);
	vfprintf(report, fmt, ap);
	va_end(ap);
	fputc('\n', report);
}

/* What fd 1 or 2 has received so far (its file), and the file emptied. */
static char *take_fd(int which, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(fd_path[which], O_RDONLY);

	fstat(fd, &st);
	buf = calloc(1, st.st_size + 1);
	*len = read(fd, buf, st.st_size) == st.st_size ? (size_t)st.st_size : (size_t)-1;
	close(fd);
	if (ftruncate(which, 0) != 0)
		abort();
	return buf;
}

static char *take_fd1(size_t *len)
{
	return take_fd(STDOUT_FILENO, len);
}

/* An extension's save(): the ways libxtables extensions print. */
static void fake_save(int n)
{
	printf(" --dport %d", n);
	putchar(' ');
	fputs("-m comment --comment \"x\"", stdout);
	fwrite(" !", 1, 2, stdout);
	printf("%s", n % 2 ? " odd" : " even");
}

static const char *fake_expected(int n, char *buf, size_t size)
{
	snprintf(buf, size, " --dport %d -m comment --comment \"x\" !%s", n, n % 2 ? " odd" : " even");
	return buf;
}

static void exact(void)
{
	char expected[256], *text = NULL;
	size_t len = 0, fd1_len;
	long at0, at1;
	bool ok = capture_start();

	at0 = capture_offset();
	fake_save(7);
	at1 = capture_offset();
	puts("");
	ok = ok && capture_end(&text, &len);
	fake_expected(7, expected, sizeof(expected));
	strcat(expected, "\n");
	check(ok && text != NULL && strcmp(text, expected) == 0 && len == strlen(expected), "exact",
	      "got %s (%zu bytes): \"%s\", want \"%s\" (%s)", ok ? "a text" : "no text", len, text ? text : "", expected,
	      capture_error());
	check(at0 == 0 && at1 == (long)strlen(expected) - 1, "offsets", "capture_offset said %ld and %ld", at0, at1);
	free(text);
	free(take_fd1(&fd1_len));
	check(fd1_len == 0, "exact-nothing-on-fd1", "fd 1 received %zu bytes", fd1_len);
}

/* Many extensions in one capture, far more text than any buffer, looked at between them as print.c does. */
static void large(void)
{
	size_t want_len = 0, len = 0, fd1_len;
	char piece[256], *want = malloc(8 << 20), *text = NULL;
	bool ok = capture_start(), offsets = true;
	int n;

	for (n = 0; ok && want_len < (6u << 20); n++) {
		offsets = offsets && capture_offset() == (long)want_len;
		fake_save(n);
		fake_expected(n, piece, sizeof(piece));
		memcpy(want + want_len, piece, strlen(piece));
		want_len += strlen(piece);
	}
	ok = ok && capture_end(&text, &len);
	check(ok && len == want_len && memcmp(text, want, len) == 0, "large",
	      "%d extensions, %zu bytes wanted, got %s of %zu (%s)", n, want_len, ok ? "a text" : "no text", len,
	      capture_error());
	check(offsets, "large-offsets", "an offset was not the length so far");
	free(text);
	free(want);
	free(take_fd1(&fd1_len));
	check(fd1_len == 0, "large-nothing-on-fd1", "fd 1 received %zu bytes", fd1_len);
}

/* One print larger than the buffer: never a short or wrong text (on the portable path, an error). */
static void burst(void)
{
	size_t size = 3u << 20, len = 0, fd1_len;
	char *big = malloc(size + 1), *text = NULL, *leaked;
	bool ok;

	memset(big, 'b', size);
	big[size] = '\0';
	ok = capture_start();
	fputs(" head", stdout);
	capture_offset();
	fputs(big, stdout);
	fputs(" tail", stdout);
	ok = ok && capture_end(&text, &len);
	leaked = take_fd1(&fd1_len);
	if (PORTABLE)
		check(!ok && text == NULL && strstr(capture_error(), "did not stay in the capture") != NULL, "burst-refused",
		      "capture_end %s (%zu bytes; %s)", ok ? "returned a text" : "failed", len, capture_error());
	else
		check(ok && len == size + 10 && memcmp(text, " head", 5) == 0 && memcmp(text + 5 + size, " tail", 5) == 0 &&
			      fd1_len == 0,
		      "burst-whole", "got %zu bytes, fd 1 %zu", len, fd1_len);
	free(text);
	free(leaked);
	free(big);
}

/* A write to a file that is not stdout, made without capture_pause: the portable capture cannot tell it apart. */
static void writes(void)
{
	char *text = NULL;
	size_t len = 0, fd1_len;
	int fd = open("/dev/null", O_WRONLY);
	bool ok;

	ok = capture_start();
	fputs(" a", stdout);
	ok = ok && capture_pause();
	ok = ok && write(fd, "x", 1) == 1;
	ok = ok && capture_resume();
	fputs(" b", stdout);
	ok = ok && capture_end(&text, &len);
	check(ok && strcmp(text, " a b") == 0, "paused-write", "got \"%s\" (%s)", text ? text : "", capture_error());
	free(text);
	text = NULL;
	if (PORTABLE) {
		ok = capture_start();
		fputs(" a", stdout);
		ok = ok && write(fd, "x", 1) == 1;
		ok = ok && capture_end(&text, &len);
		check(!ok && text == NULL, "unpaused-write-refused", "the capture returned \"%s\"", text ? text : "");
		free(text);
	}
	close(fd);
	free(take_fd1(&fd1_len));
	check(fd1_len == 0, "writes-nothing-on-fd1", "fd 1 received %zu bytes", fd1_len);
}

/* A warning on stderr while printing (libxtables' connlabel prints one): it reaches fd 2, the text is whole. */
static void warning(void)
{
	char *text = NULL, *got;
	size_t len = 0, fd2_len;
	bool ok = capture_start();

	fputs(" a", stdout);
	fprintf(stderr, "Warning: cannot open %s\n", "connlabel.conf");
	fputs(" b", stdout);
	ok = ok && capture_end(&text, &len);
	check(ok && strcmp(text, " a b") == 0, "warning-text", "got \"%s\" (%s)", text ? text : "", capture_error());
	free(text);
	fputs("later\n", stderr);
	got = take_fd(STDERR_FILENO, &fd2_len);
	check(strcmp(got, "Warning: cannot open connlabel.conf\nlater\n") == 0, "warning-fd2", "fd 2 received \"%s\"", got);
	free(got);
}

/* stdout as a program uses it once a capture is over, or abandoned after a failure. */
static void afterwards(void)
{
	char *text = NULL, *got;
	size_t len, fd1_len;

	capture_start();
	fputs("dropped", stdout);
	capture_abandon();
	printf("plain %d\n", 1);
	fputs("more", stdout);
	putchar('\n');
	fflush(stdout);
	got = take_fd1(&fd1_len);
	check(strcmp(got, "plain 1\nmore\n") == 0, "afterwards", "fd 1 received \"%s\"", got);
	free(got);
	check(capture_start() && (fputs("again", stdout), capture_end(&text, &len)) && strcmp(text, "again") == 0,
	      "again", "a capture after those got \"%s\" (%s)", text ? text : "", capture_error());
	free(text);
	printf("last\n");
	fflush(stdout);
	got = take_fd1(&fd1_len);
	check(strcmp(got, "last\n") == 0, "afterwards-again", "fd 1 received \"%s\"", got);
	free(got);
}

static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started_cond = PTHREAD_COND_INITIALIZER;
static int started;

static void *foreign_writer(void *arg)
{
	pthread_mutex_lock(&started_lock);
	started = 1;
	pthread_cond_signal(&started_cond);
	pthread_mutex_unlock(&started_lock);
	if (arg != NULL) {
		printf("[thread stdio]");
		fflush(stdout);
	} else if (write(STDOUT_FILENO, "[thread fd1]", 12) != 12) {
		abort();
	}
	return NULL;
}

/* Another thread printing meanwhile (Node's own writes go to fd 1 directly): its bytes never enter the text. */
static void foreign(bool stdio)
{
	char *text = NULL, *got;
	size_t len = 0, fd1_len;
	pthread_t thread;
	bool ok;

	started = 0;
	ok = capture_start();
	fputs(" mine", stdout);
	pthread_create(&thread, NULL, foreign_writer, stdio ? "stdio" : NULL);
	pthread_mutex_lock(&started_lock);
	while (!started)
		pthread_cond_wait(&started_cond, &started_lock);
	pthread_mutex_unlock(&started_lock);
	usleep(50000);
	fputs(" too", stdout);
	ok = ok && capture_end(&text, &len);
	pthread_join(thread, NULL);
	got = take_fd1(&fd1_len);
	check(ok && strcmp(text, " mine too") == 0, stdio ? "foreign-stdio-text" : "foreign-fd1-text",
	      "got \"%s\" (%s)", text ? text : "", capture_error());
	check(strcmp(got, stdio ? "[thread stdio]" : "[thread fd1]") == 0, stdio ? "foreign-stdio-fd1" : "foreign-fd1-fd1",
	      "fd 1 received \"%s\"", got);
	free(text);
	free(got);
}

static void *capture_in_thread(void *unused)
{
	char *text = NULL;
	size_t len = 0;
	int fd = open("/dev/null", O_WRONLY);
	bool ok = capture_start();

	(void)unused;
	fputs(" from a worker", stdout);
	ok = ok && capture_end(&text, &len);
	check(ok && strcmp(text, " from a worker") == 0, "thread-text", "got \"%s\" (%s)", text ? text : "", capture_error());
	free(text);
	text = NULL;
	if (PORTABLE) {
		/* Its own writes are counted, not the first thread's: the count follows the thread that captures. */
		ok = capture_start();
		fputs(" x", stdout);
		ok = ok && write(fd, "x", 1) == 1;
		ok = ok && capture_end(&text, &len);
		check(!ok && text == NULL, "thread-write-refused", "the capture returned \"%s\"", text ? text : "");
		free(text);
	}
	close(fd);
	return NULL;
}

/* The layer's owner thread changes (a worker_thread takes it over): captures there work the same. */
static void other_thread(void)
{
	pthread_t thread;
	size_t fd1_len;

	pthread_create(&thread, NULL, capture_in_thread, NULL);
	pthread_join(thread, NULL);
	free(take_fd1(&fd1_len));
	check(fd1_len == 0, "thread-nothing-on-fd1", "fd 1 received %zu bytes", fd1_len);
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: capture-check OUT ERR\n");
		return 2;
	}
	report = fdopen(dup(STDERR_FILENO), "w");
	if (report == NULL)
		return 2;
	setvbuf(report, NULL, _IONBF, 0);
	for (int i = 1; i <= 2; i++) {
		fd_path[i] = argv[i];
		fd = open(fd_path[i], O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
		if (fd < 0 || dup2(fd, i) < 0)
			return 2;
		close(fd);
	}
	fprintf(report, "capture: %s\n", PORTABLE ? "portable" : "glibc");
	exact();
	large();
	burst();
	writes();
	warning();
	afterwards();
	foreign(false);
	if (PORTABLE)
		foreign(true);
	other_thread();
	fprintf(report, "%s\n", failures == 0 ? "all passed" : "some failed");
	return failures == 0 ? 0 : 1;
}
