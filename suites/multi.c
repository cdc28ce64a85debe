/* multi: several containers in one pod share its network (and, when asked,
 * its PID namespace) but keep their own logs, files and exec sessions. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fx.h"
#include "util.h"

#define CTR_RUNNING RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING
#define CTR_EXITED RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED
#define PORT "18080"

/* Pod and container configs with the PID namespace mode the kubelet would
 * give both (CONTAINER by default, POD for shareProcessNamespace). */
static Runtime__V1__PodSandboxConfig *pod_config(tst_ctx *t, const char *name, Runtime__V1__NamespaceMode pid)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, name);
	cfg->linux_->security_context->namespace_options->pid = pid;
	return cfg;
}

static char *run_ctr(tst_ctx *t, const char *pod_id, Runtime__V1__PodSandboxConfig *pod, const char *name,
		     const char *const *cmd)
{
	Runtime__V1__ContainerConfig *cfg = fx_container_config(t, name, "busybox", cmd);
	/* The kubelet copies the pod's namespace options into each container. */
	cfg->linux_->security_context->namespace_options->pid =
		pod->linux_->security_context->namespace_options->pid;
	char *id = fx_create_container(t, pod_id, pod, cfg);
	fx_start_container(t, id);
	return id;
}

/* Exec that returns stdout and the exit code without failing the test. */
static int try_exec(tst_ctx *t, const char *id, const char *const *cmd, char **out)
{
	int code = -1;
	char *err = NULL;
	if (fx_exec(t, id, cmd, 5, out, &err, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	free(err);
	return code;
}

/* Command lines of every process the container sees, one a line, NULs as spaces. */
static char *processes(tst_ctx *t, const char *id)
{
	return fx_exec_ok(t, id, ARGV("sh", "-c", "for d in /proc/[0-9]*; do tr '\\0' ' ' < $d/cmdline 2>/dev/null; echo; done"));
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static void shared_localhost(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = pod_config(t, "net", RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
	char *pid = fx_run_pod(t, pod);
	char *text = util_strdup_printf("critic-multi-%d", (int)getpid());
	char *want = util_strdup_printf("%s\n", text);
	run_ctr(t, pid, pod, "server", ARGV("/usr/local/bin/critic-helper", "http", PORT, text));
	char *client = run_ctr(t, pid, pod, "client", ARGV("sleep", "3600"));
	/* The server needs a moment to listen: retry until the deadline. (No
	 * wget -T: Debian's static busybox 1.35 wget crashes with it; the exec
	 * timeout bounds the call instead.) */
	const char *const get[] = { "wget", "-q", "-O", "-", "http://127.0.0.1:" PORT "/", NULL };
	int64_t end = util_now_ms() + 5000;
	char *out = NULL;
	int code;
	while ((code = try_exec(t, client, get, &out)) != 0 && util_now_ms() < end) {
		free(out);
		out = NULL;
		util_sleep_ms(50);
	}
	REQUIRE(t, code == 0, "the client container could not fetch 127.0.0.1:%s from its pod peer (wget exit %d)",
		PORT, code);
	EXPECT(t, !strcmp(out, want), "body '%s', want '%s\\n'", out, text);
	free(out);

	/* Control: 127.0.0.1 is the pod's own loopback, not the node's. A
	 * container of another pod must not reach the server. */
	Runtime__V1__PodSandboxConfig *other = pod_config(t, "net-other", RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
	char *opid = fx_run_pod(t, other);
	char *stranger = run_ctr(t, opid, other, "stranger", ARGV("sleep", "3600"));
	out = NULL;
	code = try_exec(t, stranger, get, &out);
	EXPECT(t, code != 0, "a container of another pod reached 127.0.0.1:%s and got '%s'", PORT, out);
	free(out);
	free(want);
	free(text);
}

/* Poll a CRI log file until it holds want_lines lines (or 3 s pass). */
static char *read_log(tst_ctx *t, const char *path, int want_lines)
{
	int64_t end = util_now_ms() + 3000;
	for (;;) {
		char *text = NULL;
		crit_err e;
		int lines = 0;
		if (util_read_file(path, &text, NULL, &e) == 0)
			for (const char *p = text; (p = strchr(p, '\n')); p++)
				lines++;
		if (lines >= want_lines || util_now_ms() >= end) {
			REQUIRE(t, text != NULL, "log file %s: %s", path, e.msg);
			return text;
		}
		free(text);
		util_sleep_ms(50);
	}
}

/* The "<stream> <message>" of each full line of a CRI log, one a line
 * (the timestamp and the P/F tag dropped). */
static char *log_messages(tst_ctx *t, const char *text)
{
	strbuf sb = { 0 };
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *line = util_strdup_printf("%.*s", (int)len, p);
		char ts[64], stream[16], tag[4];
		int off = 0;
		if (sscanf(line, "%63s %15s %3s %n", ts, stream, tag, &off) == 3 && off > 0)
			sb_printf(&sb, "%s %s\n", stream, line + off);
		else
			tst_fail(t, __FILE__, __LINE__, "not a CRI log line: '%s'", line);
		free(line);
		p += len + (eol ? 1 : 0);
	}
	return sb.buf ? sb.buf : util_strdup_printf("%s", "");
}

static void separate_logs(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = pod_config(t, "logs", RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
	char *pid = fx_run_pod(t, pod);
	char *a = run_ctr(t, pid, pod, "alpha", ARGV("sh", "-c", "echo alpha-one; echo alpha-two >&2"));
	char *b = run_ctr(t, pid, pod, "beta", ARGV("sh", "-c", "echo beta-one; echo beta-two"));
	REQUIRE(t, fx_wait_container_state(t, a, CTR_EXITED, 10000), "alpha did not exit");
	REQUIRE(t, fx_wait_container_state(t, b, CTR_EXITED, 10000), "beta did not exit");

	const char *ids[2] = { a, b };
	const char *names[2] = { "alpha", "beta" };
	char *msgs[2];
	for (int i = 0; i < 2; i++) {
		Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, ids[i], false);
		char *want_path = util_strdup_printf("%s/%s.log", pod->log_directory, names[i]);
		EXPECT(t, !strcmp(st->status->log_path, want_path), "%s log_path '%s', want '%s'", names[i],
		       st->status->log_path, want_path);
		char *text = read_log(t, want_path, 2);
		msgs[i] = log_messages(t, text);
		free(text);
		free(want_path);
		cri_free(st);
	}
	/* alpha wrote one line per stream: their relative order is not fixed. */
	EXPECT(t, has_line(msgs[0], "stdout alpha-one") && has_line(msgs[0], "stderr alpha-two") &&
			  strlen(msgs[0]) == strlen("stdout alpha-one\nstderr alpha-two\n"),
	       "alpha's log holds '%s', want only stdout alpha-one and stderr alpha-two", msgs[0]);
	EXPECT(t, !strcmp(msgs[1], "stdout beta-one\nstdout beta-two\n"),
	       "beta's log holds '%s', want only stdout beta-one, beta-two", msgs[1]);
	free(msgs[0]);
	free(msgs[1]);
}

static void exec_each(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = pod_config(t, "exec", RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
	char *pid = fx_run_pod(t, pod);
	char *a = run_ctr(t, pid, pod, "first", ARGV("sleep", "1001"));
	char *b = run_ctr(t, pid, pod, "second", ARGV("sleep", "1002"));
	char *host = util_strdup_printf("%s\n", pod->hostname);
	const char *ids[2] = { a, b };
	const char *own[2] = { "sleep 1001 ", "sleep 1002 " };
	for (int i = 0; i < 2; i++) {
		/* The UTS namespace is the pod's: both see its hostname. */
		char *out = fx_exec_ok(t, ids[i], ARGV("hostname"));
		EXPECT(t, !strcmp(out, host), "container %d hostname '%s', want '%s'", i + 1, out, pod->hostname);
		free(out);
		/* The exec lands in the right container: PID 1 is its own command. */
		out = fx_exec_ok(t, ids[i], ARGV("sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline"));
		EXPECT(t, !strcmp(out, own[i]), "container %d: PID 1 is '%s', want '%s'", i + 1, out, own[i]);
		free(out);
	}
	/* Each container has its own root filesystem. */
	fx_exec_ok(t, a, ARGV("sh", "-c", "echo first > /tmp/critic-owner"));
	char *out = fx_exec_ok(t, a, ARGV("cat", "/tmp/critic-owner"));
	EXPECT(t, !strcmp(out, "first\n"), "file written by exec reads '%s'", out);
	free(out);
	out = NULL;
	int code = try_exec(t, b, ARGV("test", "-e", "/tmp/critic-owner"), &out);
	EXPECT(t, code == 1, "the second container sees the first one's /tmp file (test -e exit %d)", code);
	free(out);
	free(host);
}

static void pid_isolated(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = pod_config(t, "pid-ctr", RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
	char *pid = fx_run_pod(t, pod);
	char *a = run_ctr(t, pid, pod, "first", ARGV("sleep", "1001"));
	char *b = run_ctr(t, pid, pod, "second", ARGV("sleep", "1002"));
	char *pa = processes(t, a), *pb = processes(t, b);
	EXPECT(t, has_line(pa, "sleep 1001 "), "first container does not see its own process: %s", pa);
	EXPECT(t, !has_line(pa, "sleep 1002 "), "first container sees the second one's process: %s", pa);
	EXPECT(t, has_line(pb, "sleep 1002 "), "second container does not see its own process: %s", pb);
	EXPECT(t, !has_line(pb, "sleep 1001 "), "second container sees the first one's process: %s", pb);
	free(pa);
	free(pb);
}

static void pid_shared(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = pod_config(t, "pid-pod", RUNTIME__V1__NAMESPACE_MODE__POD);
	char *pid = fx_run_pod(t, pod);
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, pid, false);
	if (st->status->linux_ && st->status->linux_->namespaces && st->status->linux_->namespaces->options)
		EXPECT(t, st->status->linux_->namespaces->options->pid == RUNTIME__V1__NAMESPACE_MODE__POD,
		       "sandbox reports pid namespace mode %d, want POD", st->status->linux_->namespaces->options->pid);
	cri_free(st);
	char *a = run_ctr(t, pid, pod, "first", ARGV("sleep", "1001"));
	char *b = run_ctr(t, pid, pod, "second", ARGV("sleep", "1002"));
	char *pa = processes(t, a), *pb = processes(t, b);
	EXPECT(t, has_line(pa, "sleep 1001 ") && has_line(pa, "sleep 1002 "),
	       "first container does not see both containers' processes: %s", pa);
	EXPECT(t, has_line(pb, "sleep 1001 ") && has_line(pb, "sleep 1002 "),
	       "second container does not see both containers' processes: %s", pb);
	/* With a shared PID namespace the sandbox's own process is PID 1, so no
	 * application container runs as PID 1 (Kubernetes documents this). */
	char *init = fx_exec_ok(t, a, ARGV("sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline"));
	EXPECT(t, strcmp(init, "sleep 1001 ") && strcmp(init, "sleep 1002 "),
	       "an application container is PID 1 of the shared namespace: '%s'", init);
	tst_info(t, "PID 1 of the pod: %s", init);
	free(init);
	free(pa);
	free(pb);
}

static const tst_case multi_cases[] = {
	{ "multi/shared-localhost", "two containers of a pod talk over 127.0.0.1; another pod cannot",
	  shared_localhost },
	{ "multi/separate-logs", "each container of a pod writes only its own lines to its own log file",
	  separate_logs },
	{ "multi/exec-each", "exec reaches each container: own PID 1 and files, the pod's hostname", exec_each },
	{ "multi/pid-isolated", "with the CONTAINER pid mode containers do not see each other's processes",
	  pid_isolated },
	{ "multi/pid-shared", "with the POD pid mode containers see each other's processes", pid_shared },
};
TST_SUITE("multi", "Multi-container pods", multi_cases)
