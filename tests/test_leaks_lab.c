/* Integration on a lab of this suite's own: `lab up` cut by SIGINT leaves
 * nothing, the kubelet guard refuses disruptive work, and the leak checker
 * sees a real pod's traces, none after it went, and leaks made on purpose. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cri.h"
#include "lab.h"
#include "leaks.h"
#include "tests.h"
#include "util.h"

static char lab_dir[PATH_MAX];
static char critic_bin[PATH_MAX];
static char tmpdir[64];
static char busybox[256];
static lab_info lab;
static cri_conn *conn;
static bool lab_ok;
static char *kube_pod;

#define FAKE_ID "f00dfeed0000aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff66667777"

static void say(const char *line)
{
	printf("\n    %s", line);
	fflush(stdout);
}

/* critic with args; its exit code, *out its stdout and stderr. */
static int critic(char **out, int timeout_ms, const char *a, ...)
{
	char *argv[24];
	int n = 0;
	argv[n++] = critic_bin;
	va_list ap;
	va_start(ap, a);
	for (const char *s = a; s && n < 23; s = va_arg(ap, const char *))
		argv[n++] = (char *)s;
	va_end(ap);
	argv[n] = NULL;
	crit_err e;
	err_clear(&e);
	char *o = NULL;
	int rc = util_run(argv, timeout_ms, &o, &e);
	if (rc < 0 && !o)
		o = strdup(e.msg);
	if (out)
		*out = o;
	else
		free(o);
	return rc;
}

static bool has(const char *out, const char *what)
{
	return out && strstr(out, what);
}

/* A process other than critic itself whose command line names the lab
 * (and holds want, when given). */
static pid_t lab_process(pid_t not1, const char *want)
{
	DIR *d = opendir("/proc");
	pid_t found = 0;
	struct dirent *de;
	while (d && !found && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == not1 || pid == getpid())
			continue;
		char cmd[4096];
		if (util_pid_cmdline(pid, cmd, sizeof cmd) <= 0 || !strstr(cmd, lab_dir))
			continue;
		if (util_has_prefix(cmd, critic_bin) || (want && !strstr(cmd, want)))
			continue; /* critic and its lab-up child */
		found = pid;
	}
	if (d)
		closedir(d);
	return found;
}

typedef tests_kv kv;

static const char *pod_handler; /* RunPodSandbox's runtime handler ("" = the default, runc) */

static char *make_pod(const char *name, bool host_net, const kv *labels, size_t n)
{
	char logdir[PATH_MAX];
	snprintf(logdir, sizeof logdir, "%s/logs/%s", tmpdir, name);
	tests_pod p = { .name = name, .ns = "critic-leaks", .logdir = logdir, .host_net = host_net,
			.handler = pod_handler, .labels = labels, .n_labels = n };
	return tests_run_pod(conn, &p);
}

static char *make_ctr(const char *pod)
{
	char logdir[PATH_MAX];
	snprintf(logdir, sizeof logdir, "%s/logs/ctr", tmpdir);
	util_mkdir_p(logdir, 0755, NULL);
	tests_pod p = { .name = "x", .ns = "critic-leaks", .logdir = logdir };
	return tests_run_sleeper(conn, pod, &p, busybox, "sleeper", NULL, 0);
}

static void remove_pod(char **id)
{
	if (!*id || !conn)
		return;
	crit_err e;
	Runtime__V1__StopPodSandboxRequest sr = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	Runtime__V1__RemovePodSandboxRequest rr = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
	sr.pod_sandbox_id = rr.pod_sandbox_id = *id;
	if (CRI_CALL_T(conn, StopPodSandbox, &sr, &sresp, 60000, &e) < 0)
		say(e.msg);
	if (CRI_CALL_T(conn, RemovePodSandbox, &rr, &rresp, 60000, &e) < 0)
		say(e.msg);
	cri_free(sresp);
	cri_free(rresp);
	free(*id);
	*id = NULL;
}

/* ------------------------------------------------------------ suite */

static int suite_init(void)
{
	if (tests_beside("critic", critic_bin, sizeof critic_bin) < 0)
		return -1;
	snprintf(lab_dir, sizeof lab_dir, "%s-leaks", tests_lab_dir());
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-leaks-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void)
{
	remove_pod(&kube_pod);
	if (conn)
		cri_close(conn);
	conn = NULL;
	util_rm_rf(tmpdir, NULL);
	if (lab_ok && critic(NULL, 180000, "--dir", lab_dir, "lab", "down", NULL) != 0)
		return -1;
	return 0;
}

/* SIGINT while `lab up` starts the lab's processes (the first one, or
 * once a process holding want runs): exit 130, and nothing of the lab is
 * left running or mounted. */
static void lab_up_interrupted(const char *want)
{
	if (geteuid() != 0) {
		say("skip: needs root (the lab runs containerd)");
		return;
	}
	/* from a lab that is down */
	critic(NULL, 180000, "--dir", lab_dir, "lab", "down", NULL);
	char log[128];
	snprintf(log, sizeof log, "%s/lab-up.out", tmpdir);
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(critic_bin, critic_bin, "--dir", lab_dir, "lab", "up", (char *)NULL);
		_exit(127);
	}
	/* the first process the lab starts (registry, containerd, a build) */
	int64_t t0 = util_now_ms();
	pid_t seen = 0;
	int status = 0;
	bool exited = false;
	while (!seen && util_now_ms() - t0 < 600000) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			break;
		}
		seen = lab_process(pid, want);
		if (!seen)
			util_sleep_ms(20);
	}
	char cmd[300] = "";
	if (seen)
		util_pid_cmdline(seen, cmd, sizeof cmd);
	printf("\n    after %lld ms: pid %d: %.200s", (long long)(util_now_ms() - t0), (int)seen, cmd);
	CU_ASSERT_FATAL(!exited);
	CU_ASSERT_FATAL(seen > 0);
	kill(pid, SIGINT);
	int64_t t1 = util_now_ms();
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (util_now_ms() - t1 > 180000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			CU_FAIL("lab up did not end within 180 s of SIGINT");
			break;
		}
		util_sleep_ms(50);
	}
	char *out = NULL;
	util_read_file(log, &out, NULL, NULL);
	printf("\n    exit %d after %lld ms; output:\n%s", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       (long long)(util_now_ms() - t1), out ? out : "");
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 130);
	CU_ASSERT(has(out, "interrupted by SIGINT"));
	free(out);
	/* nothing of the lab runs (its own processes may take a moment to go) */
	int64_t t2 = util_now_ms();
	while (lab_process(0, NULL) && util_now_ms() - t2 < 20000)
		util_sleep_ms(100);
	CU_ASSERT_EQUAL(tests_lab_processes(lab_dir), 0);
	CU_ASSERT_EQUAL(tests_lab_mounts(lab_dir), 0);
}

static void test_lab_up_interrupted(void) { lab_up_interrupted(NULL); }
static void test_lab_up_interrupted_containerd(void) { lab_up_interrupted("config.toml"); }

static void test_lab_up_after(void)
{
	char *out = NULL;
	int rc = critic(&out, 600000, "--dir", lab_dir, "lab", "up", NULL);
	if (rc != 0)
		say(out ? out : "?");
	free(out);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	lab_ok = true;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(lab_status(lab_dir, &lab, &e), 1);
	CU_ASSERT_EQUAL_FATAL(cri_connect(&conn, lab.endpoint, NULL, 20000, &e), 0);
	CU_ASSERT_EQUAL_FATAL(tests_pull_lab_image(conn, &lab, "busybox", busybox, sizeof busybox), 0);
}

/* A disruptive scenario that only asks Version. */
static char *probe_scenario(void)
{
	char *path = util_strdup_printf("%s/guard-probe.yaml", tmpdir);
	static const char text[] = "name: guard-probe\n"
				   "description: A disruptive scenario that only asks Version (the guard's test).\n"
				   "needs: [disruptive]\n"
				   "steps:\n"
				   "  - version: {}\n";
	util_write_file(path, text, sizeof text - 1, 0644, NULL);
	return path;
}

/* A pod with the kubelet's labels on the lab: disruptive work is refused
 * (exit 2, naming the pod and the flag) unless forced. */
static void test_guard_refuses(void)
{
	CU_ASSERT_FATAL(conn != NULL);
	const kv kube[] = { { "io.kubernetes.pod.name", "web-0" },
			    { "io.kubernetes.pod.namespace", "default" },
			    { "io.kubernetes.pod.uid", "6b1f0f9e-0000-4000-8000-00000000leak" } };
	kube_pod = make_pod("web-0", true, kube, 3);
	CU_ASSERT_FATAL(kube_pod != NULL);
	cleanup_free char *scn = probe_scenario();
	char *out = NULL;
	int rc = critic(&out, 120000, "--dir", lab_dir, "scenario", "run", scn, NULL);
	printf("\n    $ critic scenario run guard-probe.yaml -> %d\n%s", rc, out ? out : "");
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(has(out, "refused: a live kubelet uses"));
	CU_ASSERT(has(out, "default/web-0"));
	CU_ASSERT(has(out, "--force-with-kubelet"));
	CU_ASSERT(has(out, "guard-probe"));
	CU_ASSERT(!has(out, "summary:"));
	free(out);

	/* forced: it runs, with a warning naming the same evidence */
	rc = critic(&out, 120000, "--dir", lab_dir, "scenario", "run", "--force-with-kubelet", scn, NULL);
	printf("\n    $ critic scenario run --force-with-kubelet guard-probe.yaml -> %d\n%s", rc, out ? out : "");
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(has(out, "warning"));
	CU_ASSERT(has(out, "default/web-0"));
	CU_ASSERT(has(out, "1 passed"));
	free(out);

	/* the lab-only breakers too, before they touch anything */
	rc = critic(&out, 60000, "--dir", lab_dir, "fiu", "enable", "critic/posix/openat", NULL);
	printf("\n    $ critic fiu enable critic/posix/openat -> %d\n%s", rc, out ? out : "");
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(has(out, "critic fiu enable: refused") && has(out, "--force-with-kubelet"));
	free(out);
	rc = critic(&out, 60000, "--dir", lab_dir, "fs", "freeze", NULL);
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(has(out, "critic fs freeze: refused") && has(out, "default/web-0"));
	free(out);
	rc = critic(&out, 60000, "--dir", lab_dir, "bench", "--faults", "1", NULL);
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(has(out, "critic bench --faults: refused") && has(out, "default/web-0"));
	free(out);
	/* critic run --scenarios against the same runtime named as an endpoint
	 * (not the lab): with --allow-disruptive, refused unless forced */
	char *ep = util_strdup_printf("unix://%s/containerd.sock", lab_dir);
	rc = critic(&out, 120000, "-r", ep, "run", "--scenarios-only", "--allow-disruptive", scn, NULL);
	printf("\n    $ critic -r EP run --scenarios-only --allow-disruptive guard-probe.yaml -> %d\n%s", rc,
	       out ? out : "");
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(has(out, "refusing disruptive scenarios") && has(out, "default/web-0") &&
		  has(out, "--force-with-kubelet"));
	free(out);
	rc = critic(&out, 120000, "-r", ep, "run", "--scenarios-only", "--allow-disruptive", "--force-with-kubelet",
		    scn, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(has(out, "warning") && has(out, "1 passed"));
	if (rc != 0)
		say(out ? out : "?");
	free(out);
	free(ep);
	/* a flag a command does not take is refused, not dropped */
	rc = critic(&out, 60000, "--runtime-pid", "1", "--dir", lab_dir, "fs", "state", NULL);
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(has(out, "--runtime-pid is not an option of `critic fs`"));
	free(out);

	/* without the kubelet's pod, the scenario runs unforced */
	remove_pod(&kube_pod);
	rc = critic(&out, 120000, "--dir", lab_dir, "scenario", "run", scn, NULL);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(!has(out, "refused"));
	if (rc != 0)
		say(out ? out : "?");
	free(out);
}

static size_t count_id(const leaks_snap *s, leaks_kind k, const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->items[i].kind == k && !strcmp(s->items[i].id, id);
	return n;
}

/* A pod on the CNI network with a running container: while it runs the
 * checker sees its shim, its IP and its mounts; once removed, nothing of it. */
static void lifecycle_no_leak(const char *handler)
{
	CU_ASSERT_FATAL(conn != NULL);
	pod_handler = handler;
	leaks_paths p;
	leaks_paths_for_lab(&p, &lab);
	leaks_snap before, during, now, out;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(leaks_snapshot(&p, &before, &e), 0);
	char *pod = make_pod("leaks-life", false, NULL, 0);
	CU_ASSERT_FATAL(pod != NULL);
	char *ctr = make_ctr(pod);
	CU_ASSERT(ctr != NULL);
	CU_ASSERT_EQUAL(leaks_snapshot(&p, &during, &e), 0);
	size_t shims = count_id(&during, LEAK_SHIM, pod), ips = count_id(&during, LEAK_IPAM, pod),
	       mounts = count_id(&during, LEAK_MOUNT, pod) + (ctr ? count_id(&during, LEAK_MOUNT, ctr) : 0),
	       cgroups = count_id(&during, LEAK_CGROUP, pod) + (ctr ? count_id(&during, LEAK_CGROUP, ctr) : 0);
	printf("\n    while it runs: %zu shim, %zu IP, %zu mounts, %zu cgroups of the pod and its container", shims, ips,
	       mounts, cgroups);
	CU_ASSERT_EQUAL(shims, 1);
	CU_ASSERT_EQUAL(ips, 1);
	CU_ASSERT(mounts >= 1);
	CU_ASSERT(cgroups >= 1);
	leaks_snap_free(&during);
	const char *removed[2] = { pod, ctr ? ctr : pod };
	char *pod_id = strdup(pod);
	remove_pod(&pod);
	/* the runtime may still be tearing down a moment after it answered */
	int64_t t0 = util_now_ms();
	for (;;) {
		char **live;
		size_t n_live;
		CU_ASSERT_EQUAL_FATAL(leaks_live_ids(conn, &live, &n_live, &e), 0);
		CU_ASSERT_EQUAL_FATAL(leaks_snapshot(&p, &now, &e), 0);
		removed[0] = pod_id;
		CU_ASSERT_EQUAL(leaks_compare(&before, &now, (const char *const *)live, n_live, removed, 2, &out, &e), 0);
		leaks_ids_free(live, n_live);
		leaks_snap_free(&now);
		if (out.n == 0 || util_now_ms() - t0 > 30000)
			break;
		leaks_snap_free(&out);
		util_sleep_ms(250);
	}
	char *text = leaks_text(&out);
	printf("\n    after removal: %zu leaks in %lld ms%s%s", out.n, (long long)(util_now_ms() - t0), out.n ? ":\n" : "",
	       text);
	CU_ASSERT_EQUAL(out.n, 0);
	free(text);
	leaks_snap_free(&out);
	leaks_snap_free(&before);
	free(pod_id);
	free(ctr);
	pod_handler = NULL;
}

static void test_lifecycle_no_leak(void) { lifecycle_no_leak(NULL); }

static void test_lifecycle_no_leak_crun(void)
{
	CU_ASSERT_FATAL(conn != NULL);
	if (!lab.crun_usable) {
		printf("\n    skip: the crun handler is not usable in this lab: %s", lab.crun_note);
		return;
	}
	lifecycle_no_leak("crun");
}

/* A mount and a netns file critic leaks on purpose in a temp dir, seen
 * with what and where; gone from the report once cleaned. */
static void test_deliberate_leak(void)
{
	CU_ASSERT_FATAL(conn != NULL);
	if (geteuid() != 0) {
		say("skip: needs root (mounts a tmpfs)");
		return;
	}
	leaks_paths p;
	memset(&p, 0, sizeof p);
	snprintf(p.mount_prefixes[0], PATH_MAX, "%s/root/", tmpdir);
	p.n_mount_prefixes = 1;
	snprintf(p.netns_dirs[0], PATH_MAX, "%s/netns", tmpdir);
	p.n_netns_dirs = 1;
	snprintf(p.ipam_dirs[0], PATH_MAX, "%s/ipam", tmpdir);
	p.n_ipam_dirs = 1;
	snprintf(p.shim_match, sizeof p.shim_match, "%s/", tmpdir);
	p.no_cgroups = true;
	leaks_snap before, after, out;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_FATAL(util_mkdir_p(p.netns_dirs[0], 0755, NULL) == 0);
	CU_ASSERT_EQUAL_FATAL(leaks_snapshot(&p, &before, &e), 0);
	char mnt[PATH_MAX], ns[PATH_MAX];
	snprintf(mnt, sizeof mnt, "%s/root/io.containerd.runtime.v2.task/k8s.io/" FAKE_ID "/rootfs", tmpdir);
	snprintf(ns, sizeof ns, "%s/netns/cni-critic-leak-test", tmpdir);
	CU_ASSERT_FATAL(util_mkdir_p(mnt, 0755, NULL) == 0);
	CU_ASSERT_FATAL(mount("critic-leak", mnt, "tmpfs", 0, "size=1m") == 0);
	CU_ASSERT_FATAL(util_write_file(ns, "", 0, 0644, NULL) == 0);
	CU_ASSERT_EQUAL(leaks_snapshot(&p, &after, &e), 0);
	char **live;
	size_t n_live;
	CU_ASSERT_EQUAL_FATAL(leaks_live_ids(conn, &live, &n_live, &e), 0);
	CU_ASSERT_EQUAL(leaks_compare(&before, &after, (const char *const *)live, n_live, NULL, 0, &out, &e), 0);
	char *text = leaks_text(&out);
	printf("\n%s", text);
	CU_ASSERT_EQUAL(out.n, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "k8s.io/" FAKE_ID "/rootfs of removed container or sandbox f00dfeed0000 still mounted"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "cni-critic-leak-test still exists (no process is in it)"));
	free(text);
	leaks_snap_free(&out);
	leaks_snap_free(&after);
	/* cleaned: nothing */
	CU_ASSERT_EQUAL(umount(mnt), 0);
	unlink(ns);
	CU_ASSERT_EQUAL(leaks_snapshot(&p, &after, &e), 0);
	CU_ASSERT_EQUAL(leaks_compare(&before, &after, (const char *const *)live, n_live, NULL, 0, &out, &e), 0);
	CU_ASSERT_EQUAL(out.n, 0);
	leaks_snap_free(&out);
	leaks_snap_free(&after);
	leaks_snap_free(&before);
	leaks_ids_free(live, n_live);
}

/* `critic cleanup --leaks` on the lab: none, then an IP file of a gone
 * sandbox planted in the lab's CNI data dir is listed (exit 1). */
static void test_cleanup_leaks_cli(void)
{
	CU_ASSERT_FATAL(lab_ok);
	char *out = NULL;
	int rc = critic(&out, 120000, "--dir", lab_dir, "cleanup", "--leaks", NULL);
	printf("\n    $ critic cleanup --leaks -> %d\n%s", rc, out ? out : "");
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(has(out, "0 leaks on") && has(out, "(critic's lab)"));
	free(out);
	char ip[PATH_MAX];
	snprintf(ip, sizeof ip, "%.3000s/cni/ipam/critic-leak-test/10.99.99.99", lab_dir);
	CU_ASSERT_FATAL(util_mkdir_p(dirname(strdupa(ip)), 0755, NULL) == 0);
	CU_ASSERT_FATAL(util_write_file(ip, FAKE_ID "\r\neth0", strlen(FAKE_ID) + 6, 0644, NULL) == 0);
	rc = critic(&out, 120000, "--dir", lab_dir, "cleanup", "--leaks", NULL);
	printf("\n    $ critic cleanup --leaks -> %d\n%s", rc, out ? out : "");
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(has(out, "10.99.99.99") && has(out, "removed sandbox f00dfeed0000"));
	CU_ASSERT(has(out, "1 leak on"));
	free(out);
	char d[PATH_MAX];
	snprintf(d, sizeof d, "%.3000s/cni/ipam/critic-leak-test", lab_dir);
	util_rm_rf(d, NULL);
}

/* `critic run` checks for leaks at its end: a run of pod tests on a
 * healthy lab reports none. */
static void test_run_reports_no_leak(void)
{
	CU_ASSERT_FATAL(lab_ok);
	char *out = NULL;
	int rc = critic(&out, 600000, "--dir", lab_dir, "--no-color", "run", "--focus", "^pod/run-stop-remove$", NULL);
	printf("\n    $ critic run --focus ^pod/run-stop-remove$ -> %d\n%s", rc, out ? out : "");
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(!has(out, "leaks since the run started"));
	CU_ASSERT(!has(out, "leak check not done"));
	free(out);
}

/* An IP file of a gone sandbox appears in the lab's CNI data dir while
 * `critic run` runs: its end-of-run check names it. */
static void test_run_finds_planted_leak(void)
{
	CU_ASSERT_FATAL(lab_ok);
	char log[128], ip[PATH_MAX], d[PATH_MAX];
	snprintf(log, sizeof log, "%s/run.out", tmpdir);
	snprintf(d, sizeof d, "%.3000s/cni/ipam/critic-leak-run", lab_dir);
	snprintf(ip, sizeof ip, "%.3900s/10.99.99.98", d);
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(critic_bin, critic_bin, "--dir", lab_dir, "--no-color", "run", "--focus", "^pod/", (char *)NULL);
		_exit(127);
	}
	/* after the first test: the run's snapshot was taken before it */
	int64_t t0 = util_now_ms();
	bool planted = false;
	int status = 0;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		char *out = NULL;
		util_read_file(log, &out, NULL, NULL);
		if (!planted && has(out, "[ 1/")) {
			CU_ASSERT(util_mkdir_p(d, 0755, NULL) == 0);
			CU_ASSERT(util_write_file(ip, FAKE_ID "\r\neth0", strlen(FAKE_ID) + 6, 0644, NULL) == 0);
			planted = true;
		}
		free(out);
		if (util_now_ms() - t0 > 600000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		util_sleep_ms(planted ? 200 : 10);
	}
	char *out = NULL;
	util_read_file(log, &out, NULL, NULL);
	const char *fs = out ? strstr(out, "final sweep") : NULL;
	printf("\n    planted %s; run exit %d; %.*s", planted ? "during the run" : "never (the run ended first)",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1, fs ? (int)strcspn(fs, "\n") : 4, fs ? fs : "none");
	CU_ASSERT(planted);
	CU_ASSERT(has(fs, "leaks since the run started"));
	CU_ASSERT(has(fs, "10.99.99.98") && has(fs, "removed sandbox f00dfeed0000"));
	free(out);
	util_rm_rf(d, NULL);
}

/* A --focus that selects nothing is an error, not an empty green run. */
static void test_run_selects_nothing(void)
{
	CU_ASSERT_FATAL(lab_ok);
	char *out = NULL;
	int rc = critic(&out, 120000, "--dir", lab_dir, "run", "--focus", "^no-such-area/no-such-test$", NULL);
	printf("\n    $ critic run --focus ^no-such-area/no-such-test$ -> %d: %s", rc, out ? out : "");
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT(has(out, "select no test"));
	free(out);
}

static void test_lab_down(void)
{
	CU_ASSERT_FATAL(lab_ok);
	if (conn)
		cri_close(conn);
	conn = NULL;
	int rc = critic(NULL, 180000, "--dir", lab_dir, "lab", "down", NULL);
	CU_ASSERT_EQUAL(rc, 0);
	lab_ok = rc != 0;
	CU_ASSERT_EQUAL(tests_lab_processes(lab_dir), 0);
	CU_ASSERT_EQUAL(tests_lab_mounts(lab_dir), 0);
}

void tests_register_leaks_lab(void)
{
	CU_pSuite s = CU_add_suite("integration/leaks-guard", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "lab up cut by SIGINT: exit 130, no process or mount left", test_lab_up_interrupted);
	CU_add_test(s, "... and once containerd runs: the same", test_lab_up_interrupted_containerd);
	CU_add_test(s, "lab up after the interrupts works", test_lab_up_after);
	CU_add_test(s, "a kubelet-labelled pod: disruptive work refused unless forced", test_guard_refuses);
	CU_add_test(s, "a pod's lifecycle leaves no leak; its traces seen while it runs", test_lifecycle_no_leak);
	CU_add_test(s, "... with the crun handler too", test_lifecycle_no_leak_crun);
	CU_add_test(s, "a mount and a netns leaked on purpose are found", test_deliberate_leak);
	CU_add_test(s, "cleanup --leaks lists a planted IPAM leak, only then", test_cleanup_leaks_cli);
	CU_add_test(s, "critic run's end-of-run leak check finds none on a healthy lab", test_run_reports_no_leak);
	CU_add_test(s, "critic run's end-of-run check names a leak made during the run", test_run_finds_planted_leak);
	CU_add_test(s, "critic run --focus selecting no test: exit 2", test_run_selects_nothing);
	CU_add_test(s, "lab down leaves no process or mount", test_lab_down);
}
