/* fuzz_crilog: libFuzzer target for the strict CRI log parser (crilog):
 * any bytes, no crash, and counts that agree with each other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crilog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	crilog_file f;
	crilog_parse((const char *)data, size, &f);
	int n = f.full[0] + f.full[1] + f.partial[0] + f.partial[1];
	if (n != f.records)
		abort();
	/* Each stream's text holds its messages plus one newline per F record:
	 * never more than the input. */
	if (f.text[0].len + f.text[1].len > size)
		abort();
	crilog_free(&f);

	/* One line on its own, as a caller holding a single record would. */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - data) : size;
	crilog_record r;
	const char *why = NULL;
	if (crilog_parse_line((const char *)data, len, &r, &why)) {
		if (r.msg < (const char *)data || r.msg + r.msg_len > (const char *)data + len)
			abort();
	} else if (!why) {
		abort();
	}
	return 0;
}
