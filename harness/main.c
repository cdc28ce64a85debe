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
#include "fault/proxy.h"
#include "endpoint.h"
#include "lab.h"
#include "tst.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_TESTS = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

typedef struct opts {
	const char *runtime_endpoint, *image_endpoint, *crictl_yaml;
	int timeout_ms;
	const char *lab_dir;
	const char *focus, *skip, *handler, *junit;
	bool list, extended;
	int test_timeout_s;
	bool no_color;
} opts;

static const struct {
	const char *name, *usage, *help;
} commands[] = {
	{ "run", "critic run [--focus RE] [--skip RE] [--list] [--runtime-handler NAME] [--junit FILE]",
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
	  "Exit: 0 all passed or skipped, 1 failures, 2 usage, 3 endpoint unreachable." },
	{ "version", "critic version",
	  "Print critic's version; with a reachable endpoint also the runtime's\n"
	  "Version reply (name, version, CRI API version) and its Status conditions." },
	{ "lab", "critic lab up|status|down [--dir DIR]",
	  "Manage critic's lab: a private containerd (own root, state, socket,\n"
	  "config.toml, CNI bridge) with a local registry of images built here.\n"
	  "  up      start it (idempotent) and print CRITIC_ENDPOINT=unix://… for eval\n"
	  "  status  tell what runs\n"
	  "  down    remove the lab's pods, stop containerd, shims and registry,\n"
	  "          unmount what the lab mounted\n"
	  "  --dir DIR  lab directory (default $CRITIC_LAB_DIR or " LAB_DEFAULT_DIR ")" },
	{ "proxy", "critic proxy --listen PATH --upstream ENDPOINT [--mode MODE] [--control PATH]",
	  "A unix-socket proxy between a CRI client and the runtime that can pass\n"
	  "through, delay, blackhole, reset, refuse, cut or corrupt on command.\n"
	  "Run `critic proxy --help` for its modes and control socket." },
	{ "help", "critic help [COMMAND]", "Show help for a command." },
};

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
		if (lab_up(dir, &info, &e) < 0) {
			fprintf(stderr, "critic: lab up: %s\n", e.msg);
			return EXIT_UNREACHABLE;
		}
		printf("lab endpoint: %s\n", info.endpoint);
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
	env.color = !o->no_color && isatty(1) && !getenv("NO_COLOR");
	if (o->list) {
		tst_list(&env);
		return EXIT_OK;
	}
	ep_config cfg;
	lab_info lab;
	bool is_lab;
	crit_err e;
	err_clear(&e);
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
	printf("critic %s: run %s against %s (%s)%s%s\n", CRITIC_VERSION, env.run_id, env.endpoint, cfg.source,
	       env.handler[0] ? ", runtime handler " : "", env.handler);
	fflush(stdout);
	tst_summary sum;
	int rc = tst_run(&env, &sum, &e);
	if (rc < 0) {
		fprintf(stderr, "critic: %s\n", e.msg);
		return e.code == -ERR_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_USAGE;
	}
	tst_summary_free(&sum);
	return rc ? EXIT_TESTS : EXIT_OK;
}

int main(int argc, char **argv)
{
	opts o = { 0 };
	o.crictl_yaml = "/etc/crictl.yaml";
	fiu_init(0);
	signal(SIGPIPE, SIG_IGN);
	/* The proxy has its own options: hand it the rest of the line. */
	if (argc > 1 && !strcmp(argv[1], "proxy"))
		return proxy_cli_main(argc - 1, argv + 1);
	enum { O_CONFIG = 256, O_DIR, O_FOCUS, O_SKIP, O_LIST, O_HANDLER, O_JUNIT, O_TEST_TIMEOUT, O_NO_COLOR, O_EXTENDED };
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
		{ "test-timeout", required_argument, 0, O_TEST_TIMEOUT },
		{ "no-color", no_argument, 0, O_NO_COLOR },
		{ "extended", no_argument, 0, O_EXTENDED },
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
