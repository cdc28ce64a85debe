/* Integration: libfiu faults in crun on a lab of this suite's own: containers of the crun-fiu
 * handler fail to start when crun's openat or clone fails, leave nothing behind, and start again. */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri.h"
#include "fault/fiu.h"
#include "lab.h"
#include "tests.h"
#include "util.h"

#define HANDLER "crun-fiu"
#define CALL_MS 60000

static char lab_dir[PATH_MAX];
static char critic_exe[PATH_MAX];
static char state_dir[PATH_MAX]; /* containerd's state dir, from the lab's config.toml */
static lab_info lab;
static bool lab_ok, lab_down_done;
static char skip_why[700];
static char logdir[64];
static char image[256];

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

/* `critic --dir LAB lab up|down` in a fresh process: this one has used
 * gRPC already, and lab_up/lab_down fork children that make CRI calls. */
static int critic_lab(const char *verb, char **out)
{
	crit_err e;
	err_clear(&e);
	char *argv[] = { critic_exe, "--dir", lab_dir, "lab", (char *)verb, NULL };
	int rc = util_run(argv, 240000, out, &e);
	if (rc < 0)
		say("critic lab %s: %s", verb, e.msg);
	return rc;
}

/* The value of `KEY = "VALUE"` at the start of a line of config.toml. */
static bool toml_value(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, kl) || strncmp(l + kl, " = \"", 4))
			continue;
		const char *v = l + kl + 4;
		size_t n = strcspn(v, "\"\n");
		snprintf(out, len, "%.*s", (int)n, v);
		return true;
	}
	return false;
}

static int suite_init(void)
{
	tests_sibling_lab_dir("fiu", lab_dir, sizeof lab_dir);
	if (tests_beside("critic", critic_exe, sizeof critic_exe) < 0)
		return -1;
	if (geteuid() != 0) {
		snprintf(skip_why, sizeof skip_why, "needs root (the lab runs containerd)");
		return 0;
	}
	if (access(critic_exe, X_OK) < 0) {
		snprintf(skip_why, sizeof skip_why, "no critic program next to the tests (%.600s)", critic_exe);
		return 0;
	}
	int64_t t0 = util_now_ms();
	cleanup_free char *out = NULL;
	int rc = critic_lab("up", &out);
	if (rc != 0) {
		say("lab up in %s failed (%d): %s", lab_dir, rc, out ? out : "");
		return -1;
	}
	crit_err e;
	err_clear(&e);
	if (lab_status(lab_dir, &lab, &e) != 1) {
		say("lab in %s not running after up: %s", lab_dir, e.msg);
		return -1;
	}
	cleanup_free char *cfg = NULL;
	if (util_read_file(lab.config, &cfg, NULL, &e) < 0 || !toml_value(cfg, "state", state_dir, sizeof state_dir)) {
		say("%s: no state dir: %s", lab.config, e.msg);
		return -1;
	}
	if (!strstr(cfg, "runtimes." HANDLER "]")) {
		snprintf(skip_why, sizeof skip_why,
			 "the lab has no " HANDLER " handler (crun usable: %s%s%s; critic-fiu-runtime next to critic "
			 "and its --critic-check passing are needed too)",
			 lab.crun_usable ? "yes" : "no", lab.crun_note[0] ? ", " : "", lab.crun_note);
	}
	if (lab_image_ref(&lab, "busybox", image, sizeof image) < 0) {
		say("no busybox image in the lab");
		return -1;
	}
	/* The image every container here runs. */
	cri_conn *c = NULL;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = image;
	Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *presp = NULL;
	preq.image = &spec;
	rc = cri_connect(&c, lab.endpoint, NULL, CALL_MS, &e);
	if (rc == 0)
		rc = CRI_CALL_T(c, PullImage, &preq, &presp, CALL_MS, &e);
	cri_free(presp);
	cri_close(c);
	if (rc < 0) {
		say("pull %s: %s", image, e.msg);
		return -1;
	}
	char fdir[PATH_MAX + 8];
	snprintf(fdir, sizeof fdir, "%s/fiu", lab_dir);
	if (util_mkdir_p(fdir, 0755, &e) < 0 || fault_fiu_disable(lab_dir, NULL, &e) < 0 ||
	    fault_fiu_clear_logs(lab_dir, &e) < 0) {
		say("%s", e.msg);
		return -1;
	}
	snprintf(logdir, sizeof logdir, "/tmp/critic-fiu-logs-XXXXXX");
	if (!mkdtemp(logdir))
		logdir[0] = '\0';
	say("fiu lab up in %s (%lld ms), containerd pid %d", lab_dir, (long long)(util_now_ms() - t0),
	    (int)lab.containerd_pid);
	lab_ok = true;
	return 0;
}

static int take_down(void)
{
	int rc = 0;
	if (lab_ok && !lab_down_done) {
		fault_fiu_disable(lab_dir, NULL, NULL);
		cleanup_free char *out = NULL;
		rc = critic_lab("down", &out);
		if (rc != 0)
			say("lab down in %s (%d): %s", lab_dir, rc, out ? out : "");
		lab_down_done = true;
	}
	if (logdir[0]) {
		util_rm_rf(logdir, NULL);
		logdir[0] = '\0';
	}
	return rc;
}

static int suite_cleanup(void)
{
	return take_down() != 0 ? -1 : 0;
}

static bool ready(void)
{
	if (skip_why[0]) {
		say("skipped: %s", skip_why);
		return false;
	}
	if (!lab_ok || lab_down_done) {
		say("skipped: the lab is not up");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ CRI helpers */

typedef struct pod {
	char id[128];
	Runtime__V1__PodSandboxMetadata md;
	Runtime__V1__PodSandboxConfig__LabelsEntry lbl, *lbls[1];
	Runtime__V1__PodSandboxConfig cfg;
} pod;

static int pod_run(cri_conn *c, pod *p, const char *name, crit_err *e)
{
	memset(p, 0, sizeof *p);
	runtime__v1__pod_sandbox_metadata__init(&p->md);
	runtime__v1__pod_sandbox_config__labels_entry__init(&p->lbl);
	runtime__v1__pod_sandbox_config__init(&p->cfg);
	p->md.name = (char *)name;
	p->md.uid = (char *)name;
	p->md.namespace_ = "critic-fiu";
	p->lbl.key = "critic.io/owner";
	p->lbl.value = "critic";
	p->lbls[0] = &p->lbl;
	p->cfg.metadata = &p->md;
	p->cfg.labels = p->lbls;
	p->cfg.n_labels = 1;
	p->cfg.log_directory = logdir;
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *resp = NULL;
	req.config = &p->cfg;
	req.runtime_handler = HANDLER;
	int rc = CRI_CALL_T(c, RunPodSandbox, &req, &resp, CALL_MS, e);
	if (rc == 0)
		snprintf(p->id, sizeof p->id, "%s", resp->pod_sandbox_id);
	cri_free(resp);
	return rc;
}

static void pod_remove(cri_conn *c, pod *p)
{
	if (!p->id[0])
		return;
	crit_err e;
	Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	Runtime__V1__RemovePodSandboxRequest rreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
	sreq.pod_sandbox_id = rreq.pod_sandbox_id = p->id;
	if (CRI_CALL_T(c, StopPodSandbox, &sreq, &sresp, CALL_MS, &e) < 0 ||
	    CRI_CALL_T(c, RemovePodSandbox, &rreq, &rresp, CALL_MS, &e) < 0)
		say("remove pod %.13s: %s", p->id, e.msg);
	cri_free(sresp);
	cri_free(rresp);
	p->id[0] = '\0';
}

static int ctr_create(cri_conn *c, pod *p, const char *name, unsigned attempt, char *id, size_t idlen, crit_err *e)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = image;
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	md.name = (char *)name;
	md.attempt = attempt;
	char *argv[] = { "sleep", "3600" };
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cfg.metadata = &md;
	cfg.image = &spec;
	cfg.command = argv;
	cfg.n_command = 2;
	char logp[128];
	snprintf(logp, sizeof logp, "%s-%u.log", name, attempt);
	cfg.log_path = logp;
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *resp = NULL;
	req.pod_sandbox_id = p->id;
	req.config = &cfg;
	req.sandbox_config = &p->cfg;
	int rc = CRI_CALL_T(c, CreateContainer, &req, &resp, CALL_MS, e);
	if (rc == 0)
		snprintf(id, idlen, "%s", resp->container_id);
	cri_free(resp);
	return rc;
}

static int ctr_start(cri_conn *c, const char *id, crit_err *e)
{
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	Runtime__V1__StartContainerResponse *resp = NULL;
	req.container_id = (char *)id;
	int rc = CRI_CALL_T(c, StartContainer, &req, &resp, CALL_MS, e);
	cri_free(resp);
	return rc;
}

static int ctr_remove(cri_conn *c, const char *id, crit_err *e)
{
	Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	Runtime__V1__RemoveContainerResponse *resp = NULL;
	req.container_id = (char *)id;
	int rc = CRI_CALL_T(c, RemoveContainer, &req, &resp, CALL_MS, e);
	cri_free(resp);
	return rc;
}

/* The container's state in ListContainers (-1 when it is not listed). */
static int ctr_listed_state(cri_conn *c, const char *id)
{
	crit_err e;
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *resp = NULL;
	int state = -1;
	if (CRI_CALL_T(c, ListContainers, &req, &resp, CALL_MS, &e) < 0) {
		say("ListContainers: %s", e.msg);
		return -2;
	}
	for (size_t i = 0; i < resp->n_containers; i++)
		if (!strcmp(resp->containers[i]->id, id))
			state = resp->containers[i]->state;
	cri_free(resp);
	return state;
}

static const char *state_name(int s)
{
	switch (s) {
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED: return "CREATED";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING: return "RUNNING";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED: return "EXITED";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN: return "UNKNOWN";
	case -1: return "not listed";
	}
	return "?";
}

/* The container's cgroup dirs: /sys/fs/cgroup/CONTROLLER/k8s.io/ID (v1)
 * or /sys/fs/cgroup/k8s.io/ID (v2). With sweep, empty ones are removed
 * (rmdir refuses a cgroup that still has processes). Returns how many were
 * found. */
static int cgroup_dirs(const char *id, bool sweep, int *swept)
{
	int n = 0;
	char p[PATH_MAX + 300];
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!strcmp(de->d_name, "k8s.io"))
			snprintf(p, sizeof p, "/sys/fs/cgroup/k8s.io/%s", id);
		else
			snprintf(p, sizeof p, "/sys/fs/cgroup/%.200s/k8s.io/%s", de->d_name, id);
		struct stat st;
		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		n++;
		if (sweep && rmdir(p) == 0 && swept)
			(*swept)++;
	}
	if (d)
		closedir(d);
	return n;
}

/* What a container whose start failed may have left: crun's state entry,
 * the task bundle, mounts, cgroups. Returns how many it found (and says
 * which); with cgroups given, cgroup dirs are counted there instead. */
static int leftovers_ex(const char *id, int *cgroups)
{
	if (!id || strlen(id) < 12)
		return say("no container id to look for"), 1;
	int n = 0;
	char p[PATH_MAX + 300];
	snprintf(p, sizeof p, "%s/crun/k8s.io/%s", lab_dir, id);
	if (util_exists(p)) {
		say("left behind: crun state %s", p);
		n++;
	}
	snprintf(p, sizeof p, "%.3000s/io.containerd.runtime.v2.task/k8s.io/%s", state_dir, id);
	if (util_exists(p)) {
		say("left behind: task bundle %s", p);
		n++;
	}
	cleanup_free char *mi = NULL;
	if (util_read_file("/proc/self/mountinfo", &mi, NULL, NULL) == 0)
		for (char *save = NULL, *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (strstr(l, id)) {
				say("left behind: mount %s", l);
				n++;
			}
	int cg = cgroup_dirs(id, false, NULL);
	if (cg)
		say("left behind: the cgroup of %.13s… in %d hierarchies (/sys/fs/cgroup/*/k8s.io/ID)", id, cg);
	if (cgroups)
		*cgroups = cg;
	else
		n += cg;
	return n;
}

static int leftovers(const char *id)
{
	return leftovers_ex(id, NULL);
}

static bool contains_ci(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* ------------------------------------------------------------ tests */

static void test_handler_plain(void)
{
	if (!ready())
		return;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(fault_fiu_disable(lab_dir, NULL, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_clear_logs(lab_dir, &e), 0);
	cri_conn *c = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, lab.endpoint, NULL, CALL_MS, &e), 0);
	pod p;
	char id[128] = "";
	int rc = pod_run(c, &p, "critic-fiu-plain", &e);
	if (rc == 0)
		rc = ctr_create(c, &p, "plain", 0, id, sizeof id, &e);
	if (rc == 0)
		rc = ctr_start(c, id, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(ctr_listed_state(c, id), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	/* crun ran through the wrapper, and nothing was injected. */
	cleanup_free char *runs = NULL, *inj = NULL;
	CU_ASSERT_EQUAL(fault_fiu_runs(lab_dir, &runs, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_injected(lab_dir, &inj, &e), 0);
	cleanup_free char *create = util_strdup_printf(" create --bundle %s/io.containerd.runtime.v2.task/k8s.io/%s ",
						       state_dir, id);
	cleanup_free char *start = util_strdup_printf(" start %s\n", id);
	CU_ASSERT(runs && strstr(runs, create) && strstr(runs, start));
	CU_ASSERT(inj && !*inj);
	pod_remove(c, &p);
	CU_ASSERT_EQUAL(leftovers(id), 0);
	cri_close(c);
}

/* One fault, one container that must fail to start with the given text in
 * the error, nothing left after it; then the fault off and a new attempt
 * of the same container runs. A second container in the pod, started
 * while the fault is on, shows whether the fault was aimed (want_other_ok). */
enum aim { AIM_ALL, AIM_BUNDLE, AIM_CRUN_STATE, AIM_DEVICES_CGROUP };

/* cgroups_may_leak: crun is known to leave the container's cgroups behind
 * after this fault; they are reported as a finding and removed here. */
static void fault_start_retry(const fault_fiu_fault *f_in, enum aim aim, const char *want_in_error,
			      const char *want_injected, bool want_other_ok, bool cgroups_may_leak)
{
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(fault_fiu_disable(lab_dir, NULL, &e), 0);
	CU_ASSERT_EQUAL(fault_fiu_clear_logs(lab_dir, &e), 0);
	cri_conn *c = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, lab.endpoint, NULL, CALL_MS, &e), 0);
	pid_t cd_before = lab.containerd_pid;
	pod p;
	char id[128] = "", other[128] = "", retry[128] = "";
	char pname[64];
	snprintf(pname, sizeof pname, "critic-fiu-%s", strrchr(f_in->point, '/') + 1);
	int rc = pod_run(c, &p, pname, &e);
	if (rc == 0)
		rc = ctr_create(c, &p, "victim", 0, id, sizeof id, &e);
	if (rc < 0) {
		say("%s", e.msg);
		CU_FAIL("pod or container not created");
		pod_remove(c, &p);
		cri_close(c);
		return;
	}
	fault_fiu_fault f = *f_in;
	char target[PATH_MAX + 300];
	if (aim == AIM_BUNDLE)
		snprintf(target, sizeof target, "%.3000s/io.containerd.runtime.v2.task/k8s.io/%s/", state_dir, id);
	else if (aim == AIM_DEVICES_CGROUP)
		snprintf(target, sizeof target, "/sys/fs/cgroup/devices/k8s.io/%s/devices.", id);
	else
		snprintf(target, sizeof target, "%.3000s/crun/k8s.io/%s", lab_dir, id);
	if (aim != AIM_ALL)
		f.path_prefix = target;
	CU_ASSERT_EQUAL_FATAL(fault_fiu_enable(lab_dir, &f, &e), 0);

	int64_t t0 = util_now_ms();
	crit_err se;
	err_clear(&se);
	rc = ctr_start(c, id, &se);
	int64_t took = util_now_ms() - t0;
	say("StartContainer with %s failing: %s after %lld ms: %.400s", f.point, rc < 0 ? "error" : "OK",
	    (long long)took, rc < 0 ? se.msg : "");
	CU_ASSERT(rc < 0);
	CU_ASSERT(contains_ci(se.msg, want_in_error));
	/* What an operator learns from the error: is the cause named? */
	say("the error %s the injected errno (%s)", contains_ci(se.msg, strerror(f.err)) ? "names" : "does NOT name",
	    strerror(f.err));
	cleanup_free char *inj = NULL;
	CU_ASSERT_EQUAL(fault_fiu_injected(lab_dir, &inj, &e), 0);
	CU_ASSERT(inj && strstr(inj, want_injected));
	if (inj && !strstr(inj, want_injected))
		say("injected: %s", inj);
	int st = ctr_listed_state(c, id);
	say("the container is now %s", state_name(st));
	CU_ASSERT(st != RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	int cgroups = 0;
	CU_ASSERT_EQUAL(leftovers_ex(id, &cgroups), 0);
	if (!cgroups_may_leak)
		CU_ASSERT_EQUAL(cgroups, 0);

	/* Another container of the pod while the fault is still on. */
	rc = ctr_create(c, &p, "bystander", 0, other, sizeof other, &e);
	if (rc == 0)
		rc = ctr_start(c, other, &e);
	if (want_other_ok) {
		if (rc < 0)
			say("bystander: %s", e.msg);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(ctr_listed_state(c, other), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	} else {
		CU_ASSERT(rc < 0);
	}

	/* Fault off: the kubelet's next attempt (remove, create, start) runs,
	 * with the same containerd: no restart was needed. */
	CU_ASSERT_EQUAL(fault_fiu_disable(lab_dir, f.point, &e), 0);
	CU_ASSERT_EQUAL(ctr_remove(c, id, &e), 0);
	CU_ASSERT_EQUAL(ctr_listed_state(c, id), -1);
	if (cgroups_may_leak && (cgroups = cgroup_dirs(id, false, NULL)) > 0) {
		int swept = 0;
		say("FINDING: the failed container's cgroup is still there in %d hierarchies after RemoveContainer "
		    "(/sys/fs/cgroup/*/k8s.io/%.13s…): neither crun nor containerd removes it; the test does",
		    cgroups, id);
		cgroup_dirs(id, true, &swept);
		CU_ASSERT_EQUAL(swept, cgroups);
		CU_ASSERT_EQUAL(cgroup_dirs(id, false, NULL), 0);
	}
	rc = ctr_create(c, &p, "victim", 1, retry, sizeof retry, &e);
	if (rc == 0)
		rc = ctr_start(c, retry, &e);
	if (rc < 0)
		say("retry: %s", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(ctr_listed_state(c, retry), RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	lab_info now;
	CU_ASSERT_EQUAL(lab_status(lab_dir, &now, &e), 1);
	CU_ASSERT_EQUAL(now.containerd_pid, cd_before);

	pod_remove(c, &p);
	CU_ASSERT_EQUAL(leftovers(retry), 0);
	if (other[0])
		CU_ASSERT_EQUAL(leftovers(other), 0);
	cri_close(c);
}

static void test_openat_bundle(void)
{
	if (!ready())
		return;
	/* Aimed at this container's bundle: crun cannot read its config.json. */
	fault_fiu_fault f = { .point = "critic/posix/openat", .err = EIO };
	fault_start_retry(&f, AIM_BUNDLE, "input/output error", "critic/posix/openat errno=5 path=", true, false);
}

static void test_clone(void)
{
	if (!ready())
		return;
	/* crun cannot make the container's process; its own start (which
	 * clones nothing) is untouched. Every crun-fiu start fails meanwhile. */
	fault_fiu_fault f = { .point = "critic/posix/clone", .err = EAGAIN };
	fault_start_retry(&f, AIM_ALL, "clone", "critic/posix/clone errno=11", false, false);
}

static void test_mkdir_state(void)
{
	if (!ready())
		return;
	/* Aimed at crun's own state entry for this container (crun makes it
	 * with mkdir, not mkdirat): a full disk where crun records it. */
	fault_fiu_fault f = { .point = "critic/posix/mkdir", .err = ENOSPC };
	fault_start_retry(&f, AIM_CRUN_STATE, "cannot create state directory", "critic/posix/mkdir errno=28 path=",
			  true, false);
}

static void test_devices_cgroup(void)
{
	if (!ready())
		return;
	if (!util_exists("/sys/fs/cgroup/devices/cgroup.procs")) {
		say("skipped: no cgroup v1 devices hierarchy at /sys/fs/cgroup/devices (crun writes no devices.* files)");
		return;
	}
	/* Half-way through: crun made the container's cgroups and fails to
	 * write its device rules. */
	fault_fiu_fault f = { .point = "critic/posix/openat", .err = EIO };
	fault_start_retry(&f, AIM_DEVICES_CGROUP, "devices.", "/devices.deny", true, true);
}

static void test_lab_down(void)
{
	if (!ready())
		return;
	CU_ASSERT_EQUAL(take_down(), 0);
	CU_ASSERT_EQUAL(tests_lab_processes(lab_dir), 0);
	CU_ASSERT_EQUAL(tests_lab_mounts(lab_dir), 0);
	/* Nothing left in crun's root either. */
	char root[PATH_MAX + 16];
	snprintf(root, sizeof root, "%s/crun/k8s.io", lab_dir);
	DIR *d = opendir(root);
	int entries = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			say("left in %s: %s", root, de->d_name);
			entries++;
		}
	if (d)
		closedir(d);
	CU_ASSERT_EQUAL(entries, 0);
}

void tests_register_fiu_lab(void)
{
	CU_pSuite s = CU_add_suite("integration/fiu", suite_init, suite_cleanup);
	CU_add_test(s, HANDLER ": containers run through critic-fiu-runtime with no fault", test_handler_plain);
	CU_add_test(s, HANDLER ": openat EIO on one bundle: start fails, nothing left, retry runs", test_openat_bundle);
	CU_add_test(s, HANDLER ": clone EAGAIN: start fails, nothing left, retry runs", test_clone);
	CU_add_test(s, HANDLER ": mkdir ENOSPC on crun's state: start fails, nothing left, retry runs",
		    test_mkdir_state);
	CU_add_test(s, HANDLER ": openat EIO on devices.deny: start fails, cgroups reported, retry runs",
		    test_devices_cgroup);
	CU_add_test(s, "lab down: no process, mount or crun state left", test_lab_down);
}

