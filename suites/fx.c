#include "fx.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Every string->string map entry protoc-c generates has this layout. */
typedef struct {
	ProtobufCMessage base;
	char *key;
	char *value;
} kv_entry;

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static void map_add(const ProtobufCMessageDescriptor *d, void ***entries, size_t *n, const char *k,
		    const char *v)
{
	kv_entry *ent = xcalloc(1, sizeof *ent);
	protobuf_c_message_init(d, ent);
	ent->key = xstrdup(k);
	ent->value = xstrdup(v);
	void **grown = realloc(*entries, (*n + 1) * sizeof *grown);
	if (!grown)
		abort();
	grown[(*n)++] = ent;
	*entries = grown;
}

const char *fx_map_get(void *const *entries, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		const kv_entry *ent = entries[i];
		if (!strcmp(ent->key, key))
			return ent->value;
	}
	return NULL;
}

#define MAP_ADD(desc, msg, field, k, v) \
	map_add(&(desc), (void ***)&(msg)->field, &(msg)->n_##field, (k), (v))

void fx_pod_label(Runtime__V1__PodSandboxConfig *cfg, const char *key, const char *value)
{
	MAP_ADD(runtime__v1__pod_sandbox_config__labels_entry__descriptor, cfg, labels, key, value);
}

void fx_pod_annotation(Runtime__V1__PodSandboxConfig *cfg, const char *key, const char *value)
{
	MAP_ADD(runtime__v1__pod_sandbox_config__annotations_entry__descriptor, cfg, annotations, key, value);
}

void fx_ctr_label(Runtime__V1__ContainerConfig *cfg, const char *key, const char *value)
{
	MAP_ADD(runtime__v1__container_config__labels_entry__descriptor, cfg, labels, key, value);
}

void fx_ctr_annotation(Runtime__V1__ContainerConfig *cfg, const char *key, const char *value)
{
	MAP_ADD(runtime__v1__container_config__annotations_entry__descriptor, cfg, annotations, key, value);
}

void fx_ctr_env(Runtime__V1__ContainerConfig *cfg, const char *key, const char *value)
{
	Runtime__V1__KeyValue *kv = xcalloc(1, sizeof *kv);
	runtime__v1__key_value__init(kv);
	kv->key = xstrdup(key);
	kv->value = xstrdup(value);
	cfg->envs = realloc(cfg->envs, (cfg->n_envs + 1) * sizeof *cfg->envs);
	if (!cfg->envs)
		abort();
	cfg->envs[cfg->n_envs++] = kv;
}

static int counter;

static void rm_log_dir(tst_ctx *t, void *arg)
{
	crit_err e;
	if (util_rm_rf(arg, &e) < 0)
		tst_info(t, "could not remove log dir: %s", e.msg);
	/* The per-run parent goes too once empty. */
	char *slash = strrchr(arg, '/');
	if (slash) {
		*slash = '\0';
		rmdir(arg);
	}
}

Runtime__V1__PodSandboxConfig *fx_pod_config(tst_ctx *t, const char *name)
{
	Runtime__V1__PodSandboxConfig *cfg = xcalloc(1, sizeof *cfg);
	runtime__v1__pod_sandbox_config__init(cfg);
	Runtime__V1__PodSandboxMetadata *md = xcalloc(1, sizeof *md);
	runtime__v1__pod_sandbox_metadata__init(md);
	counter++;
	md->name = util_strdup_printf("%s-%s-%d", name ? name : "pod", tst_test_label(t), counter);
	for (char *p = md->name; *p; p++)
		if (*p == '.' || *p == '_')
			*p = '-';
	md->uid = util_strdup_printf("%s-%d-%d", t->env->run_id, (int)getpid(), counter);
	md->namespace_ = xstrdup("critic");
	cfg->metadata = md;
	cfg->hostname = xstrdup("critic-pod");
	cfg->log_directory = util_strdup_printf("/var/log/critic/%s/%s", t->env->run_id, md->uid);
	crit_err e;
	if (util_mkdir_p(cfg->log_directory, 0755, &e) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "log directory: %s", e.msg);
	tst_defer(t, rm_log_dir, xstrdup(cfg->log_directory));
	fx_pod_label(cfg, TST_LABEL_OWNER, "critic");
	fx_pod_label(cfg, TST_LABEL_RUN, t->env->run_id);
	fx_pod_label(cfg, TST_LABEL_TEST, tst_test_label(t));
	Runtime__V1__LinuxPodSandboxConfig *lx = xcalloc(1, sizeof *lx);
	runtime__v1__linux_pod_sandbox_config__init(lx);
	Runtime__V1__LinuxSandboxSecurityContext *sc = xcalloc(1, sizeof *sc);
	runtime__v1__linux_sandbox_security_context__init(sc);
	Runtime__V1__NamespaceOption *ns = xcalloc(1, sizeof *ns);
	runtime__v1__namespace_option__init(ns);
	/* The kubelet's default: one PID namespace per container. */
	ns->pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	sc->namespace_options = ns;
	lx->security_context = sc;
	cfg->linux_ = lx;
	return cfg;
}

static void pod_fixture_setup(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "shared");
	char *id = fx_run_pod(t, pod);
	/* Fixture values are text: the config travels packed, in hex. */
	size_t n = protobuf_c_message_get_packed_size(&pod->base);
	uint8_t *buf = xcalloc(n, 1);
	protobuf_c_message_pack(&pod->base, buf);
	char *hex = xcalloc(2 * n + 1, 1);
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	tst_fixture_set(t, "pod", id);
	tst_fixture_set(t, "pod-config", hex);
	free(buf);
	free(hex);
}

const tst_fixture fx_pod_fixture = { .setup = pod_fixture_setup };

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *fx_shared_pod(tst_ctx *t, Runtime__V1__PodSandboxConfig **cfg)
{
	const char *hex = tst_fixture_get(t, "pod-config");
	size_t n = strlen(hex) / 2;
	uint8_t *buf = xcalloc(n, 1);
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		REQUIRE(t, hi >= 0 && lo >= 0, "shared pod config: not hex at %zu", 2 * i);
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*cfg = runtime__v1__pod_sandbox_config__unpack(NULL, n, buf);
	free(buf);
	REQUIRE(t, *cfg != NULL, "shared pod config: %zu bytes that do not unpack", n);
	return (char *)tst_fixture_get(t, "pod");
}

char *fx_own_name(tst_ctx *t, const char *base)
{
	char *name = util_strdup_printf("%s-%s", base, tst_test_label(t));
	for (char *p = name; *p; p++)
		if (*p == '.' || *p == '_')
			*p = '-';
	return name;
}

typedef struct {
	char *id;
} obj_ref;

int fx_stop_pod(tst_ctx *t, const char *id)
{
	Runtime__V1__StopPodSandboxRequest req = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__StopPodSandboxResponse *resp = NULL;
	req.pod_sandbox_id = (char *)id;
	int rc = CRI_CALL(t->cri, StopPodSandbox, &req, &resp, &t->err);
	cri_free(resp);
	return rc;
}

int fx_remove_pod(tst_ctx *t, const char *id)
{
	Runtime__V1__RemovePodSandboxRequest req = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxResponse *resp = NULL;
	req.pod_sandbox_id = (char *)id;
	int rc = CRI_CALL(t->cri, RemovePodSandbox, &req, &resp, &t->err);
	cri_free(resp);
	return rc;
}

int fx_stop_container(tst_ctx *t, const char *id, int64_t timeout_s)
{
	Runtime__V1__StopContainerRequest req = RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	Runtime__V1__StopContainerResponse *resp = NULL;
	req.container_id = (char *)id;
	req.timeout = timeout_s;
	/* The call may take the whole grace period. */
	int rc = CRI_CALL_T(t->cri, StopContainer, &req, &resp, cri_timeout_ms(t->cri) + (int)timeout_s * 1000,
			    &t->err);
	cri_free(resp);
	return rc;
}

int fx_remove_container(tst_ctx *t, const char *id)
{
	Runtime__V1__RemoveContainerRequest req = RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	Runtime__V1__RemoveContainerResponse *resp = NULL;
	req.container_id = (char *)id;
	int rc = CRI_CALL(t->cri, RemoveContainer, &req, &resp, &t->err);
	cri_free(resp);
	return rc;
}

static void stop_remove_pod(tst_ctx *t, void *arg)
{
	obj_ref *ref = arg;
	/* The test may have removed it already: NOT_FOUND is fine here. */
	if (fx_stop_pod(t, ref->id) < 0 && t->err.grpc_status != 5)
		tst_fail(t, __FILE__, __LINE__, "cleanup: %s", t->err.msg);
	if (fx_remove_pod(t, ref->id) < 0 && t->err.grpc_status != 5)
		tst_fail(t, __FILE__, __LINE__, "cleanup: %s", t->err.msg);
}

int fx_try_run_pod(tst_ctx *t, Runtime__V1__PodSandboxConfig *cfg, const char *handler, char **id)
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *resp = NULL;
	req.config = cfg;
	req.runtime_handler = (char *)(handler ? handler : t->env->handler);
	/* The kubelet gives RunPodSandbox twice the normal deadline. */
	int rc = CRI_CALL_T(t->cri, RunPodSandbox, &req, &resp, 2 * cri_timeout_ms(t->cri), &t->err);
	if (rc < 0)
		return rc;
	obj_ref *ref = xcalloc(1, sizeof *ref);
	ref->id = xstrdup(resp->pod_sandbox_id);
	cri_free(resp);
	tst_defer(t, stop_remove_pod, ref);
	*id = ref->id;
	return 0;
}

char *fx_run_pod(tst_ctx *t, Runtime__V1__PodSandboxConfig *cfg)
{
	char *id = NULL;
	if (fx_try_run_pod(t, cfg, NULL, &id) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	return id;
}

const char *fx_image(tst_ctx *t, const char *role_or_ref)
{
	if (strchr(role_or_ref, '/') || strchr(role_or_ref, ':'))
		return role_or_ref;
	return tst_image(t, role_or_ref);
}

Runtime__V1__ContainerConfig *fx_container_config(tst_ctx *t, const char *name, const char *image,
						  const char *const *cmd)
{
	Runtime__V1__ContainerConfig *cfg = xcalloc(1, sizeof *cfg);
	runtime__v1__container_config__init(cfg);
	Runtime__V1__ContainerMetadata *md = xcalloc(1, sizeof *md);
	runtime__v1__container_metadata__init(md);
	md->name = xstrdup(name);
	cfg->metadata = md;
	Runtime__V1__ImageSpec *img = xcalloc(1, sizeof *img);
	runtime__v1__image_spec__init(img);
	img->image = xstrdup(fx_image(t, image));
	cfg->image = img;
	if (cmd) {
		size_t n = 0;
		while (cmd[n])
			n++;
		cfg->command = xcalloc(n, sizeof *cfg->command);
		for (size_t i = 0; i < n; i++)
			cfg->command[i] = xstrdup(cmd[i]);
		cfg->n_command = n;
	}
	cfg->log_path = util_strdup_printf("%s.log", name);
	fx_ctr_label(cfg, TST_LABEL_OWNER, "critic");
	fx_ctr_label(cfg, TST_LABEL_RUN, t->env->run_id);
	fx_ctr_label(cfg, TST_LABEL_TEST, tst_test_label(t));
	Runtime__V1__LinuxContainerConfig *lx = xcalloc(1, sizeof *lx);
	runtime__v1__linux_container_config__init(lx);
	Runtime__V1__LinuxContainerSecurityContext *sc = xcalloc(1, sizeof *sc);
	runtime__v1__linux_container_security_context__init(sc);
	Runtime__V1__NamespaceOption *ns = xcalloc(1, sizeof *ns);
	runtime__v1__namespace_option__init(ns);
	/* As the kubelet does by default: the container's own PID namespace
	 * (0 would mean POD, sharing the pause container's). */
	ns->pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	sc->namespace_options = ns;
	lx->security_context = sc;
	cfg->linux_ = lx;
	return cfg;
}

static void defer_remove_container(tst_ctx *t, void *arg)
{
	obj_ref *ref = arg;
	if (fx_remove_container(t, ref->id) < 0 && t->err.grpc_status != 5)
		tst_fail(t, __FILE__, __LINE__, "cleanup: %s", t->err.msg);
}

char *fx_create_container(tst_ctx *t, const char *pod_id, Runtime__V1__PodSandboxConfig *pod,
			  Runtime__V1__ContainerConfig *cfg)
{
	fx_ensure_image(t, cfg->image->image);
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *resp = NULL;
	req.pod_sandbox_id = (char *)pod_id;
	req.config = cfg;
	req.sandbox_config = pod;
	CALL_OK(t, CreateContainer, &req, &resp);
	obj_ref *ref = xcalloc(1, sizeof *ref);
	ref->id = xstrdup(resp->container_id);
	cri_free(resp);
	tst_defer(t, defer_remove_container, ref);
	return ref->id;
}

void fx_start_container(tst_ctx *t, const char *id)
{
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	Runtime__V1__StartContainerResponse *resp = NULL;
	req.container_id = (char *)id;
	CALL_OK(t, StartContainer, &req, &resp);
	cri_free(resp);
}

char *fx_run_container(tst_ctx *t, const char *pod_id, Runtime__V1__PodSandboxConfig *pod, const char *name,
		       const char *const *cmd)
{
	Runtime__V1__ContainerConfig *cfg = fx_container_config(t, name, "busybox", cmd);
	char *id = fx_create_container(t, pod_id, pod, cfg);
	fx_start_container(t, id);
	return id;
}

Runtime__V1__ContainerStatusResponse *fx_container_status(tst_ctx *t, const char *id, bool verbose)
{
	Runtime__V1__ContainerStatusRequest req = RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	Runtime__V1__ContainerStatusResponse *resp = NULL;
	req.container_id = (char *)id;
	req.verbose = verbose;
	CALL_OK(t, ContainerStatus, &req, &resp);
	REQUIRE(t, resp->status != NULL, "ContainerStatus of %s has no status", id);
	return resp;
}

Runtime__V1__PodSandboxStatusResponse *fx_pod_status(tst_ctx *t, const char *id, bool verbose)
{
	Runtime__V1__PodSandboxStatusRequest req = RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
	Runtime__V1__PodSandboxStatusResponse *resp = NULL;
	req.pod_sandbox_id = (char *)id;
	req.verbose = verbose;
	CALL_OK(t, PodSandboxStatus, &req, &resp);
	REQUIRE(t, resp->status != NULL, "PodSandboxStatus of %s has no status", id);
	return resp;
}

bool fx_wait_container_state(tst_ctx *t, const char *id, Runtime__V1__ContainerState state, int timeout_ms)
{
	int64_t end = util_now_ms() + timeout_ms;
	for (;;) {
		Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
		bool ok = st->status->state == state;
		cri_free(st);
		if (ok)
			return true;
		if (util_now_ms() >= end)
			return false;
		util_sleep_ms(50);
	}
}

int fx_exec(tst_ctx *t, const char *id, const char *const *cmd, int timeout_s, char **out, char **err,
	    int *exit_code)
{
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	Runtime__V1__ExecSyncResponse *resp = NULL;
	size_t n = 0;
	while (cmd[n])
		n++;
	req.container_id = (char *)id;
	req.cmd = (char **)cmd;
	req.n_cmd = n;
	req.timeout = timeout_s;
	/* The call itself may take as long as the exec is allowed to. */
	int tmo = cri_timeout_ms(t->cri) + timeout_s * 1000;
	int rc = CRI_CALL_T(t->cri, ExecSync, &req, &resp, tmo, &t->err);
	if (rc < 0)
		return rc;
	if (out) {
		*out = xcalloc(1, resp->stdout.len + 1);
		memcpy(*out, resp->stdout.data, resp->stdout.len);
	}
	if (err) {
		*err = xcalloc(1, resp->stderr.len + 1);
		memcpy(*err, resp->stderr.data, resp->stderr.len);
	}
	if (exit_code)
		*exit_code = resp->exit_code;
	cri_free(resp);
	return 0;
}

char *fx_exec_ok(tst_ctx *t, const char *id, const char *const *cmd)
{
	char *out = NULL, *err = NULL;
	int code = -1;
	if (fx_exec(t, id, cmd, 10, &out, &err, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	if (code != 0)
		tst_fail_now(t, __FILE__, __LINE__, "exec %s … exited %d; stderr: %s", cmd[0], code, err);
	return out;
}

char *fx_ensure_image(tst_ctx *t, const char *ref)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)ref;
	Runtime__V1__ImageStatusRequest sreq = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	Runtime__V1__ImageStatusResponse *sresp = NULL;
	sreq.image = &spec;
	CALL_OK(t, ImageStatus, &sreq, &sresp);
	if (sresp->image) {
		char *id = xstrdup(sresp->image->id);
		cri_free(sresp);
		return id;
	}
	cri_free(sresp);
	Runtime__V1__PullImageRequest preq = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *presp = NULL;
	preq.image = &spec;
	if (CRI_CALL_T(t->cri, PullImage, &preq, &presp, 6 * cri_timeout_ms(t->cri), &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	char *id = xstrdup(presp->image_ref);
	cri_free(presp);
	return id;
}
