/* Integration: the lab comes up, the client drives a real containerd through
 * a pod's life, critic's own runner passes against it, and down leaves nothing. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri.h"
#include "lab.h"
#include "tests.h"
#include "util.h"

static lab_info lab;
static cri_conn *conn;
static bool lab_ok;

/* `critic --dir DIR lab up` as a user runs it. In process, lab_up forks a
 * child that talks CRI, and gRPC is not safe in a child forked after this
 * process used it (the unit suites before this one do). */
static int critic_lab(const char *verb, char **out)
{
	char bin[PATH_MAX];
	if (tests_beside("critic", bin, sizeof bin) < 0)
		return -1;
	char *cmd = util_strdup_printf("'%s' --dir '%s' lab %s", bin, tests_lab_dir(), verb);
	crit_err e;
	int rc = util_run_sh(cmd, 300000, out, &e);
	if (rc < 0 && out)
		*out = strdup(e.msg);
	free(cmd);
	return rc;
}

static void test_lab_up(void)
{
	crit_err e;
	err_clear(&e);
	char *out = NULL;
	int64_t t0 = util_now_ms();
	int rc = critic_lab("up", &out);
	int64_t first = util_now_ms() - t0;
	printf("\n%s", out ? out : "");
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	t0 = util_now_ms();
	rc = critic_lab("up", &out);
	int64_t second = util_now_ms() - t0;
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	/* It prints the line a shell can eval. */
	CU_ASSERT(out && strstr(out, "CRITIC_ENDPOINT=unix://"));
	free(out);
	printf("\n    lab up: %lld ms, second up: %lld ms ", (long long)first, (long long)second);
	/* A second up reuses what runs and the cached images. */
	CU_ASSERT(second < 3000);
	CU_ASSERT_EQUAL(lab_status(tests_lab_dir(), &lab, &e), 1);
	CU_ASSERT(util_pid_alive(lab.containerd_pid));
	CU_ASSERT(util_pid_alive(lab.registry_pid));
	CU_ASSERT_STRING_EQUAL(lab.endpoint + strlen("unix://"), lab.socket);
	CU_ASSERT_EQUAL_FATAL(cri_connect(&conn, lab.endpoint, NULL, 20000, &e), 0);
	lab_ok = true;
}

static void test_version_status(void)
{
	CU_ASSERT_FATAL(lab_ok);
	crit_err e;
	Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *v = NULL;
	CU_ASSERT_EQUAL_FATAL(CRI_CALL(conn, Version, &vreq, &v, &e), 0);
	CU_ASSERT_STRING_EQUAL(v->runtime_name, "containerd");
	CU_ASSERT_STRING_EQUAL(v->runtime_api_version, "v1");
	CU_ASSERT(v->runtime_version[0] != '\0');
	cri_free(v);
	Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *s = NULL;
	CU_ASSERT_EQUAL_FATAL(CRI_CALL(conn, Status, &sreq, &s, &e), 0);
	CU_ASSERT_FATAL(s->status != NULL);
	int ready = 0;
	for (size_t i = 0; i < s->status->n_conditions; i++) {
		Runtime__V1__RuntimeCondition *c = s->status->conditions[i];
		if ((!strcmp(c->type, "RuntimeReady") || !strcmp(c->type, "NetworkReady")) && c->status)
			ready++;
		else
			printf("\n    condition %s=%d %s %s", c->type, c->status, c->reason, c->message);
	}
	CU_ASSERT_EQUAL(ready, 2);
	cri_free(s);
}

/* A pod and a busybox container, driven through the client by hand. */
static void test_pod_container(void)
{
	CU_ASSERT_FATAL(lab_ok);
	crit_err e;
	err_clear(&e);
	char ref[256];
	CU_ASSERT_EQUAL_FATAL(lab_image_ref(&lab, "busybox", ref, sizeof ref), 0);

	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = ref;
	Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *presp = NULL;
	preq.image = &spec;
	int rc = CRI_CALL(conn, PullImage, &preq, &presp, &e);
	if (rc)
		printf("\n    %s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT(util_has_prefix(presp->image_ref, "sha256:"));
	cri_free(presp);

	char logdir[] = "/tmp/critic-it-logs-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(logdir) != NULL);
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	md.name = "critic-integration";
	md.uid = "critic-integration-uid";
	md.namespace_ = "critic";
	Runtime__V1__PodSandboxConfig pcfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	pcfg.metadata = &md;
	pcfg.log_directory = logdir;
	Runtime__V1__RunPodSandboxRequest rreq = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *rresp = NULL;
	rreq.config = &pcfg;
	rc = CRI_CALL(conn, RunPodSandbox, &rreq, &rresp, &e);
	if (rc)
		printf("\n    %s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	char *pod = strdup(rresp->pod_sandbox_id);
	cri_free(rresp);

	Runtime__V1__ContainerMetadata cmd = RUNTIME__V1__CONTAINER_METADATA__INIT;
	cmd.name = "busybox";
	char *argv[] = { "sh", "-c", "echo started; sleep 3600" };
	Runtime__V1__ContainerConfig ccfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	ccfg.metadata = &cmd;
	ccfg.image = &spec;
	ccfg.command = argv;
	ccfg.n_command = 3;
	ccfg.log_path = "busybox.log";
	Runtime__V1__CreateContainerRequest creq = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *cresp = NULL;
	creq.pod_sandbox_id = pod;
	creq.config = &ccfg;
	creq.sandbox_config = &pcfg;
	rc = CRI_CALL(conn, CreateContainer, &creq, &cresp, &e);
	if (rc)
		printf("\n    %s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	char *ctr = rc == 0 ? strdup(cresp->container_id) : NULL;
	cri_free(cresp);
	if (ctr) {
		Runtime__V1__StartContainerRequest sreq = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
		Runtime__V1__StartContainerResponse *sresp = NULL;
		sreq.container_id = ctr;
		CU_ASSERT_EQUAL(CRI_CALL(conn, StartContainer, &sreq, &sresp, &e), 0);
		cri_free(sresp);

		char *ecmd[] = { "sh", "-c", "echo $((6*7))" };
		Runtime__V1__ExecSyncRequest ereq = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
		Runtime__V1__ExecSyncResponse *eresp = NULL;
		ereq.container_id = ctr;
		ereq.cmd = ecmd;
		ereq.n_cmd = 3;
		ereq.timeout = 10;
		rc = CRI_CALL(conn, ExecSync, &ereq, &eresp, &e);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc == 0) {
			CU_ASSERT_EQUAL(eresp->exit_code, 0);
			CU_ASSERT(eresp->stdout.len == 3 && !memcmp(eresp->stdout.data, "42\n", 3));
		}
		cri_free(eresp);

		/* The log file has the line the container printed, in CRI format. */
		char *path = util_strdup_printf("%s/busybox.log", logdir), *text = NULL;
		bool found = false;
		for (int i = 0; i < 50 && !found; i++) {
			free(text);
			text = NULL;
			if (util_read_file(path, &text, NULL, NULL) == 0 && strstr(text, " stdout F started\n"))
				found = true;
			else
				util_sleep_ms(100);
		}
		CU_ASSERT(found);
		free(text);
		free(path);

		Runtime__V1__StopContainerRequest stq = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
		Runtime__V1__StopContainerResponse *stp = NULL;
		stq.container_id = ctr;
		stq.timeout = 1;
		CU_ASSERT_EQUAL(CRI_CALL(conn, StopContainer, &stq, &stp, &e), 0);
		cri_free(stp);
		Runtime__V1__ContainerStatusRequest csq = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
		Runtime__V1__ContainerStatusResponse *csp = NULL;
		csq.container_id = ctr;
		CU_ASSERT_EQUAL(CRI_CALL(conn, ContainerStatus, &csq, &csp, &e), 0);
		if (csp && csp->status)
			CU_ASSERT_EQUAL(csp->status->state, RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
		cri_free(csp);
		Runtime__V1__RemoveContainerRequest rmq = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
		Runtime__V1__RemoveContainerResponse *rmp = NULL;
		rmq.container_id = ctr;
		CU_ASSERT_EQUAL(CRI_CALL(conn, RemoveContainer, &rmq, &rmp, &e), 0);
		cri_free(rmp);
		free(ctr);
	}
	Runtime__V1__StopPodSandboxRequest spq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *spp = NULL;
	spq.pod_sandbox_id = pod;
	CU_ASSERT_EQUAL(CRI_CALL(conn, StopPodSandbox, &spq, &spp, &e), 0);
	cri_free(spp);
	Runtime__V1__RemovePodSandboxRequest rpq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *rpp = NULL;
	rpq.pod_sandbox_id = pod;
	CU_ASSERT_EQUAL(CRI_CALL(conn, RemovePodSandbox, &rpq, &rpp, &e), 0);
	cri_free(rpp);
	free(pod);
	util_rm_rf(logdir, NULL);
}

/* How many pods and containers carrying critic's owner label the lab's
 * runtime lists. */
static void count_owned(size_t *pods, size_t *ctrs)
{
	crit_err e;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry pl = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *psel[] = { &pl };
	pl.key = "critic.io/owner";
	pl.value = "critic";
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	pf.label_selector = psel;
	pf.n_label_selector = 1;
	Runtime__V1__ListPodSandboxRequest preq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *presp = NULL;
	preq.filter = &pf;
	CU_ASSERT_EQUAL_FATAL(CRI_CALL(conn, ListPodSandbox, &preq, &presp, &e), 0);
	*pods = presp->n_items;
	cri_free(presp);
	Runtime__V1__ContainerFilter__LabelSelectorEntry cl = RUNTIME__V1__CONTAINER_FILTER__LABEL_SELECTOR_ENTRY__INIT;
	Runtime__V1__ContainerFilter__LabelSelectorEntry *csel[] = { &cl };
	cl.key = "critic.io/owner";
	cl.value = "critic";
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;
	cf.label_selector = csel;
	cf.n_label_selector = 1;
	Runtime__V1__ListContainersRequest creq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *cresp = NULL;
	creq.filter = &cf;
	CU_ASSERT_EQUAL_FATAL(CRI_CALL(conn, ListContainers, &creq, &cresp, &e), 0);
	*ctrs = cresp->n_containers;
	cri_free(cresp);
}

/* critic's own command line against the lab, as a user would run it; the
 * run must pass and leave no pod or container of critic's behind. */
static void run_critic(const char *handler)
{
	CU_ASSERT_FATAL(lab_ok);
	char beside[PATH_MAX];
	CU_ASSERT_FATAL(tests_beside("critic", beside, sizeof beside) == 0);
	char *bin = strdup(beside);
	char *cmd = util_strdup_printf("CRITIC_LAB_DIR='%s' '%s' --no-color run%s%s", tests_lab_dir(), bin,
				       handler ? " --runtime-handler " : "", handler ? handler : "");
	char *out = NULL;
	crit_err e;
	int rc = util_run_sh(cmd, 600000, &out, &e);
	printf("\n%s", out ? out : e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(out && strstr(out, " 0 failed"));
	size_t pods = 99, ctrs = 99;
	count_owned(&pods, &ctrs);
	printf("    after the run: %zu pods and %zu containers labelled critic.io/owner=critic ", pods, ctrs);
	CU_ASSERT_EQUAL(pods, 0);
	CU_ASSERT_EQUAL(ctrs, 0);
	free(out);
	free(cmd);
	free(bin);
}

static void test_critic_run_runc(void) { run_critic(NULL); }

static void test_critic_run_crun(void)
{
	if (!lab.crun_usable) {
		printf("\n    SKIP: crun not usable in this lab: %s ", lab.crun_note);
		return;
	}
	run_critic("crun");
}

static void test_lab_down(void)
{
	crit_err e;
	err_clear(&e);
	cri_close(conn);
	conn = NULL;
	char *out = NULL;
	int rc = critic_lab("down", &out);
	printf("\n    %s", out ? out : "");
	CU_ASSERT_EQUAL(rc, 0);
	free(out);
	CU_ASSERT_EQUAL(tests_lab_processes(tests_lab_dir()), 0);
	CU_ASSERT_EQUAL(tests_lab_mounts(tests_lab_dir()), 0);
	CU_ASSERT_EQUAL(lab_status(tests_lab_dir(), &lab, &e), 0);
	CU_ASSERT(!util_exists(lab.socket));
}

void tests_register_lab(void)
{
	CU_pSuite s = CU_add_suite("integration/lab", NULL, NULL);
	CU_add_test(s, "lab up, twice (idempotent)", test_lab_up);
	CU_add_test(s, "Version and Status through the client", test_version_status);
	CU_add_test(s, "pod and busybox container: run, exec, log, stop, remove", test_pod_container);
	CU_add_test(s, "critic run against the lab (runc)", test_critic_run_runc);
	CU_add_test(s, "critic run against the lab (crun)", test_critic_run_crun);
	CU_add_test(s, "lab down leaves no process and no mount", test_lab_down);
}
