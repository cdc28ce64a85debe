/* runlib: the scenarios of `critic run --scenarios`, each in a forked child that hands back
 * its verdict, its steps and the kubelet model's timeline as one JSON object in a temp file. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "runlib.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cri.h"
#include "util.h"
#include "version.h"

#define DEFAULT_SCN_TIMEOUT_MS (10 * 60 * 1000)

/* ------------------------------------------------------------ files */

static int add_path(char ***v, size_t *n, const char *p)
{
	char **g = realloc(*v, (*n + 1) * sizeof *g);
	if (!g)
		return -ENOMEM;
	*v = g;
	if (!(g[*n] = strdup(p)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

int runlib_resolve(char *const *args, size_t n, char ***paths, size_t *n_paths, crit_err *e)
{
	static char *const all[] = { "all" };
	if (n == 0) {
		args = all;
		n = 1;
	}
	*paths = NULL;
	*n_paths = 0;
	char **v = NULL;
	size_t cnt = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *a = args[i];
		char dir[PATH_MAX];
		struct stat st;
		if (!strcmp(a, "all")) {
			if ((rc = scn_library_dir(dir, sizeof dir, e)) < 0)
				break;
			a = dir;
		}
		if (stat(a, &st) < 0) {
			rc = err_set(e, -ENOENT, "--scenarios %s: no such file or directory", a);
		} else if (S_ISDIR(st.st_mode)) {
			char **lib;
			size_t nl;
			if ((rc = scn_library_files(a, &lib, &nl, e)) < 0)
				break;
			if (!nl)
				rc = err_set(e, -ENOENT, "--scenarios %s: no *.yaml file in it", a);
			for (size_t j = 0; j < nl && rc == 0; j++)
				if (add_path(&v, &cnt, lib[j]) < 0)
					rc = err_set(e, -ENOMEM, "out of memory");
			scn_paths_free(lib, nl);
		} else if (add_path(&v, &cnt, a) < 0) {
			rc = err_set(e, -ENOMEM, "out of memory");
		}
	}
	if (rc < 0) {
		scn_paths_free(v, cnt);
		return rc;
	}
	*paths = v;
	*n_paths = cnt;
	return 0;
}

int runlib_check(char *const *paths, size_t n, scn_diags *d)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		scn_file *f = NULL;
		size_t before = d->n;
		scn_load(paths[i], &f, d);
		bad += d->n > before;
		scn_file_free(f);
	}
	return bad;
}

/* ------------------------------------------------------------ the child */

/* What the child collects through the executor's observer. */
static rep_scenario g_res;

/* Does the step break something (a fault hit), rather than undo or look?
 * The executor marks disruptive kinds; among them, and for the proxy, the
 * actions that repair, restart or only inspect are told apart by their
 * words (a restart is how scenarios bring the runtime back). */
static bool breaks_something(const scn_step_info *si)
{
	static const char *const repair[] = { "thaw", "restore", "repair", "free", "disable", "cont", "pass",
					      "start", "restart", "recover", "check", "doctor", "status", "state", "list" };
	bool proxy = si->kind && !strcmp(si->kind, "proxy");
	if (!si->fault && !proxy)
		return false;
	const char *d = si->desc ? si->desc : "";
	if (proxy && !strstr(d, " mode "))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(repair); i++) {
		const char *p = strstr(d, repair[i]);
		/* a whole word: "start" but not "restart" */
		if (p && (p == d || p[-1] == ' ') && (!p[strlen(repair[i])] || p[strlen(repair[i])] == ' '))
			return false;
	}
	return true;
}

static void on_step(void *arg, const scn_step_info *si)
{
	(void)arg;
	rep_scn_step st = { 0 };
	st.index = si->index;
	st.depth = si->depth;
	st.line = si->line;
	snprintf(st.phase, sizeof st.phase, "%s", si->phase ? si->phase : "steps");
	snprintf(st.kind, sizeof st.kind, "%s", si->kind ? si->kind : "?");
	snprintf(st.verdict, sizeof st.verdict, "%s", si->verdict ? si->verdict : "FAIL");
	st.name = (char *)(si->name ? si->name : si->as);
	st.desc = (char *)si->desc;
	st.start_ms = si->start_ms < 0 ? 0 : si->start_ms;
	st.dur_ms = si->dur_ms;
	st.detail = (char *)si->detail;
	st.message = (char *)si->message;
	st.known_issue = (char *)si->known_issue;
	snprintf(st.method, sizeof st.method, "%s", si->method ? si->method : "");
	st.grpc_status = si->method ? si->grpc_status : -1;
	st.call_msg = (char *)si->call_msg;
	st.fault = breaks_something(si);
	rep_scenario_add_step(&g_res, &st); /* copies */
}

static void on_timeline(void *arg, const kube_event *ev, size_t n, int64_t offset_ms)
{
	(void)arg;
	free(g_res.timeline);
	g_res.timeline = n ? malloc(n * sizeof *ev) : NULL;
	g_res.n_timeline = g_res.timeline ? n : 0;
	if (g_res.timeline)
		memcpy(g_res.timeline, ev, n * sizeof *ev);
	g_res.model_offset_ms = offset_ms;
}

static void child_signal(int sig)
{
	(void)sig;
	scn_interrupt();
}

/* Run one scenario and write its result to result_path; the exit status
 * says whether that worked (the verdict is in the file). */
static int child_main(const runlib_opts *o, const scn_file *f, const char *result_path)
{
	struct sigaction sa = { .sa_handler = child_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	scn_interrupt_reset();
	scn_grpc_tune(); /* before this process's first gRPC call */
	memset(&g_res, 0, sizeof g_res);
	g_res.model_offset_ms = -1;
	scn_observer ob = { .step = on_step, .timeline = on_timeline, .arg = NULL };
	scn_opts so = {
		.lab_dir = o->lab_dir,
		.endpoint = o->endpoint,
		.image_endpoint = o->image_endpoint,
		.timeout_ms = o->timeout_ms,
		.allow_disruptive = o->allow_disruptive,
		.runtime_pid = o->runtime_pid,
		.runtime_pidfile = o->runtime_pidfile,
		.runtime_start = o->runtime_start,
		.runtime_stop = o->runtime_stop,
		.color = o->color,
		.out = o->out,
		.run_id = o->run_id,
		.observer = &ob,
	};
	scn_result r;
	crit_err e;
	err_clear(&e);
	if (scn_run(f, &so, &r, &e) < 0) {
		memset(&r, 0, sizeof r);
		r.verdict = SCN_FAIL;
		snprintf(r.reason, sizeof r.reason, "could not run: %.1000s", e.msg);
	}
	snprintf(g_res.verdict, sizeof g_res.verdict, "%s", scn_verdict_name(r.verdict));
	g_res.reason = r.reason[0] ? strdup(r.reason) : NULL;
	g_res.dur_ms = r.wall_ms;
	g_res.steps_run = r.steps_run;
	g_res.steps_passed = r.steps_passed;
	g_res.steps_failed = r.steps_failed;
	g_res.known_issues = r.known_issues;
	strbuf sb = { 0 };
	rep_json_scenario(&g_res, &sb, &e);
	int rc = util_write_file(result_path, sb.buf ? sb.buf : "", sb.len, 0600, &e) < 0 ? 1 : 0;
	sb_free(&sb);
	rep_scenario_free(&g_res);
	fflush(NULL);
	return rc;
}

/* ------------------------------------------------------------ the parent */

static volatile sig_atomic_t g_sig;

static void parent_signal(int sig)
{
	if (!g_sig)
		g_sig = sig;
}

static void set_reason(rep_scenario *s, const char *verdict, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_reason(rep_scenario *s, const char *verdict, const char *fmt, ...)
{
	snprintf(s->verdict, sizeof s->verdict, "%s", verdict);
	free(s->reason);
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s->reason, fmt, ap) < 0)
		s->reason = NULL;
	va_end(ap);
}

/* Fork the child, wait for it within the scenario's deadline (interrupting
 * it, then killing it, when it overruns), read back what it wrote. */
static void run_one(const runlib_opts *o, const scn_file *f, rep_scenario *s)
{
	char tmpl[] = "/tmp/critic-scn-XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		set_reason(s, "FAIL", "cannot make a result file in /tmp: %s", strerror(errno));
		return;
	}
	close(fd);
	int64_t own = f->timeout_ms > 0 ? f->timeout_ms : DEFAULT_SCN_TIMEOUT_MS;
	int64_t grace = o->grace_ms > 0 ? o->grace_ms : 60000;
	s->start_wall_ns = util_wall_ns();
	int64_t t0 = util_now_ms();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		set_reason(s, "FAIL", "fork: %s", strerror(errno));
		unlink(tmpl);
		return;
	}
	if (pid == 0)
		_exit(child_main(o, f, tmpl));
	int status = 0;
	bool interrupted_by_deadline = false, killed = false, forwarded = false;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		int64_t el = util_now_ms() - t0;
		if (g_sig && !forwarded) {
			kill(pid, SIGINT); /* the child ends its step, runs finally and its cleanup */
			forwarded = true;
		}
		if (!interrupted_by_deadline && el > own + grace) {
			kill(pid, SIGINT);
			interrupted_by_deadline = true;
		} else if (interrupted_by_deadline && !killed && el > own + 2 * grace) {
			kill(pid, SIGKILL);
			killed = true;
		}
		util_sleep_ms(50);
	}
	int64_t wall = util_now_ms() - t0;
	cleanup_free char *text = NULL;
	crit_err e;
	bool have = WIFEXITED(status) && WEXITSTATUS(status) == 0 && util_read_file(tmpl, &text, NULL, &e) == 0;
	unlink(tmpl);
	rep_scenario got;
	if (have && rep_json_scenario_parse(text, &got, &e) == 0) {
		/* keep what the parent knows (name, file, start) */
		free(got.name);
		free(got.file);
		free(got.description);
		got.name = s->name, got.file = s->file, got.description = s->description;
		got.start_wall_ns = s->start_wall_ns;
		got.disruptive = s->disruptive;
		free(s->reason);
		*s = got;
		if (interrupted_by_deadline)
			set_reason(s, "TIMEOUT", "did not finish within its %lld s deadline and %lld s of grace: interrupted",
				   (long long)own / 1000, (long long)grace / 1000);
		return;
	}
	s->dur_ms = wall;
	if (WIFSIGNALED(status))
		set_reason(s, killed ? "TIMEOUT" : "CRASH", "%s: its process died of signal %d (%s)",
			   killed ? "did not finish after an interrupt" : "crashed", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		set_reason(s, "CRASH", "its process exited %d without a result",
			   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int runlib_run(const runlib_opts *o, char *const *paths, size_t n, rep_scn_set *out, int *sig, crit_err *e)
{
	*sig = 0;
	rep_scenario *g = realloc(out->v, (out->n + n + 1) * sizeof *g);
	if (!g)
		return err_set(e, -ENOMEM, "out of memory");
	out->v = g;
	struct sigaction sa = { .sa_handler = parent_signal }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	g_sig = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	FILE *fo = o->out ? o->out : stdout;
	for (size_t i = 0; i < n; i++) {
		rep_scenario *s = &out->v[out->n++];
		memset(s, 0, sizeof *s);
		s->model_offset_ms = -1;
		s->file = strdup(paths[i]);
		scn_diags d = { 0 };
		scn_file *f = NULL;
		if (scn_load(paths[i], &f, &d) < 0 || !f) {
			const char *base = strrchr(paths[i], '/');
			s->name = strdup(base ? base + 1 : paths[i]);
			set_reason(s, "FAIL", "%zu error%s in the file (critic scenario check %s)", d.n, d.n == 1 ? "" : "s",
				   paths[i]);
			scn_diags_free(&d);
			continue;
		}
		scn_diags_free(&d);
		s->name = strdup(f->name ? f->name : "unnamed");
		s->description = f->description ? strdup(f->description) : NULL;
		s->disruptive = f->needs.disruptive;
		if (g_sig) {
			set_reason(s, "SKIP", "interrupted");
			fprintf(fo, "scenario %s: not run (interrupted)\n", s->name);
		} else {
			run_one(o, f, s);
		}
		scn_file_free(f);
	}
	fflush(fo);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	*sig = g_sig;
	return 0;
}

/* ------------------------------------------------------------ preflight */

int runlib_preflight(const tst_env *env, tst_meta *m, crit_err *e)
{
	memset(m, 0, sizeof *m);
	snprintf(m->run_id, sizeof m->run_id, "%s", env->run_id);
	snprintf(m->critic_version, sizeof m->critic_version, "%s", CRITIC_VERSION);
	snprintf(m->endpoint, sizeof m->endpoint, "%s", env->endpoint);
	snprintf(m->image_endpoint, sizeof m->image_endpoint, "%s", env->image_endpoint[0] ? env->image_endpoint : env->endpoint);
	m->is_lab = env->is_lab;
	snprintf(m->handler, sizeof m->handler, "%s", env->handler);
	snprintf(m->focus, sizeof m->focus, "%s", env->focus ? env->focus : "");
	snprintf(m->skip, sizeof m->skip, "%s", env->skip ? env->skip : "");
	m->extended = env->extended;
	m->test_timeout_s = env->test_timeout_s;
	m->call_timeout_ms = env->timeout_ms;
	m->start_wall_ns = util_wall_ns();
	tst_meta_host(m);
	/* The Version call from a child: this process must stay free of gRPC. */
	int pfd[2];
	if (pipe(pfd) < 0)
		return err_set(e, -errno, "pipe: %s", strerror(errno));
	int tmo = env->timeout_ms > 0 ? env->timeout_ms : CRI_DEFAULT_TIMEOUT_MS;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_set(e, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		cri_conn *c = NULL;
		crit_err ce;
		char line[1200];
		Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *v = NULL;
		int n;
		if (cri_connect(&c, env->endpoint, env->image_endpoint[0] ? env->image_endpoint : NULL, tmo, &ce) < 0 ||
		    CRI_CALL_T(c, Version, &req, &v, tmo, &ce) < 0)
			n = snprintf(line, sizeof line, "E\t%.1000s", ce.msg);
		else
			n = snprintf(line, sizeof line, "V\t%.120s\t%.120s\t%.60s", v->runtime_name, v->runtime_version,
				     v->runtime_api_version);
		if (write(pfd[1], line, (size_t)n) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	char buf[1300];
	size_t got = 0;
	int64_t end = util_now_ms() + tmo + 5000;
	bool done = false;
	int status = 0;
	while (!done) {
		ssize_t r = read(pfd[0], buf + got, sizeof buf - 1 - got);
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || (r < 0 && errno != EINTR))
			done = true;
		if (util_now_ms() > end) {
			kill(pid, SIGKILL);
			done = true;
		}
	}
	close(pfd[0]);
	waitpid(pid, &status, 0);
	buf[got] = '\0';
	if (strncmp(buf, "V\t", 2))
		return err_set(e, -ERR_UNREACHABLE, "the endpoint does not answer, no scenario run: %s",
			       got > 2 ? buf + 2 : "(no answer within the deadline)");
	char *p = buf + 2, *f2 = strchr(p, '\t'), *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
	if (f2)
		*f2++ = '\0';
	if (f3)
		*f3++ = '\0';
	snprintf(m->runtime_name, sizeof m->runtime_name, "%.120s", p);
	snprintf(m->runtime_version, sizeof m->runtime_version, "%.120s", f2 ? f2 : "");
	snprintf(m->runtime_api, sizeof m->runtime_api, "%.60s", f3 ? f3 : "");
	return 0;
}
