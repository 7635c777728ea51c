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
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xtables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include "capture.h"
#include "xtwrap.h"

#define XTW_ABI 5

/* Exported by libxtables.so.12 but not declared in xtables.h. */
extern struct xtables_target *xtables_pending_targets;

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
 * Per-family targets. libxtables drops a plugin's targets of the other family when it first loads the
 * plugin (xtables_register_target ignores them), and dlopen never re-runs the constructor. To give both
 * families in one process, a copy of the plugin (a memfd, so a new inode) is loaded while the wanted
 * family is current; its constructor then registers that family's targets.
 */
#define MAX_COPIES 64
static struct {
	char path[512];
	int family;
} copies[MAX_COPIES];
static int ncopies;
int current_family = NFPROTO_IPV4;

void use_family(int family)
{
	if (family != NFPROTO_IPV4 && family != NFPROTO_IPV6)
		fail(PARAMETER_PROBLEM, "unsupported family %d", family);
	xtables_set_nfproto(family);
	current_family = family;
}

static bool copy_loaded(const char *path, int family)
{
	for (int i = 0; i < ncopies; i++)
		if (copies[i].family == family && strcmp(copies[i].path, path) == 0)
			return true;
	return false;
}

static void load_plugin_copy(const char *path)
{
	char fdpath[64];
	char buf[65536];
	ssize_t n;
	int src, dst;

	if (copy_loaded(path, current_family) || ncopies == MAX_COPIES || strlen(path) >= sizeof(copies[0].path))
		return;
	snprintf(copies[ncopies].path, sizeof(copies[0].path), "%s", path);
	copies[ncopies++].family = current_family;

	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return;
	dst = memfd_create("xtables-plugin", MFD_CLOEXEC);
	if (dst < 0) {
		close(src);
		return;
	}
	while ((n = read(src, buf, sizeof(buf))) > 0)
		if (write(dst, buf, n) != n)
			break;
	close(src);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", dst);
	/*
	 * The handle and the memfd are kept for the life of the process, as libxtables keeps its plugins:
	 * dlopen() recognises a library by its path name, so a closed fd's number, reused for the next
	 * copy, would hand back the earlier copy without running the new one's constructor.
	 */
	dlopen(fdpath, RTLD_NOW);
}

/* Scans libxtables' lists directly: a failed xtables_find_target() would cache the name as "not a target". */
static struct xtables_target *listed_target(const char *name, bool other_family)
{
	struct xtables_target *lists[2] = { xtables_targets, xtables_pending_targets };

	for (int i = 0; i < 2; i++)
		for (struct xtables_target *t = lists[i]; t != NULL; t = t->next) {
			bool ours = t->family == current_family || t->family == NFPROTO_UNSPEC;
			if (strcmp(t->name, name) == 0 && ours != other_family)
				return t;
		}
	return NULL;
}

static bool family_plugin_exists(const char *dir, const char *name)
{
	char path[1024];
	const char *prefix = current_family == NFPROTO_IPV6 ? "libip6t_" : "libipt_";

	snprintf(path, sizeof(path), "%s/%s%s.so", dir, prefix, name);
	return access(path, F_OK) == 0;
}

struct xtables_target *lookup_target(const char *name, enum xtables_tryload tryload)
{
	struct xtables_target *other;
	Dl_info info;

	if (listed_target(name, false) == NULL) {
		other = listed_target(name, true);
		if (other != NULL && dladdr(other, &info) != 0 && info.dli_fname != NULL) {
			char dir[512];
			const char *slash = strrchr(info.dli_fname, '/');
			size_t len = slash != NULL ? (size_t)(slash - info.dli_fname) : 0;

			snprintf(dir, sizeof(dir), "%.*s", (int)len, info.dli_fname);
			if (!family_plugin_exists(dir, name))
				load_plugin_copy(info.dli_fname);
		}
	}
	/* MUST_SUCCEED bypasses the negative cache; the name is known to be listed. */
	if (listed_target(name, false) != NULL)
		return xtables_find_target(name, XTF_LOAD_MUST_SUCCEED);
	return xtables_find_target(name, tryload);
}

struct xtables_match *lookup_match(const char *name, int revision)
{
	struct xtables_match *m = xtables_find_match(name, XTF_LOAD_MUST_SUCCEED, NULL);

	if (revision >= 0 && m->revision != revision) {
		struct xtables_match *r = xtables_find_match_revision(name, XTF_TRY_LOAD, m, revision);
		if (r == NULL)
			fail(PARAMETER_PROBLEM, "match `%s' revision %d is not supported", name, revision);
		m = r;
	}
	return m;
}

struct xtables_target *lookup_target_revision(const char *name, int revision)
{
	struct xtables_target *t = lookup_target(name, XTF_LOAD_MUST_SUCCEED);

	if (t == NULL)
		fail(PARAMETER_PROBLEM, "Couldn't load target `%s'", name);
	if (revision >= 0 && t->revision != revision) {
		struct xtables_target *r = xtables_find_target_revision(name, XTF_TRY_LOAD, t, revision);
		if (r == NULL)
			fail(PARAMETER_PROBLEM, "target `%s' revision %d is not supported", name, revision);
		t = r;
	}
	return t;
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

/*
 * Reading a whole table in one call. Walking libiptc's chains and rules from JS costs several FFI round
 * trips per rule; here it is one call per table. The per-family libiptc functions share signatures.
 */
struct iptc_ops {
	const char *(*first_chain)(void *h);
	const char *(*next_chain)(void *h);
	const void *(*first_rule)(const char *chain, void *h);
	const void *(*next_rule)(const void *prev, void *h);
	const char *(*get_target)(const void *e, void *h);
	int (*builtin)(const char *chain, void *h);
	int (*is_chain)(const char *chain, void *h);
	const char *(*get_policy)(const char *chain, struct xt_counters *counters, void *h);
	size_t target_offset_at, next_offset_at, header_size, counters_at;
};

#define DECLARE_IPTC(p)                                                                        \
	extern const char *p##_first_chain(void *h);                                           \
	extern const char *p##_next_chain(void *h);                                            \
	extern const void *p##_first_rule(const char *chain, void *h);                         \
	extern const void *p##_next_rule(const void *prev, void *h);                           \
	extern const char *p##_get_target(const void *e, void *h);                             \
	extern int p##_builtin(const char *chain, void *h);                                    \
	extern int p##_is_chain(const char *chain, void *h);                                   \
	extern const char *p##_get_policy(const char *chain, struct xt_counters *c, void *h);     \
	extern int p##_append_entry(const char *chain, const void *e, void *h);
DECLARE_IPTC(iptc)
DECLARE_IPTC(ip6tc)

static const struct iptc_ops ops4 = { iptc_first_chain, iptc_next_chain, iptc_first_rule, iptc_next_rule,
	iptc_get_target, iptc_builtin, iptc_is_chain, iptc_get_policy, offsetof(struct ipt_entry, target_offset),
	offsetof(struct ipt_entry, next_offset), sizeof(struct ipt_entry), offsetof(struct ipt_entry, counters) };
static const struct iptc_ops ops6 = { ip6tc_first_chain, ip6tc_next_chain, ip6tc_first_rule, ip6tc_next_rule,
	ip6tc_get_target, ip6tc_builtin, ip6tc_is_chain, ip6tc_get_policy, offsetof(struct ip6t_entry, target_offset),
	offsetof(struct ip6t_entry, next_offset), sizeof(struct ip6t_entry), offsetof(struct ip6t_entry, counters) };

/*
 * The kernel writes an extension's name up to its NUL only (xt_obj_to_user), so the rest of the name
 * field holds whatever libiptc's buffer held: different in every view of the same table. Zero it, so
 * that equal rules give equal bytes.
 */
static void clear_name_padding(unsigned char *e, size_t header_size, uint16_t target_offset, uint16_t size)
{
	const size_t name_at = offsetof(struct xt_entry_match, u.user.name);
	uint16_t at = header_size, ext_size;

	while (at + sizeof(struct xt_entry_match) <= size) {
		unsigned char *name = e + at + name_at;
		size_t len = strnlen((const char *)name, XT_EXTENSION_MAXNAMELEN);

		memset(name + len, 0, XT_EXTENSION_MAXNAMELEN - len);
		memcpy(&ext_size, e + at, 2);
		if (at == target_offset || ext_size < sizeof(struct xt_entry_match))
			break;
		at = at + ext_size > target_offset ? target_offset : at + ext_size;
	}
}

/* A rule's flag byte in a dump: bit 0 a standard target, DUMP_MALFORMED an entry whose sizes do not hold together. */
#define DUMP_MALFORMED 2

/*
 * Whether an entry's offsets and sizes hold together, as JS's checkEntry asks (each match at least an
 * extension header and inside the matches, the target after them), so that walking it ends: every rule
 * of a dump is checked here once, not by JS rule by rule.
 */
static bool entry_holds_together(const unsigned char *e, size_t header, uint16_t target_offset, uint16_t size)
{
	const size_t ext = sizeof(struct xt_entry_match);
	uint16_t ext_size;

	if (size < header + ext || target_offset < header || size < (size_t)target_offset + ext)
		return false;
	for (size_t at = header; at < target_offset; at += ext_size) {
		memcpy(&ext_size, e + at, 2);
		if (ext_size < ext || at + ext_size > target_offset)
			return false;
	}
	memcpy(&ext_size, e + target_offset, 2);
	return ext_size >= ext && (size_t)target_offset + ext_size <= size;
}

struct writer {
	unsigned char *out;
	size_t len, cap;
};

static void put(struct writer *w, const void *data, size_t n)
{
	if (w->len + n <= w->cap)
		memcpy(w->out + w->len, data, n);
	w->len += n;
}

static void put_u8(struct writer *w, unsigned v) { unsigned char b = v; put(w, &b, 1); }
static void put_u16(struct writer *w, unsigned v) { uint16_t b = v; put(w, &b, 2); }
static void put_u32(struct writer *w, unsigned v) { uint32_t b = v; put(w, &b, 4); }
static void put_u64(struct writer *w, uint64_t v) { put(w, &v, 8); }
static void put_str(struct writer *w, const char *s) { size_t n = strlen(s); put_u8(w, n); put(w, s, n); }

/* One rule as the dumps below write it: u8 standard, str label, u16 size, the entry bytes. */
static void put_rule(struct writer *w, const struct iptc_ops *o, void *h, const unsigned char *e, bool with_counters)
{
	uint16_t target_offset, size;
	const char *label = o->get_target(e, h);
	int standard;

	memcpy(&target_offset, e + o->target_offset_at, 2);
	memcpy(&size, e + o->next_offset_at, 2);
	if (label == NULL)
		label = "";
	if (!entry_holds_together(e, o->header_size, target_offset, size))
		standard = DUMP_MALFORMED;
	else
		standard = e[target_offset + 2] == '\0' || strcmp(label, "ACCEPT") == 0 || strcmp(label, "DROP") == 0 ||
			   strcmp(label, "QUEUE") == 0 || strcmp(label, "RETURN") == 0 || o->is_chain(label, h) != 0;
	put_u8(w, standard);
	put_str(w, label);
	put_u16(w, size);
	put(w, e, size);
	if (w->len <= w->cap) {
		unsigned char *copy = w->out + w->len - size;

		clear_name_padding(copy, o->header_size, target_offset, size);
		if (!with_counters)
			memset(copy + o->counters_at, 0, sizeof(struct xt_counters));
	}
}

/*
 * Serialises every chain of a libiptc handle into out (little-endian):
 *   per chain: u8 builtin, str name, str policy ("" for user chains), u64 packets, u64 bytes, u32 rules;
 *   per rule:  u8 flags, str label, u16 size, the entry bytes.
 * Flag bit 0 marks a verdict, jump or fall-through (the kernel names such targets "", while an entry
 * added in this handle still carries its label until commit); DUMP_MALFORMED an entry that does not hold
 * together (see entry_holds_together). Returns the bytes needed; they were
 * written when they fit in outlen.
 */
static long dump_table(int family, void *h, unsigned char *out, long outlen, bool with_counters)
{
	const struct iptc_ops *o = family == NFPROTO_IPV6 ? &ops6 : &ops4;
	struct writer w = { out, 0, (size_t)outlen };

	for (const char *chain = o->first_chain(h); chain != NULL; chain = o->next_chain(h)) {
		struct xt_counters counters = { 0, 0 };
		const char *policy = NULL;
		size_t count_at;
		uint32_t count = 0;
		int builtin = o->builtin(chain, h) != 0;

		if (builtin)
			policy = o->get_policy(chain, &counters, h);
		if (!with_counters)
			counters.pcnt = counters.bcnt = 0;
		put_u8(&w, builtin);
		put_str(&w, chain);
		put_str(&w, policy != NULL ? policy : "");
		put_u64(&w, counters.pcnt);
		put_u64(&w, counters.bcnt);
		count_at = w.len;
		put_u32(&w, 0);
		for (const unsigned char *e = o->first_rule(chain, h); e != NULL; e = o->next_rule(e, h)) {
			put_rule(&w, o, h, e, with_counters);
			count++;
		}
		if (count_at + 4 <= w.cap)
			memcpy(w.out + count_at, &count, 4);
	}
	return (long)w.len;
}

long xtw_dump_table(int family, void *h, unsigned char *out, long outlen)
{
	return dump_table(family, h, out, outlen, true);
}

/*
 * The same without any counter: two views of a table compare equal this way exactly when their chains,
 * policies and rules are the same, whatever traffic counted in between.
 */
long xtw_dump_rules(int family, void *h, unsigned char *out, long outlen)
{
	return dump_table(family, h, out, outlen, false);
}

/*
 * Rules [from, from + count) of one chain, with counters, each as xtw_dump_table writes a rule: what a
 * change by position needs to see (or find again) without copying the whole table. Returns the bytes
 * needed, or -1 when the handle has no such chain.
 */
long xtw_dump_chain(int family, void *h, const char *chain, unsigned int from, unsigned int count, unsigned char *out,
		    long outlen)
{
	const struct iptc_ops *o = family == NFPROTO_IPV6 ? &ops6 : &ops4;
	struct writer w = { out, 0, (size_t)outlen };
	unsigned int index = 0;

	if (!o->is_chain(chain, h))
		return -1;
	for (const unsigned char *e = o->first_rule(chain, h); e != NULL; e = o->next_rule(e, h), index++) {
		if (index < from)
			continue;
		if (index - from >= count)
			break;
		put_rule(&w, o, h, e, true);
	}
	return (long)w.len;
}

/*
 * Appends the entries packed back to back in `entries` (each next_offset long, so each stays aligned) to
 * `chain`, in order: one call where a restore would make one per rule. Returns how many were appended;
 * fewer than `count` means the next one failed, with libiptc's errno.
 */
int xtw_append_entries(int family, void *h, const char *chain, const unsigned char *entries, int count)
{
	bool v6 = family == NFPROTO_IPV6;
	size_t next_at = v6 ? offsetof(struct ip6t_entry, next_offset) : offsetof(struct ipt_entry, next_offset);
	size_t at = 0;

	for (int i = 0; i < count; i++) {
		uint16_t size;
		int ok = v6 ? ip6tc_append_entry(chain, entries + at, h) : iptc_append_entry(chain, entries + at, h);

		if (!ok)
			return i;
		memcpy(&size, entries + at + next_at, 2);
		at += size;
	}
	return count;
}
