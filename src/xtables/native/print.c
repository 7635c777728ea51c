/*
 * Printing many rules in one call. Printing each extension through its own shim call costs an FFI
 * crossing and a memstream per extension; iptables-save prints a whole table to one stdout. Here the
 * rules of a table read with xtw_dump_table are printed after their header fields (which JS prints) the
 * way iptables-save prints them, into one buffer, with where each extension's name and text are.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include "xtwrap.h"
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

enum { RULE_NOT_PRINTED = 1 };

/* Fixed span words per rule (start, end, flags, number of extensions) and per extension. */
#define RULE_SPAN 4
#define EXTENSION_SPAN 4

struct layout {
	size_t header, target_offset_at, next_offset_at, flags_at;
	unsigned goto_flag;
};

static const struct layout layout4 = { sizeof(struct ipt_entry), offsetof(struct ipt_entry, target_offset),
	offsetof(struct ipt_entry, next_offset), offsetof(struct ipt_entry, ip.flags), IPT_F_GOTO };
static const struct layout layout6 = { sizeof(struct ip6t_entry), offsetof(struct ip6t_entry, target_offset),
	offsetof(struct ip6t_entry, next_offset), offsetof(struct ip6t_entry, ipv6.flags), IP6T_F_GOTO };

static bool named(const void *blob, const char *name)
{
	return strncmp(((const struct xt_entry_match *)blob)->u.user.name, name, XT_EXTENSION_MAXNAMELEN) == 0;
}

static bool ascii(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x80)
			return false;
	return true;
}

/*
 * Whether the entry's sizes hold together (as JS's checkEntry asks), whether an extension in it prints
 * kernel state (`set` and `SET` print an ipset's name by its index: printed ahead, the text could name a
 * set since replaced), and how many extensions it has.
 */
static bool printable(const unsigned char *e, uint16_t size, const struct layout *l, int *extensions)
{
	uint16_t target_offset, ext_size;
	size_t at;

	if (size < l->header + sizeof(struct xt_entry_target))
		return false;
	memcpy(&target_offset, e + l->target_offset_at, 2);
	if (target_offset < l->header || (size_t)target_offset + sizeof(struct xt_entry_target) > size)
		return false;
	*extensions = 0;
	for (at = l->header; at < target_offset; at += ext_size) {
		memcpy(&ext_size, e + at, 2);
		if (ext_size < sizeof(struct xt_entry_match) || at + ext_size > target_offset || named(e + at, "set"))
			return false;
		(*extensions)++;
	}
	memcpy(&ext_size, e + target_offset, 2);
	if (ext_size < sizeof(struct xt_entry_target) || (size_t)target_offset + ext_size > size || named(e + target_offset, "SET"))
		return false;
	return true;
}

/* Where an extension printed after `before` has its name and its text, from where it started. */
static void extension_span(int32_t *span, long start, const char *before, const char *name)
{
	span[0] = start + strlen(before);
	span[1] = span[0] + strlen(name);
	span[2] = span[1];
	span[3] = ftell(stdout);
}

/*
 * Prints `count` rules of `dump` (xtw_dump_table's format) from byte `at`: each match as ` -m NAME` and
 * its save() output, the target as ` -j NAME` and its output, ` -j LABEL` / ` -g LABEL` for a verdict or a
 * chain, nothing for a fall-through. spans receives per rule its start and end in the text, flags
 * (RULE_NOT_PRINTED: a rule printed by JS instead, see printable()), its number of extensions, then for
 * each (the matches, then a target extension) where its name and its text start and end. Stops early
 * when spans is full. result[0] receives the bytes of text (copied to `out` when they fit), result[1] the
 * dump offset after the last rule printed. Returns the number of rules printed, -1 when an extension
 * could not print (xtw_errmsg() says why), or -2 when the text did not fit in `out`.
 */
static int print_rules(int family, const unsigned char *dump, long dump_len, long at, int count, char *out,
		       long outlen, int32_t *spans, int spans_len, double *result)
{
	const struct layout *l = family == NFPROTO_IPV6 ? &layout6 : &layout4;
	int done = 0, used = 0;
	long len;

	use_family(family);
	begin_capture();
	for (; done < count; done++) {
		const unsigned char *e;
		unsigned char standard, label_len;
		const char *label;
		uint16_t size, target_offset, ext_size;
		int32_t *span = spans + used;
		int extensions = 0;
		bool ok;

		if (at + 2 > dump_len)
			break;
		standard = dump[at] & 1;
		label_len = dump[at + 1];
		label = (const char *)dump + at + 2;
		if (at + 4 + label_len > dump_len)
			break;
		memcpy(&size, dump + at + 2 + label_len, 2);
		e = dump + at + 4 + label_len;
		if (at + 4 + label_len + size > dump_len)
			break;
		ok = printable(e, size, l, &extensions) && ascii((const unsigned char *)label, label_len);
		if (used + RULE_SPAN + (ok ? extensions + !standard : 0) * EXTENSION_SPAN > spans_len)
			break;
		at += 4 + label_len + size;
		span[0] = span[1] = ftell(stdout);
		span[2] = ok ? 0 : RULE_NOT_PRINTED;
		span[3] = 0;
		used += RULE_SPAN;
		if (!ok)
			continue;
		memcpy(&target_offset, e + l->target_offset_at, 2);
		for (size_t m = l->header; m < target_offset; m += ext_size) {
			long start = ftell(stdout);
			const char *name = save_match(e, (const void *)(e + m), " -m ");

			memcpy(&ext_size, e + m, 2);
			extension_span(spans + used, start, " -m ", name);
			used += EXTENSION_SPAN;
			span[3]++;
		}
		if (!standard) {
			const struct xt_entry_target *target = (const void *)(e + target_offset);
			long start = ftell(stdout);
			const char *name = save_target(e, target, " -j ");

			extension_span(spans + used, start, " -j ", name[0] != '\0' ? name : target->u.user.name);
			used += EXTENSION_SPAN;
			span[3]++;
		} else if (label_len > 0) {
			fputs(e[l->flags_at] & l->goto_flag ? " -g " : " -j ", stdout);
			fwrite(label, 1, label_len, stdout);
		}
		span[1] = ftell(stdout);
	}
	close_capture();
	len = (long)capture_len;
	result[0] = (double)len;
	result[1] = (double)at;
	if (len <= outlen)
		memcpy(out, capture_buf, len);
	free(capture_buf);
	capture_buf = NULL;
	return len <= outlen ? done : -2;
}

int xtw_print_rules(int family, const unsigned char *dump, long dump_len, long at, int count, char *out,
		    long outlen, int32_t *spans, int spans_len, double *result)
{
	int ret;

	PROTECT(-1);
	ret = print_rules(family, dump, dump_len, at, count, out, outlen, spans, spans_len, result);
	UNPROTECT();
	return ret;
}
