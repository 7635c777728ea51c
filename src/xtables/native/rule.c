/*
 * A whole rule in one call. Building each extension through its own shim call costs an FFI crossing per
 * option and per final check; iptables-restore parses a whole line in C. Here JS has read the rule's
 * grammar (which word is which option of which extension) and written the entry header; this builds every
 * extension in order, as xtw_build_match / xtw_build_target with `final` would, and lays the entry out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include "xtwrap.h"
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

enum { PLAN_MATCH = 0, PLAN_TARGET = 1, PLAN_STANDARD = 2 };

/* The largest entry: its size and offsets are 16-bit. */
#define MAX_ENTRY 0xffff

/* NUL-terminated copies of the plan's words, valid for the whole call (a parser may keep a pointer). */
static char *words;
static size_t words_cap, words_used;

struct plan_reader {
	const int32_t *plan;
	int len, at;
	const char *text;
	int text_len;
};

static int32_t next(struct plan_reader *r)
{
	if (r->at >= r->len)
		fail(OTHER_PROBLEM, "iptc: malformed rule plan");
	return r->plan[r->at++];
}

static char *next_word(struct plan_reader *r)
{
	int32_t at = next(r), len = next(r);
	char *word;

	if (at < 0 || len < 0 || at > r->text_len || len > r->text_len - at || words_used + len + 1 > words_cap)
		fail(OTHER_PROBLEM, "iptc: malformed rule plan");
	word = words + words_used;
	memcpy(word, r->text + at, len);
	word[len] = '\0';
	words_used += len + 1;
	return word;
}

/* The options of one extension, each through its parser; how many values each took goes to info. */
static void parse_options(struct plan_reader *r, void *ext, bool target, const void *fw, int32_t *info, int *info_at,
			  int info_len)
{
	int nopts = next(r);
	char *values[61];

	for (int i = 0; i < nopts; i++) {
		char *option = next_word(r);
		bool invert = next(r) != 0;
		int count = next(r), taken;

		if (count < 0 || count > 60 || *info_at >= info_len)
			fail(OTHER_PROBLEM, "iptc: malformed rule plan");
		for (int k = 0; k < count; k++)
			values[k] = next_word(r);
		values[count] = NULL;
		taken = target ? target_option(ext, fw, option, values, count, invert)
			       : match_option(ext, fw, option, values, count, invert);
		info[(*info_at)++] = taken;
	}
}

static long compile(int family, const char *text, int text_len, const int32_t *plan, int plan_len, unsigned char *out,
		    int outlen, int32_t *info, int info_len)
{
	bool v6 = family == NFPROTO_IPV6;
	size_t header = v6 ? sizeof(struct ip6t_entry) : sizeof(struct ipt_entry);
	size_t target_offset_at = v6 ? offsetof(struct ip6t_entry, target_offset) : offsetof(struct ipt_entry, target_offset);
	size_t next_offset_at = v6 ? offsetof(struct ip6t_entry, next_offset) : offsetof(struct ipt_entry, next_offset);
	struct plan_reader r = { plan, plan_len, 0, text, text_len };
	size_t at = header, limit = outlen < MAX_ENTRY ? (size_t)outlen : MAX_ENTRY;
	int info_at = 0, count;
	uint16_t offset;

	if (text_len < 0 || plan_len < 1 || (size_t)outlen < header)
		fail(OTHER_PROBLEM, "iptc: malformed rule plan");
	/* Each word is at most its text plus a NUL; every word takes two plan entries. */
	if (words_cap < (size_t)text_len + (size_t)plan_len * 2) {
		free(words);
		words_cap = (size_t)text_len + (size_t)plan_len * 2;
		words = malloc(words_cap);
		if (words == NULL) {
			words_cap = 0;
			fail(RESOURCE_PROBLEM, "out of memory");
		}
	}
	words_used = 0;
	use_family(family);
	count = next(&r);
	for (int e = 0; e < count; e++) {
		int kind = next(&r);
		const char *name = next_word(&r);
		int revision = next(&r);
		const void *blob;
		size_t size;

		if (info_at + 3 > info_len)
			fail(OTHER_PROBLEM, "iptc: malformed rule plan");
		if (kind != PLAN_MATCH) {
			offset = at;
			memcpy(out + target_offset_at, &offset, 2);
		}
		if (kind == PLAN_STANDARD) {
			struct xt_standard_target standard;

			if (next(&r) != 0 || strlen(name) >= sizeof(standard.target.u.user.name))
				fail(OTHER_PROBLEM, "iptc: malformed rule plan");
			memset(&standard, 0, sizeof(standard));
			standard.target.u.target_size = sizeof(standard);
			strcpy(standard.target.u.user.name, name);
			info[info_at++] = XT_ALIGN(sizeof(int));
			info[info_at++] = 0;
			info[info_at++] = sizeof(standard);
			if (at + sizeof(standard) > limit)
				return -2;
			memcpy(out + at, &standard, sizeof(standard));
			at += sizeof(standard);
			continue;
		}
		if (kind == PLAN_MATCH) {
			struct xtables_match *m = start_match(name, revision);
			int sizes_at = info_at;

			info_at += 3;
			parse_options(&r, m, false, out, info, &info_at, info_len);
			finish_match(m, true);
			info[sizes_at] = m->userspacesize;
			info[sizes_at + 1] = m->revision;
			blob = m->m;
			size = m->m->u.match_size;
			info[sizes_at + 2] = size;
		} else {
			struct xtables_target *t = start_target(name, revision);
			int sizes_at = info_at;

			info_at += 3;
			parse_options(&r, t, true, out, info, &info_at, info_len);
			finish_target(t, true);
			info[sizes_at] = t->userspacesize;
			info[sizes_at + 1] = t->revision;
			blob = t->t;
			size = t->t->u.target_size;
			info[sizes_at + 2] = size;
		}
		if (at + size > limit) {
			release_build_state();
			return -2;
		}
		memcpy(out + at, blob, size);
		at += size;
		release_build_state();
	}
	offset = at;
	memcpy(out + next_offset_at, &offset, 2);
	return (long)at;
}

/*
 * Compiles the rule `plan` describes into `out`, whose first bytes hold the entry header (ipt_entry /
 * ip6t_entry; parsers read it as fw). The plan is int32 words, strings given as (offset, length) in
 * `text`:
 *   number of extensions (the matches in order, then the target), and for each:
 *     kind (0 match, 1 target extension, 2 standard target: a verdict, chain label or "" in `name`),
 *     name, revision (-1: the newest), number of options, and for each option:
 *       name (without dashes), invert (0/1), number of values, the values.
 * info receives, for each extension, its userspacesize, revision and size, then how many values each of
 * its options took. Returns the entry size; -1 when an extension refuses (xtw_errmsg() says why); -2 when
 * the entry would not fit in `outlen` or in an entry's 16-bit size.
 */
long xtw_compile_rule(int family, const char *text, int text_len, const int32_t *plan, int plan_len,
		      unsigned char *out, int outlen, int32_t *info, int info_len)
{
	long ret;

	PROTECT(-1);
	ret = compile(family, text, text_len, plan, plan_len, out, outlen, info, info_len);
	UNPROTECT();
	return ret;
}
