/* images: critic's test images for any endpoint, not only the lab: serve them from a
 * local registry, push them to the user's, map each role to a reference for a run. */
#ifndef CRITIC_IMAGES_H
#define CRITIC_IMAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "lab.h"
#include "tst.h"

#define IMG_DEFAULT_DIR "/var/lib/critic/images"
#define IMG_DEFAULT_LISTEN "127.0.0.1:5000"
#define IMG_DEFAULT_PATH "critic"
#define IMG_FILE_NAME "images.txt" /* the images file serve writes into its dir */

/* One role ("busybox", "image-a", …) and where a runtime pulls it from. */
typedef struct img_ref {
	char role[32];
	char ref[256];     /* by tag: "HOST:PORT/critic/busybox:1.0" */
	char digest[80];   /* the registry's manifest digest, "" when not known */
} img_ref;

typedef struct img_set {
	img_ref r[TST_MAX_IMAGES];
	size_t n;
} img_set;

/* Check a --registry-prefix "HOST[:PORT][/PATH]" (no scheme, no tag); host
 * gets HOST[:PORT]. A trailing '/' is dropped. */
int img_check_prefix(const char *prefix, char *host, size_t hlen, crit_err *e);
/* Every role at PREFIX/ROLE:1.0 (digests left empty). */
int img_from_prefix(const char *prefix, img_set *s, crit_err *e);
/* An images file: one "ROLE REFERENCE [DIGEST]" a line; '#' starts a
 * comment. Errors name FILE:LINE. Roles critic does not know are refused. */
int img_from_file(const char *path, img_set *s, crit_err *e);
int img_write_file(const char *path, const img_set *s, crit_err *e);
/* The lab's references, with digests from its registry. */
int img_from_lab(const lab_info *lab, img_set *s, crit_err *e);
/* Fill empty digests with `skopeo inspect` (TLS not verified: the digest
 * is only compared, never trusted). Returns how many stayed unknown; the
 * first failure's reason is in e. */
int img_resolve_digests(img_set *s, crit_err *e);
/* The set's role, or NULL. */
const img_ref *img_find(const img_set *s, const char *role);
/* Copy the set into env->images. */
void img_to_env(const img_set *s, tst_env *env);

/* Before a run against an endpoint critic did not start: can the runtime
 * pull the busybox image? Runs the CRI calls in a child (this process must
 * stay free of gRPC). 0 when it can, or when the endpoint does not answer
 * at all (tst_run says so); else -ERR_UNREACHABLE with the pull's error in
 * e and, in advice, why and how to let the runtime reach the registry
 * (img_pull_advice; "" when there is none). */
int img_preflight(const tst_env *env, char *advice, size_t alen, crit_err *e);
/* The advice for a failed pull of ref with message msg, for the runtime
 * named runtime_name ("containerd", "cri-o", other): out gets "" when the
 * message says nothing about reaching the registry. */
void img_pull_advice(const char *msg, const char *ref, const char *runtime_name, char *out, size_t len);

/* `critic images serve|stop|push|list …` */
int img_cli_main(int argc, char **argv);

#endif
