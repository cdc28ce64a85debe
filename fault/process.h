/* fault/process: kill, freeze, thaw and restart the runtime under test, timed in ms: how fast
 * it stops answering (and what its socket then looks like), and how fast it is ready again. */
#ifndef CRITIC_FAULT_PROCESS_H
#define CRITIC_FAULT_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "rtctl.h"
#include "sockfile.h"

typedef struct fault_proc_opts {
	int down_timeout_ms;  /* to stop answering, and a killed runtime to exit; 0 = 10000 */
	int poll_ms;          /* pause between socket probes; 0 = 2 */
	int answer_ms;        /* CRI Version deadline once connect() succeeds; 0 = 200 */
	int ready_timeout_ms; /* to answer Status with RuntimeReady true; 0 = 60000 */
	int ready_poll_ms;    /* pause between Status calls; 0 = 20 */
	int status_ms;        /* deadline of one Status call; 0 = 500 */
} fault_proc_opts;

/* Times are monotonic milliseconds (util_now_ms); 0 = did not happen.
 * Durations are measured from t_action; -1 = did not happen in time. */
typedef struct fault_proc_result {
	const char *what;      /* "SIGKILL", "SIGTERM", "SIGSTOP", "SIGCONT", "restart" */
	pid_t pid;             /* the runtime process acted on (0: none ran) */
	int64_t t_action_ms;   /* the signal was sent / the start began */

	/* Going down: probes every poll_ms (connect(), then a CRI Version when
	 * the connection is accepted). */
	int64_t t_last_up_ms;  /* start of the last probe that still got an answer */
	int64_t t_down_ms;     /* start of the first probe that got none */
	int64_t t_exit_ms;     /* first time the process was seen gone (zombie = gone) */
	int64_t down_ms;
	int64_t exit_ms;
	int probes;
	fault_sock_probe sock_down;  /* what the first failing probe found */
	fault_sock_probe sock_after; /* the socket once the process is gone (kill) or settled */

	/* Coming back. */
	int64_t t_started_ms;  /* the lab was up / the start command returned */
	int64_t t_ready_ms;    /* a Status answered with RuntimeReady true */
	int64_t start_ms;
	int64_t ready_ms;
	int status_calls;
	pid_t new_pid;
	int64_t new_age_ms;    /* restart: how long the new runtime process had existed
				* when it was ready (from /proc, 10 ms resolution), -1 unknown */
	char last_error[600];  /* the last failed Status while waiting, for reports */
} fault_proc_result;

/* Kill the runtime with SIGKILL or SIGTERM (anything else: -EINVAL), then
 * measure until it stops answering and its process is gone (both within
 * down_timeout_ms, else -ETIMEDOUT with r filled as far as it got). */
int fault_proc_kill(rtctl *rt, int sig, const fault_proc_opts *o, fault_proc_result *r, crit_err *e);

/* SIGSTOP: a hung runtime. Measures until it stops answering (connect()
 * still succeeds: the kernel queues connections in the listen backlog). */
int fault_proc_stop(rtctl *rt, const fault_proc_opts *o, fault_proc_result *r, crit_err *e);

/* SIGCONT, then measure until Status reports RuntimeReady again. */
int fault_proc_cont(rtctl *rt, const fault_proc_opts *o, fault_proc_result *r, crit_err *e);

/* Bring the runtime back: when it still runs it is stopped first
 * (rtctl_stop, timed in exit_ms); then rtctl_start and wait for Status
 * RuntimeReady. t_action is the start; start_ms is how long the start
 * took, ready_ms until it was ready. */
int fault_proc_restart(rtctl *rt, const fault_proc_opts *o, fault_proc_result *r, crit_err *e);

/* Call Status on a new connection every ready_poll_ms until RuntimeReady is
 * true; fills t_ready_ms / ready_ms (from r->t_action_ms) and status_calls. */
int fault_proc_wait_ready(const char *endpoint, const fault_proc_opts *o, fault_proc_result *r, crit_err *e);

/* One line: "SIGKILL pid 42: down after 1 ms (stale socket: refuses
 * connections), gone after 3 ms; ready after 812 ms". */
void fault_proc_describe(const fault_proc_result *r, char *buf, size_t len);

#endif
