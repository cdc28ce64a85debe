/* pod: pod sandbox lifecycle, status and listing as the kubelet relies on them. */
#include <json-c/json.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fx.h"
#include "util.h"

#define ST_READY RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
#define ST_NOTREADY RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY
#define NO_STATE (-1)

/* Stop and remove that must succeed here. */
static void stop_pod(tst_ctx *t, const char *id)
{
	if (fx_stop_pod(t, id) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
}

static void remove_pod(tst_ctx *t, const char *id)
{
	if (fx_remove_pod(t, id) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
}

/* ListPodSandbox with an optional id, state (NO_STATE = any) and label
 * selector given as NULL-terminated key, value pairs. */
static Runtime__V1__ListPodSandboxResponse *list_pods(tst_ctx *t, const char *id, int state, const char *const *sel)
{
	Runtime__V1__PodSandboxFilter filter = RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxStateValue sv = RUNTIME__V1__POD_SANDBOX_STATE_VALUE__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry ents[8];
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *pents[8];
	size_t n = 0;
	for (; n < ARRAY_SIZE(ents) && sel && sel[2 * n]; n++) {
		Runtime__V1__PodSandboxFilter__LabelSelectorEntry init =
			RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
		ents[n] = init;
		ents[n].key = (char *)sel[2 * n];
		ents[n].value = (char *)sel[2 * n + 1];
		pents[n] = &ents[n];
	}
	filter.n_label_selector = n;
	filter.label_selector = n ? pents : NULL;
	if (id)
		filter.id = (char *)id;
	if (state != NO_STATE) {
		sv.state = (Runtime__V1__PodSandboxState)state;
		filter.state = &sv;
	}
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *resp = NULL;
	bool any = id || state != NO_STATE || n;
	req.filter = any ? &filter : NULL;
	CALL_OK(t, ListPodSandbox, &req, &resp);
	return resp;
}

static Runtime__V1__PodSandbox *find_item(Runtime__V1__ListPodSandboxResponse *r, const char *id)
{
	for (size_t i = 0; i < r->n_items; i++)
		if (!strcmp(r->items[i]->id, id))
			return r->items[i];
	return NULL;
}

/* The list holds exactly the sandbox ids given (NULL-terminated), in any order. */
static void expect_exactly(tst_ctx *t, const char *what, Runtime__V1__ListPodSandboxResponse *r,
			   const char *const *ids)
{
	size_t want = 0;
	for (; ids[want]; want++)
		EXPECT(t, find_item(r, ids[want]) != NULL, "%s: sandbox %.12s missing", what, ids[want]);
	EXPECT(t, r->n_items == want, "%s: %zu items, want %zu", what, r->n_items, want);
	for (size_t i = 0; i < r->n_items && r->n_items != want; i++)
		tst_info(t, "%s: listed %.12s (%s)", what, r->items[i]->id,
			 r->items[i]->metadata ? r->items[i]->metadata->name : "?");
}

/* An id no runtime has handed out: 64 hex digits, unique to this process. */
static char *missing_id(void)
{
	return util_strdup_printf("c0ffee%010x%016llx%032x", (unsigned)getpid(),
				  (unsigned long long)util_wall_ns(), 0xc171c);
}

static void run_stop_remove(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, "lifecycle");
	char *id = fx_run_pod(t, cfg);
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, id, false);
	EXPECT(t, st->status->state == ST_READY, "state %d, want READY", st->status->state);
	cri_free(st);

	stop_pod(t, id);
	st = fx_pod_status(t, id, false);
	EXPECT(t, st->status->state == ST_NOTREADY, "state after stop %d, want NOTREADY", st->status->state);
	cri_free(st);

	remove_pod(t, id);

	Runtime__V1__PodSandboxStatusRequest q = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	Runtime__V1__PodSandboxStatusResponse *qr = NULL;
	q.pod_sandbox_id = id;
	int rc = CRI_CALL(t->cri, PodSandboxStatus, &q, &qr, &t->err);
	EXPECT(t, rc < 0 && t->err.grpc_status == 5, "status of a removed sandbox: want NOT_FOUND, got %s",
	       rc < 0 ? t->err.msg : "OK");
	cri_free(qr);

	/* The kubelet's garbage collector lists sandboxes: a removed one must
	 * not come back, neither in the full list nor by its id. */
	Runtime__V1__ListPodSandboxResponse *all = list_pods(t, NULL, NO_STATE, NULL);
	EXPECT(t, find_item(all, id) == NULL, "removed sandbox %.12s is still listed", id);
	cri_free(all);
	Runtime__V1__ListPodSandboxResponse *byid = list_pods(t, id, NO_STATE, NULL);
	EXPECT(t, byid->n_items == 0, "filter by the removed id returned %zu items", byid->n_items);
	cri_free(byid);
}

static void status_fields(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, "status");
	fx_pod_label(cfg, "app", "critic-status");
	fx_pod_annotation(cfg, "critic.io/note", "a value with spaces, = and / kept verbatim");
	int64_t before = util_wall_ns();
	char *id = fx_run_pod(t, cfg);
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, id, false);
	Runtime__V1__PodSandboxStatus *s = st->status;
	EXPECT(t, !strcmp(s->id, id), "id %s, want %s", s->id, id);
	REQUIRE(t, s->metadata != NULL, "no metadata");
	EXPECT(t, !strcmp(s->metadata->name, cfg->metadata->name), "name %s", s->metadata->name);
	EXPECT(t, !strcmp(s->metadata->uid, cfg->metadata->uid), "uid %s", s->metadata->uid);
	EXPECT(t, !strcmp(s->metadata->namespace_, "critic"), "namespace %s", s->metadata->namespace_);
	EXPECT(t, s->metadata->attempt == cfg->metadata->attempt, "attempt %u, want %u", s->metadata->attempt,
	       cfg->metadata->attempt);
	EXPECT(t, s->state == ST_READY, "state %d, want READY", s->state);
	EXPECT(t, s->created_at >= before - 1000000000LL && s->created_at <= util_wall_ns(),
	       "created_at %lld is not the time of creation", (long long)s->created_at);
	EXPECT(t, s->network && s->network->ip[0], "no pod IP in a non-host-network pod");
	EXPECT(t, s->n_labels == cfg->n_labels, "%zu labels, want %zu", s->n_labels, cfg->n_labels);
	for (size_t i = 0; i < cfg->n_labels; i++) {
		const char *v = fx_map_get((void *const *)s->labels, s->n_labels, cfg->labels[i]->key);
		EXPECT(t, v && !strcmp(v, cfg->labels[i]->value), "label %s = %s", cfg->labels[i]->key, v ? v : "(missing)");
	}
	EXPECT(t, s->n_annotations == cfg->n_annotations, "%zu annotations, want %zu", s->n_annotations,
	       cfg->n_annotations);
	const char *note = fx_map_get((void *const *)s->annotations, s->n_annotations, "critic.io/note");
	EXPECT(t, note && !strcmp(note, cfg->annotations[0]->value), "annotation changed: %s", note ? note : "(missing)");
	REQUIRE(t, s->linux_ && s->linux_->namespaces && s->linux_->namespaces->options, "no linux namespace options");
	Runtime__V1__NamespaceOption *ns = s->linux_->namespaces->options;
	EXPECT(t, ns->network == RUNTIME__V1__NAMESPACE_MODE__POD, "network namespace mode %d, want POD", ns->network);
	EXPECT(t, ns->pid == RUNTIME__V1__NAMESPACE_MODE__CONTAINER, "pid namespace mode %d, want CONTAINER", ns->pid);
	EXPECT(t, ns->ipc == RUNTIME__V1__NAMESPACE_MODE__POD, "ipc namespace mode %d, want POD", ns->ipc);
	/* With a named handler the status must say which one runs the pod; with
	 * the default ("") the CRI lets the runtime report "" or its default. */
	if (t->env->handler[0])
		EXPECT(t, !strcmp(s->runtime_handler, t->env->handler), "runtime_handler '%s', want '%s'",
		       s->runtime_handler, t->env->handler);
	else
		tst_info(t, "default handler reported as '%s'", s->runtime_handler);
	cri_free(st);
}

static void list_all(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, "listed");
	fx_pod_label(cfg, "app", "critic-list");
	fx_pod_annotation(cfg, "critic.io/list-note", "listed: yes");
	char *id = fx_run_pod(t, cfg);
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, id, false);
	Runtime__V1__ListPodSandboxResponse *r = list_pods(t, NULL, NO_STATE, NULL);
	Runtime__V1__PodSandbox *it = find_item(r, id);
	REQUIRE(t, it != NULL, "ListPodSandbox without a filter (%zu items) does not list sandbox %.12s", r->n_items,
		id);
	REQUIRE(t, it->metadata != NULL, "list item has no metadata");
	EXPECT(t, !strcmp(it->metadata->name, cfg->metadata->name), "name '%s', want '%s'", it->metadata->name,
	       cfg->metadata->name);
	EXPECT(t, !strcmp(it->metadata->uid, cfg->metadata->uid), "uid '%s'", it->metadata->uid);
	EXPECT(t, !strcmp(it->metadata->namespace_, cfg->metadata->namespace_), "namespace '%s'",
	       it->metadata->namespace_);
	EXPECT(t, it->metadata->attempt == cfg->metadata->attempt, "attempt %u", it->metadata->attempt);
	EXPECT(t, it->state == ST_READY, "state %d, want READY", it->state);
	/* Listing and status describe the same object: same creation time. */
	EXPECT(t, it->created_at == st->status->created_at, "created_at %lld in the list, %lld in the status",
	       (long long)it->created_at, (long long)st->status->created_at);
	EXPECT(t, it->n_labels == cfg->n_labels, "%zu labels, want %zu", it->n_labels, cfg->n_labels);
	for (size_t i = 0; i < cfg->n_labels; i++) {
		const char *v = fx_map_get((void *const *)it->labels, it->n_labels, cfg->labels[i]->key);
		EXPECT(t, v && !strcmp(v, cfg->labels[i]->value), "label %s = %s", cfg->labels[i]->key,
		       v ? v : "(missing)");
	}
	EXPECT(t, it->n_annotations == cfg->n_annotations, "%zu annotations, want %zu", it->n_annotations,
	       cfg->n_annotations);
	const char *note = fx_map_get((void *const *)it->annotations, it->n_annotations, "critic.io/list-note");
	EXPECT(t, note && !strcmp(note, "listed: yes"), "annotation: %s", note ? note : "(missing)");
	EXPECT(t, !strcmp(it->runtime_handler, st->status->runtime_handler),
	       "runtime_handler '%s' in the list, '%s' in the status", it->runtime_handler,
	       st->status->runtime_handler);
	if (t->env->handler[0])
		EXPECT(t, !strcmp(it->runtime_handler, t->env->handler), "runtime_handler '%s', want '%s'",
		       it->runtime_handler, t->env->handler);
	cri_free(r);
	cri_free(st);
}

static void list_filter_id(tst_ctx *t)
{
	char *a = fx_run_pod(t, fx_pod_config(t, "by-id-a"));
	char *b = fx_run_pod(t, fx_pod_config(t, "by-id-b"));
	/* The CRI also accepts a unique id prefix; the kubelet passes full ids,
	 * so the exact match is what is checked here. */
	Runtime__V1__ListPodSandboxResponse *r = list_pods(t, a, NO_STATE, NULL);
	expect_exactly(t, "filter id=a", r, ARGV(a));
	if (r->n_items == 1)
		EXPECT(t, r->items[0]->state == ST_READY, "state %d, want READY", r->items[0]->state);
	cri_free(r);
	r = list_pods(t, b, NO_STATE, NULL);
	expect_exactly(t, "filter id=b", r, ARGV(b));
	cri_free(r);
	char *none = missing_id();
	r = list_pods(t, none, NO_STATE, NULL);
	EXPECT(t, r->n_items == 0, "filter by an unknown id returned %zu items", r->n_items);
	cri_free(r);
	free(none);
}

static void list_filter_state(tst_ctx *t)
{
	char *ready = fx_run_pod(t, fx_pod_config(t, "state-ready"));
	char *stopped = fx_run_pod(t, fx_pod_config(t, "state-stopped"));
	stop_pod(t, stopped);
	/* Scope to this test's sandboxes; the state filter itself is ANDed in. */
	const char *const sel[] = { TST_LABEL_RUN, t->env->run_id, TST_LABEL_TEST, tst_test_label(t), NULL };
	Runtime__V1__ListPodSandboxResponse *r = list_pods(t, NULL, ST_READY, sel);
	expect_exactly(t, "state=READY", r, ARGV(ready));
	cri_free(r);
	r = list_pods(t, NULL, ST_NOTREADY, sel);
	expect_exactly(t, "state=NOTREADY", r, ARGV(stopped));
	if (r->n_items == 1)
		EXPECT(t, r->items[0]->state == ST_NOTREADY, "listed state %d, want NOTREADY", r->items[0]->state);
	cri_free(r);
	/* The state filter alone, over every sandbox of the runtime. */
	r = list_pods(t, NULL, ST_READY, NULL);
	EXPECT(t, find_item(r, ready) != NULL, "READY list lacks the running sandbox");
	EXPECT(t, find_item(r, stopped) == NULL, "READY list holds the stopped sandbox");
	for (size_t i = 0; i < r->n_items; i++)
		EXPECT(t, r->items[i]->state == ST_READY, "READY list holds %.12s in state %d", r->items[i]->id,
		       r->items[i]->state);
	cri_free(r);
	r = list_pods(t, NULL, NO_STATE, sel);
	expect_exactly(t, "no state filter", r, ARGV(ready, stopped));
	cri_free(r);
}

static void list_filter_label(tst_ctx *t)
{
	char *tag_a = util_strdup_printf("a-%d", (int)getpid());
	char *tag_b = util_strdup_printf("b-%d", (int)getpid());
	Runtime__V1__PodSandboxConfig *ca = fx_pod_config(t, "label-a");
	fx_pod_label(ca, "critic.io/pick", tag_a);
	Runtime__V1__PodSandboxConfig *cb = fx_pod_config(t, "label-b");
	fx_pod_label(cb, "critic.io/pick", tag_b);
	char *a = fx_run_pod(t, ca);
	char *b = fx_run_pod(t, cb);

	Runtime__V1__ListPodSandboxResponse *r = list_pods(t, NULL, NO_STATE, ARGV("critic.io/pick", tag_a));
	expect_exactly(t, "pick=a", r, ARGV(a));
	if (r->n_items == 1) {
		const char *v = fx_map_get((void *const *)r->items[0]->labels, r->items[0]->n_labels, "critic.io/pick");
		EXPECT(t, v && !strcmp(v, tag_a), "listed item has pick=%s", v ? v : "(missing)");
	}
	cri_free(r);
	r = list_pods(t, NULL, NO_STATE, ARGV("critic.io/pick", tag_b));
	expect_exactly(t, "pick=b", r, ARGV(b));
	cri_free(r);
	/* Several keys are ANDed: the shared test label plus one pick. */
	r = list_pods(t, NULL, NO_STATE, ARGV(TST_LABEL_TEST, tst_test_label(t), "critic.io/pick", tag_b));
	expect_exactly(t, "test label and pick=b", r, ARGV(b));
	cri_free(r);
	r = list_pods(t, NULL, NO_STATE, ARGV(TST_LABEL_RUN, t->env->run_id, TST_LABEL_TEST, tst_test_label(t)));
	expect_exactly(t, "run and test labels", r, ARGV(a, b));
	cri_free(r);
	/* A known key with a value nobody has, and a key nobody has. */
	char *nope = util_strdup_printf("none-%d", (int)getpid());
	r = list_pods(t, NULL, NO_STATE, ARGV("critic.io/pick", nope));
	EXPECT(t, r->n_items == 0, "pick=%s matched %zu sandboxes", nope, r->n_items);
	cri_free(r);
	r = list_pods(t, NULL, NO_STATE, ARGV(TST_LABEL_TEST, tst_test_label(t), "critic.io/absent", "x"));
	EXPECT(t, r->n_items == 0, "a selector with an absent key matched %zu sandboxes", r->n_items);
	cri_free(r);
}

/* The network namespace the sandbox runs in, from the verbose status: both
 * containerd and CRI-O put a JSON "info" entry there whose runtimeSpec lists
 * the namespaces the sandbox joined. NULL when the runtime does not say. */
static char *netns_path(tst_ctx *t, const char *id)
{
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, id, true);
	const char *info = fx_map_get((void *const *)st->info, st->n_info, "info");
	char *path = NULL;
	json_object *root = info ? json_tokener_parse(info) : NULL;
	json_object *spec, *lx, *nss;
	if (root && json_object_object_get_ex(root, "runtimeSpec", &spec) &&
	    json_object_object_get_ex(spec, "linux", &lx) && json_object_object_get_ex(lx, "namespaces", &nss) &&
	    json_object_is_type(nss, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(nss); i++) {
			json_object *ns = json_object_array_get_idx(nss, i), *type, *p;
			if (json_object_object_get_ex(ns, "type", &type) &&
			    !strcmp(json_object_get_string(type), "network") &&
			    json_object_object_get_ex(ns, "path", &p) && json_object_get_string(p)[0])
				path = util_strdup_printf("%s", json_object_get_string(p));
		}
	}
	json_object_put(root);
	cri_free(st);
	return path;
}

static bool is_netns(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == (typeof(sf.f_type))NSFS_MAGIC;
}

static void stop_releases_network(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, "netns");
	char *id = fx_run_pod(t, cfg);
	char *ctr = fx_run_container(t, id, cfg, "main", ARGV("sleep", "3600"));
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, id, false);
	REQUIRE(t, st->status->network && st->status->network->ip[0], "running sandbox has no IP");
	char *ip = util_strdup_printf("%s", st->status->network->ip);
	cri_free(st);
	/* Where the network lives: a bind-mounted namespace file the runtime
	 * created for the pod (/var/run/netns/cni-… with containerd, a pinned
	 * file with CRI-O). While the pod runs, it is a live nsfs mount. */
	char *ns = netns_path(t, id);
	if (!ns) {
		tst_info(t, "the verbose status names no network namespace path; only the CRI-visible checks run");
	} else if (!is_netns(ns)) {
		/* critic may run in another mount namespace than the runtime. */
		tst_info(t, "%s is not a namespace as seen from critic; only the CRI-visible checks run", ns);
		free(ns);
		ns = NULL;
	}
	tst_info(t, "pod IP %s, network namespace %s", ip, ns ? ns : "(unknown)");
	free(ip);

	stop_pod(t, id);
	st = fx_pod_status(t, id, false);
	EXPECT(t, st->status->state == ST_NOTREADY, "state after stop %d, want NOTREADY", st->status->state);
	if (st->status->network && st->status->network->ip[0])
		tst_info(t, "stopped sandbox still reports IP %s", st->status->network->ip);
	cri_free(st);
	/* Stop forcibly ends every container of the pod. */
	Runtime__V1__ContainerStatusResponse *cs = fx_container_status(t, ctr, false);
	EXPECT(t, cs->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED,
	       "container state after StopPodSandbox %d, want EXITED", cs->status->state);
	cri_free(cs);
	/* StopPodSandbox must reclaim the network (CNI DEL frees the IP and the
	 * namespace goes): the namespace file is gone, or at least no longer a
	 * namespace. That is what lets the kubelet's next sandbox get a clean
	 * network, and it looks the same on containerd and CRI-O. */
	if (ns)
		EXPECT(t, !is_netns(ns), "network namespace %s still mounted after StopPodSandbox", ns);
	free(ns);
}

static void pod_hostname(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, "hostname");
	char *want = util_strdup_printf("critic-hn-%d", (int)getpid());
	free(cfg->hostname);
	cfg->hostname = want;
	char *id = fx_run_pod(t, cfg);
	char *ctr = fx_run_container(t, id, cfg, "main", ARGV("sleep", "3600"));
	char *out = fx_exec_ok(t, ctr, ARGV("hostname"));
	char *expect = util_strdup_printf("%s\n", want);
	EXPECT(t, !strcmp(out, expect), "hostname in the container '%s', want '%s'", out, want);
	free(expect);
	free(out);
}

static void unknown_handler(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *cfg = fx_pod_config(t, "bad-handler");
	char *id = NULL;
	int rc = fx_try_run_pod(t, cfg, "critic-no-such-handler", &id);
	EXPECT(t, rc < 0, "RunPodSandbox with handler 'critic-no-such-handler' succeeded (sandbox %.12s)", id);
	if (rc < 0)
		tst_info(t, "refused: %s", t->err.msg);
	/* A failed RunPodSandbox must leave nothing behind for the kubelet to find. */
	Runtime__V1__ListPodSandboxResponse *r =
		list_pods(t, NULL, NO_STATE, ARGV(TST_LABEL_RUN, t->env->run_id, TST_LABEL_TEST, tst_test_label(t)));
	EXPECT(t, r->n_items == 0, "%zu sandboxes listed after a failed RunPodSandbox", r->n_items);
	cri_free(r);
}

static const tst_case pod_cases[] = {
	{ "pod/run-stop-remove", "a sandbox runs READY, stops NOTREADY, is removed, then NOT_FOUND and unlisted",
	  run_stop_remove },
	{ "pod/status-fields",
	  "PodSandboxStatus reports id, metadata, state, created_at, IP, namespaces, labels, annotations, handler",
	  status_fields },
	{ "pod/list-all", "ListPodSandbox without a filter lists the pod with all its fields", list_all },
	{ "pod/list-filter-id", "filter by id returns exactly that sandbox, an unknown id none", list_filter_id },
	{ "pod/list-filter-state", "filter by state: a stopped sandbox is listed only as NOTREADY", list_filter_state },
	{ "pod/list-filter-label", "a label selector picks exactly the matching sandboxes, keys ANDed",
	  list_filter_label },
	{ "pod/stop-releases-network", "StopPodSandbox ends the containers and tears down the network namespace",
	  stop_releases_network },
	{ "pod/hostname", "the sandbox hostname is the hostname inside its containers", pod_hostname },
	{ "pod/unknown-handler", "RunPodSandbox with an unknown runtime handler fails and leaves nothing",
	  unknown_handler },
};
TST_SUITE("pod", "Pod sandbox lifecycle", pod_cases)
