/* endpoint: where the CRI runtime and image services are and how long a call
 * may take, resolved the way crictl does (crictl.yaml, environment, flags). */
#ifndef CRITIC_ENDPOINT_H
#define CRITIC_ENDPOINT_H

#include "err.h"

#define EP_MAX 512

typedef struct ep_config {
	char runtime[EP_MAX];   /* canonical "unix:///abs/path", "" = unset */
	char image[EP_MAX];     /* "" = same as runtime */
	int timeout_ms;         /* per-call deadline; 0 = unset */
	char source[EP_MAX];    /* where runtime came from, for messages */
} ep_config;

/* Turn "unix:///run/x.sock" or "/run/x.sock" into the canonical form
 * "unix:///run/x.sock" (out) and the socket path (path, may be NULL).
 * Anything else (tcp://, npipe://, relative paths) is refused with a reason. */
int ep_parse(const char *in, char *out, size_t outlen, char *path, size_t pathlen, crit_err *e);

/* Read a crictl.yaml (runtime-endpoint, image-endpoint, timeout in seconds).
 * A missing file is not an error (returns 0 and leaves cfg as is). Syntax
 * errors are reported as "FILE:LINE:COL: message". */
int ep_load_crictl_yaml(ep_config *cfg, const char *file, crit_err *e);

/* Resolve in crictl's order: file, then CONTAINER_RUNTIME_ENDPOINT and
 * IMAGE_SERVICE_ENDPOINT, then the flags (any of which may be NULL / 0). */
int ep_resolve(ep_config *cfg, const char *crictl_yaml, const char *flag_runtime,
	       const char *flag_image, int flag_timeout_ms, crit_err *e);

#endif
