/* labpods: pods and containers the integration suites make by hand,
 * outside critic's runner, with exactly the labels a test gives (foreign
 * pods, kubelet-like pods, critic-labelled leftovers to clean up). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri.h"
#include "lab.h"
#include "tests.h"
#include "util.h"

static void say(const char *line)
{
	printf("\n    %s", line);
	fflush(stdout);
}

char *tests_run_pod(cri_conn *c, const tests_pod *p)
{
	crit_err e;
	err_clear(&e);
	if (util_mkdir_p(p->logdir, 0755, &e) < 0) {
		say(e.msg);
		return NULL;
	}
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	char uid[96];
	snprintf(uid, sizeof uid, "%s-%d", p->name, (int)getpid());
	md.name = (char *)p->name;
	md.uid = uid;
	md.namespace_ = (char *)p->ns;
	Runtime__V1__PodSandboxConfig__LabelsEntry ents[TESTS_MAX_LABELS], *lp[TESTS_MAX_LABELS];
	size_t n = p->n_labels < TESTS_MAX_LABELS ? p->n_labels : TESTS_MAX_LABELS;
	for (size_t i = 0; i < n; i++) {
		runtime__v1__pod_sandbox_config__labels_entry__init(&ents[i]);
		ents[i].key = (char *)p->labels[i].k;
		ents[i].value = (char *)p->labels[i].v;
		lp[i] = &ents[i];
	}
	Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
	ns.network = p->host_net ? RUNTIME__V1__NAMESPACE_MODE__NODE : RUNTIME__V1__NAMESPACE_MODE__POD;
	ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	/* The init function, not the INIT macro: the macro names a deprecated
	 * field (seccomp_profile_path), which clang warns about. */
	Runtime__V1__LinuxSandboxSecurityContext sc;
	runtime__v1__linux_sandbox_security_context__init(&sc);
	sc.namespace_options = &ns;
	Runtime__V1__LinuxPodSandboxConfig lx = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	lx.security_context = &sc;
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	cfg.metadata = &md;
	cfg.log_directory = (char *)p->logdir;
	cfg.labels = lp;
	cfg.n_labels = n;
	cfg.linux_ = &lx;
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = &cfg;
	req.runtime_handler = (char *)(p->handler ? p->handler : "");
	Runtime__V1__RunPodSandboxResponse *resp = NULL;
	if (CRI_CALL_T(c, RunPodSandbox, &req, &resp, 120000, &e) < 0) {
		say(e.msg);
		return NULL;
	}
	char *id = strdup(resp->pod_sandbox_id);
	cri_free(resp);
	return id;
}

char *tests_run_sleeper(cri_conn *c, const char *pod_id, const tests_pod *p, const char *image, const char *name,
			const tests_kv *labels, size_t n_labels)
{
	crit_err e;
	err_clear(&e);
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	md.name = (char *)name;
	Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
	img.image = (char *)image;
	char *cmd[] = { "sleep", "3600" };
	Runtime__V1__ContainerConfig__LabelsEntry ents[TESTS_MAX_LABELS], *lp[TESTS_MAX_LABELS];
	size_t n = n_labels < TESTS_MAX_LABELS ? n_labels : TESTS_MAX_LABELS;
	for (size_t i = 0; i < n; i++) {
		runtime__v1__container_config__labels_entry__init(&ents[i]);
		ents[i].key = (char *)labels[i].k;
		ents[i].value = (char *)labels[i].v;
		lp[i] = &ents[i];
	}
	char logpath[128];
	snprintf(logpath, sizeof logpath, "%s.log", name);
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	cfg.metadata = &md;
	cfg.image = &img;
	cfg.command = cmd;
	cfg.n_command = 2;
	cfg.log_path = logpath;
	cfg.labels = lp;
	cfg.n_labels = n;
	/* The runtime needs little of the pod's config here: its log dir. */
	Runtime__V1__PodSandboxMetadata pmd = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	pmd.name = (char *)p->name;
	pmd.uid = "x";
	pmd.namespace_ = (char *)p->ns;
	Runtime__V1__PodSandboxConfig pcfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	pcfg.metadata = &pmd;
	pcfg.log_directory = (char *)p->logdir;
	Runtime__V1__CreateContainerRequest creq = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	creq.pod_sandbox_id = (char *)pod_id;
	creq.config = &cfg;
	creq.sandbox_config = &pcfg;
	Runtime__V1__CreateContainerResponse *cresp = NULL;
	if (CRI_CALL_T(c, CreateContainer, &creq, &cresp, 60000, &e) < 0) {
		say(e.msg);
		return NULL;
	}
	char *id = strdup(cresp->container_id);
	cri_free(cresp);
	Runtime__V1__StartContainerRequest sreq = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	Runtime__V1__StartContainerResponse *sresp = NULL;
	sreq.container_id = id;
	if (CRI_CALL_T(c, StartContainer, &sreq, &sresp, 60000, &e) < 0)
		say(e.msg);
	cri_free(sresp);
	return id;
}

int tests_pull_lab_image(struct cri_conn *c, const struct lab_info *lab, const char *role, char *ref, size_t len)
{
	crit_err e;
	err_clear(&e);
	if (lab_image_ref(lab, role, ref, len) < 0) {
		printf("\n    the lab has no %s image", role);
		return -1;
	}
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = ref;
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *resp = NULL;
	req.image = &spec;
	int rc = CRI_CALL_T(c, PullImage, &req, &resp, 120000, &e);
	if (rc < 0)
		say(e.msg);
	cri_free(resp);
	return rc < 0 ? -1 : 0;
}
