#include "probe.h"

#include <stdio.h>
#include <unistd.h>

#include "tst.h"
#include "util.h"

int probe_sandbox_run(cri_conn *c, const char *name_prefix, const char *test_label, const char *handler,
		      int timeout_ms, char *id, size_t idlen, crit_err *e)
{
	static unsigned seq; /* distinct names within one process */
	char name[128], uid[160];
	unsigned n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	snprintf(name, sizeof name, "%.80s-%u", name_prefix, n);
	snprintf(uid, sizeof uid, "%.80s-%d-%u-%lld", name_prefix, (int)getpid(), n, (long long)util_now_us());
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	md.name = name;
	md.uid = uid;
	md.namespace_ = "critic";
	Runtime__V1__PodSandboxConfig__LabelsEntry l_owner = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry l_test = RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	l_owner.key = TST_LABEL_OWNER;
	l_owner.value = "critic";
	l_test.key = TST_LABEL_TEST;
	l_test.value = (char *)test_label;
	Runtime__V1__PodSandboxConfig__LabelsEntry *labels[] = { &l_owner, &l_test };
	Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
	ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	Runtime__V1__LinuxSandboxSecurityContext sc;
	runtime__v1__linux_sandbox_security_context__init(&sc); /* the INIT macro names a deprecated field */
	sc.namespace_options = &ns;
	Runtime__V1__LinuxPodSandboxConfig lx = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	lx.security_context = &sc;
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	cfg.metadata = &md;
	/* no hostname: in the node's UTS namespace runc refuses to set one */
	cfg.labels = labels;
	cfg.n_labels = ARRAY_SIZE(labels);
	cfg.linux_ = &lx;
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *resp = NULL;
	req.config = &cfg;
	req.runtime_handler = (char *)(handler ? handler : "");
	id[0] = '\0';
	int rc = CRI_CALL_T(c, RunPodSandbox, &req, &resp, 2 * timeout_ms, e);
	if (rc == 0)
		snprintf(id, idlen, "%s", resp->pod_sandbox_id ? resp->pod_sandbox_id : "");
	cri_free(resp);
	return rc;
}
