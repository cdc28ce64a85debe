/* scenarios/cli: `critic scenario check|run|list|kinds`: check files without running them,
 * run them against an endpoint (default: critic's lab), show the library and the step kinds. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "scn.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri.h"
#include "endpoint.h"
#include "guard.h"
#include "lab.h"
#include "rtctl.h"
#include "util.h"

enum { X_OK_ = 0, X_FAIL = 1, X_USAGE = 2, X_UNREACHABLE = 3, X_INTERRUPTED = 130 };

static const char usage_text[] =
	"Usage: critic scenario check FILE...\n"
	"       critic scenario run [options] [FILE|NAME...]\n"
	"       critic scenario list\n"
	"       critic scenario kinds\n"
	"\n"
	"Scenarios are YAML files of steps (CRI calls, faults, waits, expectations)\n"
	"with a kubelet model running beside them. See scenarios/README.md.\n"
	"\n"
	"  check   validate files without running them: every error of every file,\n"
	"          as FILE:LINE:COL: message (exit 2 if any)\n"
	"  run     check, then run each scenario (no FILE: the whole library; a NAME\n"
	"          is a library scenario by its name or file name); a verdict per\n"
	"          step, the kubelet model's timeline, a summary\n"
	"  list    the library (<critic's dir>/../scenarios or $CRITIC_SCENARIOS_DIR)\n"
	"  kinds   every step kind with its keys, types and results\n"
	"\n"
	"Options of run:\n"
	"  -r, --runtime-endpoint EP  CRI endpoint (default: critic's lab; also\n"
	"                             CONTAINER_RUNTIME_ENDPOINT and /etc/crictl.yaml)\n"
	"  -i, --image-endpoint EP    image service endpoint\n"
	"  -t, --timeout DUR          default CRI deadline (default 10s)\n"
	"      --config FILE          crictl.yaml to read (default /etc/crictl.yaml)\n"
	"      --dir DIR              the lab's directory (default $CRITIC_LAB_DIR or " LAB_DEFAULT_DIR ")\n"
	"      --allow-disruptive     run disruptive scenarios against an endpoint\n"
	"                             that is not critic's lab\n"
	"      --runtime-pid PID, --runtime-pidfile FILE, --runtime-start CMD,\n"
	"      --runtime-stop CMD     how to find, start and stop an external runtime\n"
	"      --force-with-kubelet   run disruptive scenarios although a kubelet uses\n"
	"                             the endpoint (refused otherwise, exit 2)\n"
	"  -v, --verbose              print every iteration of repeat steps\n"
	"      --no-color             plain output\n"
	"\n"
	"A lab that is down is brought up (on its loop fs when a scenario needs\n"
	"loopfs). Ctrl-C ends the current step and runs finally and the cleanup;\n"
	"a second Ctrl-C kills critic at once.\n"
	"\n"
	"Exit: 0 all passed or skipped, 1 failures, 2 usage or check errors,\n"
	"3 endpoint unreachable, 130 interrupted (SIGINT/SIGTERM).\n";

static void on_signal(int sig)
{
	(void)sig;
	scn_interrupt();
}

static int cmd_check(int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "critic scenario check: give one or more files\n");
		return X_USAGE;
	}
	scn_diags d = { 0 };
	int bad = 0;
	for (int i = 0; i < argc; i++) {
		scn_file *f = NULL;
		size_t before = d.n;
		scn_load(argv[i], &f, &d);
		if (d.n > before)
			bad++;
		scn_file_free(f);
	}
	scn_diags_print(&d, stderr);
	if (d.n)
		fprintf(stderr, "%zu error%s in %d of %d file%s\n", d.n, d.n == 1 ? "" : "s", bad, argc, argc == 1 ? "" : "s");
	else
		printf("%d file%s OK\n", argc, argc == 1 ? "" : "s");
	int rc = d.n ? X_USAGE : X_OK_;
	scn_diags_free(&d);
	return rc;
}

/* Word-wrap text at width, every line indented. */
static void wrap(const char *text, int indent, int width)
{
	int colm = 0;
	const char *p = text;
	while (*p) {
		while (*p == ' ' || *p == '\n')
			p++;
		size_t w = strcspn(p, " \n");
		if (!w)
			break;
		if (colm && colm + 1 + (int)w > width) {
			printf("\n");
			colm = 0;
		}
		if (!colm)
			colm = printf("%*s", indent, "");
		else
			colm += printf(" ");
		colm += printf("%.*s", (int)w, p);
		p += w;
	}
	if (colm)
		printf("\n");
}

static int cmd_list(void)
{
	char dir[PATH_MAX];
	crit_err e;
	if (scn_library_dir(dir, sizeof dir, &e) < 0) {
		fprintf(stderr, "critic scenario list: %s\n", e.msg);
		return X_USAGE;
	}
	char **paths;
	size_t n;
	if (scn_library_files(dir, &paths, &n, &e) < 0) {
		fprintf(stderr, "critic scenario list: %s\n", e.msg);
		return X_USAGE;
	}
	printf("critic's scenario library in %s (%zu scenarios):\n", dir, n);
	int rc = X_OK_;
	for (size_t i = 0; i < n; i++) {
		scn_diags d = { 0 };
		scn_file *f = NULL;
		char *base = strrchr(paths[i], '/');
		base = base ? base + 1 : paths[i];
		if (scn_load(paths[i], &f, &d) < 0) {
			printf("\n  %s: %zu error%s (critic scenario check %s)\n", base, d.n, d.n == 1 ? "" : "s", paths[i]);
			rc = X_USAGE;
		} else {
			const scn_needs *nd = &f->needs;
			printf("\n  %-26s %s%s%s%s\n", f->name, base, nd->disruptive ? "  [disruptive]" : "",
			       nd->root ? "  [root]" : "", nd->lab ? "  [lab]" : "");
			wrap(f->description, 4, 78);
		}
		scn_file_free(f);
		scn_diags_free(&d);
	}
	scn_paths_free(paths, n);
	return rc;
}

/* A FILE, or a library scenario by file name (with or without .yaml) or by
 * its name: field. Returns a heap path or NULL. */
static char *resolve(const char *arg, crit_err *e)
{
	if (strchr(arg, '/') || util_exists(arg)) {
		if (!util_exists(arg)) {
			err_set(e, -ENOENT, "%s: no such file", arg);
			return NULL;
		}
		return strdup(arg);
	}
	char dir[PATH_MAX];
	if (scn_library_dir(dir, sizeof dir, e) < 0)
		return NULL;
	char **paths;
	size_t n;
	if (scn_library_files(dir, &paths, &n, e) < 0)
		return NULL;
	char *found = NULL;
	for (size_t i = 0; i < n && !found; i++) {
		char *base = strrchr(paths[i], '/') + 1;
		size_t bl = strlen(base) - 5; /* without .yaml */
		if ((!strncmp(base, arg, bl) && (arg[bl] == '\0' || !strcmp(arg + bl, ".yaml"))))
			found = strdup(paths[i]);
		/* "runtime-sigkill" for "01-runtime-sigkill.yaml" */
		const char *dash = strchr(base, '-');
		if (!found && dash && strlen(arg) == bl - (size_t)(dash + 1 - base) && !strncmp(dash + 1, arg, strlen(arg)))
			found = strdup(paths[i]);
	}
	scn_paths_free(paths, n);
	if (!found)
		err_set(e, -ENOENT, "%s: no such file, and no scenario of that name in %s (see critic scenario list)", arg,
			dir);
	return found;
}

static int parse_dur(const char *s, int *out)
{
	int64_t ms;
	if (scn_parse_duration(s, &ms) < 0) {
		char *end;
		double v = strtod(s, &end); /* plain seconds, as critic's -t takes */
		if (end == s || *end || v <= 0)
			return -1;
		ms = (int64_t)(v * 1000);
	}
	if (ms <= 0 || ms > 3600000)
		return -1;
	*out = (int)ms;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	enum { O_CONFIG = 256, O_DIR, O_ALLOW, O_PID, O_PIDFILE, O_START, O_STOP, O_NOCOLOR, O_FORCE_KUBELET };
	static const struct option longopts[] = {
		{ "runtime-endpoint", required_argument, 0, 'r' },
		{ "image-endpoint", required_argument, 0, 'i' },
		{ "timeout", required_argument, 0, 't' },
		{ "config", required_argument, 0, O_CONFIG },
		{ "dir", required_argument, 0, O_DIR },
		{ "allow-disruptive", no_argument, 0, O_ALLOW },
		{ "runtime-pid", required_argument, 0, O_PID },
		{ "runtime-pidfile", required_argument, 0, O_PIDFILE },
		{ "runtime-start", required_argument, 0, O_START },
		{ "runtime-stop", required_argument, 0, O_STOP },
		{ "force-with-kubelet", no_argument, 0, O_FORCE_KUBELET },
		{ "verbose", no_argument, 0, 'v' },
		{ "no-color", no_argument, 0, O_NOCOLOR },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	scn_opts o = { 0 };
	const char *flag_r = NULL, *flag_i = NULL, *crictl = "/etc/crictl.yaml", *dir = NULL;
	int flag_t = 0;
	bool no_color = false, force_kubelet = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "r:i:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': flag_r = optarg; break;
		case 'i': flag_i = optarg; break;
		case 't':
			if (parse_dur(optarg, &flag_t) < 0) {
				fprintf(stderr, "critic scenario run: --timeout '%s': give a duration like 2s or 500ms\n", optarg);
				return X_USAGE;
			}
			break;
		case O_CONFIG: crictl = optarg; break;
		case O_DIR: dir = optarg; break;
		case O_ALLOW: o.allow_disruptive = true; break;
		case O_PID: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0) {
				fprintf(stderr, "critic scenario run: --runtime-pid '%s' is not a pid\n", optarg);
				return X_USAGE;
			}
			o.runtime_pid = (pid_t)v;
			break;
		}
		case O_PIDFILE: o.runtime_pidfile = optarg; break;
		case O_START: o.runtime_start = optarg; break;
		case O_STOP: o.runtime_stop = optarg; break;
		case O_FORCE_KUBELET: force_kubelet = true; break;
		case 'v': o.verbose = true; break;
		case O_NOCOLOR: no_color = true; break;
		case 'h': fputs(usage_text, stdout); return X_OK_;
		default: fprintf(stderr, "critic scenario run: see critic scenario --help\n"); return X_USAGE;
		}
	}
	o.color = !no_color && isatty(1) && !getenv("NO_COLOR");

	/* the files: all checked before anything runs */
	char **files = NULL;
	size_t n_files = 0;
	crit_err e;
	err_clear(&e);
	if (optind >= argc) {
		char ldir[PATH_MAX];
		if (scn_library_dir(ldir, sizeof ldir, &e) < 0 || scn_library_files(ldir, &files, &n_files, &e) < 0) {
			fprintf(stderr, "critic scenario run: %s\n", e.msg);
			return X_USAGE;
		}
	} else {
		files = calloc((size_t)(argc - optind), sizeof *files);
		for (int i = optind; files && i < argc; i++) {
			char *p = resolve(argv[i], &e);
			if (!p) {
				fprintf(stderr, "critic scenario run: %s\n", e.msg);
				scn_paths_free(files, n_files);
				return X_USAGE;
			}
			files[n_files++] = p;
		}
	}
	scn_file **loaded = calloc(n_files ? n_files : 1, sizeof *loaded);
	scn_diags d = { 0 };
	for (size_t i = 0; loaded && i < n_files; i++)
		scn_load(files[i], &loaded[i], &d);
	int rc = X_OK_;
	if (!loaded || d.n) {
		scn_diags_print(&d, stderr);
		fprintf(stderr, "critic scenario run: %zu error%s: nothing was run\n", d.n, d.n == 1 ? "" : "s");
		rc = X_USAGE;
		goto done;
	}

	/* the endpoint: crictl's order, else the lab (started when down) */
	ep_config cfg;
	memset(&cfg, 0, sizeof cfg);
	if (ep_resolve(&cfg, crictl, flag_r, flag_i, flag_t, &e) < 0) {
		fprintf(stderr, "critic scenario run: %s\n", e.msg);
		rc = X_USAGE;
		goto done;
	}
	o.timeout_ms = cfg.timeout_ms;
	const char *lab_dir = dir ? dir : lab_default_dir();
	if (cfg.runtime[0]) {
		o.endpoint = cfg.runtime;
		o.image_endpoint = cfg.image[0] ? cfg.image : NULL;
		o.lab_dir = lab_dir; /* recognised when the endpoint is the lab's */
	} else {
		o.lab_dir = lab_dir;
		lab_info info;
		bool loopfs = false;
		for (size_t i = 0; i < n_files; i++)
			loopfs = loopfs || loaded[i]->needs.loopfs;
		if (lab_status(lab_dir, &info, NULL) != 1 && loopfs && !info.loopfs) {
			/* a scenario needs the loop fs: bring the lab up on it (a
			 * fresh critic process: lab up forks CRI children) */
			fprintf(stderr, "critic: bringing up critic's lab in %s on its loop fs (a scenario needs loopfs) …\n",
				lab_dir);
			char exe[PATH_MAX];
			ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
			exe[n > 0 ? n : 0] = '\0';
			char *up[] = { exe, "--dir", (char *)lab_dir, "lab", "up", "--loop-fs", NULL };
			char *out = NULL;
			int urc = n > 0 ? util_run(up, RTCTL_LAB_START_TIMEOUT_MS, &out, &e) : -ENOENT;
			if (urc != 0) {
				fprintf(stderr, "critic scenario run: lab up --loop-fs in %s: %s\n", lab_dir,
					urc < 0 ? e.msg : out ? out : "failed");
				free(out);
				rc = X_UNREACHABLE;
				goto done;
			}
			free(out);
		} else if (lab_status(lab_dir, &info, NULL) != 1) {
			fprintf(stderr, "critic: bringing up critic's lab in %s …\n", lab_dir);
			rtctl *rt = NULL;
			if (rtctl_from_lab(&rt, lab_dir, &e) < 0 || rtctl_start(rt, &e) < 0) {
				fprintf(stderr, "critic scenario run: lab up in %s: %s\n", lab_dir, e.msg);
				rtctl_free(rt);
				rc = X_UNREACHABLE;
				goto done;
			}
			rtctl_free(rt);
		}
	}
	/* A kubelet on the endpoint: disruptive scenarios are refused unless
	 * forced (harness/guard.h); nothing runs then. */
	strbuf disr = { 0 };
	for (size_t i = 0; i < n_files; i++)
		if (loaded[i]->needs.disruptive)
			sb_printf(&disr, "%s%s", disr.len ? ", " : "", loaded[i]->name);
	lab_info li;
	bool lab_up_now = lab_status(lab_dir, &li, NULL) == 1;
	const char *gep = o.endpoint ? o.endpoint : lab_up_now ? li.endpoint : NULL;
	/* outside the lab they run only with --allow-disruptive (else skipped) */
	bool on_lab = !o.endpoint || (lab_up_now && strstr(o.endpoint, li.socket));
	if (disr.len && (on_lab || o.allow_disruptive)) {
		char what[600];
		snprintf(what, sizeof what, "critic scenario run (disruptive: %.500s)", disr.buf);
		if (gep && guard_refuse_disruptive(gep, force_kubelet, what, 5000, stderr, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			sb_free(&disr);
			rc = X_USAGE;
			goto done;
		}
	}
	sb_free(&disr);
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int passed = 0, failed = 0, skipped = 0;
	bool unreachable = false;
	int64_t t0 = util_now_ms();
	strbuf summary = { 0 };
	for (size_t i = 0; i < n_files; i++) {
		if (scn_interrupted()) {
			sb_printf(&summary, "  %-6s %-28s not run (interrupted)\n", "-", loaded[i]->name);
			continue;
		}
		scn_result r;
		if (scn_run(loaded[i], &o, &r, &e) < 0) {
			fprintf(stderr, "critic scenario run: %s\n", e.msg);
			rc = X_USAGE;
			goto done;
		}
		char t[32];
		sb_printf(&summary, "  %-6s %-28s %9s  %s\n", scn_verdict_name(r.verdict), loaded[i]->name,
			  scn_fmt_ms(r.wall_ms, t, sizeof t), r.verdict == SCN_PASS ? "" : r.reason);
		passed += r.verdict == SCN_PASS;
		failed += r.verdict == SCN_FAIL;
		skipped += r.verdict == SCN_SKIP;
		unreachable = unreachable || r.unreachable;
	}
	char t[32];
	printf("summary:\n%s", summary.buf ? summary.buf : "");
	printf("%zu scenarios in %s: %d passed, %d failed, %d skipped\n", n_files, scn_fmt_ms(util_now_ms() - t0, t, sizeof t),
	       passed, failed, skipped);
	sb_free(&summary);
	rc = scn_interrupted() ? X_INTERRUPTED : unreachable ? X_UNREACHABLE : failed ? X_FAIL : X_OK_;
done:
	for (size_t i = 0; loaded && i < n_files; i++)
		scn_file_free(loaded[i]);
	free(loaded);
	scn_diags_free(&d);
	scn_paths_free(files, n_files);
	return rc;
}

void scn_grpc_tune(void)
{
	setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", 0);
}

int scenario_cli_main(int argc, char **argv)
{
	scn_grpc_tune();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? X_USAGE : X_OK_;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "check")) {
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
				fputs(usage_text, stdout);
				return X_OK_;
			}
		return cmd_check(argc - 2, argv + 2);
	}
	if (!strcmp(sub, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return cmd_list();
	if (!strcmp(sub, "kinds")) {
		scn_kinds_print(stdout);
		return X_OK_;
	}
	fprintf(stderr, "critic scenario: unknown subcommand '%s' (check, run, list, kinds)\n", sub);
	return X_USAGE;
}
