/* Integration: process and socket-file faults on a real containerd in a lab of this suite's own
 * (it gets killed): what clients see, how fast it goes down and comes back, what critic restores. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cri.h"
#include "fault/process.h"
#include "fault/sockfile.h"
#include "lab.h"
#include "rtctl.h"
#include "tests.h"
#include "util.h"

#define GRPC_DEADLINE_EXCEEDED 4
#define GRPC_UNAVAILABLE 14

static char lab_dir[PATH_MAX];
static lab_info lab;
static rtctl *rt;
static bool lab_ok, lab_is_down;
static fault_sock fsock;
static cri_conn *kube;     /* a long-lived connection, the way a kubelet holds one */
static char logdir[64];    /* pod logs, under /tmp */
static char pod_id[128];   /* the pod a test made, removed by the test or cleanup */

static const fault_proc_opts popts = { .down_timeout_ms = 10000, .ready_timeout_ms = 30000 };

/* ------------------------------------------------------------ helpers */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("\n    ");
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void print_result(const fault_proc_result *r)
{
	char line[600];
	fault_proc_describe(r, line, sizeof line);
	say("%s", line);
}

/* Fill a unix socket address; false when the path does not fit. */
static bool sun_fill(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n >= sizeof sa->sun_path)
		return false;
	memcpy(sa->sun_path, path, n + 1);
	return true;
}

/* What a client finds at path, checked by hand (stat + one blocking-free
 * connect), independent of the classifier under test. */
typedef struct own_check {
	bool exists, is_sock;
	ino_t ino;
	mode_t mode;
	int connect_errno; /* 0 = accepted */
} own_check;

static own_check check_path(const char *path)
{
	own_check c = { 0 };
	struct stat st;
	if (lstat(path, &st) == 0) {
		c.exists = true;
		c.is_sock = S_ISSOCK(st.st_mode);
		c.ino = st.st_ino;
		c.mode = st.st_mode & 07777;
	}
	struct sockaddr_un sa;
	if (!sun_fill(&sa, path)) {
		c.connect_errno = ENAMETOOLONG;
		return c;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c.connect_errno = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
	close(fd);
	return c;
}

/* The state a hand check implies (connect-level). */
static fault_sock_state own_state(const own_check *c)
{
	switch (c->connect_errno) {
	case 0: return FAULT_SOCK_ACCEPTS;
	case ENOENT: return FAULT_SOCK_MISSING;
	case ECONNREFUSED: return c->is_sock ? FAULT_SOCK_REFUSED : FAULT_SOCK_NOT_SOCKET;
	case EACCES: return FAULT_SOCK_DENIED;
	default: return FAULT_SOCK_ERROR;
	}
}

/* Status on conn (a new one when conn is NULL); returns the call's code and
 * how long it took. */
static int status_call(cri_conn *conn, int timeout_ms, int64_t *took_ms, crit_err *e)
{
	err_clear(e);
	cri_conn *own = NULL;
	if (!conn) {
		int rc = cri_connect(&own, lab.endpoint, NULL, timeout_ms, e);
		if (rc < 0)
			return rc;
		conn = own;
	}
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *resp = NULL;
	int64_t t0 = util_now_ms();
	int rc = CRI_CALL_T(conn, Status, &req, &resp, timeout_ms, e);
	if (took_ms)
		*took_ms = util_now_ms() - t0;
	cri_free(resp);
	cri_close(own);
	return rc;
}

static int version_call(cri_conn *conn, int timeout_ms, int64_t *took_ms, crit_err *e)
{
	err_clear(e);
	cri_conn *own = NULL;
	if (!conn) {
		int rc = cri_connect(&own, lab.endpoint, NULL, timeout_ms, e);
		if (rc < 0)
			return rc;
		conn = own;
	}
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *resp = NULL;
	int64_t t0 = util_now_ms();
	int rc = CRI_CALL_T(conn, Version, &req, &resp, timeout_ms, e);
	if (took_ms)
		*took_ms = util_now_ms() - t0;
	cri_free(resp);
	cri_close(own);
	return rc;
}

/* Retry a Status on conn until it works; how long that took (-1 = not
 * within within_ms), how many calls failed first and the first error. */
static int64_t status_recovers(cri_conn *conn, int within_ms, int *failed, char *first, size_t len)
{
	int64_t t0 = util_now_ms();
	crit_err e;
	*failed = 0;
	first[0] = '\0';
	while (util_now_ms() - t0 < within_ms) {
		int64_t took = 0;
		if (status_call(conn, 1000, &took, &e) == 0)
			return util_now_ms() - t0;
		if (!(*failed)++)
			snprintf(first, len, "after %lld ms: %.400s", (long long)took, e.msg);
		util_sleep_ms(20);
	}
	return -1;
}

static void kube_reconnect(void)
{
	crit_err e;
	cri_close(kube);
	kube = NULL;
	if (cri_connect(&kube, lab.endpoint, NULL, 5000, &e) < 0)
		say("connect: %s", e.msg);
}

/* Each test starts from a runtime that answers, whatever the one before
 * left: socket restored, process thawed, restarted when needed. */
static bool ensure_up(void)
{
	if (!lab_ok || lab_is_down)
		return false;
	crit_err e;
	err_clear(&e);
	if (fault_sock_restore(&fsock, &e) < 0)
		say("restore left by an earlier test: %s", e.msg);
	pid_t pid = rtctl_pid(rt, NULL);
	if (pid > 0)
		kill(pid, SIGCONT);
	fault_proc_result r = { 0 };
	fault_proc_opts quick = { .ready_timeout_ms = 1, .status_ms = 2000 };
	if (fault_proc_wait_ready(lab.endpoint, &quick, &r, &e) == 0)
		return true;
	if (fault_proc_restart(rt, &popts, &r, &e) < 0) {
		say("runtime not back: %s", e.msg);
		return false;
	}
	lab_status(lab_dir, &lab, NULL);
	return true;
}

/* ------------------------------------------------------------ suite */

static int suite_init(void)
{
	crit_err e;
	err_clear(&e);
	tests_sibling_lab_dir("fault", lab_dir, sizeof lab_dir);
	if (rtctl_from_lab(&rt, lab_dir, &e) < 0) {
		say("runtime control for %s: %s", lab_dir, e.msg);
		return -1;
	}
	int64_t t0 = util_now_ms();
	/* rtctl brings the lab up in a fresh critic process: this process has
	 * used gRPC already (other suites), so it must not fork CRI helpers. */
	if (rtctl_start(rt, &e) < 0) {
		say("lab up in %s: %s", lab_dir, e.msg);
		return -1;
	}
	if (lab_status(lab_dir, &lab, &e) != 1) {
		say("lab in %s not running after up: %s", lab_dir, e.msg);
		return -1;
	}
	if (fault_sock_init(&fsock, rt, &e) < 0) {
		say("%s", e.msg);
		return -1;
	}
	say("fault lab up in %s (%lld ms): containerd pid %d", lab.dir, (long long)(util_now_ms() - t0),
	    (int)lab.containerd_pid);
	lab_ok = true;
	return 0;
}

static int remove_pod(const char *id)
{
	cri_conn *c = NULL;
	crit_err e;
	if (cri_connect(&c, lab.endpoint, NULL, 30000, &e) < 0)
		return -1;
	Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	Runtime__V1__RemovePodSandboxRequest rreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
	sreq.pod_sandbox_id = rreq.pod_sandbox_id = (char *)id;
	int rc = CRI_CALL(c, StopPodSandbox, &sreq, &sresp, &e);
	if (rc == 0)
		rc = CRI_CALL(c, RemovePodSandbox, &rreq, &rresp, &e);
	if (rc < 0)
		say("remove pod %s: %s", id, e.msg);
	cri_free(sresp);
	cri_free(rresp);
	cri_close(c);
	return rc;
}

/* Hidden files a socket fault may have left next to the socket. */
static int aside_files(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (util_has_prefix(de->d_name, ".critic-aside.")) {
			say("left behind: %s/%s", dir, de->d_name);
			n++;
		}
	if (d)
		closedir(d);
	return n;
}

static int take_down(void)
{
	crit_err e;
	err_clear(&e);
	int rc = 0;
	fault_sock_restore(&fsock, NULL);
	cri_close(kube);
	kube = NULL;
	if (rt && !lab_is_down) {
		pid_t pid = rtctl_pid(rt, NULL);
		if (pid > 0)
			kill(pid, SIGCONT);
		if (pod_id[0] && pid > 0)
			remove_pod(pod_id);
		pod_id[0] = '\0';
		if ((rc = rtctl_lab_down(rt, &e)) < 0)
			say("lab down in %s: %s", lab_dir, e.msg);
		lab_is_down = true;
	}
	if (logdir[0]) {
		util_rm_rf(logdir, NULL);
		logdir[0] = '\0';
	}
	return rc;
}

static int suite_cleanup(void)
{
	int rc = take_down();
	rtctl_free(rt);
	rt = NULL;
	return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ rtctl */

static void test_rtctl_lab(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	CU_ASSERT(rtctl_is_lab(rt));
	CU_ASSERT_STRING_EQUAL(rtctl_socket(rt), lab.socket);
	CU_ASSERT_STRING_EQUAL(rtctl_endpoint(rt), lab.endpoint);
	pid_t pid = rtctl_pid(rt, &e);
	CU_ASSERT(pid > 0);
	CU_ASSERT_EQUAL(pid, lab.containerd_pid);
	char cmd[4096];
	CU_ASSERT(util_pid_cmdline(pid, cmd, sizeof cmd) > 0 && strstr(cmd, "containerd --config") != NULL);
	CU_ASSERT_EQUAL(rtctl_signal(rt, 0, &e), 0);

	/* Bad configurations are refused with a reason. */
	rtctl *bad = NULL;
	rtctl_config both = { .lab_dir = lab_dir, .endpoint = lab.endpoint };
	CU_ASSERT_EQUAL(rtctl_open(&bad, &both, &e), -EINVAL);
	rtctl_config lab_cmd = { .lab_dir = lab_dir, .start_cmd = "true" };
	CU_ASSERT_EQUAL(rtctl_open(&bad, &lab_cmd, &e), -EINVAL);
	CU_ASSERT(strstr(e.msg, "external runtime") != NULL);
	CU_ASSERT(rtctl_external(&bad, "tcp://127.0.0.1:1", 0, NULL, NULL, NULL, &e) < 0);
	CU_ASSERT(strstr(e.msg, "tcp://127.0.0.1:1") != NULL);
	/* A pid that does not run (the child we just reaped). */
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	CU_ASSERT_EQUAL(rtctl_external(&bad, lab.endpoint, gone, NULL, NULL, NULL, &e), -ESRCH);
	CU_ASSERT(bad == NULL);
}

/* An external runtime: the lab's containerd driven as a user would drive
 * theirs, by pidfile or pid and shell commands. */
static void test_rtctl_external(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	char pidfile[] = "/tmp/critic-fault-pid-XXXXXX";
	int fd = mkstemp(pidfile);
	CU_ASSERT_FATAL(fd >= 0);
	dprintf(fd, "%d\n", (int)lab.containerd_pid);
	close(fd);

	rtctl *ext = NULL;
	CU_ASSERT_EQUAL(rtctl_external(&ext, lab.socket, 0, pidfile, NULL, NULL, &e), 0);
	if (ext) {
		CU_ASSERT(!rtctl_is_lab(ext));
		CU_ASSERT_STRING_EQUAL(rtctl_endpoint(ext), lab.endpoint);
		CU_ASSERT_EQUAL(rtctl_pid(ext, &e), lab.containerd_pid);
		/* A pidfile that holds no pid is an error naming the file. */
		util_write_file(pidfile, "containerd\n", 11, 0644, NULL);
		CU_ASSERT_EQUAL(rtctl_pid(ext, &e), -EINVAL);
		CU_ASSERT(strstr(e.msg, pidfile) != NULL);
		/* Without a start command it cannot be started. */
		CU_ASSERT_EQUAL(rtctl_start(ext, &e), -ENOTSUP);
		CU_ASSERT(strstr(e.msg, "--runtime-start") != NULL);
		rtctl_free(ext);
		ext = NULL;
	}
	unlink(pidfile);

	/* No pidfile: a pid, a stop command and a start command. After the
	 * restart the old pid is gone and the runtime is found again as the
	 * process listening on the socket. */
	char bin[PATH_MAX];
	CU_ASSERT_FATAL(tests_beside("critic", bin, sizeof bin) == 0);
	char *start = util_strdup_printf("'%s' --dir '%s' lab up", bin, lab.dir);
	char *stop = util_strdup_printf("kill -TERM %d", (int)lab.containerd_pid);
	pid_t old = lab.containerd_pid;
	CU_ASSERT_EQUAL(rtctl_external(&ext, lab.endpoint, old, NULL, start, stop, &e), 0);
	if (ext) {
		CU_ASSERT_EQUAL(rtctl_pid(ext, &e), old);
		int64_t t0 = util_now_ms();
		int rc = rtctl_stop(ext, &e);
		if (rc < 0)
			say("%s", e.msg);
		CU_ASSERT_EQUAL(rc, 0);
		int64_t stopped = util_now_ms() - t0;
		CU_ASSERT(!util_pid_alive(old));
		CU_ASSERT_EQUAL(rtctl_pid(ext, &e), 0);
		t0 = util_now_ms();
		rc = rtctl_start(ext, &e);
		if (rc < 0)
			say("%s", e.msg);
		CU_ASSERT_EQUAL(rc, 0);
		int64_t started = util_now_ms() - t0;
		pid_t now = rtctl_pid(ext, &e);
		lab_status(lab_dir, &lab, NULL);
		CU_ASSERT(now > 0 && now != old);
		CU_ASSERT_EQUAL(now, lab.containerd_pid);
		say("external control: stop command %lld ms, start command %lld ms, pid %d -> %d (found on the socket)",
		    (long long)stopped, (long long)started, (int)old, (int)now);
		/* A failing start command is reported with its output. */
		rtctl *failing = NULL;
		CU_ASSERT_EQUAL(rtctl_external(&failing, lab.endpoint, 0, NULL, "echo no such unit >&2; exit 5",
					       NULL, &e), 0);
		if (failing) {
			CU_ASSERT_EQUAL(rtctl_start(failing, &e), -EIO);
			CU_ASSERT(strstr(e.msg, "exited with 5") && strstr(e.msg, "no such unit"));
			rtctl_free(failing);
		}
		rtctl_free(ext);
	}
	free(start);
	free(stop);
}

/* ------------------------------------------------------------ process faults */

static void test_sigkill(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	kube_reconnect();
	CU_ASSERT_EQUAL_FATAL(status_call(kube, 5000, NULL, &e), 0);

	fault_proc_result r;
	int rc = fault_proc_kill(rt, SIGKILL, &popts, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	print_result(&r);
	CU_ASSERT(r.down_ms >= 0 && r.down_ms < 1000);
	CU_ASSERT(r.exit_ms >= 0 && r.exit_ms < 1000);
	CU_ASSERT(!util_pid_alive(r.pid));

	/* containerd leaves its socket file behind: a stale socket. */
	own_check own = check_path(lab.socket);
	say("socket after SIGKILL: %s (exists %d, socket %d, connect: %s)",
	    fault_sock_state_name(r.sock_after.state), own.exists, own.is_sock, own.connect_errno ? strerror(own.connect_errno) : "accepted");
	CU_ASSERT_EQUAL(r.sock_down.state, FAULT_SOCK_REFUSED);
	CU_ASSERT_EQUAL(r.sock_after.state, FAULT_SOCK_REFUSED);
	CU_ASSERT(own.exists && own.is_sock);
	CU_ASSERT_EQUAL(own.connect_errno, ECONNREFUSED);
	CU_ASSERT_EQUAL(r.sock_after.state, own_state(&own));
	CU_ASSERT_STRING_EQUAL(fault_sock_state_name(r.sock_after.state), "stale socket: refuses connections");

	/* A Status call fails at once, on the kubelet-like connection and on a
	 * new one, as UNAVAILABLE. */
	int64_t took = 0;
	rc = status_call(kube, 5000, &took, &e);
	say("Status on the old connection: %lld ms: %s", (long long)took, e.msg);
	CU_ASSERT_EQUAL(rc, -ERR_UNREACHABLE);
	CU_ASSERT_EQUAL(e.grpc_status, GRPC_UNAVAILABLE);
	CU_ASSERT(took < 1000);
	rc = status_call(NULL, 5000, &took, &e);
	say("Status on a new connection: %lld ms: %s", (long long)took, e.msg);
	CU_ASSERT_EQUAL(rc, -ERR_UNREACHABLE);
	CU_ASSERT(took < 1000);
	CU_ASSERT(strstr(e.msg, "Connection refused") != NULL);
}

static void test_restart_ready(void)
{
	CU_ASSERT_FATAL(lab_ok && !lab_is_down);
	crit_err e;
	err_clear(&e);
	/* Runs after the SIGKILL test; kill here if that one did not. */
	fault_proc_result r;
	if (rtctl_pid(rt, NULL) > 0)
		CU_ASSERT_EQUAL(fault_proc_kill(rt, SIGKILL, &popts, &r, &e), 0);
	CU_ASSERT_EQUAL(rtctl_pid(rt, NULL), 0);
	int rc = fault_proc_restart(rt, &popts, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	print_result(&r);
	CU_ASSERT(r.ready_ms >= r.start_ms && r.start_ms >= 0);
	/* The new process started after the restart began (/proc start times
	 * have 10 ms resolution). */
	CU_ASSERT(r.new_age_ms >= 0 && r.new_age_ms <= r.ready_ms + 20);
	CU_ASSERT(r.new_pid > 0);
	CU_ASSERT(util_pid_alive(r.new_pid));
	lab_status(lab_dir, &lab, NULL);
	CU_ASSERT_EQUAL(r.new_pid, lab.containerd_pid);
	/* The connection made before the kill reconnects by itself. */
	int failed = 0;
	char first[512];
	int64_t back = kube ? status_recovers(kube, 10000, &failed, first, sizeof first) : -1;
	say("the connection made before the kill answers again after %lld ms (%d failed calls first%s%s)",
	    (long long)back, failed, failed ? "; first failed " : "", first);
	CU_ASSERT(back >= 0);
}

static void test_sigterm(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	fault_proc_result r;
	int rc = fault_proc_kill(rt, SIGTERM, &popts, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	print_result(&r);
	own_check own = check_path(lab.socket);
	say("socket after SIGTERM: first %s, once gone %s (exists %d, connect: %s)",
	    fault_sock_state_name(r.sock_down.state), fault_sock_state_name(r.sock_after.state), own.exists,
	    own.connect_errno ? strerror(own.connect_errno) : "accepted");
	/* containerd shuts down on SIGTERM by removing its socket file first:
	 * clients find no socket at all (after SIGKILL they find a stale one). */
	CU_ASSERT_EQUAL(r.sock_down.state, FAULT_SOCK_MISSING);
	CU_ASSERT_EQUAL(r.sock_after.state, FAULT_SOCK_MISSING);
	CU_ASSERT_EQUAL(r.sock_after.state, own_state(&own));
	CU_ASSERT(!own.exists);
	CU_ASSERT(r.exit_ms >= 0 && r.exit_ms < 10000);
	int64_t took = 0;
	CU_ASSERT_EQUAL(status_call(NULL, 5000, &took, &e), -ERR_UNREACHABLE);
	CU_ASSERT(took < 1000);

	rc = fault_proc_restart(rt, &popts, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	print_result(&r);
	lab_status(lab_dir, &lab, NULL);
}

static void test_sigstop(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	kube_reconnect();
	CU_ASSERT_EQUAL_FATAL(version_call(kube, 5000, NULL, &e), 0);
	fault_proc_result r;
	int rc = fault_proc_stop(rt, &popts, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	print_result(&r);
	CU_ASSERT_EQUAL(r.sock_down.state, FAULT_SOCK_SILENT);
	CU_ASSERT(r.down_ms >= 0 && r.down_ms < 1000);
	/* The kernel still accepts connections for the frozen process. */
	own_check own = check_path(lab.socket);
	CU_ASSERT_EQUAL(own.connect_errno, 0);
	CU_ASSERT(util_pid_alive(r.pid));

	/* A Version with a 500 ms deadline runs into it, on the connection
	 * made before and on a new one. */
	int64_t took = 0;
	rc = version_call(kube, 500, &took, &e);
	say("Version (500 ms deadline) on the old connection: %lld ms: %s", (long long)took, e.msg);
	CU_ASSERT_EQUAL(rc, -ERR_GRPC);
	CU_ASSERT_EQUAL(e.grpc_status, GRPC_DEADLINE_EXCEEDED);
	CU_ASSERT(took >= 450 && took < 1500);
	rc = version_call(NULL, 500, &took, &e);
	say("Version (500 ms deadline) on a new connection: %lld ms: %s", (long long)took, e.msg);
	CU_ASSERT_EQUAL(e.grpc_status, GRPC_DEADLINE_EXCEEDED);
	CU_ASSERT(took >= 450 && took < 1500);

	rc = fault_proc_cont(rt, &popts, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	print_result(&r);
	CU_ASSERT(r.ready_ms >= 0 && r.ready_ms < 5000);
	rc = version_call(kube, 2000, &took, &e);
	CU_ASSERT_EQUAL(rc, 0);
	say("the old connection after SIGCONT: Version in %lld ms", (long long)took);
}

/* ------------------------------------------------------------ containers */

/* The pid of a container's process, from ContainerStatus's verbose info. */
static pid_t container_pid(cri_conn *c, const char *id, int *state)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	Runtime__V1__ContainerStatusResponse *resp = NULL;
	crit_err e;
	req.container_id = (char *)id;
	req.verbose = true;
	pid_t pid = 0;
	*state = -1;
	if (CRI_CALL(c, ContainerStatus, &req, &resp, &e) < 0) {
		say("ContainerStatus %s: %s", id, e.msg);
		return 0;
	}
	if (resp->status)
		*state = resp->status->state;
	for (size_t i = 0; i < resp->n_info; i++) {
		if (strcmp(resp->info[i]->key, "info") != 0)
			continue;
		json_object *j = json_tokener_parse(resp->info[i]->value), *p;
		if (j && json_object_object_get_ex(j, "pid", &p))
			pid = (pid_t)json_object_get_int(p);
		json_object_put(j);
	}
	cri_free(resp);
	return pid;
}

/* Parent pid and start time from /proc/PID/stat. */
static bool proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	char path[64], *text = NULL;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (util_read_file(path, &text, NULL, NULL) < 0)
		return false;
	char *p = strrchr(text, ')');
	int pp = 0;
	/* state ppid … starttime (field 22) */
	bool ok = p && sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
			      "%llu", &pp, start) == 2;
	*ppid = pp;
	free(text);
	return ok;
}

static void test_containers_survive(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	cri_conn *c = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, lab.endpoint, NULL, 30000, &e), 0);
	char ref[256];
	CU_ASSERT_EQUAL(lab_image_ref(&lab, "busybox", ref, sizeof ref), 0);
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = ref;
	Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *presp = NULL;
	preq.image = &spec;
	int rc = CRI_CALL(c, PullImage, &preq, &presp, &e);
	cri_free(presp);
	if (rc < 0)
		say("%s", e.msg);

	snprintf(logdir, sizeof logdir, "/tmp/critic-fault-logs-XXXXXX");
	if (!mkdtemp(logdir))
		logdir[0] = '\0';
	Runtime__V1__PodSandboxConfig__LabelsEntry lbl = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	lbl.key = "critic.test";
	lbl.value = "fault-process";
	Runtime__V1__PodSandboxConfig__LabelsEntry *lbls[] = { &lbl };
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	md.name = "critic-fault-survivor";
	md.uid = "critic-fault-survivor-uid";
	md.namespace_ = "critic";
	Runtime__V1__PodSandboxConfig pcfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	pcfg.metadata = &md;
	pcfg.log_directory = logdir;
	pcfg.labels = lbls;
	pcfg.n_labels = 1;
	Runtime__V1__RunPodSandboxRequest rreq = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *rresp = NULL;
	rreq.config = &pcfg;
	if (rc == 0 && (rc = CRI_CALL(c, RunPodSandbox, &rreq, &rresp, &e)) == 0)
		snprintf(pod_id, sizeof pod_id, "%s", rresp->pod_sandbox_id);
	else
		say("%s", e.msg);
	cri_free(rresp);
	CU_ASSERT_EQUAL(rc, 0);

	char ctr[128] = "";
	Runtime__V1__ContainerMetadata cmd = RUNTIME__V1__CONTAINER_METADATA__INIT;
	cmd.name = "survivor";
	char *argv[] = { "sleep", "3600" };
	Runtime__V1__ContainerConfig ccfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	ccfg.metadata = &cmd;
	ccfg.image = &spec;
	ccfg.command = argv;
	ccfg.n_command = 2;
	ccfg.log_path = "survivor.log";
	Runtime__V1__CreateContainerRequest creq = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *cresp = NULL;
	creq.pod_sandbox_id = pod_id;
	creq.config = &ccfg;
	creq.sandbox_config = &pcfg;
	if (rc == 0 && (rc = CRI_CALL(c, CreateContainer, &creq, &cresp, &e)) == 0)
		snprintf(ctr, sizeof ctr, "%s", cresp->container_id);
	cri_free(cresp);
	Runtime__V1__StartContainerRequest sreq = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	Runtime__V1__StartContainerResponse *sresp = NULL;
	sreq.container_id = ctr;
	if (rc == 0)
		rc = CRI_CALL(c, StartContainer, &sreq, &sresp, &e);
	cri_free(sresp);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);

	int state = -1;
	pid_t cpid = rc == 0 ? container_pid(c, ctr, &state) : 0;
	pid_t shim = 0;
	unsigned long long start_before = 0, start_after = 0;
	char shim_cmd[4096] = "";
	CU_ASSERT(cpid > 0 && proc_stat(cpid, &shim, &start_before));
	CU_ASSERT(shim > 0 && util_pid_cmdline(shim, shim_cmd, sizeof shim_cmd) > 0 &&
		  strstr(shim_cmd, "containerd-shim") != NULL);
	cri_close(c);
	c = NULL;

	fault_proc_result r;
	pid_t killed = 0;
	rc = rc == 0 ? fault_proc_kill(rt, SIGKILL, &popts, &r, &e) : rc;
	if (rc == 0) {
		print_result(&r);
		killed = r.pid;
		CU_ASSERT(util_pid_alive(cpid));
		rc = fault_proc_restart(rt, &popts, &r, &e);
		print_result(&r);
	}
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	lab_status(lab_dir, &lab, NULL);

	/* Same pod, same container, same process. */
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, lab.endpoint, NULL, 30000, &e), 0);
	Runtime__V1__ListPodSandboxRequest lpq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *lpp = NULL;
	bool pod_seen = false, ctr_seen = false;
	if (CRI_CALL(c, ListPodSandbox, &lpq, &lpp, &e) == 0)
		for (size_t i = 0; i < lpp->n_items; i++)
			if (!strcmp(lpp->items[i]->id, pod_id)) {
				pod_seen = true;
				CU_ASSERT_EQUAL(lpp->items[i]->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
			}
	cri_free(lpp);
	Runtime__V1__ListContainersRequest lcq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *lcp = NULL;
	if (CRI_CALL(c, ListContainers, &lcq, &lcp, &e) == 0)
		for (size_t i = 0; i < lcp->n_containers; i++)
			if (!strcmp(lcp->containers[i]->id, ctr)) {
				ctr_seen = true;
				CU_ASSERT_STRING_EQUAL(lcp->containers[i]->pod_sandbox_id, pod_id);
			}
	cri_free(lcp);
	CU_ASSERT(pod_seen);
	CU_ASSERT(ctr_seen);
	pid_t cpid_after = container_pid(c, ctr, &state);
	pid_t shim_after = 0;
	CU_ASSERT_EQUAL(state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	CU_ASSERT_EQUAL(cpid_after, cpid);
	CU_ASSERT(proc_stat(cpid, &shim_after, &start_after));
	CU_ASSERT_EQUAL(start_after, start_before);
	CU_ASSERT_EQUAL(shim_after, shim);
	say("pod %.12s, container %.12s (pid %d under shim %d) survived containerd pid %d -> %d", pod_id, ctr,
	    (int)cpid, (int)shim, (int)killed, (int)r.new_pid);
	cri_close(c);

	if (pod_id[0]) {
		CU_ASSERT_EQUAL(remove_pod(pod_id), 0);
		pod_id[0] = '\0';
	}
	CU_ASSERT(!util_pid_alive(cpid));
	util_rm_rf(logdir, NULL);
	logdir[0] = '\0';
}

/* ------------------------------------------------------------ socket file */

static void test_socket_removed(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	kube_reconnect();
	CU_ASSERT_EQUAL_FATAL(status_call(kube, 5000, NULL, &e), 0);
	own_check before = check_path(lab.socket);
	int rc = fault_sock_remove(&fsock, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(fault_sock_remove(&fsock, &e), -EBUSY);

	own_check own = check_path(lab.socket);
	CU_ASSERT(!own.exists);
	CU_ASSERT_EQUAL(own.connect_errno, ENOENT);
	fault_sock_probe p;
	CU_ASSERT_EQUAL(fault_sock_probe_path(lab.socket, 500, &p), FAULT_SOCK_MISSING);
	CU_ASSERT_STRING_EQUAL(fault_sock_state_name(p.state), "socket missing");
	int64_t took = 0;
	rc = status_call(NULL, 5000, &took, &e);
	say("socket moved aside: new connection: %lld ms: %s", (long long)took, e.msg);
	CU_ASSERT_EQUAL(rc, -ERR_UNREACHABLE);
	CU_ASSERT_EQUAL(e.grpc_status, GRPC_UNAVAILABLE);
	CU_ASSERT(strstr(e.msg, "No such file or directory") != NULL);
	CU_ASSERT(took < 1000);
	/* A connection made before keeps working: the listener is bound to the
	 * inode, not the name. The runtime itself runs on. */
	rc = status_call(kube, 2000, &took, &e);
	say("socket moved aside: the connection made before: %s", rc == 0 ? "still answers" : e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(util_pid_alive(lab.containerd_pid));

	rc = fault_sock_restore(&fsock, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	own = check_path(lab.socket);
	CU_ASSERT(own.is_sock && own.ino == before.ino && own.mode == before.mode);
	CU_ASSERT_EQUAL(status_call(NULL, 5000, NULL, &e), 0);
	CU_ASSERT_EQUAL(fault_sock_restore(&fsock, &e), 0); /* nothing left to undo */
	CU_ASSERT_EQUAL(aside_files(lab.dir), 0);
}

/* connect() to path from a child that first drops privileges: to uid/gid
 * 65534 (nobody), or, with as_nobody false, stays root but drops
 * CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. Returns connect's errno
 * (0 = accepted) or -1 when the check could not run. The child makes no
 * gRPC call: it only connects. */
static int connect_dropped(const char *path, bool as_nobody)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (as_nobody) {
			if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
				_exit(255);
		} else {
			struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
			struct __user_cap_data_struct data[2];
			if (syscall(SYS_capget, &hdr, data) < 0)
				_exit(255);
			data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
			if (syscall(SYS_capset, &hdr, data) < 0)
				_exit(255);
		}
		struct sockaddr_un sa;
		if (!sun_fill(&sa, path))
			_exit(255);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int err = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
		_exit(err > 250 ? 250 : err);
	}
	/* Reap it here (util_wait_pid_dead would reap it and lose the status). */
	int status = 0;
	int64_t end = util_now_ms() + 5000;
	pid_t w;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && util_now_ms() < end)
		util_sleep_ms(2);
	if (w != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) != 255 ? WEXITSTATUS(status) : -1;
}

static const char *connect_word(int err)
{
	return err > 0 ? strerror(err) : err == 0 ? "accepted" : "not checked";
}

static void test_socket_chmod(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	own_check before = check_path(lab.socket);
	int nobody_before = connect_dropped(lab.socket, true);
	int nocap_before = connect_dropped(lab.socket, false);
	int rc = fault_sock_chmod(&fsock, 0, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(fault_sock_chmod(&fsock, 0, &e), -EBUSY);
	own_check own = check_path(lab.socket);
	CU_ASSERT_EQUAL(own.mode, 0);
	int nobody = connect_dropped(lab.socket, true);
	int nocap = connect_dropped(lab.socket, false);
	fault_sock_probe p;
	fault_sock_probe_path(lab.socket, 1000, &p);
	int64_t took = 0;
	rc = status_call(NULL, 5000, &took, &e);
	say("socket mode %o -> 000: root connect %s, CRI Status %s", (unsigned)before.mode,
	    connect_word(own.connect_errno), rc == 0 ? "answers" : e.msg);
	say("  root without CAP_DAC_OVERRIDE: %s (before: %s); uid 65534: %s (before: %s)", connect_word(nocap),
	    connect_word(nocap_before), connect_word(nobody), connect_word(nobody_before));
	if (geteuid() == 0) {
		/* Root connects anyway: CAP_DAC_OVERRIDE bypasses the mode. */
		CU_ASSERT_EQUAL(own.connect_errno, 0);
		CU_ASSERT_EQUAL(p.state, FAULT_SOCK_ANSWERS);
		CU_ASSERT_EQUAL(rc, 0);
		/* Without the capability connect() needs write permission on
		 * the socket: the owner had it, mode 000 takes it away. */
		CU_ASSERT_EQUAL(nocap_before, 0);
		CU_ASSERT_EQUAL(nocap, EACCES);
		CU_ASSERT_EQUAL(nobody, EACCES);
		if (before.mode & 0002)
			CU_ASSERT_EQUAL(nobody_before, 0);
	} else {
		CU_ASSERT_EQUAL(own.connect_errno, EACCES);
		CU_ASSERT_EQUAL(p.state, FAULT_SOCK_DENIED);
	}
	rc = fault_sock_restore(&fsock, &e);
	CU_ASSERT_EQUAL(rc, 0);
	own = check_path(lab.socket);
	CU_ASSERT_EQUAL(own.mode, before.mode);
	CU_ASSERT_EQUAL(own.ino, before.ino);
	CU_ASSERT_EQUAL(connect_dropped(lab.socket, false), nocap_before);
}

static void test_socket_stale(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	kube_reconnect();
	CU_ASSERT_EQUAL_FATAL(status_call(kube, 5000, NULL, &e), 0);
	own_check before = check_path(lab.socket);
	int rc = fault_sock_stale(&fsock, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	own_check own = check_path(lab.socket);
	CU_ASSERT(own.exists && own.is_sock && own.ino != before.ino);
	CU_ASSERT_EQUAL(own.mode, before.mode);
	CU_ASSERT_EQUAL(own.connect_errno, ECONNREFUSED);
	fault_sock_probe p;
	CU_ASSERT_EQUAL(fault_sock_probe_path(lab.socket, 500, &p), FAULT_SOCK_REFUSED);
	int64_t took = 0;
	rc = status_call(NULL, 5000, &took, &e);
	say("stale socket in place: new connection: %lld ms: %s", (long long)took, e.msg);
	CU_ASSERT_EQUAL(rc, -ERR_UNREACHABLE);
	CU_ASSERT(strstr(e.msg, "Connection refused") != NULL);
	CU_ASSERT(took < 1000);
	rc = status_call(kube, 2000, NULL, &e);
	say("stale socket in place: the connection made before: %s", rc == 0 ? "still answers" : e.msg);
	CU_ASSERT_EQUAL(rc, 0);

	CU_ASSERT_EQUAL(fault_sock_restore(&fsock, &e), 0);
	own = check_path(lab.socket);
	CU_ASSERT(own.is_sock && own.ino == before.ino);
	CU_ASSERT_EQUAL(status_call(NULL, 5000, NULL, &e), 0);
	CU_ASSERT_EQUAL(aside_files(lab.dir), 0);
}

/* A runtime restarted while its socket was moved aside makes a new one:
 * restore keeps that and drops the old, instead of putting it back. */
static void test_socket_restore_keeps_new(void)
{
	CU_ASSERT_FATAL(ensure_up());
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(fault_sock_stale(&fsock, &e), 0);
	fault_proc_result r;
	int rc = fault_proc_restart(rt, &popts, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	print_result(&r);
	lab_status(lab_dir, &lab, NULL);
	own_check fresh = check_path(lab.socket);
	CU_ASSERT_EQUAL(fresh.connect_errno, 0);
	rc = fault_sock_restore(&fsock, &e);
	say("restore after a restart: %s", rc == 0 ? "ok" : e.msg);
	CU_ASSERT_EQUAL(rc, -EEXIST);
	own_check own = check_path(lab.socket);
	CU_ASSERT_EQUAL(own.ino, fresh.ino);
	CU_ASSERT_EQUAL(status_call(NULL, 5000, NULL, &e), 0);
	CU_ASSERT_EQUAL(aside_files(lab.dir), 0);
	/* Faults refuse a path that is not a socket. */
	fault_sock other;
	memset(&other, 0, sizeof other);
	CU_ASSERT_FATAL(strlen(lab.config) < sizeof other.path);
	memcpy(other.path, lab.config, strlen(lab.config) + 1);
	CU_ASSERT_EQUAL(fault_sock_remove(&other, &e), -ENOTSOCK);
	CU_ASSERT(util_exists(other.path));
}

static void test_lab_down(void)
{
	CU_ASSERT_FATAL(rt != NULL);
	int rc = take_down();
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(tests_lab_processes(lab_dir), 0);
	CU_ASSERT_EQUAL(tests_lab_mounts(lab_dir), 0);
	CU_ASSERT_EQUAL(lab_status(lab_dir, &lab, NULL), 0);
	CU_ASSERT(!util_exists(lab.socket));
	CU_ASSERT_EQUAL(aside_files(lab.dir), 0);
}

void tests_register_fault_process(void)
{
	CU_pSuite s = CU_add_suite("integration/fault-process", suite_init, suite_cleanup);
	CU_add_test(s, "rtctl: the lab's runtime, its pid and socket; bad configs refused", test_rtctl_lab);
	CU_add_test(s, "rtctl: an external runtime by pidfile, pid and start/stop commands", test_rtctl_external);
	CU_add_test(s, "SIGKILL: down at once, stale socket left, calls fail in < 1 s", test_sigkill);
	CU_add_test(s, "restart through rtctl: RuntimeReady again, time to ready", test_restart_ready);
	CU_add_test(s, "SIGTERM: exits, socket state classified, restart", test_sigterm);
	CU_add_test(s, "SIGSTOP: accepts but DEADLINE_EXCEEDED; SIGCONT: answers again", test_sigstop);
	CU_add_test(s, "pod and container survive a containerd SIGKILL + restart", test_containers_survive);
	CU_add_test(s, "socket moved aside: UNAVAILABLE no such file; restore", test_socket_removed);
	CU_add_test(s, "socket chmod 000: root still connects, others get EACCES; restore", test_socket_chmod);
	CU_add_test(s, "stale socket in place: connection refused; restore", test_socket_stale);
	CU_add_test(s, "restore keeps a socket the restarted runtime made", test_socket_restore_keeps_new);
	CU_add_test(s, "lab down: no process, mount or aside file left", test_lab_down);
}
