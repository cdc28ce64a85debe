/* lab: critic's built-in test bed. A private containerd (own root, state,
 * socket, config.toml, CNI bridge) plus a local registry with locally built images. */
#ifndef CRITIC_LAB_H
#define CRITIC_LAB_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

#define LAB_DEFAULT_DIR "/var/lib/critic/lab"

typedef struct lab_info {
	char dir[PATH_MAX];
	char endpoint[600];       /* "unix://DIR/containerd.sock" */
	char socket[PATH_MAX];    /* DIR/containerd.sock */
	char config[PATH_MAX];    /* DIR/config.toml */
	pid_t containerd_pid;     /* 0 when not running */
	pid_t registry_pid;
	int registry_port;
	char registry[64];        /* "127.0.0.1:PORT" */
	bool crun_usable;         /* the crun handler can start containers */
	char crun_note[512];      /* why not, or what the lab fixed for it */
} lab_info;

/* Progress lines ("lab: building images…") go through this; NULL = stderr. */
typedef void (*lab_log_fn)(const char *line);
void lab_set_logger(lab_log_fn fn);

/* The lab directory: $CRITIC_LAB_DIR, else LAB_DEFAULT_DIR. */
const char *lab_default_dir(void);

/* Start (or find running) the lab in dir. Idempotent: a running lab is
 * checked and reused; cached images are not rebuilt. Fills info. */
int lab_up(const char *dir, lab_info *info, crit_err *e);
/* Read the lab's state. Returns 1 when containerd and the registry run and
 * the socket exists, 0 when the lab is down (info still filled from the
 * state file where one exists), < 0 on error. */
int lab_status(const char *dir, lab_info *info, crit_err *e);
/* Stop everything lab_up started: remove all pods and containers of the
 * lab's runtime, stop containerd, its shims and the registry (by pid, then
 * by their command lines naming the lab dir), and unmount anything mounted
 * under dir. Images and caches stay for a fast next `up`. */
int lab_down(const char *dir, crit_err *e);

/* The image roles the lab serves (for lab_image_ref). */
const char *const *lab_image_roles(size_t *n);

/* Full reference of a lab image role ("busybox", "pause", …) in the lab's
 * registry, e.g. "127.0.0.1:5000/critic/busybox:1.0". */
int lab_image_ref(const lab_info *info, const char *role, char *out, size_t len);

#endif
