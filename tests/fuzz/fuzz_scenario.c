/* fuzz_scenario: libFuzzer target for the scenario language: scn_parse_string then scn_check
 * on any bytes; no crash, no leak, and every diagnostic has a position inside the input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios/scn.h"

/* A broken rule: say which, then abort (libFuzzer keeps the input). */
#define FAIL(...) (fprintf(stderr, "fuzz rule broken: " __VA_ARGS__), fputc('\n', stderr), abort())

/* Lines in the input as YAML counts them (libyaml's marks do: \n, \r\n,
 * a lone \r, and in UTF-8 NEL, LS, PS end a line), and the length of the
 * longest in bytes (for column bounds). */
static void shape(const uint8_t *data, size_t size, int *lines, size_t *longest)
{
	*lines = 1;
	*longest = 0;
	size_t cur = 0;
	for (size_t i = 0; i < size; i++) {
		size_t brk = 0;
		if (data[i] == '\n')
			brk = 1;
		else if (data[i] == '\r')
			brk = i + 1 < size && data[i + 1] == '\n' ? 2 : 1;
		else if (data[i] == 0xc2 && i + 1 < size && data[i + 1] == 0x85)
			brk = 2;
		else if (data[i] == 0xe2 && i + 2 < size && data[i + 1] == 0x80 && (data[i + 2] == 0xa8 || data[i + 2] == 0xa9))
			brk = 3;
		if (brk) {
			(*lines)++;
			cur = 0;
			i += brk - 1;
		} else if (++cur > *longest) {
			*longest = cur;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scn_diags d = { 0 };
	scn_file *f = NULL;
	int rc = scn_parse_string("fuzz.yaml", (const char *)data, size, &f, &d);
	if (rc < 0 && rc != -ENOMEM)
		FAIL("scn_parse_string returned %d", rc);
	if (rc == 0 && !f)
		FAIL("scn_parse_string returned 0 and no file");
	size_t parse_diags = d.n;
	int added = 0;
	if (f && f->root)
		added = scn_check(f, &d);
	/* scn_check counts exactly the diagnostics it adds */
	if (added < 0 || (size_t)added != d.n - parse_diags)
		FAIL("scn_check returned %d but added %zu diagnostics", added, d.n - parse_diags);
	int lines;
	size_t longest;
	shape(data, size, &lines, &longest);
	for (size_t i = 0; i < d.n; i++) {
		const scn_diag *g = &d.v[i];
		/* a position inside the input: libyaml may point one past the
		 * last line (end of stream) or one past a line's end */
		if (g->pos.line < 1 || g->pos.col < 1 || g->pos.line > lines + 1 ||
		    (size_t)g->pos.col > longest + 2)
			FAIL("diagnostic at %d:%d outside the input (%d lines, longest %zu): %s", g->pos.line,
			     g->pos.col, lines, longest, g->msg);
		if (!g->msg || !g->msg[0] || !g->file || strcmp(g->file, "fuzz.yaml") != 0)
			FAIL("diagnostic without message or file");
	}
	/* a file that checks clean has what every scenario must have */
	if (f && f->root && d.n == 0 && (!f->name || !f->description || !f->n_steps))
		FAIL("a file without name, description or steps checks clean");
	scn_diags_free(&d);
	scn_file_free(f);
	return 0;
}
