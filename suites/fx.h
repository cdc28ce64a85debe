/* fx: fixtures the suites share: build CRI configs carrying critic's labels,
 * run pods and containers that are removed when the test ends, poll states. */
#ifndef CRITIC_FX_H
#define CRITIC_FX_H

#include <stdbool.h>

#include "cri.h"
#include "tst.h"

/* Messages built here live as long as the test process (it exits after the
 * test), so callers never free them. */

/* A pod config named after the test, with critic's labels, a unique uid,
 * a fresh log directory and default Linux settings. */
Runtime__V1__PodSandboxConfig *fx_pod_config(tst_ctx *t, const char *name);
/* Add a label or annotation (string maps keep insertion order). */
void fx_pod_label(Runtime__V1__PodSandboxConfig *cfg, const char *key, const char *value);
void fx_pod_annotation(Runtime__V1__PodSandboxConfig *cfg, const char *key, const char *value);
/* RunPodSandbox with the run's handler; stop + remove are deferred. */
char *fx_run_pod(tst_ctx *t, Runtime__V1__PodSandboxConfig *cfg);
/* The same, returning the call's result instead of failing the test. */
int fx_try_run_pod(tst_ctx *t, Runtime__V1__PodSandboxConfig *cfg, const char *handler, char **id);

/* A default pod an area's TST_FIXTURE tests share, saving each its own
 * RunPodSandbox/StopPodSandbox (a shim and a pause container): declare the
 * area with TST_SUITE_FIXTURE(..., fx_pod_fixture). fx_shared_pod gives its
 * id and the exact config it ran with (CreateContainer wants it back).
 * Tests only add containers of their own to it, named with fx_own_name so
 * two tests never reserve the same name in it; a container a killed test
 * leaves goes with the pod when the area is done. */
extern const tst_fixture fx_pod_fixture;
char *fx_shared_pod(tst_ctx *t, Runtime__V1__PodSandboxConfig **cfg);
/* "<base>-<the test's name>", usable as a container name. */
char *fx_own_name(tst_ctx *t, const char *base);

/* A container config: image by role ("busybox") or full reference, and
 * the command (NULL-terminated; NULL = image default). */
Runtime__V1__ContainerConfig *fx_container_config(tst_ctx *t, const char *name, const char *image,
						  const char *const *cmd);
void fx_ctr_label(Runtime__V1__ContainerConfig *cfg, const char *key, const char *value);
void fx_ctr_annotation(Runtime__V1__ContainerConfig *cfg, const char *key, const char *value);
void fx_ctr_env(Runtime__V1__ContainerConfig *cfg, const char *key, const char *value);
/* CreateContainer (image pulled first if missing); remove is deferred. */
char *fx_create_container(tst_ctx *t, const char *pod_id, Runtime__V1__PodSandboxConfig *pod,
			  Runtime__V1__ContainerConfig *cfg);
void fx_start_container(tst_ctx *t, const char *id);
/* Create and start a container running cmd in the pod. */
char *fx_run_container(tst_ctx *t, const char *pod_id, Runtime__V1__PodSandboxConfig *pod, const char *name,
		       const char *const *cmd);

/* Plain Stop/Remove calls that return the call's result (the error in
 * t->err), for tests about those calls themselves. */
int fx_stop_pod(tst_ctx *t, const char *id);
int fx_remove_pod(tst_ctx *t, const char *id);
int fx_stop_container(tst_ctx *t, const char *id, int64_t timeout_s);
int fx_remove_container(tst_ctx *t, const char *id);

Runtime__V1__ContainerStatusResponse *fx_container_status(tst_ctx *t, const char *id, bool verbose);
Runtime__V1__PodSandboxStatusResponse *fx_pod_status(tst_ctx *t, const char *id, bool verbose);
/* Poll until the container reaches state or timeout_ms passes. */
bool fx_wait_container_state(tst_ctx *t, const char *id, Runtime__V1__ContainerState state, int timeout_ms);

/* ExecSync: returns the call's result code; out/err/exit filled on success. */
int fx_exec(tst_ctx *t, const char *id, const char *const *cmd, int timeout_s, char **out, char **err,
	    int *exit_code);
/* ExecSync that must succeed with exit 0; returns stdout. */
char *fx_exec_ok(tst_ctx *t, const char *id, const char *const *cmd);

/* Pull ref unless the runtime already has it; returns the image id/ref. */
char *fx_ensure_image(tst_ctx *t, const char *ref);
/* Resolve "busybox" style roles to references; full refs pass through. */
const char *fx_image(tst_ctx *t, const char *role_or_ref);

/* Label lookups in a CRI string map (any *LabelsEntry / *AnnotationsEntry array). */
const char *fx_map_get(void *const *entries, size_t n, const char *key);

/* NULL-terminated argv literal: ARGV("sh", "-c", "echo hi") */
#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

#endif
