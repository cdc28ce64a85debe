/* bench: drives a runtime with concurrent workers and times every call; measures critic's
 * own cost against an in-process fake gRPC server, the proxy's, and fault detection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cri.h"
#include "endpoint.h"
#include "fault/process.h"
#include "fault/proxy.h"
#include "lab.h"
#include "reports/rep.h"
#include "rtctl.h"
#include "tst.h"
#include "util.h"
#include "version.h"

/* ================================================================ statistics */

int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bench_hist_init(bench_hist *h)
{
	memset(h, 0, sizeof *h);
}

size_t bench_hist_bucket(int64_t v)
{
	if (v < 2 * BENCH_HIST_SUB)
		return v < 0 ? 0 : (size_t)v;
	int e = 63 - __builtin_clzll((unsigned long long)v); /* v's highest bit, >= SUB_BITS + 1 */
	if (e > BENCH_HIST_MAX_EXP)
		return BENCH_HIST_BUCKETS - 1;
	int shift = e - BENCH_HIST_SUB_BITS;
	size_t sub = (size_t)(v >> shift) - BENCH_HIST_SUB; /* 0..SUB-1 */
	return 2 * BENCH_HIST_SUB + (size_t)(e - BENCH_HIST_SUB_BITS - 1) * BENCH_HIST_SUB + sub;
}

int64_t bench_hist_lower(size_t b)
{
	if (b < 2 * BENCH_HIST_SUB)
		return (int64_t)b;
	size_t k = b - 2 * BENCH_HIST_SUB;
	int e = (int)(k / BENCH_HIST_SUB) + BENCH_HIST_SUB_BITS + 1;
	int shift = e - BENCH_HIST_SUB_BITS;
	return (int64_t)(BENCH_HIST_SUB + k % BENCH_HIST_SUB) << shift;
}

int64_t bench_hist_upper(size_t b)
{
	if (b >= BENCH_HIST_BUCKETS - 1)
		return INT64_MAX;
	return bench_hist_lower(b + 1) - 1;
}

void bench_hist_add(bench_hist *h, int64_t v)
{
	if (v < 0)
		v = 0;
	if (!h->count || v < h->min)
		h->min = v;
	if (!h->count || v > h->max)
		h->max = v;
	h->count++;
	h->sum += (double)v;
	h->buckets[bench_hist_bucket(v)]++;
}

void bench_hist_merge(bench_hist *dst, const bench_hist *src)
{
	if (!src->count)
		return;
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (!dst->count || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

/* ceil(p/100 * n) within [1, n]. */
static uint64_t rank_of(double p, uint64_t n)
{
	if (p <= 0)
		return 1;
	double x = p / 100.0 * (double)n;
	uint64_t r = (uint64_t)x;
	if ((double)r < x - 1e-9) /* round up, but not for float noise */
		r++;
	if (r < 1)
		return 1;
	return r > n ? n : r;
}

int64_t bench_hist_percentile(const bench_hist *h, double p)
{
	if (!h->count)
		return -1;
	uint64_t rank = rank_of(p, h->count), seen = 0;
	for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			int64_t v = bench_hist_upper(i);
			return v > h->max ? h->max : v < h->min ? h->min : v;
		}
	}
	return h->max;
}

void bench_series_init(bench_series *s)
{
	memset(s, 0, sizeof *s);
}

static int series_reserve(bench_series *s, size_t more)
{
	if (s->n + more <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 64;
	while (cap < s->n + more)
		cap *= 2;
	int64_t *p = realloc(s->ns, cap * sizeof *p);
	if (!p)
		return -ENOMEM;
	s->ns = p;
	s->cap = cap;
	return 0;
}

int bench_series_add(bench_series *s, int64_t ns, bool ok, const char *why)
{
	if (!ok) {
		s->errors++;
		s->error_ns += ns;
		if (!s->first_error[0])
			snprintf(s->first_error, sizeof s->first_error, "%s", why && *why ? why : "(no message)");
		return 0;
	}
	if (series_reserve(s, 1) < 0)
		return -ENOMEM;
	s->ns[s->n++] = ns;
	bench_hist_add(&s->hist, ns);
	return 0;
}

int bench_series_merge(bench_series *dst, const bench_series *src)
{
	if (series_reserve(dst, src->n) < 0)
		return -ENOMEM;
	if (src->n)
		memcpy(dst->ns + dst->n, src->ns, src->n * sizeof *src->ns);
	dst->n += src->n;
	dst->errors += src->errors;
	dst->error_ns += src->error_ns;
	if (!dst->first_error[0] && src->first_error[0])
		snprintf(dst->first_error, sizeof dst->first_error, "%s", src->first_error);
	bench_hist_merge(&dst->hist, &src->hist);
	return 0;
}

void bench_series_free(bench_series *s)
{
	free(s->ns);
	bench_series_init(s);
}

int64_t bench_percentile(const int64_t *sorted, size_t n, double p)
{
	if (!n)
		return -1;
	return sorted[rank_of(p, n) - 1];
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int bench_summarize(const bench_series *s, int64_t wall_ns, bench_summary *out)
{
	memset(out, 0, sizeof *out);
	out->calls = s->n;
	out->errors = s->errors;
	out->min_ns = out->p50_ns = out->p95_ns = out->p99_ns = out->max_ns = -1;
	if (wall_ns > 0)
		out->ops_per_s = (double)s->n * 1e9 / (double)wall_ns;
	if (!s->n)
		return 0;
	int64_t *v = malloc(s->n * sizeof *v);
	if (!v)
		return -ENOMEM;
	memcpy(v, s->ns, s->n * sizeof *v);
	qsort(v, s->n, sizeof *v, cmp_i64);
	double sum = 0;
	for (size_t i = 0; i < s->n; i++)
		sum += (double)v[i];
	out->mean_ns = sum / (double)s->n;
	out->min_ns = v[0];
	out->max_ns = v[s->n - 1];
	out->p50_ns = bench_percentile(v, s->n, 50);
	out->p95_ns = bench_percentile(v, s->n, 95);
	out->p99_ns = bench_percentile(v, s->n, 99);
	free(v);
	return 0;
}

int bench_parse_counts(const char *text, int *out, size_t max_n, size_t *n, int limit, crit_err *e)
{
	*n = 0;
	if (!text || !*text)
		return err_set(e, -EINVAL, "empty list: give counts like 10,50,100");
	const char *p = text;
	for (;;) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v < 1 || v > limit)
			return err_set(e, -EINVAL, "'%s': each count must be a number from 1 to %d", text, limit);
		if (*n >= max_n)
			return err_set(e, -EINVAL, "'%s': at most %zu counts", text, max_n);
		out[(*n)++] = (int)v;
		if (!*end)
			return 0;
		if (*end != ',')
			return err_set(e, -EINVAL, "'%s': counts are separated by commas", text);
		p = end + 1;
	}
}

/* ================================================================ phases */

typedef struct phase_worker {
	bench_phase *p;
	int idx;
	atomic_size_t *next, *started, *finished;
	pthread_t thr;
} phase_worker;

static bool phase_may_start(const bench_phase *p)
{
	if (p->stop && *p->stop)
		return false;
	return !p->deadline_ns || bench_now_ns() < p->deadline_ns;
}

static void *phase_thread(void *arg)
{
	phase_worker *w = arg;
	bench_phase *p = w->p;
	while (phase_may_start(p)) {
		size_t i = atomic_fetch_add(w->next, 1);
		if (i >= p->items)
			break;
		atomic_fetch_add(w->started, 1);
		p->fn(p->arg, w->idx, i);
		atomic_fetch_add(w->finished, 1);
	}
	return NULL;
}

int bench_phase_run(bench_phase *p, crit_err *e)
{
	if (!p->fn || p->workers < 1)
		return err_set(e, -EINVAL, "bench phase: needs a function and at least one worker");
	atomic_size_t next = 0, started = 0, finished = 0;
	phase_worker *w = calloc((size_t)p->workers, sizeof *w);
	if (!w)
		return err_set(e, -ENOMEM, "bench phase: out of memory");
	int64_t t0 = bench_now_ns();
	int running = 0;
	for (int i = 0; i < p->workers; i++) {
		w[i] = (phase_worker){ .p = p, .idx = i, .next = &next, .started = &started, .finished = &finished };
		if (pthread_create(&w[i].thr, NULL, phase_thread, &w[i]) != 0)
			break;
		running++;
	}
	if (!running) /* no thread at all: do the work here */
		phase_thread(&w[0]);
	for (int i = 0; i < running; i++)
		pthread_join(w[i].thr, NULL);
	p->wall_ns = bench_now_ns() - t0;
	p->started = atomic_load(&started);
	p->finished = atomic_load(&finished);
	free(w);
	return 0;
}

/* ================================================================ fake server */

enum { FK_NEW, FK_ANSWER };

typedef struct fake_call {
	bench_fake *f;
	int stage;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
	grpc_byte_buffer *req, *reply;
	int cancelled;
} fake_call;

typedef struct fake_reply_bytes {
	const char *path;
	uint8_t *data;
	size_t len;
} fake_reply_bytes;

struct bench_fake {
	char path[108];
	char endpoint[128];
	grpc_server *srv;
	grpc_completion_queue *cq;
	pthread_t thr;
	bool thread_started;
	atomic_bool stopping;
	atomic_uint_fast64_t calls;
	int shutdown_tag; /* its address is the shutdown tag */
	int live;         /* fake_calls allocated; server thread only */
	fake_reply_bytes replies[3];
};

static uint8_t *pack_alloc(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len ? *len : 1);
	if (buf)
		protobuf_c_message_pack(m, buf);
	return buf;
}

/* The replies the fake gives; each must stay a valid encoding of its
 * method's response. */
static int fake_build_replies(bench_fake *f)
{
	Runtime__V1__VersionResponse v = RUNTIME__V1__VERSION_RESPONSE__INIT;
	v.version = "0.1.0";
	v.runtime_name = "critic-bench-fake";
	v.runtime_version = "1.0";
	v.runtime_api_version = "v1";
	f->replies[0].path = "/runtime.v1.RuntimeService/Version";
	f->replies[0].data = pack_alloc(&v.base, &f->replies[0].len);

	Runtime__V1__RuntimeCondition c[2] = { RUNTIME__V1__RUNTIME_CONDITION__INIT,
					       RUNTIME__V1__RUNTIME_CONDITION__INIT };
	Runtime__V1__RuntimeCondition *cp[2] = { &c[0], &c[1] };
	c[0].type = "RuntimeReady";
	c[1].type = "NetworkReady";
	c[0].status = c[1].status = true;
	c[0].reason = c[1].reason = c[0].message = c[1].message = "";
	Runtime__V1__RuntimeStatus rs = RUNTIME__V1__RUNTIME_STATUS__INIT;
	rs.conditions = cp;
	rs.n_conditions = 2;
	Runtime__V1__StatusResponse s = RUNTIME__V1__STATUS_RESPONSE__INIT;
	s.status = &rs;
	f->replies[1].path = "/runtime.v1.RuntimeService/Status";
	f->replies[1].data = pack_alloc(&s.base, &f->replies[1].len);

	/* A list like a node's: pods with ids, metadata and the labels critic
	 * and the kubelet put on them. */
	Runtime__V1__PodSandbox pods[BENCH_FAKE_PODS], *pp[BENCH_FAKE_PODS];
	Runtime__V1__PodSandboxMetadata md[BENCH_FAKE_PODS];
	Runtime__V1__PodSandbox__LabelsEntry lab[BENCH_FAKE_PODS][3], *lp[BENCH_FAKE_PODS][3];
	char ids[BENCH_FAKE_PODS][65], names[BENCH_FAKE_PODS][32], uids[BENCH_FAKE_PODS][40];
	static const char *const keys[3] = { "critic.io/owner", "critic.io/run-id", "io.kubernetes.pod.name" };
	for (int i = 0; i < BENCH_FAKE_PODS; i++) {
		runtime__v1__pod_sandbox__init(&pods[i]);
		runtime__v1__pod_sandbox_metadata__init(&md[i]);
		for (int k = 0; k < 64; k++)
			ids[i][k] = "0123456789abcdef"[(i * 7 + k * 13) & 15];
		ids[i][64] = '\0';
		snprintf(names[i], sizeof names[i], "bench-pod-%d", i);
		snprintf(uids[i], sizeof uids[i], "5f0c1d2e-0000-4000-8000-%012d", i);
		md[i].name = names[i];
		md[i].uid = uids[i];
		md[i].namespace_ = "default";
		pods[i].id = ids[i];
		pods[i].metadata = &md[i];
		pods[i].state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
		pods[i].created_at = 1700000000000000000LL + i;
		pods[i].runtime_handler = "runc";
		for (int k = 0; k < 3; k++) {
			runtime__v1__pod_sandbox__labels_entry__init(&lab[i][k]);
			lab[i][k].key = (char *)keys[k];
			lab[i][k].value = k == 2 ? names[i] : k == 1 ? "bench-20250101-000000-0000" : "critic";
			lp[i][k] = &lab[i][k];
		}
		pods[i].labels = lp[i];
		pods[i].n_labels = 3;
		pp[i] = &pods[i];
	}
	Runtime__V1__ListPodSandboxResponse l = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	l.items = pp;
	l.n_items = BENCH_FAKE_PODS;
	f->replies[2].path = "/runtime.v1.RuntimeService/ListPodSandbox";
	f->replies[2].data = pack_alloc(&l.base, &f->replies[2].len);
	for (size_t i = 0; i < ARRAY_SIZE(f->replies); i++)
		if (!f->replies[i].data)
			return -ENOMEM;
	return 0;
}

static void fake_free_call(fake_call *fc)
{
	if (fc->call)
		grpc_call_unref(fc->call);
	grpc_call_details_destroy(&fc->details);
	grpc_metadata_array_destroy(&fc->md);
	if (fc->req)
		grpc_byte_buffer_destroy(fc->req);
	if (fc->reply)
		grpc_byte_buffer_destroy(fc->reply);
	fc->f->live--;
	free(fc);
}

/* Ask gRPC for the next incoming call. */
static void fake_request(bench_fake *f)
{
	fake_call *fc = calloc(1, sizeof *fc);
	if (!fc)
		return;
	fc->f = f;
	grpc_call_details_init(&fc->details);
	grpc_metadata_array_init(&fc->md);
	f->live++;
	if (grpc_server_request_call(f->srv, &fc->call, &fc->details, &fc->md, f->cq, f->cq, fc) != GRPC_CALL_OK) {
		fc->call = NULL;
		fake_free_call(fc);
	}
}

/* One batch does the whole unary exchange: read the request, send the
 * reply and an OK status, and learn when the client is done. */
static void fake_answer(fake_call *fc)
{
	bench_fake *f = fc->f;
	const fake_reply_bytes *r = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(f->replies); i++)
		if (!grpc_slice_str_cmp(fc->details.method, f->replies[i].path))
			r = &f->replies[i];
	grpc_slice s = r ? grpc_slice_from_static_buffer(r->data, r->len) : grpc_empty_slice();
	fc->reply = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	grpc_op ops[5];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_RECV_MESSAGE;
	ops[1].data.recv_message.recv_message = &fc->req;
	ops[2].op = GRPC_OP_SEND_MESSAGE;
	ops[2].data.send_message.send_message = fc->reply;
	ops[3].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[3].data.send_status_from_server.status = GRPC_STATUS_OK;
	ops[4].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[4].data.recv_close_on_server.cancelled = &fc->cancelled;
	fc->stage = FK_ANSWER;
	atomic_fetch_add(&f->calls, 1);
	if (grpc_call_start_batch(fc->call, ops, ARRAY_SIZE(ops), fc, NULL) != GRPC_CALL_OK)
		fake_free_call(fc);
}

static void *fake_thread(void *arg)
{
	bench_fake *f = arg;
	bool shut = false;
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			f->cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN)),
			NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE) {
			if (ev.tag == &f->shutdown_tag) {
				shut = true;
			} else {
				fake_call *fc = ev.tag;
				if (fc->stage == FK_NEW && ev.success) {
					if (!atomic_load(&f->stopping))
						fake_request(f);
					fake_answer(fc);
				} else {
					fake_free_call(fc);
				}
			}
		}
		/* Shut down with every call answered or cancelled: bench_fake_stop
		 * destroys the server once this thread is gone. */
		if (shut && !f->live)
			break;
	}
	return NULL;
}

const char *bench_fake_endpoint(const bench_fake *f)
{
	return f->endpoint;
}

uint64_t bench_fake_calls(bench_fake *f)
{
	return atomic_load(&f->calls);
}

static void fake_free(bench_fake *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(f->replies); i++)
		free(f->replies[i].data);
	free(f);
}

int bench_fake_start(bench_fake **out, const char *path, crit_err *e)
{
	*out = NULL;
	if (strlen(path) >= sizeof(((bench_fake *)0)->path))
		return err_set(e, -ENAMETOOLONG, "fake server: socket path %s is too long", path);
	bench_fake *f = calloc(1, sizeof *f);
	if (!f)
		return err_set(e, -ENOMEM, "fake server: out of memory");
	snprintf(f->path, sizeof f->path, "%s", path);
	snprintf(f->endpoint, sizeof f->endpoint, "unix://%s", path);
	if (fake_build_replies(f) < 0) {
		fake_free(f);
		return err_set(e, -ENOMEM, "fake server: out of memory");
	}
	grpc_init();
	unlink(path);
	char addr[128];
	snprintf(addr, sizeof addr, "unix:%s", path);
	f->cq = grpc_completion_queue_create_for_next(NULL);
	f->srv = grpc_server_create(NULL, NULL);
	grpc_server_register_completion_queue(f->srv, f->cq, NULL);
	grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
	int port = grpc_server_add_http2_port(f->srv, addr, creds);
	grpc_server_credentials_release(creds);
	if (!port) {
		grpc_server_destroy(f->srv);
		grpc_completion_queue_shutdown(f->cq);
		while (grpc_completion_queue_next(f->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
		       GRPC_QUEUE_SHUTDOWN)
			;
		grpc_completion_queue_destroy(f->cq);
		fake_free(f);
		grpc_shutdown();
		return err_set(e, -EADDRNOTAVAIL, "fake server: cannot listen on %s", addr);
	}
	grpc_server_start(f->srv);
	/* A few calls waiting at once, so concurrent clients are not queued. */
	for (int i = 0; i < 4; i++)
		fake_request(f);
	if (pthread_create(&f->thr, NULL, fake_thread, f) != 0) {
		f->thread_started = false;
		bench_fake_stop(f);
		return err_set(e, -EAGAIN, "fake server: cannot start its thread");
	}
	f->thread_started = true;
	*out = f;
	return 0;
}

void bench_fake_stop(bench_fake *f)
{
	if (!f)
		return;
	atomic_store(&f->stopping, true);
	grpc_server_shutdown_and_notify(f->srv, f->cq, &f->shutdown_tag);
	grpc_server_cancel_all_calls(f->srv);
	if (f->thread_started)
		pthread_join(f->thr, NULL);
	else
		fake_thread(f);
	grpc_server_destroy(f->srv);
	grpc_completion_queue_shutdown(f->cq);
	while (grpc_completion_queue_next(f->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(f->cq);
	unlink(f->path);
	fake_free(f);
	grpc_shutdown();
}

/* ================================================================ overhead */

static gpr_timespec deadline_ms(int ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* The least a C client can do for a unary call: one batch with the
 * request bytes as they are, the reply bytes dropped undecoded. */
static int raw_call(grpc_channel *ch, grpc_completion_queue *cq, grpc_slice method, const uint8_t *req,
		    size_t req_len)
{
	grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
						   deadline_ms(5000), NULL);
	grpc_slice s = grpc_slice_from_static_buffer(req, req_len);
	grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&s, 1), *recv = NULL;
	grpc_metadata_array imd, tmd;
	grpc_metadata_array_init(&imd);
	grpc_metadata_array_init(&tmd);
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &imd;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &tmd;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	int rc = -EIO;
	if (grpc_call_start_batch(call, ops, ARRAY_SIZE(ops), (void *)1, NULL) == GRPC_CALL_OK) {
		grpc_event ev = grpc_completion_queue_pluck(cq, (void *)1, deadline_ms(7000), NULL);
		if (ev.type == GRPC_QUEUE_TIMEOUT) {
			grpc_call_cancel(call, NULL);
			grpc_completion_queue_pluck(cq, (void *)1, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		} else if (ev.success && status == GRPC_STATUS_OK && recv) {
			rc = 0;
		}
	}
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&imd);
	grpc_metadata_array_destroy(&tmd);
	grpc_call_unref(call);
	return rc;
}

/* A request for each method the overhead is measured with. */
typedef struct any_request {
	union {
		ProtobufCMessage base;
		Runtime__V1__VersionRequest version;
		Runtime__V1__StatusRequest status;
		Runtime__V1__ListPodSandboxRequest list_pods;
	} u;
} any_request;

static int request_for(const char *method, any_request *r)
{
	if (!strcmp(method, "Version")) {
		runtime__v1__version_request__init(&r->u.version);
		r->u.version.version = "v1";
	} else if (!strcmp(method, "Status")) {
		runtime__v1__status_request__init(&r->u.status);
	} else if (!strcmp(method, "ListPodSandbox")) {
		runtime__v1__list_pod_sandbox_request__init(&r->u.list_pods);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* Rounds alternate the variants so drift (other load, CPU frequency) hits
 * both alike. */
#define OVH_ROUNDS 10
#define OVH_WARMUP 100

int bench_measure_overhead(const char *endpoint, const char *method, size_t calls, bench_overhead *out,
			   crit_err *e)
{
	memset(out, 0, sizeof *out);
	out->method = method;
	out->raw_p50_ns = out->cri_p50_ns = -1;
	any_request req;
	const char *service = NULL;
	if (request_for(method, &req) < 0 || !cri_method(method, &service))
		return err_set(e, -EINVAL, "overhead: no request for method %s", method);
	if (calls < OVH_ROUNDS)
		calls = OVH_ROUNDS;
	size_t per_round = calls / OVH_ROUNDS;
	out->calls = per_round * OVH_ROUNDS;

	cri_conn *conn = NULL;
	int rc = cri_connect(&conn, endpoint, NULL, 5000, e);
	if (rc < 0)
		return rc;
	/* gRPC is initialised now (by cri_connect); the raw client gets a
	 * channel of its own. */
	size_t req_len = 0;
	cleanup_free uint8_t *req_bytes = pack_alloc(&req.u.base, &req_len);
	char path[128];
	snprintf(path, sizeof path, "/%s/%s", service, method);
	grpc_slice mslice = grpc_slice_from_copied_string(path);
	/* The channel settings cri_connect uses that matter per call: no
	 * retries (their filter buffers every message), a connection of its own. */
	grpc_arg args[] = {
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1 },
	};
	grpc_channel_args ca = { .num_args = ARRAY_SIZE(args), .args = args };
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(endpoint, creds, &ca);
	grpc_channel_credentials_release(creds);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	bench_series raw, cri;
	bench_series_init(&raw);
	bench_series_init(&cri);
	crit_err ce;
	err_clear(&ce);
	if (!req_bytes) {
		rc = err_set(e, -ENOMEM, "overhead: out of memory");
		goto out;
	}
	for (int i = 0; i < OVH_WARMUP; i++) {
		ProtobufCMessage *resp = NULL;
		raw_call(ch, cq, mslice, req_bytes, req_len);
		if (cri_call(conn, method, &req.u.base, &resp, 0, &ce) == 0)
			cri_free(resp);
	}
	for (int r = 0; r < OVH_ROUNDS; r++) {
		for (size_t i = 0; i < per_round; i++) {
			int64_t t0 = bench_now_ns();
			int crc = raw_call(ch, cq, mslice, req_bytes, req_len);
			bench_series_add(&raw, bench_now_ns() - t0, crc == 0, "raw gRPC call failed");
		}
		for (size_t i = 0; i < per_round; i++) {
			ProtobufCMessage *resp = NULL;
			int64_t t0 = bench_now_ns();
			int crc = cri_call(conn, method, &req.u.base, &resp, 0, &ce);
			cri_free(resp); /* freeing the reply is part of critic's cost */
			bench_series_add(&cri, bench_now_ns() - t0, crc == 0, ce.msg);
		}
	}
	bench_summary sr, sc;
	if (bench_summarize(&raw, 0, &sr) < 0 || bench_summarize(&cri, 0, &sc) < 0) {
		rc = err_set(e, -ENOMEM, "overhead: out of memory");
		goto out;
	}
	out->raw_p50_ns = sr.p50_ns;
	out->cri_p50_ns = sc.p50_ns;
	out->errors = raw.errors + cri.errors;
	if (out->errors)
		rc = err_set(e, -EIO, "overhead %s on %s: %llu of %zu calls failed: %s", method, endpoint,
			     (unsigned long long)out->errors, 2 * out->calls,
			     cri.first_error[0] ? cri.first_error : raw.first_error);
out:
	bench_series_free(&raw);
	bench_series_free(&cri);
	grpc_completion_queue_shutdown(cq); /* every tag was plucked already */
	grpc_completion_queue_destroy(cq);
	grpc_channel_destroy(ch);
	grpc_slice_unref(mslice);
	cri_close(conn);
	return rc;
}

/* ================================================================ configuration */

/* The RPCs timed against the runtime, in the order the tables show them. */
enum {
	R_RUN_POD, R_POD_STATUS, R_CREATE_CTR, R_START_CTR, R_CTR_STATUS, R_EXEC_SYNC, R_LIST_PODS, R_LIST_CTRS,
	R_STOP_CTR, R_REMOVE_CTR, R_STOP_POD, R_REMOVE_POD, R_PULL, R_IMAGE_STATUS, R_LIST_IMAGES, R_REMOVE_IMAGE,
	R_N
};
static const char *const rpc_names[R_N] = {
	"RunPodSandbox", "PodSandboxStatus", "CreateContainer", "StartContainer", "ContainerStatus", "ExecSync",
	"ListPodSandbox", "ListContainers", "StopContainer", "RemoveContainer", "StopPodSandbox",
	"RemovePodSandbox", "PullImage", "ImageStatus", "ListImages", "RemoveImage",
};

#define BENCH_MAX_GROW 8
#define BENCH_MAX_OBJECTS 1000
#define BENCH_EXEC_TIMEOUT_S 10
#define BENCH_STOP_TIMEOUT_S 10
#define BENCH_FAULT_TARGET_MS 50

typedef struct bench_cfg {
	/* Where, resolved like every other critic command. */
	char endpoint[EP_MAX], image_endpoint[EP_MAX], source[EP_MAX];
	int timeout_ms;
	bool is_lab;
	char lab_dir[PATH_MAX];
	char run_id[48];
	char handler[64];
	char busybox[256], pause[256];
	char pull[2][256];
	int n_pull;
	/* What. */
	int pods, ctrs, workers, reps;
	int grow[BENCH_MAX_GROW];
	size_t n_grow;
	bool lifecycle, overhead;
	size_t calls;
	int faults;
	const char *json, *html, *conformance_log;
	int64_t deadline_ns;
	/* The user's endpoint options, handed on to the conformance run. */
	const char *opt_runtime, *opt_image, *opt_config, *opt_timeout, *opt_dir;
} bench_cfg;

static volatile sig_atomic_t bench_stop;

static void on_signal(int sig)
{
	(void)sig;
	bench_stop = 1; /* the handler is reset: a second signal ends the program */
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double ms_of(int64_t ns)
{
	return ns < 0 ? -1 : (double)ns / 1e6;
}

static double us_of(int64_t ns)
{
	return ns < 0 ? -1 : (double)ns / 1e3;
}

/* A double rounded to 3 decimals, for JSON readers' eyes. */
static json_object *jnum(double v)
{
	return json_object_new_double((double)(int64_t)(v * 1000.0 + (v < 0 ? -0.5 : 0.5)) / 1000.0);
}

/* ================================================================ lifecycle objects */

typedef struct lc_ctr {
	Runtime__V1__ContainerConfig cfg;
	Runtime__V1__ContainerMetadata md;
	Runtime__V1__ImageSpec img;
	Runtime__V1__ContainerConfig__LabelsEntry lab[3];
	Runtime__V1__ContainerConfig__LabelsEntry *labp[3];
	Runtime__V1__LinuxContainerConfig lx;
	Runtime__V1__LinuxContainerSecurityContext sc;
	Runtime__V1__NamespaceOption ns;
	char name[32], log[48];
	char *id;
	bool started;
} lc_ctr;

typedef struct lc_pod {
	Runtime__V1__PodSandboxConfig cfg;
	Runtime__V1__PodSandboxMetadata md;
	Runtime__V1__PodSandboxConfig__LabelsEntry lab[3];
	Runtime__V1__PodSandboxConfig__LabelsEntry *labp[3];
	Runtime__V1__LinuxPodSandboxConfig lx;
	Runtime__V1__LinuxSandboxSecurityContext sc;
	Runtime__V1__NamespaceOption ns;
	char name[64], uid[96], logdir[PATH_MAX];
	char *id;
} lc_pod;

typedef struct lc_worker {
	cri_conn *conn;
	bench_series s[R_N];
	crit_err err;
} lc_worker;

typedef struct lc_run {
	const bench_cfg *cfg;
	int pods, ctrs, workers;
	bool images;            /* the image phase runs too */
	lc_pod *pod;
	lc_ctr *ctr;            /* pods * ctrs, pod i's j-th at i * ctrs + j */
	lc_worker *w;
	bench_series total[R_N];
	int64_t wall_ns[R_N];   /* wall time of the phases each RPC was timed in */
	int64_t per_pod_wall_ns; /* the phases every pod goes through, end to end */
	atomic_size_t listed_pods, listed_ctrs;
	size_t skipped;         /* items never started: time was up or a stop was asked */
	size_t left;            /* objects the final sweep still had to remove */
} lc_run;

/* The container's shell ends at once on SIGTERM: StopContainer times a
 * graceful stop, not its timeout. */
static char *ctr_cmd[] = { "sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait", NULL };
static char *exec_cmd[] = { "true", NULL };

static void set_labels(void *entries, void **ptrs, size_t entry_size, void (*init)(void *), const bench_cfg *cfg)
{
	static const char *const keys[3] = { TST_LABEL_OWNER, TST_LABEL_RUN, TST_LABEL_TEST };
	for (size_t k = 0; k < 3; k++) {
		/* Every map entry protoc-c makes is { base, key, value }. */
		struct kv { ProtobufCMessage base; char *key; char *value; } *ent =
			(void *)((char *)entries + k * entry_size);
		init(ent);
		ent->key = (char *)keys[k];
		ent->value = k == 0 ? "critic" : k == 1 ? (char *)cfg->run_id : "bench";
		ptrs[k] = ent;
	}
}

static void pod_label_init(void *p) { runtime__v1__pod_sandbox_config__labels_entry__init(p); }
static void ctr_label_init(void *p) { runtime__v1__container_config__labels_entry__init(p); }

static void pod_init(lc_pod *p, const bench_cfg *cfg, int seq, int i)
{
	runtime__v1__pod_sandbox_config__init(&p->cfg);
	runtime__v1__pod_sandbox_metadata__init(&p->md);
	snprintf(p->name, sizeof p->name, "bench-%d-%d", seq, i);
	snprintf(p->uid, sizeof p->uid, "%s-%d-%d", cfg->run_id, seq, i);
	snprintf(p->logdir, sizeof p->logdir, "/var/log/critic/%s/%s", cfg->run_id, p->uid);
	p->md.name = p->name;
	p->md.uid = p->uid;
	p->md.namespace_ = "critic-bench";
	p->cfg.metadata = &p->md;
	p->cfg.hostname = "critic-bench";
	p->cfg.log_directory = p->logdir;
	set_labels(p->lab, (void **)p->labp, sizeof p->lab[0], pod_label_init, cfg);
	p->cfg.labels = p->labp;
	p->cfg.n_labels = 3;
	runtime__v1__linux_pod_sandbox_config__init(&p->lx);
	runtime__v1__linux_sandbox_security_context__init(&p->sc);
	runtime__v1__namespace_option__init(&p->ns);
	p->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER; /* the kubelet's default */
	p->sc.namespace_options = &p->ns;
	p->lx.security_context = &p->sc;
	p->cfg.linux_ = &p->lx;
}

static void ctr_init(lc_ctr *c, const bench_cfg *cfg, int j)
{
	runtime__v1__container_config__init(&c->cfg);
	runtime__v1__container_metadata__init(&c->md);
	runtime__v1__image_spec__init(&c->img);
	snprintf(c->name, sizeof c->name, "c%d", j);
	snprintf(c->log, sizeof c->log, "c%d.log", j);
	c->md.name = c->name;
	c->cfg.metadata = &c->md;
	c->img.image = (char *)cfg->busybox;
	c->cfg.image = &c->img;
	c->cfg.command = ctr_cmd;
	c->cfg.n_command = 3;
	c->cfg.log_path = c->log;
	set_labels(c->lab, (void **)c->labp, sizeof c->lab[0], ctr_label_init, cfg);
	c->cfg.labels = c->labp;
	c->cfg.n_labels = 3;
	runtime__v1__linux_container_config__init(&c->lx);
	runtime__v1__linux_container_security_context__init(&c->sc);
	runtime__v1__namespace_option__init(&c->ns);
	c->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	c->sc.namespace_options = &c->ns;
	c->lx.security_context = &c->sc;
	c->cfg.linux_ = &c->lx;
}

/* One timed call on the worker's own connection; every call is recorded,
 * failed or not. */
static int timed(lc_run *r, int wk, int rpc, const ProtobufCMessage *req, void *respp, int tmo)
{
	lc_worker *w = &r->w[wk];
	int64_t t0 = bench_now_ns();
	int rc = cri_call(w->conn, rpc_names[rpc], req, (ProtobufCMessage **)respp, tmo, &w->err);
	int64_t d = bench_now_ns() - t0;
	bench_series_add(&w->s[rpc], d, rc == 0, w->err.msg);
	return rc;
}

/* A timed call whose request is one id (the request built before the clock starts). */
static int timed_id(lc_run *r, int wk, int rpc, const char *field, const char *id)
{
	lc_worker *w = &r->w[wk];
	ProtobufCMessage *req = cri_id_request(rpc_names[rpc], field, id, &w->err), *resp = NULL;
	if (!req) {
		bench_series_add(&w->s[rpc], 0, false, w->err.msg);
		return -1;
	}
	int rc = timed(r, wk, rpc, req, &resp, 0);
	cri_free(resp);
	free(req);
	return rc;
}

static char *dup_id(const char *id)
{
	return id && *id ? strdup(id) : NULL;
}

/* ---- one item of each phase */

static void ph_run_pod(void *arg, int wk, size_t i)
{
	lc_run *r = arg;
	lc_pod *p = &r->pod[i];
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *resp = NULL;
	req.config = &p->cfg;
	req.runtime_handler = (char *)r->cfg->handler;
	/* The kubelet gives RunPodSandbox twice the usual deadline. */
	if (timed(r, wk, R_RUN_POD, &req.base, &resp, 2 * r->cfg->timeout_ms) == 0)
		p->id = dup_id(resp->pod_sandbox_id);
	cri_free(resp);
}

static void ph_pod_status(void *arg, int wk, size_t i)
{
	lc_run *r = arg;
	if (!r->pod[i].id)
		return;
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	Runtime__V1__PodSandboxStatusResponse *resp = NULL;
	req.pod_sandbox_id = r->pod[i].id;
	timed(r, wk, R_POD_STATUS, &req.base, &resp, 0);
	cri_free(resp);
}

static void ph_create_ctr(void *arg, int wk, size_t k)
{
	lc_run *r = arg;
	lc_pod *p = &r->pod[k / (size_t)r->ctrs];
	if (!p->id)
		return;
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *resp = NULL;
	req.pod_sandbox_id = p->id;
	req.config = &r->ctr[k].cfg;
	req.sandbox_config = &p->cfg;
	if (timed(r, wk, R_CREATE_CTR, &req.base, &resp, 0) == 0)
		r->ctr[k].id = dup_id(resp->container_id);
	cri_free(resp);
}

static void ph_start_ctr(void *arg, int wk, size_t k)
{
	lc_run *r = arg;
	lc_ctr *c = &r->ctr[k];
	if (c->id && timed_id(r, wk, R_START_CTR, "container_id", c->id) == 0)
		c->started = true;
}

static void ph_ctr_status(void *arg, int wk, size_t k)
{
	lc_run *r = arg;
	if (r->ctr[k].id)
		timed_id(r, wk, R_CTR_STATUS, "container_id", r->ctr[k].id);
}

static void ph_exec(void *arg, int wk, size_t k)
{
	lc_run *r = arg;
	if (!r->ctr[k].started)
		return;
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	Runtime__V1__ExecSyncResponse *resp = NULL;
	req.container_id = r->ctr[k].id;
	req.cmd = exec_cmd;
	req.n_cmd = 1;
	req.timeout = BENCH_EXEC_TIMEOUT_S;
	timed(r, wk, R_EXEC_SYNC, &req.base, &resp, r->cfg->timeout_ms + BENCH_EXEC_TIMEOUT_S * 1000);
	cri_free(resp);
}

static void ph_list_pods(void *arg, int wk, size_t k)
{
	(void)k;
	lc_run *r = arg;
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	if (timed(r, wk, R_LIST_PODS, &req.base, &resp, 0) == 0)
		atomic_store(&r->listed_pods, resp->n_items);
	cri_free(resp);
}

static void ph_list_ctrs(void *arg, int wk, size_t k)
{
	(void)k;
	lc_run *r = arg;
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *resp = NULL;
	if (timed(r, wk, R_LIST_CTRS, &req.base, &resp, 0) == 0)
		atomic_store(&r->listed_ctrs, resp->n_containers);
	cri_free(resp);
}

static void ph_stop_ctr(void *arg, int wk, size_t k)
{
	lc_run *r = arg;
	if (!r->ctr[k].id)
		return;
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	Runtime__V1__StopContainerResponse *resp = NULL;
	req.container_id = r->ctr[k].id;
	req.timeout = BENCH_STOP_TIMEOUT_S;
	timed(r, wk, R_STOP_CTR, &req.base, &resp, r->cfg->timeout_ms + BENCH_STOP_TIMEOUT_S * 1000);
	cri_free(resp);
}

static void ph_remove_ctr(void *arg, int wk, size_t k)
{
	lc_run *r = arg;
	lc_ctr *c = &r->ctr[k];
	if (c->id && timed_id(r, wk, R_REMOVE_CTR, "container_id", c->id) == 0) {
		free(c->id);
		c->id = NULL;
	}
}

static void ph_stop_pod(void *arg, int wk, size_t i)
{
	lc_run *r = arg;
	if (r->pod[i].id)
		timed_id(r, wk, R_STOP_POD, "pod_sandbox_id", r->pod[i].id);
}

static void ph_remove_pod(void *arg, int wk, size_t i)
{
	lc_run *r = arg;
	lc_pod *p = &r->pod[i];
	if (p->id && timed_id(r, wk, R_REMOVE_POD, "pod_sandbox_id", p->id) == 0) {
		free(p->id);
		p->id = NULL;
	}
}

/* ImageStatus: 1 present, 0 absent, < 0 the call failed. Timed when
 * record is set. */
static int image_present(lc_run *r, int wk, Runtime__V1__ImageSpec *spec, bool record)
{
	Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageStatusResponse *resp = NULL;
	req.image = spec;
	int rc = record ? timed(r, wk, R_IMAGE_STATUS, &req.base, &resp, 0)
			: cri_call(r->w[wk].conn, "ImageStatus", &req.base, (ProtobufCMessage **)&resp, 0, &r->w[wk].err);
	if (rc == 0)
		rc = resp->image != NULL;
	cri_free(resp);
	return rc;
}

static int image_pull(lc_run *r, int wk, Runtime__V1__ImageSpec *spec, bool record)
{
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *resp = NULL;
	req.image = spec;
	int tmo = 6 * r->cfg->timeout_ms;
	int rc = record ? timed(r, wk, R_PULL, &req.base, &resp, tmo)
			: cri_call(r->w[wk].conn, "PullImage", &req.base, (ProtobufCMessage **)&resp, tmo, &r->w[wk].err);
	cri_free(resp);
	return rc;
}

static int image_remove(lc_run *r, int wk, Runtime__V1__ImageSpec *spec, bool record)
{
	Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__RemoveImageResponse *resp = NULL;
	req.image = spec;
	int rc = record ? timed(r, wk, R_REMOVE_IMAGE, &req.base, &resp, 0)
			: cri_call(r->w[wk].conn, "RemoveImage", &req.base, (ProtobufCMessage **)&resp, 0, &r->w[wk].err);
	cri_free(resp);
	return rc;
}

/* One image, reps times: pull it, ask its status, list the images,
 * remove it. Each worker has an image of its own (image-a, image-b: never
 * busybox), left at the end as it was found. */
static void ph_image_cycles(void *arg, int wk, size_t i)
{
	lc_run *r = arg;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)r->cfg->pull[i];
	int had = image_present(r, wk, &spec, true);
	if (had < 0)
		return;
	bool present = had;
	for (int k = 0; k < r->cfg->reps && !bench_stop; k++) {
		if (r->cfg->deadline_ns && bench_now_ns() >= r->cfg->deadline_ns)
			break;
		if (present && image_remove(r, wk, &spec, true) == 0)
			present = false;
		if (image_pull(r, wk, &spec, true) == 0)
			present = true;
		image_present(r, wk, &spec, true);
		Runtime__V1__ListImagesRequest lreq = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
		Runtime__V1__ListImagesResponse *lresp = NULL;
		timed(r, wk, R_LIST_IMAGES, &lreq.base, &lresp, 0);
		cri_free(lresp);
		if (present && image_remove(r, wk, &spec, true) == 0)
			present = false;
	}
	if (had && !present)
		image_pull(r, wk, &spec, false);
	else if (!had && present)
		image_remove(r, wk, &spec, false);
}

/* ---- cleanup by label */

/* Remove every container and pod carrying this run's label: what the
 * phases could not remove (a failed call, time up, a stop asked). Returns
 * how many objects it found. */
static int sweep(const bench_cfg *cfg, cri_conn *c, crit_err *e)
{
	int found = 0, rc = 0;
	Runtime__V1__ContainerFilter__LabelSelectorEntry cl = RUNTIME__V1__CONTAINER_FILTER__LABEL_SELECTOR_ENTRY__INIT;
	Runtime__V1__ContainerFilter__LabelSelectorEntry *clp = &cl;
	cl.key = TST_LABEL_RUN;
	cl.value = (char *)cfg->run_id;
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;
	cf.label_selector = &clp;
	cf.n_label_selector = 1;
	Runtime__V1__ListContainersRequest lc = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	lc.filter = &cf;
	Runtime__V1__ListContainersResponse *lcr = NULL;
	if ((rc = CRI_CALL(c, ListContainers, &lc, &lcr, e)) < 0)
		return err_wrap(e, "cleanup of run %s", cfg->run_id);
	for (size_t i = 0; i < lcr->n_containers; i++) {
		found++;
		Runtime__V1__StopContainerRequest sr = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
		Runtime__V1__StopContainerResponse *srr = NULL;
		Runtime__V1__RemoveContainerRequest rr = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
		Runtime__V1__RemoveContainerResponse *rrr = NULL;
		sr.container_id = rr.container_id = lcr->containers[i]->id;
		CRI_CALL(c, StopContainer, &sr, &srr, NULL);
		if (CRI_CALL(c, RemoveContainer, &rr, &rrr, e) < 0 && e->grpc_status != 5 /* NOT_FOUND */)
			rc = err_wrap(e, "cleanup of run %s", cfg->run_id);
		cri_free(srr);
		cri_free(rrr);
	}
	cri_free(lcr);
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry pl = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *plp = &pl;
	pl.key = TST_LABEL_RUN;
	pl.value = (char *)cfg->run_id;
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	pf.label_selector = &plp;
	pf.n_label_selector = 1;
	Runtime__V1__ListPodSandboxRequest lp = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	lp.filter = &pf;
	Runtime__V1__ListPodSandboxResponse *lpr = NULL;
	if (CRI_CALL(c, ListPodSandbox, &lp, &lpr, e) < 0)
		return err_wrap(e, "cleanup of run %s", cfg->run_id);
	for (size_t i = 0; i < lpr->n_items; i++) {
		found++;
		Runtime__V1__StopPodSandboxRequest sr = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__StopPodSandboxResponse *srr = NULL;
		Runtime__V1__RemovePodSandboxRequest rr = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__RemovePodSandboxResponse *rrr = NULL;
		sr.pod_sandbox_id = rr.pod_sandbox_id = lpr->items[i]->id;
		CRI_CALL(c, StopPodSandbox, &sr, &srr, NULL);
		if (CRI_CALL(c, RemovePodSandbox, &rr, &rrr, e) < 0 && e->grpc_status != 5)
			rc = err_wrap(e, "cleanup of run %s", cfg->run_id);
		cri_free(srr);
		cri_free(rrr);
	}
	cri_free(lpr);
	return rc < 0 ? rc : found;
}

/* ---- a whole run */

static void lc_free(lc_run *r)
{
	for (int i = 0; r->pod && i < r->pods; i++)
		free(r->pod[i].id);
	for (int k = 0; r->ctr && k < r->pods * r->ctrs; k++)
		free(r->ctr[k].id);
	for (int w = 0; r->w && w < r->workers; w++) {
		cri_close(r->w[w].conn);
		for (int i = 0; i < R_N; i++)
			bench_series_free(&r->w[w].s[i]);
	}
	for (int i = 0; i < R_N; i++)
		bench_series_free(&r->total[i]);
	free(r->pod);
	free(r->ctr);
	free(r->w);
}

/* Run one phase; cleanup phases (may_stop false) run whatever the clock
 * says. Its wall time is charged to the RPCs it times. */
static void lc_phase(lc_run *r, bench_item_fn fn, size_t items, int workers, bool may_stop, const int *rpcs,
		     size_t n_rpcs, bool per_pod)
{
	if (!items)
		return;
	bench_phase ph = { .items = items, .workers = workers < (int)items ? workers : (int)items, .fn = fn, .arg = r };
	if (may_stop) {
		ph.deadline_ns = r->cfg->deadline_ns;
		ph.stop = &bench_stop;
	}
	crit_err e;
	if (bench_phase_run(&ph, &e) < 0) {
		progress("%s", e.msg);
		return;
	}
	r->skipped += items - ph.started;
	for (size_t i = 0; i < n_rpcs; i++)
		r->wall_ns[rpcs[i]] += ph.wall_ns;
	if (per_pod)
		r->per_pod_wall_ns += ph.wall_ns;
}

#define ONE(rpc) ((const int[]){ rpc }), 1

static int lc_execute(lc_run *r, crit_err *e)
{
	const bench_cfg *cfg = r->cfg;
	size_t np = (size_t)r->pods, nc = (size_t)r->pods * (size_t)r->ctrs;
	int W = r->workers;
	for (int w = 0; w < W; w++) {
		int rc = cri_connect(&r->w[w].conn, cfg->endpoint, cfg->image_endpoint, cfg->timeout_ms, e);
		if (rc < 0)
			return rc;
		/* Dial now, so no timed call pays for the connection. */
		Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *v = NULL;
		if ((rc = CRI_CALL(r->w[w].conn, Version, &vreq, &v, e)) < 0)
			return rc;
		cri_free(v);
	}
	for (size_t i = 0; i < np; i++)
		if (util_mkdir_p(r->pod[i].logdir, 0755, e) < 0)
			return e->code;
	lc_phase(r, ph_run_pod, np, W, true, ONE(R_RUN_POD), true);
	lc_phase(r, ph_pod_status, np, W, true, ONE(R_POD_STATUS), true);
	if (cfg->busybox[0]) {
		lc_phase(r, ph_create_ctr, nc, W, true, ONE(R_CREATE_CTR), true);
		lc_phase(r, ph_start_ctr, nc, W, true, ONE(R_START_CTR), true);
		lc_phase(r, ph_ctr_status, nc, W, true, ONE(R_CTR_STATUS), true);
		lc_phase(r, ph_exec, nc, W, true, ONE(R_EXEC_SYNC), true);
	}
	/* Lists with every pod and container of this run present. */
	lc_phase(r, ph_list_pods, (size_t)cfg->reps, W, true, ONE(R_LIST_PODS), false);
	lc_phase(r, ph_list_ctrs, (size_t)cfg->reps, W, true, ONE(R_LIST_CTRS), false);
	lc_phase(r, ph_stop_ctr, nc, W, false, ONE(R_STOP_CTR), true);
	lc_phase(r, ph_remove_ctr, nc, W, false, ONE(R_REMOVE_CTR), true);
	lc_phase(r, ph_stop_pod, np, W, false, ONE(R_STOP_POD), true);
	lc_phase(r, ph_remove_pod, np, W, false, ONE(R_REMOVE_POD), true);
	if (r->images && cfg->n_pull)
		lc_phase(r, ph_image_cycles, (size_t)cfg->n_pull, W, true,
			 (const int[]){ R_PULL, R_IMAGE_STATUS, R_LIST_IMAGES, R_REMOVE_IMAGE }, 4, false);
	for (int w = 0; w < W; w++)
		for (int i = 0; i < R_N; i++)
			if (bench_series_merge(&r->total[i], &r->w[w].s[i]) < 0)
				return err_set(e, -ENOMEM, "bench: out of memory");
	return 0;
}

/* Run a lifecycle with `pods` pods; whatever happens, everything it made
 * is removed before it returns. */
static int lc_bench(lc_run *r, const bench_cfg *cfg, int seq, int pods, bool images, crit_err *e)
{
	memset(r, 0, sizeof *r);
	r->cfg = cfg;
	r->pods = pods;
	r->ctrs = cfg->busybox[0] ? cfg->ctrs : 0;
	r->workers = cfg->workers;
	r->images = images;
	r->pod = calloc((size_t)pods, sizeof *r->pod);
	r->ctr = calloc((size_t)pods * (size_t)(r->ctrs ? r->ctrs : 1), sizeof *r->ctr);
	r->w = calloc((size_t)r->workers, sizeof *r->w);
	if (!r->pod || !r->ctr || !r->w)
		return err_set(e, -ENOMEM, "bench: out of memory");
	for (int i = 0; i < pods; i++) {
		pod_init(&r->pod[i], cfg, seq, i);
		for (int j = 0; j < r->ctrs; j++)
			ctr_init(&r->ctr[i * r->ctrs + j], cfg, j);
	}
	for (int w = 0; w < r->workers; w++)
		for (int i = 0; i < R_N; i++)
			bench_series_init(&r->w[w].s[i]);
	for (int i = 0; i < R_N; i++)
		bench_series_init(&r->total[i]);
	int rc = lc_execute(r, e);
	/* Sweep by label on a connection of its own, also after a failure. */
	crit_err se;
	err_clear(&se);
	cri_conn *c = NULL;
	int src = cri_connect(&c, cfg->endpoint, cfg->image_endpoint, cfg->timeout_ms, &se);
	if (src == 0)
		src = sweep(cfg, c, &se);
	cri_close(c);
	if (src > 0) {
		r->left = (size_t)src;
		progress("cleanup: removed %d leftover object(s) of run %s", src, cfg->run_id);
	} else if (src < 0) {
		progress("cleanup failed: %s", se.msg);
		if (rc == 0) {
			*e = se;
			rc = se.code;
		}
	}
	return rc;
}

/* Sum of the mean latencies a pod and its containers go through: the
 * serial cost of one pod. */
static double per_pod_cost_ns(const lc_run *r, const bench_summary *s)
{
	static const int pod_rpcs[] = { R_RUN_POD, R_POD_STATUS, R_STOP_POD, R_REMOVE_POD };
	static const int ctr_rpcs[] = { R_CREATE_CTR, R_START_CTR, R_CTR_STATUS, R_EXEC_SYNC, R_STOP_CTR, R_REMOVE_CTR };
	double t = 0;
	for (size_t i = 0; i < ARRAY_SIZE(pod_rpcs); i++)
		t += s[pod_rpcs[i]].mean_ns;
	for (size_t i = 0; i < ARRAY_SIZE(ctr_rpcs); i++)
		t += (double)r->ctrs * s[ctr_rpcs[i]].mean_ns;
	return t;
}

static json_object *summary_json(const bench_series *s, const bench_summary *m, int64_t wall_ns)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "calls", json_object_new_int64((int64_t)m->calls));
	json_object_object_add(o, "errors", json_object_new_int64((int64_t)m->errors));
	if (m->calls) {
		json_object_object_add(o, "p50_ms", jnum(ms_of(m->p50_ns)));
		json_object_object_add(o, "p95_ms", jnum(ms_of(m->p95_ns)));
		json_object_object_add(o, "p99_ms", jnum(ms_of(m->p99_ns)));
		json_object_object_add(o, "max_ms", jnum(ms_of(m->max_ns)));
		json_object_object_add(o, "min_ms", jnum(ms_of(m->min_ns)));
		json_object_object_add(o, "mean_ms", jnum(m->mean_ns / 1e6));
	}
	json_object_object_add(o, "ops_per_s", jnum(m->ops_per_s));
	json_object_object_add(o, "phase_wall_ms", jnum(ms_of(wall_ns)));
	if (s->first_error[0])
		json_object_object_add(o, "first_error", json_object_new_string(s->first_error));
	/* The distribution: [lowest ns, highest ns, count] of each bucket used. */
	json_object *h = json_object_new_array();
	for (size_t b = 0; b < BENCH_HIST_BUCKETS; b++) {
		if (!s->hist.buckets[b])
			continue;
		json_object *row = json_object_new_array();
		json_object_array_add(row, json_object_new_int64(bench_hist_lower(b)));
		json_object_array_add(row, json_object_new_int64(bench_hist_upper(b)));
		json_object_array_add(row, json_object_new_int64((int64_t)s->hist.buckets[b]));
		json_object_array_add(h, row);
	}
	json_object_object_add(o, "histogram_ns", h);
	return o;
}

static void print_ms(double ms)
{
	if (ms < 0)
		printf(" %9s", "-");
	else
		printf(" %9.3f", ms);
}

/* The per-RPC table of one run; fills sum[R_N]. Returns how many calls failed. */
static uint64_t lc_report(const lc_run *r, bench_summary *sum, json_object *rpcs)
{
	uint64_t errors = 0;
	printf("  %-18s %6s %6s %9s %9s %9s %9s %9s %9s\n", "RPC", "calls", "errors", "p50 ms", "p95 ms", "p99 ms",
	       "max ms", "mean ms", "ops/s");
	for (int i = 0; i < R_N; i++) {
		bench_summarize(&r->total[i], r->wall_ns[i], &sum[i]);
		const bench_summary *m = &sum[i];
		errors += m->errors;
		if (!m->calls && !m->errors)
			continue;
		printf("  %-18s %6llu %6llu", rpc_names[i], (unsigned long long)m->calls, (unsigned long long)m->errors);
		print_ms(ms_of(m->p50_ns));
		print_ms(ms_of(m->p95_ns));
		print_ms(ms_of(m->p99_ns));
		print_ms(ms_of(m->max_ns));
		print_ms(m->calls ? m->mean_ns / 1e6 : -1);
		printf(" %9.1f\n", m->ops_per_s);
		if (rpcs)
			json_object_object_add(rpcs, rpc_names[i], summary_json(&r->total[i], m, r->wall_ns[i]));
	}
	for (int i = 0; i < R_N; i++)
		if (r->total[i].first_error[0])
			printf("  first %s error: %s\n", rpc_names[i], r->total[i].first_error);
	return errors;
}

/* ================================================================ overhead and proxy */

/* Version through two endpoints, alternating in rounds: the direct one and
 * the proxied one. Medians in ns; *errors counts failed calls. */
static int direct_vs_proxy(const char *direct, const char *proxied, const char *method, size_t calls, int64_t *d_p50,
			   int64_t *p_p50, uint64_t *errors, crit_err *e)
{
	*d_p50 = *p_p50 = -1;
	*errors = 0;
	any_request req;
	if (request_for(method, &req) < 0)
		return err_set(e, -EINVAL, "proxy: no request for method %s", method);
	cri_conn *cd = NULL, *cp = NULL;
	int rc = cri_connect(&cd, direct, NULL, 5000, e);
	if (rc == 0)
		rc = cri_connect(&cp, proxied, NULL, 5000, e);
	if (rc < 0) {
		cri_close(cd);
		return rc;
	}
	bench_series sd, sp;
	bench_series_init(&sd);
	bench_series_init(&sp);
	crit_err ce;
	err_clear(&ce);
	cri_conn *conns[2] = { cd, cp };
	bench_series *ss[2] = { &sd, &sp };
	for (int i = 0; i < OVH_WARMUP / 4; i++)
		for (int k = 0; k < 2; k++) {
			ProtobufCMessage *resp = NULL;
			if (cri_call(conns[k], method, &req.u.base, &resp, 0, &ce) == 0)
				cri_free(resp);
		}
	size_t per_round = calls / OVH_ROUNDS ? calls / OVH_ROUNDS : 1;
	for (int r = 0; r < OVH_ROUNDS && !bench_stop; r++)
		for (int k = 0; k < 2; k++)
			for (size_t i = 0; i < per_round; i++) {
				ProtobufCMessage *resp = NULL;
				int64_t t0 = bench_now_ns();
				int crc = cri_call(conns[k], method, &req.u.base, &resp, 0, &ce);
				cri_free(resp);
				bench_series_add(ss[k], bench_now_ns() - t0, crc == 0, ce.msg);
			}
	bench_summary md, mp;
	bench_summarize(&sd, 0, &md);
	bench_summarize(&sp, 0, &mp);
	*d_p50 = md.p50_ns;
	*p_p50 = mp.p50_ns;
	*errors = sd.errors + sp.errors;
	if (*errors)
		rc = err_set(e, -EIO, "%s direct/through the proxy: %llu calls failed: %s", method,
			     (unsigned long long)*errors, sd.first_error[0] ? sd.first_error : sp.first_error);
	bench_series_free(&sd);
	bench_series_free(&sp);
	cri_close(cd);
	cri_close(cp);
	return rc;
}

static json_object *proxy_row(const char *target, const char *method, size_t calls, int64_t d, int64_t p)
{
	double ratio = d > 0 && p > 0 ? (double)p / (double)d : 0;
	printf("  %-8s %-16s %6zu %12.1f %12.1f %7.2fx %+10.1f\n", target, method, calls, us_of(d), us_of(p), ratio,
	       us_of(p) - us_of(d));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "target", json_object_new_string(target));
	json_object_object_add(o, "method", json_object_new_string(method));
	json_object_object_add(o, "calls", json_object_new_int64((int64_t)calls));
	json_object_object_add(o, "direct_p50_us", jnum(us_of(d)));
	json_object_object_add(o, "proxy_p50_us", jnum(us_of(p)));
	json_object_object_add(o, "ratio", jnum(ratio));
	json_object_object_add(o, "added_us", jnum(us_of(p) - us_of(d)));
	return o;
}

/* Part 3: critic's own cost per call, and the proxy's. Returns failures. */
static int bench_overhead_part(const bench_cfg *cfg, json_object *root)
{
	int failures = 0;
	crit_err e;
	err_clear(&e);
	char dir[] = "/tmp/critic-bench.XXXXXX";
	if (!mkdtemp(dir)) {
		progress("overhead: mkdtemp: %s", strerror(errno));
		return 1;
	}
	char fake_path[64], proxy_fake[64], proxy_rt[64];
	snprintf(fake_path, sizeof fake_path, "%s/fake.sock", dir);
	snprintf(proxy_fake, sizeof proxy_fake, "%s/proxy-fake.sock", dir);
	snprintf(proxy_rt, sizeof proxy_rt, "%s/proxy-rt.sock", dir);
	bench_fake *fake = NULL;
	fault_proxy *pf = NULL, *pr = NULL;
	json_object *ovh = json_object_new_array(), *prx = json_object_new_array();
	json_object_object_add(root, "overhead", ovh);
	json_object_object_add(root, "proxy", prx);
	if (bench_fake_start(&fake, fake_path, &e) < 0) {
		progress("overhead: %s", e.msg);
		failures++;
		goto out;
	}
	progress("overhead: %zu calls per variant against a fake gRPC server in this process", cfg->calls);
	printf("\ncritic's own cost per call (fake gRPC server answering at once; one client thread):\n");
	/* Widths count bytes: each "µ" takes two for one column. */
	printf("  %-26s %6s %13s %13s %8s %12s\n", "method", "calls", "raw p50 µs", "critic p50 µs", "ratio",
	       "overhead µs");
	static const char *const methods[] = { "Version", "ListPodSandbox" };
	for (size_t i = 0; i < ARRAY_SIZE(methods) && !bench_stop; i++) {
		bench_overhead o;
		if (bench_measure_overhead(bench_fake_endpoint(fake), methods[i], cfg->calls, &o, &e) < 0) {
			progress("overhead: %s", e.msg);
			failures++;
			if (o.raw_p50_ns < 0 || o.cri_p50_ns < 0)
				continue;
		}
		double ratio = o.raw_p50_ns > 0 ? (double)o.cri_p50_ns / (double)o.raw_p50_ns : 0;
		char label[64];
		snprintf(label, sizeof label, "%s%s", methods[i],
			 !strcmp(methods[i], "ListPodSandbox") ? " (50 pods)" : "");
		printf("  %-26s %6zu %12.1f %12.1f %7.2fx %+11.1f\n", label, o.calls, us_of(o.raw_p50_ns),
		       us_of(o.cri_p50_ns), ratio, us_of(o.cri_p50_ns) - us_of(o.raw_p50_ns));
		json_object *row = json_object_new_object();
		json_object_object_add(row, "method", json_object_new_string(methods[i]));
		json_object_object_add(row, "calls", json_object_new_int64((int64_t)o.calls));
		json_object_object_add(row, "raw_p50_us", jnum(us_of(o.raw_p50_ns)));
		json_object_object_add(row, "critic_p50_us", jnum(us_of(o.cri_p50_ns)));
		json_object_object_add(row, "ratio", jnum(ratio));
		json_object_object_add(row, "overhead_us", jnum(us_of(o.cri_p50_ns) - us_of(o.raw_p50_ns)));
		json_object_array_add(ovh, row);
	}

	printf("\nsocket proxy (fault/proxy, PASS mode) against a direct connection, cri_call p50:\n");
	printf("  %-8s %-16s %6s %13s %13s %8s %11s\n", "target", "method", "calls", "direct µs", "proxy µs", "ratio",
	       "added µs");
	int64_t d, p;
	uint64_t errs;
	if (fault_proxy_start(&pf, proxy_fake, bench_fake_endpoint(fake), &e) < 0) {
		progress("proxy: %s", e.msg);
		failures++;
	} else {
		if (direct_vs_proxy(bench_fake_endpoint(fake), fault_proxy_endpoint(pf), "Version", cfg->calls, &d, &p,
				    &errs, &e) < 0) {
			progress("proxy: %s", e.msg);
			failures++;
		}
		if (d > 0 && p > 0)
			json_object_array_add(prx, proxy_row("fake", "Version", cfg->calls, d, p));
	}
	if (fault_proxy_start(&pr, proxy_rt, cfg->endpoint, &e) < 0) {
		progress("proxy: %s", e.msg);
		failures++;
	} else {
		size_t rt_calls = cfg->calls / 4 ? cfg->calls / 4 : 1;
		static const char *const rt_methods[] = { "Version", "Status" };
		for (size_t i = 0; i < ARRAY_SIZE(rt_methods) && !bench_stop; i++) {
			if (direct_vs_proxy(cfg->endpoint, fault_proxy_endpoint(pr), rt_methods[i], rt_calls, &d, &p, &errs,
					    &e) < 0) {
				progress("proxy: %s", e.msg);
				failures++;
			}
			if (d > 0 && p > 0)
				json_object_array_add(prx, proxy_row("runtime", rt_methods[i], rt_calls, d, p));
		}
	}
out:
	fault_proxy_stop(pr);
	fault_proxy_stop(pf);
	bench_fake_stop(fake);
	util_rm_rf(dir, NULL);
	return failures;
}

/* ================================================================ fault detection */

static int64_t median_of(int64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_i64);
	return bench_percentile(v, n, 50);
}

static int64_t max_of(const int64_t *v, size_t n)
{
	int64_t m = -1;
	for (size_t i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static json_object *fig_json(int64_t *v, size_t n)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int64(v[i]));
	json_object_object_add(o, "samples_ms", a);
	json_object_object_add(o, "max_ms", json_object_new_int64(max_of(v, n)));
	json_object_object_add(o, "median_ms", json_object_new_int64(median_of(v, n)));
	return o;
}

/* Part 4 (the lab only): SIGKILL the lab's containerd, time how long until
 * a client finds it gone, then restart it and time until Status says
 * ready. Returns failures. */
static int bench_fault_part(const bench_cfg *cfg, json_object *root)
{
	crit_err e;
	err_clear(&e);
	rtctl *rt = NULL;
	if (rtctl_from_lab(&rt, cfg->lab_dir, &e) < 0) {
		progress("faults: %s", e.msg);
		return 1;
	}
	int failures = 0;
	size_t n = 0;
	int64_t down[32], gone[32], ready[32], age[32];
	size_t n_age = 0;
	char sock_down[128] = "";
	progress("faults: %d × SIGKILL of the lab's containerd, then restart (%s)", cfg->faults, rtctl_describe(rt));
	printf("\nfault detection (critic's lab in %s):\n", cfg->lab_dir);
	for (int i = 0; i < cfg->faults && i < 32 && !bench_stop; i++) {
		fault_proc_result k, s;
		char line[800];
		if (fault_proc_kill(rt, SIGKILL, NULL, &k, &e) < 0) {
			progress("faults: %s", e.msg);
			failures++;
			break;
		}
		fault_proc_describe(&k, line, sizeof line);
		printf("  %d. %s\n", i + 1, line);
		if (fault_proc_restart(rt, NULL, &s, &e) < 0) {
			progress("faults: %s", e.msg);
			failures++;
			break;
		}
		fault_proc_describe(&s, line, sizeof line);
		printf("     %s\n", line);
		if (!sock_down[0])
			snprintf(sock_down, sizeof sock_down, "%s", fault_sock_state_name(k.sock_down.state));
		down[n] = k.down_ms;
		gone[n] = k.exit_ms;
		ready[n] = s.ready_ms;
		if (s.new_age_ms >= 0)
			age[n_age++] = s.new_age_ms;
		n++;
	}
	/* Whatever happened, leave the lab running. */
	if (rtctl_pid(rt, NULL) == 0 && rtctl_start(rt, &e) < 0) {
		progress("faults: could not bring the lab back: %s", e.msg);
		failures++;
	}
	if (n) {
		int64_t dm = max_of(down, n);
		printf("  SIGKILL → critic notices (down_ms):  median %lld ms, max %lld ms over %zu (target ≤ %d ms: %s)\n",
		       (long long)median_of(down, n), (long long)dm, n, BENCH_FAULT_TARGET_MS,
		       dm <= BENCH_FAULT_TARGET_MS ? "met" : "MISSED");
		printf("  SIGKILL → process gone (exit_ms):    median %lld ms, max %lld ms\n",
		       (long long)median_of(gone, n), (long long)max_of(gone, n));
		printf("  restart → Status ready (ready_ms):   median %lld ms, max %lld ms\n",
		       (long long)median_of(ready, n), (long long)max_of(ready, n));
		if (n_age)
			printf("  new containerd's own start to ready: median %lld ms, max %lld ms (10 ms resolution)\n",
			       (long long)median_of(age, n_age), (long long)max_of(age, n_age));
		json_object *o = json_object_new_object();
		json_object_object_add(o, "repetitions", json_object_new_int64((int64_t)n));
		json_object_object_add(o, "target_down_ms", json_object_new_int64(BENCH_FAULT_TARGET_MS));
		json_object_object_add(o, "target_met", json_object_new_boolean(dm <= BENCH_FAULT_TARGET_MS));
		json_object_object_add(o, "socket_when_down", json_object_new_string(sock_down));
		json_object_object_add(o, "down", fig_json(down, n));
		json_object_object_add(o, "exit", fig_json(gone, n));
		json_object_object_add(o, "restart_ready", fig_json(ready, n));
		if (n_age)
			json_object_object_add(o, "containerd_start_to_ready", fig_json(age, n_age));
		json_object_object_add(root, "faults", o);
	}
	rtctl_free(rt);
	return failures;
}

/* ================================================================ conformance run */

/* Run argv with its output in log, timing it and collecting the peak RSS
 * of it and every descendant it waited for (wait4's rusage). Only exec
 * follows the fork, so this is safe after gRPC was used. */
static int run_measured(char *const argv[], const char *log, int timeout_ms, int *status, int64_t *wall_ns,
			long *maxrss_kb, crit_err *e)
{
	cleanup_close int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(e, -errno, "open %s: %s", log, strerror(errno));
	int64_t t0 = bench_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return err_set(e, -errno, "fork for %s: %s", argv[0], strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	int64_t end = t0 + (int64_t)timeout_ms * 1000000;
	bool killed = false;
	for (;;) {
		struct rusage ru;
		int st = 0;
		pid_t w = wait4(pid, &st, WNOHANG, &ru);
		if (w == pid) {
			*wall_ns = bench_now_ns() - t0;
			*maxrss_kb = ru.ru_maxrss;
			*status = st;
			break;
		}
		if (w < 0 && errno != EINTR)
			return err_set(e, -errno, "wait for %s: %s", argv[0], strerror(errno));
		if (!killed && (bench_stop || bench_now_ns() >= end)) {
			kill(-pid, SIGTERM);
			killed = true;
			end = bench_now_ns() + 5000000000LL; /* then SIGKILL after 5 s */
		} else if (killed && bench_now_ns() >= end) {
			kill(-pid, SIGKILL);
		}
		util_sleep_ms(5);
	}
	if (killed)
		return err_set(e, bench_stop ? -EINTR : -ETIMEDOUT, "%s %s after %d ms (killed)", argv[0],
			       bench_stop ? "stopped" : "did not finish", timeout_ms);
	return 0;
}

/* Part 5: the conformance run's wall time and peak RSS. */
static int bench_conformance_part(const bench_cfg *cfg, json_object *root)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		progress("conformance: cannot find critic's own executable");
		return 1;
	}
	exe[n] = '\0';
	char *argv[16];
	int a = 0;
	argv[a++] = exe;
	argv[a++] = "--no-color";
	if (cfg->opt_config) {
		argv[a++] = "--config";
		argv[a++] = (char *)cfg->opt_config;
	}
	if (cfg->opt_runtime) {
		argv[a++] = "-r";
		argv[a++] = (char *)cfg->opt_runtime;
	}
	if (cfg->opt_image) {
		argv[a++] = "-i";
		argv[a++] = (char *)cfg->opt_image;
	}
	if (cfg->opt_timeout) {
		argv[a++] = "-t";
		argv[a++] = (char *)cfg->opt_timeout;
	}
	if (cfg->is_lab) {
		argv[a++] = "--dir";
		argv[a++] = (char *)cfg->lab_dir;
	}
	argv[a++] = "run";
	argv[a] = NULL;
	progress("conformance: `%s run`, output in %s", exe, cfg->conformance_log);
	crit_err e;
	err_clear(&e);
	int status = 0;
	int64_t wall = 0;
	long rss = 0;
	if (run_measured(argv, cfg->conformance_log, 30 * 60 * 1000, &status, &wall, &rss, &e) < 0) {
		progress("conformance: %s", e.msg);
		return 1;
	}
	int tests = -1, passed = -1, failed = -1, skipped = -1;
	cleanup_free char *out = NULL;
	if (util_read_file(cfg->conformance_log, &out, NULL, NULL) == 0) {
		/* The runner's summary: "94 tests: 87 passed, 5 failed, 2 skipped in 50.2 s …" */
		for (char *line = out; line && *line;) {
			char *nl = strchr(line, '\n');
			int t, p, f, s;
			if (sscanf(line, "%d tests: %d passed, %d failed, %d skipped", &t, &p, &f, &s) == 4) {
				tests = t;
				passed = p;
				failed = f;
				skipped = s;
			}
			line = nl ? nl + 1 : NULL;
		}
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	printf("\nconformance run (`critic run`, every conformance test, default --parallel):\n");
	if (tests >= 0)
		printf("  %d tests: %d passed, %d failed, %d skipped; exit %d\n", tests, passed, failed, skipped, code);
	else
		printf("  exit %d (no summary line in %s)\n", code, cfg->conformance_log);
	printf("  wall time %.1f s, peak RSS %.1f MB (%ld kB) of critic and its test processes\n", (double)wall / 1e9,
	       (double)rss / 1024.0, rss);
	printf("  targets: ≤ 20 s (%s), ≤ 16 MB (%s)\n", wall <= 20000000000LL ? "met" : "not met",
	       rss <= 16 * 1024 ? "met" : "not met");
	json_object *o = json_object_new_object();
	json_object_object_add(o, "exit", json_object_new_int(code));
	json_object_object_add(o, "wall_s", jnum((double)wall / 1e9));
	json_object_object_add(o, "max_rss_kb", json_object_new_int64(rss));
	json_object_object_add(o, "tests", json_object_new_int(tests));
	json_object_object_add(o, "passed", json_object_new_int(passed));
	json_object_object_add(o, "failed", json_object_new_int(failed));
	json_object_object_add(o, "skipped", json_object_new_int(skipped));
	json_object_object_add(o, "log", json_object_new_string(cfg->conformance_log));
	json_object_object_add(root, "conformance", o);
	/* Failing tests are the suites' business; the measurement itself worked. */
	return 0;
}

/* ================================================================ lifecycle and growth parts */

/* Part 1: the lifecycle of cfg->pods pods, and the image cycles. */
static int bench_lifecycle_part(const bench_cfg *cfg, json_object *root)
{
	progress("lifecycle: %d pods × %d container(s), %d worker(s), %d list/image repetitions, run id %s",
		 cfg->pods, cfg->busybox[0] ? cfg->ctrs : 0, cfg->workers, cfg->reps, cfg->run_id);
	lc_run r;
	crit_err e;
	err_clear(&e);
	int64_t t0 = bench_now_ns();
	int rc = lc_bench(&r, cfg, 0, cfg->pods, true, &e);
	int64_t wall = bench_now_ns() - t0;
	printf("\nper-RPC latency, %d pods × %d container(s), %d concurrent workers (%.1f s):\n", cfg->pods, r.ctrs,
	       cfg->workers, (double)wall / 1e9);
	json_object *o = json_object_new_object(), *rpcs = json_object_new_object();
	bench_summary sum[R_N];
	uint64_t errors = lc_report(&r, sum, rpcs);
	size_t lp = atomic_load(&r.listed_pods), lcn = atomic_load(&r.listed_ctrs);
	if (sum[R_LIST_PODS].calls)
		printf("  lists saw %zu pods and %zu containers\n", lp, lcn);
	if (sum[R_RUN_POD].calls)
		printf("  one pod's calls add up to %.1f ms (sum of the means)\n", per_pod_cost_ns(&r, sum) / 1e6);
	if (r.skipped)
		printf("  %zu calls not started: time was up or a stop was asked\n", r.skipped);
	json_object_object_add(o, "pods", json_object_new_int(cfg->pods));
	json_object_object_add(o, "containers_per_pod", json_object_new_int(r.ctrs));
	json_object_object_add(o, "workers", json_object_new_int(cfg->workers));
	json_object_object_add(o, "wall_s", jnum((double)wall / 1e9));
	json_object_object_add(o, "listed_pods", json_object_new_int64((int64_t)lp));
	json_object_object_add(o, "listed_containers", json_object_new_int64((int64_t)lcn));
	json_object_object_add(o, "not_started", json_object_new_int64((int64_t)r.skipped));
	json_object_object_add(o, "leftovers_swept", json_object_new_int64((int64_t)r.left));
	json_object_object_add(o, "rpcs", rpcs);
	json_object_object_add(root, "lifecycle", o);
	lc_free(&r);
	if (rc < 0) {
		progress("lifecycle: %s", e.msg);
		return 1;
	}
	return errors ? 1 : 0;
}

/* Part 2: the lifecycle again at each pod count, to see what grows. */
static int bench_grow_part(const bench_cfg *cfg, json_object *root)
{
	int failures = 0;
	json_object *arr = json_object_new_array();
	json_object_object_add(root, "grow", arr);
	struct row {
		int pods;
		size_t lp, lc;
		int64_t list_pods, list_ctrs, run_pod;
		double per_pod, wall_per_pod;
		uint64_t errors;
	} rows[BENCH_MAX_GROW];
	size_t n = 0;
	for (size_t g = 0; g < cfg->n_grow && !bench_stop; g++) {
		if (cfg->deadline_ns && bench_now_ns() >= cfg->deadline_ns) {
			progress("grow: time is up, %d pods and more left out", cfg->grow[g]);
			break;
		}
		progress("grow: %d pods", cfg->grow[g]);
		lc_run r;
		crit_err e;
		err_clear(&e);
		int rc = lc_bench(&r, cfg, (int)g + 1, cfg->grow[g], false, &e);
		if (rc < 0) {
			progress("grow %d: %s", cfg->grow[g], e.msg);
			failures++;
		}
		bench_summary sum[R_N];
		json_object *rpcs = json_object_new_object();
		for (int i = 0; i < R_N; i++) {
			bench_summarize(&r.total[i], r.wall_ns[i], &sum[i]);
			if (sum[i].calls || sum[i].errors)
				json_object_object_add(rpcs, rpc_names[i], summary_json(&r.total[i], &sum[i], r.wall_ns[i]));
		}
		struct row *w = &rows[n++];
		w->pods = cfg->grow[g];
		w->lp = atomic_load(&r.listed_pods);
		w->lc = atomic_load(&r.listed_ctrs);
		w->list_pods = sum[R_LIST_PODS].p50_ns;
		w->list_ctrs = sum[R_LIST_CTRS].p50_ns;
		w->run_pod = sum[R_RUN_POD].p50_ns;
		w->per_pod = per_pod_cost_ns(&r, sum);
		w->wall_per_pod = (double)r.per_pod_wall_ns / (double)w->pods;
		w->errors = 0;
		for (int i = 0; i < R_N; i++)
			w->errors += sum[i].errors;
		if (w->errors)
			failures++;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "pods", json_object_new_int(w->pods));
		json_object_object_add(o, "containers_per_pod", json_object_new_int(r.ctrs));
		json_object_object_add(o, "listed_pods", json_object_new_int64((int64_t)w->lp));
		json_object_object_add(o, "listed_containers", json_object_new_int64((int64_t)w->lc));
		json_object_object_add(o, "list_pods_p50_ms", jnum(ms_of(w->list_pods)));
		json_object_object_add(o, "list_containers_p50_ms", jnum(ms_of(w->list_ctrs)));
		json_object_object_add(o, "run_pod_p50_ms", jnum(ms_of(w->run_pod)));
		json_object_object_add(o, "pod_calls_ms", jnum(w->per_pod / 1e6));
		json_object_object_add(o, "wall_per_pod_ms", jnum(w->wall_per_pod / 1e6));
		json_object_object_add(o, "errors", json_object_new_int64((int64_t)w->errors));
		json_object_object_add(o, "rpcs", rpcs);
		json_object_array_add(arr, o);
		lc_free(&r);
	}
	if (!n)
		return failures;
	printf("\ncost growth with the number of objects (%d container(s) per pod, %d workers):\n",
	       cfg->busybox[0] ? cfg->ctrs : 0, cfg->workers);
	printf("  %5s %12s %14s %14s %15s %14s %13s %13s %6s\n", "pods", "listed p/c", "ListPods p50", "ListCtrs p50",
	       "µs/listed pod", "RunPod p50 ms", "pod calls ms", "wall/pod ms", "errors");
	for (size_t i = 0; i < n; i++) {
		struct row *w = &rows[i];
		char listed[32];
		snprintf(listed, sizeof listed, "%zu/%zu", w->lp, w->lc);
		double per_obj = w->lp && w->list_pods > 0 ? us_of(w->list_pods) / (double)w->lp : 0;
		printf("  %5d %12s %11.3f ms %11.3f ms %14.1f %14.2f %13.1f %13.1f %6llu\n", w->pods, listed,
		       ms_of(w->list_pods), ms_of(w->list_ctrs), per_obj, ms_of(w->run_pod), w->per_pod / 1e6,
		       w->wall_per_pod / 1e6, (unsigned long long)w->errors);
	}
	if (n >= 2 && rows[0].list_pods > 0 && rows[n - 1].list_pods > 0)
		printf("  from %d to %d pods: ListPodSandbox ×%.2f, ListContainers ×%.2f, one pod's calls ×%.2f\n",
		       rows[0].pods, rows[n - 1].pods, (double)rows[n - 1].list_pods / (double)rows[0].list_pods,
		       rows[0].list_ctrs > 0 ? (double)rows[n - 1].list_ctrs / (double)rows[0].list_ctrs : 0,
		       rows[0].per_pod > 0 ? rows[n - 1].per_pod / rows[0].per_pod : 0);
	return failures;
}

/* ================================================================ set-up */

static long mem_total_kb(void)
{
	cleanup_free char *text = NULL;
	if (util_read_file("/proc/meminfo", &text, NULL, NULL) < 0)
		return -1;
	const char *p = strstr(text, "MemTotal:");
	return p ? strtol(p + 9, NULL, 10) : -1;
}

/* The machine and the runtime, printed and put in the JSON. */
static int describe_machine(const bench_cfg *cfg, json_object *root, crit_err *e)
{
	cri_conn *c = NULL;
	int rc = cri_connect(&c, cfg->endpoint, cfg->image_endpoint, cfg->timeout_ms, e);
	if (rc < 0)
		return rc;
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *v = NULL;
	rc = CRI_CALL(c, Version, &req, &v, e);
	cri_close(c);
	if (rc < 0)
		return rc;
	struct utsname u;
	uname(&u);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), mem = mem_total_kb();
	printf("critic %s bench, run %s\n", CRITIC_VERSION, cfg->run_id);
	printf("machine:  %ld CPUs, %.1f GiB memory, kernel %s %s\n", ncpu, (double)mem / (1024.0 * 1024.0), u.sysname,
	       u.release);
	printf("runtime:  %s %s (CRI %s) at %s (%s)\n", v->runtime_name, v->runtime_version, v->runtime_api_version,
	       cfg->endpoint, cfg->source);
	json_object *m = json_object_new_object();
	json_object_object_add(m, "nproc", json_object_new_int64(ncpu));
	json_object_object_add(m, "mem_total_kb", json_object_new_int64(mem));
	json_object_object_add(m, "kernel", json_object_new_string(u.release));
	json_object_object_add(m, "runtime_name", json_object_new_string(v->runtime_name));
	json_object_object_add(m, "runtime_version", json_object_new_string(v->runtime_version));
	json_object_object_add(m, "endpoint", json_object_new_string(cfg->endpoint));
	json_object_object_add(m, "is_lab", json_object_new_boolean(cfg->is_lab));
	json_object_object_add(root, "machine", m);
	json_object_object_add(root, "critic_version", json_object_new_string(CRITIC_VERSION));
	json_object_object_add(root, "run_id", json_object_new_string(cfg->run_id));
	cri_free(v);
	return 0;
}

/* Pull ref unless the runtime has it (untimed: set-up, not benchmark). */
static int ensure_image(const bench_cfg *cfg, const char *ref, crit_err *e)
{
	cri_conn *c = NULL;
	int rc = cri_connect(&c, cfg->endpoint, cfg->image_endpoint, cfg->timeout_ms, e);
	if (rc < 0)
		return rc;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)ref;
	Runtime__V1__ImageStatusRequest sreq = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageStatusResponse *sresp = NULL;
	sreq.image = &spec;
	rc = CRI_CALL(c, ImageStatus, &sreq, &sresp, e);
	if (rc == 0 && !sresp->image) {
		Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
		Runtime__V1__PullImageResponse *presp = NULL;
		preq.image = &spec;
		rc = CRI_CALL_T(c, PullImage, &preq, &presp, 6 * cfg->timeout_ms, e);
		cri_free(presp);
	}
	cri_free(sresp);
	cri_close(c);
	return rc;
}

/* The endpoint as every critic command finds it; with none given, the lab
 * (brought up by `critic lab up` in a child process when it is down). */
static int resolve(bench_cfg *cfg, crit_err *e)
{
	ep_config ep;
	memset(&ep, 0, sizeof ep);
	int tmo = 0;
	if (cfg->opt_timeout) {
		char *end;
		double v = strtod(cfg->opt_timeout, &end);
		double mult = !strcmp(end, "ms") ? 1 : !strcmp(end, "m") ? 60000 : (!*end || !strcmp(end, "s")) ? 1000 : -1;
		if (end == cfg->opt_timeout || v <= 0 || mult < 0 || v * mult > 86400000.0)
			return err_set(e, -ERR_CONFIG, "--timeout '%s': give a duration like 2s or 500ms", cfg->opt_timeout);
		tmo = (int)(v * mult);
	}
	int rc = ep_resolve(&ep, cfg->opt_config, cfg->opt_runtime, cfg->opt_image, tmo, e);
	if (rc < 0)
		return rc;
	cfg->timeout_ms = ep.timeout_ms > 0 ? ep.timeout_ms : CRI_DEFAULT_TIMEOUT_MS;
	if (ep.runtime[0]) {
		snprintf(cfg->endpoint, sizeof cfg->endpoint, "%s", ep.runtime);
		snprintf(cfg->image_endpoint, sizeof cfg->image_endpoint, "%s", ep.image);
		snprintf(cfg->source, sizeof cfg->source, "%s", ep.source);
		return 0;
	}
	const char *dir = cfg->opt_dir ? cfg->opt_dir : lab_default_dir();
	lab_info info;
	rc = lab_status(dir, &info, e);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		progress("the lab in %s is down: bringing it up", dir);
		rtctl *rt = NULL;
		if ((rc = rtctl_from_lab(&rt, dir, e)) < 0)
			return rc;
		rc = rtctl_start(rt, e);
		rtctl_free(rt);
		if (rc < 0)
			return rc;
		if ((rc = lab_status(dir, &info, e)) < 0)
			return rc;
		if (rc == 0)
			return err_set(e, -ERR_UNREACHABLE, "the lab in %s is still down after `critic lab up`", dir);
	}
	cfg->is_lab = true;
	snprintf(cfg->lab_dir, sizeof cfg->lab_dir, "%s", info.dir);
	snprintf(cfg->endpoint, sizeof cfg->endpoint, "%.500s", info.endpoint);
	snprintf(cfg->source, sizeof cfg->source, "critic's lab in %.400s", info.dir);
	/* The lab's images, unless the user named others. */
	if (!cfg->busybox[0])
		lab_image_ref(&info, "busybox", cfg->busybox, sizeof cfg->busybox);
	lab_image_ref(&info, "pause", cfg->pause, sizeof cfg->pause);
	if (!cfg->n_pull) {
		if (lab_image_ref(&info, "image-a", cfg->pull[0], sizeof cfg->pull[0]) == 0)
			cfg->n_pull++;
		if (lab_image_ref(&info, "image-b", cfg->pull[cfg->n_pull], sizeof cfg->pull[0]) == 0)
			cfg->n_pull++;
	}
	return 0;
}

static void make_run_id(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(buf, len, "bench-%04d%02d%02d-%02d%02d%02d-%04x", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(getpid() & 0xffff));
}

/* ================================================================ CLI */

static const char bench_usage[] =
	"Usage: critic bench [--pods N] [--containers M] [--concurrency C] [--grow N,N,…]\n"
	"                    [--overhead] [--faults K] [--conformance LOG] [--json FILE] [--html FILE]\n"
	"                    [options]\n"
	"\n"
	"Time a CRI runtime: every RPC of the pod, container and image lifecycle under C\n"
	"concurrent workers (p50, p95, p99, max, mean, errors, ops/s), List* with N pods\n"
	"present, and optionally more. Everything it creates carries critic's labels\n"
	"(critic.io/run-id=bench-…) and is removed at the end, also after a failure or ^C.\n"
	"\n"
	"  --pods N            pods in the lifecycle run (default 10)\n"
	"  --containers M      containers per pod (default 1)\n"
	"  --concurrency C     worker threads, each with its own connection (default 2)\n"
	"  --reps R            List* calls, and pull/status/list/remove cycles per image (default 10)\n"
	"  --grow LIST         rerun the lifecycle at each pod count (e.g. 10,50,100) and show\n"
	"                      how List* latency and the cost of a pod grow\n"
	"  --no-lifecycle      leave out the lifecycle run\n"
	"  --overhead          critic's own cost per call against an in-process fake gRPC server\n"
	"                      (bare gRPC core vs cri_call), and the socket proxy's added cost\n"
	"                      against the fake server and the runtime\n"
	"  --calls K           calls per variant for --overhead (default 2000)\n"
	"  --faults K          (lab only; kills its containerd) K × SIGKILL: time until critic\n"
	"                      notices, and restart until ready\n"
	"  --conformance LOG   time `critic run` (wall, peak RSS), its output in LOG\n"
	"  --json FILE         write every figure to FILE\n"
	"  --html FILE         the same figures as one self-contained page, with charts of the\n"
	"                      latency per RPC and of the cost growth (--grow)\n"
	"  --image REF         image for containers (default: the lab's busybox)\n"
	"  --pull-image REF    image to pull and remove, twice at most (default: the lab's\n"
	"                      image-a and image-b; never give an image something else uses)\n"
	"  --runtime-handler H run pods with this runtime handler\n"
	"  --time-limit SEC    start no new call after SEC seconds (default 900); cleanup\n"
	"                      still runs, and a call in flight is awaited and recorded\n"
	"  -r, --runtime-endpoint EP, -i, --image-endpoint EP, -t, --timeout DUR,\n"
	"  --config FILE, --dir DIR   as for every critic command (default: the lab)\n"
	"Exit: 0 done, 1 some calls or parts failed, 2 usage, 3 endpoint unreachable.\n";

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int write_json(const char *path, json_object *root)
{
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	crit_err e;
	if (util_write_file(path, text, strlen(text), 0644, &e) < 0) {
		fprintf(stderr, "critic bench: %s\n", e.msg);
		return -1;
	}
	return 0;
}

int bench_cli_main(int argc, char **argv)
{
	static bench_cfg cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.pods = 10;
	cfg.ctrs = 1;
	cfg.workers = 2;
	cfg.reps = 10;
	cfg.calls = 2000;
	cfg.lifecycle = true;
	cfg.opt_config = "/etc/crictl.yaml";
	int time_limit_s = 900;
	enum { O_PODS = 256, O_CTRS, O_CONC, O_REPS, O_GROW, O_NO_LC, O_OVH, O_CALLS, O_FAULTS, O_CONF, O_JSON, O_HTML, O_IMAGE,
	       O_PULL, O_HANDLER, O_LIMIT, O_CONFIG, O_DIR, O_NO_COLOR };
	static const struct option longopts[] = {
		{ "pods", required_argument, 0, O_PODS },
		{ "containers", required_argument, 0, O_CTRS },
		{ "concurrency", required_argument, 0, O_CONC },
		{ "reps", required_argument, 0, O_REPS },
		{ "grow", required_argument, 0, O_GROW },
		{ "no-lifecycle", no_argument, 0, O_NO_LC },
		{ "overhead", no_argument, 0, O_OVH },
		{ "calls", required_argument, 0, O_CALLS },
		{ "faults", required_argument, 0, O_FAULTS },
		{ "conformance", required_argument, 0, O_CONF },
		{ "json", required_argument, 0, O_JSON },
		{ "html", required_argument, 0, O_HTML },
		{ "image", required_argument, 0, O_IMAGE },
		{ "pull-image", required_argument, 0, O_PULL },
		{ "runtime-handler", required_argument, 0, O_HANDLER },
		{ "time-limit", required_argument, 0, O_LIMIT },
		{ "runtime-endpoint", required_argument, 0, 'r' },
		{ "image-endpoint", required_argument, 0, 'i' },
		{ "timeout", required_argument, 0, 't' },
		{ "config", required_argument, 0, O_CONFIG },
		{ "dir", required_argument, 0, O_DIR },
		{ "no-color", no_argument, 0, O_NO_COLOR },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	crit_err e;
	err_clear(&e);
	int c, calls = 0, li = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:i:t:h", longopts, &li)) != -1) {
		int bad = 0;
		switch (c) {
		case O_PODS: bad = parse_int(optarg, 1, BENCH_MAX_OBJECTS, &cfg.pods); break;
		case O_CTRS: bad = parse_int(optarg, 0, 16, &cfg.ctrs); break;
		case O_CONC: bad = parse_int(optarg, 1, 64, &cfg.workers); break;
		case O_REPS: bad = parse_int(optarg, 1, 100000, &cfg.reps); break;
		case O_GROW:
			if (bench_parse_counts(optarg, cfg.grow, BENCH_MAX_GROW, &cfg.n_grow, BENCH_MAX_OBJECTS, &e) < 0) {
				fprintf(stderr, "critic bench: --grow %s\n", e.msg);
				return 2;
			}
			break;
		case O_NO_LC: cfg.lifecycle = false; break;
		case O_OVH: cfg.overhead = true; break;
		case O_CALLS:
			bad = parse_int(optarg, OVH_ROUNDS, 10000000, &calls);
			cfg.calls = (size_t)calls;
			break;
		case O_FAULTS: bad = parse_int(optarg, 1, 32, &cfg.faults); break;
		case O_CONF: cfg.conformance_log = optarg; break;
		case O_JSON: cfg.json = optarg; break;
		case O_HTML: cfg.html = optarg; break;
		case O_IMAGE: snprintf(cfg.busybox, sizeof cfg.busybox, "%s", optarg); break;
		case O_PULL:
			if (cfg.n_pull >= 2) {
				fprintf(stderr, "critic bench: --pull-image: at most two images\n");
				return 2;
			}
			snprintf(cfg.pull[cfg.n_pull++], sizeof cfg.pull[0], "%s", optarg);
			break;
		case O_HANDLER: snprintf(cfg.handler, sizeof cfg.handler, "%s", optarg); break;
		case O_LIMIT: bad = parse_int(optarg, 1, 86400, &time_limit_s); break;
		case 'r': cfg.opt_runtime = optarg; break;
		case 'i': cfg.opt_image = optarg; break;
		case 't': cfg.opt_timeout = optarg; break;
		case O_CONFIG: cfg.opt_config = optarg; break;
		case O_DIR: cfg.opt_dir = optarg; break;
		case O_NO_COLOR: break; /* the output has no colours */
		case 'h': fputs(bench_usage, stdout); return 0;
		default: fputs("critic bench: see critic bench --help\n", stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, "critic bench: bad value '%s' for --%s (see critic bench --help)\n", optarg,
				longopts[li].name);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "critic bench: unexpected argument '%s' (see critic bench --help)\n", argv[optind]);
		return 2;
	}
	for (size_t i = 0; i < cfg.n_grow; i++)
		if (cfg.grow[i] * (cfg.ctrs ? cfg.ctrs : 1) > BENCH_MAX_OBJECTS || cfg.pods * cfg.ctrs > BENCH_MAX_OBJECTS) {
			fprintf(stderr, "critic bench: at most %d containers in one run\n", BENCH_MAX_OBJECTS);
			return 2;
		}
	make_run_id(cfg.run_id, sizeof cfg.run_id);
	if (resolve(&cfg, &e) < 0) {
		fprintf(stderr, "critic bench: %s\n", e.msg);
		return e.code == -ERR_CONFIG || e.code == -EINVAL ? 2 : 3;
	}
	if (cfg.faults && !cfg.is_lab) {
		fprintf(stderr, "critic bench: --faults kills the runtime: it runs only against critic's lab, and %s is "
				"not it\n", cfg.endpoint);
		return 2;
	}
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	bench_stop = 0;
	cfg.deadline_ns = bench_now_ns() + (int64_t)time_limit_s * 1000000000LL;

	json_object *root = json_object_new_object();
	int failures = 0, rc = 0;
	if (describe_machine(&cfg, root, &e) < 0) {
		fprintf(stderr, "critic bench: %s\n", e.msg);
		rc = 3;
		goto out;
	}
	fflush(stdout); /* the header before anything the parts print */
	/* The conformance run first, on a lab nothing else has touched yet
	 * (only exec follows its fork, so gRPC in this process is no harm). */
	if (cfg.conformance_log && !bench_stop)
		failures += bench_conformance_part(&cfg, root);
	if ((cfg.lifecycle || cfg.n_grow) && !cfg.busybox[0])
		progress("no image for containers (give --image REF): pods only");
	if (cfg.lifecycle || cfg.n_grow) {
		const char *need[2] = { cfg.busybox, cfg.pause };
		for (size_t i = 0; i < 2; i++)
			if (need[i][0] && ensure_image(&cfg, need[i], &e) < 0) {
				fprintf(stderr, "critic bench: image %s: %s\n", need[i], e.msg);
				rc = 3;
				goto out;
			}
	}
	/* Each part's table goes out as soon as it is done. */
	fflush(stdout);
	if (cfg.lifecycle && !bench_stop)
		failures += bench_lifecycle_part(&cfg, root);
	fflush(stdout);
	if (cfg.n_grow && !bench_stop)
		failures += bench_grow_part(&cfg, root);
	fflush(stdout);
	if (cfg.overhead && !bench_stop)
		failures += bench_overhead_part(&cfg, root);
	fflush(stdout);
	if (cfg.faults && !bench_stop)
		failures += bench_fault_part(&cfg, root);
	rc = failures ? 1 : 0;
out:
	if (bench_stop) {
		progress("stopped by a signal: figures so far are kept");
		rc = rc ? rc : 1;
	}
	{
		/* The pods' log directories, all under the run id. */
		char logs[PATH_MAX];
		snprintf(logs, sizeof logs, "/var/log/critic/%s", cfg.run_id);
		util_rm_rf(logs, NULL);
	}
	json_object_object_add(root, "exit", json_object_new_int(rc));
	if (cfg.json) {
		if (write_json(cfg.json, root) < 0)
			rc = rc ? rc : 1;
		else
			printf("\nfigures written to %s\n", cfg.json);
	}
	if (cfg.html) {
		if (rep_write_bench_html(root, cfg.html, &e) < 0) {
			fprintf(stderr, "critic bench: %s\n", e.msg);
			rc = rc ? rc : 1;
		} else {
			printf("HTML report: %s\n", cfg.html);
		}
	}
	json_object_put(root);
	fflush(stdout);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}
