/* bench: `critic bench`: per-RPC latency and throughput of a CRI runtime, how costs grow with
 * the number of objects, critic's own overhead per call, and how fast a killed runtime is noticed. */
#ifndef CRITIC_BENCH_H
#define CRITIC_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* ------------------------------------------------------------ statistics */

/* A log-linear histogram of durations in nanoseconds: values below 64 have
 * a bucket each; above, every power of two is cut into 32 buckets, so a
 * bucket's width is at most 1/32 of its values (about 3 %). Values of
 * 2^43 ns (2.4 hours) and more share the last bucket. Histograms of the
 * same kind merge by adding their counts. */
#define BENCH_HIST_SUB_BITS 5
#define BENCH_HIST_SUB (1 << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_MAX_EXP 42
#define BENCH_HIST_BUCKETS (2 * BENCH_HIST_SUB + (BENCH_HIST_MAX_EXP - BENCH_HIST_SUB_BITS) * BENCH_HIST_SUB)

typedef struct bench_hist {
	uint64_t count;
	int64_t min, max; /* exact; meaningless while count is 0 */
	double sum;
	uint64_t buckets[BENCH_HIST_BUCKETS];
} bench_hist;

void bench_hist_init(bench_hist *h);
void bench_hist_add(bench_hist *h, int64_t v);
void bench_hist_merge(bench_hist *dst, const bench_hist *src);
/* The bucket a value falls in, and the values a bucket holds (inclusive). */
size_t bench_hist_bucket(int64_t v);
int64_t bench_hist_lower(size_t bucket);
int64_t bench_hist_upper(size_t bucket);
/* Nearest-rank percentile (p in 0..100): the upper end of the bucket that
 * holds the sample of rank ceil(p/100 * count), kept within [min, max].
 * -1 when the histogram is empty. */
int64_t bench_hist_percentile(const bench_hist *h, double p);

/* Every sample of one RPC: each successful call's duration (ns) in the
 * order they were recorded, the failed calls counted apart, and the same
 * durations in a histogram. */
typedef struct bench_series {
	int64_t *ns;
	size_t n, cap;
	uint64_t errors;
	int64_t error_ns;       /* time spent in failed calls */
	char first_error[300];  /* the first failure's message */
	bench_hist hist;
} bench_series;

void bench_series_init(bench_series *s);
/* Record one call: ok, or failed with why (may be NULL). 0 or -ENOMEM. */
int bench_series_add(bench_series *s, int64_t ns, bool ok, const char *why);
/* Append every sample and count of src to dst. 0 or -ENOMEM. */
int bench_series_merge(bench_series *dst, const bench_series *src);
void bench_series_free(bench_series *s);

/* Nearest-rank percentile of sorted[0..n): the value of rank
 * ceil(p/100 * n) (p = 0 gives the smallest). -1 when n is 0. */
int64_t bench_percentile(const int64_t *sorted, size_t n, double p);

typedef struct bench_summary {
	uint64_t calls;  /* successful calls */
	uint64_t errors; /* failed calls */
	int64_t min_ns, p50_ns, p95_ns, p99_ns, max_ns; /* -1 when no call succeeded */
	double mean_ns;
	double ops_per_s; /* successful calls per second of wall_ns; 0 without one */
} bench_summary;

/* Exact figures from the samples (sorts a copy). wall_ns is the time the
 * calls were spread over, for ops/s (0 = none). 0 or -ENOMEM. */
int bench_summarize(const bench_series *s, int64_t wall_ns, bench_summary *out);

/* Parse "10,50,100": 1..max_n positive counts, each at most limit. */
int bench_parse_counts(const char *text, int *out, size_t max_n, size_t *n, int limit, crit_err *e);

/* ------------------------------------------------------------ phases */

/* Hand items 0..items-1 to `workers` threads, one item at a time. Once
 * the deadline has passed or *stop is set no new item starts, but an item
 * already started always runs to its end: whatever it records is kept. */
typedef void (*bench_item_fn)(void *arg, int worker, size_t item);
typedef struct bench_phase {
	size_t items;
	int workers;                 /* >= 1 */
	int64_t deadline_ns;         /* monotonic (bench_now_ns); 0 = none */
	volatile sig_atomic_t *stop; /* may be NULL */
	bench_item_fn fn;
	void *arg;
	/* Filled by bench_phase_run: */
	size_t started, finished;
	int64_t wall_ns;             /* from the first start to the last end */
} bench_phase;

int bench_phase_run(bench_phase *p, crit_err *e);
int64_t bench_now_ns(void); /* CLOCK_MONOTONIC */

/* ------------------------------------------------------------ fake server */

/* A gRPC server (gRPC core's C server API) on a unix socket that answers
 * every unary CRI call at once with a fixed, valid reply: Version and
 * Status look like a ready runtime, ListPodSandbox lists
 * BENCH_FAKE_PODS pods, any other method gets its empty reply (which is a
 * valid encoding of every CRI response). It never looks at the request. */
#define BENCH_FAKE_PODS 50
typedef struct bench_fake bench_fake;
int bench_fake_start(bench_fake **out, const char *path, crit_err *e);
uint64_t bench_fake_calls(bench_fake *f);
/* "unix:///path" for clients. */
const char *bench_fake_endpoint(const bench_fake *f);
/* Cancel what is in flight, stop the thread and free f. */
void bench_fake_stop(bench_fake *f);

/* critic's own cost per call against a fake server at path: a bare gRPC
 * core loop with a pre-encoded request and no decoding, against cri_call
 * (method lookup, protobuf-c encoding, gRPC, decoding). Medians in ns. */
typedef struct bench_overhead {
	const char *method;
	size_t calls;           /* per variant */
	int64_t raw_p50_ns, cri_p50_ns;
	uint64_t errors;        /* calls that failed, both variants */
} bench_overhead;
int bench_measure_overhead(const char *fake_endpoint, const char *method, size_t calls, bench_overhead *out,
			   crit_err *e);

/* ------------------------------------------------------------ CLI */

/* `critic bench [options]`: argv[0] is the command word. Parses its own
 * options (endpoint ones included), prints tables to stdout and progress
 * to stderr. Returns 0 done, 1 some calls or parts failed, 2 usage,
 * 3 endpoint unreachable. */
int bench_cli_main(int argc, char **argv);

#endif
