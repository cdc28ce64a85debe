/* critic's command line: parses flags, resolves the endpoint, and hands off
 * to the lab, the runner and the client. The only place that calls exit(). */
#include <errno.h>
#include <fcntl.h>
#include <fiu.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
#include "scenarios/runlib.h"
#include "endpoint.h"
#include "guard.h"
#include "images.h"
#include "lab.h"
#include "reports/rep.h"
#include "sonobuoy.h"
#include "tst.h"
#include "util.h"
#include "version.h"

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
	int parallel; /* --parallel N, 0 = tst_default_parallel() */
	bool no_color;
	const char *registry_prefix, *images_file;
	/* --scenarios: the words after `run` name files or dirs ("all" = library) */
	bool scenarios, scenarios_only, allow_disruptive;
	char **scn_args;
	int n_scn_args;
	const char *rt_pid, *rt_pidfile, *rt_start, *rt_stop;
	const char *sonobuoy; /* --sonobuoy-results DIR */
	bool force_kubelet;   /* --force-with-kubelet */
} opts;

static const struct {
	const char *name, *usage, *help;
} commands[] = {
	{ "run", "critic run [--focus RE] [--skip RE] [--list] [--parallel N] [--runtime-handler NAME] [--junit FILE] [--json FILE] "
		 "[--html FILE] [--tap] [--scenarios|--scenarios-only [all|FILE...|DIR...]] [--allow-disruptive]",
	  "Run the conformance suites against the endpoint (default: critic's lab,\n"
	  "started if needed). Each test runs in its own process with a deadline;\n"
	  "everything it creates carries critic's labels and is removed after it.\n"
	  "  --focus RE            run only tests whose name matches the regex\n"
	  "  --skip RE             leave out tests whose name matches the regex\n"
	  "  --list                print the selected tests with a description, run nothing\n"
	  "  --runtime-handler N   run pods with this runtime handler (e.g. crun)\n"
	  "  --test-timeout SEC    kill a test that runs longer (default 120)\n"
	  "  --parallel N          run up to N tests at once (default: 2 per core, at most 8;\n"
	  "                        1 = one after another); tests marked serial run alone\n"
	  "  --extended            also run checks beyond what the kubelet exercises\n"
	  "                        (skipped otherwise, with that reason)\n"
	  "  --junit FILE          write JUnit XML (a testsuite per area and per scenario) for CI\n"
	  "                        test reporters\n"
	  "  --json FILE           write the run as JSON, schema critic.run/v1 (reports/README.md):\n"
	  "                        metadata, every test with its CRI calls, latency per method\n"
	  "  --html FILE           write one self-contained HTML page with tables and charts\n"
	  "  --tap                 print KTAP on stdout at the end; progress goes to stderr\n"
	  "  --sonobuoy-results DIR  as a Sonobuoy plugin: the reports (JUnit, JSON, HTML)\n"
	  "                        packed into DIR/critic-results.tar.gz and DIR/done naming\n"
	  "                        it, also when the run could not start (\"-\" = " SONOBUOY_DEFAULT_DIR ")\n"
	  "  --scenarios [all|FILE...|DIR...]\n"
	  "                        after the tests, run fault scenarios against the same\n"
	  "                        endpoint: the words after `run` name YAML files or\n"
	  "                        directories of them; none or \"all\" = the library\n"
	  "                        (critic scenario list). All are checked before the run.\n"
	  "                        Each runs in its own process; its steps and the kubelet\n"
	  "                        model's timeline go into every report\n"
	  "  --scenarios-only      the same without conformance tests (--focus is ignored)\n"
	  "  --allow-disruptive    run disruptive scenarios against an endpoint that is not\n"
	  "                        critic's lab (otherwise SKIP with that reason)\n"
	  "  --runtime-pid PID, --runtime-pidfile FILE, --runtime-start CMD, --runtime-stop CMD\n"
	  "                        how scenarios find, stop and start a runtime that is not\n"
	  "                        the lab's\n"
	  "  --registry-prefix P   test images at P/ROLE:1.0, P = HOST[:PORT][/PATH] (from\n"
	  "                        `critic images serve` or `critic images push`); needed for an\n"
	  "                        endpoint other than the lab, else tests that need images skip\n"
	  "  --images-file FILE    test images from FILE: `ROLE REFERENCE [DIGEST]` lines\n"
	  "                        Before the tests the runtime pulls busybox once: a registry it\n"
	  "                        cannot reach is one error (with how to fix it) and exit 3\n"
	  "Reports are written at the end of the run, also when tests failed; a report\n"
	  "that cannot be written ends the run with exit 2, naming the file. On a\n"
	  "terminal a status line (tests done, current test, elapsed) is redrawn.\n"
	  "SIGINT/SIGTERM stop the run: the test running is killed, the run is swept,\n"
	  "reports are written (tests not run: SKIP \"interrupted\"), exit 130/143. A\n"
	  "second SIGINT stops at once without cleanup (then: critic cleanup --run-id ID).\n"
	  "Exit: 0 all passed or skipped (tests and scenarios), 1 failures, 2 usage (also\n"
	  "a scenario file with errors), 3 endpoint unreachable." },
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
	  "          remembered by later ups; `--loop-fs off` goes back\n"
	  "SIGINT/SIGTERM during up stop it and take down what it started (a lab that\n"
	  "was running before is left running); exit 130/143." },
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
	{ "cleanup", "critic cleanup [--run-id ID] [--dry-run] | --leaks",
	  "Find and remove what critic left in the runtime: pods and containers\n"
	  "labelled critic.io/owner=critic (of one run with --run-id) and their log\n"
	  "dirs. --dry-run lists them and removes nothing. Nothing unlabelled is touched.\n"
	  "--leaks lists (never removes) what the runtime left on the node for pods and\n"
	  "containers it no longer lists: mounts below its root and state, CNI IP\n"
	  "allocations, shims, cgroups of those ids; exit 1 when there is any.\n"
	  "`critic run` makes the same check at its end against a snapshot taken at its\n"
	  "start (\"final sweep: leaks since the run started: …\")." },
	{ "fs", "critic fs readonly|repair|freeze|thaw|fill|free|state [--dir DIR]",
	  "Break the lab's own file system (lab up --loop-fs) the ways disks fail:\n"
	  "a disk error that remounts it read-only, repair, freeze/thaw, fill to\n"
	  "ENOSPC and free. Only ever a file system the lab created." },
	{ "fiu", "critic fiu list|status|enable POINT [opts]|disable POINT|--all [--dir DIR]",
	  "libfiu faults in the lab's crun: pods run with the runtime handler crun-fiu\n"
	  "get crun under critic's preload (critic/posix/CALL points) and libfiu's\n"
	  "posix one, e.g. `critic fiu enable critic/posix/clone --errno EAGAIN`.\n"
	  "Only C programs are reached (crun, conmon): containerd and runc are Go." },
	{ "bench", "critic bench [--pods N] [--containers M] [--concurrency C] [--grow N,N,…] [--overhead] "
		   "[--faults K] [--conformance LOG] [--json FILE] [--html FILE]",
	  "Time the runtime: latency (p50/p95/p99/max/mean, errors, ops/s) of every pod,\n"
	  "container and image RPC under C concurrent workers with M containers a pod;\n"
	  "--grow shows how List* and a pod's cost grow with the pod count; --overhead\n"
	  "measures critic's own and the proxy's cost per call; --faults (lab only)\n"
	  "times how fast a killed containerd is noticed and ready again; --conformance\n"
	  "times `critic run` (wall time, peak RSS); --html draws it all on one page.\n"
	  "Everything it creates is removed.\n"
	  "`critic bench --help` lists every option; `make bench` runs them all." },
	{ "certify", "critic certify --profile conformance|resilience|full --out DIR | --verify DIR",
	  "A certification run written as a bundle: junit.xml, report.json and\n"
	  "report.html, the environment (runtime, OCI runtime, kernel, cgroups,\n"
	  "config.toml sha256, the exact command), a verdict line and a sha256\n"
	  "manifest. Profiles are data (profiles/*.yaml): tests, scenarios and the\n"
	  "skips they accept. --verify DIR checks a bundle against its manifest.\n"
	  "Run `critic certify --help` for its options." },
	{ "images", "critic images serve|stop|push|list [options]",
	  "critic's test images for any runtime: serve them from a local registry,\n"
	  "push them to yours, list each role's reference and digest.\n"
	  "Run `critic images --help` for its options." },
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
	{ "images", img_cli_main },
	{ "certify", certify_cli_main },
};

/* Global options that take a value, for finding the command word. */
static bool global_takes_value(const char *a)
{
	static const char *const with_value[] = { "-r", "-i", "-t", "--runtime-endpoint", "--image-endpoint",
						  "--timeout", "--config", "--dir", "--runtime-pid",
						  "--runtime-pidfile", "--runtime-start", "--runtime-stop" };
	for (size_t i = 0; i < ARRAY_SIZE(with_value); i++)
		if (!strcmp(a, with_value[i]))
			return true;
	return false;
}

/* Runtime control flags given as global options, and the delegated
 * commands that take them; --force-with-kubelet is checked here for the
 * lab-only breakers (fs, fiu, bench --faults) and taken by scenario. */
static const struct {
	const char *flag;
	const char *takers; /* " cmd cmd " */
} rt_flags[] = {
	{ "--runtime-pid", " scenario certify " },     { "--runtime-pidfile", " scenario certify " },
	{ "--runtime-start", " scenario certify " },   { "--runtime-stop", " scenario certify " },
	{ "--allow-disruptive", " scenario certify " }, { GUARD_FORCE_FLAG, " scenario fs fiu bench " },
};

static int rt_flag(const char *a)
{
	size_t l = strcspn(a, "=");
	for (size_t i = 0; i < ARRAY_SIZE(rt_flags); i++)
		if (strlen(rt_flags[i].flag) == l && !strncmp(a, rt_flags[i].flag, l))
			return (int)i;
	return -1;
}

/* fs readonly|freeze|fill, fiu enable, bench --faults: refused beside a
 * live kubelet on the lab's endpoint unless forced. 0 = go on. */
static int guard_lab_breaker(const char *cmd, int argc, char **argv, int cmd_at, bool force)
{
	const char *sub = cmd_at + 1 < argc ? argv[cmd_at + 1] : "";
	bool breaks = false;
	if (!strcmp(cmd, "fs"))
		breaks = !strcmp(sub, "readonly") || !strcmp(sub, "freeze") || !strcmp(sub, "fill");
	else if (!strcmp(cmd, "fiu"))
		breaks = !strcmp(sub, "enable");
	else if (!strcmp(cmd, "bench"))
		for (int j = cmd_at + 1; j < argc; j++)
			breaks = breaks || util_has_prefix(argv[j], "--faults");
	if (!breaks)
		return 0;
	const char *dir = NULL;
	for (int j = 1; j + 1 < argc; j++)
		if (!strcmp(argv[j], "--dir"))
			dir = argv[j + 1];
	lab_info li;
	if (lab_status(dir ? dir : lab_default_dir(), &li, NULL) != 1)
		return 0; /* no lab: the command says so itself */
	char what[128];
	snprintf(what, sizeof what, "critic %s %s", cmd, strcmp(cmd, "bench") ? sub : "--faults");
	crit_err e;
	err_clear(&e);
	if (guard_refuse_disruptive(li.endpoint, force, what, 5000, stderr, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return EXIT_USAGE;
	}
	return 0;
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
		/* Runtime control flags before the command: only for commands
		 * that take them; the force flag anywhere for fs, fiu and bench. */
		char taker[32];
		snprintf(taker, sizeof taker, " %s ", delegated[i].name);
		bool force = false, own_force = !strcmp(delegated[i].name, "scenario");
		for (int j = 1; j < argc; j++) {
			int f = j < cmd || !strcmp(argv[j], GUARD_FORCE_FLAG) ? rt_flag(argv[j]) : -1;
			if (f < 0)
				continue;
			if (!strstr(rt_flags[f].takers, taker)) {
				fprintf(stderr, "critic: %s is not an option of `critic %s` (used by:%.*s)\n", rt_flags[f].flag,
					delegated[i].name, (int)strlen(rt_flags[f].takers) - 1, rt_flags[f].takers);
				*rc = EXIT_USAGE;
				return 1;
			}
			force = force || !strcmp(rt_flags[f].flag, GUARD_FORCE_FLAG);
		}
		if (!own_force && (*rc = guard_lab_breaker(delegated[i].name, argc, argv, cmd, force)) != 0)
			return 1;
		/* argv for the command: its word, the global options, the rest. */
		char **nav = calloc((size_t)argc + 1, sizeof *nav);
		if (!nav)
			return 0;
		int n = 0, rest = cmd + 1;
		nav[n++] = argv[cmd];
		/* scenario wants its subcommand first: `scenario run --dir D …` */
		if (own_force && rest < argc && argv[rest][0] != '-')
			nav[n++] = argv[rest++];
		for (int j = 1; j < cmd; j++) {
			/* doctor's --config is config.toml; the global one is crictl.yaml */
			if (!strcmp(delegated[i].name, "doctor") && !strcmp(argv[j], "--config"))
				nav[n++] = "--crictl";
			else if (!own_force && !strcmp(argv[j], GUARD_FORCE_FLAG))
				continue;
			else
				nav[n++] = argv[j];
		}
		for (int j = rest; j < argc; j++)
			if (own_force || strcmp(argv[j], GUARD_FORCE_FLAG))
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
		"Runtime control and safety (before or after the command; passed to the commands\n"
		"that use them, refused with exit 2 by the others):\n"
		"      --runtime-pid PID      the external runtime's pid (scenario, run --scenarios,\n"
		"                             certify)\n"
		"      --runtime-pidfile FILE its pidfile, re-read at every use\n"
		"      --runtime-start CMD    sh command that starts it, e.g. 'systemctl start\n"
		"                             containerd'\n"
		"      --runtime-stop CMD     sh command that stops it (default: SIGTERM the pid)\n"
		"      --allow-disruptive     disruptive faults on a runtime that is not critic's\n"
		"                             lab (scenario, run --scenarios, certify; refused\n"
		"                             without it)\n"
		"      --force-with-kubelet   disruptive faults although a live kubelet uses the\n"
		"                             endpoint (scenario run, run --scenarios, fs\n"
		"                             readonly|freeze|fill,\n"
		"                             fiu enable, bench --faults; refused without it,\n"
		"                             naming the kubelet's pid or its pods)\n"
		"`critic run` without --scenarios accepts them and does nothing disruptive.\n\n"
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

/* lab up in a child process, so that SIGINT/SIGTERM here can stop it
 * half-way and take down what it started (containerd and the registry run
 * in sessions of their own, so lab_down finds them by pid and by the lab
 * dir); a lab that ran before is left running. The child stays in our
 * process group: a terminal's ^C and util_run's timeout reach it too.
 * Returns 0 or < 0 as lab_up_opts, or 128+signal when interrupted. */
static volatile sig_atomic_t lab_up_sig;
static void lab_up_on_signal(int sig)
{
	lab_up_sig = sig;
}

static int lab_up_interruptible(const char *dir, const lab_options *lop, lab_info *info, crit_err *e)
{
	struct {
		int rc;
		crit_err e;
		lab_info info;
	} m;
	lab_info before;
	bool was_up = lab_status(dir, &before, NULL) == 1;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return lab_up_opts(dir, lop, info, e);
	struct sigaction sa = { .sa_handler = lab_up_on_signal, .sa_flags = SA_RESETHAND }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	lab_up_sig = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(fds[0]);
		memset(&m, 0, sizeof m);
		m.rc = lab_up_opts(dir, lop, &m.info, &m.e);
		ssize_t w = write(fds[1], &m, sizeof m);
		fflush(NULL);
		_exit(w == (ssize_t)sizeof m ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		return lab_up_opts(dir, lop, info, e);
	}
	size_t got = 0;
	while (!lab_up_sig) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		if (poll(&pfd, 1, 200) <= 0)
			continue; /* EINTR: the flag says why */
		ssize_t n = read(fds[0], (char *)&m + got, sizeof m - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	int sig = lab_up_sig;
	bool reaped = false;
	if (sig && got < sizeof m) {
		/* our child, by pid (its helpers run under util_run's deadlines) */
		kill(pid, SIGTERM);
		int64_t end = util_now_ms() + 5000;
		while (!(reaped = waitpid(pid, NULL, WNOHANG) == pid) && util_now_ms() < end)
			util_sleep_ms(50);
		if (!reaped)
			kill(pid, SIGKILL);
	}
	if (!reaped)
		waitpid(pid, NULL, 0);
	if (sig && got < sizeof m) {
		crit_err de;
		err_clear(&de);
		if (was_up) {
			fprintf(stderr, "critic: lab up interrupted by %s; the lab ran before and is left running\n",
				sig == SIGTERM ? "SIGTERM" : "SIGINT");
		} else {
			fprintf(stderr, "critic: lab up interrupted by %s: taking down what it started in %s\n",
				sig == SIGTERM ? "SIGTERM" : "SIGINT", dir);
			if (lab_down(dir, &de) < 0)
				fprintf(stderr, "critic: lab down after the interrupt: %s (run: critic --dir %s lab down)\n",
					de.msg, dir);
		}
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		return 128 + sig;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (got < sizeof m)
		return err_set(e, -EIO, "lab up in %s: its process died without a result", dir);
	*info = m.info;
	if (m.rc < 0 && e)
		*e = m.e;
	return m.rc;
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
		int urc = lab_up_interruptible(dir, lop, &info, &e);
		if (urc > 0)
			return urc;
		if (urc < 0) {
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

static int cmd_run_inner(const opts *o)
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
	/* --scenarios: every file found and checked before anything runs. */
	static char **scn_paths;
	static size_t n_scn_paths;
	if (o->n_scn_args && !o->scenarios) {
		fprintf(stderr, "critic: run: unexpected '%s' (scenario files come with --scenarios)\n", o->scn_args[0]);
		return EXIT_USAGE;
	}
	if (o->scenarios) {
		scn_diags d = { 0 };
		if (runlib_resolve(o->scn_args, (size_t)o->n_scn_args, &scn_paths, &n_scn_paths, &e) < 0) {
			fprintf(stderr, "critic: %s\n", e.msg);
			return EXIT_USAGE;
		}
		if (runlib_check(scn_paths, n_scn_paths, &d) > 0) {
			scn_diags_print(&d, stderr);
			fprintf(stderr, "critic: %zu error%s in the scenarios: nothing was run\n", d.n, d.n == 1 ? "" : "s");
			scn_diags_free(&d);
			return EXIT_USAGE;
		}
		scn_diags_free(&d);
	}
	/* Test images given by the user: checked before anything starts. */
	static img_set user_images;
	memset(&user_images, 0, sizeof user_images);
	if (o->registry_prefix && o->images_file) {
		fprintf(stderr, "critic: give --registry-prefix or --images-file, not both\n");
		return EXIT_USAGE;
	}
	if ((o->registry_prefix && img_from_prefix(o->registry_prefix, &user_images, &e) < 0) ||
	    (o->images_file && img_from_file(o->images_file, &user_images, &e) < 0)) {
		fprintf(stderr, "critic: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (user_images.n) {
		/* The digests the registry holds: tests that pull by digest use them. */
		crit_err de;
		err_clear(&de);
		int unknown = img_resolve_digests(&user_images, &de);
		if (unknown)
			fprintf(stderr, "critic: warning: %d test image digest%s not known (%s); the runtime's pull "
				"check below tells whether it can reach them\n", unknown, unknown == 1 ? "" : "s", de.msg);
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
	env.parallel = o->parallel > 0 ? o->parallel : tst_default_parallel();
	env.is_lab = is_lab;
	if (o->handler)
		snprintf(env.handler, sizeof env.handler, "%s", o->handler);
	make_run_id(env.run_id, sizeof env.run_id);
	if (is_lab) {
		snprintf(env.lab_dir, sizeof env.lab_dir, "%s", lab.dir);
		if (!user_images.n && img_from_lab(&lab, &user_images, NULL) < 0)
			user_images.n = 0;
		if (!strcmp(env.handler, "crun") && !lab.crun_usable) {
			fprintf(stderr, "critic: the crun handler is not usable in this lab: %s\n", lab.crun_note);
			return EXIT_USAGE;
		}
	}
	img_to_env(&user_images, &env);
	fprintf(out, "critic %s: run %s against %s (%s)%s%s\n", CRITIC_VERSION, env.run_id, env.endpoint,
		cfg.source, env.handler[0] ? ", runtime handler " : "", env.handler);
	if (o->registry_prefix || o->images_file)
		fprintf(out, "test images: %s (busybox %s)\n", o->images_file ? o->images_file : o->registry_prefix,
			img_find(&user_images, "busybox") ? img_find(&user_images, "busybox")->ref : "not given");
	else if (!env.n_images)
		fprintf(stderr, "critic: %s; tests that need an image are skipped\n", TST_NO_IMAGES);
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
			/* Breaking the runtime under a live kubelet breaks the node:
			 * disruptive scenarios are refused there unless forced. */
			if (o->scenarios && o->allow_disruptive && !o->force_kubelet) {
				fprintf(stderr,
					"critic: refusing disruptive scenarios: a live kubelet uses %s:\n%s\n"
					"critic: breaking this runtime would take its node down; drain the node and stop\n"
					"critic: its kubelet, or give " GUARD_FORCE_FLAG " if that is what you want\n",
					env.endpoint, facts);
				return EXIT_USAGE;
			}
			fprintf(stderr,
				"critic: warning: a live kubelet uses %s:\n%s\n"
				"critic: a kubelet garbage-collects pods it does not know: tests may see their pods\n"
				"critic: stopped or removed under them and fail for that reason. Prefer critic's lab\n"
				"critic: (no --runtime-endpoint) or a node drained of its kubelet.\n",
				env.endpoint, facts);
		}
	}
	/* A registry the runtime cannot reach would fail every image test one
	 * by one: one pull first, and one error with the fix. */
	static char advice[4096];
	if (!is_lab && env.n_images && img_preflight(&env, advice, sizeof advice, &e) < 0) {
		fprintf(stderr, "critic: %s\n%s%s", e.msg, advice, advice[0] ? "\n" : "");
		return EXIT_UNREACHABLE;
	}
	tst_summary sum;
	int rc;
	if (o->scenarios_only) {
		memset(&sum, 0, sizeof sum);
		if ((rc = runlib_preflight(&env, &sum.meta, &e)) == 0)
			fprintf(out, "runtime: %s %s (CRI %s); scenarios only, no conformance test\n", sum.meta.runtime_name,
				sum.meta.runtime_version, sum.meta.runtime_api);
	} else {
		rc = tst_run(&env, &sum, &e);
	}
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
	/* The scenarios, after the tests, against the same endpoint; each in
	 * a child of its own (this process has not used gRPC). */
	rep_scn_set scn = { 0 };
	int scn_passed = 0, scn_failed = 0, scn_skipped = 0;
	if (o->scenarios && !sum.interrupted) {
		runlib_opts ro = {
			.endpoint = is_lab ? NULL : env.endpoint,
			.image_endpoint = env.image_endpoint[0] ? env.image_endpoint : NULL,
			.lab_dir = is_lab ? lab.dir : o->lab_dir,
			.allow_disruptive = o->allow_disruptive,
			.runtime_pid = o->rt_pid ? (pid_t)atol(o->rt_pid) : 0,
			.runtime_pidfile = o->rt_pidfile,
			.runtime_start = o->rt_start,
			.runtime_stop = o->rt_stop,
			.timeout_ms = env.timeout_ms,
			.run_id = env.run_id,
			.color = env.color,
			.out = out,
		};
		int64_t t0 = util_now_ms();
		int ssig = 0;
		fprintf(out, "\nscenarios: %zu to run\n", n_scn_paths);
		if (runlib_run(&ro, scn_paths, n_scn_paths, &scn, &ssig, &e) < 0)
			fprintf(stderr, "critic: scenarios: %s\n", e.msg);
		sum.wall_ms += util_now_ms() - t0;
		if (ssig)
			sum.interrupted = ssig;
		rep_scn_counts(&scn, &scn_passed, &scn_failed, &scn_skipped);
		for (size_t i = 0; i < scn.n; i++)
			fprintf(out, "  %-7s %-30s %s\n", scn.v[i].verdict, scn.v[i].name ? scn.v[i].name : "?",
				strcmp(scn.v[i].verdict, "PASS") && scn.v[i].reason ? scn.v[i].reason : "");
		fprintf(out, "%zu scenarios: %d passed, %d failed, %d skipped\n", scn.n, scn_passed, scn_failed, scn_skipped);
	}
	scn_paths_free(scn_paths, n_scn_paths);
	/* Reports, also after failures: that is when they matter most. One
	 * that cannot be written does not keep the others from being written. */
	static const struct {
		const char *what;
		rep_format fmt;
	} writers[] = { { "JUnit", REP_JUNIT }, { "JSON", REP_JSON }, { "HTML", REP_HTML } };
	const char *paths[] = { o->junit, o->json, o->html };
	bool write_failed = false;
	for (size_t i = 0; i < ARRAY_SIZE(writers); i++) {
		if (!paths[i])
			continue;
		if (rep_write(writers[i].fmt, &sum, &scn, paths[i], &e) < 0) {
			fprintf(stderr, "critic: %s\n", e.msg);
			write_failed = true;
		} else {
			fprintf(out, "%s report: %s\n", writers[i].what, paths[i]);
		}
	}
	if (o->tap && rep_write(REP_TAP, &sum, &scn, "-", &e) < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		write_failed = true;
	}
	int sig = sum.interrupted;
	tst_summary_free(&sum);
	rep_scn_set_free(&scn);
	if (sig) {
		/* The shell's convention for "stopped by signal N". */
		fprintf(stderr, "critic: run %s interrupted by %s; partial reports written\n", env.run_id,
			sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return 128 + sig;
	}
	if (write_failed)
		return EXIT_USAGE;
	return rc || scn_failed ? EXIT_TESTS : EXIT_OK;
}

/* critic run; as a Sonobuoy plugin the results are handed over whatever
 * happened, or the aggregator would wait for this node until it times out. */
static int cmd_run(const opts *o)
{
	if (!o->sonobuoy || o->list)
		return cmd_run_inner(o);
	opts so = *o;
	char junit[PATH_MAX], json[PATH_MAX], html[PATH_MAX];
	snprintf(junit, sizeof junit, "%s/junit.xml", o->sonobuoy);
	snprintf(json, sizeof json, "%s/report.json", o->sonobuoy);
	snprintf(html, sizeof html, "%s/report.html", o->sonobuoy);
	crit_err e;
	err_clear(&e);
	if (util_mkdir_p(o->sonobuoy, 0755, &e) < 0) {
		fprintf(stderr, "critic: --sonobuoy-results: %s\n", e.msg);
		return EXIT_USAGE;
	}
	/* Reports asked for elsewhere still go there; the plugin gets its own. */
	if (!so.junit)
		so.junit = junit;
	if (!so.json)
		so.json = json;
	if (!so.html)
		so.html = html;
	/* Files from an earlier run in the same dir must not pass for this one's. */
	const char *files[] = { so.junit, so.json, so.html };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unlink(files[i]);
	int rc = cmd_run_inner(&so);
	char why[128];
	snprintf(why, sizeof why, "critic run exited %d (%s); the plugin's log says why", rc,
		 rc == EXIT_UNREACHABLE ? "the runtime endpoint is unreachable" : rc == EXIT_USAGE ? "usage or configuration error" : "stopped");
	if (sonobuoy_finish(o->sonobuoy, files, ARRAY_SIZE(files), rc, why, &e) < 0) {
		fprintf(stderr, "critic: --sonobuoy-results %s: %s\n", o->sonobuoy, e.msg);
		return rc ? rc : EXIT_USAGE;
	}
	fprintf(rc ? stderr : stdout, "Sonobuoy results: %s/done\n", o->sonobuoy);
	return rc;
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
	       O_REGISTRY_PREFIX, O_IMAGES_FILE, O_JSON, O_HTML, O_TAP, O_PARALLEL,
	       O_RT_PID, O_RT_PIDFILE, O_RT_START, O_RT_STOP, O_ALLOW_DISRUPTIVE, O_SCENARIOS, O_SCENARIOS_ONLY, O_SONOBUOY, O_FORCE_KUBELET };
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
		{ "sonobuoy-results", required_argument, 0, O_SONOBUOY },
		{ "test-timeout", required_argument, 0, O_TEST_TIMEOUT },
		{ "parallel", required_argument, 0, O_PARALLEL },
		{ "no-color", no_argument, 0, O_NO_COLOR },
		{ "extended", no_argument, 0, O_EXTENDED },
		{ "loop-fs", optional_argument, 0, O_LOOP_FS },
		{ "registry-prefix", required_argument, 0, O_REGISTRY_PREFIX },
		{ "images-file", required_argument, 0, O_IMAGES_FILE },
		/* runtime control flags (see usage): nothing in run, lab or
		 * version is disruptive, so they are accepted and unused here */
		{ "runtime-pid", required_argument, 0, O_RT_PID },
		{ "runtime-pidfile", required_argument, 0, O_RT_PIDFILE },
		{ "runtime-start", required_argument, 0, O_RT_START },
		{ "runtime-stop", required_argument, 0, O_RT_STOP },
		{ "allow-disruptive", no_argument, 0, O_ALLOW_DISRUPTIVE },
		{ "scenarios", no_argument, 0, O_SCENARIOS },
		{ "scenarios-only", no_argument, 0, O_SCENARIOS_ONLY },
		{ "force-with-kubelet", no_argument, 0, O_FORCE_KUBELET },
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
		case O_SONOBUOY: o.sonobuoy = strcmp(optarg, "-") ? optarg : SONOBUOY_DEFAULT_DIR; break;
		case O_TEST_TIMEOUT: {
			int ms;
			if (parse_duration_ms(optarg, &ms) < 0 || ms < 1000) {
				fprintf(stderr, "critic: --test-timeout '%s': give seconds (at least 1)\n", optarg);
				return EXIT_USAGE;
			}
			o.test_timeout_s = ms / 1000;
			break;
		}
		case O_PARALLEL: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (end == optarg || *end || n < 1 || n > 64) {
				fprintf(stderr, "critic: --parallel '%s': give a number of tests from 1 to 64\n", optarg);
				return EXIT_USAGE;
			}
			o.parallel = (int)n;
			break;
		}
		case O_NO_COLOR: o.no_color = true; break;
		case O_EXTENDED: o.extended = true; break;
		case O_LOOP_FS: o.loop_fs = true; o.loop_fs_size = optarg; break;
		case O_REGISTRY_PREFIX: o.registry_prefix = optarg; break;
		case O_IMAGES_FILE: o.images_file = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		/* scenarios of `run --scenarios` use these; nothing else in run does */
		case O_RT_PID: o.rt_pid = optarg; break;
		case O_RT_PIDFILE: o.rt_pidfile = optarg; break;
		case O_RT_START: o.rt_start = optarg; break;
		case O_RT_STOP: o.rt_stop = optarg; break;
		case O_ALLOW_DISRUPTIVE: o.allow_disruptive = true; break;
		case O_FORCE_KUBELET: o.force_kubelet = true; break;
		case O_SCENARIOS: o.scenarios = true; break;
		case O_SCENARIOS_ONLY: o.scenarios = o.scenarios_only = true; break;
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
	if (!strcmp(cmd, "run")) {
		o.scn_args = words + 1;
		o.n_scn_args = nw - 1;
		return cmd_run(&o);
	}
	fprintf(stderr, "critic: unknown command '%s' (see critic --help)\n", cmd);
	return EXIT_USAGE;
}
