/* Integration: file system faults under a real containerd whose root and state sit on the lab's
 * loop-mounted ext4: read-only after a disk error, repair, freeze, full disk; and what it does. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri.h"
#include "fault/fs.h"
#include "fault/process.h"
#include "lab.h"
#include "rtctl.h"
#include "tests.h"
#include "util.h"

#define GRPC_DEADLINE_EXCEEDED 4
#define LOOPFS_SIZE "1G"
#define LABEL_KEY "critic.io/test"
#define LABEL_VALUE "fault-fs"

static char lab_dir[PATH_MAX];
static char critic_exe[PATH_MAX];
static lab_info lab;
static rtctl *rt;
static bool lab_ok, lab_is_down;

/* The pod and container running when the fs turned read-only. */
static char ro_pod[128], ro_ctr[128], ro_log[PATH_MAX];
static pid_t ro_pid;

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

static void lab_line(const char *line)
{
	say("%s", line);
}

static void say_result(const fault_fs_result *r)
{
	char line[4096];
	fault_fs_describe(r, line, sizeof line);
	say("%s", line);
}

static void say_facts(const char *when)
{
	fault_fs_facts f;
	crit_err e;
	char line[2048];
	cleanup_free char *mnt = util_strdup_printf("%s/" LAB_LOOPFS_MOUNT, lab_dir);
	if (fault_fs_state(mnt, &f, &e) < 0) {
		say("%s: %s", when, e.msg);
		return;
	}
	fault_fs_facts_describe(&f, line, sizeof line);
	say("%s: %s", when, line);
}

static bool facts(fault_fs_facts *f)
{
	crit_err e;
	cleanup_free char *mnt = util_strdup_printf("%s/" LAB_LOOPFS_MOUNT, lab_dir);
	return fault_fs_state(mnt, f, &e) == 0;
}

/* Case-insensitive substring. */
static bool has_text(const char *s, const char *sub)
{
	return s && strcasestr(s, sub) != NULL;
}

/* `critic --dir DIR lab up` with the loop-fs option, in a fresh process:
 * this one uses gRPC, so lab_up (which forks CRI helpers) must not run here.
 * The option goes by its environment variable, which `lab up --loop-fs`
 * sets the same way. */
static int lab_up_loopfs(crit_err *e)
{
	char *argv[] = { critic_exe, "--no-color", "--dir", lab_dir, "lab", "up", NULL };
	setenv("CRITIC_LAB_LOOPFS", LOOPFS_SIZE, 1);
	cleanup_free char *out = NULL;
	int rc = util_run(argv, RTCTL_LAB_START_TIMEOUT_MS, &out, e);
	unsetenv("CRITIC_LAB_LOOPFS");
	if (rc != 0) {
		say("lab up in %s (exit %d): %s", lab_dir, rc, out ? out : e->msg);
		return rc < 0 ? rc : -EIO;
	}
	return 0;
}

static cri_conn *conn_new(void)
{
	cri_conn *c = NULL;
	crit_err e;
	if (cri_connect(&c, lab.endpoint, NULL, 10000, &e) < 0)
		say("connect: %s", e.msg);
	return c;
}

/* A call's outcome and time, for findings. */
typedef struct outcome {
	int rc;
	int grpc_status;
	int64_t ms;
	char msg[600];
} outcome;

static outcome version_call(int timeout_ms)
{
	outcome o = { 0 };
	crit_err e;
	err_clear(&e);
	cri_conn *c = conn_new();
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *resp = NULL;
	int64_t t0 = util_now_ms();
	o.rc = c ? CRI_CALL_T(c, Version, &req, &resp, timeout_ms, &e) : -ERR_UNREACHABLE;
	o.ms = util_now_ms() - t0;
	o.grpc_status = e.grpc_status;
	snprintf(o.msg, sizeof o.msg, "%.590s", o.rc == 0 ? resp->runtime_version : e.msg);
	cri_free(resp);
	cri_close(c);
	return o;
}

/* Status: msg holds the conditions ("RuntimeReady=true NetworkReady=true"). */
static outcome status_call(int timeout_ms)
{
	outcome o = { 0 };
	crit_err e;
	err_clear(&e);
	cri_conn *c = conn_new();
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *resp = NULL;
	int64_t t0 = util_now_ms();
	o.rc = c ? CRI_CALL_T(c, Status, &req, &resp, timeout_ms, &e) : -ERR_UNREACHABLE;
	o.ms = util_now_ms() - t0;
	o.grpc_status = e.grpc_status;
	if (o.rc == 0 && resp->status) {
		size_t l = 0;
		for (size_t i = 0; i < resp->status->n_conditions && l < sizeof o.msg; i++) {
			Runtime__V1__RuntimeCondition *cd = resp->status->conditions[i];
			l += (size_t)snprintf(o.msg + l, sizeof o.msg - l, "%s%s=%s%s%s", i ? " " : "", cd->type,
					      cd->status ? "true" : "false", cd->reason && *cd->reason ? "/" : "",
					      cd->reason ? cd->reason : "");
		}
	} else if (o.rc < 0) {
		snprintf(o.msg, sizeof o.msg, "%.590s", e.msg);
	}
	cri_free(resp);
	cri_close(c);
	return o;
}

static const char *answer_word(const outcome *o)
{
	return o->rc == 0 ? "answers" : "fails";
}

/* A pod config with the suite's label and a log directory on the loop fs. */
typedef struct pod_cfg {
	Runtime__V1__PodSandboxConfig cfg;
	Runtime__V1__PodSandboxMetadata md;
	Runtime__V1__PodSandboxConfig__LabelsEntry lbl;
	Runtime__V1__PodSandboxConfig__LabelsEntry *lbls[1];
	char name[64], uid[96], logdir[PATH_MAX];
} pod_cfg;

static void pod_cfg_init(pod_cfg *p, const char *name)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->uid, sizeof p->uid, "%s-%d-%lld", name, (int)getpid(), (long long)util_now_ms());
	snprintf(p->logdir, sizeof p->logdir, "%.3000s/" LAB_LOOPFS_MOUNT "/logs/%.60s", lab_dir, name);
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry lbl = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	p->cfg = cfg;
	p->md = md;
	p->lbl = lbl;
	p->md.name = p->name;
	p->md.uid = p->uid;
	p->md.namespace_ = "critic";
	p->lbl.key = LABEL_KEY;
	p->lbl.value = LABEL_VALUE;
	p->lbls[0] = &p->lbl;
	p->cfg.metadata = &p->md;
	p->cfg.log_directory = p->logdir;
	p->cfg.labels = p->lbls;
	p->cfg.n_labels = 1;
}

static outcome run_pod(pod_cfg *p, int timeout_ms, char *id, size_t idlen)
{
	outcome o = { 0 };
	crit_err e;
	err_clear(&e);
	id[0] = '\0';
	cri_conn *c = conn_new();
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *resp = NULL;
	req.config = &p->cfg;
	int64_t t0 = util_now_ms();
	o.rc = c ? CRI_CALL_T(c, RunPodSandbox, &req, &resp, timeout_ms, &e) : -ERR_UNREACHABLE;
	o.ms = util_now_ms() - t0;
	o.grpc_status = e.grpc_status;
	if (o.rc == 0)
		snprintf(id, idlen, "%s", resp->pod_sandbox_id);
	else
		snprintf(o.msg, sizeof o.msg, "%.590s", e.msg);
	cri_free(resp);
	cri_close(c);
	return o;
}

/* Create and start a container; its id, or "" (the error said). */
static bool run_container(pod_cfg *p, const char *pod_id, const char *name, char *const *cmd, size_t ncmd,
			  char *id, size_t idlen)
{
	crit_err e;
	err_clear(&e);
	id[0] = '\0';
	char ref[256];
	if (lab_image_ref(&lab, "busybox", ref, sizeof ref) < 0)
		return false;
	cri_conn *c = conn_new();
	if (!c)
		return false;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = ref;
	Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *presp = NULL;
	preq.image = &spec;
	int rc = CRI_CALL_T(c, PullImage, &preq, &presp, 60000, &e);
	cri_free(presp);
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	md.name = (char *)name;
	char log_path[96];
	snprintf(log_path, sizeof log_path, "%s.log", name);
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cfg.metadata = &md;
	cfg.image = &spec;
	cfg.command = (char **)cmd;
	cfg.n_command = ncmd;
	cfg.log_path = log_path;
	Runtime__V1__CreateContainerRequest creq = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *cresp = NULL;
	creq.pod_sandbox_id = (char *)pod_id;
	creq.config = &cfg;
	creq.sandbox_config = &p->cfg;
	if (rc == 0 && (rc = CRI_CALL_T(c, CreateContainer, &creq, &cresp, 30000, &e)) == 0)
		snprintf(id, idlen, "%s", cresp->container_id);
	cri_free(cresp);
	Runtime__V1__StartContainerRequest sreq = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	Runtime__V1__StartContainerResponse *sresp = NULL;
	sreq.container_id = id;
	if (rc == 0)
		rc = CRI_CALL_T(c, StartContainer, &sreq, &sresp, 30000, &e);
	cri_free(sresp);
	cri_close(c);
	if (rc < 0)
		say("container %s: %s", name, e.msg);
	return rc == 0;
}

/* State and pid of a container (ContainerStatus verbose info). */
static pid_t container_pid(const char *id, int *state)
{
	*state = -1;
	crit_err e;
	cri_conn *c = conn_new();
	if (!c)
		return 0;
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	Runtime__V1__ContainerStatusResponse *resp = NULL;
	req.container_id = (char *)id;
	req.verbose = true;
	pid_t pid = 0;
	if (CRI_CALL_T(c, ContainerStatus, &req, &resp, 10000, &e) == 0) {
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
	} else {
		say("ContainerStatus %.12s: %s", id, e.msg);
	}
	cri_free(resp);
	cri_close(c);
	return pid;
}

/* The container's pid when it still runs after ms; else 0 and why
 * (exit code, reason and the end of its log). */
static pid_t container_alive_after(const char *id, const pod_cfg *p, int ms, char *why, size_t len)
{
	util_sleep_ms(ms);
	int state = -1;
	pid_t pid = container_pid(id, &state);
	if (state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING && pid > 0 && util_pid_alive(pid))
		return pid;
	crit_err e;
	snprintf(why, len, "state %d", state);
	cri_conn *c = conn_new();
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	Runtime__V1__ContainerStatusResponse *resp = NULL;
	req.container_id = (char *)id;
	if (c && CRI_CALL_T(c, ContainerStatus, &req, &resp, 10000, &e) == 0 && resp->status) {
		cleanup_free char *lp = util_strdup_printf("%s/%s", p->logdir, resp->status->log_path);
		cleanup_free char *log = NULL;
		if (resp->status->log_path[0] == '/')
			util_read_file(resp->status->log_path, &log, NULL, NULL);
		else
			util_read_file(lp, &log, NULL, NULL);
		if (log)
			log[strcspn(log, "\n")] = '\0';
		snprintf(why, len, "exited %d (%.40s); log: %.400s", resp->status->exit_code, resp->status->reason,
			 log ? log : "(none)");
	}
	cri_free(resp);
	cri_close(c);
	return 0;
}

/* Stop and remove every pod of this suite; how many were left. */
static int remove_our_pods(void)
{
	crit_err e;
	cri_conn *c = conn_new();
	if (!c)
		return -1;
	Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *list = NULL;
	int left = 0;
	if (CRI_CALL_T(c, ListPodSandbox, &lreq, &list, 10000, &e) < 0) {
		say("ListPodSandbox: %s", e.msg);
		cri_close(c);
		return -1;
	}
	for (size_t i = 0; i < list->n_items; i++) {
		Runtime__V1__PodSandbox *pod = list->items[i];
		bool ours = false;
		for (size_t j = 0; j < pod->n_labels; j++)
			if (!strcmp(pod->labels[j]->key, LABEL_KEY) && !strcmp(pod->labels[j]->value, LABEL_VALUE))
				ours = true;
		if (!ours)
			continue;
		Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__StopPodSandboxResponse *sresp = NULL;
		Runtime__V1__RemovePodSandboxRequest rreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
		sreq.pod_sandbox_id = rreq.pod_sandbox_id = pod->id;
		if (CRI_CALL_T(c, StopPodSandbox, &sreq, &sresp, 30000, &e) < 0 ||
		    CRI_CALL_T(c, RemovePodSandbox, &rreq, &rresp, 30000, &e) < 0) {
			say("remove pod %.12s: %s", pod->id, e.msg);
			left++;
		}
		cri_free(sresp);
		cri_free(rresp);
	}
	cri_free(list);
	cri_close(c);
	return left;
}

/* Pods of this suite named name, and the state of the first one (-1 none). */
static int pods_named(const char *name, int *state)
{
	crit_err e;
	*state = -1;
	cri_conn *c = conn_new();
	if (!c)
		return -1;
	Runtime__V1__ListPodSandboxRequest lreq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *list = NULL;
	int n = 0;
	if (CRI_CALL_T(c, ListPodSandbox, &lreq, &list, 5000, &e) == 0) {
		for (size_t i = 0; i < list->n_items; i++)
			if (list->items[i]->metadata && !strcmp(list->items[i]->metadata->name, name)) {
				if (!n++)
					*state = list->items[i]->state;
			}
	} else {
		n = -1;
	}
	cri_free(list);
	cri_close(c);
	return n;
}

/* Is ref among the runtime's images (by tag)? -1 when the call failed. */
static int image_listed(const char *ref)
{
	crit_err e;
	cri_conn *c = conn_new();
	if (!c)
		return -1;
	Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	Runtime__V1__ListImagesResponse *resp = NULL;
	int found = 0;
	if (CRI_CALL_T(c, ListImages, &req, &resp, 10000, &e) == 0) {
		for (size_t i = 0; i < resp->n_images; i++)
			for (size_t j = 0; j < resp->images[i]->n_repo_tags; j++)
				if (!strcmp(resp->images[i]->repo_tags[j], ref))
					found = 1;
	} else {
		say("ListImages: %s", e.msg);
		found = -1;
	}
	cri_free(resp);
	cri_close(c);
	return found;
}

static outcome pull_image(const char *ref, int timeout_ms)
{
	outcome o = { 0 };
	crit_err e;
	err_clear(&e);
	cri_conn *c = conn_new();
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)ref;
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *resp = NULL;
	req.image = &spec;
	int64_t t0 = util_now_ms();
	o.rc = c ? CRI_CALL_T(c, PullImage, &req, &resp, timeout_ms, &e) : -ERR_UNREACHABLE;
	o.ms = util_now_ms() - t0;
	o.grpc_status = e.grpc_status;
	snprintf(o.msg, sizeof o.msg, "%.590s", o.rc == 0 ? resp->image_ref : e.msg);
	cri_free(resp);
	cri_close(c);
	return o;
}

static void remove_image(const char *ref)
{
	crit_err e;
	cri_conn *c = conn_new();
	if (!c)
		return;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)ref;
	Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__RemoveImageResponse *resp = NULL;
	req.image = &spec;
	if (CRI_CALL_T(c, RemoveImage, &req, &resp, 30000, &e) < 0)
		say("RemoveImage %s: %s", ref, e.msg);
	cri_free(resp);
	cri_close(c);
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Each test starts from a runtime that answers on a healthy fs, whatever
 * the one before left: thawed, fill files gone, repaired when read-only. */
static bool ensure_ready(void)
{
	if (!lab_ok || lab_is_down)
		return false;
	crit_err e;
	err_clear(&e);
	fault_fs_result r;
	fault_fs_thaw(lab_dir, &r, NULL);
	lab_loopfs p;
	if (lab_loopfs_probe(lab_dir, &p, &e) < 0)
		return false;
	if (p.mounted && p.readonly) {
		say("the loop fs is read-only from an earlier test: repairing");
		if (rtctl_stop(rt, &e) < 0 || fault_fs_repair(lab_dir, rt, NULL, &r, &e) < 0) {
			say("repair: %s", e.msg);
			return false;
		}
	} else if (p.mounted) {
		fault_fs_free(lab_dir, &r, NULL);
	}
	fault_proc_result pr = { .what = "the previous test" };
	fault_proc_opts quick = { .ready_timeout_ms = 1, .status_ms = 3000 };
	if (fault_proc_wait_ready(lab.endpoint, &quick, &pr, &e) == 0)
		return true;
	fault_proc_opts slow = { .ready_timeout_ms = 30000 };
	memset(&pr, 0, sizeof pr);
	if (rtctl_stop(rt, &e) < 0 || rtctl_start(rt, &e) < 0 ||
	    fault_proc_wait_ready(lab.endpoint, &slow, &pr, &e) < 0) {
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
	tests_sibling_lab_dir("fs", lab_dir, sizeof lab_dir);
	if (geteuid() != 0) {
		say("skipped: file system faults need root (losetup, mount)");
		return -1;
	}
	lab_set_logger(lab_line);
	if (tests_beside("critic", critic_exe, sizeof critic_exe) < 0)
		return -1;
	if (access(critic_exe, X_OK) < 0) {
		say("skipped: no critic program next to the tests (%s) to bring the lab up with", critic_exe);
		return -1;
	}
	/* Start from a fresh file system: a run that stopped half-way may have
	 * left the old one read-only or full. */
	if (util_exists(lab_dir)) {
		char *down[] = { critic_exe, "--no-color", "--dir", lab_dir, "lab", "down", NULL };
		util_run(down, RTCTL_LAB_START_TIMEOUT_MS, NULL, NULL);
		lab_loopfs p;
		if (lab_loopfs_probe(lab_dir, &p, NULL) == 0 && !p.mounted && !p.dev[0])
			unlink(p.image);
	}
	int64_t t0 = util_now_ms();
	if (lab_up_loopfs(&e) < 0)
		return -1;
	if (rtctl_from_lab(&rt, lab_dir, &e) < 0 || lab_status(lab_dir, &lab, &e) != 1) {
		say("lab in %s: %s", lab_dir, e.msg);
		return -1;
	}
	char storage[2048];
	lab_describe_storage(&lab, storage, sizeof storage);
	say("fs lab up in %s (%lld ms): containerd pid %d; %s", lab.dir, (long long)(util_now_ms() - t0),
	    (int)lab.containerd_pid, storage);
	lab_ok = true;
	return 0;
}

static int take_down(void)
{
	crit_err e;
	err_clear(&e);
	int rc = 0;
	if (rt && lab_ok && !lab_is_down) {
		fault_fs_result r;
		fault_fs_thaw(lab_dir, &r, NULL);
		if (rtctl_pid(rt, NULL) > 0)
			remove_our_pods();
		if ((rc = rtctl_lab_down(rt, &e)) < 0)
			say("lab down in %s: %s", lab_dir, e.msg);
		lab_is_down = true;
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

/* ------------------------------------------------------------ tests */

static void test_loopfs_up(void)
{
	CU_ASSERT_FATAL(ensure_ready());
	crit_err e;
	err_clear(&e);
	cleanup_free char *img = util_strdup_printf("%s/" LAB_LOOPFS_IMAGE, lab_dir);
	cleanup_free char *mnt = util_strdup_printf("%s/" LAB_LOOPFS_MOUNT, lab_dir);
	cleanup_free char *root = util_strdup_printf("%s/root", mnt);
	cleanup_free char *state = util_strdup_printf("%s/state", mnt);
	CU_ASSERT(lab.loopfs);
	CU_ASSERT(lab.loopfs_mounted);
	CU_ASSERT(!lab.loopfs_readonly);
	CU_ASSERT_EQUAL(lab.loopfs_bytes, 1ULL << 30);
	CU_ASSERT(util_has_prefix(lab.loopfs_dev, "/dev/loop"));
	CU_ASSERT(strstr(lab.loopfs_opts, "errors=remount-ro") != NULL);
	CU_ASSERT_STRING_EQUAL(lab.root, root);
	CU_ASSERT_STRING_EQUAL(lab.state, state);

	/* containerd is configured with them. */
	cleanup_free char *toml = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file(lab.config, &toml, NULL, NULL), 0);
	cleanup_free char *want_root = util_strdup_printf("root = \"%s\"\n", root);
	cleanup_free char *want_state = util_strdup_printf("state = \"%s\"\n", state);
	CU_ASSERT(strstr(toml, want_root) != NULL);
	CU_ASSERT(strstr(toml, want_state) != NULL);

	/* Checked by hand: mountinfo, the loop device's backing file, losetup. */
	cleanup_free char *mi = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file("/proc/self/mountinfo", &mi, NULL, NULL), 0);
	bool seen = false;
	for (char *save = NULL, *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char mp[PATH_MAX], fstype[32], src[64];
		const char *sep = strstr(l, " - ");
		if (sscanf(l, "%*s %*s %*s %*s %4095s", mp) == 1 && !strcmp(mp, mnt) && sep &&
		    sscanf(sep + 3, "%31s %63s", fstype, src) == 2) {
			seen = true;
			CU_ASSERT_STRING_EQUAL(fstype, "ext4");
			CU_ASSERT_STRING_EQUAL(src, lab.loopfs_dev);
		}
	}
	CU_ASSERT(seen);
	cleanup_free char *bf = util_strdup_printf("/sys/block/%s/loop/backing_file", lab.loopfs_dev + 5);
	cleanup_free char *backing = NULL;
	CU_ASSERT_EQUAL(util_read_file(bf, &backing, NULL, NULL), 0);
	CU_ASSERT(backing && util_has_prefix(backing, img) && backing[strlen(img)] == '\n');
	char *los[] = { "losetup", "-j", img, NULL };
	cleanup_free char *lout = NULL;
	CU_ASSERT_EQUAL(util_run(los, 10000, &lout, &e), 0);
	CU_ASSERT(lout && strstr(lout, lab.loopfs_dev) != NULL);
	/* A sparse image: far fewer blocks than its size. */
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(img, &st), 0);
	say("image %s: %lld bytes, %lld allocated", img, (long long)st.st_size, (long long)st.st_blocks * 512);
	CU_ASSERT((long long)st.st_blocks * 512 < st.st_size / 4);

	char desc[2048];
	lab_describe_storage(&lab, desc, sizeof desc);
	CU_ASSERT(strstr(desc, "loop fs") && strstr(desc, lab.loopfs_dev));
	fault_fs_facts f;
	CU_ASSERT_EQUAL_FATAL(fault_fs_state(root, &f, &e), 0);
	CU_ASSERT(f.critic);
	CU_ASSERT_STRING_EQUAL(f.mount, mnt);
	CU_ASSERT_STRING_EQUAL(f.lab_dir, lab.dir);
	CU_ASSERT(!f.readonly && !f.frozen && !f.full);
	CU_ASSERT_EQUAL(f.size_bytes > (900ULL << 20), true);
	say_facts("loop fs");

	/* A plain `lab up` (what rtctl_start runs) keeps the storage and the
	 * running containerd. */
	pid_t pid = lab.containerd_pid;
	CU_ASSERT_EQUAL(rtctl_start(rt, &e), 0);
	lab_status(lab_dir, &lab, NULL);
	CU_ASSERT_EQUAL(lab.containerd_pid, pid);
	CU_ASSERT(lab.loopfs && lab.loopfs_mounted);
	outcome v = version_call(5000);
	CU_ASSERT_EQUAL(v.rc, 0);
}

/* Make a fake lab dir whose fs is not critic's loop fs. */
static void expect_refused(const char *dir, int code, const char *why)
{
	crit_err e;
	fault_fs_result r;
	fault_fs_opts o = { .ro_timeout_ms = 500 };
	err_clear(&e);
	int rc = fault_fs_make_readonly(dir, &o, &r, &e);
	CU_ASSERT_EQUAL(rc, code);
	CU_ASSERT(strstr(e.msg, why) != NULL);
	say("read-only fault refused: %s", e.msg);
	CU_ASSERT_EQUAL(fault_fs_freeze(dir, &r, &e), code);
	CU_ASSERT_EQUAL(fault_fs_fill(dir, &o, &r, &e), code);
	CU_ASSERT_EQUAL(fault_fs_free(dir, &r, &e), code);
	CU_ASSERT_EQUAL(fault_fs_repair(dir, NULL, &o, &r, &e), code);
	CU_ASSERT(strstr(e.msg, why) != NULL);
}

static bool mounted_rw(const char *mp)
{
	fault_fs_facts f;
	crit_err e;
	return fault_fs_state(mp, &f, &e) == 0 && !strcmp(f.mount, mp) && !f.readonly;
}

static void test_refusals(void)
{
	crit_err e;
	err_clear(&e);
	/* Option values. */
	lab_options o;
	CU_ASSERT_EQUAL(lab_parse_loopfs("", &o, &e), 0);
	CU_ASSERT(o.storage == LAB_STORAGE_LOOPFS && o.loopfs_bytes == 0);
	CU_ASSERT_EQUAL(lab_parse_loopfs("2G", &o, &e), 0);
	CU_ASSERT_EQUAL(o.loopfs_bytes, 2ULL << 30);
	CU_ASSERT_EQUAL(lab_parse_loopfs("512MiB", &o, &e), 0);
	CU_ASSERT_EQUAL(o.loopfs_bytes, 512ULL << 20);
	CU_ASSERT_EQUAL(lab_parse_loopfs("1g", &o, &e), 0);
	CU_ASSERT_EQUAL(o.loopfs_bytes, 1ULL << 30);
	CU_ASSERT_EQUAL(lab_parse_loopfs("off", &o, &e), 0);
	CU_ASSERT(o.storage == LAB_STORAGE_DIRS);
	CU_ASSERT_EQUAL(lab_parse_loopfs("0", &o, &e), 0);
	CU_ASSERT(o.storage == LAB_STORAGE_DIRS);
	CU_ASSERT_EQUAL(lab_parse_loopfs("10M", &o, &e), -ERANGE);
	CU_ASSERT_EQUAL(lab_parse_loopfs("2T", &o, &e), -ERANGE);
	CU_ASSERT_EQUAL(lab_parse_loopfs("2X", &o, &e), -EINVAL);
	CU_ASSERT_EQUAL(lab_parse_loopfs("-1G", &o, &e), -EINVAL);
	CU_ASSERT_EQUAL(lab_parse_loopfs("lots", &o, &e), -EINVAL);

	fault_fs_facts f;
	CU_ASSERT_EQUAL(fault_fs_state("/", &f, &e), 0);
	CU_ASSERT(!f.critic && f.fstype[0] && !strcmp(f.mount, "/"));

	if (geteuid() != 0) {
		say("skipped the fake labs: mounting needs root");
		return;
	}
	char tmp[] = "/tmp/critic-fsfake-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(tmp) != NULL);
	cleanup_free char *nolab = util_strdup_printf("%s/nolab", tmp);
	cleanup_free char *fake = util_strdup_printf("%s/lab", tmp);
	cleanup_free char *state = util_strdup_printf("%s/lab.state", fake);
	cleanup_free char *img = util_strdup_printf("%s/" LAB_LOOPFS_IMAGE, fake);
	cleanup_free char *mnt = util_strdup_printf("%s/" LAB_LOOPFS_MOUNT, fake);
	cleanup_free char *other = util_strdup_printf("%s/other.img", tmp);
	cleanup_free char *keep = util_strdup_printf("%s/keep", mnt);
	util_mkdir_p(nolab, 0755, NULL);
	util_mkdir_p(mnt, 0755, NULL);
	util_write_file(state, "# fake\n", 7, 0644, NULL);

	/* Not a lab at all; a lab without a loop fs. */
	expect_refused(nolab, -ENOENT, "not a critic lab");
	expect_refused(fake, -ENOENT, "loop-fs");

	/* A tmpfs at DIR/fs, with a disk.img beside it. */
	util_write_file(img, "", 0, 0644, NULL);
	CU_ASSERT_FATAL(mount("critic-fake", mnt, "tmpfs", 0, "size=1m") == 0);
	util_write_file(keep, "mine\n", 5, 0644, NULL);
	expect_refused(fake, -EPERM, "not critic's image");
	CU_ASSERT(mounted_rw(mnt));
	CU_ASSERT(util_exists(keep));
	umount2(mnt, 0);

	/* An ext4 on a loop device whose backing file is not DIR/disk.img. */
	char *trunc[] = { "truncate", "-s", "64M", other, NULL };
	char *mkfs[] = { "mkfs.ext4", "-q", "-F", other, NULL };
	cleanup_free char *dev = NULL;
	char *los[] = { "losetup", "--find", "--show", other, NULL };
	if (util_run(trunc, 10000, NULL, &e) == 0 && util_run(mkfs, 60000, NULL, &e) == 0 &&
	    util_run(los, 10000, &dev, &e) == 0 && dev) {
		dev[strcspn(dev, "\n")] = '\0';
		CU_ASSERT_FATAL(mount(dev, mnt, "ext4", 0, "errors=remount-ro") == 0);
		util_write_file(keep, "mine\n", 5, 0644, NULL);
		expect_refused(fake, -EPERM, "not critic's image");
		CU_ASSERT(mounted_rw(mnt));
		CU_ASSERT(util_exists(keep));
		fault_fs_result r;
		CU_ASSERT_EQUAL(fault_fs_thaw(fake, &r, &e), -EPERM);
		CU_ASSERT_EQUAL(umount2(mnt, 0), 0);
		char *det[] = { "losetup", "-d", dev, NULL };
		CU_ASSERT_EQUAL(util_run(det, 10000, NULL, &e), 0);
	} else {
		say("fake loop fs not made: %s", e.msg);
		CU_FAIL("could not make a loop device for the refusal check");
	}
	util_rm_rf(tmp, NULL);
}

static void test_freeze(void)
{
	CU_ASSERT_FATAL(ensure_ready());
	crit_err e;
	err_clear(&e);
	char ref[256];
	CU_ASSERT_EQUAL_FATAL(lab_image_ref(&lab, "pause", ref, sizeof ref), 0);
	pull_image(ref, 60000); /* so a pod needs no pull */
	fault_fs_result r;
	int rc = fault_fs_freeze(lab_dir, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	say_result(&r);
	fault_fs_facts f;
	CU_ASSERT(facts(&f) && f.frozen && !f.readonly);
	CU_ASSERT_EQUAL(fault_fs_freeze(lab_dir, &r, &e), -EALREADY);

	/* Calls that only read may still answer: a finding. */
	outcome v = version_call(2000), s = status_call(2000);
	say("frozen: Version %s in %lld ms; Status %s in %lld ms (%s)", answer_word(&v), (long long)v.ms,
	    answer_word(&s), (long long)s.ms, s.msg);
	CU_ASSERT(v.ms < 3000 && s.ms < 3000);

	pod_cfg p;
	pod_cfg_init(&p, "critic-fs-frozen");
	char id[128];
	outcome o = run_pod(&p, 3000, id, sizeof id);
	say("frozen: RunPodSandbox (3 s deadline): %s (the call took %lld ms)", o.rc == 0 ? "succeeded" : o.msg,
	    (long long)o.ms);
	CU_ASSERT_EQUAL(o.rc, -ERR_GRPC);
	CU_ASSERT_EQUAL(o.grpc_status, GRPC_DEADLINE_EXCEEDED);
	CU_ASSERT(o.ms >= 2900 && o.ms < 6000);

	rc = fault_fs_thaw(lab_dir, &r, &e);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(r.changed);
	CU_ASSERT(facts(&f) && !f.frozen);
	int64_t t0 = util_now_ms();
	fault_proc_result pr = { .what = "thaw" };
	fault_proc_opts po = { .ready_timeout_ms = 10000 };
	rc = fault_proc_wait_ready(lab.endpoint, &po, &pr, &e);
	say("thawed: Status RuntimeReady after %lld ms (%d calls)", (long long)(util_now_ms() - t0), pr.status_calls);
	CU_ASSERT_EQUAL(rc, 0);
	v = version_call(5000);
	CU_ASSERT_EQUAL(v.rc, 0);
	/* What became of the request that timed out: a finding. */
	int state = -1, n = 0;
	for (int64_t end = util_now_ms() + 5000; util_now_ms() < end; util_sleep_ms(200))
		if ((n = pods_named(p.name, &state)) > 0)
			break;
	say("after the thaw the timed-out RunPodSandbox left %d pod%s%s", n, n == 1 ? "" : "s",
	    n > 0 ? (state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY ? " (ready)" : " (not ready)") : "");
	CU_ASSERT_EQUAL(remove_our_pods(), 0);
	CU_ASSERT_EQUAL(fault_fs_thaw(lab_dir, &r, &e), 0);
	CU_ASSERT(!r.changed);
}

static void test_fill(void)
{
	CU_ASSERT_FATAL(ensure_ready());
	crit_err e;
	err_clear(&e);
	char ref[256];
	CU_ASSERT_EQUAL_FATAL(lab_image_ref(&lab, "image-a", ref, sizeof ref), 0);
	if (image_listed(ref) == 1)
		remove_image(ref);
	CU_ASSERT_EQUAL_FATAL(image_listed(ref), 0);

	fault_fs_result r;
	int rc = fault_fs_fill(lab_dir, NULL, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	say_result(&r);
	CU_ASSERT_EQUAL(r.write_errno, ENOSPC);
	CU_ASSERT(r.bytes > (800ULL << 20));
	CU_ASSERT(r.files >= 1);
	fault_fs_facts f;
	CU_ASSERT(facts(&f) && f.full && !f.readonly);
	unsigned long long filled = r.bytes;

	outcome o = pull_image(ref, 60000);
	say("full: PullImage %s: %s after %lld ms", ref, o.rc == 0 ? "succeeded" : o.msg, (long long)o.ms);
	CU_ASSERT(o.rc < 0);
	CU_ASSERT(o.ms < 60000);
	CU_ASSERT(has_text(o.msg, "no space left on device"));
	CU_ASSERT_EQUAL(image_listed(ref), 0);
	outcome v = version_call(5000), s = status_call(5000);
	say("full: Version %s, Status %s (%s)", answer_word(&v), answer_word(&s), s.msg);

	rc = fault_fs_free(lab_dir, &r, &e);
	CU_ASSERT_EQUAL(rc, 0);
	say_result(&r);
	CU_ASSERT(r.files >= 1);
	CU_ASSERT(r.bytes >= filled);
	CU_ASSERT(facts(&f) && !f.full);
	CU_ASSERT_EQUAL(fault_fs_free(lab_dir, &r, &e), 0);
	CU_ASSERT_EQUAL(r.files, 0);

	o = pull_image(ref, 60000);
	say("freed: PullImage %s: %s after %lld ms", ref, o.rc == 0 ? "succeeded" : o.msg, (long long)o.ms);
	CU_ASSERT_EQUAL(o.rc, 0);
	CU_ASSERT_EQUAL(image_listed(ref), 1);
	remove_image(ref);
}

/* Full, then some room given back: a pull bigger than the room starts and
 * fails part-way (the disk fills during the pull), leaving no image. */
static void test_fill_leave(void)
{
	CU_ASSERT_FATAL(ensure_ready());
	crit_err e;
	err_clear(&e);
	char ref[256];
	CU_ASSERT_EQUAL_FATAL(lab_image_ref(&lab, "image-a", ref, sizeof ref), 0);
	if (image_listed(ref) == 1)
		remove_image(ref);
	fault_fs_opts fo = { .fill_leave_bytes = 256 << 10 };
	fault_fs_result r;
	int rc = fault_fs_fill(lab_dir, &fo, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	say_result(&r);
	CU_ASSERT_EQUAL(r.write_errno, ENOSPC);
	/* what was given back, give or take a few blocks */
	CU_ASSERT(r.free_after >= (128ULL << 10) && r.free_after <= (512ULL << 10));
	outcome o = pull_image(ref, 60000);
	say("256 KiB free: PullImage %s: %s after %lld ms", ref, o.rc == 0 ? "succeeded" : o.msg, (long long)o.ms);
	CU_ASSERT(o.rc < 0);
	CU_ASSERT(has_text(o.msg, "no space left on device"));
	CU_ASSERT_EQUAL(image_listed(ref), 0);
	CU_ASSERT_EQUAL(fault_fs_free(lab_dir, &r, &e), 0);
	o = pull_image(ref, 60000);
	CU_ASSERT_EQUAL(o.rc, 0);
	CU_ASSERT_EQUAL(image_listed(ref), 1);
	remove_image(ref);
}

static void test_readonly(void)
{
	CU_ASSERT_FATAL(ensure_ready());
	crit_err e;
	err_clear(&e);
	/* A pod whose container writes a line every 100 ms to its log, which
	 * lives on the loop fs too. */
	pod_cfg p;
	pod_cfg_init(&p, "critic-fs-before-ro");
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(p.logdir, 0755, &e), 0);
	outcome o = run_pod(&p, 30000, ro_pod, sizeof ro_pod);
	if (o.rc < 0)
		say("%s", o.msg);
	CU_ASSERT_EQUAL_FATAL(o.rc, 0);
	char *cmd[] = { "sh", "-c", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done" };
	CU_ASSERT_FATAL(run_container(&p, ro_pod, "ticker", cmd, 3, ro_ctr, sizeof ro_ctr));
	snprintf(ro_log, sizeof ro_log, "%.4000s/ticker.log", p.logdir);
	int state = -1;
	ro_pid = container_pid(ro_ctr, &state);
	CU_ASSERT_FATAL(ro_pid > 0 && util_pid_alive(ro_pid));
	/* The log grows before the fault (a line every 100 ms). */
	long long size0 = -1, first = -1;
	for (int64_t end = util_now_ms() + 5000; util_now_ms() < end; util_sleep_ms(100)) {
		size0 = file_size(ro_log);
		if (first <= 0)
			first = size0;
		else if (size0 > first)
			break;
	}
	say("before the fault the container's log grows: %lld -> %lld bytes", first, size0);
	CU_ASSERT_FATAL(first > 0 && size0 > first);
	cleanup_free char *cdlog = util_strdup_printf("%s/logs/containerd.log", lab_dir);
	long long cd_from = file_size(cdlog);

	fault_fs_result r;
	int rc = fault_fs_make_readonly(lab_dir, NULL, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	say_result(&r);
	CU_ASSERT(r.took_ms >= 0 && r.took_ms < 5000);
	CU_ASSERT(strstr(r.opts_after, "emergency_ro") || strstr(r.opts_after, "ro,") || strstr(r.opts_after, "ro ("));
	CU_ASSERT_EQUAL(r.write_errno, EROFS);
	fault_fs_facts f;
	CU_ASSERT(facts(&f) && f.readonly);
	say_facts("after the error");
	CU_ASSERT_EQUAL(fault_fs_make_readonly(lab_dir, NULL, &r, &e), -EALREADY);
	CU_ASSERT_EQUAL(fault_fs_fill(lab_dir, NULL, &r, &e), -EROFS);

	/* A new pod fails, naming the read-only file system, within its deadline. */
	pod_cfg q;
	pod_cfg_init(&q, "critic-fs-after-ro");
	char id[128];
	o = run_pod(&q, 20000, id, sizeof id);
	say("read-only: RunPodSandbox: %s after %lld ms", o.rc == 0 ? "succeeded" : o.msg, (long long)o.ms);
	CU_ASSERT(o.rc < 0);
	CU_ASSERT(has_text(o.msg, "read-only file system") || has_text(o.msg, "EROFS"));
	CU_ASSERT(o.ms < 20000);

	/* Findings: what still answers, whether the running container and its
	 * log go on. */
	outcome v = version_call(2000), s = status_call(2000);
	say("read-only: Version %s in %lld ms (%s); Status %s in %lld ms (%s)", answer_word(&v), (long long)v.ms,
	    v.msg, answer_word(&s), (long long)s.ms, s.msg);
	CU_ASSERT(v.ms < 3000 && s.ms < 3000);
	long long size1 = file_size(ro_log);
	util_sleep_ms(2000);
	long long size2 = file_size(ro_log);
	pid_t pid_now = container_pid(ro_ctr, &state);
	say("read-only: the container started before (pid %d) %s; ContainerStatus state %d, pid %d; its log %s "
	    "(%lld -> %lld bytes over 2 s)", (int)ro_pid, util_pid_alive(ro_pid) ? "still runs" : "is gone", state,
	    (int)pid_now, size2 > size1 ? "still grows" : "no longer grows", size1, size2);
	/* What containerd wrote to its own log (which is not on the loop fs). */
	cleanup_free char *text = NULL;
	size_t tl = 0;
	int erofs = 0;
	char last[400] = "";
	if (cd_from >= 0 && util_read_file(cdlog, &text, &tl, NULL) == 0 && (long long)tl > cd_from)
		for (char *save = NULL, *l = strtok_r(text + cd_from, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (has_text(l, "read-only file system")) {
				erofs++;
				snprintf(last, sizeof last, "%.390s", l);
			}
	say("read-only: containerd logged %d line%s naming the read-only file system%s%s", erofs, erofs == 1 ? "" : "s",
	    erofs ? "; last: " : "", last);
}

static void test_restart_on_readonly(void)
{
	CU_ASSERT_FATAL(lab_ok && !lab_is_down);
	crit_err e;
	err_clear(&e);
	fault_fs_result r;
	fault_fs_thaw(lab_dir, &r, NULL);
	fault_fs_facts f;
	if (!facts(&f) || !f.readonly) {
		say("the fs is not read-only (the test before did not get that far): making it so");
		CU_ASSERT_EQUAL_FATAL(fault_fs_make_readonly(lab_dir, NULL, &r, &e), 0);
	}
	pid_t old = rtctl_pid(rt, NULL);
	int64_t t0 = util_now_ms();
	int rc = rtctl_stop(rt, &e);
	say("read-only: stopping containerd (pid %d): %s after %lld ms", (int)old, rc == 0 ? "stopped" : e.msg,
	    (long long)(util_now_ms() - t0));
	CU_ASSERT_EQUAL(rc, 0);
	if (rc < 0) {
		rtctl_signal(rt, SIGKILL, NULL);
		util_wait_pid_dead(old, 5000);
	}
	CU_ASSERT_EQUAL(rtctl_pid(rt, NULL), 0);

	t0 = util_now_ms();
	rc = rtctl_start(rt, &e);
	int64_t start_ms = util_now_ms() - t0;
	char start_err[1024];
	snprintf(start_err, sizeof start_err, "%s", rc < 0 ? e.msg : "");
	bool ready = false;
	fault_proc_result pr = { .what = "the start" };
	if (rc == 0) {
		fault_proc_opts po = { .ready_timeout_ms = 10000 };
		ready = fault_proc_wait_ready(lab.endpoint, &po, &pr, &e) == 0;
	}
	say("read-only: starting containerd again: %s after %lld ms%s%s", rc == 0 ? "the start returned" : "failed",
	    (long long)start_ms, rc == 0 ? (ready ? "; it is ready" : "; not ready within 10 s: ") : ": ",
	    rc == 0 ? (ready ? "" : pr.last_error) : start_err);
	/* On a read-only root the runtime cannot come back. */
	CU_ASSERT(rc < 0 || !ready);
	if (rc < 0)
		CU_ASSERT(has_text(start_err, "read-only file system"));
	lab_status(lab_dir, &lab, NULL);
	if (ro_pid > 0)
		say("read-only: the container started before the fault %s", util_pid_alive(ro_pid) ? "still runs" : "is gone");
	if (rtctl_pid(rt, NULL) > 0)
		CU_ASSERT_EQUAL(rtctl_stop(rt, &e), 0);
}

static void test_repair(void)
{
	CU_ASSERT_FATAL(lab_ok && !lab_is_down);
	crit_err e;
	err_clear(&e);
	fault_fs_result r;
	/* Refused while the runtime runs. */
	if (rtctl_pid(rt, NULL) > 0) {
		CU_ASSERT_EQUAL(fault_fs_repair(lab_dir, rt, NULL, &r, &e), -EBUSY);
		CU_ASSERT_EQUAL_FATAL(rtctl_stop(rt, &e), 0);
	}
	int rc = fault_fs_repair(lab_dir, rt, NULL, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	say_result(&r);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT(r.e2fsck_exit >= 0 && r.e2fsck_exit < 4);
	bool fsck = false, mounted = false;
	for (int i = 0; i < r.n_steps; i++) {
		CU_ASSERT_EQUAL(r.steps[i].rc, 0);
		fsck |= !strcmp(r.steps[i].name, "e2fsck");
		mounted |= !strcmp(r.steps[i].name, "mount");
	}
	CU_ASSERT(fsck && mounted);
	fault_fs_facts f;
	CU_ASSERT(facts(&f) && !f.readonly && !f.frozen);
	say_facts("repaired");
	if (ro_pid > 0) {
		/* The lab down inside the repair took the old container away. */
		CU_ASSERT(util_wait_pid_dead(ro_pid, 5000));
		ro_pid = 0;
	}

	int64_t t0 = util_now_ms();
	rc = rtctl_start(rt, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	lab_status(lab_dir, &lab, NULL);
	fault_proc_result pr = { .what = "the start" };
	fault_proc_opts po = { .ready_timeout_ms = 30000 };
	rc = fault_proc_wait_ready(lab.endpoint, &po, &pr, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	outcome s = status_call(5000);
	say("repaired: runtime ready %lld ms after the start (%s)", (long long)(util_now_ms() - t0), s.msg);
	CU_ASSERT(strstr(s.msg, "RuntimeReady=true") != NULL);

	/* The pod made before the fault: a finding. */
	int state = -1;
	int n = pods_named("critic-fs-before-ro", &state);
	say("repaired: the pod made before the fault is %s", n <= 0 ? "gone" :
	    state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY ? "listed ready" : "listed not ready");

	/* A new pod runs. Data containerd wrote shortly before the error (an
	 * image unpacked for the pod that was running) may never have reached
	 * the disk: then a container of that image fails, and the images must
	 * be removed and pulled again. What happens is printed as a finding. */
	pod_cfg p;
	pod_cfg_init(&p, "critic-fs-after-repair");
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(p.logdir, 0755, &e), 0);
	char pod[128], ctr[128], why[700];
	pid_t pid = 0;
	for (int attempt = 1; attempt <= 2; attempt++) {
		outcome o = run_pod(&p, 30000, pod, sizeof pod);
		char *cmd[] = { "sleep", "3600" };
		if (o.rc < 0)
			snprintf(why, sizeof why, "RunPodSandbox: %s", o.msg);
		else if (!run_container(&p, pod, "sleeper", cmd, 2, ctr, sizeof ctr))
			snprintf(why, sizeof why, "the container did not start");
		else
			pid = container_alive_after(ctr, &p, 1000, why, sizeof why);
		if (pid > 0) {
			say("repaired: %s pod %.12s runs container %.12s (pid %d)", attempt == 1 ? "a new" : "after re-pulling, a new",
			    pod, ctr, (int)pid);
			break;
		}
		say("repaired: attempt %d: a new pod's container does not run: %s", attempt, why);
		if (attempt == 2)
			break;
		/* The images' content and snapshots may be bad: remove and pull them again. */
		CU_ASSERT_EQUAL(remove_our_pods(), 0);
		static const char *const roles[] = { "busybox", "pause" };
		for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
			char ref[256];
			CU_ASSERT_FATAL(lab_image_ref(&lab, roles[i], ref, sizeof ref) == 0);
			remove_image(ref);
			outcome po = pull_image(ref, 60000);
			say("repaired: removed and pulled %s again: %s", ref, po.rc == 0 ? "ok" : po.msg);
			CU_ASSERT_EQUAL(po.rc, 0);
		}
		pod_cfg_init(&p, "critic-fs-after-repull");
		CU_ASSERT_EQUAL_FATAL(util_mkdir_p(p.logdir, 0755, &e), 0);
	}
	CU_ASSERT(pid > 0 && util_pid_alive(pid));
	CU_ASSERT_EQUAL(remove_our_pods(), 0);
	CU_ASSERT(pid <= 0 || util_wait_pid_dead(pid, 10000));
}

/* The same disk error right after a flush: nothing is lost, so after the
 * repair a new pod runs at once (the contrast to the test before). */
static void test_readonly_synced(void)
{
	CU_ASSERT_FATAL(ensure_ready());
	crit_err e;
	err_clear(&e);
	char ref[256];
	CU_ASSERT_EQUAL_FATAL(lab_image_ref(&lab, "busybox", ref, sizeof ref), 0);
	CU_ASSERT_EQUAL(remove_our_pods(), 0);
	remove_image(ref);
	outcome o = pull_image(ref, 60000); /* unpacked just now: dirty pages */
	CU_ASSERT_EQUAL_FATAL(o.rc, 0);
	/* With errors=continue an error would leave it writable: critic puts
	 * errors=remount-ro back before it triggers one. */
	cleanup_free char *mnt = util_strdup_printf("%s/" LAB_LOOPFS_MOUNT, lab_dir);
	char *remount[] = { "mount", "-o", "remount,errors=continue", mnt, NULL };
	CU_ASSERT_EQUAL(util_run(remount, 10000, NULL, &e), 0);
	fault_fs_facts f;
	CU_ASSERT(facts(&f) && !strstr(f.sb_opts, "errors=remount-ro"));
	fault_fs_opts fo = { .sync_first = true };
	fault_fs_result r;
	int rc = fault_fs_make_readonly(lab_dir, &fo, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	say_result(&r);
	CU_ASSERT(strstr(r.opts_before, "errors=remount-ro") == NULL);
	CU_ASSERT(strstr(r.opts_after, "errors=remount-ro") != NULL);
	CU_ASSERT(facts(&f) && f.readonly);
	CU_ASSERT_EQUAL_FATAL(rtctl_stop(rt, &e), 0);
	rc = fault_fs_repair(lab_dir, rt, NULL, &r, &e);
	if (rc < 0)
		say("%s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	say_result(&r);
	CU_ASSERT_EQUAL_FATAL(rtctl_start(rt, &e), 0);
	lab_status(lab_dir, &lab, NULL);
	fault_proc_result pr = { .what = "the start" };
	fault_proc_opts po = { .ready_timeout_ms = 30000 };
	CU_ASSERT_EQUAL_FATAL(fault_proc_wait_ready(lab.endpoint, &po, &pr, &e), 0);
	pod_cfg p;
	pod_cfg_init(&p, "critic-fs-after-sync");
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(p.logdir, 0755, &e), 0);
	char pod[128], ctr[128] = "", why[700] = "";
	o = run_pod(&p, 30000, pod, sizeof pod);
	if (o.rc < 0)
		say("%s", o.msg);
	CU_ASSERT_EQUAL_FATAL(o.rc, 0);
	char *cmd[] = { "sleep", "3600" };
	pid_t pid = 0;
	if (run_container(&p, pod, "sleeper", cmd, 2, ctr, sizeof ctr))
		pid = container_alive_after(ctr, &p, 1000, why, sizeof why);
	say("flushed, then read-only, repaired: a new pod's container %s%s", pid > 0 ? "runs at once" : "does not run: ",
	    why);
	CU_ASSERT(pid > 0);
	CU_ASSERT_EQUAL(remove_our_pods(), 0);
}

static void test_lab_down(void)
{
	CU_ASSERT_FATAL(rt != NULL);
	crit_err e;
	err_clear(&e);
	int rc = take_down();
	CU_ASSERT_EQUAL(rc, 0);
	cleanup_free char *img = util_strdup_printf("%s/" LAB_LOOPFS_IMAGE, lab_dir);
	char *los[] = { "losetup", "-j", img, NULL };
	cleanup_free char *out = NULL;
	CU_ASSERT_EQUAL(util_run(los, 10000, &out, &e), 0);
	CU_ASSERT(out && out[0] == '\0');
	if (out && *out)
		say("still attached: %s", out);
	cleanup_free char *mi = NULL;
	CU_ASSERT_EQUAL_FATAL(util_read_file("/proc/self/mountinfo", &mi, NULL, NULL), 0);
	CU_ASSERT(strstr(mi, lab_dir) == NULL);
	CU_ASSERT_EQUAL(lab_status(lab_dir, &lab, NULL), 0);
	CU_ASSERT(lab.loopfs && !lab.loopfs_mounted && !lab.loopfs_dev[0]);
	/* No process names the lab dir any more. */
	CU_ASSERT_EQUAL(tests_lab_processes(lab_dir), 0);
	/* The fault-ridden image is not kept. */
	if (rc == 0)
		CU_ASSERT_EQUAL(unlink(img), 0);
}

void tests_register_fault_fs(void)
{
	CU_pSuite s = CU_add_suite("integration/fault-fs", suite_init, suite_cleanup);
	CU_add_test(s, "lab up with a loop fs: root and state on critic's ext4, errors=remount-ro", test_loopfs_up);
	CU_add_test(s, "refused: no lab, no loop fs, a tmpfs or another loop device at DIR/fs", test_refusals);
	CU_add_test(s, "freeze: RunPodSandbox hits its deadline; after thaw the runtime answers", test_freeze);
	CU_add_test(s, "full: PullImage fails with ENOSPC, no partial image; after free it works", test_fill);
	CU_add_test(s, "filled, then 256 KiB given back: a pull fails part-way, no image; freed, it works",
		    test_fill_leave);
	CU_add_test(s, "read-only: RunPodSandbox names the read-only file system; findings", test_readonly);
	CU_add_test(s, "read-only: the runtime restarted on it does not come back", test_restart_on_readonly);
	CU_add_test(s, "repair: e2fsck -fy and mount; ready again and a new pod runs", test_repair);
	CU_add_test(s, "read-only after a flush: nothing lost, a new pod runs at once", test_readonly_synced);
	CU_add_test(s, "lab down: no loop device, mount or process left", test_lab_down);
}
