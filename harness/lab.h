/* lab: critic's built-in test bed. A private containerd (own root, state,
 * socket, config.toml, CNI bridge) plus a local registry with locally built images. */
#ifndef CRITIC_LAB_H
#define CRITIC_LAB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
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
	/* Storage (see lab_options): where containerd keeps its root and state. */
	char root[PATH_MAX];      /* DIR/root, or DIR/fs/root on the loop fs */
	char state[PATH_MAX];     /* DIR/state, or DIR/fs/state */
	bool loopfs;              /* root and state live on critic's loop-mounted ext4 */
	unsigned long long loopfs_bytes; /* the size of its image DIR/disk.img */
	char loopfs_dev[32];      /* the loop device attached to the image, "" when none */
	bool loopfs_mounted;      /* the image is mounted at DIR/fs now */
	bool loopfs_readonly;     /* ... and the kernel made it read-only (ro, emergency_ro) */
	char loopfs_opts[512];    /* its options as the kernel shows them (mount + super block) */
} lab_info;

/* Progress lines ("lab: building images…") go through this; NULL = stderr. */
typedef void (*lab_log_fn)(const char *line);
void lab_set_logger(lab_log_fn fn);

/* The lab directory: $CRITIC_LAB_DIR, else LAB_DEFAULT_DIR. */
const char *lab_default_dir(void);

/* Start (or find running) the lab in dir. Idempotent: a running lab is
 * checked and reused; cached images are not rebuilt. Fills info. */
int lab_up(const char *dir, lab_info *info, crit_err *e);

/* ---- loop-fs storage: containerd's root and state on a file system of
 * critic's own (an ext4 image DIR/disk.img, sparse, loop-mounted at DIR/fs
 * with errors=remount-ro), so fault/fs can break it and nothing else. */
typedef enum lab_storage {
	LAB_STORAGE_KEEP = 0, /* $CRITIC_LAB_LOOPFS when set, else what the lab used last */
	LAB_STORAGE_DIRS,     /* plain directories DIR/root and DIR/state (the default) */
	LAB_STORAGE_LOOPFS,   /* DIR/fs/root and DIR/fs/state on the loop fs */
} lab_storage;

#define LAB_LOOPFS_DEFAULT_BYTES (2ULL << 30)
#define LAB_LOOPFS_MIN_BYTES (64ULL << 20)
#define LAB_LOOPFS_MAX_BYTES (1ULL << 40)
#define LAB_LOOPFS_IMAGE "disk.img"
#define LAB_LOOPFS_MOUNT "fs"
/* fault/fs writes this file into the lab dir while it holds the loop fs
 * frozen: up refuses to start on a frozen fs (it would hang), down thaws. */
#define LAB_LOOPFS_FROZEN "loopfs.frozen"

typedef struct lab_options {
	lab_storage storage;
	unsigned long long loopfs_bytes; /* size of a new image; 0 = as before, else 2 GiB */
} lab_options;

/* lab_up with options (NULL = lab_up). The storage choice is remembered in
 * the lab's state, so a later plain `lab up` (rtctl_start) keeps it. A lab
 * whose containerd runs is not moved between storages: -EBUSY, take it down
 * first. An existing image is kept at its size. */
int lab_up_opts(const char *dir, const lab_options *o, lab_info *info, crit_err *e);

/* Parse a --loop-fs / $CRITIC_LAB_LOOPFS value: NULL, "" or "on" = the
 * default size; "off", "no" or "0" = plain directories; else a size such as
 * 512M, 2G, 2GiB or a byte count (64 MiB .. 1 TiB). */
int lab_parse_loopfs(const char *text, lab_options *o, crit_err *e);

/* The lab's loop fs as the kernel shows it now. */
typedef struct lab_loopfs {
	char dir[PATH_MAX];       /* the lab dir (canonical) */
	char image[PATH_MAX];     /* DIR/disk.img */
	char mount[PATH_MAX];     /* DIR/fs */
	bool image_exists;
	unsigned long long image_bytes;
	char dev[32];             /* the loop device backed by the image ("/dev/loop3"), "" when none */
	bool mounted;             /* something is mounted at DIR/fs */
	bool ours;                /* it is ext4 from a loop device whose backing file is DIR/disk.img */
	char source[256];         /* what mountinfo names as the source */
	char fstype[32];
	char mnt_opts[256];       /* per-mount options ("rw,relatime") */
	char sb_opts[512];        /* super block options ("rw,errors=remount-ro,emergency_ro") */
	bool readonly;            /* ro in either, or emergency_ro (the kernel aborted the journal) */
	bool frozen;              /* critic froze it (DIR/loopfs.frozen exists) */
	char sysfs_name[32];      /* "loop3": /sys/fs/ext4/loop3 */
	int submounts;            /* mounts below DIR/fs (container root file systems, shm) */
} lab_loopfs;

/* Fill out from /proc/self/mountinfo and /sys. Touches nothing. */
int lab_loopfs_probe(const char *dir, lab_loopfs *out, crit_err *e);
/* Attach the image (when no loop device has it), check it (e2fsck -p) and
 * mount it at DIR/fs; 0 at once when it is mounted already. Refuses a
 * frozen fs and anything not critic's at DIR/fs. */
int lab_loopfs_mount(const char *dir, lab_loopfs *out, crit_err *e);
/* Unmount DIR/fs (never lazily: -EBUSY while something holds it) and
 * detach the loop devices backed by DIR/disk.img. */
int lab_loopfs_unmount(const char *dir, crit_err *e);
/* One line for status: "loop fs DIR/disk.img (2.0 GiB) on /dev/loop3 at
 * DIR/fs: rw,errors=remount-ro" or "plain directories DIR/root, DIR/state". */
void lab_describe_storage(const lab_info *info, char *out, size_t len);
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

/* ---- critic's test images for registries other than the lab's (harness/images.c) */

/* The i-th ROLE:TAG a registry of critic's images holds (busybox:1.0,
 * busybox:latest, …); returns how many there are. In the OCI layout each
 * role's image is tagged "ROLE-<lab_image_version()>". */
size_t lab_image_tags(size_t i, const char **role, const char **tag);
const char *lab_image_version(void); /* "1.0" */
/* Build the images (when their inputs changed, no network needed) into the
 * OCI layout DIR/images/oci under dir, as the lab does; layout gets its path. */
int lab_images_layout(const char *dir, char *layout, size_t len, crit_err *e);
/* One HTTP request to a registry on 127.0.0.1:port (manifest media types
 * accepted); status gets the HTTP status, digest Docker-Content-Digest. */
int lab_http(int port, const char *method, const char *path, int timeout_ms, int *status, char *digest,
	     size_t dlen);

#endif
