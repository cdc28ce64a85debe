/* Integration: `critic cleanup` and the kubelet guard on a lab of this suite's
 * own, beside "foreign" pods (no critic label, kubelet-like labels) it must never touch. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cri.h"
#include "guard.h"
#include "lab.h"
#include "tests.h"
#include "util.h"

#define GRPC_NOT_FOUND 5
#define POD_READY RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
#define CTR_RUNNING RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING

static char lab_dir[PATH_MAX];
static char critic_bin[PATH_MAX];
static lab_info lab;
static cri_conn *conn;
static bool lab_ok, populated;
static char tmpdir[64];
static char busybox[256];

/* The two runs of critic's, and a log dir of a third run with no objects. */
static char run_a[48], run_b[48], run_orphan[48];
static char dir_a[256], dir_b[256], dir_orphan[256];

/* Ids of what the suite made. */
static char *foreign_pod, *kubelike_pod, *pod_a, *pod_b, *pod_mixed;
static char *foreign_ctr, *ctr_a, *mixed_ctr;

/* ------------------------------------------------------------ helpers */

static void say(const char *line)
{
	printf("\n    %s", line);
	fflush(stdout);
}

static int lab_cmd(const char *what, int timeout_ms)
{
	return tests_lab_cmd(critic_bin, lab_dir, what, timeout_ms);
}

typedef tests_kv kv;

/* A pod in the node's network namespace (no CNI needed) with these labels. */
static char *make_pod(const char *name, const char *logdir, const kv *labels, size_t n)
{
	tests_pod p = { .name = name, .ns = "critic-safety", .logdir = logdir, .host_net = true, .labels = labels,
			.n_labels = n };
	return tests_run_pod(conn, &p);
}

/* A running busybox `sleep` in pod (whose config is rebuilt minimal: the
 * runtime only needs its log dir here). */
static char *make_ctr(const char *pod, const char *logdir, const char *name, const kv *labels, size_t n)
{
	tests_pod p = { .name = "x", .ns = "critic-safety", .logdir = logdir };
	return tests_run_sleeper(conn, pod, &p, busybox, name, labels, n);
}

/* The pod's state, or -1 when the runtime no longer has it. */
static int pod_state(const char *id)
{
	if (!id)
		return -2;
	crit_err e;
	err_clear(&e);
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	Runtime__V1__PodSandboxStatusResponse *resp = NULL;
	req.pod_sandbox_id = (char *)id;
	int rc = CRI_CALL(conn, PodSandboxStatus, &req, &resp, &e);
	int st = rc == 0 && resp->status ? (int)resp->status->state : rc == -ERR_GRPC && e.grpc_status == GRPC_NOT_FOUND ? -1 : -3;
	if (st == -3)
		say(e.msg);
	cri_free(resp);
	return st;
}

static int ctr_state(const char *id)
{
	if (!id)
		return -2;
	crit_err e;
	err_clear(&e);
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	Runtime__V1__ContainerStatusResponse *resp = NULL;
	req.container_id = (char *)id;
	int rc = CRI_CALL(conn, ContainerStatus, &req, &resp, &e);
	int st = rc == 0 && resp->status ? (int)resp->status->state : rc == -ERR_GRPC && e.grpc_status == GRPC_NOT_FOUND ? -1 : -3;
	if (st == -3)
		say(e.msg);
	cri_free(resp);
	return st;
}

/* Is the pod among ListPodSandbox's items (unfiltered)? */
static bool pod_listed(const char *id)
{
	crit_err e;
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	if (CRI_CALL(conn, ListPodSandbox, &req, &resp, &e) < 0)
		return false;
	bool found = false;
	for (size_t i = 0; i < resp->n_items; i++)
		if (!strcmp(resp->items[i]->id, id))
			found = true;
	cri_free(resp);
	return found;
}

/* Does the output name the object (cleanup prints 13-character ids)? */
static bool names(const char *out, const char *id)
{
	char short_id[14];
	snprintf(short_id, sizeof short_id, "%s", id);
	return out && strstr(out, short_id);
}

static bool critic_knows_cleanup(void)
{
	char *argv[] = { critic_bin, "cleanup", "--help", NULL };
	char *out = NULL;
	int rc = util_run(argv, 10000, &out, NULL);
	bool yes = rc == 0 && out && strstr(out, "critic cleanup");
	free(out);
	return yes;
}

/* `critic cleanup -r LAB ARGS...`: through the critic binary once its CLI
 * has the command; until then through the same entry point in this process
 * (no fork, so gRPC is fine), with stdout and stderr caught in a file. */
static int run_cleanup(const char *a1, const char *a2, char **out)
{
	static int via_binary = -1;
	if (via_binary < 0) {
		via_binary = critic_knows_cleanup();
		if (!via_binary)
			say("note: this critic binary has no `cleanup` command yet; calling cleanup_cli_main in-process");
	}
	char *argv[8];
	int argc = 0;
	if (via_binary)
		argv[argc++] = critic_bin;
	argv[argc++] = "cleanup";
	argv[argc++] = "-r";
	argv[argc++] = lab.endpoint;
	if (a1)
		argv[argc++] = (char *)a1;
	if (a2)
		argv[argc++] = (char *)a2;
	argv[argc] = NULL;
	int rc;
	*out = NULL;
	if (via_binary) {
		crit_err e;
		rc = util_run(argv, 120000, out, &e);
		if (rc < 0)
			*out = strdup(e.msg);
	} else {
		char path[128];
		snprintf(path, sizeof path, "%s/cleanup.out", tmpdir);
		fflush(stdout);
		fflush(stderr);
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int o1 = dup(1), o2 = dup(2);
		dup2(fd, 1);
		dup2(fd, 2);
		rc = cleanup_cli_main(argc, argv);
		fflush(stdout);
		fflush(stderr);
		dup2(o1, 1);
		dup2(o2, 2);
		close(o1);
		close(o2);
		close(fd);
		util_read_file(path, out, NULL, NULL);
	}
	printf("\n    $ critic cleanup %s %s -> %d\n%s", a1 ? a1 : "", a2 ? a2 : "", rc, *out ? *out : "");
	return rc;
}

static void stop_remove_pod(char **id)
{
	if (!*id)
		return;
	crit_err e;
	Runtime__V1__StopPodSandboxRequest sr = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	Runtime__V1__RemovePodSandboxRequest rr = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
	sr.pod_sandbox_id = rr.pod_sandbox_id = *id;
	CRI_CALL(conn, StopPodSandbox, &sr, &sresp, &e);
	CRI_CALL(conn, RemovePodSandbox, &rr, &rresp, &e);
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
	snprintf(lab_dir, sizeof lab_dir, "%s-safety", tests_lab_dir());
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-safety-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(run_a, sizeof run_a, "safety-a-%d", (int)getpid());
	snprintf(run_b, sizeof run_b, "safety-b-%d", (int)getpid());
	snprintf(run_orphan, sizeof run_orphan, "safety-orphan-%d", (int)getpid());
	snprintf(dir_a, sizeof dir_a, CLEANUP_LOG_ROOT "/%s", run_a);
	snprintf(dir_b, sizeof dir_b, CLEANUP_LOG_ROOT "/%s", run_b);
	snprintf(dir_orphan, sizeof dir_orphan, CLEANUP_LOG_ROOT "/%s", run_orphan);
	return 0;
}

static int suite_cleanup(void)
{
	/* Whatever a failed test left: ours by id (the foreign ones too). */
	if (conn) {
		stop_remove_pod(&foreign_pod);
		stop_remove_pod(&kubelike_pod);
		stop_remove_pod(&pod_a);
		stop_remove_pod(&pod_b);
		stop_remove_pod(&pod_mixed);
		cri_close(conn);
		conn = NULL;
	}
	free(foreign_ctr);
	free(ctr_a);
	free(mixed_ctr);
	util_rm_rf(dir_a, NULL);
	util_rm_rf(dir_b, NULL);
	util_rm_rf(dir_orphan, NULL);
	util_rm_rf(tmpdir, NULL);
	if (lab_ok && lab_cmd("down", 180000) != 0)
		return -1;
	return 0;
}

static void test_lab_up(void)
{
	int rc = lab_cmd("up", 600000);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	lab_ok = true;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(lab_status(lab_dir, &lab, &e), 1);
	CU_ASSERT_EQUAL_FATAL(cri_connect(&conn, lab.endpoint, NULL, 20000, &e), 0);
	CU_ASSERT_EQUAL_FATAL(tests_pull_lab_image(conn, &lab, "busybox", busybox, sizeof busybox), 0);
}

static void test_populate(void)
{
	CU_ASSERT_FATAL(conn != NULL);
	char d[PATH_MAX];
	/* Someone else's pod and container: labels, but none of critic's. */
	const kv foreign[] = { { "app", "foreign" }, { "critic.io/run-id", run_a } };
	snprintf(d, sizeof d, "%s/foreign", tmpdir);
	foreign_pod = make_pod("foreign", d, foreign, 2);
	CU_ASSERT_FATAL(foreign_pod != NULL);
	const kv fc[] = { { "app", "foreign" } };
	foreign_ctr = make_ctr(foreign_pod, d, "foreign-sleep", fc, 1);
	CU_ASSERT_FATAL(foreign_ctr != NULL);
	/* A pod as the kubelet labels its own. */
	const kv kube[] = { { "io.kubernetes.pod.name", "web-0" },
			    { "io.kubernetes.pod.namespace", "default" },
			    { "io.kubernetes.pod.uid", "6b1f0f9e-0000-4000-8000-000000000001" } };
	snprintf(d, sizeof d, "%s/kubelike", tmpdir);
	kubelike_pod = make_pod("web-0", d, kube, 3);
	CU_ASSERT_FATAL(kubelike_pod != NULL);
	/* critic's: run A with a container, run B without. */
	const kv a[] = { { "critic.io/owner", "critic" }, { "critic.io/run-id", run_a }, { "critic.io/test", "safety.a" } };
	snprintf(d, sizeof d, "%s/pod-a", dir_a);
	pod_a = make_pod("safety-pod-a", d, a, 3);
	CU_ASSERT_FATAL(pod_a != NULL);
	ctr_a = make_ctr(pod_a, d, "sleep-a", a, 3);
	CU_ASSERT_FATAL(ctr_a != NULL);
	const kv b[] = { { "critic.io/owner", "critic" }, { "critic.io/run-id", run_b }, { "critic.io/test", "safety.b" } };
	snprintf(d, sizeof d, "%s/pod-b", dir_b);
	pod_b = make_pod("safety-pod-b", d, b, 3);
	CU_ASSERT_FATAL(pod_b != NULL);
	/* A log dir of a run that left no object. */
	snprintf(d, sizeof d, "%s/x", dir_orphan);
	CU_ASSERT_FATAL(util_mkdir_p(d, 0755, NULL) == 0);

	CU_ASSERT_EQUAL(pod_state(foreign_pod), POD_READY);
	CU_ASSERT_EQUAL(pod_state(kubelike_pod), POD_READY);
	CU_ASSERT_EQUAL(pod_state(pod_a), POD_READY);
	CU_ASSERT_EQUAL(pod_state(pod_b), POD_READY);
	CU_ASSERT_EQUAL(ctr_state(foreign_ctr), CTR_RUNNING);
	CU_ASSERT_EQUAL(ctr_state(ctr_a), CTR_RUNNING);
	populated = true;
}

/* The foreign pods and container are exactly as they were. */
static void assert_foreign_intact(const char *out)
{
	CU_ASSERT_EQUAL(pod_state(foreign_pod), POD_READY);
	CU_ASSERT_EQUAL(pod_state(kubelike_pod), POD_READY);
	CU_ASSERT_EQUAL(ctr_state(foreign_ctr), CTR_RUNNING);
	CU_ASSERT(pod_listed(foreign_pod));
	CU_ASSERT(pod_listed(kubelike_pod));
	CU_ASSERT(!names(out, foreign_pod));
	CU_ASSERT(!names(out, kubelike_pod));
	CU_ASSERT(!names(out, foreign_ctr));
	CU_ASSERT(util_exists(dir_orphan));
	CU_ASSERT(out && !strstr(out, run_orphan));
}

static void test_guard_sees_kubelet_pod(void)
{
	CU_ASSERT_FATAL(populated);
	guard_report r;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(guard_check_conn(conn, NULL, &r, &e), 0);
	CU_ASSERT(r.pods_checked);
	CU_ASSERT_EQUAL(r.n_kube_pods, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.kube_pods[0], "default/web-0"));
	CU_ASSERT(names(r.kube_pods[0], kubelike_pod));
	CU_ASSERT(guard_kubelet_live(&r));
	char text[2048];
	guard_describe(&r, text, sizeof text);
	say(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "default/web-0"));
	/* The lab's socket is no default one: a kubelet on this machine could
	 * only count by naming it, and none does. */
	CU_ASSERT(!guard_is_default_endpoint(lab.endpoint));
	CU_ASSERT_EQUAL(r.n_kubelets, 0);

	/* The same through guard_check: this process used gRPC already, so it
	 * lists the pods itself rather than from a forked child. */
	guard_report r2;
	err_clear(&e);
	int64_t t0 = util_now_ms();
	CU_ASSERT_EQUAL(guard_check(lab.endpoint, 10000, &r2, &e), 0);
	int64_t took = util_now_ms() - t0;
	printf("\n    guard_check: %lld ms%s%s", (long long)took, r2.pods_checked ? "" : ": ", r2.pods_error);
	CU_ASSERT(!r2.pods_from_child);
	CU_ASSERT(r2.pods_checked);
	CU_ASSERT_EQUAL(r2.n_kube_pods, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r2.kube_pods[0], "default/web-0"));
}

static void test_dry_run(void)
{
	CU_ASSERT_FATAL(populated);
	char *out;
	int rc = run_cleanup("--dry-run", NULL, &out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(names(out, pod_a));
	CU_ASSERT(names(out, pod_b));
	CU_ASSERT(names(out, ctr_a));
	CU_ASSERT(out && strstr(out, dir_a));
	CU_ASSERT(out && strstr(out, dir_b));
	CU_ASSERT(out && strstr(out, "safety.a") && strstr(out, "safety.b"));
	CU_ASSERT(out && strstr(out, "1 container, 2 pods, 2 log dirs"));
	CU_ASSERT(out && strstr(out, "dry run: nothing removed"));
	CU_ASSERT(out && !strstr(out, "removed pod"));
	assert_foreign_intact(out);
	CU_ASSERT_EQUAL(pod_state(pod_a), POD_READY);
	CU_ASSERT_EQUAL(pod_state(pod_b), POD_READY);
	CU_ASSERT_EQUAL(ctr_state(ctr_a), CTR_RUNNING);
	CU_ASSERT(util_exists(dir_a) && util_exists(dir_b));
	free(out);
}

static void test_run_a_only(void)
{
	CU_ASSERT_FATAL(populated);
	char *out;
	int rc = run_cleanup("--run-id", run_a, &out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(names(out, pod_a));
	CU_ASSERT(names(out, ctr_a));
	CU_ASSERT(!names(out, pod_b));
	CU_ASSERT_EQUAL(pod_state(pod_a), -1);
	CU_ASSERT_EQUAL(ctr_state(ctr_a), -1);
	CU_ASSERT(!util_exists(dir_a));
	CU_ASSERT_EQUAL(pod_state(pod_b), POD_READY);
	CU_ASSERT(util_exists(dir_b));
	/* The foreign pod carries run A's run label, but not critic's owner. */
	assert_foreign_intact(out);
	free(out);
}

static void test_all_of_critic(void)
{
	CU_ASSERT_FATAL(populated);
	char *out;
	int rc = run_cleanup(NULL, NULL, &out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(names(out, pod_b));
	CU_ASSERT_EQUAL(pod_state(pod_b), -1);
	CU_ASSERT(!util_exists(dir_b));
	assert_foreign_intact(out);
	free(out);
	/* Nothing of critic's is left to find. */
	rc = run_cleanup("--dry-run", NULL, &out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(out && strstr(out, "0 containers, 0 pods, 0 log dirs"));
	free(out);
}

/* A pod with critic's labels that holds someone else's container: removing
 * the pod would remove that container, so cleanup leaves both and says so. */
static void test_mixed_pod_left(void)
{
	CU_ASSERT_FATAL(populated);
	char d[PATH_MAX];
	snprintf(d, sizeof d, "%s/mixed", tmpdir);
	const kv m[] = { { "critic.io/owner", "critic" }, { "critic.io/run-id", run_b }, { "critic.io/test", "safety.mixed" } };
	pod_mixed = make_pod("safety-mixed", d, m, 3);
	CU_ASSERT_FATAL(pod_mixed != NULL);
	const kv none[] = { { "app", "someone-else" } };
	mixed_ctr = make_ctr(pod_mixed, d, "not-critics", none, 1);
	CU_ASSERT_FATAL(mixed_ctr != NULL);
	char *out;
	int rc = run_cleanup(NULL, NULL, &out);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(out && strstr(out, "without critic's label"));
	CU_ASSERT(!names(out, mixed_ctr) || strstr(out, "holds container"));
	CU_ASSERT_EQUAL(pod_state(pod_mixed), POD_READY);
	CU_ASSERT_EQUAL(ctr_state(mixed_ctr), CTR_RUNNING);
	assert_foreign_intact(out);
	free(out);
	stop_remove_pod(&pod_mixed);
}

/* Bad input: the image registry is down. The lab's own registry is stopped
 * by its pid; a pull fails within its deadline naming the registry, and
 * `critic lab up` brings the registry back. */
static void test_registry_down(void)
{
	CU_ASSERT_FATAL(lab_ok && conn);
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(lab_status(lab_dir, &lab, &e), 1);
	pid_t reg = lab.registry_pid;
	CU_ASSERT_FATAL(reg > 0);
	CU_ASSERT_EQUAL_FATAL(kill(reg, SIGTERM), 0);
	CU_ASSERT_FATAL(util_wait_pid_dead(reg, 10000));
	/* A ref the runtime does not hold: it must ask the registry. */
	char ref[300];
	snprintf(ref, sizeof ref, "%s/critic/not-here:%d", lab.registry, (int)getpid());
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = ref;
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *resp = NULL;
	req.image = &spec;
	int64_t t0 = util_now_ms();
	int rc = CRI_CALL_T(conn, PullImage, &req, &resp, 30000, &e);
	int64_t took = util_now_ms() - t0;
	printf("\n    pull with the registry down: %lld ms: %s", (long long)took, e.msg);
	CU_ASSERT_EQUAL(rc, -ERR_GRPC);
	CU_ASSERT(took < 10000);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, lab.registry));
	cri_free(resp);
	/* The busybox pull still needs the registry (tags are resolved there). */
	CU_ASSERT_EQUAL(lab_cmd("up", 300000), 0);
	CU_ASSERT_EQUAL(lab_status(lab_dir, &lab, &e), 1);
	CU_ASSERT(lab.registry_pid > 0 && lab.registry_pid != reg);
	spec.image = busybox;
	resp = NULL;
	rc = CRI_CALL_T(conn, PullImage, &req, &resp, 60000, &e);
	if (rc < 0)
		say(e.msg);
	cri_free(resp);
	CU_ASSERT_EQUAL(rc, 0);
}

static void test_remove_foreign(void)
{
	CU_ASSERT_FATAL(populated);
	stop_remove_pod(&foreign_pod);
	stop_remove_pod(&kubelike_pod);
	CU_ASSERT_PTR_NULL(foreign_pod);
	CU_ASSERT_PTR_NULL(kubelike_pod);
}

void tests_register_safety_lab(void)
{
	CU_pSuite s = CU_add_suite("integration/safety", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "lab up (own dir), busybox pulled", test_lab_up);
	CU_add_test(s, "two runs of critic's beside foreign and kubelet-like pods", test_populate);
	CU_add_test(s, "guard: the kubelet-labelled pod is detected, nothing else", test_guard_sees_kubelet_pod);
	CU_add_test(s, "cleanup --dry-run lists exactly critic's, removes nothing", test_dry_run);
	CU_add_test(s, "cleanup --run-id A removes only run A's, and its log dir", test_run_a_only);
	CU_add_test(s, "cleanup removes the rest of critic's, never the foreign", test_all_of_critic);
	CU_add_test(s, "a critic pod holding a foreign container is left, exit 1", test_mixed_pod_left);
	CU_add_test(s, "registry down: pull fails fast naming it; lab up restores it", test_registry_down);
	CU_add_test(s, "the foreign pods are removed by the test itself", test_remove_foreign);
}
