/* fuzz_config: libFuzzer target for the config.toml patcher (fault/config.c): parse any bytes,
 * then edit in memory; an edit must leave every other byte as it was, and undo exactly. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault/config.h"

/* A broken rule: say which, then abort (libFuzzer keeps the input). */
#define FAIL(...) (fprintf(stderr, "fuzz rule broken: " __VA_ARGS__), fputc('\n', stderr), abort())

/* Bytes shared at the start and at the end of a and b (not overlapping). */
static void common(const char *a, size_t al, const char *b, size_t bl, size_t *pre, size_t *suf)
{
	size_t p = 0, s = 0;
	while (p < al && p < bl && a[p] == b[p])
		p++;
	while (s < al - p && s < bl - p && a[al - 1 - s] == b[bl - 1 - s])
		s++;
	*pre = p;
	*suf = s;
}

/* The edit from (a, al) to the document's text only inserted one block:
 * every byte of a is still there, in order, around it. */
static void only_inserted(const char *a, size_t al, const fault_cfg_doc *d)
{
	size_t bl;
	const char *b = fault_cfg_text(d, &bl);
	size_t pre, suf;
	common(a, al, b, bl, &pre, &suf);
	if (bl < al || pre + suf != al)
		FAIL("an insertion changed bytes of the input: %zu -> %zu bytes, %zu kept at the start, %zu at the end",
		     al, bl, pre, suf);
}

/* The edit changed one line of a at most: the differing bytes of the old
 * text hold no newline. */
static void one_line(const char *a, size_t al, const fault_cfg_doc *d)
{
	size_t bl;
	const char *b = fault_cfg_text(d, &bl);
	size_t pre, suf;
	common(a, al, b, bl, &pre, &suf);
	if (memchr(a + pre, '\n', al - pre - suf))
		FAIL("replacing a one-line value changed more than its line (at byte %zu)", pre);
}

/* The edited text parses again and holds the value. */
static void reparses(const fault_cfg_doc *d, const char *table, const char *key, long long want)
{
	size_t len;
	const char *t = fault_cfg_text(d, &len);
	fault_cfg_doc *d2 = NULL;
	crit_err e;
	if (fault_cfg_parse("fuzz.toml", t, len, &d2, &e) < 0)
		FAIL("the edited text does not parse: %s\n---\n%.*s\n---", e.msg, (int)len, t);
	fault_cfg_value v;
	if (key && (fault_cfg_get(d2, table, key, &v, &e) < 0 || v.type != FAULT_CFG_INT || v.i != want))
		FAIL("%s.%s does not read back as %lld after the edit", table, key, want);
	fault_cfg_free(d2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	fault_cfg_doc *d = NULL;
	crit_err e;
	err_clear(&e);
	int rc = fault_cfg_parse("fuzz.toml", in, size, &d, &e);
	if (rc < 0) {
		/* refused with a position: "fuzz.toml:LINE:COL: ..." */
		if (rc != -ENOMEM && strncmp(e.msg, "fuzz.toml:", 10) != 0)
			FAIL("refused without a position: %s", e.msg);
		return 0;
	}
	size_t len;
	const char *t = fault_cfg_text(d, &len);
	if (len != size || memcmp(t, in, size) != 0)
		FAIL("the parsed document's text differs from the input");
	fault_cfg_version(d);
	const char *cri = fault_cfg_cri_table(d);
	const char *names[16];
	fault_cfg_handlers(d, names, 16);

	/* a handler added and removed again: the input byte for byte */
	fault_cfg_handler h = { .name = "critic-fuzz", .binary_name = "/usr/bin/crun" };
	if (fault_cfg_doc_add_handler(d, &h, &e) == 0) {
		only_inserted(in, size, d);
		reparses(d, "", NULL, 0);
		if (fault_cfg_doc_remove_handler(d, "critic-fuzz", &e) < 0)
			FAIL("removing the handler just added failed: %s", e.msg);
		t = fault_cfg_text(d, &len);
		if (len != size || memcmp(t, in, size) != 0)
			FAIL("add then remove of a handler is not the input (%zu -> %zu bytes):\n---\n%.*s\n---", size,
			     len, (int)len, t);
	}

	/* a new key: only inserted; replaced: one line changed */
	if (cri) {
		char table[256];
		snprintf(table, sizeof table, "%s", cri);
		fault_cfg_value v = FAULT_CFG_INTV(41);
		fault_cfg_value old;
		bool had = fault_cfg_get(d, table, "critic_fuzz", &old, &e) == 0;
		if (fault_cfg_doc_set(d, table, "critic_fuzz", &v, &e) == 0) {
			if (!had)
				only_inserted(in, size, d);
			reparses(d, table, "critic_fuzz", 41);
			t = fault_cfg_text(d, &len);
			char *mid = malloc(len ? len : 1);
			if (!mid)
				FAIL("out of memory");
			memcpy(mid, t, len);
			size_t mlen = len;
			v = FAULT_CFG_INTV(7);
			if (fault_cfg_doc_set(d, table, "critic_fuzz", &v, &e) < 0)
				FAIL("replacing the value just set failed: %s", e.msg);
			one_line(mid, mlen, d);
			reparses(d, table, "critic_fuzz", 7);
			free(mid);
		}
	}
	fault_cfg_free(d);
	return 0;
}
