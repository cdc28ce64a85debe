/* tests: critic's own test program. Each file registers its CUnit suites
 * through one function listed here; main.c decides which groups run. */
#ifndef CRITIC_TESTS_H
#define CRITIC_TESTS_H

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

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
TESTS_HOOK void tests_register_bench(void);         /* unit: bench statistics, phases, fake server */
TESTS_HOOK void tests_register_fault_process(void); /* integration: process + socket file faults */
TESTS_HOOK void tests_register_fiu(void);           /* unit: libfiu preload, wrapper, spec, CLI */
TESTS_HOOK void tests_register_fiu_lab(void);       /* integration: libfiu faults in crun (crun-fiu) */
TESTS_HOOK void tests_register_scenarios(void);     /* unit: scenario parser and checker */
TESTS_HOOK void tests_register_scenarios_lab(void); /* integration: the scenario library on a lab */
TESTS_HOOK void tests_register_config(void);        /* unit: config.toml patcher, drift, profiles */
TESTS_HOOK void tests_register_config_lab(void);    /* integration: config.toml fault, drift, SIGHUP */
TESTS_HOOK void tests_register_fault_fs(void);      /* integration: file system faults (loop-fs lab) */
TESTS_HOOK void tests_register_reports(void);       /* unit: result writers */
TESTS_HOOK void tests_register_reports_lab(void);   /* integration: critic run writes every report */
TESTS_HOOK void tests_register_guard(void);         /* unit: kubelet guard over a fake /proc */
TESTS_HOOK void tests_register_bad_input(void);     /* unit: bad endpoints, configs, flags, replies */
TESTS_HOOK void tests_register_safety_lab(void);    /* integration: critic cleanup, guard, registry down */
TESTS_HOOK void tests_register_interrupt(void);     /* integration: critic run stopped by SIGINT */
TESTS_HOOK void tests_register_parallel(void);      /* integration: critic run --parallel, serial tests, SIGINT */
TESTS_HOOK void tests_register_scn_interrupt(void); /* integration: a fault scenario stopped by SIGINT */
TESTS_HOOK void tests_register_leaks(void);         /* unit: leak checker on a fake node; a report cut by SIGINT */
TESTS_HOOK void tests_register_leaks_lab(void);     /* integration: lab up interrupted, kubelet guard refusals, leaks */
TESTS_HOOK void tests_register_certify(void);       /* unit: profiles, judging, manifest, sonobuoy */
TESTS_HOOK void tests_register_certify_lab(void);   /* integration: critic certify on the lab */
TESTS_HOOK void tests_register_stale_images(void);  /* integration: re-pushed tags are pulled again */
TESTS_HOOK void tests_register_images(void);        /* unit: registry prefixes, images files, pull advice */
TESTS_HOOK void tests_register_images_lab(void);    /* integration: images serve + a hand-started containerd */
TESTS_HOOK void tests_register_wsstream(void);      /* unit: streaming WebSocket client vs a scripted server */
TESTS_HOOK void tests_register_events(void);        /* unit: the event-order check of suites/events.c */
TESTS_HOOK void tests_register_nodecaps(void);      /* unit: node feature probes over fake /proc and /sys */

/* What a lab left behind (tests/labcheck.c): live processes and mounts that
 * name dir, each printed; mounts is -1 when mountinfo cannot be read. */
int tests_lab_processes(const char *dir);
int tests_lab_mounts(const char *dir);
/* Pods labelled critic.io/owner=critic in the lab's runtime, each printed;
 * -1 when the lab cannot be asked. */
int tests_critic_pods(const char *lab_dir);

/* The lab directory integration tests use (not the user's default lab). */
const char *tests_lab_dir(void);
/* `critic --dir LAB lab up|down` in a child process: a test process that
 * used gRPC must not fork the lab's CRI helpers itself. Its exit code; the
 * output is printed when it fails. */
int tests_lab_cmd(const char *critic_bin, const char *lab_dir, const char *what, int timeout_ms);
/* DIR/PREFIX-NAME beside the integration lab DIR/NAME, for a suite's own
 * lab: not NAME-PREFIX, whose path would contain the other lab's (the
 * leftover checks match lab dirs by substring). */
void tests_sibling_lab_dir(const char *prefix, char *out, size_t len);
/* rel beside this test program ("critic", "../profiles") into out: 0, or
 * -1 when /proc/self/exe cannot be read or out is too small. */
int tests_beside(const char *rel, char *out, size_t len);

/* Pods and containers made by hand, with just the labels given
 * (tests/labpods.c). Failures are printed; NULL then. */
#define TESTS_MAX_LABELS 8
typedef struct tests_kv {
	const char *k, *v;
} tests_kv;
typedef struct tests_pod {
	const char *name, *ns;   /* metadata; the uid is NAME-<pid> */
	const char *logdir;      /* made when missing */
	bool host_net;           /* the node's network (no CNI) or the pod's own */
	const char *handler;     /* runtime handler, NULL = the default */
	const tests_kv *labels;  /* at most TESTS_MAX_LABELS */
	size_t n_labels;
} tests_pod;
struct cri_conn;
char *tests_run_pod(struct cri_conn *c, const tests_pod *p);
/* A running `sleep 3600` of image, named name, in p's pod pod_id. */
char *tests_run_sleeper(struct cri_conn *c, const char *pod_id, const tests_pod *p, const char *image,
			const char *name, const tests_kv *labels, size_t n_labels);

/* Pull the lab's image of role (busybox…) into the runtime behind c; its
 * reference into ref. 0, or -1 with the reason printed. */
struct lab_info;
int tests_pull_lab_image(struct cri_conn *c, const struct lab_info *lab, const char *role, char *ref, size_t len);

/* A critic command in the background (tests/child.c), its stdout and
 * stderr read through a pipe. */
typedef struct tests_child {
	pid_t pid;
	int fd, status; /* status: waitpid's, once exited */
	bool exited;
	strbuf out;
} tests_child;
/* Run argv (argv[0] a path) with CRITIC_LAB_DIR=lab_dir when lab_dir is
 * given; 0 or -errno. */
int tests_child_start(tests_child *c, char *const argv[], const char *lab_dir);
/* Read what has come (waiting up to wait_ms); notice an exit. */
void tests_child_pump(tests_child *c, int wait_ms);
const char *tests_child_output(const tests_child *c);
/* Pump until text appears, the child exits or ms pass: is text there? */
bool tests_child_wait_text(tests_child *c, const char *text, int ms);
/* Tests finished so far: the runner's "[ n/N] VERDICT name" lines (not
 * "[--/--]", the ones skipped up front). */
int tests_child_finished(const tests_child *c);
/* Pump until n tests finished, the child exits or ms pass. */
bool tests_child_wait_finished(tests_child *c, int n, int ms);
/* Wait up to ms for the exit and drain the pipe; SIGKILL and false when
 * it does not come. */
bool tests_child_wait_exit(tests_child *c, int ms);
/* Close, kill a child still running, free the output. */
void tests_child_free(tests_child *c);

#endif
