/*
 * Printing one extension blob the way iptables-save does (print_match_save, print_target_save): its
 * save() prints to stdout, which the capture (capture.c) takes. print.c prints whole rules through these.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include "capture.h"
#include "xtwrap.h"

/* The capture of stdout (capture.c), failing the protected call where it fails. */
void begin_capture(void)
{
	if (!capture_start())
		fail(RESOURCE_PROBLEM, "%s", capture_error());
}

long capture_at(void)
{
	long at = capture_offset();

	if (at < 0)
		fail(OTHER_PROBLEM, "%s", capture_error());
	return at;
}

char *end_capture(size_t *len)
{
	char *text;

	if (!capture_end(&text, len))
		fail(OTHER_PROBLEM, "%s", capture_error());
	return text;
}

/* Ends the capture into out (with its NUL) when it fits; returns the text's length. */
static int copy_capture(char *out, int outlen)
{
	size_t len;
	char *text = end_capture(&len);

	if ((long)len < outlen)
		memcpy(out, text, len + 1);
	free(text);
	return (int)len;
}

/*
 * The extensions that print blobs, by name and revision: printing a large table looks the same few up
 * thousands of times, and each lookup walks libxtables' lists. libxtables never unregisters an
 * extension, so a pointer found stays good; the family is part of the key (lookups depend on it).
 */
#define PRINTER_CACHE 16
static struct printer {
	char name[XT_EXTENSION_MAXNAMELEN];
	uint8_t revision;
	int family;
	bool target;
	void *ext, *rev_ext;
} printers[PRINTER_CACHE];
static unsigned next_printer;

static struct printer *find_printer(const char *name, uint8_t revision, bool target)
{
	struct printer *p;

	for (int i = 0; i < PRINTER_CACHE; i++) {
		p = &printers[i];
		if (p->ext != NULL && p->target == target && p->revision == revision && p->family == current_family &&
		    strncmp(p->name, name, sizeof(p->name)) == 0)
			return p;
	}
	p = &printers[next_printer++ % PRINTER_CACHE];
	p->ext = NULL;
	/* A lookup may write a plugin's copy (load_plugin_copy), which the capture must not take for its own. */
	if (!capture_pause())
		fail(OTHER_PROBLEM, "%s", capture_error());
	if (target) {
		struct xtables_target *t = lookup_target(name, XTF_TRY_LOAD);

		if (t == NULL)
			fail(OTHER_PROBLEM, "Can't find library for target `%s'", name);
		p->rev_ext = xtables_find_target_revision(name, XTF_TRY_LOAD, t, revision);
		p->ext = t;
	} else {
		struct xtables_match *m = xtables_find_match(name, XTF_TRY_LOAD, NULL);

		if (m == NULL)
			fail(OTHER_PROBLEM, "Can't find library for match `%s'", name);
		p->rev_ext = xtables_find_match_revision(name, XTF_TRY_LOAD, m, revision);
		p->ext = m;
	}
	if (!capture_resume())
		fail(OTHER_PROBLEM, "%s", capture_error());
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->revision = revision;
	p->family = current_family;
	p->target = target;
	return p;
}

/*
 * Prints a match blob's parameters to stdout as iptables-save does (print_match_save) and returns the
 * name it is printed under: the alias where the extension has one (`state` for conntrack revision 3).
 * With `before`, that and the name come first.
 */
const char *save_match(const void *ip, const struct xt_entry_match *e, const char *before)
{
	struct printer *p = find_printer(e->u.user.name, e->u.user.revision, false);
	struct xtables_match *match = p->ext, *mt = p->rev_ext;
	const char *printed;

	printed = (mt != NULL ? mt : match)->alias != NULL ? (mt != NULL ? mt : match)->alias(e) : e->u.user.name;
	if (before != NULL) {
		fputs(before, stdout);
		fputs(printed, stdout);
	}
	if (mt != NULL && mt->save != NULL)
		mt->save(ip, e);
	else if (match->save != NULL)
		fputs(" [unsupported revision]", stdout);
	return printed;
}

/*
 * The target counterpart of save_match (print_target_save / the target part of print_rule); `before` is
 * followed by the stored name where the printed one is empty.
 */
const char *save_target(const void *ip, const struct xt_entry_target *e, const char *before)
{
	struct printer *p = find_printer(e->u.user.name, e->u.user.revision, true);
	struct xtables_target *target = p->ext, *tg = p->rev_ext;
	const char *printed;

	printed = (tg != NULL ? tg : target)->alias != NULL ? (tg != NULL ? tg : target)->alias(e) : e->u.user.name;
	if (before != NULL) {
		fputs(before, stdout);
		fputs(printed[0] != '\0' ? printed : e->u.user.name, stdout);
	}
	if (tg != NULL && tg->save != NULL)
		tg->save(ip, e);
	else if (target->save != NULL)
		fputs(" [unsupported revision]", stdout);
	return printed;
}

/*
 * Prints a match blob as iptables-save does: the printed name into name_out[32], the parameters text
 * into out. Returns the text length (copied when it fits) or -1.
 */
int xtw_save_match(int family, const void *ip, const void *blob, char *name_out, char *out, int outlen)
{
	int ret;

	PROTECT(-1);
	use_family(family);
	begin_capture();
	snprintf(name_out, 32, "%s", save_match(ip, blob, NULL));
	ret = copy_capture(out, outlen);
	UNPROTECT();
	return ret;
}

/* The target counterpart of xtw_save_match. */
int xtw_save_target(int family, const void *ip, const void *blob, char *name_out, char *out, int outlen)
{
	int ret;

	PROTECT(-1);
	use_family(family);
	begin_capture();
	snprintf(name_out, 32, "%s", save_target(ip, blob, NULL));
	ret = copy_capture(out, outlen);
	UNPROTECT();
	return ret;
}
