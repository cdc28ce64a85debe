/* tst: critic's test runner. Suites declare tests (name, needs, timeout);
 * the runner forks each into its own process group, enforces its deadline,
 * sweeps what it left by label, and reports through CUnit and one line per test. */
#ifndef CRITIC_TST_H
#define CRITIC_TST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdnoreturn.h>

#include "cri.h"
#include "err.h"

/* What a test needs from the node; unmet needs skip it with the reason. */
enum {
	TST_NEED_ROOT = 1 << 0,
	TST_NEED_LAB = 1 << 1,     /* only meaningful against critic's own lab */
	TST_SERIAL = 1 << 2,       /* must not run beside other tests */
	TST_EXTENDED = 1 << 3,     /* beyond what the kubelet exercises: only with --extended */
	/* Uses its area's shared fixture (tst_fixture_get): reads it, or adds
	 * objects of its own beside it (containers in a shared pod), never
	 * changes what the fixture made. */
	TST_FIXTURE = 1 << 4,
	/* Pulls, removes or counts images of its own (the image-a/image-b
	 * roles), or moves the image filesystem's usage by megabytes: runs
	 * beside other tests, never beside another such test. The images
	 * other tests share are pulled before the first test. */
	TST_IMAGE_STORE = 1 << 5,
};

typedef struct tst_ctx tst_ctx;
typedef void (*tst_fn)(tst_ctx *t);

typedef struct tst_case {
	const char *name;   /* "area/what", stable: reports and --focus use it */
	const char *desc;   /* one line for --list */
	tst_fn fn;
	unsigned needs;
	int timeout_s;      /* 0 = the run's default */
} tst_case;

/* A fixture an area's TST_FIXTURE tests share (a running pod to inspect…).
 * The runner runs setup in a forked child before the first of them and
 * tears it down after the last: teardown (if any) in a child, then a sweep
 * of the fixture's labels. setup creates through fx_* as tests do (its
 * deferred removals are dropped when it succeeds) and hands out strings
 * with tst_fixture_set; a failed setup fails those tests with its message. */
typedef struct tst_fixture {
	void (*setup)(struct tst_ctx *t);
	void (*teardown)(struct tst_ctx *t); /* may be NULL: the sweep removes the objects */
	int timeout_s;                       /* each of setup and teardown; 0 = 60 */
} tst_fixture;

typedef struct tst_suite {
	const char *area;   /* "pod", "container", … */
	const char *desc;
	const tst_case *cases;
	size_t n_cases;
	struct tst_suite *next; /* set by tst_register */
	const tst_fixture *fixture; /* NULL = none */
} tst_suite;

/* A suite file ends with TST_SUITE("pod", "Pod sandbox lifecycle", cases);
 * it registers itself when the program starts. */
void tst_register(tst_suite *s);
#define TST_SUITE(area_, desc_, cases_)                                                          \
	static tst_suite tst_suite_##cases_ = { area_, desc_, cases_, sizeof(cases_) / sizeof(cases_[0]), 0 }; \
	__attribute__((constructor)) static void tst_reg_##cases_(void) { tst_register(&tst_suite_##cases_); }
/* The same with a shared fixture (a tst_fixture). */
#define TST_SUITE_FIXTURE(area_, desc_, cases_, fixture_)                                         \
	static tst_suite tst_suite_##cases_ = { area_, desc_, cases_, sizeof(cases_) / sizeof(cases_[0]), 0, \
						&fixture_ };                                       \
	__attribute__((constructor)) static void tst_reg_##cases_(void) { tst_register(&tst_suite_##cases_); }

/* Run-wide settings every test sees. */
#define TST_MAX_IMAGES 16
typedef struct tst_env {
	char endpoint[600];
	char image_endpoint[600];
	int timeout_ms;            /* per CRI call */
	int test_timeout_s;        /* per test */
	char run_id[48];
	char handler[64];          /* runtime handler, "" = default */
	bool is_lab;
	char lab_dir[4096];
	/* digest: the registry's manifest digest of ref, "" when not known */
	struct { char role[32]; char ref[256]; char digest[80]; } images[TST_MAX_IMAGES];
	size_t n_images;
	const char *focus, *skip;  /* regexes, may be NULL */
	bool list_only;
	bool extended;             /* run TST_EXTENDED tests too */
	bool color;
	FILE *out;                 /* per-test lines and summary; NULL = stdout */
	bool progress;             /* out is a terminal: redraw a status line */
	int parallel;              /* tests at once (see tst_default_parallel); <= 1: one after another */
} tst_env;

typedef enum { TST_PASS, TST_FAIL, TST_SKIP, TST_TIMEOUT, TST_CRASH } tst_verdict;

/* One CRI call a test made, as its process reported it to the runner. */
typedef struct tst_call {
	char method[48];    /* "RunPodSandbox" */
	int grpc_status;    /* 0 = OK; UNKNOWN (2) also for calls that failed locally */
	int64_t start_us;   /* since the test's process was started */
	int64_t dur_us;
} tst_call;
#define TST_MAX_CALLS 10000 /* kept per test; the rest are only counted */

typedef struct tst_result {
	const tst_case *tc;
	const tst_suite *suite;
	tst_verdict verdict;
	int64_t dur_ms;
	char *detail;   /* failure messages / skip reason / notes as printed, heap, may be NULL */
	char *notes;    /* only the notes (tst_info and the runner's), one a line, heap, may be NULL */
	int64_t start_wall_ns; /* when the test started; 0 for tests never started */
	tst_call *calls;       /* heap, in call order */
	size_t n_calls;
	size_t calls_dropped;  /* calls beyond TST_MAX_CALLS */
} tst_result;

/* What a report needs to say about the run itself. */
typedef struct tst_meta {
	char run_id[48];
	char critic_version[64];
	char endpoint[600], image_endpoint[600];
	bool is_lab;
	char handler[64];          /* "" = the runtime's default */
	/* The runtime's Version reply (from the check before the first test). */
	char runtime_name[128], runtime_version[128], runtime_api[64];
	int64_t start_wall_ns;     /* run start, CLOCK_REALTIME */
	char hostname[256];
	char kernel[512];          /* uname: "Linux 6.1.0-18-amd64 #1 SMP ... x86_64" */
	char cgroup[32];           /* "v2", "v1" or "hybrid" */
	char focus[256], skip[256];/* the filters, "" = none */
	bool extended;
	int test_timeout_s, call_timeout_ms;
} tst_meta;

typedef struct tst_summary {
	int total, passed, failed, skipped;
	int64_t wall_ms;
	tst_result *results;
	size_t n_results;
	tst_meta meta;
	/* SIGINT or SIGTERM stopped the run early: the test running was killed,
	 * the rest are SKIP "interrupted"; the sweeps ran. 0 = ran to the end. */
	int interrupted;
	/* A second SIGINT: stopped at once, the sweeps did not run. */
	bool aborted;
} tst_summary;

/* Run every registered test matching env's filters; prints progress and the
 * summary. Returns 0 when all passed or skipped, 1 on failures, <0 on error.
 * While it runs, SIGINT/SIGTERM stop it early (sum->interrupted, within
 * ~100 ms) and a second SIGINT at once (sum->aborted); the caller's handlers
 * are restored on return. */
int tst_run(const tst_env *env, tst_summary *sum, crit_err *e);
/* --parallel's default: TST_PARALLEL_PER_CORE tests per online core, at
 * most TST_PARALLEL_MAX (the tests mostly wait on the runtime). */
#define TST_PARALLEL_PER_CORE 2
#define TST_PARALLEL_MAX 8
int tst_default_parallel(void);
int tst_list(const tst_env *env, crit_err *e);
/* Are env's --focus/--skip valid regexes? 0 or -ERR_CONFIG naming the bad one. */
int tst_check_filters(const tst_env *env, crit_err *e);
void tst_summary_free(tst_summary *sum);
const char *tst_verdict_name(tst_verdict v);
/* Fill m's host fields (hostname, kernel, cgroup) from this machine. */
void tst_meta_host(tst_meta *m);

/* ---- inside a test (runs in a child process) ---- */
struct tst_ctx {
	cri_conn *cri;
	const tst_env *env;
	const tst_case *tc;
	int failures;
	int report_fd;
	crit_err err;       /* scratch record for calls */
};

/* Record a failure and go on / stop the test now / skip it with a reason. */
void tst_fail(tst_ctx *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
noreturn void tst_fail_now(tst_ctx *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
noreturn void tst_skip(tst_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tst_info(tst_ctx *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define EXPECT(t, cond, ...) \
	do { if (!(cond)) tst_fail((t), __FILE__, __LINE__, "expected " #cond ": " __VA_ARGS__); } while (0)
#define REQUIRE(t, cond, ...) \
	do { if (!(cond)) tst_fail_now((t), __FILE__, __LINE__, "required " #cond ": " __VA_ARGS__); } while (0)
/* A CRI call that must succeed: on failure the test stops with the call's error. */
#define CALL_OK(t, method, reqp, respp)                                                          \
	do {                                                                                         \
		if (CRI_CALL((t)->cri, method, reqp, respp, &(t)->err) < 0)                          \
			tst_fail_now((t), __FILE__, __LINE__, "%s", (t)->err.msg);                  \
	} while (0)

/* Cleanup actions run when the test ends, however it ends (LIFO). */
typedef void (*tst_cleanup_fn)(tst_ctx *t, void *arg);
void tst_defer(tst_ctx *t, tst_cleanup_fn fn, void *arg);

/* In a fixture's setup: hand value to the tests under key. In a
 * TST_FIXTURE test: the value (the test fails if the key is missing). */
void tst_fixture_set(tst_ctx *t, const char *key, const char *value);
const char *tst_fixture_get(tst_ctx *t, const char *key);

/* The reference of an image role ("busybox", "pause", …) for this run.
 * A run with no images at all skips the test with TST_NO_IMAGES. */
const char *tst_image(tst_ctx *t, const char *role);
#define TST_NO_IMAGES "no test images for this endpoint: give --registry-prefix (see critic images serve)"
/* Labels every object of this test carries (critic.io/run-id, critic.io/test). */
#define TST_LABEL_OWNER "critic.io/owner"
#define TST_LABEL_RUN "critic.io/run-id"
#define TST_LABEL_TEST "critic.io/test"
/* The label value that names the test ("pod.run-stop-remove"). */
const char *tst_test_label(tst_ctx *t);

#endif
