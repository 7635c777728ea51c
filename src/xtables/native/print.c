/*
 * Printing many rules in one call. Printing each extension through its own shim call costs an FFI
 * crossing and a memstream per extension; iptables-save prints a whole table to one stdout. Here the
 * rules of a table read with xtw_dump_table are printed after their header fields (which JS prints) the
 * way iptables-save prints them, into one buffer, with where each extension's name and text are.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stddef.h>
#include <stdlib.h>
#include "xtwrap.h"
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

enum { RULE_NOT_PRINTED = 1, HEADER_NOT_PRINTED = 2 };

/* Fixed span words per rule (start, end, flags, number of extensions) and per extension. */
#define RULE_SPAN 5
#define EXTENSION_SPAN 4

struct layout {
	size_t header, target_offset_at, next_offset_at, flags_at, counters_at;
	unsigned goto_flag;
};

static const struct layout layout4 = { sizeof(struct ipt_entry), offsetof(struct ipt_entry, target_offset),
	offsetof(struct ipt_entry, next_offset), offsetof(struct ipt_entry, ip.flags),
	offsetof(struct ipt_entry, counters), IPT_F_GOTO };
static const struct layout layout6 = { sizeof(struct ip6t_entry), offsetof(struct ip6t_entry, target_offset),
	offsetof(struct ip6t_entry, next_offset), offsetof(struct ip6t_entry, ipv6.flags),
	offsetof(struct ip6t_entry, counters), IP6T_F_GOTO };

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
static bool holds_together(const unsigned char *e, uint16_t size, const struct layout *l, int *extensions,
			   bool kernel_state)
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
		if (ext_size < sizeof(struct xt_entry_match) || at + ext_size > target_offset ||
		    (kernel_state && named(e + at, "set")))
			return false;
		(*extensions)++;
	}
	memcpy(&ext_size, e + target_offset, 2);
	if (ext_size < sizeof(struct xt_entry_target) || (size_t)target_offset + ext_size > size ||
	    (kernel_state && named(e + target_offset, "SET")))
		return false;
	return true;
}

/* Printed ahead of its reading: not an entry that names kernel state (see holds_together). */
static bool printable(const unsigned char *e, uint16_t size, const struct layout *l, int *extensions)
{
	return holds_together(e, size, l, extensions, true);
}

/* Printed as it is read (a whole save): any entry that holds together. */
static bool printable_entry(const unsigned char *e, uint16_t size, const struct layout *l, int *extensions)
{
	return holds_together(e, size, l, extensions, false);
}

/* A dump and the buffer its DUMP_ELSEWHERE records' entries are in (the dump itself where it has none). */
struct dump {
	const unsigned char *records;
	long len;
	const unsigned char *entries;
	long entries_len;
};

/* One rule record of a dump (xtw_dump_rules, xtw_dump_chain, xtw_index_blob): its standard bit, its label and its entry. */
struct dump_record {
	bool standard;
	unsigned char label_len;
	const char *label;
	uint16_t size;
	const unsigned char *entry;
	/* Where the next record starts. */
	long next;
};

/* Reads the record at `at`; false past the end, or where its entry is not inside its buffer. */
static bool read_record(const struct dump *d, long at, struct dump_record *r)
{
	const unsigned char *dump = d->records;
	long end;

	if (at + 4 > d->len)
		return false;
	r->standard = dump[at] & 1;
	r->label_len = dump[at + 1];
	r->label = (const char *)dump + at + 2;
	end = at + 4 + r->label_len;
	if (end > d->len)
		return false;
	memcpy(&r->size, dump + end - 2, 2);
	if (dump[at] & DUMP_ELSEWHERE) {
		uint32_t entry_at;

		if (end + 4 > d->len)
			return false;
		memcpy(&entry_at, dump + end, 4);
		r->entry = d->entries + entry_at;
		r->next = end + 4;
		return (long)entry_at + r->size <= d->entries_len;
	}
	r->entry = dump + end;
	r->next = end + r->size;
	return r->next <= d->len;
}

/*
 * Ends the capture of a print: result[0] receives the bytes of text (copied to `out` when they fit),
 * result[1] the dump offset after the last rule printed. Returns `done`, or -2 when the text did not fit.
 */
static int hand_over(char *out, long outlen, long at, int done, double *result)
{
	size_t size;
	char *text = end_capture(&size);
	long len = (long)size;

	result[0] = (double)len;
	result[1] = (double)at;
	if (len <= outlen)
		memcpy(out, text, len);
	free(text);
	return len <= outlen ? done : -2;
}

/* Where an extension printed after `before` has its name and its text, from where it started. */
static void extension_span(int32_t *span, long start, const char *before, const char *name)
{
	span[0] = start + strlen(before);
	span[1] = span[0] + strlen(name);
	span[2] = span[1];
	span[3] = capture_at();
}

/*
 * Prints an entry's matches and target as iptables-save does after the header fields; with `spans`,
 * where each extension's name and text are. Returns the span words used.
 */
static int print_extensions(const unsigned char *e, const struct layout *l, bool standard, const char *label,
			    int label_len, int32_t *spans)
{
	uint16_t target_offset, ext_size;
	int used = 0;

	memcpy(&target_offset, e + l->target_offset_at, 2);
	for (size_t m = l->header; m < target_offset; m += ext_size) {
		long start = capture_at();
		const char *name = save_match(e, (const void *)(e + m), " -m ");

		memcpy(&ext_size, e + m, 2);
		if (spans != NULL)
			extension_span(spans + used, start, " -m ", name);
		used += EXTENSION_SPAN;
	}
	if (!standard) {
		const struct xt_entry_target *target = (const void *)(e + target_offset);
		long start = capture_at();
		const char *name = save_target(e, target, " -j ");

		if (spans != NULL)
			extension_span(spans + used, start, " -j ", name[0] != '\0' ? name : target->u.user.name);
		used += EXTENSION_SPAN;
	} else if (label_len > 0) {
		fputs(e[l->flags_at] & l->goto_flag ? " -g " : " -j ", stdout);
		fwrite(label, 1, label_len, stdout);
	}
	return used;
}

/*
 * Prints `count` rules of `dump` (xtw_dump_table's format; the entries of DUMP_ELSEWHERE records are in
 * `entries`, see xtw_index_blob), rule i's record at byte offsets[i]: the rules
 * of a whole table, chain after chain, print in one call (kube-proxy's nat table is thousands of chains of
 * a few rules). Each rule's header fields as iptables-save prints them, then each match as ` -m NAME` and
 * its save() output, the target as ` -j NAME` and its output, ` -j LABEL` / ` -g LABEL` for a verdict or a
 * chain, nothing for a fall-through. spans receives per rule its start and end in the text, flags
 * (RULE_NOT_PRINTED: a rule printed by JS instead, see printable(); HEADER_NOT_PRINTED: its header fields
 * are JS's to print), its number of extensions, where its matches and target start (after the header),
 * then for each extension (the matches, then a target extension) where its name and its text start and end. Stops early
 * when spans is full. result[0] receives the bytes of text (copied to `out` when they fit), result[1] the
 * dump offset after the last rule printed. Returns the number of rules printed, -1 when an extension
 * could not print (xtw_errmsg() says why), or -2 when the text did not fit in `out`.
 */
static void print_header(int family, const unsigned char *e);

/* Where the interface names (and their masks) start in an entry. */
static size_t iface_at(int family)
{
	return family == NFPROTO_IPV6 ? offsetof(struct ip6t_ip6, iniface) : offsetof(struct ipt_ip, iniface);
}

static int print_rules(int family, const struct dump *dump, const int32_t *offsets, int count,
		       char *out, long outlen, int32_t *spans, int spans_len, double *result)
{
	const struct layout *l = family == NFPROTO_IPV6 ? &layout6 : &layout4;
	int done = 0, used = 0;
	long at = 0;

	use_family(family);
	begin_capture();
	for (; done < count; done++) {
		struct dump_record r;
		const unsigned char *e;
		unsigned char standard, label_len;
		const char *label;
		uint16_t size;
		int32_t *span = spans + used;
		int extensions = 0;
		bool ok;

		at = offsets[done];
		if (at < 0 || !read_record(dump, at, &r))
			break;
		standard = r.standard;
		label_len = r.label_len;
		label = r.label;
		size = r.size;
		e = r.entry;
		ok = printable(e, size, l, &extensions) && ascii((const unsigned char *)label, label_len);
		if (used + RULE_SPAN + (ok ? extensions + !standard : 0) * EXTENSION_SPAN > spans_len)
			break;
		at = r.next;
		span[0] = span[1] = span[4] = capture_at();
		span[2] = ok ? 0 : RULE_NOT_PRINTED;
		span[3] = ok ? extensions + !standard : 0;
		used += RULE_SPAN;
		if (!ok)
			continue;
		/* Header fields JS reads as Latin-1 (an interface name that is not ASCII) are JS's to print. */
		if (ascii(e + iface_at(family), 2 * IFNAMSIZ))
			print_header(family, e);
		else
			span[2] |= HEADER_NOT_PRINTED;
		span[4] = capture_at();
		used += print_extensions(e, l, standard != 0, label, label_len, spans + used);
		span[1] = capture_at();
	}
	return hand_over(out, outlen, at, done, result);
}

int xtw_print_rules(int family, const unsigned char *records, long records_len, const unsigned char *entries,
		    long entries_len, const int32_t *offsets, int count,
		    char *out, long outlen, int32_t *spans, int spans_len, double *result)
{
	const struct dump dump = { records, records_len, entries, entries_len };
	int ret;

	PROTECT(-1);
	ret = print_rules(family, &dump, offsets, count, out, outlen, spans, spans_len, result);
	UNPROTECT();
	return ret;
}

/* print_iface of iptables-save: the name up to its mask, with `+` where the mask ends before the name does. */
static void print_iface(char letter, const char *name, const unsigned char *mask, bool invert)
{
	if (mask[0] == 0)
		return;
	printf("%s -%c ", invert ? " !" : "", letter);
	for (int i = 0; i < IFNAMSIZ; i++) {
		if (mask[i] != 0) {
			if (name[i] != '\0')
				putchar(name[i]);
		} else {
			if (i > 0 && name[i - 1] != '\0')
				putchar('+');
			break;
		}
	}
}

/* The prefix length of a mask, or -1 when it is not a prefix. */
static int mask_prefix(const unsigned char *mask, int len)
{
	int bits = 0, i = 0;

	while (i < len && mask[i] == 0xff) {
		bits += 8;
		i++;
	}
	if (i < len) {
		unsigned char m = mask[i];

		while (m & 0x80) {
			bits++;
			m <<= 1;
		}
		if (m != 0)
			return -1;
		for (i++; i < len; i++)
			if (mask[i] != 0)
				return -1;
	}
	return bits;
}

/* print_ip of iptables-save for `-s` / `-d`. */
static void print_address(int family, char letter, const void *addr, const void *mask, bool invert)
{
	int len = family == NFPROTO_IPV6 ? 16 : 4, af = family == NFPROTO_IPV6 ? AF_INET6 : AF_INET;
	int prefix = mask_prefix(mask, len);
	char text[INET6_ADDRSTRLEN];
	static const unsigned char zero[16];

	if (family == NFPROTO_IPV6 ? prefix == 0 && !invert
				   : !invert && memcmp(addr, zero, 4) == 0 && memcmp(mask, zero, 4) == 0)
		return;
	printf("%s -%c %s/", invert ? " !" : "", letter, inet_ntop(af, addr, text, sizeof(text)));
	if (prefix >= 0)
		printf("%d", prefix);
	else
		fputs(inet_ntop(af, mask, text, sizeof(text)), stdout);
}

/*
 * proto_to_name of iptables-save: the system's name, else libxtables' own, else the number. Asked of the
 * system once per number: getprotobynumber reads /etc/protocols each time (JS reads it once too).
 */
static void print_protocol(unsigned proto, bool invert)
{
	static char *names[256];
	static bool asked[256];
	const char *name = NULL;

	if (proto < 256 && !asked[proto]) {
		const struct protoent *pent = getprotobynumber(proto);

		asked[proto] = true;
		names[proto] = pent != NULL ? strdup(pent->p_name) : NULL;
	}
	if (proto < 256)
		name = names[proto];
	for (int i = 0; name == NULL && xtables_chain_protos[i].name != NULL; i++)
		if (xtables_chain_protos[i].num == proto)
			name = xtables_chain_protos[i].name;
	printf("%s -p ", invert ? " !" : "");
	if (name != NULL)
		fputs(name, stdout);
	else
		printf("%u", proto);
}

/* The header fields of an entry as iptables-save prints them (print_rule4 / print_rule6). */
static void print_header(int family, const unsigned char *e)
{
	if (family == NFPROTO_IPV6) {
		const struct ip6t_ip6 *ip = (const void *)e;

		print_address(family, 's', &ip->src, &ip->smsk, ip->invflags & IP6T_INV_SRCIP);
		print_address(family, 'd', &ip->dst, &ip->dmsk, ip->invflags & IP6T_INV_DSTIP);
		print_iface('i', ip->iniface, ip->iniface_mask, ip->invflags & IP6T_INV_VIA_IN);
		print_iface('o', ip->outiface, ip->outiface_mask, ip->invflags & IP6T_INV_VIA_OUT);
		if (ip->proto != 0)
			print_protocol(ip->proto, ip->invflags & IP6T_INV_PROTO);
	} else {
		const struct ipt_ip *ip = (const void *)e;

		print_address(family, 's', &ip->src, &ip->smsk, ip->invflags & IPT_INV_SRCIP);
		print_address(family, 'd', &ip->dst, &ip->dmsk, ip->invflags & IPT_INV_DSTIP);
		print_iface('i', ip->iniface, ip->iniface_mask, ip->invflags & IPT_INV_VIA_IN);
		print_iface('o', ip->outiface, ip->outiface_mask, ip->invflags & IPT_INV_VIA_OUT);
		if (ip->proto != 0)
			print_protocol(ip->proto, ip->invflags & XT_INV_PROTO);
		if (ip->flags & IPT_F_FRAG)
			fputs(ip->invflags & IPT_INV_FRAG ? " ! -f" : " -f", stdout);
	}
}

static int print_lines(int family, const struct dump *dump, long at, int count, const char *chain,
		       bool counters, char *out, long outlen, double *result)
{
	const struct layout *l = family == NFPROTO_IPV6 ? &layout6 : &layout4;
	int done = 0;

	use_family(family);
	begin_capture();
	for (; done < count; done++) {
		struct dump_record r;
		const unsigned char *e;
		unsigned char standard, label_len;
		const char *label;
		uint16_t size;
		int extensions;

		if (!read_record(dump, at, &r))
			break;
		standard = r.standard;
		label_len = r.label_len;
		label = r.label;
		size = r.size;
		e = r.entry;
		/*
		 * Left to JS: an entry that does not hold together (JS words the refusal), bytes that are not
		 * ASCII where JS reads them as Latin-1 (a label, an interface name).
		 */
		if (!printable_entry(e, size, l, &extensions) || !ascii((const unsigned char *)label, label_len) ||
		    !ascii(e + (family == NFPROTO_IPV6 ? offsetof(struct ip6t_ip6, iniface) : offsetof(struct ipt_ip, iniface)),
			   2 * IFNAMSIZ))
			break;
		at = r.next;
		if (counters) {
			struct xt_counters c;

			memcpy(&c, e + l->counters_at, sizeof(c));
			printf("[%llu:%llu] ", (unsigned long long)c.pcnt, (unsigned long long)c.bcnt);
		}
		fputs("-A ", stdout);
		fputs(chain, stdout);
		print_header(family, e);
		print_extensions(e, l, standard, label, label_len, NULL);
		putchar('\n');
	}
	return hand_over(out, outlen, at, done, result);
}

/*
 * Prints `count` rules of `dump` (entries elsewhere in `entries`, as xtw_print_rules) from byte `at` as whole iptables-save lines of `chain` (`-A CHAIN` and
 * the rule; `[packets:bytes] ` first with `counters`), as iptables-save prints them, a line each. Stops
 * before a rule whose entry does not hold together or whose label is not ASCII (the caller prints it).
 * result[0] receives the bytes of text (copied to `out` when they fit), result[1] the dump offset after the
 * last rule printed. Returns the number of rules printed, -1 when an extension could not print
 * (xtw_errmsg() says why), or -2 when the text did not fit in `out`.
 */
int xtw_print_lines(int family, const unsigned char *records, long records_len, const unsigned char *entries,
		    long entries_len, long at, int count, const char *chain,
		    int counters, char *out, long outlen, double *result)
{
	const struct dump dump = { records, records_len, entries, entries_len };
	int ret;

	PROTECT(-1);
	ret = print_lines(family, &dump, at, count, chain, counters != 0, out, outlen, result);
	UNPROTECT();
	return ret;
}
