/*
 * A libiptc table dumped into one buffer, and runs of entries appended in one call: walking libiptc's
 * chains and rules from JS costs several FFI round trips per rule, here it is one call per table.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <xtables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include "xtwrap.h"

/* The per-family libiptc functions share signatures. */
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
void dump_clear_name_padding(unsigned char *e, size_t header_size, uint16_t target_offset, uint16_t size)
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

/*
 * Whether an entry's offsets and sizes hold together, as JS's checkEntry asks (each match at least an
 * extension header and inside the matches, the target after them), so that walking it ends: every rule
 * of a dump is checked here once, not by JS rule by rule.
 */
bool dump_entry_holds_together(const unsigned char *e, size_t header, uint16_t target_offset, uint16_t size)
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

void dump_put(struct dump_writer *w, const void *data, size_t n)
{
	if (w->len + n <= w->cap)
		memcpy(w->out + w->len, data, n);
	w->len += n;
}

void dump_put_u8(struct dump_writer *w, unsigned v) { unsigned char b = v; dump_put(w, &b, 1); }
void dump_put_u16(struct dump_writer *w, unsigned v) { uint16_t b = v; dump_put(w, &b, 2); }
void dump_put_u32(struct dump_writer *w, unsigned v) { uint32_t b = v; dump_put(w, &b, 4); }
void dump_put_u64(struct dump_writer *w, uint64_t v) { dump_put(w, &v, 8); }
static void put_str(struct dump_writer *w, const char *s) { size_t n = strlen(s); dump_put_u8(w, n); dump_put(w, s, n); }

/* One rule as the dumps below write it: u8 standard, str label, u16 size, the entry bytes. */
static void put_rule(struct dump_writer *w, const struct iptc_ops *o, void *h, const unsigned char *e, bool with_counters)
{
	uint16_t target_offset, size;
	const char *label = o->get_target(e, h);
	int standard;

	memcpy(&target_offset, e + o->target_offset_at, 2);
	memcpy(&size, e + o->next_offset_at, 2);
	if (label == NULL)
		label = "";
	if (!dump_entry_holds_together(e, o->header_size, target_offset, size))
		standard = DUMP_MALFORMED;
	else
		standard = e[target_offset + 2] == '\0' || strcmp(label, "ACCEPT") == 0 || strcmp(label, "DROP") == 0 ||
			   strcmp(label, "QUEUE") == 0 || strcmp(label, "RETURN") == 0 || o->is_chain(label, h) != 0;
	dump_put_u8(w, standard);
	put_str(w, label);
	dump_put_u16(w, size);
	dump_put(w, e, size);
	if (w->len <= w->cap) {
		unsigned char *copy = w->out + w->len - size;

		dump_clear_name_padding(copy, o->header_size, target_offset, size);
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
	struct dump_writer w = { out, 0, (size_t)outlen };

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
		dump_put_u8(&w, builtin);
		put_str(&w, chain);
		put_str(&w, policy != NULL ? policy : "");
		dump_put_u64(&w, counters.pcnt);
		dump_put_u64(&w, counters.bcnt);
		count_at = w.len;
		dump_put_u32(&w, 0);
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
	struct dump_writer w = { out, 0, (size_t)outlen };
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

/* libiptc's append for the family; its errno says why where it refuses. */
static int append_entry(int family, void *h, const char *chain, const unsigned char *entry)
{
	return family == NFPROTO_IPV6 ? ip6tc_append_entry(chain, (const void *)entry, h)
				      : iptc_append_entry(chain, (const void *)entry, h);
}

/* An entry's next_offset: its whole size. */
static uint16_t entry_size(int family, const unsigned char *entry)
{
	uint16_t size;

	memcpy(&size, entry + (family == NFPROTO_IPV6 ? offsetof(struct ip6t_entry, next_offset)
							: offsetof(struct ipt_entry, next_offset)), 2);
	return size;
}

/*
 * Appends the entries packed back to back in `entries` (each next_offset long, so each stays aligned) to
 * `chain`, in order: one call where a restore would make one per rule. Returns how many were appended;
 * fewer than `count` means the next one failed, with libiptc's errno.
 */
int xtw_append_entries(int family, void *h, const char *chain, const unsigned char *entries, int count)
{
	size_t at = 0;

	for (int i = 0; i < count; i++) {
		if (!append_entry(family, h, chain, entries + at))
			return i;
		at += entry_size(family, entries + at);
	}
	return count;
}

/*
 * Appends entries to several chains in one call, in order: each record is an 8-byte head (the byte offset
 * of its chain's NUL-terminated name in `names`, then 4 bytes of padding, so the entry stays aligned)
 * followed by the entry, next_offset long. A batch that goes from chain to chain rule after rule (as
 * kube-proxy's does) crosses into libiptc once instead of once per rule. Returns how many were appended;
 * fewer than `count` means the next one failed, with libiptc's errno.
 */
int xtw_append_to_chains(int family, void *h, const char *names, const unsigned char *records, int count)
{
	size_t at = 0;

	for (int i = 0; i < count; i++) {
		uint32_t name_at;

		memcpy(&name_at, records + at, 4);
		if (!append_entry(family, h, names + name_at, records + at + 8))
			return i;
		at += 8 + entry_size(family, records + at + 8);
	}
	return count;
}
