/* probe: a throwaway pod sandbox in the node's network namespace (no CNI, no
 * hostname), labelled as critic's — what the canary, doctor and tests run. */
#ifndef CRITIC_PROBE_H
#define CRITIC_PROBE_H

#include <stddef.h>

#include "cri.h"
#include "err.h"

/* RunPodSandbox named "<name_prefix>-<n>" with critic.io/owner=critic and
 * critic.io/test=<test_label>, under handler (NULL or "" = the default),
 * with twice timeout_ms as the kubelet gives RunPodSandbox. On success the
 * sandbox id is in id; on failure id is empty and e filled by the call. */
int probe_sandbox_run(cri_conn *c, const char *name_prefix, const char *test_label, const char *handler,
		      int timeout_ms, char *id, size_t idlen, crit_err *e);

#endif
