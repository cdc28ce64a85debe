/* The test program behind `make test`: unit suites, then (unless --unit)
 * integration suites against a private lab. Ends with CUnit's summary. */
#include <CUnit/Basic.h>
#include <fiu.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"

const char *tests_lab_dir(void)
{
	const char *d = getenv("CRITIC_TEST_LAB_DIR");
	return d && *d ? d : "/var/lib/critic/test-lab";
}

int main(int argc, char **argv)
{
	int unit_only = 0;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--unit"))
			unit_only = 1;
		else if (!strcmp(argv[i], "--suite") && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--unit] [--suite TEXT]\n"
					"  --unit        run only the tests that need no runtime\n"
					"  --suite TEXT  run only the suites whose name contains TEXT\n", argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	/* As harness/cri.c does for critic: notice a restarted runtime within
	 * 100 ms. Set before anything here (a fake server, a test) starts gRPC. */
	setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", 0);
	fiu_init(0);
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 2;
	}
	tests_register_util();
	tests_register_endpoint();
	tests_register_cri_errors();
	if (tests_register_kube)
		tests_register_kube();
	if (tests_register_proxy)
		tests_register_proxy();
	if (tests_register_fiu)
		tests_register_fiu();
	if (tests_register_scenarios)
		tests_register_scenarios();
	if (tests_register_config)
		tests_register_config();
	if (tests_register_bench)
		tests_register_bench();
	if (tests_register_reports)
		tests_register_reports();
	if (tests_register_guard)
		tests_register_guard();
	if (tests_register_bad_input)
		tests_register_bad_input();
	if (tests_register_leaks)
		tests_register_leaks();
	if (tests_register_certify)
		tests_register_certify();
	if (tests_register_images)
		tests_register_images();
	if (tests_register_wsstream)
		tests_register_wsstream();
	if (tests_register_events)
		tests_register_events();
	if (tests_register_nodecaps)
		tests_register_nodecaps();
	if (!unit_only) {
		tests_register_lab();
		if (tests_register_safety_lab)
			tests_register_safety_lab();
		if (tests_register_interrupt)
			tests_register_interrupt();
		if (tests_register_parallel)
			tests_register_parallel();
		if (tests_register_scn_interrupt)
			tests_register_scn_interrupt();
		if (tests_register_leaks_lab)
			tests_register_leaks_lab();
		if (tests_register_images_lab)
			tests_register_images_lab();
		if (tests_register_fault_process)
			tests_register_fault_process();
		if (tests_register_fiu_lab)
			tests_register_fiu_lab();
		if (tests_register_scenarios_lab)
			tests_register_scenarios_lab();
		if (tests_register_config_lab)
			tests_register_config_lab();
		if (tests_register_fault_fs)
			tests_register_fault_fs();
		if (tests_register_reports_lab)
			tests_register_reports_lab();
		if (tests_register_certify_lab)
			tests_register_certify_lab();
		if (tests_register_stale_images)
			tests_register_stale_images();
	}
	if (only) {
		/* Leave out the other suites; they show as inactive in the summary. */
		CU_set_fail_on_inactive(CU_FALSE);
		unsigned matched = 0;
		for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) {
			bool hit = strstr(s->pName, only) != NULL;
			CU_set_suite_active(s, hit ? CU_TRUE : CU_FALSE);
			matched += hit;
		}
		if (!matched) {
			fprintf(stderr, "%s: no suite name contains '%s'\n", argv[0], only);
			CU_cleanup_registry();
			return 2;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
