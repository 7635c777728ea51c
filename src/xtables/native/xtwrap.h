/*
 * What the shim's C files share. xtwrap.c owns the state (the jump point, the error, the extension being
 * built) and builds one extension at a time; plugins.c finds extensions for a family; rule.c compiles
 * whole rules; save.c prints one extension into the capture of stdout (capture.c); print.c prints whole
 * rules; dump.c reads a libiptc table into one buffer, blob.c indexes the kernel's own copy of a table in
 * the same format. Nothing declared here is exported from the shared object.
 */
#ifndef XTWRAP_H
#define XTWRAP_H

#include <getopt.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <xtables.h>

#define XTW_HIDDEN __attribute__((visibility("hidden")))

extern XTW_HIDDEN sigjmp_buf jump_point;
extern XTW_HIDDEN bool protected_call;
extern XTW_HIDDEN char errmsg[2048];
extern XTW_HIDDEN int errstatus;
extern XTW_HIDDEN __thread bool refused;
/* The extension being built: what a failed call releases (with the capture of stdout). */
extern XTW_HIDDEN struct xtables_match *building_match;
extern XTW_HIDDEN struct xtables_target *building_target;
/* The family libxtables looks extensions up for (use_family). */
extern XTW_HIDDEN int current_family;

XTW_HIDDEN bool owner_thread(void);
XTW_HIDDEN void release_build_state(void);
XTW_HIDDEN void fail(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
XTW_HIDDEN void use_family(int family);
XTW_HIDDEN struct xtables_match *lookup_match(const char *name, int revision);
XTW_HIDDEN struct xtables_target *lookup_target(const char *name, enum xtables_tryload tryload);
XTW_HIDDEN struct xtables_target *lookup_target_revision(const char *name, int revision);

/* Building one extension blob: start, one call per option, then finish (the blob stays in m->m / t->t). */
XTW_HIDDEN struct xtables_match *start_match(const char *name, int revision);
XTW_HIDDEN int match_option(struct xtables_match *m, const void *fw, const char *option, char **values, int count,
			    bool invert);
XTW_HIDDEN void finish_match(struct xtables_match *m, bool final);
XTW_HIDDEN struct xtables_target *start_target(const char *name, int revision);
XTW_HIDDEN int target_option(struct xtables_target *t, const void *fw, const char *option, char **values, int count,
			     bool invert);
XTW_HIDDEN void finish_target(struct xtables_target *t, bool final);

/*
 * Printing an extension the way iptables-save does (save.c): save_match/save_target print the parameters
 * to stdout, captured between begin_capture and end_capture (which returns the text, for the caller to
 * free, and its length; capture_at says how long it is so far), and return the name they are printed
 * under. Each fails the protected call where the capture fails.
 */
XTW_HIDDEN void begin_capture(void);
XTW_HIDDEN long capture_at(void);
XTW_HIDDEN char *end_capture(size_t *len);
XTW_HIDDEN const char *save_match(const void *ip, const struct xt_entry_match *e, const char *before);
XTW_HIDDEN const char *save_target(const void *ip, const struct xt_entry_target *e, const char *before);

/*
 * A dump's records (dump.c, blob.c): a rule's flag byte has bit 0 for a standard target, DUMP_MALFORMED
 * for an entry whose sizes do not hold together, DUMP_ELSEWHERE where the record holds, in place of the
 * entry, the u32 offset of the entry in the buffer the kernel wrote it into.
 */
#define DUMP_MALFORMED 2
#define DUMP_ELSEWHERE 4

struct dump_writer {
	unsigned char *out;
	size_t len, cap;
};

XTW_HIDDEN void dump_put(struct dump_writer *w, const void *data, size_t n);
XTW_HIDDEN void dump_put_u8(struct dump_writer *w, unsigned v);
XTW_HIDDEN void dump_put_u16(struct dump_writer *w, unsigned v);
XTW_HIDDEN void dump_put_u32(struct dump_writer *w, unsigned v);
XTW_HIDDEN void dump_put_u64(struct dump_writer *w, uint64_t v);
XTW_HIDDEN void dump_clear_name_padding(unsigned char *e, size_t header_size, uint16_t target_offset, uint16_t size);
XTW_HIDDEN bool dump_entry_holds_together(const unsigned char *e, size_t header, uint16_t target_offset, uint16_t size);

/* The jump point must live in the frame of the exported function, hence macros. */
#define PROTECT(failure)                                                          \
	do {                                                                      \
		refused = !owner_thread();                                        \
		if (refused)                                                      \
			return failure;                                           \
		if (protected_call) {                                             \
			snprintf(errmsg, sizeof(errmsg), "nested libxtables call refused"); \
			errstatus = OTHER_PROBLEM;                                \
			return failure;                                           \
		}                                                                 \
		errmsg[0] = '\0';                                                 \
		errstatus = 0;                                                    \
		protected_call = true;                                            \
		if (sigsetjmp(jump_point, 0) != 0) {                              \
			release_build_state();                                    \
			protected_call = false;                                   \
			return failure;                                           \
		}                                                                 \
	} while (0)

#define UNPROTECT() (protected_call = false)

#endif
