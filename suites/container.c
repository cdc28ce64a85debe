/* container: container lifecycle, exec and logs. */
#include <string.h>

#include "fx.h"
#include "util.h"

static void lifecycle(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "ctr");
	char *pid = fx_run_pod(t, pod);
	Runtime__V1__ContainerConfig *cfg = fx_container_config(t, "main", "busybox", ARGV("sleep", "3600"));
	char *id = fx_create_container(t, pid, pod, cfg);
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED, "state %d, want CREATED",
	       st->status->state);
	cri_free(st);
	fx_start_container(t, id);
	st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, "state %d, want RUNNING",
	       st->status->state);
	EXPECT(t, st->status->started_at >= st->status->created_at, "started_at before created_at");
	cri_free(st);
	Runtime__V1__StopContainerRequest sr = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	Runtime__V1__StopContainerResponse *sresp = NULL;
	sr.container_id = id;
	sr.timeout = 2;
	CALL_OK(t, StopContainer, &sr, &sresp);
	cri_free(sresp);
	st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, "state %d, want EXITED",
	       st->status->state);
	EXPECT(t, st->status->finished_at >= st->status->started_at, "finished_at before started_at");
	cri_free(st);
}

static void exec_sync(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "exec");
	char *pid = fx_run_pod(t, pod);
	char *id = fx_run_container(t, pid, pod, "main", ARGV("sleep", "3600"));
	char *out = NULL, *err = NULL;
	int code = -1;
	if (fx_exec(t, id, ARGV("sh", "-c", "echo out; echo err >&2; exit 7"), 10, &out, &err, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	EXPECT(t, !strcmp(out, "out\n"), "stdout '%s', want 'out\\n'", out);
	EXPECT(t, !strcmp(err, "err\n"), "stderr '%s', want 'err\\n'", err);
	EXPECT(t, code == 7, "exit code %d, want 7", code);
}

static void logs(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "logs");
	char *pid = fx_run_pod(t, pod);
	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, "logger", "busybox", ARGV("sh", "-c", "echo hello-out; echo hello-err >&2"));
	char *id = fx_create_container(t, pid, pod, cfg);
	fx_start_container(t, id);
	REQUIRE(t, fx_wait_container_state(t, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED, 10000),
		"container did not exit");
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	char *path = util_strdup_printf("%s", st->status->log_path);
	EXPECT(t, st->status->exit_code == 0, "exit code %d", st->status->exit_code);
	cri_free(st);
	char *text = NULL;
	crit_err e;
	REQUIRE(t, util_read_file(path, &text, NULL, &e) == 0, "%s", e.msg);
	/* CRI log lines: "<RFC3339Nano> <stream> <P|F> <message>". */
	EXPECT(t, strstr(text, " stdout F hello-out\n") != NULL, "no stdout line in %s: %s", path, text);
	EXPECT(t, strstr(text, " stderr F hello-err\n") != NULL, "no stderr line in %s: %s", path, text);
	free(text);
}

static const tst_case container_cases[] = {
	{ "container/lifecycle", "a container goes CREATED, RUNNING, EXITED with ordered timestamps", lifecycle },
	{ "container/exec-sync", "ExecSync returns stdout, stderr and the exit code", exec_sync },
	{ "container/logs", "both streams land in the CRI log file format", logs },
};
TST_SUITE("container", "Container lifecycle", container_cases)
