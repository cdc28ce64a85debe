#include "tst.h"

#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
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

#include "util.h"

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
/* When the runner forked the current child (monotonic): call records are
 * timed from here. Set in the parent just before fork, inherited. */
static int64_t fork_start_us;

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
 *   V name<TAB>version<TAB>api  the runtime's Version reply (preflight) */
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

static noreturn void child_exit(tst_ctx *t, int code)
{
	if (!in_cleanup)
		run_defers(t);
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

static noreturn void child_main(const tst_env *env, const tst_case *tc, int fd)
{
	tst_ctx t = { .env = env, .tc = tc, .report_fd = fd };
	err_clear(&t.err);
	make_label(label_buf, sizeof label_buf, tc->name);
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
	const char *current;     /* test now running, NULL between tests */
	const char *phase;       /* "running", "cleaning up after" */
	int64_t run_start_ms, test_start_ms, drawn_ms;
	bool drawn;
} run_state;
static run_state *RS;

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
	if (!RS || !RS->env->progress || !RS->current)
		return;
	int64_t now = util_now_ms();
	if (!force && RS->drawn && now - RS->drawn_ms < 200)
		return;
	char run[32], line[512];
	fmt_elapsed(run, sizeof run, now - RS->run_start_ms);
	snprintf(line, sizeof line, "[%zu/%zu done] %s %s (%.0f s) · elapsed %s", RS->done, RS->n_selected,
		 RS->phase, RS->current, (now - RS->test_start_ms) / 1000.0, run);
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
} fork_out;

static void fork_out_free(fork_out *o)
{
	sb_free(&o->detail);
	sb_free(&o->notes);
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

/* Fork fn in its own process group with a deadline; collect its records.
 * A test (interruptible) is killed on the first interrupt; anything is
 * killed on a second SIGINT. */
typedef void (*child_fn)(const tst_env *env, const void *arg, int fd);

static tst_verdict run_forked(const tst_env *env, child_fn fn, const void *arg, int timeout_s, bool interruptible,
			      fork_out *o, int64_t *dur_ms)
{
	int fds[2];
	int64_t start = util_now_ms();
	strbuf *detail = &o->detail;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		sb_printf(detail, "pipe: %s", strerror(errno));
		return TST_CRASH;
	}
	fflush(stdout);
	fflush(stderr);
	fork_start_us = util_now_us();
	pid_t pid = fork();
	if (pid < 0) {
		sb_printf(detail, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return TST_CRASH;
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
	int64_t deadline = start + (int64_t)timeout_s * 1000;
	strbuf in = { 0 };
	bool timed_out = false, stopped = false;
	for (;;) {
		progress_draw(false);
		if (sig_abort || (interruptible && sig_first)) {
			stopped = true;
			break;
		}
		int64_t left = deadline - util_now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		/* Short polls: an interrupt is acted on within ~100 ms. */
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		int r = poll(&p, 1, (int)(left > 100 ? 100 : left));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n <= 0)
			break;
		sb_append(&in, buf, (size_t)n);
		take_lines(o, &in, false);
	}
	close(fds[0]);
	take_lines(o, &in, true);
	sb_free(&in);
	int status = 0;
	if (timed_out || stopped) {
		kill(-pid, SIGKILL);
		reap(pid, &status);
	} else {
		/* The pipe closed; the child is exiting. Bound the wait anyway. */
		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (util_now_ms() > deadline || sig_abort) {
				kill(-pid, SIGKILL);
				reap(pid, &status);
				timed_out = !sig_abort;
				stopped = sig_abort;
				break;
			}
			util_sleep_ms(2);
		}
		/* Reap any grandchildren the test left in its group. */
		kill(-pid, SIGKILL);
	}
	*dur_ms = util_now_ms() - start;
	if (stopped) {
		sb_printf(detail, "%sinterrupted after %.1f s: its process group was killed", detail->len ? "\n" : "",
			  *dur_ms / 1000.0);
		return TST_SKIP;
	}
	if (timed_out) {
		sb_printf(detail, "%stest did not finish within %d s; its process group was killed",
			  detail->len ? "\n" : "", timeout_s);
		return TST_TIMEOUT;
	}
	if (WIFSIGNALED(status)) {
		sb_printf(detail, "%stest process died of signal %d (%s)", detail->len ? "\n" : "",
			  WTERMSIG(status), strsignal(WTERMSIG(status)));
		return TST_CRASH;
	}
	if (o->failed || WEXITSTATUS(status) != 0) {
		if (!o->failed)
			sb_printf(detail, "%stest process exited with status %d", detail->len ? "\n" : "",
				  WEXITSTATUS(status));
		return TST_FAIL;
	}
	return o->skipped ? TST_SKIP : TST_PASS;
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
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	if (CRI_CALL(c, ListPodSandbox, &req, &resp, &e) < 0) {
		report(&t, 'F', e.msg);
		_exit(1);
	}
	int left = 0;
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
	const tst_env *env = RS->env;
	if (sig_first) {
		/* Stopped before this test started. */
		r->verdict = TST_SKIP;
		r->detail = strdup("interrupted");
		return;
	}
	fork_out run = { 0 };
	int tmo = r->tc->timeout_s > 0 ? r->tc->timeout_s : env->test_timeout_s;
	RS->current = r->tc->name;
	RS->phase = "running";
	RS->test_start_ms = util_now_ms();
	progress_draw(true);
	r->start_wall_ns = util_wall_ns();
	r->verdict = run_forked(env, child_test, r->tc, tmo, true, &run, &r->dur_ms);

	/* Safety net: whatever the test left (it crashed, timed out, or forgot)
	 * is found by its labels and removed. */
	char label[256];
	make_label(label, sizeof label, r->tc->name);
	fork_out sweep = { 0 };
	int64_t sweep_ms;
	RS->phase = "cleaning up after";
	tst_verdict sv = sig_abort ? TST_SKIP : run_forked(env, child_sweep, label, 60, false, &sweep, &sweep_ms);
	if (sweep.detail.len)
		sb_printf(&run.detail, "%s%s", run.detail.len ? "\n" : "", sweep.detail.buf);
	if (sweep.notes.len)
		sb_printf(&run.notes, "%s%s", run.notes.len ? "\n" : "", sweep.notes.buf);
	if (sv != TST_PASS && !sig_abort && r->verdict == TST_PASS)
		r->verdict = TST_FAIL;
	fork_out_free(&sweep);
	RS->current = NULL;
	progress_clear();

	RS->done++;
	FILE *out = RS->out;
	fprintf(out, "[%*zu/%zu] %s%-7s%s %s (%.2f s)\n", RS->n_selected >= 100 ? 3 : 2, RS->done, RS->n_selected,
		color(r->verdict), tst_verdict_name(r->verdict), RS->tty ? "\033[0m" : "", r->tc->name,
		r->dur_ms / 1000.0);
	if (run.detail.len) {
		char *copy = strdup(run.detail.buf);
		if (copy)
			print_indented(out, copy);
		free(copy);
	}
	fflush(out);
	r->detail = run.detail.buf;
	r->notes = run.notes.buf;
	r->calls = run.calls;
	r->n_calls = run.n_calls;
	r->calls_dropped = run.calls_dropped;
	/* One CUnit assertion per test carries its verdict. */
	bool bad = r->verdict == TST_FAIL || r->verdict == TST_TIMEOUT || r->verdict == TST_CRASH;
	CU_assertImplementation(bad ? CU_FALSE : CU_TRUE, 0, bad && r->detail ? r->detail : tst_verdict_name(r->verdict),
				r->tc->name, "", CU_FALSE);
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
	/* CU_run_all_tests prints nothing: our lines and summary come first,
	 * CUnit's run summary last. */
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
