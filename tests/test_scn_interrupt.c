/* Integration: `critic scenario run` stopped by SIGINT while a fault scenario waits with
 * config.toml patched, on a lab of this suite's own: config restored, finally ran, exit 130. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cri.h"
#include "fault/config.h"
#include "lab.h"
#include "tests.h"
#include "tst.h"
#include "util.h"

static char lab_dir[PATH_MAX];
static char critic_bin[PATH_MAX];
static char tmpdir[64];
static bool lab_ok;

/* `critic --dir DIR ARGS…` through util_run (never lab_up in this process). */
static int critic(const char *a1, const char *a2, int timeout_ms)
{
	char *argv[] = { critic_bin, "--dir", lab_dir, (char *)a1, (char *)a2, NULL };
	char *out = NULL;
	crit_err e;
	err_clear(&e);
	int rc = util_run(argv, timeout_ms, &out, &e);
	if (rc != 0)
		printf("\n    critic %s %s: rc %d: %s %s", a1, a2 ? a2 : "", rc, rc < 0 ? e.msg : "", out ? out : "");
	free(out);
	return rc;
}

/* `critic scenario run FILE` in the background. */
static int start(tests_child *c, const char *file)
{
	char *argv[] = { critic_bin, "scenario", "run", "--dir", lab_dir, "--no-color", (char *)file, NULL };
	return tests_child_start(c, argv, lab_dir);
}

static int critic_pods(void)
{
	return tests_critic_pods(lab_dir);
}

/* A fault scenario that patches the lab's config.toml, then waits long. */
static const char scenario_text[] =
	"name: sigint-config\n"
	"description: patches config.toml and waits; the test interrupts it\n"
	"needs: [root, disruptive, lab]\n"
	"steps:\n"
	"  - run_pod: {name: waiter, hostnetwork: true}\n"
	"  - config: {action: patch, add_handler: critic-sigint, binary: /usr/bin/crun}\n"
	"    as: patch\n"
	"  - note: \"patched ${patch.path}\"\n"
	"  - sleep: 5m\n"
	"  - note: never reached\n"
	"finally:\n"
	"  - note: finally ran for ${patch.path}\n"
	"  - sleep: %s\n"
	"  - config: restore\n";

static int write_scenario(const char *path, const char *finally_sleep)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, scenario_text, finally_sleep);
	return fclose(f) == 0 ? 0 : -errno;
}

static int suite_init(void)
{
	if (tests_beside("critic", critic_bin, sizeof critic_bin) < 0)
		return -1;
	snprintf(lab_dir, sizeof lab_dir, "%s-scn-interrupt", tests_lab_dir());
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-scn-int-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void)
{
	util_rm_rf(tmpdir, NULL);
	if (lab_ok && critic("lab", "down", 180000) != 0)
		return -1;
	return 0;
}

static void test_lab_up(void)
{
	CU_ASSERT_EQUAL_FATAL(critic("lab", "up", 600000), 0);
	lab_ok = true;
}

static void test_sigint_restores_config(void)
{
	CU_ASSERT_FATAL(lab_ok);
	lab_info lab;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(lab_status(lab_dir, &lab, &e), 1);
	char *before = NULL, *after = NULL;
	size_t blen = 0, alen = 0;
	CU_ASSERT_EQUAL_FATAL(util_read_file(lab.config, &before, &blen, &e), 0);
	CU_ASSERT_EQUAL(fault_cfg_find_backups(lab.config, NULL, 0), 0);
	char file[128];
	snprintf(file, sizeof file, "%s/sigint.yaml", tmpdir);
	CU_ASSERT_EQUAL_FATAL(write_scenario(file, "100ms"), 0);

	tests_child c;
	CU_ASSERT_EQUAL_FATAL(start(&c, file), 0);
	bool waiting = tests_child_wait_text(&c, "PASS  note patched", 120000);
	if (!waiting)
		printf("\n    the scenario did not reach its wait: %s", tests_child_output(&c));
	CU_ASSERT_FATAL(waiting);
	tests_child_pump(&c, 300); /* into the sleep */
	/* while it waits, the config is patched and its backup exists */
	CU_ASSERT_EQUAL(fault_cfg_find_backups(lab.config, NULL, 0), 1);
	int64_t t0 = util_now_ms();
	kill(c.pid, SIGINT);
	bool exited = tests_child_wait_exit(&c, 60000);
	int64_t ms = util_now_ms() - t0;
	const char *out = tests_child_output(&c);
	printf("\n    exit %lld ms after SIGINT, status 0x%x", (long long)ms, c.status);
	CU_ASSERT(exited);
	CU_ASSERT(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 130);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "finally ran for "));
	CU_ASSERT_PTR_NULL(strstr(out, "never reached"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(interrupted)"));
	if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 130 || !strstr(out, "finally ran for "))
		printf("\n    output:\n%s", out);
	tests_child_free(&c);

	/* byte for byte as before, the backup gone, no critic pod left */
	CU_ASSERT_EQUAL_FATAL(util_read_file(lab.config, &after, &alen, &e), 0);
	CU_ASSERT(alen == blen && memcmp(before, after, blen) == 0);
	CU_ASSERT_EQUAL(fault_cfg_find_backups(lab.config, NULL, 0), 0);
	CU_ASSERT_EQUAL(critic_pods(), 0);
	free(before);
	free(after);
}

/* A second SIGINT while finally runs (here: a slow finally step) kills
 * critic at once, by the signal. What it leaves (the patch and its backup,
 * the pod) is for `critic cleanup` and the next lab up. */
static void test_second_sigint_aborts(void)
{
	CU_ASSERT_FATAL(lab_ok);
	lab_info lab;
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(lab_status(lab_dir, &lab, &e), 1);
	char file[128];
	snprintf(file, sizeof file, "%s/sigint2.yaml", tmpdir);
	CU_ASSERT_EQUAL_FATAL(write_scenario(file, "60s"), 0);
	tests_child c;
	CU_ASSERT_EQUAL_FATAL(start(&c, file), 0);
	bool waiting = tests_child_wait_text(&c, "PASS  note patched", 120000);
	CU_ASSERT_FATAL(waiting);
	tests_child_pump(&c, 300);
	kill(c.pid, SIGINT);
	bool in_finally = tests_child_wait_text(&c, "finally ran for ", 20000);
	CU_ASSERT(in_finally);
	tests_child_pump(&c, 200);
	bool early = c.exited;
	int64_t t0 = util_now_ms();
	kill(c.pid, SIGINT);
	bool exited = tests_child_wait_exit(&c, 10000);
	int64_t ms = util_now_ms() - t0;
	printf("\n    exit %lld ms after the second SIGINT, status 0x%x", (long long)ms, c.status);
	CU_ASSERT(!early); /* the first SIGINT alone did not end it: finally was running */
	CU_ASSERT(exited && ms <= 3000);
	CU_ASSERT(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGINT);
	tests_child_free(&c);
	/* what it left: the patch (with its backup) */
	int backups = fault_cfg_find_backups(lab.config, NULL, 0);
	printf("\n    left behind: %d config backup(s), %d critic pod(s)", backups, critic_pods());
	CU_ASSERT_EQUAL(backups, 1);
	/* critic cleanup removes the pod; lab up (after down) rewrites the config */
	CU_ASSERT_EQUAL(critic("cleanup", NULL, 180000), 0);
	CU_ASSERT_EQUAL(critic_pods(), 0);
	char backup[PATH_MAX];
	if (fault_cfg_find_backups(lab.config, backup, sizeof backup) > 0)
		CU_ASSERT_EQUAL(rename(backup, lab.config), 0); /* as an operator would: put it back */
	CU_ASSERT_EQUAL(fault_cfg_find_backups(lab.config, NULL, 0), 0);
}

void tests_register_scn_interrupt(void)
{
	CU_pSuite s = CU_add_suite("integration/scenario-interrupt", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "lab up (own dir)", test_lab_up);
	CU_add_test(s, "SIGINT in a fault scenario: config restored byte for byte, finally ran, exit 130",
		    test_sigint_restores_config);
	CU_add_test(s, "second SIGINT during finally: critic ends at once", test_second_sigint_aborts);
}
