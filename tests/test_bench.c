/* Unit tests of `critic bench`'s machinery: percentiles and histograms on known inputs, merging,
 * the phase runner's promise that no started call is lost, and the in-process fake gRPC server. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "cri.h"
#include "fake_server.h" /* fake_time_scale */
#include "tests.h"
#include "util.h"

/* ---------------------------------------------------------------- percentiles */

static void test_percentile_known(void)
{
	int64_t v[100];
	for (int i = 0; i < 100; i++)
		v[i] = i + 1;
	/* Nearest rank: the value of rank ceil(p/100 * n). */
	CU_ASSERT_EQUAL(bench_percentile(v, 100, 50), 50);
	CU_ASSERT_EQUAL(bench_percentile(v, 100, 95), 95);
	CU_ASSERT_EQUAL(bench_percentile(v, 100, 99), 99);
	CU_ASSERT_EQUAL(bench_percentile(v, 100, 100), 100);
	CU_ASSERT_EQUAL(bench_percentile(v, 100, 0), 1);
	CU_ASSERT_EQUAL(bench_percentile(v, 100, 50.5), 51);
	/* Ten values: p95 and p99 are both the largest; p50 the fifth. */
	int64_t t[10] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 1000 };
	CU_ASSERT_EQUAL(bench_percentile(t, 10, 50), 50);
	CU_ASSERT_EQUAL(bench_percentile(t, 10, 90), 90);
	CU_ASSERT_EQUAL(bench_percentile(t, 10, 95), 1000);
	CU_ASSERT_EQUAL(bench_percentile(t, 10, 99), 1000);
	int64_t one = 7;
	CU_ASSERT_EQUAL(bench_percentile(&one, 1, 50), 7);
	CU_ASSERT_EQUAL(bench_percentile(&one, 1, 99), 7);
	CU_ASSERT_EQUAL(bench_percentile(NULL, 0, 50), -1);
}

static void test_summarize_unsorted(void)
{
	bench_series s;
	bench_series_init(&s);
	/* 1..100 in a scrambled order (37 is coprime with 100), and two failures. */
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL_FATAL(bench_series_add(&s, (int64_t)((i * 37) % 100 + 1) * 1000, true, NULL), 0);
	bench_series_add(&s, 5, false, "first failure");
	bench_series_add(&s, 5, false, "second failure");
	bench_summary m;
	CU_ASSERT_EQUAL_FATAL(bench_summarize(&s, 2000000000LL, &m), 0);
	CU_ASSERT_EQUAL(m.calls, 100);
	CU_ASSERT_EQUAL(m.errors, 2);
	CU_ASSERT_EQUAL(m.min_ns, 1000);
	CU_ASSERT_EQUAL(m.p50_ns, 50000);
	CU_ASSERT_EQUAL(m.p95_ns, 95000);
	CU_ASSERT_EQUAL(m.p99_ns, 99000);
	CU_ASSERT_EQUAL(m.max_ns, 100000);
	CU_ASSERT_DOUBLE_EQUAL(m.mean_ns, 50500.0, 1e-6);
	CU_ASSERT_DOUBLE_EQUAL(m.ops_per_s, 50.0, 1e-9); /* 100 calls over 2 s */
	CU_ASSERT_STRING_EQUAL(s.first_error, "first failure");
	CU_ASSERT_EQUAL(s.error_ns, 10);
	/* The samples themselves stay in call order. */
	CU_ASSERT_EQUAL(s.ns[0], 1000);
	CU_ASSERT_EQUAL(s.ns[1], 38000);
	bench_series_free(&s);

	bench_series_init(&s);
	CU_ASSERT_EQUAL(bench_summarize(&s, 0, &m), 0);
	CU_ASSERT_EQUAL(m.calls, 0);
	CU_ASSERT_EQUAL(m.p50_ns, -1);
	CU_ASSERT_EQUAL(m.max_ns, -1);
	CU_ASSERT_DOUBLE_EQUAL(m.ops_per_s, 0.0, 1e-12);
	bench_series_free(&s);
}

/* ---------------------------------------------------------------- histogram */

static void test_hist_buckets(void)
{
	/* Small values have a bucket each. */
	for (int64_t v = 0; v < 2 * BENCH_HIST_SUB; v++) {
		CU_ASSERT_EQUAL(bench_hist_bucket(v), (size_t)v);
		CU_ASSERT_EQUAL(bench_hist_lower((size_t)v), v);
		CU_ASSERT_EQUAL(bench_hist_upper((size_t)v), v);
	}
	CU_ASSERT_EQUAL(bench_hist_bucket(-5), 0);
	/* Buckets tile the line with no gap or overlap, each no wider than
	 * 1/32 of its smallest value. */
	for (size_t b = 0; b + 1 < BENCH_HIST_BUCKETS - 1; b++) {
		CU_ASSERT_EQUAL(bench_hist_upper(b) + 1, bench_hist_lower(b + 1));
		int64_t lo = bench_hist_lower(b), width = bench_hist_upper(b) - lo + 1;
		if (lo >= 2 * BENCH_HIST_SUB && width * BENCH_HIST_SUB > lo) {
			CU_FAIL("a bucket is wider than 1/32 of its values");
			break;
		}
	}
	/* Every value lands in the bucket whose bounds hold it. */
	static const int64_t probe[] = { 64, 65, 127, 128, 129, 1000, 4095, 4096, 999999, 1000000, 123456789,
					 75000000, 60000000000LL, (1LL << 43) - 1 };
	for (size_t i = 0; i < ARRAY_SIZE(probe); i++) {
		size_t b = bench_hist_bucket(probe[i]);
		CU_ASSERT(b < BENCH_HIST_BUCKETS);
		CU_ASSERT(bench_hist_lower(b) <= probe[i] && probe[i] <= bench_hist_upper(b));
	}
	/* Beyond the range: the last bucket. */
	CU_ASSERT_EQUAL(bench_hist_bucket(1LL << 50), BENCH_HIST_BUCKETS - 1);
	CU_ASSERT_EQUAL(bench_hist_bucket(INT64_MAX), BENCH_HIST_BUCKETS - 1);
}

static void test_hist_percentiles(void)
{
	bench_hist h;
	bench_hist_init(&h);
	CU_ASSERT_EQUAL(bench_hist_percentile(&h, 50), -1);
	for (int v = 1; v <= 100; v++)
		bench_hist_add(&h, v);
	CU_ASSERT_EQUAL(h.count, 100);
	CU_ASSERT_EQUAL(h.min, 1);
	CU_ASSERT_EQUAL(h.max, 100);
	CU_ASSERT_DOUBLE_EQUAL(h.sum, 5050.0, 1e-9);
	/* Exact below 64; above, the top of a two-wide bucket. */
	CU_ASSERT_EQUAL(bench_hist_percentile(&h, 50), 50);
	CU_ASSERT_EQUAL(bench_hist_percentile(&h, 95), 95);
	CU_ASSERT_EQUAL(bench_hist_percentile(&h, 99), 99);
	CU_ASSERT_EQUAL(bench_hist_percentile(&h, 100), 100);
	CU_ASSERT_EQUAL(bench_hist_percentile(&h, 0), 1);

	/* Large latencies (1 ms .. 1 s): within 1/32 of the exact percentile,
	 * never above the largest sample. */
	bench_hist_init(&h);
	bench_series s;
	bench_series_init(&s);
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 5000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: repeatable */
		int64_t v = 1000000 + (int64_t)(x % 999000000ULL);
		bench_hist_add(&h, v);
		bench_series_add(&s, v, true, NULL);
	}
	bench_summary m;
	CU_ASSERT_EQUAL_FATAL(bench_summarize(&s, 0, &m), 0);
	const double ps[] = { 50, 95, 99 };
	const int64_t exact[] = { m.p50_ns, m.p95_ns, m.p99_ns };
	for (size_t i = 0; i < 3; i++) {
		int64_t got = bench_hist_percentile(&h, ps[i]);
		CU_ASSERT(got >= exact[i]);
		CU_ASSERT((double)(got - exact[i]) <= (double)exact[i] / BENCH_HIST_SUB);
	}
	CU_ASSERT_EQUAL(bench_hist_percentile(&h, 100), m.max_ns);
	/* The series keeps a histogram of the same samples. */
	CU_ASSERT_EQUAL(memcmp(s.hist.buckets, h.buckets, sizeof h.buckets), 0);
	bench_series_free(&s);
}

static void test_hist_merge(void)
{
	bench_hist a, b, all, empty;
	bench_hist_init(&a);
	bench_hist_init(&b);
	bench_hist_init(&all);
	bench_hist_init(&empty);
	for (int64_t v = 1; v <= 100; v++) {
		bench_hist_add(v <= 50 ? &a : &b, v * 1000003);
		bench_hist_add(&all, v * 1000003);
	}
	bench_hist m;
	bench_hist_init(&m);
	bench_hist_merge(&m, &b); /* into an empty one: min comes from b */
	bench_hist_merge(&m, &empty);
	bench_hist_merge(&m, &a);
	CU_ASSERT_EQUAL(m.count, 100);
	CU_ASSERT_EQUAL(m.min, 1000003);
	CU_ASSERT_EQUAL(m.max, 100000300);
	CU_ASSERT_DOUBLE_EQUAL(m.sum, all.sum, 1e-3);
	CU_ASSERT_EQUAL(memcmp(m.buckets, all.buckets, sizeof m.buckets), 0);
	for (double p = 0; p <= 100; p += 2.5)
		CU_ASSERT_EQUAL(bench_hist_percentile(&m, p), bench_hist_percentile(&all, p));
	/* Merging nothing changes nothing, min included. */
	bench_hist before = m;
	bench_hist_merge(&m, &empty);
	CU_ASSERT_EQUAL(memcmp(&before, &m, sizeof m), 0);
}

static void test_series_merge(void)
{
	bench_series w1, w2, total;
	bench_series_init(&w1);
	bench_series_init(&w2);
	bench_series_init(&total);
	/* Enough samples to make the arrays grow. */
	for (int i = 0; i < 300; i++)
		bench_series_add(i % 2 ? &w1 : &w2, 1000 + i, true, NULL);
	bench_series_add(&w2, 77, false, "w2 failed");
	bench_series_add(&w1, 33, false, "w1 failed");
	CU_ASSERT_EQUAL(bench_series_merge(&total, &w1), 0);
	CU_ASSERT_EQUAL(bench_series_merge(&total, &w2), 0);
	CU_ASSERT_EQUAL(total.n, 300);
	CU_ASSERT_EQUAL(total.errors, 2);
	CU_ASSERT_EQUAL(total.error_ns, 110);
	CU_ASSERT_STRING_EQUAL(total.first_error, "w1 failed");
	CU_ASSERT_EQUAL(total.hist.count, 300);
	CU_ASSERT_EQUAL(total.hist.min, 1000);
	CU_ASSERT_EQUAL(total.hist.max, 1299);
	/* Every sample once: the sum of 1000..1299. */
	int64_t sum = 0;
	for (size_t i = 0; i < total.n; i++)
		sum += total.ns[i];
	CU_ASSERT_EQUAL(sum, 300 * 1000 + 299 * 300 / 2);
	bench_summary m;
	bench_summarize(&total, 0, &m);
	CU_ASSERT_EQUAL(m.p50_ns, 1149);
	bench_series_free(&w1);
	bench_series_free(&w2);
	bench_series_free(&total);
}

static void test_parse_counts(void)
{
	int v[8];
	size_t n = 0;
	crit_err e;
	CU_ASSERT_EQUAL(bench_parse_counts("10,50,100", v, 8, &n, 1000, &e), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(v[0] == 10 && v[1] == 50 && v[2] == 100);
	CU_ASSERT_EQUAL(bench_parse_counts("7", v, 8, &n, 1000, &e), 0);
	CU_ASSERT(n == 1 && v[0] == 7);
	static const char *const bad[] = { "", "0", "-1", "10,", ",10", "10,,20", "ten", "10;20", "1001", "1 2" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		CU_ASSERT_EQUAL(bench_parse_counts(bad[i], v, 8, &n, 1000, &e), -EINVAL);
		CU_ASSERT(e.msg[0] != '\0');
	}
	CU_ASSERT_EQUAL(bench_parse_counts("1,2,3", v, 2, &n, 1000, &e), -EINVAL);
}

/* ---------------------------------------------------------------- phases */

typedef struct slow_items {
	int sleep_ms;
	atomic_int in_flight, max_in_flight;
	bench_series per_worker[4];
	atomic_int seen[64];
} slow_items;

static void slow_item(void *arg, int worker, size_t item)
{
	slow_items *s = arg;
	int now = atomic_fetch_add(&s->in_flight, 1) + 1;
	int m = atomic_load(&s->max_in_flight);
	while (now > m && !atomic_compare_exchange_weak(&s->max_in_flight, &m, now))
		;
	int64_t t0 = bench_now_ns();
	util_sleep_ms(s->sleep_ms);
	bench_series_add(&s->per_worker[worker], bench_now_ns() - t0, true, NULL);
	if (item < 64)
		atomic_fetch_add(&s->seen[item], 1);
	atomic_fetch_sub(&s->in_flight, 1);
}

static void test_phase_all_items(void)
{
	slow_items s;
	memset(&s, 0, sizeof s);
	s.sleep_ms = 5;
	bench_phase p = { .items = 40, .workers = 3, .fn = slow_item, .arg = &s };
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(bench_phase_run(&p, &e), 0);
	CU_ASSERT_EQUAL(p.started, 40);
	CU_ASSERT_EQUAL(p.finished, 40);
	size_t recorded = 0;
	for (int w = 0; w < 4; w++)
		recorded += s.per_worker[w].n;
	CU_ASSERT_EQUAL(recorded, 40);
	/* Each item exactly once, by up to three workers at a time. */
	for (int i = 0; i < 40; i++)
		CU_ASSERT_EQUAL(atomic_load(&s.seen[i]), 1);
	CU_ASSERT(atomic_load(&s.max_in_flight) >= 2 && atomic_load(&s.max_in_flight) <= 3);
	CU_ASSERT(s.per_worker[3].n == 0); /* no fourth worker */
	for (int w = 0; w < 4; w++)
		bench_series_free(&s.per_worker[w]);
}

static void test_phase_deadline_keeps_inflight(void)
{
	/* Items of 60 ms, time up after 100 ms: the items running then still
	 * end and are recorded; no new one starts. */
	slow_items s;
	memset(&s, 0, sizeof s);
	s.sleep_ms = 60;
	bench_phase p = { .items = 64, .workers = 2, .fn = slow_item, .arg = &s };
	int64_t limit = 100000000LL * fake_time_scale();
	p.deadline_ns = bench_now_ns() + limit;
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(bench_phase_run(&p, &e), 0);
	size_t recorded = 0;
	for (int w = 0; w < 2; w++)
		recorded += s.per_worker[w].n;
	CU_ASSERT_EQUAL(p.started, p.finished);
	CU_ASSERT_EQUAL(recorded, p.finished);
	CU_ASSERT(p.started >= 2);   /* both workers started before the deadline */
	CU_ASSERT(p.started < 64);   /* and stopped starting after it */
	/* The run outlasted the deadline by the calls in flight: it waited. */
	CU_ASSERT(p.wall_ns >= limit);
	for (int w = 0; w < 2; w++)
		for (size_t i = 0; i < s.per_worker[w].n; i++)
			CU_ASSERT(s.per_worker[w].ns[i] >= 60000000LL);
	for (int w = 0; w < 2; w++)
		bench_series_free(&s.per_worker[w]);
}

static volatile sig_atomic_t stop_flag;

static void stopping_item(void *arg, int worker, size_t item)
{
	slow_item(arg, worker, item);
	if (item == 2)
		stop_flag = 1;
}

static void test_phase_stop_flag(void)
{
	slow_items s;
	memset(&s, 0, sizeof s);
	s.sleep_ms = 1;
	stop_flag = 0;
	bench_phase p = { .items = 64, .workers = 1, .fn = stopping_item, .arg = &s, .stop = &stop_flag };
	crit_err e;
	CU_ASSERT_EQUAL_FATAL(bench_phase_run(&p, &e), 0);
	/* One worker: items 0, 1, 2, then the flag stops it. */
	CU_ASSERT_EQUAL(p.started, 3);
	CU_ASSERT_EQUAL(p.finished, 3);
	CU_ASSERT_EQUAL(s.per_worker[0].n, 3);
	bench_series_free(&s.per_worker[0]);
	bench_phase bad = { .items = 1, .workers = 0, .fn = slow_item, .arg = &s };
	CU_ASSERT_EQUAL(bench_phase_run(&bad, &e), -EINVAL);
}

/* ---------------------------------------------------------------- fake server */

static char tmpdir[64];

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-bench-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void) { return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0; }

static void test_fake_answers(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	bench_fake *f = NULL;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(bench_fake_start(&f, path, &e), 0);
	CU_ASSERT(util_exists(path));
	cri_conn *c = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, bench_fake_endpoint(f), NULL, 5000 * fake_time_scale(), &e), 0);

	Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *v = NULL;
	CU_ASSERT_EQUAL(CRI_CALL(c, Version, &vreq, &v, &e), 0);
	if (v) {
		CU_ASSERT_STRING_EQUAL(v->runtime_name, "critic-bench-fake");
		CU_ASSERT_STRING_EQUAL(v->runtime_api_version, "v1");
	}
	cri_free(v);

	Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *st = NULL;
	CU_ASSERT_EQUAL(CRI_CALL(c, Status, &sreq, &st, &e), 0);
	if (st) {
		CU_ASSERT_FATAL(st->status != NULL);
		CU_ASSERT_EQUAL(st->status->n_conditions, 2);
		CU_ASSERT_STRING_EQUAL(st->status->conditions[0]->type, "RuntimeReady");
		CU_ASSERT(st->status->conditions[0]->status);
	}
	cri_free(st);

	Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *l = NULL;
	CU_ASSERT_EQUAL(CRI_CALL(c, ListPodSandbox, &lreq, &l, &e), 0);
	if (l) {
		CU_ASSERT_EQUAL(l->n_items, BENCH_FAKE_PODS);
		CU_ASSERT_EQUAL(strlen(l->items[BENCH_FAKE_PODS - 1]->id), 64);
		CU_ASSERT_EQUAL(l->items[3]->n_labels, 3);
		CU_ASSERT_STRING_EQUAL(l->items[3]->metadata->name, "bench-pod-3");
	}
	cri_free(l);

	/* Any other method: its empty reply, which decodes. */
	Runtime__V1__ListContainersRequest creq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *cl = NULL;
	CU_ASSERT_EQUAL(CRI_CALL(c, ListContainers, &creq, &cl, &e), 0);
	if (cl)
		CU_ASSERT_EQUAL(cl->n_containers, 0);
	cri_free(cl);
	CU_ASSERT_EQUAL(bench_fake_calls(f), 4);

	cri_close(c);
	bench_fake_stop(f);
	CU_ASSERT(!util_exists(path)); /* its socket goes with it */
}

static void test_overhead_measure(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/fake-ovh.sock", tmpdir);
	bench_fake *f = NULL;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(bench_fake_start(&f, path, &e), 0);
	bench_overhead o;
	int rc = bench_measure_overhead(bench_fake_endpoint(f), "ListPodSandbox", 200, &o, &e);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc)
		fprintf(stderr, "\n  overhead: %s\n", e.msg);
	CU_ASSERT_EQUAL(o.calls, 200);
	CU_ASSERT_EQUAL(o.errors, 0);
	CU_ASSERT(o.raw_p50_ns > 0);
	CU_ASSERT(o.cri_p50_ns > 0);
	/* Both variants reached the server: warm-up and measured calls. */
	CU_ASSERT(bench_fake_calls(f) >= 2 * 200);
	CU_ASSERT_EQUAL(bench_measure_overhead(bench_fake_endpoint(f), "NoSuchMethod", 10, &o, &e), -EINVAL);
	bench_fake_stop(f);
}

static void test_fake_bad_path(void)
{
	bench_fake *f = NULL;
	crit_err e;
	err_clear(&e);
	char path[300];
	memset(path, 'x', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	CU_ASSERT_EQUAL(bench_fake_start(&f, path, &e), -ENAMETOOLONG);
	CU_ASSERT(f == NULL);
	CU_ASSERT(strstr(e.msg, "too long") != NULL);
}

void tests_register_bench(void)
{
	CU_pSuite s = CU_add_suite("unit/bench", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "percentiles: nearest rank on known inputs", test_percentile_known);
	CU_add_test(s, "summary of unsorted samples, failures apart", test_summarize_unsorted);
	CU_add_test(s, "histogram buckets tile the range within 1/32", test_hist_buckets);
	CU_add_test(s, "histogram percentiles: exact small, within 1/32 large", test_hist_percentiles);
	CU_add_test(s, "histogram merge equals one histogram of all samples", test_hist_merge);
	CU_add_test(s, "series merge keeps every sample and the first error", test_series_merge);
	CU_add_test(s, "--grow list parsing", test_parse_counts);
	CU_add_test(s, "phase: every item once, at most N workers", test_phase_all_items);
	CU_add_test(s, "phase: deadline stops new items, in-flight ones are recorded", test_phase_deadline_keeps_inflight);
	CU_add_test(s, "phase: the stop flag stops new items", test_phase_stop_flag);
	CU_add_test(s, "fake server answers every CRI method with a valid reply", test_fake_answers);
	CU_add_test(s, "overhead: raw gRPC and cri_call both measured, no errors", test_overhead_measure);
	CU_add_test(s, "fake server refuses a socket path that is too long", test_fake_bad_path);
}
