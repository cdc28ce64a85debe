#include "cleanup.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "endpoint.h"
#include "lab.h"
#include "leaks.h"
#include "tst.h" /* the label keys */
#include "util.h"

#define GRPC_NOT_FOUND 5

/* Every CRI map entry (labels of a pod, of a container) has this layout. */
typedef struct {
	ProtobufCMessage base;
	char *key;
	char *value;
} kv_entry;

static const char *label(void *const *entries, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		const kv_entry *ent = entries[i];
		if (ent->key && !strcmp(ent->key, key))
			return ent->value;
	}
	return NULL;
}

/* critic's owner label, and the run label when a run is asked for. */
static bool ours(void *const *labels, size_t n, const char *run_id)
{
	const char *owner = label(labels, n, TST_LABEL_OWNER);
	if (!owner || strcmp(owner, "critic"))
		return false;
	if (!run_id)
		return true;
	const char *run = label(labels, n, TST_LABEL_RUN);
	return run && !strcmp(run, run_id);
}

bool cleanup_safe_name(const char *s)
{
	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > 63)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == '-'))
			return false;
	return true;
}

static cleanup_item *add_item(cleanup_plan *plan, cleanup_kind kind)
{
	cleanup_item *n = realloc(plan->items, (plan->n + 1) * sizeof *n);
	if (!n)
		return NULL;
	plan->items = n;
	cleanup_item *it = &plan->items[plan->n++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	return it;
}

static void fill_labels(cleanup_item *it, void *const *labels, size_t n)
{
	const char *run = label(labels, n, TST_LABEL_RUN), *test = label(labels, n, TST_LABEL_TEST);
	snprintf(it->run_id, sizeof it->run_id, "%s", run ? run : "");
	snprintf(it->test, sizeof it->test, "%s", test ? test : "");
}

static bool have_run(const cleanup_plan *plan, const char *run)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->items[i].kind == CLEANUP_LOGDIR && !strcmp(plan->items[i].run_id, run))
			return true;
	return false;
}

/* ROOT/<run> when it is a real directory (not a link). run_label may point
 * into plan->items, which add_item moves: it is copied first. */
static int add_log_dir(cleanup_plan *plan, const char *root, const char *run_label, crit_err *e)
{
	char run[64];
	snprintf(run, sizeof run, "%s", run_label);
	if (!cleanup_safe_name(run) || have_run(plan, run))
		return 0;
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", root, run) >= sizeof path)
		return 0;
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	cleanup_item *it = add_item(plan, CLEANUP_LOGDIR);
	if (!it)
		return err_set(e, -ENOMEM, "cleanup: out of memory");
	snprintf(it->name, sizeof it->name, "%.127s", path);
	snprintf(it->run_id, sizeof it->run_id, "%s", run);
	it->created_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	return 0;
}

int cleanup_find(cri_conn *c, const char *run_id, const char *log_root, cleanup_plan *plan, crit_err *e)
{
	memset(plan, 0, sizeof *plan);
	if (run_id && !*run_id)
		run_id = NULL;
	if (!log_root)
		log_root = CLEANUP_LOG_ROOT;

	/* The filters narrow the listing; ours() decides. Containers are listed
	 * unfiltered too: a critic pod must not hold anyone else's. */
	Runtime__V1__ContainerFilter__LabelSelectorEntry cl1 = RUNTIME__V1__CONTAINER_FILTER__LABEL_SELECTOR_ENTRY__INIT,
							  cl2 = cl1;
	Runtime__V1__ContainerFilter__LabelSelectorEntry *csel[] = { &cl1, &cl2 };
	cl1.key = TST_LABEL_OWNER;
	cl1.value = "critic";
	cl2.key = TST_LABEL_RUN;
	cl2.value = (char *)run_id;
	Runtime__V1__ContainerFilter cf = RUNTIME__V1__CONTAINER_FILTER__INIT;
	cf.label_selector = csel;
	cf.n_label_selector = run_id ? 2 : 1;
	Runtime__V1__ListContainersRequest creq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	creq.filter = &cf;
	cleanup_cri Runtime__V1__ListContainersResponse *cresp = NULL, *all = NULL;
	int rc = CRI_CALL(c, ListContainers, &creq, &cresp, e);
	if (rc < 0)
		return rc;
	Runtime__V1__ListContainersRequest areq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	if ((rc = CRI_CALL(c, ListContainers, &areq, &all, e)) < 0)
		return rc;

	Runtime__V1__PodSandboxFilter__LabelSelectorEntry pl1 = RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT,
							  pl2 = pl1;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *psel[] = { &pl1, &pl2 };
	pl1.key = TST_LABEL_OWNER;
	pl1.value = "critic";
	pl2.key = TST_LABEL_RUN;
	pl2.value = (char *)run_id;
	Runtime__V1__PodSandboxFilter pf = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	pf.label_selector = psel;
	pf.n_label_selector = run_id ? 2 : 1;
	Runtime__V1__ListPodSandboxRequest preq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	preq.filter = &pf;
	cleanup_cri Runtime__V1__ListPodSandboxResponse *presp = NULL;
	if ((rc = CRI_CALL(c, ListPodSandbox, &preq, &presp, e)) < 0)
		return rc;

	for (size_t i = 0; i < cresp->n_containers; i++) {
		const Runtime__V1__Container *k = cresp->containers[i];
		if (!ours((void *const *)k->labels, k->n_labels, run_id))
			continue;
		cleanup_item *it = add_item(plan, CLEANUP_CONTAINER);
		if (!it)
			goto oom;
		snprintf(it->id, sizeof it->id, "%s", k->id);
		snprintf(it->pod_id, sizeof it->pod_id, "%s", k->pod_sandbox_id);
		snprintf(it->name, sizeof it->name, "%s", k->metadata && k->metadata->name ? k->metadata->name : "");
		it->created_ns = k->created_at;
		fill_labels(it, (void *const *)k->labels, k->n_labels);
	}
	for (size_t i = 0; i < presp->n_items; i++) {
		const Runtime__V1__PodSandbox *p = presp->items[i];
		if (!ours((void *const *)p->labels, p->n_labels, run_id))
			continue;
		cleanup_item *it = add_item(plan, CLEANUP_POD);
		if (!it)
			goto oom;
		snprintf(it->id, sizeof it->id, "%s", p->id);
		snprintf(it->name, sizeof it->name, "%s", p->metadata && p->metadata->name ? p->metadata->name : "");
		it->created_ns = p->created_at;
		fill_labels(it, (void *const *)p->labels, p->n_labels);
		/* Removing a pod removes its containers: refuse when one of
		 * them is not critic's. */
		for (size_t j = 0; j < all->n_containers; j++) {
			const Runtime__V1__Container *k = all->containers[j];
			if (strcmp(k->pod_sandbox_id, p->id) || ours((void *const *)k->labels, k->n_labels, NULL))
				continue;
			snprintf(it->skip, sizeof it->skip, "holds container %.13s (%.64s) without critic's label", k->id,
				 k->metadata && k->metadata->name ? k->metadata->name : "?");
			break;
		}
	}
	/* Log dirs of the runs found (and of the run asked for). */
	size_t n_obj = plan->n;
	for (size_t i = 0; i < n_obj; i++)
		if (add_log_dir(plan, log_root, plan->items[i].run_id, e) < 0)
			goto oom;
	if (run_id && add_log_dir(plan, log_root, run_id, e) < 0)
		goto oom;
	return 0;
oom:
	cleanup_plan_free(plan);
	return err_set(e, -ENOMEM, "cleanup: out of memory");
}

static void say(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *out, const char *fmt, ...)
{
	if (!out)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

/* A call whose object is already gone counts as done. */
static bool gone_ok(int rc, const crit_err *e)
{
	return rc == 0 || (rc == -ERR_GRPC && e->grpc_status == GRPC_NOT_FOUND);
}

static int remove_container(cri_conn *c, const cleanup_item *it, crit_err *e)
{
	Runtime__V1__StopContainerRequest sreq = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	cleanup_cri Runtime__V1__StopContainerResponse *sresp = NULL;
	sreq.container_id = (char *)it->id;
	sreq.timeout = CLEANUP_STOP_TIMEOUT_S;
	/* The kubelet's rule: the stop grace plus the normal deadline. */
	int rc = CRI_CALL_T(c, StopContainer, &sreq, &sresp, cri_timeout_ms(c) + CLEANUP_STOP_TIMEOUT_S * 1000, e);
	if (!gone_ok(rc, e))
		return rc;
	Runtime__V1__RemoveContainerRequest rreq = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	cleanup_cri Runtime__V1__RemoveContainerResponse *rresp = NULL;
	rreq.container_id = (char *)it->id;
	rc = CRI_CALL(c, RemoveContainer, &rreq, &rresp, e);
	return gone_ok(rc, e) ? 0 : rc;
}

static int remove_pod(cri_conn *c, const cleanup_item *it, crit_err *e)
{
	Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	cleanup_cri Runtime__V1__StopPodSandboxResponse *sresp = NULL;
	sreq.pod_sandbox_id = (char *)it->id;
	int rc = CRI_CALL(c, StopPodSandbox, &sreq, &sresp, e);
	if (!gone_ok(rc, e))
		return rc;
	Runtime__V1__RemovePodSandboxRequest rreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	cleanup_cri Runtime__V1__RemovePodSandboxResponse *rresp = NULL;
	rreq.pod_sandbox_id = (char *)it->id;
	rc = CRI_CALL(c, RemovePodSandbox, &rreq, &rresp, e);
	return gone_ok(rc, e) ? 0 : rc;
}

static const char *kind_name(cleanup_kind k)
{
	return k == CLEANUP_CONTAINER ? "container" : k == CLEANUP_POD ? "pod" : "log dir";
}

int cleanup_apply(cri_conn *c, cleanup_plan *plan, FILE *out, crit_err *e)
{
	int failed = 0;
	crit_err ce;
	for (int pass = 0; pass < 2; pass++) {
		cleanup_kind kind = pass == 0 ? CLEANUP_CONTAINER : CLEANUP_POD;
		for (size_t i = 0; i < plan->n; i++) {
			cleanup_item *it = &plan->items[i];
			if (it->kind != kind)
				continue;
			if (it->skip[0]) {
				say(out, "left %s %.13s (%s): %s", kind_name(kind), it->id, it->name, it->skip);
				failed++;
				continue;
			}
			err_clear(&ce);
			int rc = kind == CLEANUP_CONTAINER ? remove_container(c, it, &ce) : remove_pod(c, it, &ce);
			if (rc == -ERR_UNREACHABLE) {
				*e = ce;
				return rc;
			}
			if (rc < 0) {
				say(out, "could not remove %s %.13s (%s): %s", kind_name(kind), it->id, it->name, ce.msg);
				failed++;
				continue;
			}
			it->done = true;
			say(out, "removed %s %.13s (%s, run %s, test %s)", kind_name(kind), it->id, it->name,
			    it->run_id[0] ? it->run_id : "-", it->test[0] ? it->test : "-");
		}
	}
	/* A run's log dir goes only once nothing of that run is left. */
	for (size_t i = 0; i < plan->n; i++) {
		cleanup_item *d = &plan->items[i];
		if (d->kind != CLEANUP_LOGDIR)
			continue;
		bool left = false;
		for (size_t j = 0; j < plan->n; j++)
			if (plan->items[j].kind != CLEANUP_LOGDIR && !plan->items[j].done &&
			    !strcmp(plan->items[j].run_id, d->run_id))
				left = true;
		if (left) {
			snprintf(d->skip, sizeof d->skip, "objects of run %s are left", d->run_id);
			say(out, "left log dir %s: %s", d->name, d->skip);
			failed++;
			continue;
		}
		err_clear(&ce);
		if (util_rm_rf(d->name, &ce) < 0) {
			say(out, "could not remove log dir %s: %s", d->name, ce.msg);
			failed++;
			continue;
		}
		d->done = true;
		say(out, "removed log dir %s", d->name);
	}
	return failed ? 1 : 0;
}

/* "45s", "12m3s", "5h2m", "3d4h" */
static void age_str(int64_t ns, char *buf, size_t len)
{
	if (ns <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	long long s = ns / 1000000000LL;
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%lldh", s / 86400, s % 86400 / 3600);
}

void cleanup_print(const cleanup_plan *plan, FILE *out, int64_t now_ns)
{
	fprintf(out, "%-9s  %-13s  %-30s  %-24s  %-26s  %s\n", "KIND", "ID", "NAME", "RUN ID", "TEST", "AGE");
	for (size_t i = 0; i < plan->n; i++) {
		const cleanup_item *it = &plan->items[i];
		char age[32];
		age_str(it->created_ns ? now_ns - it->created_ns : 0, age, sizeof age);
		fprintf(out, "%-9s  %-13.13s  %-30s  %-24s  %-26s  %s\n", kind_name(it->kind), it->id[0] ? it->id : "-",
			it->name[0] ? it->name : "-", it->run_id[0] ? it->run_id : "-", it->test[0] ? it->test : "-", age);
		if (it->skip[0])
			fprintf(out, "%-9s  left alone: %s\n", "", it->skip);
	}
}

void cleanup_plan_free(cleanup_plan *plan)
{
	free(plan->items);
	plan->items = NULL;
	plan->n = 0;
}

/* ------------------------------------------------------------------ CLI */

static const char usage_text[] =
	"Usage: critic cleanup [--run-id ID] [--dry-run] [-r ENDPOINT] [-t DUR] [--config FILE] [--dir DIR]\n"
	"\n"
	"Find the pods and containers critic left on the runtime (those labelled\n"
	"critic.io/owner=critic; with --run-id only that run's), stop and remove\n"
	"them, then remove the log dirs " CLEANUP_LOG_ROOT "/<run-id> of the runs\n"
	"removed. Nothing without critic's owner label is ever touched, and a critic\n"
	"pod that holds a container of someone else's is left alone.\n"
	"  --run-id ID             only what run ID created\n"
	"  --dry-run               list what would be removed (id, name, run id, test,\n"
	"                          age), remove nothing\n"
	"  -r, --runtime-endpoint  CRI endpoint (else CONTAINER_RUNTIME_ENDPOINT,\n"
	"                          /etc/crictl.yaml, then critic's lab if it runs)\n"
	"  -t, --timeout DUR       per-call deadline: 2s, 500ms (default 10s)\n"
	"      --config FILE       crictl.yaml to read (default /etc/crictl.yaml)\n"
	"      --dir DIR           the lab dir to fall back on (default $CRITIC_LAB_DIR\n"
	"                          or " LAB_DEFAULT_DIR ")\n"
	"Exit: 0 done (or nothing to do), 1 something was left, 2 usage,\n"
	"3 endpoint unreachable.\n";

/* "2s", "500ms", "1m" or seconds; -1 when malformed. */
static int duration_ms(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || !(v > 0))
		return -1;
	double mult = !strcmp(end, "ms") ? 1 : (!strcmp(end, "s") || !*end) ? 1000 : !strcmp(end, "m") ? 60000 : -1;
	if (mult < 0 || v * mult > 86400000.0 || v * mult < 1)
		return -1;
	return (int)(v * mult);
}

static int cli(int argc, char **argv)
{
	enum { O_RUN_ID = 256, O_DRY_RUN, O_CONFIG, O_DIR, O_IGNORED };
	static const struct option longopts[] = {
		{ "run-id", required_argument, 0, O_RUN_ID },
		{ "dry-run", no_argument, 0, O_DRY_RUN },
		{ "runtime-endpoint", required_argument, 0, 'r' },
		{ "timeout", required_argument, 0, 't' },
		{ "config", required_argument, 0, O_CONFIG },
		{ "dir", required_argument, 0, O_DIR },
		/* Global options critic hands every command: no use here. */
		{ "image-endpoint", required_argument, 0, 'i' },
		{ "no-color", no_argument, 0, O_IGNORED },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *run_id = NULL, *flag_ep = NULL, *config = "/etc/crictl.yaml", *dir = NULL;
	bool dry = false;
	int timeout_ms = 0, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "r:i:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
		case O_IGNORED: break;
		case O_RUN_ID: run_id = optarg; break;
		case O_DRY_RUN: dry = true; break;
		case 'r': flag_ep = optarg; break;
		case 't':
			if ((timeout_ms = duration_ms(optarg)) < 0) {
				fprintf(stderr, "critic cleanup: --timeout '%s': give a duration like 2s or 500ms\n", optarg);
				return 2;
			}
			break;
		case O_CONFIG: config = optarg; break;
		case O_DIR: dir = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			fprintf(stderr, "critic cleanup: unknown option or missing value: %s (see critic cleanup --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "critic cleanup: unexpected argument '%s' (see critic cleanup --help)\n", argv[optind]);
		return 2;
	}
	/* A run id becomes a path component: the runner makes them this way. */
	if (run_id && !cleanup_safe_name(run_id)) {
		fprintf(stderr, "critic cleanup: --run-id '%s': a run id has only letters, digits, '.', '_' and '-'\n",
			run_id);
		return 2;
	}

	crit_err e;
	err_clear(&e);
	ep_config cfg;
	memset(&cfg, 0, sizeof cfg);
	if (ep_resolve(&cfg, config, flag_ep, NULL, timeout_ms, &e) < 0) {
		fprintf(stderr, "critic cleanup: %s\n", e.msg);
		return 2;
	}
	if (!cfg.runtime[0]) {
		lab_info lab;
		const char *d = dir ? dir : lab_default_dir();
		int rc = lab_status(d, &lab, &e);
		if (rc < 0) {
			fprintf(stderr, "critic cleanup: %s\n", e.msg);
			return 2;
		}
		if (rc == 0) {
			fprintf(stderr, "critic cleanup: no endpoint given and the lab in %s is not running "
					"(give --runtime-endpoint)\n", d);
			return 3;
		}
		snprintf(cfg.runtime, sizeof cfg.runtime, "%.500s", lab.endpoint);
		snprintf(cfg.source, sizeof cfg.source, "critic's lab in %.400s", d);
	}
	cri_conn *c = NULL;
	if (cri_connect(&c, cfg.runtime, NULL, cfg.timeout_ms, &e) < 0) {
		fprintf(stderr, "critic cleanup: %s\n", e.msg);
		return 2;
	}
	cleanup_plan plan;
	int rc = cleanup_find(c, run_id, NULL, &plan, &e);
	if (rc < 0) {
		fprintf(stderr, "critic cleanup: %s\n", e.msg);
		cri_close(c);
		return rc == -ERR_UNREACHABLE || (rc == -ERR_GRPC && e.grpc_status == 4 /* DEADLINE_EXCEEDED */) ? 3 : 1;
	}
	size_t n[3] = { 0 };
	for (size_t i = 0; i < plan.n; i++)
		n[plan.items[i].kind]++;
	printf("critic cleanup on %s (%s)%s%s: %zu container%s, %zu pod%s, %zu log dir%s of critic's\n", cfg.runtime,
	       cfg.source, run_id ? ", run " : "", run_id ? run_id : "", n[CLEANUP_CONTAINER],
	       n[CLEANUP_CONTAINER] == 1 ? "" : "s", n[CLEANUP_POD], n[CLEANUP_POD] == 1 ? "" : "s",
	       n[CLEANUP_LOGDIR], n[CLEANUP_LOGDIR] == 1 ? "" : "s");
	if (plan.n)
		cleanup_print(&plan, stdout, util_wall_ns());
	if (dry) {
		printf("dry run: nothing removed\n");
		cleanup_plan_free(&plan);
		cri_close(c);
		return 0;
	}
	fflush(stdout);
	rc = cleanup_apply(c, &plan, stdout, &e);
	if (rc < 0)
		fprintf(stderr, "critic cleanup: %s\n", e.msg);
	else if (rc > 0)
		fprintf(stderr, "critic cleanup: some of critic's objects were left (see above)\n");
	cleanup_plan_free(&plan);
	cri_close(c);
	return rc < 0 ? 3 : rc;
}

int cleanup_cli_main(int argc, char **argv)
{
	/* Our own messages for bad options (naming the command), without
	 * changing getopt's behaviour for whoever parses next. */
	for (int i = 1; i < argc; i++) /* --leaks: listing only, harness/leaks.c */
		if (!strcmp(argv[i], "--leaks"))
			return leaks_cli_main(argc, argv);
	int saved = opterr;
	opterr = 0;
	int rc = cli(argc, argv);
	opterr = saved;
	return rc;
}
