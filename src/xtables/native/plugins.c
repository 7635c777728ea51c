/*
 * Finding extensions: libxtables' lookups for the family in use, and the per-family copies of a plugin
 * that make both families' targets available in one process.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xtables.h>
#include "capture.h"
#include "xtwrap.h"

/* Exported by libxtables.so.12 but not declared in xtables.h. */
extern struct xtables_target *xtables_pending_targets;

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

