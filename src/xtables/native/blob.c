/*
 * A legacy table as the kernel hands it over (IPT_SO_GET_ENTRIES, written into a JS buffer), split into
 * chains as libiptc splits it (see __iptcc_p_del_policy and iptcc_find_chain_by_offset in libiptc.c) and
 * indexed in xtw_dump_table's format, with each rule's entry left where the kernel wrote it. Reading a
 * large table then costs the kernel's copy alone: libiptc's read copies every rule once more into its
 * own structures, and a dump of those copies them a third time.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xtables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include "xtwrap.h"

/*
 * Why a blob could not be indexed. The kernel hands over only tables it checked, so none is expected: JS
 * then reads the table through libiptc, which words what it finds.
 */
enum blob_fault {
	BLOB_BAD_ENTRY = -1,
	BLOB_NO_CHAIN = -2,
	BLOB_NO_END = -3,
	BLOB_NO_FOOT = -4,
	BLOB_BAD_POLICY = -5,
	BLOB_NO_RETURN = -6,
	BLOB_BAD_VERDICT = -7,
	BLOB_BAD_JUMP = -8,
	BLOB_NO_MEMORY = -9,
	/* A built-in chain after a user chain: libiptc would list it last, which this index does not. */
	BLOB_UNUSUAL_ORDER = -10,
};

static const char *const hook_names[NF_INET_NUMHOOKS] = { "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING" };

/* The fields of struct ipt_getinfo / ip6t_getinfo (the same layout) that say where the chains are. */
struct table_info {
	uint32_t valid_hooks;
	uint32_t hook_entry[NF_INET_NUMHOOKS];
	uint32_t underflow[NF_INET_NUMHOOKS];
};

struct span {
	const char *name;
	size_t name_len;
	int hook; /* -1 for a user chain */
	uint32_t head, foot;
	/* The chain's rules: rules[first .. first + count) of the index below. */
	uint32_t first, count;
};

struct blob {
	const unsigned char *entries;
	uint32_t size;
	size_t header, target_offset_at, next_offset_at, counters_at;
	struct span *spans;
	size_t nspans;
	uint32_t *rules;
	size_t nrules;
	/* User chains sorted by name (libiptc lists them so, after the built-in ones). */
	struct span **users;
	size_t nusers;
};

static uint16_t u16_at(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static const unsigned char *target_of(const struct blob *b, uint32_t at)
{
	return b->entries + at + u16_at(b->entries + at + b->target_offset_at);
}

/* The verdict of a standard target (no name, an int after the header); false where it is not one. */
static bool standard_verdict(const unsigned char *t, int32_t *verdict)
{
	if (t[offsetof(struct xt_entry_target, u.user.name)] != '\0' ||
	    u16_at(t) < sizeof(struct xt_entry_target) + sizeof(int32_t))
		return false;
	memcpy(verdict, t + sizeof(struct xt_entry_target), sizeof(int32_t));
	return true;
}

static const char *verdict_name(int32_t verdict)
{
	switch (verdict) {
	case -NF_DROP - 1: return "DROP";
	case -NF_ACCEPT - 1: return "ACCEPT";
	case -NF_QUEUE - 1: return "QUEUE";
	case XT_RETURN: return "RETURN";
	default: return NULL;
	}
}

static bool is_verdict(const char *label, size_t len)
{
	for (int32_t v = -1; v >= XT_RETURN; v--) {
		const char *name = verdict_name(v);

		if (name != NULL && strlen(name) == len && memcmp(name, label, len) == 0)
			return true;
	}
	return false;
}

static int by_name(const void *a, const void *b)
{
	const struct span *x = *(struct span *const *)a, *y = *(struct span *const *)b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	return c != 0 ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static bool is_chain(const struct blob *b, const char *name, size_t len)
{
	struct span key = { .name = name, .name_len = len }, *k = &key;

	for (size_t i = 0; i < b->nspans && b->spans[i].hook >= 0; i++)
		if (b->spans[i].name_len == len && memcmp(b->spans[i].name, name, len) == 0)
			return true;
	return bsearch(&k, b->users, b->nusers, sizeof(*b->users), by_name) != NULL;
}

/* The chain a jump to `offset` goes to: the one whose entries span it, as libiptc finds it. */
static const struct span *chain_at(const struct blob *b, uint32_t offset)
{
	size_t lo = 0, hi = b->nspans;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (b->spans[mid].head <= offset)
			lo = mid;
		else
			hi = mid;
	}
	if (b->nspans == 0 || offset < b->spans[lo].head || offset > b->spans[lo].foot)
		return NULL;
	return &b->spans[lo];
}

/* Splits the entries into chains: a hook's entry starts a built-in chain, an ERROR entry a user chain. */
static int split(struct blob *b, const struct table_info *info)
{
	const size_t target_size = sizeof(struct xt_entry_target);
	struct span *current = NULL;

	for (uint32_t at = 0; at < b->size;) {
		const unsigned char *e = b->entries + at, *t;
		uint16_t target_offset, next;
		int hook = -1;

		if (at + b->header > b->size)
			return BLOB_BAD_ENTRY;
		target_offset = u16_at(e + b->target_offset_at);
		next = u16_at(e + b->next_offset_at);
		if (target_offset < b->header || (size_t)target_offset + target_size > next || at + next > b->size)
			return BLOB_BAD_ENTRY;
		t = e + target_offset;
		for (int h = 0; h < NF_INET_NUMHOOKS; h++)
			if ((info->valid_hooks & (1u << h)) && info->hook_entry[h] == at)
				hook = h;
		if (strncmp((const char *)t + offsetof(struct xt_entry_target, u.user.name), XT_ERROR_TARGET,
			    XT_EXTENSION_MAXNAMELEN) == 0) {
			const char *name = (const char *)t + target_size;

			if (at + next == b->size)
				return 0;
			current = &b->spans[b->nspans++];
			*current = (struct span){ name, strnlen(name, next - target_offset - target_size), -1, at, at,
						  (uint32_t)b->nrules, 0 };
		} else {
			if (hook >= 0) {
				if (b->nspans > 0 && b->spans[b->nspans - 1].hook < 0)
					return BLOB_UNUSUAL_ORDER;
				current = &b->spans[b->nspans++];
				*current = (struct span){ hook_names[hook], strlen(hook_names[hook]), hook, at, at,
							  (uint32_t)b->nrules, 0 };
			} else if (current == NULL) {
				return BLOB_NO_CHAIN;
			}
			b->rules[b->nrules++] = at;
			current->count++;
		}
		at += next;
	}
	return BLOB_NO_END;
}

/* Each chain's last entry is its policy, or the RETURN that ends a user chain: not one of its rules. */
static int take_feet(struct blob *b, const struct table_info *info)
{
	for (size_t i = 0; i < b->nspans; i++) {
		struct span *s = &b->spans[i];
		int32_t verdict = 0;

		if (s->count == 0)
			return BLOB_NO_FOOT;
		s->foot = b->rules[s->first + --s->count];
		if (!standard_verdict(target_of(b, s->foot), &verdict))
			return s->hook >= 0 ? BLOB_BAD_POLICY : BLOB_NO_RETURN;
		if (s->hook >= 0 ? s->foot != info->underflow[s->hook] || verdict_name(verdict) == NULL : verdict != XT_RETURN)
			return s->hook >= 0 ? BLOB_BAD_POLICY : BLOB_NO_RETURN;
		if (s->hook < 0)
			b->users[b->nusers++] = s;
	}
	qsort(b->users, b->nusers, sizeof(*b->users), by_name);
	return 0;
}

static void put_name(struct dump_writer *w, const char *name, size_t len)
{
	dump_put_u8(w, len);
	dump_put(w, name, len);
}

/* One rule as xtw_dump_table writes it, its entry replaced by where it is (DUMP_ELSEWHERE). */
static int put_rule(struct blob *b, struct dump_writer *w, uint32_t at, uint32_t base)
{
	unsigned char *e = (unsigned char *)b->entries + at;
	const unsigned char *t = target_of(b, at);
	uint16_t target_offset = u16_at(e + b->target_offset_at), size = u16_at(e + b->next_offset_at);
	const char *label = (const char *)t + offsetof(struct xt_entry_target, u.user.name);
	size_t label_len = strnlen(label, XT_EXTENSION_MAXNAMELEN);
	int flags;
	int32_t verdict;

	if (label_len > 0) {
		/* As xtw_dump_table tells a standard target from the label libiptc gives. */
		flags = is_verdict(label, label_len) || is_chain(b, label, label_len);
	} else {
		if (!standard_verdict(t, &verdict))
			return BLOB_BAD_VERDICT;
		if (verdict < 0) {
			label = verdict_name(verdict);
			if (label == NULL)
				return BLOB_BAD_VERDICT;
			label_len = strlen(label);
		} else if ((uint32_t)verdict != at + size) {
			const struct span *to = chain_at(b, (uint32_t)verdict);

			if (to == NULL)
				return BLOB_BAD_JUMP;
			label = to->name;
			label_len = to->name_len;
		}
		/* Else a fall-through: no label. */
		flags = 1;
	}
	if (!dump_entry_holds_together(e, b->header, target_offset, size))
		flags = DUMP_MALFORMED;
	dump_clear_name_padding(e, b->header, target_offset, size);
	dump_put_u8(w, flags | DUMP_ELSEWHERE);
	put_name(w, label, label_len);
	dump_put_u16(w, size);
	dump_put_u32(w, base + at);
	return 0;
}

static int put_chain(struct blob *b, struct dump_writer *w, const struct span *s, uint32_t base)
{
	const char *policy = "";
	uint64_t counters[2] = { 0, 0 };

	if (s->hook >= 0) {
		int32_t verdict = 0;

		standard_verdict(target_of(b, s->foot), &verdict);
		policy = verdict_name(verdict);
		memcpy(counters, b->entries + s->foot + b->counters_at, sizeof(counters));
	}
	dump_put_u8(w, s->hook >= 0);
	put_name(w, s->name, s->name_len);
	put_name(w, policy, strlen(policy));
	dump_put_u64(w, counters[0]);
	dump_put_u64(w, counters[1]);
	dump_put_u32(w, s->count);
	for (uint32_t r = 0; r < s->count; r++) {
		int ret = put_rule(b, w, b->rules[s->first + r], base);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * Indexes the `size` bytes of entries at buffer + base (what IPT_SO_GET_ENTRIES wrote) in xtw_dump_table's
 * format, built-in chains first in the kernel's order, then user chains by name, as libiptc lists them;
 * each rule record has DUMP_ELSEWHERE set and, in place of its entry, the entry's offset in the buffer
 * (u32). `info` is the table's struct ipt_getinfo. Extension names are cleared past their NUL in place, as
 * the dump clears them. Returns the bytes the index needs (written when they fit in outlen), or a
 * (negative) blob_fault.
 */
long xtw_index_blob(int family, const unsigned char *info, unsigned char *buffer, long base, long size,
		    unsigned char *out, long outlen)
{
	const bool v6 = family == NFPROTO_IPV6;
	struct table_info ti;
	struct blob b = {
		.entries = buffer + base,
		.size = (uint32_t)size,
		.header = v6 ? sizeof(struct ip6t_entry) : sizeof(struct ipt_entry),
		.target_offset_at = v6 ? offsetof(struct ip6t_entry, target_offset) : offsetof(struct ipt_entry, target_offset),
		.next_offset_at = v6 ? offsetof(struct ip6t_entry, next_offset) : offsetof(struct ipt_entry, next_offset),
		.counters_at = v6 ? offsetof(struct ip6t_entry, counters) : offsetof(struct ipt_entry, counters),
	};
	/*
	 * Chains and rules are entries, each at least a header and a target header (split() refuses a
	 * smaller one): the bytes bound their number, whatever the table's num_entries says.
	 */
	const size_t most = (size_t)size / (b.header + sizeof(struct xt_entry_target)) + 1;
	struct dump_writer w = { out, 0, (size_t)outlen };
	int ret;

	memcpy(&ti.valid_hooks, info + offsetof(struct ipt_getinfo, valid_hooks), sizeof(ti.valid_hooks));
	memcpy(ti.hook_entry, info + offsetof(struct ipt_getinfo, hook_entry), sizeof(ti.hook_entry));
	memcpy(ti.underflow, info + offsetof(struct ipt_getinfo, underflow), sizeof(ti.underflow));
	b.spans = malloc(most * sizeof(*b.spans));
	b.rules = malloc(most * sizeof(*b.rules));
	b.users = malloc(most * sizeof(*b.users));
	if (b.spans == NULL || b.rules == NULL || b.users == NULL)
		ret = BLOB_NO_MEMORY;
	else
		ret = split(&b, &ti);
	if (ret == 0)
		ret = take_feet(&b, &ti);
	for (size_t i = 0; ret == 0 && i < b.nspans && b.spans[i].hook >= 0; i++)
		ret = put_chain(&b, &w, &b.spans[i], (uint32_t)base);
	for (size_t i = 0; ret == 0 && i < b.nusers; i++)
		ret = put_chain(&b, &w, b.users[i], (uint32_t)base);
	free(b.spans);
	free(b.rules);
	free(b.users);
	return ret < 0 ? ret : (long)w.len;
}
