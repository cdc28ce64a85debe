#include "tst.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "leaks.h"
#include "util.h"
#include "version.h"

static tst_suite *suites;

void tst_register(tst_suite *s)
{
	/* Keep areas in name order so --list and runs are stable. */
	tst_suite **pp = &suites;
	while (*pp && strcmp((*pp)->area, s->area) < 0)
		pp = &(*pp)->next;
	s->next = *pp;
	*pp = s;
}

const char *tst_verdict_name(tst_verdict v)
{
	static const char *const names[] = { "PASS", "FAIL", "SKIP", "TIMEOUT", "CRASH" };
	return names[v];
}

/* ---------------------------------------------------------------------- */
/* Inside the child                                                        */

#define MAX_DEFER 64
static struct { tst_cleanup_fn fn; void *arg; } defers[MAX_DEFER];
static int n_defers;
static bool in_cleanup;
static jmp_buf cleanup_jmp; /* a cleanup that fails hard resumes the others */
static char label_buf[256];
/* A killed test may have had a RunPodSandbox under way: its sweep looks
 * again for this long (the runtime may finish creating it after the kill). */
#define TST_SWEEP_LINGER_MS 3000
/* When the runner forked the current child (monotonic): call records are
 * timed from here. Set in the parent just before fork, inherited. */
static int64_t fork_start_us;
/* The shared fixture's values ("key\tvalue\n" lines) for the test about to
 * be forked: set in the parent just before fork, read in the child. */
static const char *fixture_kv;
/* In a fixture's setup child: its cleanups are dropped when it succeeds
 * (the objects outlive it; the teardown removes them). */
static bool in_fixture_setup;
/* In a test's child (not a fixture's): tell the runner at exit whether
 * anything with the test's labels is left (see report_clean). */
static bool in_test;
/* How long the sweep child forked next keeps looking (ms); parent-set. */
static int sweep_linger_ms;

static void write_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n <= 0 && errno != EINTR)
			break;
		if (n > 0)
			off += (size_t)n;
	}
}

/* Records on the report pipe, one a line, a kind letter first:
 *   F text   a failure          S text   the skip reason
 *   I text   a note             C method grpc_status start_us dur_us   a CRI call
 *   V name<TAB>version<TAB>api  the runtime's Version reply (preflight)
 *   X key<TAB>value  a shared fixture's value (its setup)
 *   K        the test left nothing with its labels (sent as it exits) */
static void report(tst_ctx *t, char kind, const char *msg)
{
	/* One record per line: newlines inside a message are folded. */
	strbuf sb = { 0 };
	sb_printf(&sb, "%c ", kind);
	for (const char *p = msg; *p; p++)
		sb_append(&sb, *p == '\n' ? " | " : p, *p == '\n' ? 3 : 1);
	sb_append(&sb, "\n", 1);
	write_all(t->report_fd, sb.buf, sb.len);
	sb_free(&sb);
}

/* The observer on a test's connection: one C record per call. Lines are far
 * below PIPE_BUF, so each write lands whole. */
static void observe_call(const cri_call_stat *st, void *arg)
{
	tst_ctx *t = arg;
	char line[160];
	int n = snprintf(line, sizeof line, "C %.60s %d %lld %lld\n", st->method, st->grpc_status,
			 (long long)(st->start_us - fork_start_us), (long long)st->dur_us);
	if (n > 0)
		write_all(t->report_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void vreport(tst_ctx *t, char kind, const char *file, int line, const char *fmt, va_list ap)
{
	char msg[2048];
	int off = 0;
	if (file) {
		const char *base = strrchr(file, '/');
		off = snprintf(msg, sizeof msg, "%s:%d: ", base ? base + 1 : file, line);
	}
	vsnprintf(msg + off, sizeof msg - (size_t)off, fmt, ap);
	report(t, kind, msg);
}

static void run_defers(tst_ctx *t)
{
	in_cleanup = true;
	while (n_defers > 0) {
		n_defers--;
		if (setjmp(cleanup_jmp) == 0)
			defers[n_defers].fn(t, defers[n_defers].arg);
	}
	in_cleanup = false;
}

/* A test ending on its own path asks the runtime for pods with its labels,
 * as the runner's sweep would; none: one K record, and the runner skips the
 * sweep (a fork and a connection saved per test). Killed, crashed or timed
 * out tests send nothing and are swept. The call is not the test's own:
 * it is left out of its call records. */
static void report_clean(tst_ctx *t)
{
	Runtime__V1__PodSandboxFilter filter = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry l1 = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT,
							  l2 = l1;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *sel[2] = { &l1, &l2 };
	l1.key = TST_LABEL_RUN;
	l1.value = (char *)t->env->run_id;
	l2.key = TST_LABEL_TEST;
	l2.value = label_buf;
	filter.n_label_selector = 2;
	filter.label_selector = sel;
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = &filter;
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	crit_err e;
	cri_set_observer(t->cri, NULL, NULL);
	if (CRI_CALL(t->cri, ListPodSandbox, &req, &resp, &e) == 0 && resp->n_items == 0)
		write_all(t->report_fd, "K\n", 2);
	cri_free(resp);
}

static noreturn void child_exit(tst_ctx *t, int code)
{
	if (in_fixture_setup && code == 0 && !t->failures)
		n_defers = 0;
	if (!in_cleanup)
		run_defers(t);
	if (in_test && t->cri)
		report_clean(t);
	cri_close(t->cri);
	_exit(code);
}

void tst_fail(tst_ctx *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(t, 'F', file, line, fmt, ap);
	va_end(ap);
	t->failures++;
}

noreturn void tst_fail_now(tst_ctx *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(t, 'F', file, line, fmt, ap);
	va_end(ap);
	t->failures++;
	if (in_cleanup)
		longjmp(cleanup_jmp, 1);
	child_exit(t, 1);
}

noreturn void tst_skip(tst_ctx *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(t, 'S', NULL, 0, fmt, ap);
	va_end(ap);
	child_exit(t, t->failures ? 1 : 0);
}

void tst_info(tst_ctx *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(t, 'I', NULL, 0, fmt, ap);
	va_end(ap);
}

void tst_defer(tst_ctx *t, tst_cleanup_fn fn, void *arg)
{
	if (n_defers >= MAX_DEFER)
		tst_fail_now(t, __FILE__, __LINE__, "too many cleanup actions (max %d)", MAX_DEFER);
	defers[n_defers].fn = fn;
	defers[n_defers].arg = arg;
	n_defers++;
}

const char *tst_image(tst_ctx *t, const char *role)
{
	for (size_t i = 0; i < t->env->n_images; i++)
		if (!strcmp(t->env->images[i].role, role))
			return t->env->images[i].ref;
	if (t->env->n_images == 0)
		tst_skip(t, "%s", TST_NO_IMAGES);
	tst_fail_now(t, __FILE__, __LINE__, "no image configured for role '%s'", role);
}

static void make_label(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s", name);
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '.';
}

const char *tst_test_label(tst_ctx *t)
{
	return label_buf;
}

void tst_fixture_set(tst_ctx *t, const char *key, const char *value)
{
	if (!in_fixture_setup)
		tst_fail_now(t, __FILE__, __LINE__, "tst_fixture_set('%s') outside a fixture's setup", key);
	if (strpbrk(key, "\t\n") || strchr(value, '\n'))
		tst_fail_now(t, __FILE__, __LINE__, "fixture value '%s': no tab in a key, no newline in either", key);
	char *line = util_strdup_printf("%s\t%s", key, value);
	report(t, 'X', line);
	free(line);
}

const char *tst_fixture_get(tst_ctx *t, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = fixture_kv; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > kl && !strncmp(p, key, kl) && p[kl] == '\t')
			return util_strdup_printf("%.*s", (int)(len - kl - 1), p + kl + 1);
		p += len + (nl ? 1 : 0);
	}
	tst_fail_now(t, __FILE__, __LINE__, "the shared fixture has no '%s' (is the test marked TST_FIXTURE?)", key);
}

/* A fixture's setup or teardown runs as a test named "<area>/fixture". */
static noreturn void child_fixture(const tst_env *env, const tst_suite *s, bool setup, int fd)
{
	char name[128];
	snprintf(name, sizeof name, "%s/fixture", s->area);
	tst_case tc = { .name = name, .desc = "shared fixture", .fn = setup ? s->fixture->setup : s->fixture->teardown };
	tst_ctx t = { .env = env, .tc = &tc, .report_fd = fd };
	err_clear(&t.err);
	make_label(label_buf, sizeof label_buf, name);
	in_fixture_setup = setup;
	if (cri_connect(&t.cri, env->endpoint, env->image_endpoint, env->timeout_ms, &t.err) < 0)
		tst_fail_now(&t, NULL, 0, "%s", t.err.msg);
	cri_set_observer(t.cri, observe_call, &t);
	if (tc.fn)
		tc.fn(&t);
	child_exit(&t, t.failures ? 1 : 0);
}

static noreturn void child_main(const tst_env *env, const tst_case *tc, int fd)
{
	tst_ctx t = { .env = env, .tc = tc, .report_fd = fd };
	err_clear(&t.err);
	make_label(label_buf, sizeof label_buf, tc->name);
	in_test = true;
	if (cri_connect(&t.cri, env->endpoint, env->image_endpoint, env->timeout_ms, &t.err) < 0)
		tst_fail_now(&t, NULL, 0, "%s", t.err.msg);
	cri_set_observer(t.cri, observe_call, &t);
	tc->fn(&t);
	child_exit(&t, t.failures ? 1 : 0);
}

/* ---------------------------------------------------------------------- */
/* In the parent                                                           */

typedef struct {
	const tst_env *env;
	tst_summary *sum;
	size_t n_selected, done;
	CU_pTest *cu_tests;      /* parallel to sum->results */
	bool tty;
	FILE *out;
	/* The live status line (env->progress only). */
	const char *current;     /* set outside the scheduler (the final sweep) */
	const char *phase;       /* "running", "cleaning up after" */
	int64_t run_start_ms, test_start_ms, drawn_ms;
	bool drawn;
	struct slot *slots;      /* the scheduler's jobs, n_slots of them */
	int n_slots;
} run_state;
static run_state *RS;
/* "name (3 s), name (0 s)" for the scheduler's busy slots; how many. */
static int running_names(char *buf, size_t len, int64_t now, const char **phase);

static const char *color(tst_verdict v)
{
	if (!RS->tty)
		return "";
	switch (v) {
	case TST_PASS: return "\033[32m";
	case TST_SKIP: return "\033[33m";
	default: return "\033[31m";
	}
}

static void fmt_elapsed(char *buf, size_t len, int64_t ms)
{
	long long s = (long long)(ms / 1000);
	if (s >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lld:%02lld", s / 60, s % 60);
}

/* Redraw the status line ("\r", clear to the end of the line, text) at most
 * every 200 ms; it never wraps, so one clear removes it. */
static void progress_draw(bool force)
{
	if (!RS || !RS->env->progress)
		return;
	int64_t now = util_now_ms();
	if (!force && RS->drawn && now - RS->drawn_ms < 200)
		return;
	char run[32], line[512], names[400];
	const char *phase = NULL;
	int busy = running_names(names, sizeof names, now, &phase);
	if (!RS->current && !busy)
		return;
	fmt_elapsed(run, sizeof run, now - RS->run_start_ms);
	if (RS->current)
		snprintf(line, sizeof line, "[%zu/%zu done] %s %s (%.0f s) · elapsed %s", RS->done, RS->n_selected,
			 RS->phase, RS->current, (now - RS->test_start_ms) / 1000.0, run);
	else if (busy == 1)
		snprintf(line, sizeof line, "[%zu/%zu done] %s %s · elapsed %s", RS->done, RS->n_selected, phase, names,
			 run);
	else
		snprintf(line, sizeof line, "[%zu/%zu done] %d running: %s · elapsed %s", RS->done, RS->n_selected,
			 busy, names, run);
	struct winsize ws;
	size_t width = ioctl(fileno(RS->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
	/* Cut at the terminal's width, counting UTF-8 characters, not bytes. */
	size_t cols = 0, i = 0;
	for (; line[i]; i++) {
		if (((unsigned char)line[i] & 0xc0) != 0x80 && ++cols >= width)
			break;
	}
	line[i] = '\0';
	fprintf(RS->out, "\r\033[K%s", line);
	fflush(RS->out);
	RS->drawn = true;
	RS->drawn_ms = now;
}

static void progress_clear(void)
{
	if (RS && RS->drawn) {
		fputs("\r\033[K", RS->out);
		RS->drawn = false;
	}
}

/* What one forked child reported, parsed as it arrives. */
typedef struct fork_out {
	strbuf detail;       /* F, S and I records in order, as printed */
	strbuf notes;        /* I records only */
	bool skipped, failed;
	tst_call *calls;
	size_t n_calls, cap_calls, calls_dropped;
	bool has_version;
	char version[3][128]; /* runtime name, version, API */
	strbuf fixture;      /* X records: "key\tvalue\n" */
	bool clean;          /* K: the test found nothing of its own left */
} fork_out;

static void fork_out_free(fork_out *o)
{
	sb_free(&o->detail);
	sb_free(&o->notes);
	sb_free(&o->fixture);
	free(o->calls);
	memset(o, 0, sizeof *o);
}

static void take_call(fork_out *o, const char *text)
{
	tst_call c = { 0 };
	long long start, dur;
	if (sscanf(text, "%47s %d %lld %lld", c.method, &c.grpc_status, &start, &dur) != 4)
		return;
	if (o->n_calls >= TST_MAX_CALLS) {
		o->calls_dropped++;
		return;
	}
	if (o->n_calls == o->cap_calls) {
		size_t cap = o->cap_calls ? o->cap_calls * 2 : 32;
		tst_call *n = realloc(o->calls, cap * sizeof *n);
		if (!n) {
			o->calls_dropped++;
			return;
		}
		o->calls = n;
		o->cap_calls = cap;
	}
	c.start_us = start;
	c.dur_us = dur;
	o->calls[o->n_calls++] = c;
}

static void take_record(fork_out *o, const char *line)
{
	char kind = line[0];
	const char *text = kind && line[1] ? line + 2 : "";
	switch (kind) {
	case 'S':
	case 'F':
	case 'I':
		if (kind == 'S')
			o->skipped = true;
		if (kind == 'F')
			o->failed = true;
		sb_printf(&o->detail, "%s%s%s", o->detail.len ? "\n" : "", kind == 'I' ? "note: " : "", text);
		if (kind == 'I')
			sb_printf(&o->notes, "%s%s", o->notes.len ? "\n" : "", text);
		break;
	case 'C':
		take_call(o, text);
		break;
	case 'X':
		sb_printf(&o->fixture, "%s\n", text);
		break;
	case 'K':
		o->clean = true;
		break;
	case 'V': {
		const char *p = text;
		for (int i = 0; i < 3; i++) {
			size_t n = strcspn(p, "\t");
			snprintf(o->version[i], sizeof o->version[i], "%.*s", (int)n, p);
			p += n + (p[n] ? 1 : 0);
		}
		o->has_version = true;
		break;
	}
	default:
		break;
	}
}

/* Hand each complete line of in to take_record; keep the partial rest. */
static void take_lines(fork_out *o, strbuf *in, bool final)
{
	size_t start = 0;
	for (;;) {
		char *nl = in->len > start ? memchr(in->buf + start, '\n', in->len - start) : NULL;
		if (!nl)
			break;
		*nl = '\0';
		take_record(o, in->buf + start);
		start = (size_t)(nl - in->buf) + 1;
	}
	if (final && start < in->len) {
		sb_append(in, "", 1);
		take_record(o, in->buf + start);
		start = in->len;
	}
	if (start) {
		memmove(in->buf, in->buf + start, in->len - start);
		in->len -= start;
	}
}

/* Interrupts: the handler only notes them; the loops below act on them.
 * sig_first: the first SIGINT/SIGTERM (stop after sweeping); sig_abort: a
 * SIGINT after it (stop at once). */
static volatile sig_atomic_t sig_first, sig_abort;

static void on_signal(int sig)
{
	if (sig_first && sig == SIGINT)
		sig_abort = 1;
	if (!sig_first)
		sig_first = sig;
}

/* Wait for pid, also through interrupted waits. */
static void reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* A forked child the parent watches: its process group, report pipe and
 * deadline. Started by fjob_start, driven by fjob_pump (reads) and
 * fjob_settle (deadline, interrupts, exit), judged by fjob_verdict. */
typedef void (*child_fn)(const tst_env *env, const void *arg, int fd);

typedef struct fjob {
	pid_t pid;
	int fd;              /* read end of the report pipe; -1 once at EOF */
	strbuf in;           /* a partial record line */
	fork_out o;
	int64_t start, deadline;
	int timeout_s;
	bool interruptible;  /* killed on the first interrupt (tests), not only on a second */
	bool timed_out, stopped, exited;
	int status;
} fjob;

/* Fork fn in its own process group. On failure the job is already over
 * (exited, with the reason in its detail). */
static void fjob_start(fjob *j, const tst_env *env, child_fn fn, const void *arg, int timeout_s, bool interruptible)
{
	int fds[2];
	memset(j, 0, sizeof *j);
	j->fd = -1;
	j->start = util_now_ms();
	j->deadline = j->start + (int64_t)timeout_s * 1000;
	j->timeout_s = timeout_s;
	j->interruptible = interruptible;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		sb_printf(&j->o.detail, "pipe: %s", strerror(errno));
		j->exited = true;
		j->status = 1;
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if (RS)
		fflush(RS->out);
	fork_start_us = util_now_us();
	pid_t pid = fork();
	if (pid < 0) {
		sb_printf(&j->o.detail, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		j->exited = true;
		j->status = 1;
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		close(fds[0]);
		/* Whatever a test prints goes where the runner's lines go, so
		 * stdout stays clean when it carries TAP. */
		if (env->out && env->out != stdout)
			dup2(fileno(env->out), STDOUT_FILENO);
		fn(env, arg, fds[1]);
		_exit(0);
	}
	setpgid(pid, pid);
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->fd = fds[0];
}

/* Take whatever the pipe holds now. */
static void fjob_pump(fjob *j)
{
	while (j->fd >= 0) {
		char buf[4096];
		ssize_t n = read(j->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(j->fd);
			j->fd = -1;
			take_lines(&j->o, &j->in, true);
			return;
		}
		sb_append(&j->in, buf, (size_t)n);
		take_lines(&j->o, &j->in, false);
	}
}

/* Act on the deadline, interrupts and the child's exit; true once the job
 * is over (its process group killed and the child reaped). */
static bool fjob_settle(fjob *j, int64_t now)
{
	if (j->exited)
		return true;
	bool kill_it = false;
	if (sig_abort || (j->interruptible && sig_first)) {
		j->stopped = true;
		kill_it = true;
	} else if (now >= j->deadline) {
		j->timed_out = true;
		kill_it = true;
	} else if (j->fd < 0) {
		/* The pipe closed: the child is exiting (bounded by the deadline). */
		pid_t r;
		while ((r = waitpid(j->pid, &j->status, WNOHANG)) < 0 && errno == EINTR)
			;
		if (r == j->pid || (r < 0 && errno == ECHILD)) {
			/* Reap any grandchildren the test left in its group. */
			kill(-j->pid, SIGKILL);
			j->exited = true;
		}
		return j->exited;
	}
	if (!kill_it)
		return false;
	kill(-j->pid, SIGKILL);
	reap(j->pid, &j->status);
	if (j->fd >= 0) {
		fjob_pump(j); /* what it wrote before it died */
		if (j->fd >= 0) {
			close(j->fd);
			j->fd = -1;
			take_lines(&j->o, &j->in, true);
		}
	}
	j->exited = true;
	return true;
}

/* The job's verdict and duration; its records stay in j->o. */
static tst_verdict fjob_verdict(fjob *j, int64_t *dur_ms)
{
	strbuf *detail = &j->o.detail;
	sb_free(&j->in);
	*dur_ms = util_now_ms() - j->start;
	if (!j->pid)
		return TST_CRASH; /* never started: pipe or fork failed */
	if (j->stopped) {
		sb_printf(detail, "%sinterrupted after %.1f s: its process group was killed", detail->len ? "\n" : "",
			  *dur_ms / 1000.0);
		return TST_SKIP;
	}
	if (j->timed_out) {
		sb_printf(detail, "%stest did not finish within %d s; its process group was killed",
			  detail->len ? "\n" : "", j->timeout_s);
		return TST_TIMEOUT;
	}
	int status = j->status;
	if (WIFSIGNALED(status)) {
		sb_printf(detail, "%stest process died of signal %d (%s)", detail->len ? "\n" : "",
			  WTERMSIG(status), strsignal(WTERMSIG(status)));
		return TST_CRASH;
	}
	if (j->o.failed || WEXITSTATUS(status) != 0) {
		if (!j->o.failed)
			sb_printf(detail, "%stest process exited with status %d", detail->len ? "\n" : "",
				  WEXITSTATUS(status));
		return TST_FAIL;
	}
	return j->o.skipped ? TST_SKIP : TST_PASS;
}

/* Wait for one job alone (the preflight, the final sweep). */
static tst_verdict run_forked(const tst_env *env, child_fn fn, const void *arg, int timeout_s, bool interruptible,
			      fork_out *o, int64_t *dur_ms)
{
	fjob j;
	fjob_start(&j, env, fn, arg, timeout_s, interruptible);
	while (!fjob_settle(&j, util_now_ms())) {
		progress_draw(false);
		/* Short polls: an interrupt is acted on within ~100 ms. */
		struct pollfd p = { .fd = j.fd, .events = POLLIN };
		if (j.fd < 0)
			util_sleep_ms(2);
		else if (poll(&p, 1, 100) > 0)
			fjob_pump(&j);
	}
	tst_verdict v = fjob_verdict(&j, dur_ms);
	*o = j.o;
	return v;
}
static void child_test(const tst_env *env, const void *arg, int fd)
{
	child_main(env, arg, fd);
}

/* Remove what a test (label value, or NULL for the whole run) left behind. */
static void child_sweep(const tst_env *env, const void *arg, int fd)
{
	const char *test_label = arg;
	cri_conn *c;
	crit_err e;
	tst_ctx t = { .env = env, .report_fd = fd };
	if (cri_connect(&c, env->endpoint, NULL, env->timeout_ms, &e) < 0) {
		report(&t, 'F', e.msg);
		_exit(1);
	}
	Runtime__V1__PodSandboxFilter filter = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry l1 = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT,
							  l2 = l1;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *sel[2] = { &l1, &l2 };
	l1.key = TST_LABEL_RUN;
	l1.value = (char *)env->run_id;
	l2.key = TST_LABEL_TEST;
	l2.value = (char *)test_label;
	filter.n_label_selector = test_label ? 2 : 1;
	filter.label_selector = sel;
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	req.filter = &filter;
	/* A killed test's RunPodSandbox may still complete in the runtime
	 * after the kill: its sweep looks again for sweep_linger_ms. */
	int64_t linger_end = util_now_ms() + sweep_linger_ms;
	int left = 0;
	for (;;) {
		Runtime__V1__ListPodSandboxResponse *resp = NULL;
		if (CRI_CALL(c, ListPodSandbox, &req, &resp, &e) < 0) {
			report(&t, 'F', e.msg);
			_exit(1);
		}
		for (size_t i = 0; i < resp->n_items; i++) {
			const char *id = resp->items[i]->id;
			Runtime__V1__StopPodSandboxRequest sr = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
			Runtime__V1__RemovePodSandboxRequest rr = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
			Runtime__V1__StopPodSandboxResponse *sresp = NULL;
			Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
			sr.pod_sandbox_id = rr.pod_sandbox_id = (char *)id;
			char msg[1400];
			snprintf(msg, sizeof msg, "left behind: pod sandbox %.12s (%s), removed by the runner",
				 id, resp->items[i]->metadata ? resp->items[i]->metadata->name : "?");
			report(&t, 'I', msg);
			if (CRI_CALL(c, StopPodSandbox, &sr, &sresp, &e) < 0 ||
			    CRI_CALL(c, RemovePodSandbox, &rr, &rresp, &e) < 0) {
				report(&t, 'F', e.msg);
				left++;
			}
			cri_free(sresp);
			cri_free(rresp);
		}
		cri_free(resp);
		if (util_now_ms() >= linger_end)
			break;
		util_sleep_ms(250);
	}
	if (!test_label) { /* what the runtime leaked since the run started (harness/leaks.h) */
		char lf[3000], ln[3000];
		leaks_run_end(c, lf, sizeof lf, ln, sizeof ln);
		/* a record a line: the report pipe is line-based */
		for (char *line = ln, *next; *ln && line; line = next) {
			if ((next = strchr(line, '\n')))
				*next++ = '\0';
			report(&t, 'I', line);
		}
		for (char *line = lf, *next; *lf && line; line = next) {
			if ((next = strchr(line, '\n')))
				*next++ = '\0';
			report(&t, 'F', line);
		}
		if (lf[0])
			left++;
		/* Tests remove their pods' log dirs themselves; a shared fixture's
		 * pods went with its sweep, their log dirs go now, with the run's. */
		char logs[PATH_MAX];
		snprintf(logs, sizeof logs, "%s/%s", CLEANUP_LOG_ROOT, env->run_id);
		if (!left && cleanup_safe_name(env->run_id) && util_rm_rf(logs, &e) < 0) {
			report(&t, 'F', e.msg);
			left++;
		}
	}
	cri_close(c);
	_exit(left ? 1 : 0);
}

/* Before any test: does the endpoint answer Version at all? One clear
 * error beats every test failing the same way. */
static void child_preflight(const tst_env *env, const void *arg, int fd)
{
	cri_conn *c;
	crit_err e;
	tst_ctx t = { .env = env, .report_fd = fd };
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *resp = NULL;
	if (cri_connect(&c, env->endpoint, env->image_endpoint, env->timeout_ms, &e) < 0 ||
	    CRI_CALL(c, Version, &req, &resp, &e) < 0) {
		report(&t, 'F', e.msg);
		_exit(1);
	}
	char line[600];
	snprintf(line, sizeof line, "%s %s (CRI %s)", resp->runtime_name, resp->runtime_version,
		 resp->runtime_api_version);
	report(&t, 'I', line);
	snprintf(line, sizeof line, "%.127s\t%.127s\t%.63s", resp->runtime_name, resp->runtime_version,
		 resp->runtime_api_version);
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
	report(&t, 'V', line);
	_exit(0);
}

/* The image roles tests outside the image suite use: pulled before the
 * first test, so that image-store tests counting ListImages can run beside
 * them (image-a and image-b belong to the image suite), and so that every
 * test gets the registry's current content of each tag. */
static const char *const shared_roles[] = { "busybox", "pause", "user-uid", "user-name" };

static void child_prepull(const tst_env *env, const void *arg, int fd)
{
	cri_conn *c;
	crit_err e;
	tst_ctx t = { .env = env, .report_fd = fd };
	if (cri_connect(&c, env->endpoint, env->image_endpoint, env->timeout_ms, &e) < 0) {
		report(&t, 'I', e.msg);
		_exit(0);
	}
	for (size_t r = 0; r < ARRAY_SIZE(shared_roles); r++)
		for (size_t i = 0; i < env->n_images; i++) {
			if (strcmp(env->images[i].role, shared_roles[r]))
				continue;
			/* Pulled even when present: a tag the lab re-pushed with new
			 * content (critic upgraded, images rebuilt) must not be
			 * served from the runtime's stale copy. */
			Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
			spec.image = (char *)env->images[i].ref;
			Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
			Runtime__V1__PullImageResponse *presp = NULL;
			preq.image = &spec;
			if (CRI_CALL_T(c, PullImage, &preq, &presp, 6 * env->timeout_ms, &e) < 0) {
				char line[1200];
				snprintf(line, sizeof line, "pull of %s before the tests: %s", env->images[i].ref, e.msg);
				report(&t, 'I', line);
			}
			cri_free(presp);
		}
	cri_close(c);
	_exit(0);
}

static bool matches(const regex_t *re, const char *s)
{
	return re && regexec(re, s, 0, NULL, 0) == 0;
}

static const char *unmet_need(const tst_env *env, const tst_case *tc)
{
	if ((tc->needs & TST_NEED_ROOT) && geteuid() != 0)
		return "needs root";
	if ((tc->needs & TST_EXTENDED) && !env->extended)
		return "extended check, beyond what the kubelet relies on; run with --extended";
	if ((tc->needs & TST_NEED_LAB) && !env->is_lab)
		return "needs critic's lab (it controls the runtime process)";
	return NULL;
}

/* Print text's lines indented beneath a test's line. */
static void print_indented(FILE *out, char *text)
{
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		fprintf(out, "        %s\n", line);
	}
}

/* ---------------------------------------------------------------------- */
/* The scheduler: up to env->parallel tests at once, each followed by the   */
/* sweep of its labels in the same slot; TST_SERIAL tests run alone.        */

typedef enum { SLOT_FREE, SLOT_TEST, SLOT_SWEEP, SLOT_FX_UP, SLOT_FX_DOWN, SLOT_FX_SWEEP } slot_kind;

struct slot {
	slot_kind kind;
	size_t idx;          /* SLOT_TEST, SLOT_SWEEP: into sum->results */
	struct area *fx;     /* SLOT_FX_*: whose fixture */
	fjob job;
	fork_out run;        /* the test's records, kept while its sweep runs */
	int64_t test_start_ms;
	char label[256];     /* the sweep child's argument */
};

/* A suite's shared fixture as the scheduler sees it. */
struct area {
	const tst_suite *suite;
	enum { FX_IDLE, FX_SETUP, FX_READY, FX_FAILED, FX_DOWN, FX_DONE } state;
	size_t users;        /* its TST_FIXTURE tests not finished yet */
	strbuf kv;           /* the setup's values */
	char *why;           /* why the setup failed or skipped, heap */
	tst_verdict verdict; /* FX_FAILED: FAIL, or SKIP when the setup skipped */
	char name[128];      /* "<area>/fixture" */
};

static const char *slot_name(const struct slot *sl)
{
	return sl->fx ? sl->fx->name : RS->sum->results[sl->idx].tc->name;
}

static int running_names(char *buf, size_t len, int64_t now, const char **phase)
{
	int n = 0;
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; RS && RS->slots && i < RS->n_slots; i++) {
		const struct slot *sl = &RS->slots[i];
		if (sl->kind == SLOT_FREE)
			continue;
		*phase = sl->kind == SLOT_TEST || sl->kind == SLOT_FX_UP ? "running" : "cleaning up after";
		if (off < len) {
			int k = snprintf(buf + off, len - off, "%s%s (%.0f s)", n ? ", " : "", slot_name(sl),
					 (now - sl->test_start_ms) / 1000.0);
			if (k > 0)
				off += (size_t)k;
		}
		n++;
	}
	return n;
}

/* The test and its sweep are over: print its line, keep its records. */
static void finish_test(struct slot *sl, bool swept, tst_verdict sv)
{
	tst_result *r = &RS->sum->results[sl->idx];
	fork_out *run = &sl->run, *sweep = &sl->job.o;
	if (swept) {
		if (sweep->detail.len)
			sb_printf(&run->detail, "%s%s", run->detail.len ? "\n" : "", sweep->detail.buf);
		if (sweep->notes.len)
			sb_printf(&run->notes, "%s%s", run->notes.len ? "\n" : "", sweep->notes.buf);
		if (sv != TST_PASS && !sig_abort && r->verdict == TST_PASS)
			r->verdict = TST_FAIL;
	}
	fork_out_free(sweep);
	sl->kind = SLOT_FREE;
	progress_clear();

	RS->done++;
	FILE *out = RS->out;
	fprintf(out, "[%*zu/%zu] %s%-7s%s %s (%.2f s)\n", RS->n_selected >= 100 ? 3 : 2, RS->done, RS->n_selected,
		color(r->verdict), tst_verdict_name(r->verdict), RS->tty ? "\033[0m" : "", r->tc->name,
		r->dur_ms / 1000.0);
	if (run->detail.len) {
		char *copy = strdup(run->detail.buf);
		if (copy)
			print_indented(out, copy);
		free(copy);
	}
	fflush(out);
	r->detail = run->detail.buf;
	r->notes = run->notes.buf;
	r->calls = run->calls;
	r->n_calls = run->n_calls;
	r->calls_dropped = run->calls_dropped;
	sb_free(&run->fixture);
	memset(run, 0, sizeof *run);
}

static void child_fixture_up(const tst_env *env, const void *arg, int fd)
{
	child_fixture(env, arg, true, fd);
}

static void child_fixture_down(const tst_env *env, const void *arg, int fd)
{
	child_fixture(env, arg, false, fd);
}

/* A fixture's job ended: setup -> ready (or failed); teardown -> its sweep -> done. */
static void fixture_advance(struct slot *sl)
{
	struct area *a = sl->fx;
	int64_t ms;
	tst_verdict v = fjob_verdict(&sl->job, &ms);
	fork_out *o = &sl->job.o;
	if (sl->kind == SLOT_FX_UP) {
		if (v == TST_PASS) {
			a->state = FX_READY;
			a->kv = o->fixture;
			memset(&o->fixture, 0, sizeof o->fixture);
		} else {
			a->state = FX_FAILED;
			a->verdict = v == TST_SKIP ? TST_SKIP : TST_FAIL;
			a->why = util_strdup_printf("%s %s: %s", a->name, v == TST_SKIP ? "skipped" : "failed",
						    o->detail.len ? o->detail.buf : tst_verdict_name(v));
			/* What a failed setup created goes with the fixture's labels. */
		}
		fork_out_free(o);
		if (a->state == FX_FAILED && !sig_abort) {
			make_label(sl->label, sizeof sl->label, a->name);
			fjob_start(&sl->job, RS->env, child_sweep, sl->label, 60, false);
			sl->kind = SLOT_FX_SWEEP;
			return;
		}
		sl->kind = SLOT_FREE;
		return;
	}
	if (v != TST_PASS && v != TST_SKIP) {
		progress_clear();
		fprintf(RS->out, "        %s %s: %s\n", a->name, sl->kind == SLOT_FX_DOWN ? "teardown" : "sweep",
			o->detail.len ? o->detail.buf : tst_verdict_name(v));
	}
	fork_out_free(o);
	if (sl->kind == SLOT_FX_DOWN && !sig_abort) {
		make_label(sl->label, sizeof sl->label, a->name);
		fjob_start(&sl->job, RS->env, child_sweep, sl->label, 60, false);
		sl->kind = SLOT_FX_SWEEP;
		return;
	}
	if (a->state == FX_DOWN)
		a->state = FX_DONE;
	sl->kind = SLOT_FREE;
}

static struct area *area_of(struct area *areas, size_t n_areas, const tst_result *r)
{
	for (size_t i = 0; i < n_areas; i++)
		if (areas[i].suite == r->suite)
			return &areas[i];
	return NULL;
}

/* A slot's job ended: a test goes on to its sweep, a sweep finishes the test. */
static void slot_advance(struct slot *sl, struct area *areas, size_t n_areas)
{
	if (sl->fx) {
		fixture_advance(sl);
		return;
	}
	tst_result *r = &RS->sum->results[sl->idx];
	if (sl->kind == SLOT_TEST) {
		r->verdict = fjob_verdict(&sl->job, &r->dur_ms);
		sl->run = sl->job.o;
		memset(&sl->job.o, 0, sizeof sl->job.o);
		if (sig_abort) {
			finish_test(sl, false, TST_SKIP);
		} else if (sl->run.clean && !sl->job.stopped && !sl->job.timed_out && WIFEXITED(sl->job.status)) {
			finish_test(sl, false, TST_PASS); /* nothing left: no sweep */
		} else {
			/* Safety net: whatever the test left (it crashed, timed out,
			 * or forgot) is found by its labels and removed. The labels
			 * name the run and the test: other tests' objects are safe. */
			make_label(sl->label, sizeof sl->label, r->tc->name);
			bool killed = sl->job.stopped || sl->job.timed_out || !WIFEXITED(sl->job.status);
			sweep_linger_ms = killed ? TST_SWEEP_LINGER_MS : 0;
			fjob_start(&sl->job, RS->env, child_sweep, sl->label, 60, false);
			sweep_linger_ms = 0;
			sl->kind = SLOT_SWEEP;
			return;
		}
	} else {
		int64_t ms;
		tst_verdict sv = fjob_verdict(&sl->job, &ms);
		finish_test(sl, !sig_abort, sv);
	}
	struct area *a = r->tc->needs & TST_FIXTURE ? area_of(areas, n_areas, r) : NULL;
	if (a)
		a->users--;
}

static bool slot_serial(const struct slot *sl)
{
	return sl->kind != SLOT_FREE && !sl->fx && (RS->sum->results[sl->idx].tc->needs & TST_SERIAL);
}

static bool slot_image_store(const struct slot *sl)
{
	return sl->kind != SLOT_FREE && !sl->fx && (RS->sum->results[sl->idx].tc->needs & TST_IMAGE_STORE);
}

static struct slot *free_slot(struct slot *slots, int width)
{
	for (int i = 0; i < width; i++)
		if (slots[i].kind == SLOT_FREE)
			return &slots[i];
	return NULL;
}

static void start_fixture_job(struct slot *sl, struct area *a, bool up)
{
	memset(sl, 0, sizeof *sl);
	sl->fx = a;
	sl->kind = up ? SLOT_FX_UP : SLOT_FX_DOWN;
	sl->test_start_ms = util_now_ms();
	a->state = up ? FX_SETUP : FX_DOWN;
	fixture_kv = a->kv.buf;
	fjob_start(&sl->job, RS->env, up ? child_fixture_up : child_fixture_down, a->suite,
		   a->suite->fixture->timeout_s > 0 ? a->suite->fixture->timeout_s : 60, !up);
	fixture_kv = NULL;
}

/* A test that cannot run because its area's fixture failed: its line now. */
static void fail_for_fixture(struct slot *sl, size_t idx, struct area *a)
{
	tst_result *r = &RS->sum->results[idx];
	memset(sl, 0, sizeof *sl);
	sl->idx = idx;
	r->verdict = a->verdict;
	r->start_wall_ns = util_wall_ns();
	sb_printf(&sl->run.detail, "%s", a->why);
	finish_test(sl, false, TST_PASS);
	a->users--;
}

/* Run the tests order names (indexes into sum->results), up to width at
 * once. A TST_SERIAL test starts only when no other test (or sweep) runs
 * and nothing starts beside it. A TST_FIXTURE test waits for its area's
 * fixture; later tests go ahead of it meanwhile. Lines are printed as
 * tests finish. */
static void schedule(run_state *rs, const size_t *order, size_t n_order, int width)
{
	struct slot one, *slots = width > 1 ? calloc((size_t)width, sizeof *slots) : NULL;
	if (!slots) {
		width = 1;
		slots = &one;
		memset(&one, 0, sizeof one);
	}
	/* The areas with a fixture some selected test uses. */
	struct area *areas = calloc(n_order ? n_order : 1, sizeof *areas);
	size_t n_areas = 0;
	bool *started = calloc(n_order ? n_order : 1, sizeof *started);
	for (size_t k = 0; areas && k < n_order; k++) {
		const tst_result *r = &rs->sum->results[order[k]];
		if (!(r->tc->needs & TST_FIXTURE))
			continue;
		struct area *a = area_of(areas, n_areas, r);
		if (!a) {
			a = &areas[n_areas++];
			a->suite = r->suite;
			snprintf(a->name, sizeof a->name, "%s/fixture", r->suite->area);
			if (!r->suite->fixture) {
				a->state = FX_FAILED;
				a->verdict = TST_FAIL;
				a->why = util_strdup_printf("the test is marked TST_FIXTURE, but area %s has no fixture",
							    r->suite->area);
			}
		}
		a->users++;
	}
	rs->slots = slots;
	rs->n_slots = width;
	size_t first = 0; /* every order[k] with k < first has started */
	for (;;) {
		int busy = 0;
		bool serial_busy = false, store_busy = false;
		for (int i = 0; i < width; i++) {
			busy += slots[i].kind != SLOT_FREE;
			serial_busy |= slot_serial(&slots[i]);
			store_busy |= slot_image_store(&slots[i]);
		}
		/* Fixtures nobody needs any more are torn down (also after an
		 * interrupt, not after a second one). */
		for (size_t i = 0; i < n_areas && !sig_abort; i++) {
			struct area *a = &areas[i];
			if (a->state == FX_READY && (a->users == 0 || sig_first) && busy < width && !serial_busy) {
				start_fixture_job(free_slot(slots, width), a, false);
				busy++;
			}
		}
		for (size_t k = first; !sig_first && k < n_order && busy < width && !serial_busy; k++) {
			if (started && started[k])
				continue;
			tst_result *r = &rs->sum->results[order[k]];
			bool serial = r->tc->needs & TST_SERIAL;
			if (serial && busy > 0)
				break; /* it waits for an empty node; nothing passes it */
			bool store = r->tc->needs & TST_IMAGE_STORE;
			if (store && store_busy)
				continue; /* one image-store test at a time; others go first */
			struct area *a = areas && (r->tc->needs & TST_FIXTURE) ? area_of(areas, n_areas, r) : NULL;
			if (a && a->state == FX_IDLE) {
				start_fixture_job(free_slot(slots, width), a, true);
				busy++;
				progress_draw(true);
				continue;
			}
			if (a && a->state == FX_SETUP)
				continue; /* later tests go first */
			if (started)
				started[k] = true;
			if (k == first)
				first++;
			if (a && a->state != FX_READY) {
				fail_for_fixture(free_slot(slots, width), order[k], a);
				continue;
			}
			struct slot *sl = free_slot(slots, width);
			memset(sl, 0, sizeof *sl);
			sl->kind = SLOT_TEST;
			sl->idx = order[k];
			sl->test_start_ms = util_now_ms();
			r->start_wall_ns = util_wall_ns();
			int tmo = r->tc->timeout_s > 0 ? r->tc->timeout_s : rs->env->test_timeout_s;
			fixture_kv = a ? a->kv.buf : NULL;
			fjob_start(&sl->job, rs->env, child_test, r->tc, tmo, true);
			fixture_kv = NULL;
			busy++;
			serial_busy = serial;
			store_busy = store_busy || store;
			progress_draw(true);
			if (!started)
				break; /* no memory to track more: one at a time */
		}
		while (first < n_order && started && started[first])
			first++;
		if (busy == 0) {
			bool teardown_due = false;
			for (size_t i = 0; i < n_areas && !sig_abort; i++)
				teardown_due |= areas[i].state == FX_READY && (areas[i].users == 0 || sig_first);
			if (!teardown_due && (sig_first || first >= n_order))
				break;
			if (teardown_due)
				continue;
		}
		/* Short polls: deadlines and interrupts are acted on within ~100 ms. */
		struct pollfd pfd[width];
		int np = 0, wait_ms = 100;
		for (int i = 0; i < width; i++) {
			if (slots[i].kind == SLOT_FREE)
				continue;
			if (slots[i].job.fd >= 0)
				pfd[np++] = (struct pollfd){ .fd = slots[i].job.fd, .events = POLLIN };
			else
				wait_ms = 2; /* at EOF, waiting for the exit */
		}
		if (np)
			poll(pfd, (nfds_t)np, wait_ms);
		else if (busy)
			util_sleep_ms(wait_ms);
		int64_t now = util_now_ms();
		for (int i = 0; i < width; i++) {
			struct slot *sl = &slots[i];
			if (sl->kind == SLOT_FREE)
				continue;
			fjob_pump(&sl->job);
			if (fjob_settle(&sl->job, now))
				slot_advance(sl, areas, n_areas);
		}
		progress_draw(false);
	}
	/* Stopped before these started. */
	for (size_t k = first; k < n_order; k++) {
		if (started && started[k])
			continue;
		tst_result *r = &rs->sum->results[order[k]];
		r->verdict = TST_SKIP;
		r->detail = strdup("interrupted");
	}
	for (size_t i = 0; areas && i < n_areas; i++) {
		sb_free(&areas[i].kv);
		free(areas[i].why);
	}
	free(areas);
	free(started);
	rs->slots = NULL;
	rs->n_slots = 0;
	if (slots != &one)
		free(slots);
}

/* CUnit's view: one assertion per test carries the verdict schedule found. */
static void cunit_trampoline(void)
{
	CU_pTest cur = CU_get_current_test();
	size_t i;
	for (i = 0; i < RS->sum->n_results; i++)
		if (RS->cu_tests[i] == cur)
			break;
	if (i == RS->sum->n_results)
		return;
	tst_result *r = &RS->sum->results[i];
	bool bad = r->verdict == TST_FAIL || r->verdict == TST_TIMEOUT || r->verdict == TST_CRASH;
	CU_assertImplementation(bad ? CU_FALSE : CU_TRUE, 0, bad && r->detail ? r->detail : tst_verdict_name(r->verdict),
				r->tc->name, "", CU_FALSE);
}

int tst_default_parallel(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;
	return cores * TST_PARALLEL_PER_CORE > TST_PARALLEL_MAX ? TST_PARALLEL_MAX : (int)cores * TST_PARALLEL_PER_CORE;
}

static int compile_re(regex_t *re, const char *pat, const char *flag, crit_err *e)
{
	int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char buf[256];
		regerror(rc, re, buf, sizeof buf);
		return err_set(e, -ERR_CONFIG, "%s '%s': %s", flag, pat, buf);
	}
	return 0;
}

int tst_check_filters(const tst_env *env, crit_err *e)
{
	regex_t re;
	int rc;
	if (env->focus) {
		if ((rc = compile_re(&re, env->focus, "--focus", e)) < 0)
			return rc;
		regfree(&re);
	}
	if (env->skip) {
		if ((rc = compile_re(&re, env->skip, "--skip", e)) < 0)
			return rc;
		regfree(&re);
	}
	return 0;
}

int tst_list(const tst_env *env, crit_err *e)
{
	regex_t fre, sre;
	int rc;
	if (env->focus && (rc = compile_re(&fre, env->focus, "--focus", e)) < 0)
		return rc;
	if (env->skip && (rc = compile_re(&sre, env->skip, "--skip", e)) < 0) {
		if (env->focus)
			regfree(&fre);
		return rc;
	}
	bool hf = env->focus != NULL, hs = env->skip != NULL;
	size_t n = 0;
	for (tst_suite *s = suites; s; s = s->next) {
		for (size_t i = 0; i < s->n_cases; i++) {
			const tst_case *tc = &s->cases[i];
			if ((hf && !matches(&fre, tc->name)) || (hs && matches(&sre, tc->name)))
				continue;
			printf("%-44s %s\n", tc->name, tc->desc);
			n++;
		}
	}
	printf("%zu tests\n", n);
	if (hf)
		regfree(&fre);
	if (hs)
		regfree(&sre);
	return 0;
}

void tst_meta_host(tst_meta *m)
{
	struct utsname u;
	if (gethostname(m->hostname, sizeof m->hostname - 1) < 0)
		snprintf(m->hostname, sizeof m->hostname, "unknown");
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof m->kernel, "%.60s %.120s %.200s %.60s", u.sysname, u.release, u.version,
			 u.machine);
	/* cgroup2 mounted on /sys/fs/cgroup: unified; a tmpfs there holds v1
	 * hierarchies, with or without a cgroup2 "unified" beside them. */
	struct statfs fs;
	const char *layout = "unknown";
	if (statfs("/sys/fs/cgroup", &fs) == 0) {
		if (fs.f_type == CGROUP2_SUPER_MAGIC)
			layout = "v2";
		else if (fs.f_type == TMPFS_MAGIC)
			layout = statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC
					 ? "hybrid"
					 : "v1";
	}
	snprintf(m->cgroup, sizeof m->cgroup, "%s", layout);
}

static void fill_meta(const tst_env *env, tst_meta *m)
{
	snprintf(m->run_id, sizeof m->run_id, "%s", env->run_id);
	snprintf(m->critic_version, sizeof m->critic_version, "%s", CRITIC_VERSION);
	snprintf(m->endpoint, sizeof m->endpoint, "%s", env->endpoint);
	snprintf(m->image_endpoint, sizeof m->image_endpoint, "%s",
		 env->image_endpoint[0] ? env->image_endpoint : env->endpoint);
	m->is_lab = env->is_lab;
	snprintf(m->handler, sizeof m->handler, "%s", env->handler);
	snprintf(m->focus, sizeof m->focus, "%s", env->focus ? env->focus : "");
	snprintf(m->skip, sizeof m->skip, "%s", env->skip ? env->skip : "");
	m->extended = env->extended;
	m->test_timeout_s = env->test_timeout_s;
	m->call_timeout_ms = env->timeout_ms;
	m->start_wall_ns = util_wall_ns();
	tst_meta_host(m);
}

static int run_checked(const tst_env *env, tst_summary *sum, FILE *out, regex_t *fre, regex_t *sre, crit_err *e);

int tst_run(const tst_env *env, tst_summary *sum, crit_err *e)
{
	regex_t fre, sre;
	int rc;
	FILE *out = env->out ? env->out : stdout;
	memset(sum, 0, sizeof *sum);
	fill_meta(env, &sum->meta);
	if (env->focus && (rc = compile_re(&fre, env->focus, "--focus", e)) < 0)
		return rc;
	if (env->skip && (rc = compile_re(&sre, env->skip, "--skip", e)) < 0) {
		if (env->focus)
			regfree(&fre);
		return rc;
	}
	/* Interrupts stop the run cleanly from here on (see on_signal). */
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sig_first = sig_abort = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	rc = run_checked(env, sum, out, &fre, &sre, e);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}

/* tst_run with the filters compiled and the handlers in place. */
static int run_checked(const tst_env *env, tst_summary *sum, FILE *out, regex_t *fre, regex_t *sre, crit_err *e)
{
	int rc;
	fork_out pre = { 0 };
	int64_t pre_ms;
	if (run_forked(env, child_preflight, NULL, env->timeout_ms / 1000 + 5, false, &pre, &pre_ms) != TST_PASS) {
		rc = err_set(e, -ERR_UNREACHABLE, "the endpoint does not answer, no test run: %s",
			     pre.detail.len ? pre.detail.buf : "(no detail)");
		fork_out_free(&pre);
		if (env->focus)
			regfree(fre);
		if (env->skip)
			regfree(sre);
		return rc;
	}
	fprintf(out, "runtime: %s\n", pre.notes.len ? pre.notes.buf : "");
	if (pre.has_version) {
		tst_meta *m = &sum->meta;
		snprintf(m->runtime_name, sizeof m->runtime_name, "%s", pre.version[0]);
		snprintf(m->runtime_version, sizeof m->runtime_version, "%s", pre.version[1]);
		snprintf(m->runtime_api, sizeof m->runtime_api, "%.63s", pre.version[2]);
	}
	fork_out_free(&pre);
	if (env->n_images) {
		/* Failures are notes: the tests that need the image say more. */
		fork_out pp = { 0 };
		int64_t pp_ms;
		run_forked(env, child_prepull, NULL, 6 * (env->timeout_ms / 1000) + 10, true, &pp, &pp_ms);
		if (pp.notes.len)
			fprintf(out, "note: %s\n", pp.notes.buf);
		fork_out_free(&pp);
	}
	size_t total = 0;
	for (tst_suite *s = suites; s; s = s->next)
		total += s->n_cases;
	sum->results = calloc(total ? total : 1, sizeof *sum->results);
	CU_pTest *cu_tests = calloc(total ? total : 1, sizeof *cu_tests);
	if (!sum->results || !cu_tests || CU_initialize_registry() != CUE_SUCCESS) {
		free(cu_tests);
		if (env->focus)
			regfree(fre);
		if (env->skip)
			regfree(sre);
		return err_set(e, -ENOMEM, "CUnit: %s", CU_get_error_msg());
	}
	run_state rs = { .env = env, .sum = sum, .cu_tests = cu_tests, .tty = env->color, .out = out };
	RS = &rs;
	int64_t start = util_now_ms();
	rs.run_start_ms = start;
	for (tst_suite *s = suites; s; s = s->next) {
		CU_pSuite cs = NULL;
		for (size_t i = 0; i < s->n_cases; i++) {
			const tst_case *tc = &s->cases[i];
			if ((env->focus && !matches(fre, tc->name)) || (env->skip && matches(sre, tc->name)))
				continue;
			if (!cs)
				cs = CU_add_suite(s->area, NULL, NULL);
			tst_result *r = &sum->results[sum->n_results];
			r->tc = tc;
			r->suite = s;
			const char *why = unmet_need(env, tc);
			CU_pTest ct = CU_add_test(cs, tc->name, cunit_trampoline);
			cu_tests[sum->n_results] = ct;
			sum->n_results++;
			if (why) {
				/* Declared needs the node lacks: CUnit counts it inactive. */
				CU_set_test_active(ct, CU_FALSE);
				r->verdict = TST_SKIP;
				r->detail = strdup(why);
				fprintf(out, "[--/--] %sSKIP   %s %s: %s\n", color(TST_SKIP), rs.tty ? "\033[0m" : "",
					tc->name, why);
			} else {
				rs.n_selected++;
			}
		}
	}
	if (env->focus)
		regfree(fre);
	if (env->skip)
		regfree(sre);
	if (sum->n_results == 0) {
		/* A typo in --focus should not look like a green run. */
		CU_cleanup_registry();
		free(cu_tests);
		RS = NULL;
		return err_set(e, -ERR_CONFIG, "--focus/--skip select no test (see critic run --list)");
	}
	leaks_run_start(env->is_lab ? env->lab_dir : NULL);
	/* The tests run here, CUnit only records their verdicts after: our
	 * lines and summary come first, CUnit's run summary last. */
	int width = env->parallel > 1 ? env->parallel : 1;
	size_t *order = calloc(sum->n_results, sizeof *order), n_order = 0;
	if (!order) {
		CU_cleanup_registry();
		free(cu_tests);
		RS = NULL;
		return err_set(e, -ENOMEM, "out of memory");
	}
	/* In parallel, the serial tests first: each waits for an empty node,
	 * and at the start it costs no idle slots. Then the image-store tests,
	 * which run one at a time: started early, their chain ends early. */
	for (int pass = width > 1 ? 0 : 2; pass < 3; pass++)
		for (size_t i = 0; i < sum->n_results; i++) {
			unsigned needs = sum->results[i].tc->needs;
			bool serial = needs & TST_SERIAL, store = !serial && (needs & TST_IMAGE_STORE);
			bool take = width == 1 || (pass == 0 ? serial : pass == 1 ? store : !serial && !store);
			if (sum->results[i].verdict != TST_SKIP && take)
				order[n_order++] = i;
		}
	schedule(&rs, order, n_order, width);
	free(order);
	CU_run_all_tests();

	/* Whatever any test left under this run id goes now (also after an
	 * interrupt; not after a second one, which asked to stop at once). */
	fork_out sweep = { 0 };
	int64_t sweep_ms;
	rs.current = "the run";
	rs.phase = "cleaning up after";
	rs.test_start_ms = util_now_ms();
	tst_verdict sv = sig_abort ? TST_PASS : run_forked(env, child_sweep, NULL, 120, false, &sweep, &sweep_ms);
	rs.current = NULL;
	progress_clear();
	sum->interrupted = sig_first;
	sum->aborted = sig_abort;

	sum->wall_ms = util_now_ms() - start;
	for (size_t i = 0; i < sum->n_results; i++) {
		sum->total++;
		switch (sum->results[i].verdict) {
		case TST_PASS: sum->passed++; break;
		case TST_SKIP: sum->skipped++; break;
		default: sum->failed++; break;
		}
	}
	fprintf(out, "\n%d tests: %d passed, %d failed, %d skipped in %.1f s (run id %s)\n", sum->total,
		sum->passed, sum->failed, sum->skipped, sum->wall_ms / 1000.0, env->run_id);
	if (sum->interrupted) {
		int not_run = 0;
		for (size_t i = 0; i < sum->n_results; i++)
			if (sum->results[i].verdict == TST_SKIP && sum->results[i].detail &&
			    !strncmp(sum->results[i].detail, "interrupted", 11))
				not_run++;
		fprintf(out, "interrupted by %s: %d tests stopped or not run (skipped, \"interrupted\")%s\n",
			sum->interrupted == SIGTERM ? "SIGTERM" : "SIGINT", not_run,
			sum->aborted ? "; stopped at once, no cleanup" : "; the run's objects were swept");
	}
	if (sv != TST_PASS || sweep.detail.len)
		fprintf(out, "final sweep: %s\n", sweep.detail.len ? sweep.detail.buf : "failed");
	for (size_t i = 0; i < sum->n_results; i++) {
		tst_result *r = &sum->results[i];
		if (r->verdict != TST_PASS && r->verdict != TST_SKIP)
			fprintf(out, "  %-8s %s\n", tst_verdict_name(r->verdict), r->tc->name);
	}
	fork_out_free(&sweep);
	char *cu_summary = CU_get_run_results_string(); /* malloc'd by CUnit */
	fprintf(out, "\n%s\n", cu_summary ? cu_summary : "");
	free(cu_summary);
	fflush(out);
	CU_cleanup_registry();
	free(cu_tests);
	RS = NULL;
	return sum->failed ? 1 : 0;
}

void tst_summary_free(tst_summary *sum)
{
	for (size_t i = 0; i < sum->n_results; i++) {
		free(sum->results[i].detail);
		free(sum->results[i].notes);
		free(sum->results[i].calls);
	}
	free(sum->results);
	memset(sum, 0, sizeof *sum);
}
