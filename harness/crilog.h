/* crilog: the CRI container log format the kubelet reads for `kubectl logs`:
 * "<RFC3339Nano> <stdout|stderr> <P|F> <message>" per line; a strict parser. */
#ifndef CRITIC_CRILOG_H
#define CRITIC_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum { CRILOG_STDOUT, CRILOG_STDERR };

/* One record; msg points into the parsed line (not NUL-terminated). */
typedef struct crilog_record {
	int64_t ts_ns;      /* nanoseconds since the epoch */
	int stream;         /* CRILOG_STDOUT or CRILOG_STDERR */
	bool partial;       /* tag P: the line goes on in the next record */
	const char *msg;
	size_t msg_len;
} crilog_record;

/* RFC 3339 with an optional fraction of 1 to 9 digits (Go's RFC3339Nano drops
 * trailing zeros) and Z or ±hh:mm, exactly n bytes. False when malformed or
 * outside what int64 nanoseconds hold (years 1678..2262). */
bool crilog_parse_ts(const char *s, size_t n, int64_t *ns);

/* Parse one line, without its newline. Returns true, or false with *why set
 * to a short static reason ("bad timestamp", ...). */
bool crilog_parse_line(const char *line, size_t len, crilog_record *rec, const char **why);

/* A whole log file parsed strictly: per stream the reassembled bytes (P
 * records joined, F records end with '\n') and record counts. Parsing stops at
 * the first problem (a malformed line, a missing final newline, a timestamp
 * that goes back on its stream), described in problem. */
typedef struct crilog_file {
	strbuf text[2];
	int full[2], partial[2];
	int records;
	int64_t first_ts, last_ts[2];
	bool last_partial[2];
	char problem[512];
} crilog_file;

void crilog_parse(const char *text, size_t len, crilog_file *p);
void crilog_free(crilog_file *p);

#endif
