/*
 * xtwrap: the small C shim between iptc (koffi) and libxtables.
 *
 * Why C at all: libxtables reports a bad parameter through xt_params->exit_err, which must never return.
 * Only a C frame can catch it (sigsetjmp here, siglongjmp from xtw_exit_err) without unwinding koffi or
 * V8 frames. Extensions also print their saved parameters with printf(), which only C can capture safely
 * (capture.c; fd 1 is never touched).
 *
 * Every exported function is "protected": it takes the jump point, runs libxtables, and returns -1 (or
 * NULL) with xtw_errmsg() set when an extension called exit_err. All calls must come from one thread
 * (calls from any other thread are refused, see owner_thread());
 * nested protected calls are refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xtables.h>
#include "capture.h"
#include "xtwrap.h"

#define XTW_ABI 5

sigjmp_buf jump_point;
bool protected_call;
char errmsg[2048];
int errstatus;

/*
 * The owner thread. libxtables' state (xt_params, afinfo, the extension lists, each extension's m/t,
 * flags and udata) and this shim's jump point and buffers are process-wide, while worker_threads run
 * JS in parallel in the same process. So one thread owns the layer: the first to call in (xtw_setup).
 * Any other thread is refused before it touches shared state; it gets a thread-local flag, never the
 * shared errmsg. An owner that has exited hands over to the next caller (it can no longer be inside a
 * call: V8 only stops a thread while it runs JS).
 */
#define XTW_WRONG_THREAD 100
#define WRONG_THREAD_MSG "iptc's xtables layer is in use by another thread; use it from one thread"
static pid_t owner_tid;
static __thread pid_t my_tid;
__thread bool refused;

/*
 * An owner thread gives the layer up as it exits (a thread-specific key's destructor runs in the exiting
 * thread), so the thread that joins it, such as the main thread on a Worker's 'exit', can take over at
 * once. The kernel keeps an exiting thread findable for a moment after that join, so the tgkill test
 * alone would refuse it then; that test remains for a thread that ended without running destructors.
 */
static pthread_key_t owner_key;
static pthread_once_t owner_key_once = PTHREAD_ONCE_INIT;

static void release_owner(void *unused)
{
	pid_t me = my_tid;

	(void)unused;
	__atomic_compare_exchange_n(&owner_tid, &me, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void make_owner_key(void)
{
	pthread_key_create(&owner_key, release_owner);
}

static bool claim(pid_t *owner)
{
	if (!__atomic_compare_exchange_n(&owner_tid, owner, my_tid, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	pthread_once(&owner_key_once, make_owner_key);
	pthread_setspecific(owner_key, &owner_tid);
	return true;
}

bool owner_thread(void)
{
	pid_t owner;

	if (my_tid == 0)
		my_tid = (pid_t)syscall(SYS_gettid);
	owner = __atomic_load_n(&owner_tid, __ATOMIC_ACQUIRE);
	for (;;) {
		if (owner == my_tid)
			return true;
		if (owner != 0 && !(syscall(SYS_tgkill, getpid(), owner, 0) < 0 && errno == ESRCH))
			return false;
		if (claim(&owner))
			return true;
	}
}

/*
 * The udata of the last target built, which some targets' parsers fill beside the blob: NFLOG keeps the
 * whole --nflog-prefix there (127 characters, the blob holds 63), and iptables-nft writes that one.
 */
static unsigned char last_udata[256];
static int last_udata_len;

/* What a failed call must release: the blob under construction and the capture of stdout. */
struct xtables_match *building_match;
struct xtables_target *building_target;

static void __attribute__((noreturn, format(printf, 2, 3)))
xtw_exit_err(enum xtables_exittype status, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	n = strlen(errmsg);
	while (n > 0 && (errmsg[n - 1] == '\n' || errmsg[n - 1] == ' '))
		errmsg[--n] = '\0';
	errstatus = status;
	if (!protected_call) {
		fprintf(stderr, "iptc: libxtables reported an error outside a protected call: %s\n", errmsg);
		abort();
	}
	siglongjmp(jump_point, 1);
}

static struct option no_options[] = { { NULL, 0, NULL, 0 } };

/*
 * How libxtables learns which revision of an extension the kernel has. By default the legacy
 * getsockopt(IPT_SO_GET_REVISION_*), which needs ip_tables in the kernel (and modprobes it); the
 * nf_tables backend installs a probe that asks nft_compat instead (xtw_set_revision_probe).
 */
typedef int (*xtw_revision_probe)(const char *name, int revision, int opt);
static xtw_revision_probe revision_probe;

static int compatible_revision(const char *name, uint8_t revision, int opt)
{
	if (revision_probe != NULL)
		return revision_probe(name, revision, opt);
	return xtables_compatible_revision(name, revision, opt);
}

/* Installs `probe` as libxtables' revision check (NULL: the legacy getsockopt again). */
void xtw_set_revision_probe(xtw_revision_probe probe)
{
	revision_probe = probe;
}

static struct xtables_globals globals = {
	.option_offset = 0,
	.program_name = "iptables",
	.program_version = "iptc",
	.orig_opts = no_options,
	.opts = no_options,
	.exit_err = xtw_exit_err,
	.compat_rev = compatible_revision,
};

void fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	errstatus = status;
	siglongjmp(jump_point, 1);
}

void release_build_state(void)
{
	if (building_match != NULL) {
		free(building_match->m);
		building_match->m = NULL;
		building_match->mflags = 0;
		free(building_match->udata);
		building_match->udata = NULL;
		building_match = NULL;
	}
	if (building_target != NULL) {
		free(building_target->t);
		building_target->t = NULL;
		building_target->tflags = 0;
		free(building_target->udata);
		building_target->udata = NULL;
		building_target = NULL;
	}
	capture_abandon();
}

int xtw_abi(void) { return XTW_ABI; }
const char *xtw_errmsg(void) { return refused ? WRONG_THREAD_MSG : errmsg; }
int xtw_errstatus(void) { return refused ? XTW_WRONG_THREAD : errstatus; }

/* 0 when the calling thread owns the layer (claiming it if free), else -1 (xtw_errmsg() says why). */
int xtw_owner(void)
{
	refused = !owner_thread();
	return refused ? -1 : 0;
}

int xtw_setup(void)
{
	int ret;

	PROTECT(-1);
	ret = xtables_init_all(&globals, NFPROTO_IPV4);
	UNPROTECT();
	if (ret < 0) {
		snprintf(errmsg, sizeof(errmsg), "xtables_init_all failed");
		return -1;
	}
	return 0;
}

/*
 * Finds an option of an extension as getopt_long would: an exact name, or else an unambiguous prefix.
 * Returns the getopt code the extension's parser expects (option_offset stays 0) and whether it takes
 * an argument.
 */
static bool find_option(const char *ext, const struct xt_option_entry *x6, const struct option *old,
			const char *name, unsigned int *code, int *has_arg)
{
	size_t len = strlen(name);
	int found = 0;

	if (x6 != NULL) {
		for (const struct xt_option_entry *e = x6; e->name != NULL; e++)
			if (strcmp(e->name, name) == 0) {
				*code = e->id;
				*has_arg = e->type != XTTYPE_NONE ? required_argument : no_argument;
				return true;
			}
		for (const struct xt_option_entry *e = x6; e->name != NULL; e++)
			if (strncmp(e->name, name, len) == 0 && (found == 0 || *code != e->id)) {
				*code = e->id;
				*has_arg = e->type != XTTYPE_NONE ? required_argument : no_argument;
				found++;
			}
	} else if (old != NULL) {
		for (const struct option *o = old; o->name != NULL; o++)
			if (strcmp(o->name, name) == 0) {
				*code = o->val;
				*has_arg = o->has_arg;
				return true;
			}
		for (const struct option *o = old; o->name != NULL; o++)
			if (strncmp(o->name, name, len) == 0 && (found == 0 || *code != (unsigned int)o->val)) {
				*code = o->val;
				*has_arg = o->has_arg;
				found++;
			}
	}
	if (found > 1)
		fail(PARAMETER_PROBLEM, "%s: option \"--%s\" is ambiguous", ext, name);
	if (found == 0)
		fail(PARAMETER_PROBLEM, "%s: unknown option \"--%s\"", ext, name);
	return true;
}

/*
 * The argv an extension's parser sees for one option, as getopt_long would leave it: `--name` and the
 * values, a required argument in optarg and optind after it; otherwise no optarg and optind on the next
 * word, which some parsers read themselves (rateest). Old-style parsers read further words from argv
 * (`--tcp-flags MASK COMP`): how many values a parser took is optind - 1 afterwards.
 */
struct option_call {
	char *argv[64];
	unsigned int code;
};

static void prepare_option(const char *ext, const struct xt_option_entry *x6, const struct option *old,
			   const char *name, char **values, int count, struct option_call *call)
{
	static char optname[256];
	int has_arg;

	if (count < 0 || count > 60)
		fail(PARAMETER_PROBLEM, "%s: too many values for \"--%s\"", ext, name);
	find_option(ext, x6, old, name, &call->code, &has_arg);
	if (has_arg == required_argument && count == 0)
		fail(PARAMETER_PROBLEM, "%s: option \"--%s\" requires an argument", ext, name);
	snprintf(optname, sizeof(optname), "--%s", name);
	call->argv[0] = optname;
	for (int i = 0; i < count; i++)
		call->argv[i + 1] = values[i];
	call->argv[count + 1] = NULL;
	optarg = has_arg == required_argument ? call->argv[1] : NULL;
	optind = has_arg == required_argument ? 2 : 1;
}

/* iptables' command_match: the match's blob allocated and initialised, ready for its options. */
struct xtables_match *start_match(const char *name, int revision)
{
	struct xtables_match *m = lookup_match(name, revision);
	size_t size = XT_ALIGN(sizeof(struct xt_entry_match)) + m->size;

	building_match = m;
	m->m = xtables_calloc(1, size);
	m->m->u.match_size = size;
	snprintf(m->m->u.user.name, sizeof(m->m->u.user.name), "%s", m->real_name != NULL ? m->real_name : m->name);
	m->m->u.user.revision = m->revision;
	m->mflags = 0;
	if (m->udata_size != 0) {
		free(m->udata);
		m->udata = xtables_calloc(1, m->udata_size);
	}
	if (m->init != NULL)
		m->init(m->m);
	return m;
}

/* One option through the match's parser; returns how many values it took. */
int match_option(struct xtables_match *m, const void *fw, const char *option, char **values, int count, bool invert)
{
	struct option_call call;

	prepare_option(m->name, m->x6_parse != NULL ? m->x6_options : NULL, m->extra_opts, option, values, count, &call);
	xtables_option_mpcall(call.code, call.argv, invert, m, (void *)fw);
	return optind - 1;
}

void finish_match(struct xtables_match *m, bool final)
{
	if (final)
		xtables_option_mfcall(m);
}

/* iptables' command_jump for a target extension. */
struct xtables_target *start_target(const char *name, int revision)
{
	struct xtables_target *t = lookup_target_revision(name, revision);
	size_t size = XT_ALIGN(sizeof(struct xt_entry_target)) + t->size;

	building_target = t;
	t->t = xtables_calloc(1, size);
	t->t->u.target_size = size;
	snprintf(t->t->u.user.name, sizeof(t->t->u.user.name), "%s", t->real_name != NULL ? t->real_name : name);
	t->t->u.user.revision = t->revision;
	t->tflags = 0;
	if (t->udata_size != 0) {
		free(t->udata);
		t->udata = xtables_calloc(1, t->udata_size);
	}
	if (t->init != NULL)
		t->init(t->t);
	return t;
}

int target_option(struct xtables_target *t, const void *fw, const char *option, char **values, int count,
		  bool invert)
{
	struct option_call call;

	prepare_option(t->name, t->x6_parse != NULL ? t->x6_options : NULL, t->extra_opts, option, values, count, &call);
	xtables_option_tpcall(call.code, call.argv, invert, t, (void *)fw);
	return optind - 1;
}

void finish_target(struct xtables_target *t, bool final)
{
	if (final)
		xtables_option_tfcall(t);
}

static int copy_out(const void *blob, size_t size, void *out, int outlen)
{
	if (size <= (size_t)outlen)
		memcpy(out, blob, size);
	return (int)size;
}

/*
 * Builds an xt_entry_match blob for `name` from options, as iptables' command_match + option parsing
 * would. `fw` is the rule's entry header (ipt_entry/ip6t_entry), which some parsers inspect. Options
 * arrive flattened: for option i, words[pos] is its name (no dashes) followed by counts[i] values;
 * inverts[i] says whether a `!` preceded it. With `final`, the extension's final check runs too.
 * Returns the blob size (copied to out when it fits) or -1. info[0] receives userspacesize (for delete
 * masks), info[1] the revision used; consumed[i] how many values option i's parser took.
 */
static int build_match(int family, const char *name, int revision, const void *fw, int nopts, const char **words,
		       const int *counts, const unsigned char *inverts, int final, void *out, int outlen, int *info,
		       int *consumed)
{
	struct xtables_match *m;
	int pos = 0, ret;

	use_family(family);
	m = start_match(name, revision);
	for (int i = 0; i < nopts; i++) {
		consumed[i] = match_option(m, fw, words[pos], (char **)words + pos + 1, counts[i], inverts[i] != 0);
		pos += counts[i] + 1;
	}
	finish_match(m, final);
	info[0] = (int)m->userspacesize;
	info[1] = m->revision;
	ret = copy_out(m->m, m->m->u.match_size, out, outlen);
	release_build_state();
	return ret;
}

int xtw_build_match(int family, const char *name, int revision, const void *fw, int nopts, const char **words,
		    const int *counts, const unsigned char *inverts, int final, void *out, int outlen, int *info,
		    int *consumed)
{
	int ret;

	PROTECT(-1);
	ret = build_match(family, name, revision, fw, nopts, words, counts, inverts, final, out, outlen, info, consumed);
	UNPROTECT();
	return ret;
}

static int build_target(int family, const char *name, int revision, const void *fw, int nopts, const char **words,
			const int *counts, const unsigned char *inverts, int final, void *out, int outlen, int *info,
			int *consumed)
{
	struct xtables_target *t;
	int pos = 0, ret;

	use_family(family);
	t = start_target(name, revision);
	for (int i = 0; i < nopts; i++) {
		consumed[i] = target_option(t, fw, words[pos], (char **)words + pos + 1, counts[i], inverts[i] != 0);
		pos += counts[i] + 1;
	}
	finish_target(t, final);
	info[0] = (int)t->userspacesize;
	info[1] = t->revision;
	last_udata_len = 0;
	if (t->udata != NULL && t->udata_size != 0 && t->udata_size <= sizeof(last_udata)) {
		memcpy(last_udata, t->udata, t->udata_size);
		last_udata_len = (int)t->udata_size;
	}
	ret = copy_out(t->t, t->t->u.target_size, out, outlen);
	release_build_state();
	return ret;
}

/* The target counterpart of xtw_build_match (iptables' command_jump). */
int xtw_build_target(int family, const char *name, int revision, const void *fw, int nopts, const char **words,
		     const int *counts, const unsigned char *inverts, int final, void *out, int outlen, int *info,
		     int *consumed)
{
	int ret;

	PROTECT(-1);
	ret = build_target(family, name, revision, fw, nopts, words, counts, inverts, final, out, outlen, info, consumed);
	UNPROTECT();
	return ret;
}

/* Copies the udata of the last target xtw_build_target built into out; returns its size (0: none). */
int xtw_last_target_udata(void *out, int outlen)
{
	if (!owner_thread())
		return -1;
	if (last_udata_len > 0 && last_udata_len <= outlen)
		memcpy(out, last_udata, last_udata_len);
	return last_udata_len;
}

/*
 * Tells whether `name` is a target extension for `family` (1) or not (0, e.g. a user chain name).
 * Loads the plugin if needed.
 */
int xtw_is_target(int family, const char *name)
{
	struct xtables_target *t;

	PROTECT(-1);
	use_family(family);
	t = lookup_target(name, XTF_TRY_LOAD);
	UNPROTECT();
	return t != NULL;
}

/* Loads the kernel module for a family's tables (ip_tables / ip6_tables), as iptables does. */
int xtw_load_kernel_module(int family)
{
	int ret;

	PROTECT(-1);
	use_family(family);
	ret = xtables_load_ko(xtables_modprobe_program, false);
	UNPROTECT();
	return ret;
}

/* userspacesize of an extension revision (the bytes a delete by specification compares), or -1. */
int xtw_userspacesize(int is_target, int family, const char *name, int revision)
{
	int ret;

	PROTECT(-1);
	use_family(family);
	if (is_target)
		ret = (int)lookup_target_revision(name, revision)->userspacesize;
	else
		ret = (int)lookup_match(name, revision)->userspacesize;
	UNPROTECT();
	return ret;
}

/*
 * Lists an extension's options as getopt sees them, one "name has_arg code" line each (has_arg: 0 none,
 * 1 required, 2 optional; code: what the parser is called with, shared by an option's aliases), so that
 * rule text can be split the way iptables' getopt_long splits it.
 * Returns the text length (copied when it fits) or -1.
 */
int xtw_options(int is_target, int family, const char *name, int revision, char *out, int outlen)
{
	const struct xt_option_entry *x6;
	const struct option *old;
	char *buf = NULL;
	size_t len = 0;
	FILE *text;
	int ret;

	PROTECT(-1);
	use_family(family);
	if (is_target) {
		struct xtables_target *t = lookup_target_revision(name, revision);
		x6 = t->x6_parse != NULL ? t->x6_options : NULL;
		old = t->extra_opts;
	} else {
		struct xtables_match *m = lookup_match(name, revision);
		x6 = m->x6_parse != NULL ? m->x6_options : NULL;
		old = m->extra_opts;
	}
	text = open_memstream(&buf, &len);
	if (text == NULL)
		fail(RESOURCE_PROBLEM, "open_memstream: %s", strerror(errno));
	if (x6 != NULL) {
		for (const struct xt_option_entry *e = x6; e->name != NULL; e++)
			fprintf(text, "%s %d %u\n", e->name, e->type == XTTYPE_NONE ? 0 : 1, e->id);
	} else if (old != NULL) {
		for (const struct option *o = old; o->name != NULL; o++)
			fprintf(text, "%s %d %d\n", o->name, o->has_arg, o->val);
	}
	fclose(text);
	ret = (int)len;
	if (ret < outlen)
		memcpy(out, buf, len + 1);
	free(buf);
	UNPROTECT();
	return ret;
}
