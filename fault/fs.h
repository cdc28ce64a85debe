/* fault/fs: faults on the file system under the lab's runtime (the ext4 image critic made and
 * loop-mounted at DIR/fs): a disk error that turns it read-only, repair, freeze, fill; its state. */
#ifndef CRITIC_FAULT_FS_H
#define CRITIC_FAULT_FS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rtctl.h"

/* Every injector takes the lab dir and acts only when DIR/fs is mounted
 * from a loop device whose backing file is DIR/disk.img (lab up with the
 * loop-fs option); anything else is refused (-ENOENT: nothing mounted /
 * not a lab; -EPERM: something else is mounted there) and left alone. */

typedef struct fault_fs_opts {
	int ro_timeout_ms;   /* make_readonly: wait for the kernel to show it; 0 = 5000 */
	bool sync_first;     /* make_readonly: syncfs first. Without it, data not yet written
			      * back when the error strikes is lost (as on a real disk error) */
	int fill_timeout_ms; /* fill: 0 = 60000 */
	unsigned long long fill_leave_bytes; /* fill: once full (proven), give this much back, so a
					      * write of more fails part-way (a disk filling under it) */
	int fsck_timeout_ms; /* repair: e2fsck -fy; 0 = 300000 */
} fault_fs_opts;

#define FAULT_FS_MAX_STEPS 8

/* One step of a repair: what was done, its outcome and time. */
typedef struct fault_fs_step {
	char name[24];      /* "thaw", "holders", "lab down", "unmount", "e2fsck", "mount" */
	int rc;             /* 0 or the step's negative code */
	int64_t ms;
	char detail[400];
} fault_fs_step;

typedef struct fault_fs_result {
	const char *what;           /* "read-only", "repair", "freeze", "thaw", "fill", "free" */
	char mount[PATH_MAX];       /* DIR/fs */
	char dev[32];               /* its loop device */
	int64_t t_action_ms;        /* monotonic ms when the action began */
	int64_t took_ms;            /* read-only: until mountinfo showed it; freeze: the FIFREEZE
				     * (it syncs first); fill, free, repair: the whole action */
	bool changed;               /* thaw: it was frozen; free: something was removed */
	char opts_before[512];      /* super block options before and after */
	char opts_after[512];
	int write_errno;            /* read-only: a create after it (EROFS expected);
				     * fill: the write as root that failed (ENOSPC) */
	int polls;                  /* read-only: mountinfo reads until it showed */
	unsigned long long bytes;   /* fill: bytes allocated; free: bytes released */
	int files;                  /* fill: files made; free: files removed */
	unsigned long long free_before, free_after; /* bytes root can write (see fault_fs_facts) */
	int e2fsck_exit;            /* repair: e2fsck -fy's exit status (-1: not run) */
	fault_fs_step steps[FAULT_FS_MAX_STEPS];
	int n_steps;
} fault_fs_result;

/* The disk-error path: make sure errors=remount-ro is in effect (remount
 * with it when not; refused if the kernel does not then show it), write 1
 * to /sys/fs/ext4/<loopdev>/trigger_fs_error, and wait until mountinfo
 * shows the fs read-only (ro or emergency_ro) within ro_timeout_ms; then
 * try a create (write_errno). There is no online way back: fault_fs_repair.
 * -EALREADY when it is read-only already, -EBUSY when critic froze it. */
int fault_fs_make_readonly(const char *lab_dir, const fault_fs_opts *o, fault_fs_result *r, crit_err *e);

/* Unmount, e2fsck -fy, mount again (each a step in r). The runtime must be
 * stopped already (-EBUSY otherwise: the caller stops it, e.g. rtctl_stop).
 * What else holds the fs (the lab's shims and containers, their mounts below
 * DIR/fs) is taken away by a lab down through rt (the lab's rtctl; run in a
 * fresh critic process, safe after gRPC use); without rt such holders make
 * it fail with -EBUSY naming them. The caller starts the runtime again. */
int fault_fs_repair(const char *lab_dir, rtctl *rt, const fault_fs_opts *o, fault_fs_result *r, crit_err *e);

/* A hung file system: FIFREEZE (writers then block in D state) and a
 * marker DIR/loopfs.frozen so up refuses to start on it and down thaws.
 * -EALREADY when critic froze it already, -EBUSY when someone else did. */
int fault_fs_freeze(const char *lab_dir, fault_fs_result *r, crit_err *e);
/* FITHAW; 0 also when it was not frozen (r->changed says which), so
 * cleanup paths may always call it. The marker is removed. */
int fault_fs_thaw(const char *lab_dir, fault_fs_result *r, crit_err *e);

/* A full disk: fallocate DIR/fs/critic-fill-N (halving the size on
 * ENOSPC down to 4 KiB), then write 4 KiB blocks as root until a write
 * fails with ENOSPC (root may use the ext4 reserve, so this is the proof).
 * Needs root. -EROFS on a read-only fs, -EBUSY when frozen. */
int fault_fs_fill(const char *lab_dir, const fault_fs_opts *o, fault_fs_result *r, crit_err *e);
/* Remove exactly the fill files (regular files named critic-fill-<digits>
 * at the top of DIR/fs, owned by root); r->bytes is what they held. */
int fault_fs_free(const char *lab_dir, fault_fs_result *r, crit_err *e);

/* Facts about the file system under any path, for reports. */
typedef struct fault_fs_facts {
	char path[PATH_MAX];
	char mount[PATH_MAX];       /* the mount point it is under */
	char source[256];
	char fstype[32];
	char mnt_opts[256];
	char sb_opts[512];
	bool readonly;              /* ro, or emergency_ro after a disk error */
	bool emergency_ro;
	bool frozen;                /* known for a critic lab's loop fs only (critic's marker) */
	bool full;                  /* less than 64 KiB left even for root */
	bool critic;                /* it is the loop fs of critic's lab in lab_dir */
	char lab_dir[PATH_MAX];
	/* free_bytes: what root can still write (ext4: statvfs's free blocks less
	 * its reserved_clusters); avail_bytes: what others can (f_bavail). */
	unsigned long long size_bytes, free_bytes, avail_bytes;
	unsigned long long files_free;
	long long errors_count;     /* ext4: errors the kernel recorded (sysfs errors_count), -1 unknown */
} fault_fs_facts;

int fault_fs_state(const char *path, fault_fs_facts *f, crit_err *e);
/* "/x/fs: ext4 on /dev/loop0 (critic's lab loop fs): read-only (emergency_ro),
 * not frozen, 12 MiB free for root of 1.0 GiB". */
void fault_fs_facts_describe(const fault_fs_facts *f, char *buf, size_t len);
/* One line per result: "read-only after 3 ms: rw,errors=remount-ro ->
 * rw,errors=remount-ro,emergency_ro; create: Read-only file system". */
void fault_fs_describe(const fault_fs_result *r, char *buf, size_t len);

/* `critic fs …` (argv[0] = "fs"): see its --help. Returns 0 ok, 1 failed,
 * 2 usage. */
int fs_cli_main(int argc, char **argv);

#endif
