/* logs: the CRI container log file the kubelet reads for `kubectl logs`:
 * "<RFC3339Nano> <stdout|stderr> <P|F> <message>" lines, partial lines that
 * reassemble byte for byte, and ReopenContainerLog after a rotation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crilog.h"
#include "fx.h"
#include "util.h"

#define ST_EXITED RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED
#define SEC 1000000000LL
#define GRPC_UNIMPLEMENTED 12

enum { OUT = CRILOG_STDOUT, ERR = CRILOG_STDERR };

/* One parsed log file (crilog's strict parser): per stream the reassembled
 * bytes and record counts; the first problem found, if any. */
typedef crilog_file log_parse;

static const char *sb_str(strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

static char *log_path_of(tst_ctx *t, const char *id)
{
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	char *p = util_strdup_printf("%s", st->status->log_path);
	cri_free(st);
	return p;
}

/* Run cmd to completion and parse its log file. */
static char *run_to_exit(tst_ctx *t, const char *name, const char *const *cmd)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, name), cmd);
	REQUIRE(t, fx_wait_container_state(t, id, ST_EXITED, 10000), "container did not exit");
	return id;
}

static void read_parse(tst_ctx *t, const char *path, log_parse *p)
{
	char *text = NULL;
	size_t len = 0;
	crit_err e;
	REQUIRE(t, util_read_file(path, &text, &len, &e) == 0, "%s", e.msg);
	crilog_parse(text, len, p);
	free(text);
}

static void expect_text(tst_ctx *t, const char *what, strbuf *got, const char *want)
{
	size_t n = strlen(want);
	if (got->len == n && !memcmp(sb_str(got), want, n))
		return;
	size_t i = 0;
	while (i < n && i < got->len && got->buf[i] == want[i])
		i++;
	tst_fail(t, __FILE__, __LINE__, "%s: %zu bytes, want %zu; first difference at byte %zu: got '%.40s', want '%.40s'",
		 what, got->len, n, i, i < got->len ? got->buf + i : "", want + i);
}

static void cri_format(tst_ctx *t)
{
	int64_t t0 = util_wall_ns();
	const char *script = "echo o1; echo e1 >&2; echo; printf 'o2  two spaces\\tand a tab\\n'; echo e2 >&2; "
			     "/usr/local/bin/critic-helper lines 30; /usr/local/bin/critic-helper lines 20 stderr";
	char *id = run_to_exit(t, "format", ARGV("sh", "-c", script));
	int64_t t1 = util_wall_ns();
	char *path = log_path_of(t, id);
	log_parse p;
	read_parse(t, path, &p);
	REQUIRE(t, !p.problem[0], "%s: %s", path, p.problem);
	strbuf out = { 0 }, err = { 0 };
	sb_printf(&out, "o1\n\no2  two spaces\tand a tab\n");
	for (int i = 1; i <= 30; i++)
		sb_printf(&out, "critic line %d\n", i);
	sb_printf(&err, "e1\ne2\n");
	for (int i = 1; i <= 20; i++)
		sb_printf(&err, "critic line %d\n", i);
	expect_text(t, "stdout", &p.text[OUT], out.buf);
	expect_text(t, "stderr", &p.text[ERR], err.buf);
	EXPECT(t, p.partial[OUT] == 0 && p.partial[ERR] == 0, "%d/%d partial records for short whole lines",
	       p.partial[OUT], p.partial[ERR]);
	EXPECT(t, p.full[OUT] == 33 && p.full[ERR] == 22, "%d stdout and %d stderr records, want 33 and 22",
	       p.full[OUT], p.full[ERR]);
	/* The timestamps are the time the lines were written. */
	EXPECT(t, p.first_ts >= t0 - SEC && p.last_ts[OUT] <= t1 + SEC && p.last_ts[ERR] <= t1 + SEC,
	       "timestamps %lld..%lld outside the container's run %lld..%lld", (long long)p.first_ts,
	       (long long)p.last_ts[OUT], (long long)t0, (long long)t1);
	crilog_free(&p);
	sb_free(&out);
	sb_free(&err);
}

static void partial_long_line(tst_ctx *t)
{
	/* One 43893-byte line (1,2,...,9000,) then a short one, on each stream. */
	const char *script = "seq 1 9000 | tr '\\n' ,; echo; echo after; "
			     "(seq 1 9000 | tr '\\n' ,; echo; echo after) >&2";
	char *id = run_to_exit(t, "long", ARGV("sh", "-c", script));
	char *path = log_path_of(t, id);
	log_parse p;
	read_parse(t, path, &p);
	REQUIRE(t, !p.problem[0], "%s: %s", path, p.problem);
	strbuf want = { 0 };
	for (int i = 1; i <= 9000; i++)
		sb_printf(&want, "%d,", i);
	sb_printf(&want, "\nafter\n");
	tst_info(t, "a %zu-byte line became %d partial records + 1 full", want.len - 7, p.partial[OUT]);
	EXPECT(t, p.partial[OUT] >= 1, "no P record on stdout for a %zu-byte line", want.len - 7);
	EXPECT(t, p.partial[ERR] >= 1, "no P record on stderr for a %zu-byte line", want.len - 7);
	EXPECT(t, p.full[OUT] == 2 && p.full[ERR] == 2, "%d/%d F records, want 2 on each stream", p.full[OUT],
	       p.full[ERR]);
	expect_text(t, "stdout reassembled", &p.text[OUT], want.buf);
	expect_text(t, "stderr reassembled", &p.text[ERR], want.buf);
	crilog_free(&p);
	sb_free(&want);
}

static void partial_no_newline(tst_ctx *t)
{
	char *id = run_to_exit(t, "nonl", ARGV("sh", "-c", "printf 'whole line\\nno newline at the end'"));
	char *path = log_path_of(t, id);
	log_parse p;
	read_parse(t, path, &p);
	REQUIRE(t, !p.problem[0], "%s: %s", path, p.problem);
	/* An F record would add a newline the process never wrote. */
	expect_text(t, "stdout reassembled", &p.text[OUT], "whole line\nno newline at the end");
	EXPECT(t, p.full[OUT] == 1 && p.partial[OUT] == 1 && p.last_partial[OUT],
	       "%d F and %d P records, want 1 F then 1 P", p.full[OUT], p.partial[OUT]);
	crilog_free(&p);
}

static int reopen(tst_ctx *t, const char *id)
{
	Runtime__V1__ReopenContainerLogRequest req = RUNTIME__V1__REOPEN_CONTAINER_LOG_REQUEST__INIT;
	Runtime__V1__ReopenContainerLogResponse *resp = NULL;
	req.container_id = (char *)id;
	int rc = CRI_CALL(t->cri, ReopenContainerLog, &req, &resp, &t->err);
	cri_free(resp);
	return rc;
}

/* Numbers n=K of the first and last lines of a parsed stdout. */
static void counter_span(const char *text, long *first, long *last)
{
	*first = *last = -1;
	for (const char *p = text; (p = strstr(p, "n=")); p += 2) {
		long v = strtol(p + 2, NULL, 10);
		if (*first < 0)
			*first = v;
		*last = v;
	}
}

static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void rm_file(tst_ctx *t, void *arg)
{
	unlink(arg);
}

/* What the kubelet's log rotation does: rename the file, then ask the
 * runtime to reopen it; new lines must go to a new file at the old path. */
static void reopen_rotates(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, "counter"),
				    ARGV("sh", "-c", "i=0; while true; do i=$((i+1)); echo n=$i; sleep 0.1; done"));
	char *path = log_path_of(t, id);
	char *rotated = util_strdup_printf("%s.rotated", path);
	tst_defer(t, rm_file, rotated);
	int64_t end = util_now_ms() + 5000;
	while (file_size(path) < 100 && util_now_ms() < end)
		util_sleep_ms(50);
	REQUIRE(t, rename(path, rotated) == 0, "rename %s: %m", path);
	if (reopen(t, id) < 0) {
		if (t->err.grpc_status == GRPC_UNIMPLEMENTED)
			tst_skip(t, "ReopenContainerLog is not implemented: %s", t->err.msg);
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	}
	/* The new file fills; then the rotated one must no longer change. */
	end = util_now_ms() + 5000;
	while (file_size(path) <= 0 && util_now_ms() < end)
		util_sleep_ms(20);
	REQUIRE(t, file_size(path) > 0, "no new lines at %s within 5 s of ReopenContainerLog", path);
	off_t old_size = file_size(rotated), new_size = file_size(path);
	/* About four more lines (each record is some 40 bytes). */
	end = util_now_ms() + 5000;
	while (file_size(path) < new_size + 160 && util_now_ms() < end)
		util_sleep_ms(50);
	EXPECT(t, file_size(rotated) == old_size, "the rotated file still grows (%lld -> %lld bytes)",
	       (long long)old_size, (long long)file_size(rotated));

	log_parse po, pn;
	read_parse(t, rotated, &po);
	read_parse(t, path, &pn);
	EXPECT(t, !po.problem[0], "rotated file: %s", po.problem);
	EXPECT(t, !pn.problem[0], "new file: %s", pn.problem);
	long f1, l1, f2, l2;
	counter_span(sb_str(&po.text[OUT]), &f1, &l1);
	counter_span(sb_str(&pn.text[OUT]), &f2, &l2);
	EXPECT(t, f1 == 1, "the rotated file starts at n=%ld, want n=1", f1);
	EXPECT(t, l2 >= f2 + 2, "the new file holds n=%ld..%ld, want at least 3 lines", f2, l2);
	EXPECT(t, f2 == l1 + 1, "lines lost or doubled across the rotation: old file ends at n=%ld, new starts at n=%ld",
	       l1, f2);
	crilog_free(&po);
	crilog_free(&pn);
}

/* The CRI lets the runtime either create a new file and succeed, or fail;
 * after a failure no new log file may appear. */
static void reopen_not_running(tst_ctx *t)
{
	char *id = run_to_exit(t, "done", ARGV("echo", "bye"));
	char *path = log_path_of(t, id);
	char *rotated = util_strdup_printf("%s.rotated", path);
	tst_defer(t, rm_file, rotated);
	REQUIRE(t, rename(path, rotated) == 0, "rename %s: %m", path);
	int rc = reopen(t, id);
	if (rc < 0 && t->err.grpc_status == GRPC_UNIMPLEMENTED)
		tst_skip(t, "ReopenContainerLog is not implemented: %s", t->err.msg);
	util_sleep_ms(200);
	if (rc < 0) {
		tst_info(t, "refused: %s", t->err.msg);
		EXPECT(t, !util_exists(path), "ReopenContainerLog failed but created %s", path);
	} else {
		tst_info(t, "accepted: a new log file was to be created");
		EXPECT(t, util_exists(path), "ReopenContainerLog succeeded but created no file at %s", path);
	}
}

static const tst_case logs_cases[] = {
	{ "logs/cri-format", "every log line is '<RFC3339Nano> <stdout|stderr> <P|F> <msg>'; both streams exact",
	  cri_format, TST_FIXTURE },
	{ "logs/partial-long-line", "a 43 KB line is split into P records that reassemble to the exact bytes",
	  partial_long_line, TST_FIXTURE },
	{ "logs/partial-no-newline", "output without a final newline ends in a P record, reassembled exactly",
	  partial_no_newline, TST_FIXTURE },
	{ "logs/reopen", "after a rename, ReopenContainerLog sends new lines to a new file, none lost",
	  reopen_rotates, TST_FIXTURE },
	{ "logs/reopen-not-running", "ReopenContainerLog on an exited container fails without a new file, or creates one",
	  reopen_not_running, TST_FIXTURE },
};
TST_SUITE_FIXTURE("logs", "Container log files", logs_cases, fx_pod_fixture)
