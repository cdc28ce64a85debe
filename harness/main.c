/* critic's command line: parses flags, resolves the endpoint, and hands off
 * to the lab, the runner and the client. The only place that calls exit(). */
#include <errno.h>
#include <fiu.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cri.h"
#include "bench/bench.h"
#include "certify.h"
#include "cleanup.h"
#include "doctor.h"
#include "fault/fiu.h"
#include "fault/fs.h"
#include "fault/proxy.h"
#include "scenarios/scn.h"
#include "endpoint.h"
#include "guard.h"
#include "lab.h"
#include "reports/rep.h"
#include "tst.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_TESTS = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

typedef struct opts {
	const char *runtime_endpoint, *image_endpoint, *crictl_yaml;
	int timeout_ms;
	const char *lab_dir;
	const char *focus, *skip, *handler, *junit, *json, *html;
	bool list, extended, tap;
	bool loop_fs;
	const char *loop_fs_size;
	int test_timeout_s;
	bool no_color;
} opts;

static const struct {
	const char *name, *usage, *help;
} commands[] = {
	{ "run", "critic run [--focus RE] [--skip RE] [--list] [--runtime-handler NAME] [--junit FILE] [--json FILE] "
		 "[--html FILE] [--tap]",
	  "Run the conformance suites against the endpoint (default: critic's lab,\n"
	  "started if needed). Each test runs in its own process with a deadline;\n"
	  "everything it creates carries critic's labels and is removed after it.\n"
	  "  --focus RE            run only tests whose name matches the regex\n"
	  "  --skip RE             leave out tests whose name matches the regex\n"
	  "  --list                print the selected tests with a description, run nothing\n"
	  "  --runtime-handler N   run pods with this runtime handler (e.g. crun)\n"
	  "  --test-timeout SEC    kill a test that runs longer (default 120)\n"
	  "  --extended            also run checks beyond what the kubelet exercises\n"
	  "                        (skipped otherwise, with that reason)\n"
	  "  --junit FILE          write JUnit XML (one testsuite per area) for CI test reporters\n"
	  "  --json FILE           write the run as JSON, schema critic.run/v1 (reports/README.md):\n"
	  "                        metadata, every test with its CRI calls, latency per method\n"
	  "  --html FILE           write one self-contained HTML page with tables and charts\n"
	  "  --tap                 print KTAP on stdout at the end; progress goes to stderr\n"
	  "Reports are written at the end of the run, also when tests failed; a report\n"
	  "that cannot be written ends the run with exit 2, naming the file. On a\n"
	  "terminal a status line (tests done, current test, elapsed) is redrawn.\n"
	  "SIGINT/SIGTERM stop the run: the test running is killed, the run is swept,\n"
	  "reports are written (tests not run: SKIP \"interrupted\"), exit 130/143. A\n"
	  "second SIGINT stops at once without cleanup (then: critic cleanup --run-id ID).\n"
	  "Exit: 0 all passed or skipped, 1 failures, 2 usage, 3 endpoint unreachable." },
	{ "version", "critic version",
	  "Print critic's version; with a reachable endpoint also the runtime's\n"
	  "Version reply (name, version, CRI API version) and its Status conditions." },
	{ "lab", "critic lab up [--loop-fs [SIZE]]|status|down [--dir DIR]",
	  "Manage critic's lab: a private containerd (own root, state, socket,\n"
	  "config.toml, CNI bridge) with a local registry of images built here.\n"
	  "  up      start it (idempotent) and print CRITIC_ENDPOINT=unix://… for eval\n"
	  "  status  tell what runs\n"
	  "  down    remove the lab's pods, stop containerd, shims and registry,\n"
	  "          unmount what the lab mounted\n"
	  "  --dir DIR  lab directory (default $CRITIC_LAB_DIR or " LAB_DEFAULT_DIR ")\n"
	  "  --loop-fs [SIZE]  with up: put containerd's root and state on an ext4\n"
	  "          image of the lab's own (default 2G), so `critic fs` can break it;\n"
	  "          remembered by later ups; `--loop-fs off` goes back" },
	{ "proxy", "critic proxy --listen PATH --upstream ENDPOINT [--mode MODE] [--control PATH]",
	  "A unix-socket proxy between a CRI client and the runtime that can pass\n"
	  "through, delay, blackhole, reset, refuse, cut or corrupt on command.\n"
	  "Run `critic proxy --help` for its modes and control socket." },
	{ "scenario", "critic scenario check|run|list [FILE...]",
	  "YAML scenarios: what to break and what to expect, without writing C.\n"
	  "  check FILE...  validate; every error as file:line:col: message (exit 2)\n"
	  "  run FILE...    run them, a verdict per step, the kubelet-model timeline\n"
	  "  list           the scenario library that ships with critic\n"
	  "Run `critic scenario --help` for its options (--allow-disruptive, …)." },
	{ "doctor", "critic doctor [--config CONFIG.TOML] [--probe-handlers]",
	  "Node health facts for the endpoint, one line each with OK/WARN/FAIL:\n"
	  "socket present and answering, runtime profile, config.toml drift\n"
	  "(\"config.toml changed after the runtime started: restart needed\"),\n"
	  "handlers configured vs usable, CNI config. Exit 1 on any FAIL." },
	{ "cleanup", "critic cleanup [--run-id ID] [--dry-run]",
	  "Find and remove what critic left in the runtime: pods and containers\n"
	  "labelled critic.io/owner=critic (of one run with --run-id) and their log\n"
	  "dirs. --dry-run lists them and removes nothing. Nothing unlabelled is touched." },
	{ "fs", "critic fs readonly|repair|freeze|thaw|fill|free|state [--dir DIR]",
	  "Break the lab's own file system (lab up --loop-fs) the ways disks fail:\n"
	  "a disk error that remounts it read-only, repair, freeze/thaw, fill to\n"
	  "ENOSPC and free. Only ever a file system the lab created." },
	{ "fiu", "critic fiu list|status|enable POINT [opts]|disable POINT|--all [--dir DIR]",
	  "libfiu faults in the lab's crun: pods run with the runtime handler crun-fiu\n"
	  "get crun under critic's preload (critic/posix/CALL points) and libfiu's\n"
	  "posix one, e.g. `critic fiu enable critic/posix/clone --errno EAGAIN`.\n"
	  "Only C programs are reached (crun, conmon): containerd and runc are Go." },
	{ "bench", "critic bench [--pods N] [--concurrency C] [--grow N,N,…] [--overhead] [--faults K] [--json FILE]",
	  "Time the runtime: latency (p50/p95/p99/max/mean, errors, ops/s) of every pod,\n"
	  "container and image RPC under C concurrent workers; --grow shows how List*\n"
	  "and a pod's cost grow with the pod count; --overhead measures critic's own\n"
	  "and the proxy's cost per call; --faults (lab only) times how fast a killed\n"
	  "containerd is noticed and ready again. Everything it creates is removed." },
	{ "certify", "critic certify --profile conformance|resilience|full --out DIR | --verify DIR",
	  "A certification run written as a bundle: junit.xml, report.json and\n"
	  "report.html, the environment (runtime, OCI runtime, kernel, cgroups,\n"
	  "config.toml sha256, the exact command), a verdict line and a sha256\n"
	  "manifest. Profiles are data (profiles/*.yaml): tests, scenarios and the\n"
	  "skips they accept. --verify DIR checks a bundle against its manifest.\n"
	  "Run `critic certify --help` for its options." },
	{ "help", "critic help [COMMAND]", "Show help for a command." },
};

/* Commands with option sets of their own. Global options given before the
 * command word are handed to them after it (they parse -r, -t, --dir…). */
static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} delegated[] = {
	{ "proxy", proxy_cli_main },     { "bench", bench_cli_main },
	{ "doctor", doctor_cli_main },   { "cleanup", cleanup_cli_main },
	{ "scenario", scenario_cli_main }, { "fs", fs_cli_main },
	{ "fiu", fiu_cli_main },
	{ "certify", certify_cli_main },
};

/* Global options that take a value, for finding the command word. */
static bool global_takes_value(const char *a)
{
	static const char *const with_value[] = { "-r", "-i", "-t", "--runtime-endpoint", "--image-endpoint",
						  "--timeout", "--config", "--dir" };
	for (size_t i = 0; i < ARRAY_SIZE(with_value); i++)
		if (!strcmp(a, with_value[i]))
			return true;
	return false;
}

static int try_delegate(int argc, char **argv, int *rc)
{
	int cmd = 1;
	while (cmd < argc && argv[cmd][0] == '-') {
		if (!strcmp(argv[cmd], "--"))
			return 0;
		cmd += global_takes_value(argv[cmd]) && !strchr(argv[cmd], '=') ? 2 : 1;
	}
	if (cmd >= argc)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(delegated); i++) {
		if (strcmp(argv[cmd], delegated[i].name))
			continue;
		/* argv for the command: its word, the global options, the rest. */
		char **nav = calloc((size_t)argc + 1, sizeof *nav);
		if (!nav)
			return 0;
		int n = 0;
		nav[n++] = argv[cmd];
		for (int j = 1; j < cmd; j++) {
			/* doctor's --config is config.toml; the global one is crictl.yaml */
			if (!strcmp(delegated[i].name, "doctor") && !strcmp(argv[j], "--config"))
				nav[n++] = "--crictl";
			else
				nav[n++] = argv[j];
		}
		for (int j = cmd + 1; j < argc; j++)
			nav[n++] = argv[j];
		*rc = delegated[i].main(n, nav);
		free(nav);
		return 1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"critic — certify Kubernetes container runtimes over the CRI\n\n"
		"Usage: critic [global options] COMMAND [options]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f,
		"\nGlobal options (crictl's, in crictl's order of precedence):\n"
		"  -r, --runtime-endpoint EP  CRI endpoint, unix:///path or /path\n"
		"                             (env CONTAINER_RUNTIME_ENDPOINT; default: the lab)\n"
		"  -i, --image-endpoint EP    image service endpoint (env IMAGE_SERVICE_ENDPOINT;\n"
		"                             default: the runtime endpoint)\n"
		"  -t, --timeout DUR          per-call deadline: 2s, 500ms, or seconds (default 10s)\n"
		"      --config FILE          crictl.yaml to read (default /etc/crictl.yaml)\n"
		"      --no-color             plain output even on a terminal\n"
		"  -h, --help                 this help; `critic help COMMAND` for one command\n\n"
		"Exit codes: 0 success, 1 test failures, 2 usage or configuration error,\n"
		"3 endpoint unreachable.\n\n"
		"First run on a fresh machine (as root): make deps && make && bin/critic run\n");
}

static int help_for(const char *cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, cmd)) {
			printf("Usage: %s\n\n%s\n", commands[i].usage, commands[i].help);
			return EXIT_OK;
		}
	fprintf(stderr, "critic: no command '%s' (see critic --help)\n", cmd);
	return EXIT_USAGE;
}

/* "2s", "500ms", "1m", or a plain number of seconds. */
static int parse_duration_ms(const char *s, int *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	double mult = 1000;
	if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "s") || !*end)
		mult = 1000;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else
		return -1;
	if (v * mult > 86400000.0)
		return -1;
	*out = (int)(v * mult);
	return 0;
}

static void lab_progress(const char *line)
{
	fprintf(stderr, "%s\n", line);
}

/* The endpoint to use: explicit ones win; otherwise the lab (brought up
 * when start_lab, else just looked up). */
static int resolve_endpoint(const opts *o, ep_config *cfg, bool start_lab, lab_info *lab, bool *is_lab,
			    crit_err *e)
{
	memset(cfg, 0, sizeof *cfg);
	*is_lab = false;
	int rc = ep_resolve(cfg, o->crictl_yaml, o->runtime_endpoint, o->image_endpoint, o->timeout_ms, e);
	if (rc < 0)
		return rc;
	if (cfg->runtime[0])
		return 0;
	const char *dir = o->lab_dir ? o->lab_dir : lab_default_dir();
	rc = start_lab ? lab_up(dir, lab, e) : lab_status(dir, lab, e);
	if (rc < 0)
		return rc;
	if (!start_lab && rc == 0)
		return err_set(e, -ERR_UNREACHABLE,
			       "no endpoint given and the lab is not running (start it with `critic lab up`, "
			       "or give --runtime-endpoint)");
	snprintf(cfg->runtime, sizeof cfg->runtime, "%.500s", lab->endpoint);
	snprintf(cfg->source, sizeof cfg->source, "critic's lab in %.400s", dir);
	*is_lab = true;
	return 0;
}

static int exit_for(const crit_err *e)
{
	if (e->code == -ERR_UNREACHABLE)
		return EXIT_UNREACHABLE;
	if (e->code == -ERR_GRPC && e->grpc_status == 4 /* DEADLINE_EXCEEDED */)
		return EXIT_UNREACHABLE;
	return e->code == -ERR_CONFIG || e->code == -EINVAL || e->code == -ENAMETOOLONG ? EXIT_USAGE
											  : EXIT_UNREACHABLE;
}

static int cmd_version(const opts *o)
{
	printf("critic %s\n", CRITIC_VERSION);
	ep_config cfg;
	lab_info lab;
	bool is_lab;
	crit_err e;
	err_clear(&e);
	if (resolve_endpoint(o, &cfg, false, &lab, &is_lab, &e) < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		return exit_for(&e);
	}
	cri_conn *c;
	if (cri_connect(&c, cfg.runtime, cfg.image, cfg.timeout_ms, &e) < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		return exit_for(&e);
	}
	Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *v = NULL;
	if (CRI_CALL(c, Version, &vreq, &v, &e) < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		cri_close(c);
		return exit_for(&e);
	}
	printf("endpoint:        %s (%s)\n", cri_endpoint(c), cfg.source);
	printf("runtime:         %s %s\n", v->runtime_name, v->runtime_version);
	printf("CRI API version: %s\n", v->runtime_api_version);
	cri_free(v);
	Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
	Runtime__V1__StatusResponse *s = NULL;
	int rc = EXIT_OK;
	if (CRI_CALL(c, Status, &sreq, &s, &e) < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		rc = exit_for(&e);
	} else {
		printf("conditions:\n");
		for (size_t i = 0; s->status && i < s->status->n_conditions; i++) {
			Runtime__V1__RuntimeCondition *cd = s->status->conditions[i];
			printf("  %-14s %s%s%s%s%s\n", cd->type, cd->status ? "true" : "false",
			       *cd->reason ? "  reason: " : "", cd->reason, *cd->message ? "  message: " : "",
			       cd->message);
		}
		for (size_t i = 0; i < s->n_runtime_handlers; i++)
			printf("%s%s", i ? ", " : "handlers:        ",
			       *s->runtime_handlers[i]->name ? s->runtime_handlers[i]->name : "(default)");
		if (s->n_runtime_handlers)
			printf("\n");
		cri_free(s);
	}
	cri_close(c);
	return rc;
}

static int cmd_lab(const opts *o, int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "critic: lab needs a subcommand: up, status or down\n");
		return EXIT_USAGE;
	}
	const char *dir = o->lab_dir ? o->lab_dir : lab_default_dir();
	lab_info info;
	crit_err e;
	err_clear(&e);
	lab_set_logger(lab_progress);
	if (!strcmp(argv[0], "up")) {
		lab_options lo, *lop = NULL;
		if (o->loop_fs) {
			/* `--loop-fs 1G`: the size may come as the word after up */
			const char *size = o->loop_fs_size ? o->loop_fs_size : (argc > 1 ? argv[1] : "");
			if (lab_parse_loopfs(size, &lo, &e) < 0) {
				fprintf(stderr, "critic: lab up --loop-fs: %s\n", e.msg);
				return EXIT_USAGE;
			}
			lop = &lo;
		} else if (argc > 1) {
			fprintf(stderr, "critic: lab up: unexpected '%s'\n", argv[1]);
			return EXIT_USAGE;
		}
		if (lab_up_opts(dir, lop, &info, &e) < 0) {
			fprintf(stderr, "critic: lab up: %s\n", e.msg);
			return EXIT_UNREACHABLE;
		}
		char storage[512];
		lab_describe_storage(&info, storage, sizeof storage);

		printf("lab endpoint: %s\n", info.endpoint);
		printf("storage:      %s\n", storage);
		printf("registry:     %s\n", info.registry);
		printf("crun:         %s%s%s\n", info.crun_usable ? "usable" : "not usable",
		       info.crun_note[0] ? " — " : "", info.crun_note);
		printf("CRITIC_ENDPOINT=%s\n", info.endpoint);
		return EXIT_OK;
	}
	if (!strcmp(argv[0], "status")) {
		int rc = lab_status(dir, &info, &e);
		if (rc < 0) {
			fprintf(stderr, "critic: lab status: %s\n", e.msg);
			return EXIT_UNREACHABLE;
		}
		printf("lab in %s: %s\n", dir, rc ? "running" : "down");
		if (info.containerd_pid)
			printf("containerd pid %d, endpoint %s\n", (int)info.containerd_pid, info.endpoint);
		if (info.registry_pid)
			printf("registry pid %d on %s\n", (int)info.registry_pid, info.registry);
		char storage[512];
		lab_describe_storage(&info, storage, sizeof storage);
		printf("storage: %s\n", storage);
		return rc ? EXIT_OK : EXIT_UNREACHABLE;
	}
	if (!strcmp(argv[0], "down")) {
		if (lab_down(dir, &e) < 0) {
			fprintf(stderr, "critic: lab down: %s\n", e.msg);
			return EXIT_UNREACHABLE;
		}
		printf("lab in %s is down\n", dir);
		return EXIT_OK;
	}
	fprintf(stderr, "critic: lab: unknown subcommand '%s' (up, status, down)\n", argv[0]);
	return EXIT_USAGE;
}

static void make_run_id(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(buf, len, "%04d%02d%02d-%02d%02d%02d-%04x", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(getpid() & 0xffff));
}

static int cmd_run(const opts *o)
{
	static tst_env env; /* large; keep it off the stack */
	memset(&env, 0, sizeof env);
	env.focus = o->focus;
	env.skip = o->skip;
	env.extended = o->extended;
	/* With --tap, stdout carries TAP only: the human lines go to stderr. */
	FILE *out = o->tap ? stderr : stdout;
	env.out = out;
	env.color = !o->no_color && isatty(fileno(out)) && !getenv("NO_COLOR");
	const char *term = getenv("TERM");
	env.progress = !o->no_color && !o->tap && isatty(STDOUT_FILENO) && !(term && !strcmp(term, "dumb"));
	if (o->list) {
		crit_err le;
		if (tst_list(&env, &le) < 0) {
			fprintf(stderr, "critic: %s\n", le.msg);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	ep_config cfg;
	lab_info lab;
	bool is_lab;
	crit_err e;
	err_clear(&e);
	/* A typo in a filter is refused before a lab starts or a runtime is asked. */
	if (tst_check_filters(&env, &e) < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		return EXIT_USAGE;
	}
	/* A report that cannot be written is better known before a long run. */
	const char *reports[] = { o->junit, o->json, o->html };
	for (size_t i = 0; i < ARRAY_SIZE(reports); i++)
		if (reports[i] && rep_check_path(reports[i], &e) < 0) {
			fprintf(stderr, "critic: %s\n", e.msg);
			return EXIT_USAGE;
		}
	lab_set_logger(lab_progress);
	if (resolve_endpoint(o, &cfg, true, &lab, &is_lab, &e) < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		return exit_for(&e);
	}
	snprintf(env.endpoint, sizeof env.endpoint, "%s", cfg.runtime);
	snprintf(env.image_endpoint, sizeof env.image_endpoint, "%s", cfg.image);
	env.timeout_ms = cfg.timeout_ms > 0 ? cfg.timeout_ms : CRI_DEFAULT_TIMEOUT_MS;
	env.test_timeout_s = o->test_timeout_s > 0 ? o->test_timeout_s : 120;
	env.is_lab = is_lab;
	if (o->handler)
		snprintf(env.handler, sizeof env.handler, "%s", o->handler);
	make_run_id(env.run_id, sizeof env.run_id);
	if (is_lab) {
		snprintf(env.lab_dir, sizeof env.lab_dir, "%s", lab.dir);
		size_t n_roles;
		const char *const *roles = lab_image_roles(&n_roles);
		for (size_t i = 0; i < n_roles && env.n_images < TST_MAX_IMAGES; i++) {
			if (lab_image_ref(&lab, roles[i], env.images[env.n_images].ref,
					  sizeof env.images[0].ref) < 0)
				continue;
			snprintf(env.images[env.n_images].role, sizeof env.images[0].role, "%s", roles[i]);
			env.n_images++;
		}
		if (!strcmp(env.handler, "crun") && !lab.crun_usable) {
			fprintf(stderr, "critic: the crun handler is not usable in this lab: %s\n", lab.crun_note);
			return EXIT_USAGE;
		}
	}
	fprintf(out, "critic %s: run %s against %s (%s)%s%s\n", CRITIC_VERSION, env.run_id, env.endpoint,
		cfg.source, env.handler[0] ? ", runtime handler " : "", env.handler);
	fflush(out);
	/* A kubelet on the same runtime garbage-collects pods it did not make:
	 * say so before the run (conformance runs on a node stay allowed). This
	 * process has not used gRPC, so guard_check asks from a child; at most
	 * 2 s, so a runtime that hangs is not waited for twice. */
	if (!is_lab) {
		guard_report gr;
		crit_err ge;
		err_clear(&ge);
		if (guard_check(env.endpoint, env.timeout_ms < 2000 ? env.timeout_ms : 2000, &gr, &ge) == 0 && guard_kubelet_live(&gr)) {
			char facts[4096];
			guard_describe(&gr, facts, sizeof facts);
			fprintf(stderr,
				"critic: warning: a live kubelet uses %s:\n%s\n"
				"critic: a kubelet garbage-collects pods it does not know: tests may see their pods\n"
				"critic: stopped or removed under them and fail for that reason. Prefer critic's lab\n"
				"critic: (no --runtime-endpoint) or a node drained of its kubelet.\n",
				env.endpoint, facts);
		}
	}
	tst_summary sum;
	int rc = tst_run(&env, &sum, &e);
	if (rc < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		return e.code == -ERR_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_USAGE;
	}
	if (sum.aborted) {
		/* A second SIGINT: no sweep, no reports; say how to clean up. */
		fprintf(stderr, "critic: interrupted twice: stopped at once, cleanup skipped; remove what run %s left with: "
			"critic %s%s%scleanup --run-id %s\n", env.run_id, o->lab_dir ? "--dir " : "",
			o->lab_dir ? o->lab_dir : "", o->lab_dir ? " " : "", env.run_id);
		tst_summary_free(&sum);
		return 128 + SIGINT;
	}
	/* Reports, also after failures: that is when they matter most. One
	 * that cannot be written does not keep the others from being written. */
	static const struct {
		const char *what;
		int (*write)(const tst_summary *, const char *, crit_err *);
	} writers[] = { { "JUnit", rep_write_junit }, { "JSON", rep_write_json }, { "HTML", rep_write_html } };
	const char *paths[] = { o->junit, o->json, o->html };
	bool write_failed = false;
	for (size_t i = 0; i < ARRAY_SIZE(writers); i++) {
		if (!paths[i])
			continue;
		if (writers[i].write(&sum, paths[i], &e) < 0) {
			fprintf(stderr, "critic: %s\n", e.msg);
			write_failed = true;
		} else {
			fprintf(out, "%s report: %s\n", writers[i].what, paths[i]);
		}
	}
	if (o->tap && rep_write_tap(&sum, "-", &e) < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		write_failed = true;
	}
	int sig = sum.interrupted;
	tst_summary_free(&sum);
	if (sig) {
		/* The shell's convention for "stopped by signal N". */
		fprintf(stderr, "critic: run %s interrupted by %s; partial reports written\n", env.run_id,
			sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return 128 + sig;
	}
	if (write_failed)
		return EXIT_USAGE;
	return rc ? EXIT_TESTS : EXIT_OK;
}

int main(int argc, char **argv)
{
	opts o = { 0 };
	o.crictl_yaml = "/etc/crictl.yaml";
	fiu_init(0);
	signal(SIGPIPE, SIG_IGN);
	int drc;
	if (try_delegate(argc, argv, &drc))
		return drc;
	enum { O_CONFIG = 256, O_DIR, O_FOCUS, O_SKIP, O_LIST, O_HANDLER, O_JUNIT, O_TEST_TIMEOUT, O_NO_COLOR, O_EXTENDED, O_LOOP_FS,
	       O_JSON, O_HTML, O_TAP };
	static const struct option longopts[] = {
		{ "runtime-endpoint", required_argument, 0, 'r' },
		{ "image-endpoint", required_argument, 0, 'i' },
		{ "timeout", required_argument, 0, 't' },
		{ "config", required_argument, 0, O_CONFIG },
		{ "dir", required_argument, 0, O_DIR },
		{ "focus", required_argument, 0, O_FOCUS },
		{ "skip", required_argument, 0, O_SKIP },
		{ "list", no_argument, 0, O_LIST },
		{ "runtime-handler", required_argument, 0, O_HANDLER },
		{ "junit", required_argument, 0, O_JUNIT },
		{ "json", required_argument, 0, O_JSON },
		{ "html", required_argument, 0, O_HTML },
		{ "tap", no_argument, 0, O_TAP },
		{ "test-timeout", required_argument, 0, O_TEST_TIMEOUT },
		{ "no-color", no_argument, 0, O_NO_COLOR },
		{ "extended", no_argument, 0, O_EXTENDED },
		{ "loop-fs", optional_argument, 0, O_LOOP_FS },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	/* GNU getopt permutes: options may come before or after the command. */
	int c;
	while ((c = getopt_long(argc, argv, "r:i:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o.runtime_endpoint = optarg; break;
		case 'i': o.image_endpoint = optarg; break;
		case 't':
			if (parse_duration_ms(optarg, &o.timeout_ms) < 0 || o.timeout_ms <= 0) {
				fprintf(stderr, "critic: --timeout '%s': give a duration like 2s or 500ms\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_CONFIG: o.crictl_yaml = optarg; break;
		case O_DIR: o.lab_dir = optarg; break;
		case O_FOCUS: o.focus = optarg; break;
		case O_SKIP: o.skip = optarg; break;
		case O_LIST: o.list = true; break;
		case O_HANDLER: o.handler = optarg; break;
		case O_JUNIT: o.junit = optarg; break;
		case O_JSON: o.json = optarg; break;
		case O_HTML: o.html = optarg; break;
		case O_TAP: o.tap = true; break;
		case O_TEST_TIMEOUT: {
			int ms;
			if (parse_duration_ms(optarg, &ms) < 0 || ms < 1000) {
				fprintf(stderr, "critic: --test-timeout '%s': give seconds (at least 1)\n", optarg);
				return EXIT_USAGE;
			}
			o.test_timeout_s = ms / 1000;
			break;
		}
		case O_NO_COLOR: o.no_color = true; break;
		case O_EXTENDED: o.extended = true; break;
		case O_LOOP_FS: o.loop_fs = true; o.loop_fs_size = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default:
			fprintf(stderr, "critic: see critic --help\n");
			return EXIT_USAGE;
		}
	}
	char **words = argv + optind;
	int nw = argc - optind;
	if (nw == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = words[0];
	if (!strcmp(cmd, "help"))
		return nw > 1 ? help_for(words[1]) : (usage(stdout), EXIT_OK);
	if (!strcmp(cmd, "version"))
		return cmd_version(&o);
	if (!strcmp(cmd, "lab"))
		return cmd_lab(&o, nw - 1, words + 1);
	if (!strcmp(cmd, "run"))
		return cmd_run(&o);
	fprintf(stderr, "critic: unknown command '%s' (see critic --help)\n", cmd);
	return EXIT_USAGE;
}
