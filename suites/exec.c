/* exec: ExecSync as exec probes and `kubectl exec` use it: separate
 * streams and exit code, the timeout, large outputs, and failures. */
#include <stdlib.h>
#include <string.h>

#include "fx.h"
#include "util.h"

#define GRPC_DEADLINE_EXCEEDED 4

/* ExecSync keeping the reply (byte counts matter here). */
static int exec_sync(tst_ctx *t, const char *id, const char *const *cmd, int timeout_s,
		     Runtime__V1__ExecSyncResponse **resp)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	size_t n = 0;
	while (cmd[n])
		n++;
	req.container_id = (char *)id;
	req.cmd = (char **)cmd;
	req.n_cmd = n;
	req.timeout = timeout_s;
	*resp = NULL;
	return CRI_CALL_T(t->cri, ExecSync, &req, resp, cri_timeout_ms(t->cri) + timeout_s * 1000, &t->err);
}

static bool bytes_are(const ProtobufCBinaryData *b, const char *s)
{
	return b->len == strlen(s) && !memcmp(b->data, s, b->len);
}

static char *printable(const ProtobufCBinaryData *b)
{
	size_t n = b->len > 200 ? 200 : b->len;
	return util_strdup_printf("%.*s%s", (int)n, (const char *)b->data, b->len > n ? "…" : "");
}

/* The area's shared fixture: one pod with a running container "main" that
 * the read-only tests exec into (each exec is its own process). */
static void exec_fixture_setup(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "exec");
	char *pid = fx_run_pod(t, pod);
	char *id = fx_run_container(t, pid, pod, "main", ARGV("sleep", "3600"));
	tst_fixture_set(t, "pod", pid);
	tst_fixture_set(t, "main", id);
}

static const tst_fixture exec_fixture = { .setup = exec_fixture_setup };

static void streams_exit_code(tst_ctx *t)
{
	const char *id = tst_fixture_get(t, "main"); /* shared: only exec into it */
	Runtime__V1__ExecSyncResponse *r = NULL;
	if (exec_sync(t, id, ARGV("sh", "-c", "echo out; echo err >&2; printf tail; exit 7"), 10, &r) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	EXPECT(t, bytes_are(&r->stdout, "out\ntail"), "stdout '%s', want 'out\\ntail'", printable(&r->stdout));
	EXPECT(t, bytes_are(&r->stderr, "err\n"), "stderr '%s', want 'err\\n'", printable(&r->stderr));
	EXPECT(t, r->exit_code == 7, "exit code %d, want 7", r->exit_code);
	cri_free(r);
	/* And a clean success reports 0 with empty streams. */
	if (exec_sync(t, id, ARGV("true"), 10, &r) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	EXPECT(t, r->exit_code == 0 && r->stdout.len == 0 && r->stderr.len == 0,
	       "`true` gave exit %d, %zu stdout bytes, %zu stderr bytes", r->exit_code, r->stdout.len, r->stderr.len);
	cri_free(r);
}

/* The kubelet turns a DEADLINE_EXCEEDED from ExecSync into an exec probe
 * timeout; any other outcome makes a hung probe look like something else. */
static void sync_timeout(tst_ctx *t)
{
	const char *id = tst_fixture_get(t, "main"); /* shared: only exec into it */
	Runtime__V1__ExecSyncResponse *r = NULL;
	int64_t t0 = util_now_ms();
	int rc = exec_sync(t, id, ARGV("sleep", "30"), 1, &r);
	int64_t took = util_now_ms() - t0;
	REQUIRE(t, took < 5000, "ExecSync with timeout 1 s returned after %lld ms: the runtime waited for the command",
		(long long)took);
	EXPECT(t, took >= 900, "ExecSync returned after %lld ms, before the 1 s timeout", (long long)took);
	if (rc == 0) {
		EXPECT(t, false, "a timed-out ExecSync returned success (exit %d) instead of DEADLINE_EXCEEDED",
		       r->exit_code);
		cri_free(r);
	} else {
		EXPECT(t, t->err.grpc_status == GRPC_DEADLINE_EXCEEDED, "want DEADLINE_EXCEEDED, got %s", t->err.msg);
		tst_info(t, "after %lld ms: %s", (long long)took, t->err.msg);
	}
	/* The timeout is "to stop the command": it must not linger. */
	int64_t end = util_now_ms() + 3000;
	char *ps = NULL;
	bool gone = false;
	while (!gone) {
		free(ps);
		ps = fx_exec_ok(t, id,
				ARGV("sh", "-c", "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done"));
		gone = strstr(ps, "sleep 30 ") == NULL;
		if (gone || util_now_ms() >= end)
			break;
		util_sleep_ms(100);
	}
	EXPECT(t, gone, "the timed-out command still runs in the container:\n%s", ps);
	free(ps);
}

static void not_running(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "exec");
	char *pid = fx_run_pod(t, pod);
	Runtime__V1__ExecSyncResponse *r = NULL;

	char *created = fx_create_container(t, pid, pod, fx_container_config(t, "created", "busybox",
									   ARGV("sleep", "3600")));
	int rc = exec_sync(t, created, ARGV("echo", "hi"), 5, &r);
	EXPECT(t, rc < 0, "ExecSync in a CREATED container succeeded (exit %d)", r ? r->exit_code : -1);
	if (rc < 0)
		tst_info(t, "CREATED: %s", t->err.msg);
	cri_free(r);

	char *id = fx_run_container(t, pid, pod, "stopped", ARGV("sleep", "3600"));
	Runtime__V1__StopContainerRequest sr = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	Runtime__V1__StopContainerResponse *sresp = NULL;
	sr.container_id = id;
	sr.timeout = 0;
	CALL_OK(t, StopContainer, &sr, &sresp);
	cri_free(sresp);
	REQUIRE(t, fx_wait_container_state(t, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 5000),
		"container did not stop");
	rc = exec_sync(t, id, ARGV("echo", "hi"), 5, &r);
	EXPECT(t, rc < 0, "ExecSync in an EXITED container succeeded (exit %d, stdout '%s')", r ? r->exit_code : -1,
	       r ? printable(&r->stdout) : "");
	if (rc < 0)
		tst_info(t, "EXITED: %s", t->err.msg);
	cri_free(r);
}

static void missing_binary(tst_ctx *t)
{
	const char *id = tst_fixture_get(t, "main"); /* shared: only exec into it */
	Runtime__V1__ExecSyncResponse *r = NULL;
	int rc = exec_sync(t, id, ARGV("/critic/no-such-binary", "arg"), 5, &r);
	/* Either an error or a failing exit code: never a silent success. */
	if (rc < 0) {
		tst_info(t, "error: %s", t->err.msg);
	} else {
		EXPECT(t, r->exit_code != 0, "exec of a missing binary exited 0");
		tst_info(t, "exit %d, stderr '%s'", r->exit_code, printable(&r->stderr));
		cri_free(r);
	}
	/* The container is unharmed. */
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
	       "container state %d after the failed exec, want RUNNING", st->status->state);
	cri_free(st);
}

static bool all_bytes(const ProtobufCBinaryData *b, uint8_t c)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] != c)
			return false;
	return true;
}

static void large_output(tst_ctx *t)
{
	const char *id = tst_fixture_get(t, "main"); /* shared: only exec into it */
	Runtime__V1__ExecSyncResponse *r = NULL;
	/* 1 MiB on stdout and 256 KiB on stderr at the same time. */
	const char *cmd = "head -c 262144 /dev/zero | tr '\\0' e >&2 & "
			  "head -c 1048576 /dev/zero | tr '\\0' o; wait";
	if (exec_sync(t, id, ARGV("sh", "-c", cmd), 20, &r) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	EXPECT(t, r->exit_code == 0, "exit code %d", r->exit_code);
	EXPECT(t, r->stdout.len == 1048576, "stdout has %zu bytes, want 1048576", r->stdout.len);
	EXPECT(t, all_bytes(&r->stdout, 'o'), "stdout holds bytes other than 'o'");
	EXPECT(t, r->stderr.len == 262144, "stderr has %zu bytes, want 262144", r->stderr.len);
	EXPECT(t, all_bytes(&r->stderr, 'e'), "stderr holds bytes other than 'e'");
	cri_free(r);
}

static const tst_case exec_cases[] = {
	{ "exec/sync-streams-exit-code", "ExecSync returns stdout, stderr and the exit code separately, byte-exact",
	  streams_exit_code, TST_FIXTURE },
	{ "exec/sync-timeout", "ExecSync past its timeout ends in about 1 s with DEADLINE_EXCEEDED and kills the command",
	  sync_timeout, TST_FIXTURE },
	{ "exec/sync-not-running", "ExecSync in a CREATED or EXITED container fails", not_running },
	{ "exec/sync-missing-binary", "ExecSync of a missing binary gives an error or a non-zero exit", missing_binary,
	  TST_FIXTURE },
	{ "exec/sync-large-output", "1 MiB of stdout and 256 KiB of stderr arrive complete", large_output,
	  TST_FIXTURE },
};
TST_SUITE_FIXTURE("exec", "ExecSync", exec_cases, exec_fixture)
