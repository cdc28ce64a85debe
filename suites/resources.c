/* resources: CPU and memory limits from CreateContainer and
 * UpdateContainerResources must land in the container's cgroup (read back
 * from the cgroup files, v1 or v2), and ContainerStatus reports them. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fx.h"
#include "util.h"

#define MIB (1024LL * 1024)
#define GRPC_UNIMPLEMENTED 12

/* Where a container's cgroup limits are read: on the host through the
 * process's /proc/PID/cgroup, or (no pid known) from inside the container. */
typedef struct {
	tst_ctx *t;
	const char *id;
	long pid;
	bool v2;
} cgroup_view;

/* containerd and CRI-O put the task's pid into verbose info["info"] (JSON). */
static long pid_from_info(Runtime__V1__ContainerStatusResponse *r)
{
	const char *info = fx_map_get((void *const *)r->info, r->n_info, "info");
	if (!info)
		return 0;
	json_object *root = json_tokener_parse(info), *pid = NULL;
	long v = 0;
	if (root && json_object_object_get_ex(root, "pid", &pid))
		v = (long)json_object_get_int64(pid);
	json_object_put(root);
	return v;
}

static void cgroup_open(tst_ctx *t, const char *id, cgroup_view *cg)
{
	memset(cg, 0, sizeof *cg);
	cg->t = t;
	cg->id = id;
	Runtime__V1__ContainerStatusResponse *r = fx_container_status(t, id, true);
	cg->pid = pid_from_info(r);
	cri_free(r);
	if (cg->pid > 0) {
		char *path = util_strdup_printf("/proc/%ld/cgroup", cg->pid), *text = NULL;
		crit_err e;
		REQUIRE(t, util_read_file(path, &text, NULL, &e) == 0, "%s", e.msg);
		/* No v1 memory hierarchy: the unified one holds everything. */
		cg->v2 = !strstr(text, ":memory:") && !strstr(text, ",memory:") && !strstr(text, ":memory,");
		free(text);
		free(path);
		tst_info(t, "reading cgroup %s of pid %ld on the host", cg->v2 ? "v2" : "v1", cg->pid);
	} else {
		int code = -1;
		fx_exec(t, id, ARGV("test", "-e", "/sys/fs/cgroup/cgroup.controllers"), 10, NULL, NULL, &code);
		cg->v2 = code == 0;
		tst_info(t, "no pid in verbose status; reading cgroup %s from inside the container", cg->v2 ? "v2" : "v1");
	}
}

/* The host directory of controller's cgroup for the process. */
static char *host_cgroup_dir(cgroup_view *cg, const char *controller)
{
	char *path = util_strdup_printf("/proc/%ld/cgroup", cg->pid), *text = NULL;
	crit_err e;
	REQUIRE(cg->t, util_read_file(path, &text, NULL, &e) == 0, "%s", e.msg);
	free(path);
	char *dir = NULL;
	for (char *line = strtok(text, "\n"); line && !dir; line = strtok(NULL, "\n")) {
		/* "ID:controllers:path" */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1, *cgpath = c2 + 1;
		if (cg->v2) {
			if (!strcmp(line, "0") && !ctrls[0])
				dir = util_strdup_printf("/sys/fs/cgroup%s", cgpath);
			continue;
		}
		char *list = util_strdup_printf(",%s,", ctrls), *want = util_strdup_printf(",%s,", controller);
		if (strstr(list, want)) {
			/* Mounted as the joint name ("cpu,cpuacct") or the single one. */
			dir = util_strdup_printf("/sys/fs/cgroup/%s%s", ctrls, cgpath);
			if (!util_exists(dir)) {
				free(dir);
				dir = util_strdup_printf("/sys/fs/cgroup/%s%s", controller, cgpath);
			}
		}
		free(list);
		free(want);
	}
	free(text);
	REQUIRE(cg->t, dir != NULL, "pid %ld has no %s cgroup", cg->pid, controller);
	return dir;
}

/* One cgroup file's content without the trailing newline. */
static char *cg_read(cgroup_view *cg, const char *controller, const char *file)
{
	char *text = NULL;
	if (cg->pid > 0) {
		char *dir = host_cgroup_dir(cg, controller), *path = util_strdup_printf("%s/%s", dir, file);
		crit_err e;
		REQUIRE(cg->t, util_read_file(path, &text, NULL, &e) == 0, "%s", e.msg);
		free(dir);
		free(path);
	} else {
		char *path = cg->v2 ? util_strdup_printf("/sys/fs/cgroup/%s", file)
				    : util_strdup_printf("/sys/fs/cgroup/%s/%s", controller, file);
		text = fx_exec_ok(cg->t, cg->id, ARGV("cat", path));
		free(path);
	}
	size_t n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	return text;
}

/* runc's and crun's cpu.shares -> cgroup v2 cpu.weight conversion. */
static long long shares_to_weight(long long shares)
{
	return shares ? 1 + ((shares - 2) * 9999) / 262142 : 0;
}

typedef struct {
	long long mem, quota, period, shares;
} limits;

static void expect_cgroup(tst_ctx *t, const char *id, const limits *want, const char *when)
{
	cgroup_view cg;
	cgroup_open(t, id, &cg);
	char *v;
	if (cg.v2) {
		v = cg_read(&cg, "memory", "memory.max");
		EXPECT(t, atoll(v) == want->mem, "%s: memory.max %s, want %lld", when, v, want->mem);
		free(v);
		v = cg_read(&cg, "cpu", "cpu.max");
		char *w = util_strdup_printf("%lld %lld", want->quota, want->period);
		EXPECT(t, !strcmp(v, w), "%s: cpu.max '%s', want '%s'", when, v, w);
		free(w);
		free(v);
		v = cg_read(&cg, "cpu", "cpu.weight");
		EXPECT(t, atoll(v) == shares_to_weight(want->shares), "%s: cpu.weight %s, want %lld (shares %lld)", when,
		       v, shares_to_weight(want->shares), want->shares);
		free(v);
		return;
	}
	v = cg_read(&cg, "memory", "memory.limit_in_bytes");
	EXPECT(t, atoll(v) == want->mem, "%s: memory.limit_in_bytes %s, want %lld", when, v, want->mem);
	free(v);
	v = cg_read(&cg, "cpu", "cpu.cfs_quota_us");
	EXPECT(t, atoll(v) == want->quota, "%s: cpu.cfs_quota_us %s, want %lld", when, v, want->quota);
	free(v);
	v = cg_read(&cg, "cpu", "cpu.cfs_period_us");
	EXPECT(t, atoll(v) == want->period, "%s: cpu.cfs_period_us %s, want %lld", when, v, want->period);
	free(v);
	v = cg_read(&cg, "cpu", "cpu.shares");
	EXPECT(t, atoll(v) == want->shares, "%s: cpu.shares %s, want %lld", when, v, want->shares);
	free(v);
}

static Runtime__V1__LinuxContainerResources *make_res(const limits *l)
{
	Runtime__V1__LinuxContainerResources *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	runtime__v1__linux_container_resources__init(r);
	r->memory_limit_in_bytes = l->mem;
	r->cpu_quota = l->quota;
	r->cpu_period = l->period;
	r->cpu_shares = l->shares;
	return r;
}

static char *run_limited(tst_ctx *t, const limits *l)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, fx_own_name(t, "limited"), "busybox", ARGV("sleep", "3600"));
	cfg->linux_->resources = make_res(l);
	char *id = fx_create_container(t, pid, pod, cfg);
	fx_start_container(t, id);
	return id;
}

static void update(tst_ctx *t, const char *id, const limits *l)
{
	Runtime__V1__UpdateContainerResourcesRequest req = RUNTIME__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
	Runtime__V1__UpdateContainerResourcesResponse *resp = NULL;
	req.container_id = (char *)id;
	req.linux_ = make_res(l);
	if (CRI_CALL(t->cri, UpdateContainerResources, &req, &resp, &t->err) < 0) {
		if (t->err.grpc_status == GRPC_UNIMPLEMENTED)
			tst_skip(t, "UpdateContainerResources is not implemented: %s", t->err.msg);
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	}
	cri_free(resp);
}

static const limits at_create = { 128 * MIB, 50000, 100000, 512 };
static const limits updated = { 96 * MIB, 20000, 100000, 256 };

static void create_limits(tst_ctx *t)
{
	char *id = run_limited(t, &at_create);
	expect_cgroup(t, id, &at_create, "at create");
}

static void update_limits(tst_ctx *t)
{
	char *id = run_limited(t, &at_create);
	/* Like the kubelet, send the whole set. */
	update(t, id, &updated);
	expect_cgroup(t, id, &updated, "after update");
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
	       "state %d after the update, want RUNNING", st->status->state);
	cri_free(st);
}

static void expect_status_res(tst_ctx *t, const char *id, const limits *want, const char *when)
{
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	if (!st->status->resources || !st->status->resources->linux_)
		tst_skip(t, "the runtime does not report ContainerStatus.resources (%s)", when);
	Runtime__V1__LinuxContainerResources *r = st->status->resources->linux_;
	EXPECT(t, r->memory_limit_in_bytes == want->mem, "%s: memory_limit_in_bytes %lld, want %lld", when,
	       (long long)r->memory_limit_in_bytes, want->mem);
	EXPECT(t, r->cpu_quota == want->quota, "%s: cpu_quota %lld, want %lld", when, (long long)r->cpu_quota,
	       want->quota);
	EXPECT(t, r->cpu_period == want->period, "%s: cpu_period %lld, want %lld", when, (long long)r->cpu_period,
	       want->period);
	EXPECT(t, r->cpu_shares == want->shares, "%s: cpu_shares %lld, want %lld", when, (long long)r->cpu_shares,
	       want->shares);
	cri_free(st);
}

static void status_resources(tst_ctx *t)
{
	char *id = run_limited(t, &at_create);
	expect_status_res(t, id, &at_create, "at create");
	update(t, id, &updated);
	expect_status_res(t, id, &updated, "after update");
}

static const tst_case resources_cases[] = {
	{ "resources/create-limits", "memory, CPU quota/period and shares from CreateContainer land in the cgroup",
	  create_limits, TST_NEED_ROOT | TST_FIXTURE },
	{ "resources/update-limits", "UpdateContainerResources changes the running container's cgroup limits",
	  update_limits, TST_NEED_ROOT | TST_FIXTURE },
	{ "resources/status-resources", "ContainerStatus.resources reports the limits at create and after an update",
	  status_resources, TST_FIXTURE },
};
TST_SUITE_FIXTURE("resources", "Container resources", resources_cases, fx_pod_fixture)
