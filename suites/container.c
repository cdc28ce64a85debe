/* container: container lifecycle as the kubelet drives it: create, start,
 * stop (graceful and forced), remove, status fields, listing and filters,
 * and how the config (command, args, env, working dir) reaches the process. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fx.h"
#include "util.h"

#define ST_CREATED RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED
#define ST_RUNNING RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING
#define ST_EXITED RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED
#define GRPC_NOT_FOUND 5
#define SEC 1000000000LL

/* Layout shared by every string map entry protoc-c generates. */
typedef struct {
	ProtobufCMessage base;
	char *key;
	char *value;
} kv;

static const char *state_name(int s)
{
	switch (s) {
	case ST_CREATED: return "CREATED";
	case ST_RUNNING: return "RUNNING";
	case ST_EXITED: return "EXITED";
	default: return "UNKNOWN";
	}
}

static Runtime__V1__ListContainersResponse *list_ctrs(tst_ctx *t, Runtime__V1__ContainerFilter *f)
{
	Runtime__V1__ListContainersRequest req = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *resp = NULL;
	req.filter = f;
	CALL_OK(t, ListContainers, &req, &resp);
	return resp;
}

static Runtime__V1__Container *find_listed(Runtime__V1__ListContainersResponse *l, const char *id)
{
	for (size_t i = 0; i < l->n_containers; i++)
		if (!strcmp(l->containers[i]->id, id))
			return l->containers[i];
	return NULL;
}

static bool is_listed(tst_ctx *t, const char *id)
{
	Runtime__V1__ListContainersResponse *l = list_ctrs(t, NULL);
	bool found = find_listed(l, id) != NULL;
	cri_free(l);
	return found;
}

/* After a removal: ContainerStatus says NOT_FOUND and no listing has it. */
static void expect_gone(tst_ctx *t, const char *id)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	Runtime__V1__ContainerStatusResponse *resp = NULL;
	req.container_id = (char *)id;
	int rc = CRI_CALL(t->cri, ContainerStatus, &req, &resp, &t->err);
	EXPECT(t, rc < 0 && t->err.grpc_status == GRPC_NOT_FOUND,
	       "ContainerStatus of a removed container: want NOT_FOUND, got %s", rc < 0 ? t->err.msg : "OK");
	cri_free(resp);
	EXPECT(t, !is_listed(t, id), "removed container %.12s is still listed", id);
}

/* Poll the container's log file until it contains needle. */
static bool wait_log(tst_ctx *t, const char *id, const char *needle, int timeout_ms)
{
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	char *path = util_strdup_printf("%s", st->status->log_path);
	cri_free(st);
	int64_t end = util_now_ms() + timeout_ms;
	bool found = false;
	while (!found) {
		char *text = NULL;
		crit_err e;
		if (util_read_file(path, &text, NULL, &e) == 0)
			found = strstr(text, needle) != NULL;
		free(text);
		if (found || util_now_ms() >= end)
			break;
		util_sleep_ms(20);
	}
	free(path);
	return found;
}

/* The CRI wants a brief CamelCase reason ("Completed", "Error", "OOMKilled"). */
static bool camel_case(const char *s)
{
	if (!s || !isupper((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s))
			return false;
	return true;
}

static bool hex_digest(const char *s)
{
	if (strncmp(s, "sha256:", 7))
		return false;
	s += 7;
	size_t n = 0;
	for (; s[n]; n++)
		if (!isdigit((unsigned char)s[n]) && !(s[n] >= 'a' && s[n] <= 'f'))
			return false;
	return n == 64;
}

/* image_ref names one image unambiguously: an image id or a digest reference. */
static bool pinned_ref(const char *ref)
{
	const char *at = strchr(ref, '@');
	return hex_digest(at ? at + 1 : ref);
}

static char *image_id(tst_ctx *t, const char *ref)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageStatusResponse *resp = NULL;
	spec.image = (char *)ref;
	req.image = &spec;
	CALL_OK(t, ImageStatus, &req, &resp);
	char *id = util_strdup_printf("%s", resp->image ? resp->image->id : "");
	cri_free(resp);
	return id;
}

/* Both maps hold exactly the same keys and values. */
static void expect_same_map(tst_ctx *t, const char *what, void *const *got, size_t n_got, void *const *want,
			    size_t n_want)
{
	EXPECT(t, n_got == n_want, "%s: %zu entries, want %zu", what, n_got, n_want);
	for (size_t i = 0; i < n_want; i++) {
		const kv *w = want[i];
		const char *v = fx_map_get(got, n_got, w->key);
		EXPECT(t, v && !strcmp(v, w->value), "%s[%s] = '%s', want '%s'", what, w->key, v ? v : "(missing)",
		       w->value);
	}
}

static bool near_now(int64_t ts, int64_t lo, int64_t hi)
{
	/* One second of slack for clocks read on either side of the call. */
	return ts >= lo - SEC && ts <= hi + SEC;
}

/* ---- lifecycle ---- */

static void lifecycle(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	/* Exits 0 on SIGTERM, so the stop below needs no grace period. */
	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, fx_own_name(t, "main"), "busybox", ARGV("/usr/local/bin/critic-helper", "sleep", "forever"));
	char *id = fx_create_container(t, pid, pod, cfg);
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == ST_CREATED, "state %d, want CREATED", st->status->state);
	cri_free(st);
	fx_start_container(t, id);
	st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == ST_RUNNING, "state %d, want RUNNING", st->status->state);
	EXPECT(t, st->status->started_at >= st->status->created_at, "started_at before created_at");
	cri_free(st);
	if (fx_stop_container(t, id, 2) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == ST_EXITED, "state %d, want EXITED", st->status->state);
	EXPECT(t, st->status->finished_at >= st->status->started_at, "finished_at before started_at");
	EXPECT(t, st->status->exit_code == 0, "exit code %d, want 0 (the process exits 0 on SIGTERM)",
	       st->status->exit_code);
	cri_free(st);
}

/* PID 1 that ignores SIGTERM: the runtime must SIGKILL it when the grace
 * period ends, and StopContainer returns only then. */
static void stop_timeout_kills(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, "stubborn"),
				    ARGV("/usr/local/bin/critic-helper", "ignore-term"));
	REQUIRE(t, wait_log(t, id, "ignoring SIGTERM", 5000), "critic-helper ignore-term did not start");
	const int timeout = 2;
	int64_t t0 = util_now_ms();
	if (fx_stop_container(t, id, timeout) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	int64_t took = util_now_ms() - t0;
	EXPECT(t, took >= 1500, "StopContainer returned after %lld ms; the process ignores SIGTERM, so the "
	       "runtime should have waited the %d s grace period", (long long)took, timeout);
	EXPECT(t, took < (timeout + 4) * 1000, "StopContainer took %lld ms with a %d s grace period",
	       (long long)took, timeout);
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == ST_EXITED, "state %s, want EXITED", state_name(st->status->state));
	EXPECT(t, st->status->exit_code == 137, "exit code %d, want 137 (128 + SIGKILL)", st->status->exit_code);
	tst_info(t, "stop took %lld ms; reason '%s'", (long long)took, st->status->reason);
	cri_free(st);
}

/* A process that handles SIGTERM ends at once with its own exit code. */
static void stop_graceful(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, "polite"),
			       ARGV("sh", "-c", "trap 'exit 42' TERM; echo ready; sleep 3600 & wait"));
	REQUIRE(t, wait_log(t, id, "ready", 5000), "the container never printed 'ready'");
	int64_t t0 = util_now_ms();
	if (fx_stop_container(t, id, 30) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	int64_t took = util_now_ms() - t0;
	EXPECT(t, took < 3000, "StopContainer took %lld ms though the process exits on SIGTERM (grace 30 s)",
	       (long long)took);
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == ST_EXITED, "state %s, want EXITED", state_name(st->status->state));
	EXPECT(t, st->status->exit_code == 42, "exit code %d, want 42 (the SIGTERM trap's)", st->status->exit_code);
	cri_free(st);
}

/* ---- removal ---- */

static void remove_created(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_create_container(t, pid, pod,
				       fx_container_config(t, fx_own_name(t, "c"), "busybox", ARGV("sleep", "3600")));
	REQUIRE(t, is_listed(t, id), "a created container is not listed");
	if (fx_remove_container(t, id) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "RemoveContainer of a CREATED container: %s", t->err.msg);
	expect_gone(t, id);
}

static void remove_running(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, "c"), ARGV("/usr/local/bin/critic-helper", "ignore-term"));
	/* The CRI: a running container must be forcibly removed. */
	int64_t t0 = util_now_ms();
	if (fx_remove_container(t, id) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "RemoveContainer of a RUNNING container: %s", t->err.msg);
	tst_info(t, "forced removal took %lld ms", (long long)(util_now_ms() - t0));
	expect_gone(t, id);
}

static void remove_exited(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, "c"), ARGV("true"));
	REQUIRE(t, fx_wait_container_state(t, id, ST_EXITED, 5000), "container did not exit");
	if (fx_remove_container(t, id) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "RemoveContainer of an EXITED container: %s", t->err.msg);
	expect_gone(t, id);
}

/* ---- status ---- */

static void rm_dir(tst_ctx *t, void *arg)
{
	if (rmdir(arg) < 0)
		tst_info(t, "could not remove %s", (char *)arg);
}

static void status_fields(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *mnt = util_strdup_printf("/tmp/critic-mnt-XXXXXX");
	REQUIRE(t, mkdtemp(mnt) != NULL, "mkdtemp failed");
	tst_defer(t, rm_dir, mnt);

	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, fx_own_name(t, "inspected"), "busybox", ARGV("sleep", "3600"));
	cfg->metadata->attempt = 3;
	fx_ctr_label(cfg, "app", "critic-status");
	fx_ctr_annotation(cfg, "critic.io/note", "spaces, = signs, / and \"quotes\" kept verbatim");
	fx_ctr_annotation(cfg, "critic.io/empty", "");
	Runtime__V1__Mount m = RUNTIME__V1__MOUNT__INIT;
	Runtime__V1__Mount *mounts[] = { &m };
	m.container_path = "/critic-mnt";
	m.host_path = mnt;
	m.readonly = true;
	cfg->mounts = mounts;
	cfg->n_mounts = 1;

	int64_t c0 = util_wall_ns();
	char *id = fx_create_container(t, pid, pod, cfg);
	int64_t c1 = util_wall_ns();
	Runtime__V1__ContainerStatusResponse *r = fx_container_status(t, id, false);
	Runtime__V1__ContainerStatus *s = r->status;
	EXPECT(t, s->state == ST_CREATED, "state %s, want CREATED", state_name(s->state));
	EXPECT(t, near_now(s->created_at, c0, c1), "created_at %lld is not the time of creation (%lld..%lld)",
	       (long long)s->created_at, (long long)c0, (long long)c1);
	EXPECT(t, s->started_at == 0, "started_at %lld set before the start", (long long)s->started_at);
	EXPECT(t, s->finished_at == 0, "finished_at %lld set before the start", (long long)s->finished_at);
	int64_t created_at = s->created_at;
	cri_free(r);

	int64_t s0 = util_wall_ns();
	fx_start_container(t, id);
	int64_t s1 = util_wall_ns();
	r = fx_container_status(t, id, false);
	s = r->status;
	EXPECT(t, !strcmp(s->id, id), "id %s, want %s", s->id, id);
	REQUIRE(t, s->metadata != NULL, "no metadata");
	EXPECT(t, !strcmp(s->metadata->name, cfg->metadata->name), "metadata.name '%s', want '%s'", s->metadata->name,
	       cfg->metadata->name);
	EXPECT(t, s->metadata->attempt == 3, "metadata.attempt %u, want 3", s->metadata->attempt);
	EXPECT(t, s->state == ST_RUNNING, "state %s, want RUNNING", state_name(s->state));
	EXPECT(t, s->created_at == created_at, "created_at changed from %lld to %lld on start", (long long)created_at,
	       (long long)s->created_at);
	EXPECT(t, near_now(s->started_at, s0, s1), "started_at %lld is not the time of the start (%lld..%lld)",
	       (long long)s->started_at, (long long)s0, (long long)s1);
	EXPECT(t, s->started_at >= s->created_at, "started_at before created_at");
	EXPECT(t, s->finished_at == 0, "finished_at %lld set on a running container", (long long)s->finished_at);
	EXPECT(t, s->exit_code == 0, "exit_code %d on a running container", s->exit_code);

	/* image: the image the config named (a tag of the same image is fine). */
	REQUIRE(t, s->image && s->image->image[0], "no image spec");
	char *want_id = image_id(t, cfg->image->image), *got_id = image_id(t, s->image->image);
	EXPECT(t, want_id[0] && !strcmp(want_id, got_id), "image '%s' is not the configured '%s' (%s vs %s)",
	       s->image->image, cfg->image->image, got_id, want_id);
	EXPECT(t, pinned_ref(s->image_ref), "image_ref '%s' is neither an image id nor a digest reference",
	       s->image_ref);
	got_id = image_id(t, s->image_ref);
	EXPECT(t, !strcmp(want_id, got_id), "image_ref '%s' is %s, the configured image is %s", s->image_ref, got_id,
	       want_id);

	expect_same_map(t, "labels", (void *const *)s->labels, s->n_labels, (void *const *)cfg->labels,
			cfg->n_labels);
	expect_same_map(t, "annotations", (void *const *)s->annotations, s->n_annotations,
			(void *const *)cfg->annotations, cfg->n_annotations);

	Runtime__V1__Mount *got = NULL;
	for (size_t i = 0; i < s->n_mounts; i++)
		if (!strcmp(s->mounts[i]->container_path, "/critic-mnt"))
			got = s->mounts[i];
	EXPECT(t, got != NULL, "mount /critic-mnt not listed (%zu mounts)", s->n_mounts);
	if (got) {
		EXPECT(t, !strcmp(got->host_path, mnt), "mount host_path '%s', want '%s'", got->host_path, mnt);
		EXPECT(t, got->readonly, "mount lost readonly");
	}

	/* The kubelet reads logs from here: LogDirectory joined with LogPath. */
	char *want_log = util_strdup_printf("%s/%s", pod->log_directory, cfg->log_path);
	EXPECT(t, !strcmp(s->log_path, want_log), "log_path '%s', want '%s'", s->log_path, want_log);
	cri_free(r);
}

static void status_exited(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	/* Lives a moment, so ordering races at instant exits (see
	 * container/timestamps-fast-exit) stay out of this test. */
	char *id = fx_create_container(t, pid, pod,
				       fx_container_config(t, fx_own_name(t, "done"), "busybox", ARGV("sleep", "0.2")));
	int64_t s0 = util_wall_ns();
	fx_start_container(t, id);
	REQUIRE(t, fx_wait_container_state(t, id, ST_EXITED, 5000), "container did not exit");
	int64_t s1 = util_wall_ns();
	Runtime__V1__ContainerStatusResponse *r = fx_container_status(t, id, false);
	Runtime__V1__ContainerStatus *s = r->status;
	EXPECT(t, s->exit_code == 0, "exit_code %d, want 0", s->exit_code);
	EXPECT(t, s->created_at > 0 && s->started_at >= s->created_at && s->finished_at >= s->started_at,
	       "timestamps out of order: created %lld, started %lld, finished %lld", (long long)s->created_at,
	       (long long)s->started_at, (long long)s->finished_at);
	EXPECT(t, near_now(s->started_at, s0, s1), "started_at %lld outside %lld..%lld", (long long)s->started_at,
	       (long long)s0, (long long)s1);
	EXPECT(t, near_now(s->finished_at, s0, s1), "finished_at %lld outside %lld..%lld",
	       (long long)s->finished_at, (long long)s0, (long long)s1);
	/* The CRI asks for a brief CamelCase reason; the kubelet copies it into
	 * the pod's terminated state (containerd and CRI-O say "Completed"). */
	EXPECT(t, camel_case(s->reason), "reason '%s' is not a brief CamelCase word", s->reason);
	tst_info(t, "reason for exit 0: '%s'", s->reason);
	cri_free(r);
}

static void exit_code_nonzero(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, "fails"), ARGV("sh", "-c", "sleep 0.2; exit 3"));
	REQUIRE(t, fx_wait_container_state(t, id, ST_EXITED, 5000), "container did not exit");
	Runtime__V1__ContainerStatusResponse *r = fx_container_status(t, id, false);
	EXPECT(t, r->status->state == ST_EXITED, "state %s, want EXITED", state_name(r->status->state));
	EXPECT(t, r->status->exit_code == 3, "exit_code %d, want 3", r->status->exit_code);
	EXPECT(t, r->status->finished_at >= r->status->started_at, "finished_at before started_at");
	/* containerd and CRI-O say "Error"; the CRI only asks for CamelCase. */
	EXPECT(t, camel_case(r->status->reason), "reason '%s' is not a brief CamelCase word", r->status->reason);
	tst_info(t, "reason for exit 3: '%s'", r->status->reason);
	cri_free(r);
}

/* A process that exits at once still finished after it started: the start
 * time must be taken before (or at) the process start, not after. */
static void timestamps_fast_exit(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "fast");
	char *pid = fx_run_pod(t, pod);
	const int n = 20;
	int bad = 0;
	for (int i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "fast-%d", i);
		char *id = fx_run_container(t, pid, pod, name, ARGV("true"));
		REQUIRE(t, fx_wait_container_state(t, id, ST_EXITED, 5000), "%s did not exit", name);
		Runtime__V1__ContainerStatusResponse *r = fx_container_status(t, id, false);
		Runtime__V1__ContainerStatus *s = r->status;
		if (!(s->created_at <= s->started_at && s->started_at <= s->finished_at)) {
			if (!bad++)
				tst_fail(t, __FILE__, __LINE__,
					 "%s: created %lld, started %lld, finished %lld: finished %lld ns before it started",
					 name, (long long)s->created_at, (long long)s->started_at, (long long)s->finished_at,
					 (long long)(s->started_at - s->finished_at));
		}
		cri_free(r);
		fx_remove_container(t, id);
	}
	EXPECT(t, bad == 0, "%d of %d instantly exiting containers report timestamps out of order", bad, n);
}

typedef struct {
	char *id;
} ctr_ref;

static void cleanup_ctr(tst_ctx *t, void *arg)
{
	ctr_ref *ref = arg;
	if (fx_remove_container(t, ref->id) < 0 && t->err.grpc_status != GRPC_NOT_FOUND)
		tst_fail(t, __FILE__, __LINE__, "cleanup: %s", t->err.msg);
}

static void command_not_found(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, fx_own_name(t, "nocmd"), "busybox", ARGV("/critic/no-such-binary"));
	fx_ensure_image(t, cfg->image->image);
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *resp = NULL;
	req.pod_sandbox_id = pid;
	req.config = cfg;
	req.sandbox_config = pod;
	if (CRI_CALL(t->cri, CreateContainer, &req, &resp, &t->err) < 0) {
		tst_info(t, "CreateContainer refused it: %s", t->err.msg);
		return;
	}
	ctr_ref *ref = calloc(1, sizeof *ref);
	REQUIRE(t, ref != NULL, "out of memory");
	ref->id = util_strdup_printf("%s", resp->container_id);
	cri_free(resp);
	tst_defer(t, cleanup_ctr, ref);

	Runtime__V1__StartContainerRequest sreq = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	Runtime__V1__StartContainerResponse *sresp = NULL;
	sreq.container_id = ref->id;
	int rc = CRI_CALL(t->cri, StartContainer, &sreq, &sresp, &t->err);
	cri_free(sresp);
	EXPECT(t, rc < 0, "StartContainer of a container whose command does not exist succeeded");
	if (rc < 0)
		tst_info(t, "StartContainer: %s", t->err.msg);
	/* What remains must not claim to run; an exited one must not claim success. */
	Runtime__V1__ContainerStatusResponse *r = fx_container_status(t, ref->id, false);
	Runtime__V1__ContainerStatus *s = r->status;
	EXPECT(t, s->state == ST_CREATED || s->state == ST_EXITED, "state %s after a failed start, want CREATED or EXITED",
	       state_name(s->state));
	if (s->state == ST_EXITED)
		EXPECT(t, s->exit_code != 0, "exited with 0 though the command never ran");
	tst_info(t, "left %s, exit %d, reason '%s'", state_name(s->state), s->exit_code, s->reason);
	cri_free(r);
}

/* ---- listing ---- */

static void list_attributes(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, fx_own_name(t, "listed"), "busybox", ARGV("sleep", "3600"));
	cfg->metadata->attempt = 2;
	fx_ctr_label(cfg, "app", "critic-list");
	fx_ctr_annotation(cfg, "critic.io/note", "kept = verbatim / in lists");
	char *id = fx_create_container(t, pid, pod, cfg);
	fx_start_container(t, id);
	Runtime__V1__ContainerStatusResponse *r = fx_container_status(t, id, false);
	Runtime__V1__ContainerStatus *s = r->status;

	Runtime__V1__ListContainersResponse *l = list_ctrs(t, NULL);
	Runtime__V1__Container *c = find_listed(l, id);
	REQUIRE(t, c != NULL, "container %.12s not in ListContainers", id);
	EXPECT(t, !strcmp(c->pod_sandbox_id, pid), "pod_sandbox_id %s, want %s", c->pod_sandbox_id, pid);
	REQUIRE(t, c->metadata != NULL, "no metadata");
	EXPECT(t, !strcmp(c->metadata->name, cfg->metadata->name), "metadata.name '%s', want '%s'", c->metadata->name,
	       cfg->metadata->name);
	EXPECT(t, c->metadata->attempt == 2, "metadata.attempt %u, want 2", c->metadata->attempt);
	EXPECT(t, c->state == ST_RUNNING, "state %s, want RUNNING", state_name(c->state));
	EXPECT(t, c->created_at == s->created_at, "created_at %lld, ContainerStatus says %lld",
	       (long long)c->created_at, (long long)s->created_at);
	/* The same image, though not necessarily spelled the same way
	 * (containerd lists the image id but reports a digest in the status). */
	char *want_id = image_id(t, cfg->image->image);
	REQUIRE(t, c->image != NULL, "no image spec");
	char *got_id = image_id(t, c->image->image);
	EXPECT(t, !strcmp(got_id, want_id), "image '%s' is %s, the configured image is %s", c->image->image, got_id,
	       want_id);
	EXPECT(t, pinned_ref(c->image_ref), "image_ref '%s' is neither an image id nor a digest reference",
	       c->image_ref);
	got_id = image_id(t, c->image_ref);
	EXPECT(t, !strcmp(got_id, want_id), "image_ref '%s' is %s, the configured image is %s", c->image_ref, got_id,
	       want_id);
	expect_same_map(t, "labels", (void *const *)c->labels, c->n_labels, (void *const *)cfg->labels,
			cfg->n_labels);
	expect_same_map(t, "annotations", (void *const *)c->annotations, c->n_annotations,
			(void *const *)cfg->annotations, cfg->n_annotations);
	cri_free(l);
	cri_free(r);
}

/* Exactly the expected ids (n of them), in any order. */
static void expect_ids(tst_ctx *t, const char *what, Runtime__V1__ListContainersResponse *l, const char *const *ids,
		       size_t n)
{
	EXPECT(t, l->n_containers == n, "%s: %zu containers, want %zu", what, l->n_containers, n);
	for (size_t i = 0; i < n; i++)
		EXPECT(t, find_listed(l, ids[i]) != NULL, "%s: %.12s missing", what, ids[i]);
	for (size_t i = 0; i < l->n_containers; i++) {
		bool want = false;
		for (size_t j = 0; j < n; j++)
			want |= !strcmp(l->containers[i]->id, ids[j]);
		EXPECT(t, want, "%s: unexpected %.12s (%s)", what, l->containers[i]->id,
		       l->containers[i]->metadata ? l->containers[i]->metadata->name : "?");
	}
}

static void list_filter_id(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	const char *const *sleeper = ARGV("sleep", "3600");
	char *a = fx_create_container(t, pid, pod, fx_container_config(t, fx_own_name(t, "a"), "busybox", sleeper));
	char *b = fx_create_container(t, pid, pod, fx_container_config(t, fx_own_name(t, "b"), "busybox", sleeper));
	Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
	f.id = a;
	Runtime__V1__ListContainersResponse *l = list_ctrs(t, &f);
	expect_ids(t, "filter id=a", l, (const char *const[]){ a }, 1);
	cri_free(l);
	f.id = b;
	l = list_ctrs(t, &f);
	expect_ids(t, "filter id=b", l, (const char *const[]){ b }, 1);
	cri_free(l);
	/* An unknown id matches nothing; it is not an error. */
	f.id = "0000000000000000000000000000000000000000000000000000000000000000";
	l = list_ctrs(t, &f);
	expect_ids(t, "filter unknown id", l, NULL, 0);
	cri_free(l);
}

static void list_filter_state(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *created = fx_create_container(t, pid, pod, fx_container_config(t, fx_own_name(t, "created"), "busybox",
									   ARGV("sleep", "3600")));
	char *running = fx_run_container(t, pid, pod, fx_own_name(t, "running"), ARGV("sleep", "3600"));
	char *exited = fx_run_container(t, pid, pod, fx_own_name(t, "exited"), ARGV("true"));
	REQUIRE(t, fx_wait_container_state(t, exited, ST_EXITED, 5000), "container did not exit");
	const struct {
		int state;
		const char *mine;
	} cases[] = { { ST_CREATED, created }, { ST_RUNNING, running }, { ST_EXITED, exited } };
	const char *all[] = { created, running, exited };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
		Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
		sv.state = cases[i].state;
		f.state = &sv;
		Runtime__V1__ListContainersResponse *l = list_ctrs(t, &f);
		/* Other containers on the node may match too: every one returned
		 * must be in the state, and of ours exactly the right one. */
		for (size_t k = 0; k < l->n_containers; k++)
			EXPECT(t, (int)l->containers[k]->state == cases[i].state, "filter %s returned %.12s in state %s",
			       state_name(cases[i].state), l->containers[k]->id, state_name(l->containers[k]->state));
		for (size_t k = 0; k < ARRAY_SIZE(all); k++) {
			bool want = all[k] == cases[i].mine, got = find_listed(l, all[k]) != NULL;
			EXPECT(t, want == got, "filter %s: container %.12s %s", state_name(cases[i].state), all[k],
			       want ? "missing" : "wrongly included");
		}
		cri_free(l);
	}
}

static void list_filter_pod(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pa = fx_pod_config(t, "a"), *pb = fx_pod_config(t, "b");
	char *ida = fx_run_pod(t, pa), *idb = fx_run_pod(t, pb);
	char *a1 = fx_create_container(t, ida, pa, fx_container_config(t, "a1", "busybox", ARGV("sleep", "3600")));
	char *a2 = fx_run_container(t, ida, pa, "a2", ARGV("sleep", "3600"));
	char *b1 = fx_run_container(t, idb, pb, "b1", ARGV("sleep", "3600"));
	Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
	f.pod_sandbox_id = ida;
	Runtime__V1__ListContainersResponse *l = list_ctrs(t, &f);
	expect_ids(t, "filter pod a", l, (const char *const[]){ a1, a2 }, 2);
	for (size_t i = 0; i < l->n_containers; i++)
		EXPECT(t, !strcmp(l->containers[i]->pod_sandbox_id, ida), "pod_sandbox_id %s", l->containers[i]->pod_sandbox_id);
	cri_free(l);
	f.pod_sandbox_id = idb;
	l = list_ctrs(t, &f);
	expect_ids(t, "filter pod b", l, (const char *const[]){ b1 }, 1);
	cri_free(l);
	/* Filters combine with AND. */
	Runtime__V1__ContainerStateValue sv = RUNTIME__V1__CONTAINER_STATE_VALUE__INIT;
	sv.state = ST_RUNNING;
	f.pod_sandbox_id = ida;
	f.state = &sv;
	l = list_ctrs(t, &f);
	expect_ids(t, "filter pod a + RUNNING", l, (const char *const[]){ a2 }, 1);
	cri_free(l);
}

static void list_filter_label(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	const char *tiers[] = { "front", "front", "back" }, *names[] = { "x", "y", "z" };
	char *ids[3];
	for (int i = 0; i < 3; i++) {
		Runtime__V1__ContainerConfig *cfg =
			fx_container_config(t, fx_own_name(t, names[i]), "busybox", ARGV("sleep", "3600"));
		fx_ctr_label(cfg, "critic.io/tier", tiers[i]);
		fx_ctr_label(cfg, "critic.io/name", names[i]);
		ids[i] = fx_create_container(t, pid, pod, cfg);
	}
	/* Scoped to this test's own label so other containers never match. */
	Runtime__V1__ContainerFilter__LabelSelectorEntry own = RUNTIME__V1__CONTAINER_FILTER__LABEL_SELECTOR_ENTRY__INIT,
							 tier = own, name = own;
	own.key = TST_LABEL_TEST;
	own.value = (char *)tst_test_label(t);
	tier.key = "critic.io/tier";
	name.key = "critic.io/name";
	Runtime__V1__ContainerFilter f = RUNTIME__V1__CONTAINER_FILTER__INIT;
	Runtime__V1__ContainerFilter__LabelSelectorEntry *sel[3] = { &own, &tier, &name };
	f.label_selector = sel;

	f.n_label_selector = 1;
	Runtime__V1__ListContainersResponse *l = list_ctrs(t, &f);
	expect_ids(t, "own label", l, (const char *const *)ids, 3);
	cri_free(l);
	f.n_label_selector = 2;
	tier.value = "front";
	l = list_ctrs(t, &f);
	expect_ids(t, "tier=front", l, (const char *const[]){ ids[0], ids[1] }, 2);
	cri_free(l);
	tier.value = "back";
	l = list_ctrs(t, &f);
	expect_ids(t, "tier=back", l, (const char *const[]){ ids[2] }, 1);
	cri_free(l);
	/* Every selector entry must match (AND). */
	f.n_label_selector = 3;
	tier.value = "front";
	name.value = "y";
	l = list_ctrs(t, &f);
	expect_ids(t, "tier=front,name=y", l, (const char *const[]){ ids[1] }, 1);
	cri_free(l);
	name.value = "z";
	l = list_ctrs(t, &f);
	expect_ids(t, "tier=front,name=z", l, NULL, 0);
	cri_free(l);
}

/* ---- what the process sees ---- */

/* Split a NUL-separated buffer (like /proc/PID/environ) and find key=... */
static const char *environ_get(const char *buf, size_t len, const char *key, int *count)
{
	const char *hit = NULL;
	size_t kl = strlen(key);
	*count = 0;
	for (size_t off = 0; off < len; off += strlen(buf + off) + 1) {
		if (!strncmp(buf + off, key, kl) && buf[off + kl] == '=') {
			hit = buf + off + kl + 1;
			(*count)++;
		}
	}
	return hit;
}

static void env_vars(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	Runtime__V1__ContainerConfig *cfg = fx_container_config(t, fx_own_name(t, "env"), "busybox", ARGV("sleep", "3600"));
	const char *const pairs[][2] = {
		{ "CRITIC_PLAIN", "alpha" },
		{ "CRITIC_SPACES", "two words = and 'quotes'" },
		{ "CRITIC_EMPTY", "" },
		/* The config wins over the image's own PATH. */
		{ "PATH", "/usr/local/bin:/usr/bin:/bin:/critic-extra" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++)
		fx_ctr_env(cfg, pairs[i][0], pairs[i][1]);
	char *id = fx_create_container(t, pid, pod, cfg);
	fx_start_container(t, id);
	/* The environment of the container's process itself (PID 1), one
	 * variable a line (values here hold no newline). */
	char *out = NULL;
	int code = -1;
	if (fx_exec(t, id, ARGV("sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"), 10, &out, NULL, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	REQUIRE(t, code == 0, "reading /proc/1/environ exited %d", code);
	size_t len = strlen(out);
	for (size_t i = 0; i < len; i++)
		if (out[i] == '\n')
			out[i] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
		int n = 0;
		const char *v = environ_get(out, len, pairs[i][0], &n);
		EXPECT(t, v && !strcmp(v, pairs[i][1]), "%s='%s', want '%s'", pairs[i][0], v ? v : "(unset)",
		       pairs[i][1]);
		EXPECT(t, n <= 1, "%s appears %d times in the environment", pairs[i][0], n);
	}
	free(out);
}

static void working_dir(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	Runtime__V1__ContainerConfig *cfg = fx_container_config(t, fx_own_name(t, "wd"), "busybox", ARGV("sleep", "3600"));
	cfg->working_dir = "/etc";
	char *id = fx_create_container(t, pid, pod, cfg);
	fx_start_container(t, id);
	char *cwd = fx_exec_ok(t, id, ARGV("readlink", "/proc/1/cwd"));
	EXPECT(t, !strcmp(cwd, "/etc\n"), "the process runs in '%s', want /etc (image says /)", cwd);
	free(cwd);
}

/* Command lines of every process a (PID-sharing) pod member can see. */
static char *pod_cmdlines(tst_ctx *t, const char *observer)
{
	return fx_exec_ok(t, observer,
			  ARGV("sh", "-c", "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done"));
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void command_args(tst_ctx *t)
{
	/* One PID namespace for the pod, so a sidecar sees every process. */
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "cmd");
	pod->linux_->security_context->namespace_options->pid = RUNTIME__V1__NAMESPACE_MODE__POD;
	char *pid = fx_run_pod(t, pod);
	Runtime__V1__ContainerConfig *ocfg = fx_container_config(t, "observer", "busybox", ARGV("sleep", "3600"));
	ocfg->linux_->security_context->namespace_options->pid = RUNTIME__V1__NAMESPACE_MODE__POD;
	char *observer = fx_create_container(t, pid, pod, ocfg);
	fx_start_container(t, observer);
	/* busybox: Cmd ["sh"], no Entrypoint; pause: Entrypoint ["/pause"], no Cmd. */
	const struct {
		const char *name, *image;
		const char *const *command, *const *args;
		const char *want, *why;
	} cases[] = {
		{ "args-only", "busybox", NULL, ARGV("sleep", "1001"), "sleep 1001 ", "args replace the image Cmd" },
		{ "command-only", "busybox", ARGV("sleep", "1002"), NULL, "sleep 1002 ",
		  "command runs without the image Cmd appended" },
		{ "command-args", "busybox", ARGV("sleep"), ARGV("1003"), "sleep 1003 ", "command followed by args" },
		{ "entrypoint-args", "pause", NULL, ARGV("critic-a", "critic-b"), "/pause critic-a critic-b ",
		  "args follow the image Entrypoint" },
		{ "command-over-entrypoint", "pause", ARGV("/pause", "critic-c"), ARGV("critic-d"),
		  "/pause critic-c critic-d ", "command replaces the image Entrypoint" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Runtime__V1__ContainerConfig *cfg = fx_container_config(t, cases[i].name, cases[i].image, cases[i].command);
		cfg->linux_->security_context->namespace_options->pid = RUNTIME__V1__NAMESPACE_MODE__POD;
		if (cases[i].args) {
			size_t n = 0;
			while (cases[i].args[n])
				n++;
			cfg->args = (char **)cases[i].args;
			cfg->n_args = n;
		}
		char *id = fx_create_container(t, pid, pod, cfg);
		fx_start_container(t, id);
	}
	/* The runtime's init may not have exec'd the command yet: poll. */
	int64_t end = util_now_ms() + 5000;
	char *seen = NULL;
	for (;;) {
		free(seen);
		seen = pod_cmdlines(t, observer);
		bool all = true;
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
			all &= has_line(seen, cases[i].want);
		if (all || util_now_ms() >= end)
			break;
		util_sleep_ms(50);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		EXPECT(t, has_line(seen, cases[i].want), "%s: no process '%s' (%s); processes:\n%s", cases[i].name,
		       cases[i].want, cases[i].why, seen);
	free(seen);
}


static const tst_case container_cases[] = {
	{ "container/lifecycle", "a container goes CREATED, RUNNING, EXITED with ordered timestamps",
	  lifecycle, TST_FIXTURE },
	{ "container/stop-timeout-kills", "StopContainer SIGKILLs a process ignoring SIGTERM after the timeout (137)",
	  stop_timeout_kills, TST_FIXTURE, 30 },
	{ "container/stop-graceful", "a process that handles SIGTERM stops at once with its own exit code",
	  stop_graceful, TST_FIXTURE },
	{ "container/remove-created", "a CREATED container is removed: NOT_FOUND and no longer listed",
	  remove_created, TST_FIXTURE },
	{ "container/remove-running", "a RUNNING container is forcibly removed: NOT_FOUND and no longer listed",
	  remove_running, TST_FIXTURE },
	{ "container/remove-exited", "an EXITED container is removed: NOT_FOUND and no longer listed",
	  remove_exited, TST_FIXTURE },
	{ "container/status-fields", "ContainerStatus reports id, metadata, image, labels, mounts, log path, times",
	  status_fields, TST_FIXTURE },
	{ "container/status-exited", "an exited container reports exit 0, finish time and a CamelCase reason",
	  status_exited, TST_FIXTURE },
	{ "container/exit-code", "a process exiting 3 leaves the container EXITED with exit code 3",
	  exit_code_nonzero, TST_FIXTURE },
	{ "container/timestamps-fast-exit", "instantly exiting containers report created <= started <= finished",
	  timestamps_fast_exit, TST_EXTENDED },
	{ "container/command-not-found", "a missing command fails create or start and never reports RUNNING",
	  command_not_found, TST_FIXTURE },
	{ "container/list-attributes", "ListContainers returns the same id, pod, metadata, image, state, labels",
	  list_attributes, TST_FIXTURE },
	{ "container/list-filter-id", "ListContainers filtered by id returns exactly that container",
	  list_filter_id, TST_FIXTURE },
	{ "container/list-filter-state", "ListContainers filtered by CREATED, RUNNING, EXITED returns only those",
	  list_filter_state, TST_FIXTURE },
	{ "container/list-filter-pod", "ListContainers filtered by pod returns only that pod's containers",
	  list_filter_pod },
	{ "container/list-filter-label", "ListContainers label selector matches every entry (AND)",
	  list_filter_label, TST_FIXTURE },
	{ "container/env", "config env vars reach the process verbatim and override the image's",
	  env_vars, TST_FIXTURE },
	{ "container/working-dir", "working_dir overrides the image's working directory", working_dir, TST_FIXTURE },
	{ "container/command-args", "command overrides Entrypoint, args override Cmd, as the CRI defines",
	  command_args },
};
TST_SUITE_FIXTURE("container", "Container lifecycle", container_cases, fx_pod_fixture)
