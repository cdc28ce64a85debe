/* fault/process: signal the runtime and time what follows, by probing its
 * socket every few milliseconds and asking Status until it is ready. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "process.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cri.h"
#include "util.h"

typedef struct opts {
	int down_timeout_ms, poll_ms, answer_ms, ready_timeout_ms, ready_poll_ms, status_ms;
} opts;

static opts opts_of(const fault_proc_opts *o)
{
	opts d = { 10000, 2, 200, 60000, 20, 500 };
	if (o) {
		if (o->down_timeout_ms > 0)
			d.down_timeout_ms = o->down_timeout_ms;
		if (o->poll_ms > 0)
			d.poll_ms = o->poll_ms;
		if (o->answer_ms > 0)
			d.answer_ms = o->answer_ms;
		if (o->ready_timeout_ms > 0)
			d.ready_timeout_ms = o->ready_timeout_ms;
		if (o->ready_poll_ms > 0)
			d.ready_poll_ms = o->ready_poll_ms;
		if (o->status_ms > 0)
			d.status_ms = o->status_ms;
	}
	return d;
}

static void result_init(fault_proc_result *r, const char *what)
{
	memset(r, 0, sizeof *r);
	r->what = what;
	r->down_ms = r->exit_ms = r->start_ms = r->ready_ms = r->new_age_ms = -1;
	r->sock_down.grpc_status = r->sock_after.grpc_status = -1;
}

static int64_t since(const fault_proc_result *r, int64_t t)
{
	return t ? t - r->t_action_ms : -1;
}

/* Probe until a probe gets no answer, or the deadline. */
static bool wait_down(const char *sock, const opts *o, int64_t end, fault_proc_result *r)
{
	for (;;) {
		fault_sock_probe p;
		fault_sock_probe_path(sock, o->answer_ms, &p);
		r->probes++;
		if (fault_sock_state_down(p.state)) {
			r->t_down_ms = p.at_ms;
			r->down_ms = since(r, p.at_ms);
			r->sock_down = p;
			return true;
		}
		r->t_last_up_ms = p.at_ms;
		if (util_now_ms() >= end)
			return false;
		util_sleep_ms(o->poll_ms);
	}
}

/* Watch for the process to be gone (its state, not kill(0): a killed
 * process can linger as a zombie until its parent reaps it). */
static bool wait_exit(pid_t pid, const opts *o, int64_t end, fault_proc_result *r)
{
	for (;;) {
		if (!util_pid_alive(pid)) {
			r->t_exit_ms = util_now_ms();
			r->exit_ms = since(r, r->t_exit_ms);
			return true;
		}
		if (util_now_ms() >= end)
			return false;
		util_sleep_ms(o->poll_ms);
	}
}

static pid_t running_pid(rtctl *rt, const char *what, crit_err *e)
{
	pid_t pid = rtctl_pid(rt, e);
	if (pid == 0)
		return err_set(e, -ESRCH, "%s %s: it does not run", what, rtctl_describe(rt));
	return pid;
}

int fault_proc_kill(rtctl *rt, int sig, const fault_proc_opts *oo, fault_proc_result *r, crit_err *e)
{
	result_init(r, sig == SIGKILL ? "SIGKILL" : sig == SIGTERM ? "SIGTERM" : "kill");
	if (sig != SIGKILL && sig != SIGTERM)
		return err_set(e, -EINVAL, "kill %s: signal %d is neither SIGKILL nor SIGTERM", rtctl_describe(rt), sig);
	opts o = opts_of(oo);
	pid_t pid = running_pid(rt, r->what, e);
	if (pid < 0)
		return pid;
	r->pid = pid;
	r->t_action_ms = util_now_ms();
	if (kill(pid, sig) < 0)
		return err_set(e, -errno, "%s to %s (pid %d): %s", r->what, rtctl_describe(rt), (int)pid,
			       strerror(errno));
	int64_t end = r->t_action_ms + o.down_timeout_ms;
	const char *sock = rtctl_socket(rt);
	if (!wait_down(sock, &o, end, r))
		return err_set(e, -ETIMEDOUT, "%s to %s (pid %d): still answers on %s after %d ms", r->what,
			       rtctl_describe(rt), (int)pid, sock, o.down_timeout_ms);
	if (!wait_exit(pid, &o, end, r))
		return err_set(e, -ETIMEDOUT, "%s to %s (pid %d): stopped answering after %lld ms (%s) but still runs after %d ms",
			       r->what, rtctl_describe(rt), (int)pid, (long long)r->down_ms,
			       fault_sock_state_name(r->sock_down.state), o.down_timeout_ms);
	fault_sock_probe_path(sock, o.answer_ms, &r->sock_after);
	return 0;
}

int fault_proc_stop(rtctl *rt, const fault_proc_opts *oo, fault_proc_result *r, crit_err *e)
{
	result_init(r, "SIGSTOP");
	opts o = opts_of(oo);
	pid_t pid = running_pid(rt, r->what, e);
	if (pid < 0)
		return pid;
	r->pid = pid;
	r->t_action_ms = util_now_ms();
	if (kill(pid, SIGSTOP) < 0)
		return err_set(e, -errno, "SIGSTOP to %s (pid %d): %s", rtctl_describe(rt), (int)pid, strerror(errno));
	const char *sock = rtctl_socket(rt);
	if (!wait_down(sock, &o, r->t_action_ms + o.down_timeout_ms, r))
		return err_set(e, -ETIMEDOUT, "SIGSTOP to %s (pid %d): still answers on %s after %d ms",
			       rtctl_describe(rt), (int)pid, sock, o.down_timeout_ms);
	r->sock_after = r->sock_down;
	return 0;
}

/* One Status call on a new connection (so no reconnect backoff of an
 * earlier connection delays it): 1 when RuntimeReady is true, 0 when it
 * answered without it, < 0 when the call failed. */
static int status_ready(const char *endpoint, int status_ms, char *why, size_t whylen)
{
	crit_err e;
	err_clear(&e);
	cri_conn *conn = NULL;
	int rc = cri_connect(&conn, endpoint, NULL, status_ms, &e);
	if (rc < 0) {
		snprintf(why, whylen, "%.590s", e.msg);
		return rc;
	}
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *resp = NULL;
	rc = CRI_CALL_T(conn, Status, &req, &resp, status_ms, &e);
	if (rc < 0) {
		snprintf(why, whylen, "%.590s", e.msg);
	} else {
		rc = 0;
		snprintf(why, whylen, "Status on %s: no RuntimeReady condition", endpoint);
		for (size_t i = 0; resp->status && i < resp->status->n_conditions; i++) {
			const Runtime__V1__RuntimeCondition *c = resp->status->conditions[i];
			if (strcmp(c->type, "RuntimeReady") != 0)
				continue;
			rc = c->status ? 1 : 0;
			if (!c->status)
				snprintf(why, whylen, "Status on %s: RuntimeReady false: %s %s", endpoint, c->reason,
					 c->message);
		}
	}
	cri_free(resp);
	cri_close(conn);
	return rc;
}

int fault_proc_wait_ready(const char *endpoint, const fault_proc_opts *oo, fault_proc_result *r, crit_err *e)
{
	opts o = opts_of(oo);
	if (!r->t_action_ms)
		r->t_action_ms = util_now_ms();
	int64_t end = util_now_ms() + o.ready_timeout_ms;
	for (;;) {
		r->status_calls++;
		int rc = status_ready(endpoint, o.status_ms, r->last_error, sizeof r->last_error);
		if (rc == 1) {
			r->t_ready_ms = util_now_ms();
			r->ready_ms = since(r, r->t_ready_ms);
			return 0;
		}
		if (util_now_ms() >= end)
			return err_set(e, -ETIMEDOUT, "%s: not ready %d ms after %s (%d Status calls); last: %s", endpoint,
				       o.ready_timeout_ms, r->what ? r->what : "the fault", r->status_calls,
				       r->last_error);
		util_sleep_ms(o.ready_poll_ms);
	}
}

int fault_proc_cont(rtctl *rt, const fault_proc_opts *oo, fault_proc_result *r, crit_err *e)
{
	result_init(r, "SIGCONT");
	pid_t pid = running_pid(rt, r->what, e);
	if (pid < 0)
		return pid;
	r->pid = r->new_pid = pid;
	r->t_action_ms = util_now_ms();
	if (kill(pid, SIGCONT) < 0)
		return err_set(e, -errno, "SIGCONT to %s (pid %d): %s", rtctl_describe(rt), (int)pid, strerror(errno));
	return fault_proc_wait_ready(rtctl_endpoint(rt), oo, r, e);
}

/* How long pid has existed: its start time in /proc/PID/stat is in clock
 * ticks since boot (so 10 ms resolution at the usual 100 Hz). -1 unknown. */
static int64_t proc_age_ms(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	cleanup_free char *text = NULL;
	if (util_read_file(path, &text, NULL, NULL) < 0)
		return -1;
	const char *p = strrchr(text, ')');
	unsigned long long start = 0;
	/* state … starttime (field 22) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec ts;
	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return -1;
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return now - (int64_t)(start * 1000 / (unsigned long long)hz);
}

int fault_proc_restart(rtctl *rt, const fault_proc_opts *oo, fault_proc_result *r, crit_err *e)
{
	result_init(r, "restart");
	pid_t pid = rtctl_pid(rt, e);
	if (pid < 0)
		return pid;
	r->pid = pid;
	if (pid > 0) {
		int64_t t0 = util_now_ms();
		int rc = rtctl_stop(rt, e);
		if (rc < 0)
			return err_wrap(e, "restart");
		r->t_exit_ms = util_now_ms();
		r->exit_ms = r->t_exit_ms - t0; /* the stop, before the start began */
	}
	r->t_action_ms = util_now_ms();
	int rc = rtctl_start(rt, e);
	if (rc < 0)
		return err_wrap(e, "restart");
	r->t_started_ms = util_now_ms();
	r->start_ms = since(r, r->t_started_ms);
	if ((rc = fault_proc_wait_ready(rtctl_endpoint(rt), oo, r, e)) < 0)
		return err_wrap(e, "restart");
	pid_t np = rtctl_pid(rt, NULL);
	r->new_pid = np > 0 ? np : 0;
	int64_t age = np > 0 ? proc_age_ms(np) : -1;
	if (age >= 0)
		r->new_age_ms = age - (util_now_ms() - r->t_ready_ms);
	return 0;
}

void fault_proc_describe(const fault_proc_result *r, char *buf, size_t len)
{
	strbuf sb = { 0 };
	sb_printf(&sb, "%s", r->what ? r->what : "fault");
	if (r->pid)
		sb_printf(&sb, " pid %d", (int)r->pid);
	sb_printf(&sb, ":");
	if (r->t_down_ms)
		sb_printf(&sb, " down after %lld ms (%s; %d probes)", (long long)r->down_ms,
			  fault_sock_state_name(r->sock_down.state), r->probes);
	if (r->t_exit_ms)
		sb_printf(&sb, "%s %s after %lld ms", r->t_down_ms ? "," : "",
			  r->t_started_ms || r->t_ready_ms ? "stopped" : "gone", (long long)r->exit_ms);
	if (r->sock_after.state && r->sock_after.state != r->sock_down.state)
		sb_printf(&sb, ", then %s", fault_sock_state_name(r->sock_after.state));
	if (r->t_started_ms)
		sb_printf(&sb, "%s started in %lld ms", r->t_down_ms || r->t_exit_ms ? ";" : "", (long long)r->start_ms);
	if (r->t_ready_ms)
		sb_printf(&sb, "%s ready after %lld ms (%d Status calls)",
			  r->t_started_ms ? "," : r->t_down_ms || r->t_exit_ms ? ";" : "", (long long)r->ready_ms,
			  r->status_calls);
	if (r->new_pid && r->new_pid != r->pid)
		sb_printf(&sb, ", new pid %d", (int)r->new_pid);
	if (r->new_age_ms >= 0)
		sb_printf(&sb, " (its process %lld ms old when ready)", (long long)r->new_age_ms);
	snprintf(buf, len, "%s", sb.buf ? sb.buf : "");
	sb_free(&sb);
}
