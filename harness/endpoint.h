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

/* What keeps a client from the socket of endpoint, for error messages:
 * NULL when a unix socket is there, else a reason naming the path ("/x is a
 * regular file, not a unix socket"), written into buf. */
const char *ep_socket_problem(const char *endpoint, char *buf, size_t len);

/* Read a crictl.yaml (runtime-endpoint, image-endpoint, timeout in seconds).
 * A missing file is not an error (returns 0 and leaves cfg as is). Syntax
 * errors are reported as "FILE:LINE:COL: message". */
int ep_load_crictl_yaml(ep_config *cfg, const char *file, crit_err *e);
/* The same from memory (len bytes, no terminator needed); name stands for
 * the file in messages. */
int ep_parse_crictl_yaml_buf(ep_config *cfg, const char *name, const char *buf, size_t len, crit_err *e);

/* Resolve in crictl's order: file, then CONTAINER_RUNTIME_ENDPOINT and
 * IMAGE_SERVICE_ENDPOINT, then the flags (any of which may be NULL / 0). */
int ep_resolve(ep_config *cfg, const char *crictl_yaml, const char *flag_runtime,
	       const char *flag_image, int flag_timeout_ms, crit_err *e);

#endif
