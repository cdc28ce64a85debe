/* fault/fiu: libfiu faults in the OCI runtime and in critic itself: the spec the lab's crun-fiu
 * handler reads (points of critic's preload and libfiu's posix one), control fifos, known points. */
#ifndef CRITIC_FAULT_FIU_H
#define CRITIC_FAULT_FIU_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/*
 * How a fault reaches crun: the lab registers a runtime handler "crun-fiu"
 * whose BinaryName is critic-fiu-runtime (fault/preload/). Each time
 * containerd's shim runs it (create, start, state, kill, delete) it execs
 * crun with LD_PRELOAD = critic's preload library, libfiu's fiu_run_preload
 * and fiu_posix_preload, and with the faults of LAB/fiu/spec. The preload
 * also watches the spec, so a change reaches crun processes that already
 * run. Only C programs that call libc can be reached this way: crun (and
 * conmon, critic); containerd, its shim and runc are Go programs that make
 * their system calls without libc.
 *
 * Points (fault_fiu_points lists them all):
 *   critic/posix/CALL  critic's preload: open, openat, mkdir, mkdirat,
 *                      mount, umount, stat, lstat, fstatat, statx, write,
 *                      unlinkat, rmdir, clone, clone3; these take the
 *                      filters below (path prefix, after, nth)
 *   posix/…, libc/…    libfiu's posix preload (fiu-run -x): read, write,
 *                      fork, malloc, … (not openat, mkdirat, mount, stat)
 *   critic/cri/…, critic/report/write   inside critic itself: its CRI
 *                      client, its report writer (fiu_enable in process)
 *
 * "where" below is a lab dir (its spec is DIR/fiu/spec), a "fiu" dir, or
 * the path of a spec file.
 */

typedef enum fault_fiu_mode {
	FAULT_FIU_ALWAYS = 0,     /* every matching call fails */
	FAULT_FIU_PROBABILITY,    /* each matching call fails with a probability */
	FAULT_FIU_NTH,            /* only the nth matching call fails (per process) */
} fault_fiu_mode;

typedef struct fault_fiu_fault {
	const char *point;        /* "critic/posix/openat"; a trailing * names a group */
	fault_fiu_mode mode;
	double probability;       /* PROBABILITY: 0 < p <= 1 */
	int nth;                  /* NTH: >= 1 */
	int after;                /* ALWAYS/PROBABILITY: let the first `after` matching
				   * calls through (critic/posix points only) */
	int err;                  /* errno of the failing call; 0 = EIO */
	int retval;               /* what it returns, < 0; 0 = -1 */
	const char *path_prefix;  /* critic/posix points: only calls on a path
				   * starting with this (no ',' or newline) */
} fault_fiu_fault;

/* The spec file "where" names (not created). */
int fault_fiu_spec_path(const char *where, char *out, size_t len, crit_err *e);

/* Add the fault to the spec (replacing any fault on the same point). It
 * takes effect in every crun run through the wrapper from now on, running
 * ones included. */
int fault_fiu_enable(const char *where, const fault_fiu_fault *f, crit_err *e);

/* Remove the fault on point (NULL = every fault) from the spec. Removing a
 * point the spec does not hold is not an error. */
int fault_fiu_disable(const char *where, const char *point, crit_err *e);

/* The spec's text (heap, "" when there is none). */
int fault_fiu_spec_text(const char *where, char **out, crit_err *e);

/* Failures the preload injected so far (lines "PID POINT errno=N path=P")
 * and the wrapper's record of crun runs (lines "PID TIME ARGS…"); heap,
 * "" when none. fault_fiu_clear_logs empties both. */
int fault_fiu_injected(const char *where, char **out, crit_err *e);
int fault_fiu_runs(const char *where, char **out, crit_err *e);
int fault_fiu_clear_logs(const char *where, crit_err *e);

/* Ask the wrapper to give each crun libfiu's control fifo
 * (DIR/fiu/ctl/crun-PID.in/.out), or stop asking. Off by default: the
 * control thread hangs crun's container process (see the preload). */
int fault_fiu_set_control_fifo(const char *where, bool on, crit_err *e);

/* One libfiu remote-control command ("enable name=P,failnum=-1,failinfo=5",
 * "disable name=P") to the process behind fifo base BASE (BASE-PID.in and
 * .out, as fiu-ctrl -f BASE PID does), with a deadline. Returns libfiu's
 * answer (0 done, < 0 refused: -EINVAL), -ESRCH when nobody reads the fifo,
 * -ETIMEDOUT. */
int fault_fiu_ctrl(const char *base, pid_t pid, const char *cmd, int timeout_ms, crit_err *e);

/* A point critic knows of. */
typedef struct fault_fiu_point {
	const char *name;
	const char *source;   /* "critic-preload", "libfiu-posix", "critic" */
	const char *what;     /* the call or place it fails */
} fault_fiu_point;
const fault_fiu_point *fault_fiu_points(size_t *n);
/* Is name (or, with a trailing *, some point it names) a known point? */
bool fault_fiu_known(const char *name);

/* Errno from "EIO", "eio" or "5"; 0 when unknown. */
int fault_fiu_errno(const char *text);

/* critic fiu …: the command line (argv[0] = "fiu"). */
int fiu_cli_main(int argc, char **argv);

#endif
