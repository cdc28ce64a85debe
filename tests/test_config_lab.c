/* Integration: the config.toml fault on a lab of this suite's own: a handler patched in is refused until
 * containerd restarts, doctor tells the drift, restore brings the file back byte for byte; what SIGHUP does. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cri.h"
#include "doctor.h"
#include "fault/config.h"
#include "lab.h"
#include "profile.h"
#include "rtctl.h"
#include "probe.h"
#include "tests.h"
#include "tst.h"
#include "util.h"

#define HANDLER "nvidia-like"

static char lab_dir[PATH_MAX];
static lab_info lab;
static rtctl *rt;
static bool lab_ok, lab_is_down;
static char crun[PATH_MAX];
static char run_id[64];
static fault_cfg_backup bk;   /* restored by every test and by cleanup */
static char *original;        /* config.toml as the lab wrote it */
static size_t original_len;

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

static bool find_crun(char *out, size_t len)
{
	static const char *const dirs[] = { "/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(out, len, "%s/crun", dirs[i]);
		if (access(out, X_OK) == 0)
			return true;
	}
	out[0] = '\0';
	return false;
}

/* The critic binary beside this test program (rtctl runs the same). */
static void critic_exe(char *out, size_t len)
{
	if (tests_beside("critic", out, len) < 0)
		snprintf(out, len, "./critic");
}

static bool config_is(const char *text, size_t len)
{
	char *got = NULL;
	size_t glen = 0;
	if (util_read_file(lab.config, &got, &glen, NULL) < 0)
		return false;
	bool same = glen == len && !memcmp(got, text, len);
	free(got);
	return same;
}

/* Restore whatever a test left patched; a containerd that is down comes back. */
static bool ensure_clean(void)
{
	if (!lab_ok || lab_is_down)
		return false;
	crit_err e;
	err_clear(&e);
	if (bk.active && fault_cfg_restore(&bk, &e) < 0)
		say("restore left by an earlier test: %s", e.msg);
	if (rtctl_pid(rt, NULL) <= 0 || !util_exists(lab.socket)) {
		if (rtctl_start(rt, &e) < 0) {
			say("lab up again: %s", e.msg);
			return false;
		}
	}
	lab_status(lab_dir, &lab, NULL);
	return true;
}

static int suite_init(void)
{
	crit_err e;
	err_clear(&e);
	tests_sibling_lab_dir("config", lab_dir, sizeof lab_dir);
	snprintf(run_id, sizeof run_id, "cfglab-%d", (int)getpid());
	if (rtctl_from_lab(&rt, lab_dir, &e) < 0) {
		say("runtime control for %s: %s", lab_dir, e.msg);
		return -1;
	}
	int64_t t0 = util_now_ms();
	/* This process uses gRPC: the lab comes up in a fresh critic process. */
	if (rtctl_start(rt, &e) < 0) {
		say("lab up in %s: %s", lab_dir, e.msg);
		return -1;
	}
	if (lab_status(lab_dir, &lab, &e) != 1) {
		say("lab in %s not running after up: %s", lab_dir, e.msg);
		return -1;
	}
	/* A backup left by an interrupted earlier run would keep its patch. */
	char left[PATH_MAX];
	if (fault_cfg_find_backups(lab.config, left, sizeof left) > 0) {
		say("a backup of an earlier run is there (%s): restoring it", left);
		snprintf(bk.path, sizeof bk.path, "%s", lab.config);
		snprintf(bk.backup, sizeof bk.backup, "%s", left);
		bk.active = true;
		if (fault_cfg_restore(&bk, &e) < 0 || rtctl_restart(rt, &e) < 0) {
			say("%s", e.msg);
			return -1;
		}
		lab_status(lab_dir, &lab, NULL);
	}
	if (util_read_file(lab.config, &original, &original_len, &e) < 0) {
		say("%s", e.msg);
		return -1;
	}
	find_crun(crun, sizeof crun);
	say("config lab up in %s (%lld ms): containerd pid %d, crun %s", lab.dir, (long long)(util_now_ms() - t0),
	    (int)lab.containerd_pid, lab.crun_usable ? crun : "not usable here");
	lab_ok = true;
	return 0;
}

static int suite_cleanup(void)
{
	crit_err e;
	err_clear(&e);
	int rc = 0;
	if (bk.active && fault_cfg_restore(&bk, &e) < 0) {
		say("restore: %s", e.msg);
		rc = -1;
	}
	if (original && lab_ok && !config_is(original, original_len)) {
		say("config.toml differs from what the lab wrote at the start");
		rc = -1;
	}
	if (rt && !lab_is_down) {
		if (rtctl_lab_down(rt, &e) < 0) {
			say("lab down in %s: %s", lab_dir, e.msg);
			rc = -1;
		}
		lab_is_down = true;
	}
	rtctl_free(rt);
	rt = NULL;
	free(original);
	original = NULL;
	return rc;
}

/* ------------------------------------------------------------ pods */

/* Run a sandbox with handler in the node's network; its id in id (empty on
 * failure, e filled). */
static int run_pod(cri_conn *c, const char *handler, char *id, size_t len, crit_err *e)
{
	return probe_sandbox_run(c, "critic-config", "config-lab", handler, 30000, id, len, e);
}

static void remove_pod(cri_conn *c, const char *id)
{
	if (!id || !*id)
		return;
	crit_err e;
	Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	Runtime__V1__RemovePodSandboxRequest rreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
	sreq.pod_sandbox_id = rreq.pod_sandbox_id = (char *)id;
	if (CRI_CALL_T(c, StopPodSandbox, &sreq, &sresp, 30000, &e) < 0)
		say("stop pod %.13s: %s", id, e.msg);
	if (CRI_CALL_T(c, RemovePodSandbox, &rreq, &rresp, 30000, &e) < 0)
		say("remove pod %.13s: %s", id, e.msg);
	cri_free(sresp);
	cri_free(rresp);
}

static doctor_report run_doctor(bool probe)
{
	doctor_opts o = { .endpoint = lab.endpoint, .lab_dir = lab_dir, .probe_handlers = probe, .timeout_ms = 20000 };
	doctor_report r;
	crit_err e;
	err_clear(&e);
	if (doctor_run(&o, &r, &e) < 0) {
		say("doctor: %s", e.msg);
		memset(&r, 0, sizeof r);
	}
	return r;
}

static void print_doctor(const doctor_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		say("  doctor: %-4s %-20s %.300s", doctor_level_name(r->facts[i].level), r->facts[i].name,
		    r->facts[i].text);
}

static doctor_level level_of(const doctor_report *r, const char *name)
{
	const doctor_fact *f = doctor_find(r, name);
	return f ? f->level : (doctor_level)-1;
}

/* ------------------------------------------------------------ tests */

/* Before any patch: the lab runs what its file says. */
static void test_doctor_clean(void)
{
	CU_ASSERT_FATAL(ensure_clean());
	doctor_report r = run_doctor(false);
	if (r.n_fail)
		print_doctor(&r);
	CU_ASSERT_EQUAL(r.n_fail, 0);
	CU_ASSERT(!r.unreachable);
	CU_ASSERT(!r.restart_needed);
	CU_ASSERT_EQUAL(level_of(&r, "socket"), DOCTOR_OK);
	CU_ASSERT_EQUAL(level_of(&r, "status"), DOCTOR_OK);
	CU_ASSERT_EQUAL(level_of(&r, "profile"), DOCTOR_OK);
	CU_ASSERT_EQUAL(level_of(&r, "config"), DOCTOR_OK);
	CU_ASSERT_EQUAL(level_of(&r, "drift"), DOCTOR_OK);
	CU_ASSERT_EQUAL(level_of(&r, "handler:runc"), DOCTOR_OK);
	CU_ASSERT_EQUAL(level_of(&r, "cni"), DOCTOR_OK);
	CU_ASSERT_PTR_NULL(doctor_find(&r, "backup"));
	CU_ASSERT_STRING_EQUAL(r.config, lab.config);
	CU_ASSERT_EQUAL(doctor_exit_code(&r), 0);
	const doctor_fact *d = doctor_find(&r, "drift");
	if (d)
		say("%s", d->text);
	doctor_report_free(&r);
}

/* Patch in a handler, restart, use it, restore, restart: the whole story. */
static void test_patch_restart_restore(void)
{
	CU_ASSERT_FATAL(ensure_clean());
	if (!lab.crun_usable || !crun[0]) {
		say("skipped: the handler points at crun, and crun is not usable in this lab (%s)",
		    lab.crun_note[0] ? lab.crun_note : "crun not found");
		return;
	}
	crit_err e;
	err_clear(&e);
	cri_conn *c = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, lab.endpoint, NULL, 20000, &e), 0);
	pid_t pid0 = rtctl_pid(rt, &e);
	CU_ASSERT(pid0 > 0);

	/* 1. Patch without a restart. */
	fault_cfg_opts o = { .run_id = run_id }; /* the lab's own config: no allow_disruptive needed */
	fault_cfg_handler h = { .name = HANDLER, .binary_name = crun };
	int rc = fault_cfg_add_handler(lab.config, &h, &o, &bk, &e);
	if (rc < 0)
		say("patch: %s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT(bk.active && util_exists(bk.backup));
	char *patched = NULL;
	size_t patched_len = 0;
	CU_ASSERT_EQUAL(util_read_file(lab.config, &patched, &patched_len, &e), 0);

	char id[128];
	rc = run_pod(c, HANDLER, id, sizeof id, &e);
	CU_ASSERT(rc < 0);
	say("RunPodSandbox with %s, patched but not restarted: %s", HANDLER, rc < 0 ? e.msg : "OK (unexpected)");
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "\"" HANDLER "\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no runtime for"));
	remove_pod(c, rc == 0 ? id : NULL);

	doctor_report r = run_doctor(false);
	print_doctor(&r);
	const doctor_fact *d = doctor_find(&r, "drift");
	CU_ASSERT(d && d->level == DOCTOR_FAIL &&
		  strstr(d->text, "config.toml changed after the runtime started: restart needed"));
	CU_ASSERT(d && strstr(d->text, "handler " HANDLER ": file configured"));
	CU_ASSERT_EQUAL(level_of(&r, "handler:" HANDLER), DOCTOR_FAIL);
	CU_ASSERT_EQUAL(level_of(&r, "handler:runc"), DOCTOR_OK);
	CU_ASSERT_EQUAL(level_of(&r, "backup"), DOCTOR_WARN);
	CU_ASSERT(r.restart_needed);
	CU_ASSERT_EQUAL(doctor_exit_code(&r), 1);
	doctor_report_free(&r);

	/* A plain `lab up` neither restarts containerd nor undoes the patch. */
	char exe[PATH_MAX];
	critic_exe(exe, sizeof exe);
	char *argv[] = { exe, "--no-color", "--dir", lab_dir, "lab", "up", NULL };
	char *out = NULL;
	CU_ASSERT_EQUAL(util_run(argv, 180000, &out, &e), 0);
	CU_ASSERT(out && strstr(out, "left as it is"));
	free(out);
	CU_ASSERT_EQUAL(rtctl_pid(rt, &e), pid0);
	CU_ASSERT(config_is(patched, patched_len));

	/* 2. Restart: containerd reads the patched file. */
	int64_t t0 = util_now_ms();
	rc = rtctl_restart(rt, &e);
	if (rc < 0)
		say("restart: %s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	int64_t restart_ms = util_now_ms() - t0;
	lab_status(lab_dir, &lab, NULL);
	CU_ASSERT(config_is(patched, patched_len));
	CU_ASSERT(rtctl_pid(rt, &e) != pid0);
	cri_close(c);
	c = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, lab.endpoint, NULL, 20000, &e), 0);
	t0 = util_now_ms();
	rc = run_pod(c, HANDLER, id, sizeof id, &e);
	int64_t pod_ms = util_now_ms() - t0;
	if (rc < 0)
		say("RunPodSandbox with %s after the restart: %s", HANDLER, e.msg);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		Runtime__V1__PodSandboxStatusRequest q = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
		Runtime__V1__PodSandboxStatusResponse *st = NULL;
		q.pod_sandbox_id = id;
		q.verbose = 1;
		CU_ASSERT_EQUAL(CRI_CALL(c, PodSandboxStatus, &q, &st, &e), 0);
		if (st) {
			CU_ASSERT_EQUAL(st->status->state, RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
			CU_ASSERT_STRING_EQUAL(st->status->runtime_handler, HANDLER);
			/* The runtime options containerd used name crun. */
			const char *info = NULL;
			for (size_t i = 0; i < st->n_info; i++)
				if (!strcmp(st->info[i]->key, "info"))
					info = st->info[i]->value;
			CU_ASSERT(info && strstr(info, crun));
			cri_free(st);
		}
		/* No Root given: the state is under the shim's default root, in
		 * crun's format (a "status" file; runc would write state.json). */
		char crun_state[300], f[400];
		snprintf(crun_state, sizeof crun_state, "/run/containerd/runc/k8s.io/%s", id);
		snprintf(f, sizeof f, "%s/status", crun_state);
		CU_ASSERT(util_exists(f));
		snprintf(f, sizeof f, "%s/state.json", crun_state);
		CU_ASSERT(!util_exists(f));
		say("after a restart (%lld ms) a pod runs with %s (%lld ms), crun state in %s", (long long)restart_ms,
		    HANDLER, (long long)pod_ms, crun_state);
	}
	remove_pod(c, id);

	r = run_doctor(true);
	d = doctor_find(&r, "drift");
	if (r.n_fail)
		print_doctor(&r);
	CU_ASSERT(d && d->level == DOCTOR_OK);
	CU_ASSERT(!r.restart_needed);
	const doctor_fact *hf = doctor_find(&r, "handler:" HANDLER);
	CU_ASSERT(hf && hf->level == DOCTOR_OK && strstr(hf->text, "a sandbox ran and was removed"));
	if (hf)
		say("doctor --probe-handlers: %s", hf->text);
	CU_ASSERT_EQUAL(level_of(&r, "backup"), DOCTOR_WARN); /* the patch is still in place */
	CU_ASSERT_EQUAL(doctor_exit_code(&r), 0);
	doctor_report_free(&r);

	/* 3. Restore: the original bytes; until a restart the runtime keeps the handler. */
	CU_ASSERT_EQUAL(fault_cfg_restore(&bk, &e), 0);
	CU_ASSERT(config_is(original, original_len));
	CU_ASSERT_EQUAL(fault_cfg_find_backups(lab.config, NULL, 0), 0);
	r = run_doctor(false);
	d = doctor_find(&r, "drift");
	CU_ASSERT(d && d->level == DOCTOR_FAIL && strstr(d->text, "restart needed") &&
		  strstr(d->text, "handler " HANDLER ": file (absent), running loaded"));
	CU_ASSERT_EQUAL(level_of(&r, "handler:" HANDLER), DOCTOR_WARN);
	if (d)
		say("restored, not restarted: %s", d->text);
	doctor_report_free(&r);

	CU_ASSERT_EQUAL_FATAL(rtctl_restart(rt, &e), 0);
	lab_status(lab_dir, &lab, NULL);
	cri_close(c);
	c = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_connect(&c, lab.endpoint, NULL, 20000, &e), 0);
	rc = run_pod(c, HANDLER, id, sizeof id, &e);
	CU_ASSERT(rc < 0 && strstr(e.msg, "no runtime for"));
	remove_pod(c, rc == 0 ? id : NULL);
	r = run_doctor(false);
	CU_ASSERT_EQUAL(level_of(&r, "drift"), DOCTOR_OK);
	CU_ASSERT_PTR_NULL(doctor_find(&r, "handler:" HANDLER));
	CU_ASSERT_EQUAL(doctor_exit_code(&r), 0);
	doctor_report_free(&r);
	free(patched);
	cri_close(c);
}

/* Is anyone listening on path? 0 yes, else the errno of connect(). */
static int connect_errno(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	if (n >= sizeof sa.sun_path)
		return ENAMETOOLONG;
	memcpy(sa.sun_path, path, n + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
	close(fd);
	return rc;
}

/* What containerd does with SIGHUP, a patch pending: critic refuses it as a
 * reload (the profile says so); sent on purpose, it ends containerd. */
static void test_sighup(void)
{
	CU_ASSERT_FATAL(ensure_clean());
	crit_err e;
	err_clear(&e);
	const prof_runtime *p = prof_lookup("containerd");
	CU_ASSERT_EQUAL(prof_may_sighup_reload(p, &e), -EPERM);

	fault_cfg_opts o = { .run_id = run_id };
	fault_cfg_handler h = { .name = "hup-test", .binary_name = crun[0] ? crun : "/usr/sbin/runc" };
	CU_ASSERT_EQUAL_FATAL(fault_cfg_add_handler(lab.config, &h, &o, &bk, &e), 0);

	/* A pod that runs through it. */
	cri_conn *pc = NULL;
	char pod[128] = "";
	CU_ASSERT_EQUAL_FATAL(cri_connect(&pc, lab.endpoint, NULL, 20000, &e), 0);
	if (run_pod(pc, "", pod, sizeof pod, &e) < 0)
		say("pod before SIGHUP: %s", e.msg);
	CU_ASSERT(pod[0]);
	cri_close(pc);
	pc = NULL;

	cleanup_free char *logp = util_strdup_printf("%s/logs/containerd.log", lab.dir);
	struct stat lst;
	off_t log_from = stat(logp, &lst) == 0 ? lst.st_size : 0;
	pid_t pid = rtctl_pid(rt, &e);
	CU_ASSERT_FATAL(pid > 0);
	int64_t t0 = util_now_ms();
	CU_ASSERT_EQUAL_FATAL(rtctl_signal(rt, SIGHUP, &e), 0);
	bool died = util_wait_pid_dead(pid, 5000);
	int64_t died_ms = util_now_ms() - t0;
	struct stat sst;
	bool sock_left = lstat(lab.socket, &sst) == 0 && S_ISSOCK(sst.st_mode);
	int cerr = connect_errno(lab.socket);
	util_sleep_ms(200);
	cleanup_free char *log = NULL;
	size_t loglen = 0;
	util_read_file(logp, &log, &loglen, NULL);
	const char *added = log && (size_t)log_from <= loglen ? log + log_from : "";
	size_t nlines = 0;
	for (const char *q = added; *q; q++)
		nlines += *q == '\n';

	/* What it did, for the scenario library. */
	if (died)
		say("containerd (pid %d) on SIGHUP: exited after %lld ms; socket file %s (connect: %s); "
		    "%zu new log line%s%s%.200s", (int)pid, (long long)died_ms,
		    sock_left ? "left behind" : "removed", cerr ? strerror(cerr) : "accepted", nlines,
		    nlines == 1 ? "" : "s", nlines ? ": " : "", added);
	else
		say("containerd (pid %d) on SIGHUP: still running after 5 s", (int)pid);
	/* The observed behaviour, asserted: no handler, Go's default, it dies. */
	CU_ASSERT(died);
	CU_ASSERT(died_ms < 2000);
	CU_ASSERT(sock_left);
	CU_ASSERT_EQUAL(cerr, ECONNREFUSED);
	CU_ASSERT_EQUAL(nlines, 0);
	if (!died) {
		/* Had it lived: did it reload? Ask for the patched handler. */
		cri_conn *c = NULL;
		char id[128];
		if (cri_connect(&c, lab.endpoint, NULL, 20000, &e) == 0) {
			int rc = run_pod(c, "hup-test", id, sizeof id, &e);
			say("after SIGHUP the patched handler %s", rc == 0 ? "works: it reloaded" : e.msg);
			remove_pod(c, rc == 0 ? id : NULL);
			cri_close(c);
		}
	}

	/* Back: restore the file, start containerd again. */
	CU_ASSERT_EQUAL(fault_cfg_restore(&bk, &e), 0);
	CU_ASSERT(config_is(original, original_len));
	t0 = util_now_ms();
	CU_ASSERT_EQUAL(rtctl_start(rt, &e), 0);
	lab_status(lab_dir, &lab, NULL);
	say("lab up again in %lld ms", (long long)(util_now_ms() - t0));
	/* The pod's shim outlived containerd: the sandbox is still ready. */
	CU_ASSERT_EQUAL_FATAL(cri_connect(&pc, lab.endpoint, NULL, 20000, &e), 0);
	if (pod[0]) {
		Runtime__V1__PodSandboxStatusRequest q = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
		Runtime__V1__PodSandboxStatusResponse *st = NULL;
		q.pod_sandbox_id = pod;
		int rc = CRI_CALL(pc, PodSandboxStatus, &q, &st, &e);
		CU_ASSERT_EQUAL(rc, 0);
		bool ready = rc == 0 && st->status->state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY;
		say("the pod started before the SIGHUP is %s after the restart", rc < 0 ? e.msg : ready ? "READY" : "NOT READY");
		CU_ASSERT(ready);
		cri_free(st);
		remove_pod(pc, pod);
	}
	cri_close(pc);
	doctor_report r = run_doctor(false);
	CU_ASSERT_EQUAL(level_of(&r, "drift"), DOCTOR_OK);
	CU_ASSERT_EQUAL(doctor_exit_code(&r), 0);
	doctor_report_free(&r);
}

/* The lab's own config without allow_disruptive is fine; the file is not
 * touched by anything else (the lab leaves a patched file alone). */
static void test_lab_down_clean(void)
{
	CU_ASSERT_FATAL(ensure_clean());
	CU_ASSERT(config_is(original, original_len));
	CU_ASSERT_EQUAL(fault_cfg_find_backups(lab.config, NULL, 0), 0);
	crit_err e;
	CU_ASSERT_EQUAL(rtctl_lab_down(rt, &e), 0);
	lab_is_down = true;
	CU_ASSERT_EQUAL(rtctl_pid(rt, &e), 0);
	doctor_report r = run_doctor(false);
	CU_ASSERT(r.unreachable);
	CU_ASSERT_EQUAL(doctor_exit_code(&r), 3);
	CU_ASSERT_EQUAL(level_of(&r, "socket"), DOCTOR_FAIL);
	doctor_report_free(&r);
}

void tests_register_config_lab(void)
{
	CU_pSuite s = CU_add_suite("integration/config", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "doctor on a clean lab: no FAIL, no drift", test_doctor_clean);
	CU_add_test(s, "handler patched in: refused until restart, drift, restore, gone", test_patch_restart_restore);
	CU_add_test(s, "SIGHUP to containerd with a patch pending: what it does", test_sighup);
	CU_add_test(s, "lab down: file as the lab wrote it, doctor says unreachable", test_lab_down_clean);
}
