/* tests: critic's own test program. Each file registers its CUnit suites
 * through one function listed here; main.c decides which groups run. */
#ifndef CRITIC_TESTS_H
#define CRITIC_TESTS_H

#include <CUnit/CUnit.h>

/* Unit tests: no runtime needed. */
void tests_register_endpoint(void);
void tests_register_cri_errors(void);
void tests_register_util(void);
/* Integration tests against a private lab started by the test program. */
void tests_register_lab(void);

/* Suites still being written may be absent: main.c calls each hook only
 * when some file defines it. */
#define TESTS_HOOK __attribute__((weak))
TESTS_HOOK void tests_register_kube(void);          /* unit: kubelet model */
TESTS_HOOK void tests_register_proxy(void);         /* unit: socket proxy */
TESTS_HOOK void tests_register_fault_process(void); /* integration: process + socket file faults */

/* The lab directory integration tests use (not the user's default lab). */
const char *tests_lab_dir(void);

#endif
