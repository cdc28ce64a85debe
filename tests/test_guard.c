/* Unit tests of the kubelet guard's process scan: a fake /proc tree of
 * <pid>/cmdline files, plus one real process that calls itself kubelet. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <grpc/grpc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_server.h"
#include "guard.h"
#include "tests.h"
#include "util.h"

static char root[64];   /* the fake /proc */
static char ep[200];    /* the endpoint under test, a socket path in tmp */
static char other[200]; /* an endpoint some kubelet names instead */

/* Write <root>/<pid>/cmdline from NUL-separated args (n bytes), and comm
 * when given. */
static void fake_proc(int pid, const char *args, size_t n, const char *comm)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%d", root, pid);
	CU_ASSERT_FATAL(util_mkdir_p(path, 0755, NULL) == 0);
	snprintf(path, sizeof path, "%s/%d/cmdline", root, pid);
	CU_ASSERT_FATAL(util_write_file(path, args, n, 0644, NULL) == 0);
	if (comm) {
		snprintf(path, sizeof path, "%s/%d/comm", root, pid);
		CU_ASSERT_FATAL(util_write_file(path, comm, strlen(comm), 0644, NULL) == 0);
	}
}
#define FAKE(pid, lit, comm) fake_proc((pid), (lit), sizeof(lit) - 1, (comm))

static int suite_init(void)
{
	snprintf(root, sizeof root, "/tmp/critic-unit-guard-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(ep, sizeof ep, "unix://%s/rt.sock", root);
	snprintf(other, sizeof other, "unix://%s/other.sock", root);
	return 0;
}

static int suite_cleanup(void) { return util_rm_rf(root, NULL) < 0 ? -1 : 0; }

/* Start each test from an empty fake /proc. */
static void setup(void)
{
	util_rm_rf(root, NULL);
	util_mkdir_p(root, 0755, NULL);
}

static guard_report scan(const char *endpoint)
{
	guard_report r;
	memset(&r, 0, sizeof r);
	crit_err e;
	err_clear(&e);
	int rc = guard_scan_procs(root, endpoint, &r, &e);
	if (rc < 0)
		printf("\n    %s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	return r;
}

static void test_flag_equals(void)
{
	char args[600];
	int n = snprintf(args, sizeof args, "/usr/bin/kubelet%c--v=2%c--container-runtime-endpoint=%s%c", 0, 0, ep, 0);
	fake_proc(812, args, (size_t)n, "kubelet\n");
	guard_report r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, 1);
	CU_ASSERT_EQUAL(r.n_other_kubelets, 0);
	CU_ASSERT_EQUAL(r.kubelets[0].pid, 812);
	CU_ASSERT_STRING_EQUAL(r.kubelets[0].endpoint, ep);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.kubelets[0].why, "--container-runtime-endpoint"));
	CU_ASSERT(util_has_prefix(r.kubelets[0].cmdline, "/usr/bin/kubelet --v=2 --container-runtime-endpoint="));
	CU_ASSERT(guard_kubelet_live(&r));
	char text[2048];
	guard_describe(&r, text, sizeof text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "kubelet pid 812"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "/usr/bin/kubelet"));
}

/* "--flag VALUE" with a bare path names the same socket as unix:///path. */
static void test_flag_separate_bare_path(void)
{
	char args[600];
	int n = snprintf(args, sizeof args, "kubelet%c--container-runtime-endpoint%c%s%c", 0, 0,
			 ep + strlen("unix://"), 0);
	fake_proc(9, args, (size_t)n, NULL);
	guard_report r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, 1);
	CU_ASSERT_EQUAL(r.kubelets[0].pid, 9);
}

static void test_other_endpoint(void)
{
	char args[600];
	int n = snprintf(args, sizeof args, "/usr/bin/kubelet%c--container-runtime-endpoint=%s%c", 0, other, 0);
	fake_proc(100, args, (size_t)n, NULL);
	guard_report r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, 0);
	CU_ASSERT_EQUAL(r.n_other_kubelets, 1);
	CU_ASSERT(!guard_kubelet_live(&r));
	char text[256] = "x";
	guard_describe(&r, text, sizeof text);
	CU_ASSERT_STRING_EQUAL(text, "");
}

/* Newer kubelets take the endpoint from their config file, read through
 * the process's root (another mount namespace looks the same). */
static void test_config_file(void)
{
	char args[600];
	int n = snprintf(args, sizeof args, "/usr/bin/kubelet%c--config=/etc/kubernetes/kubelet.yaml%c--v=1%c", 0, 0, 0);
	fake_proc(200, args, (size_t)n, NULL);
	char dir[300], file[400], text[600];
	snprintf(dir, sizeof dir, "%s/200/root/etc/kubernetes", root);
	CU_ASSERT_FATAL(util_mkdir_p(dir, 0755, NULL) == 0);
	snprintf(file, sizeof file, "%s/kubelet.yaml", dir);
	int len = snprintf(text, sizeof text,
			   "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
			   "# containerRuntimeEndpoint: unix:///commented/out.sock\n"
			   "containerRuntimeEndpoint: \"%s\"\ncgroupDriver: systemd\n", ep);
	CU_ASSERT_FATAL(util_write_file(file, text, (size_t)len, 0644, NULL) == 0);
	guard_report r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, 1);
	CU_ASSERT_STRING_EQUAL(r.kubelets[0].endpoint, ep);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.kubelets[0].why, "--config"));
	/* The same file in JSON naming another socket: not ours. */
	len = snprintf(text, sizeof text, "{\"kind\":\"KubeletConfiguration\",\"containerRuntimeEndpoint\":\"%s\"}\n",
		       other);
	CU_ASSERT_FATAL(util_write_file(file, text, (size_t)len, 0644, NULL) == 0);
	r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, 0);
	CU_ASSERT_EQUAL(r.n_other_kubelets, 1);
}

/* Only a process named kubelet counts, whatever its arguments say. */
static void test_not_kubelets(void)
{
	char args[600];
	int n = snprintf(args, sizeof args, "crictl%c-r%c%s%cps%c", 0, 0, ep, 0, 0);
	fake_proc(300, args, (size_t)n, "crictl\n");
	n = snprintf(args, sizeof args, "/opt/kubelet-helper%c--container-runtime-endpoint=%s%c", 0, ep, 0);
	fake_proc(301, args, (size_t)n, "kubelet-helper\n");
	fake_proc(2, "", 0, "kthreadd\n"); /* a kernel thread: empty cmdline */
	char self[300];
	snprintf(self, sizeof self, "%s/self", root);
	CU_ASSERT_FATAL(util_mkdir_p(self, 0755, NULL) == 0); /* not a pid: skipped */
	guard_report r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, 0);
	CU_ASSERT_EQUAL(r.n_other_kubelets, 0);
}

/* argv[0] may be anything (a re-executed binary): comm still says kubelet. */
static void test_comm_names_kubelet(void)
{
	char args[600];
	int n = snprintf(args, sizeof args, "/proc/self/exe%c--container-runtime-endpoint=%s%c", 0, ep, 0);
	fake_proc(400, args, (size_t)n, "kubelet\n");
	guard_report r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, 1);
	CU_ASSERT_EQUAL(r.kubelets[0].pid, 400);
}

/* On the default containerd socket, a kubelet naming nothing uses it by
 * default, and one naming another socket still counts (assume the worst). */
static void test_default_socket(void)
{
	FAKE(500, "/usr/bin/kubelet\0--v=2\0", NULL);
	char args[600];
	int n = snprintf(args, sizeof args, "/usr/bin/kubelet%c--container-runtime-endpoint=%s%c", 0, other, 0);
	fake_proc(501, args, (size_t)n, NULL);
	guard_report r = scan("unix:///run/containerd/containerd.sock");
	CU_ASSERT_EQUAL(r.n_kubelets, 2);
	CU_ASSERT_EQUAL(r.n_other_kubelets, 0);
	bool saw_default = false, saw_other = false;
	for (int i = 0; i < 2; i++) {
		if (r.kubelets[i].pid == 500)
			saw_default = strstr(r.kubelets[i].why, "default") != NULL;
		if (r.kubelets[i].pid == 501)
			saw_other = strstr(r.kubelets[i].why, "default runtime socket") != NULL;
	}
	CU_ASSERT(saw_default);
	CU_ASSERT(saw_other);
	/* /var/run is /run. */
	r = scan("/var/run/containerd/containerd.sock");
	CU_ASSERT_EQUAL(r.n_kubelets, 2);
	/* Off the default socket, the kubelet naming nothing does not count. */
	r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, 0);
	CU_ASSERT_EQUAL(r.n_other_kubelets, 2);
}

static void test_defaults_and_errors(void)
{
	CU_ASSERT(guard_is_default_endpoint("unix:///run/containerd/containerd.sock"));
	CU_ASSERT(guard_is_default_endpoint("/var/run/containerd/containerd.sock"));
	CU_ASSERT(guard_is_default_endpoint("unix:///run/crio/crio.sock"));
	CU_ASSERT(guard_is_default_endpoint("unix:///var/run/crio/crio.sock"));
	CU_ASSERT(!guard_is_default_endpoint(ep));
	CU_ASSERT(!guard_is_default_endpoint("tcp://127.0.0.1:1"));
	guard_report r;
	crit_err e;
	err_clear(&e);
	char missing[300];
	snprintf(missing, sizeof missing, "%s/no-such-proc", root);
	CU_ASSERT(guard_scan_procs(missing, ep, &r, &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, missing));
	err_clear(&e);
	CU_ASSERT(guard_scan_procs(root, "relative.sock", &r, &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "relative.sock"));
}

/* More kubelets than the report keeps: all counted, the first few kept. */
static void test_many(void)
{
	char args[600];
	for (int pid = 1000; pid < 1000 + GUARD_MAX_KEPT + 3; pid++) {
		int n = snprintf(args, sizeof args, "kubelet%c--container-runtime-endpoint=%s%c", 0, ep, 0);
		fake_proc(pid, args, (size_t)n, NULL);
	}
	guard_report r = scan(ep);
	CU_ASSERT_EQUAL(r.n_kubelets, GUARD_MAX_KEPT + 3);
	char text[4096];
	guard_describe(&r, text, sizeof text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "and 3 more"));
}

/* The real /proc: a process whose argv[0] is "kubelet" and that names the
 * endpoint is found by its pid. */
static void test_real_proc(void)
{
	char flag[300];
	snprintf(flag, sizeof flag, "--container-runtime-endpoint=%s", ep);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		char *argv[] = { "kubelet", "-c", "sleep 30", "sh", flag, NULL };
		execv("/bin/sh", argv);
		_exit(127);
	}
	setpgid(pid, pid);
	/* Wait until the exec shows in /proc. */
	char buf[512] = "";
	for (int i = 0; i < 200 && !strstr(buf, "container-runtime-endpoint"); i++) {
		util_pid_cmdline(pid, buf, sizeof buf);
		util_sleep_ms(10);
	}
	guard_report r;
	crit_err e;
	memset(&r, 0, sizeof r);
	CU_ASSERT_EQUAL(guard_scan_procs(NULL, ep, &r, &e), 0);
	bool found = false;
	for (int i = 0; i < r.n_kubelets && i < GUARD_MAX_KEPT; i++)
		if (r.kubelets[i].pid == pid)
			found = true;
	CU_ASSERT(found);
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* guard_check's child path needs a process that has not used gRPC yet: it
 * runs while the tests are being registered, before any test ran; the test
 * then checks what it found. */
static struct {
	bool ran, grpc_in_use;
	int rc;
	int64_t took;
	char ep[128];
	guard_report r;
} early;

static void early_check(void)
{
	snprintf(early.ep, sizeof early.ep, "unix:///tmp/critic-unit-guard-none-%d/rt.sock", (int)getpid());
	early.grpc_in_use = grpc_is_initialized();
	int64_t t0 = util_now_ms();
	early.rc = guard_check(early.ep, 2000, &early.r, NULL);
	early.took = util_now_ms() - t0;
	early.ran = true;
}

/* Against a socket that is not there the answer is a fact (not checked,
 * and why), promptly. */
static void test_check_child_missing_socket(void)
{
	CU_ASSERT_FATAL(early.ran);
	printf("\n    child: %lld ms: %s ", (long long)early.took, early.r.pods_error);
	CU_ASSERT_EQUAL(early.rc, 0);
	if (early.grpc_in_use) {
		printf("\n    (this program used gRPC before registering the tests: no child path to check) ");
		CU_ASSERT(!early.r.pods_from_child);
	} else {
		CU_ASSERT(early.r.pods_from_child);
	}
	CU_ASSERT(!early.r.pods_checked);
	CU_ASSERT_PTR_NOT_NULL(strstr(early.r.pods_error, "does not exist"));
	CU_ASSERT(early.took < 5000 * fake_time_scale());
}

/* Once this process used gRPC (every test program here has by now: the
 * fake servers), guard_check asks from this process instead. */
static void test_check_after_grpc(void)
{
	if (!grpc_is_initialized())
		grpc_init(); /* as cri_connect does, once */
	guard_report r;
	CU_ASSERT_EQUAL(guard_check(early.ep, 2000, &r, NULL), 0);
	CU_ASSERT(!r.pods_from_child);
	CU_ASSERT(!r.pods_checked);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.pods_error, "does not exist"));
}

void tests_register_guard(void)
{
	early_check();
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("unit/guard", suite_init, suite_cleanup, setup, NULL);
	if (!s)
		return;
	CU_add_test(s, "kubelet --container-runtime-endpoint=EP is found", test_flag_equals);
	CU_add_test(s, "kubelet --container-runtime-endpoint PATH (bare path) is found", test_flag_separate_bare_path);
	CU_add_test(s, "a kubelet naming another endpoint is counted apart", test_other_endpoint);
	CU_add_test(s, "containerRuntimeEndpoint from --config (YAML, JSON) via its root", test_config_file);
	CU_add_test(s, "crictl, kubelet-helper, kernel threads, non-pids: not kubelets", test_not_kubelets);
	CU_add_test(s, "comm 'kubelet' counts whatever argv[0] is", test_comm_names_kubelet);
	CU_add_test(s, "default socket: any kubelet counts; /var/run is /run", test_default_socket);
	CU_add_test(s, "default sockets; errors name the proc root or endpoint", test_defaults_and_errors);
	CU_add_test(s, "more kubelets than kept: all counted", test_many);
	CU_add_test(s, "real /proc: a process called kubelet naming the endpoint", test_real_proc);
	CU_add_test(s, "guard_check: pods asked from a child; missing socket is a fact", test_check_child_missing_socket);
	CU_add_test(s, "guard_check after gRPC was used: asked from this process", test_check_after_grpc);
}
