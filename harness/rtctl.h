/* rtctl: runtime control: who the runtime under test is (pid, CRI socket) and how to
 * stop and start it: critic's lab, or an external runtime given by pid/pidfile and commands. */
#ifndef CRITIC_RTCTL_H
#define CRITIC_RTCTL_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

#define RTCTL_STOP_TIMEOUT_MS 10000
#define RTCTL_START_TIMEOUT_MS 60000
#define RTCTL_LAB_START_TIMEOUT_MS 180000 /* the lab may wait for its lock */

/* What the CLI fills from its flags. Either lab_dir is set (the runtime is
 * the lab's containerd) or endpoint is (an external runtime). Strings are
 * copied by rtctl_open. */
typedef struct rtctl_config {
	const char *lab_dir;     /* critic's lab in this dir */
	const char *endpoint;    /* external: its CRI endpoint, unix:///path or /path */
	pid_t pid;               /* external: --runtime-pid (0 = not given) */
	const char *pidfile;     /* external: --runtime-pidfile, re-read at every use */
	const char *start_cmd;   /* external: --runtime-start, run with sh -c */
	const char *stop_cmd;    /* external: --runtime-stop, sh -c; NULL = SIGTERM the pid */
	int start_timeout_ms;    /* 0 = RTCTL_START_TIMEOUT_MS (lab: RTCTL_LAB_START_TIMEOUT_MS) */
	int stop_timeout_ms;     /* 0 = RTCTL_STOP_TIMEOUT_MS */
	/* Lab only: the critic binary that runs `EXE --dir DIR lab up|down` in
	 * a fresh process. NULL = this program when it is critic, else a
	 * `critic` next to it; with none found, lab_up/lab_down run in this
	 * process (only safe while it has not used gRPC: they fork children
	 * that make CRI calls, and gRPC core breaks in a child forked after the
	 * parent used it). */
	const char *critic_exe;
} rtctl_config;

typedef struct rtctl rtctl;

/* Validate cfg and make a handle. Nothing is started or signalled. */
int rtctl_open(rtctl **out, const rtctl_config *cfg, crit_err *e);
/* Shorthands for the two kinds. */
int rtctl_from_lab(rtctl **out, const char *dir, crit_err *e);
int rtctl_external(rtctl **out, const char *endpoint, pid_t pid, const char *pidfile,
		   const char *start_cmd, const char *stop_cmd, crit_err *e);
void rtctl_free(rtctl *rt);

bool rtctl_is_lab(const rtctl *rt);
const char *rtctl_socket(const rtctl *rt);   /* the CRI socket path */
const char *rtctl_endpoint(const rtctl *rt); /* "unix:///path" */
const char *rtctl_lab_dir(const rtctl *rt);  /* "" when external */
/* "containerd of critic's lab in DIR" / "the runtime behind unix:///x (pidfile P)" */
const char *rtctl_describe(const rtctl *rt);

/* The runtime's pid, found afresh each time: the lab's state and process
 * table, the pidfile, or the given pid (checked against the process start
 * time recorded when first seen, so a reused pid is never trusted); an
 * external runtime whose recorded pid is gone is looked for as the process
 * listening on the socket. Returns the pid (> 0), 0 when no runtime process
 * runs (a zombie does not count; a SIGSTOPped one does), < 0 on error. */
pid_t rtctl_pid(rtctl *rt, crit_err *e);

/* Send sig to the runtime. -ESRCH when it does not run. */
int rtctl_signal(rtctl *rt, int sig, crit_err *e);

/* Stop the runtime: the stop command, or SIGTERM (plus SIGCONT, so a
 * frozen runtime sees it), then wait up to the stop timeout for the process
 * to be gone. A runtime that does not run is already stopped (0). */
int rtctl_stop(rtctl *rt, crit_err *e);

/* Start it: the lab comes up (idempotent: a running lab is reused, a dead
 * containerd restarted); an external runtime's start command runs with the
 * start timeout and must exit 0. */
int rtctl_start(rtctl *rt, crit_err *e);

int rtctl_restart(rtctl *rt, crit_err *e);

/* Lab only: take the whole lab down (lab_down) the same way rtctl_start
 * brings it up. -ENOTSUP for an external runtime. */
int rtctl_lab_down(rtctl *rt, crit_err *e);

/* The output of the last start/stop command or lab helper run ("" if none). */
const char *rtctl_last_output(const rtctl *rt);

#endif
