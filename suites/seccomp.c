/* seccomp: the container's system call filter as its processes meet it:
 * unconfined, the runtime's default profile, profile files on the node
 * (by SecurityProfile and by the deprecated path string), privileged mode. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fx.h"
#include "nodecaps.h"
#include "util.h"

#define HELPER "/usr/local/bin/critic-helper"
#define SLEEPER ARGV(HELPER, "sleep", "forever")
#define CAP_SYS_ADMIN_BIT 21
#define PT_DEFAULT RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault
#define PT_UNCONFINED RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined
#define PT_LOCALHOST RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Localhost

/* Profiles in the OCI LinuxSeccomp form, which is what containerd reads
 * from a Localhost file: allow all, refuse the named calls with an errno. */
#define PROFILE_NO_SETHOSTNAME                                                                      \
	"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"sethostname\"],"        \
	"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}\n"
/* ENOSPC for mkdir: an errno no default profile and no kernel check gives
 * here, so seeing it proves this file is the filter in force. */
#define PROFILE_NO_MKDIR                                                                            \
	"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"  \
	"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":28}]}\n"

/* Skip unless the kernel filters system calls. */
static void need_seccomp(tst_ctx *t)
{
	nodecaps nc;
	crit_err e;
	if (nodecaps_probe("", &nc, &e) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", e.msg);
	if (!nc.seccomp.ok)
		tst_skip(t, "%s", nc.seccomp.why);
}

static void rm_tree(tst_ctx *t, void *arg)
{
	crit_err e;
	if (util_rm_rf(arg, &e) < 0)
		tst_info(t, "could not remove %s: %s", (char *)arg, e.msg);
}

/* Write a profile file in a fresh directory of critic's, removed when the
 * test ends (after the containers that use it). Returns its absolute path. */
static char *profile_file(tst_ctx *t, const char *json)
{
	char *dir = util_strdup_printf("/tmp/critic-seccomp-XXXXXX");
	if (!mkdtemp(dir))
		tst_fail_now(t, __FILE__, __LINE__, "mkdtemp %s: %s", dir, strerror(errno));
	tst_defer(t, rm_tree, dir);
	char *path = util_strdup_printf("%s/profile.json", dir);
	crit_err e;
	if (util_write_file(path, json, strlen(json), 0644, &e) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", e.msg);
	return path;
}

static Runtime__V1__LinuxContainerSecurityContext *ctr_sc(Runtime__V1__ContainerConfig *cfg)
{
	return cfg->linux_->security_context;
}

static void set_profile(Runtime__V1__ContainerConfig *cfg, Runtime__V1__SecurityProfile__ProfileType type,
			const char *ref)
{
	Runtime__V1__SecurityProfile *sp = calloc(1, sizeof *sp);
	if (!sp)
		abort();
	runtime__v1__security_profile__init(sp);
	sp->profile_type = type;
	if (ref)
		sp->localhost_ref = util_strdup_printf("%s", ref);
	ctr_sc(cfg)->seccomp = sp;
}

/* The field kubelets before 1.19 used; runtimes still read it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void set_deprecated_path(Runtime__V1__ContainerConfig *cfg, char *path)
{
	ctr_sc(cfg)->seccomp_profile_path = path;
}
#pragma GCC diagnostic pop

static void add_cap(Runtime__V1__ContainerConfig *cfg, const char *cap)
{
	Runtime__V1__Capability *c = calloc(1, sizeof *c);
	char **list = calloc(1, sizeof *list);
	if (!c || !list)
		abort();
	runtime__v1__capability__init(c);
	list[0] = util_strdup_printf("%s", cap);
	c->add_capabilities = list;
	c->n_add_capabilities = 1;
	ctr_sc(cfg)->capabilities = c;
}

/* The pod a test's containers run in. */
typedef struct {
	Runtime__V1__PodSandboxConfig *cfg;
	char *id;
} pod_t;

/* A pod of the test's own: privileged ones, and tests that change what
 * every container of the pod shares (sethostname: the pod's UTS namespace). */
static pod_t own_pod(tst_ctx *t, bool privileged)
{
	pod_t p = { fx_pod_config(t, "seccomp"), NULL };
	p.cfg->linux_->security_context->privileged = privileged;
	p.id = fx_run_pod(t, p.cfg);
	return p;
}

/* The area's shared default pod (TST_FIXTURE): a profile is the container's own. */
static pod_t shared_pod(tst_ctx *t)
{
	pod_t p;
	p.id = fx_shared_pod(t, &p.cfg);
	return p;
}

static Runtime__V1__ContainerConfig *sleeper_cfg(tst_ctx *t, const char *name)
{
	return fx_container_config(t, fx_own_name(t, name), "busybox", SLEEPER);
}

static char *start(tst_ctx *t, pod_t *p, Runtime__V1__ContainerConfig *cfg)
{
	char *id = fx_create_container(t, p->id, p->cfg, cfg);
	fx_start_container(t, id);
	return id;
}

/* Strip trailing newlines in place. */
static char *chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* The helper's verdict on one call in the container: "ok" or "errno=EPERM". */
static char *try_syscall(tst_ctx *t, const char *id, const char *name, const char *arg)
{
	char *out = NULL, *err = NULL;
	int code = -1;
	if (fx_exec(t, id, ARGV(HELPER, "syscall", name, arg), 10, &out, &err, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	REQUIRE(t, code == 0 || code == 1, "critic-helper syscall %s exited %d (stderr '%s'): image too old?", name,
		code, err ? err : "");
	return chomp(out);
}

/* Seccomp mode and filter count of the container's pid 1. */
static char *status_field(tst_ctx *t, const char *id, const char *field)
{
	char *text = fx_exec_ok(t, id, ARGV("cat", "/proc/1/status"));
	size_t fl = strlen(field);
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			char *v = line + fl + 1;
			v += strspn(v, " \t");
			return util_strdup_printf("%s", v);
		}
		line = nl ? nl + 1 : NULL;
	}
	tst_fail_now(t, __FILE__, __LINE__, "no %s in the container's /proc/1/status", field);
}

static void expect_mode(tst_ctx *t, const char *id, const char *want)
{
	char *mode = status_field(t, id, "Seccomp");
	EXPECT(t, !strcmp(mode, want), "pid 1 Seccomp: %s, want %s", mode, want);
}

/* CreateContainer must fail; remove the container if it did not. */
static void expect_create_refused(tst_ctx *t, pod_t *p, Runtime__V1__ContainerConfig *cfg)
{
	fx_ensure_image(t, cfg->image->image);
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__CreateContainerResponse *resp = NULL;
	req.pod_sandbox_id = p->id;
	req.config = cfg;
	req.sandbox_config = p->cfg;
	if (CRI_CALL(t->cri, CreateContainer, &req, &resp, &t->err) < 0) {
		tst_info(t, "refused: %s", t->err.msg);
		return;
	}
	EXPECT(t, 0, "CreateContainer succeeded (%.12s)", resp->container_id);
	if (fx_remove_container(t, resp->container_id) < 0)
		tst_info(t, "cleanup: %s", t->err.msg);
	cri_free(resp);
}

/* ---- tests ---- */

static void unconfined(tst_ctx *t)
{
	need_seccomp(t);
	pod_t p = shared_pod(t);
	Runtime__V1__ContainerConfig *cfg = sleeper_cfg(t, "main");
	set_profile(cfg, PT_UNCONFINED, NULL);
	char *id = start(t, &p, cfg);
	expect_mode(t, id, "0");
	char *r = try_syscall(t, id, "personality", NULL);
	EXPECT(t, !strcmp(r, "ok"), "personality(ADDR_NO_RANDOMIZE): %s, want ok with no filter", r);
}

static void runtime_default(tst_ctx *t)
{
	need_seccomp(t);
	pod_t p = shared_pod(t);
	Runtime__V1__ContainerConfig *cfg = sleeper_cfg(t, "main");
	set_profile(cfg, PT_DEFAULT, NULL);
	char *id = start(t, &p, cfg);
	expect_mode(t, id, "2");
	char *r = try_syscall(t, id, "personality", NULL);
	EXPECT(t, !strcmp(r, "errno=EPERM"), "personality(ADDR_NO_RANDOMIZE): %s, want errno=EPERM", r);
	/* Exec'd processes carry the filter too. */
	char *self = chomp(fx_exec_ok(t, id, ARGV("sh", "-c", "grep '^Seccomp:' /proc/self/status")));
	EXPECT(t, strstr(self, "2") != NULL, "an exec'd process has '%s', want Seccomp: 2", self);
}

/* A Localhost profile: the file's own rule is what the process meets. */
static void localhost_profile(tst_ctx *t)
{
	need_seccomp(t);
	char *path = profile_file(t, PROFILE_NO_MKDIR);
	pod_t p = shared_pod(t);
	Runtime__V1__ContainerConfig *cfg = sleeper_cfg(t, "main");
	set_profile(cfg, PT_LOCALHOST, path);
	char *id = start(t, &p, cfg);
	expect_mode(t, id, "2");
	char *out = NULL, *err = NULL;
	int code = -1;
	if (fx_exec(t, id, ARGV("mkdir", "/tmp/critic-seccomp"), 10, &out, &err, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	EXPECT(t, code != 0, "mkdir worked under a profile refusing it");
	EXPECT(t, err && strstr(err, "No space left on device"), "mkdir stderr '%s', want ENOSPC from the profile",
	       err ? chomp(err) : "");
	/* Not the default profile: it would refuse this. */
	char *r = try_syscall(t, id, "personality", NULL);
	EXPECT(t, !strcmp(r, "ok"), "personality: %s, want ok (the file allows it)", r);
}

/* SYS_ADMIN lets the process set the hostname; the profile still refuses. */
static void blocks_sethostname(tst_ctx *t)
{
	need_seccomp(t);
	char *path = profile_file(t, PROFILE_NO_SETHOSTNAME);
	pod_t p = own_pod(t, false);
	Runtime__V1__ContainerConfig *cfg = sleeper_cfg(t, "blocked");
	add_cap(cfg, "SYS_ADMIN");
	set_profile(cfg, PT_LOCALHOST, path);
	char *id = start(t, &p, cfg);
	char *eff = status_field(t, id, "CapEff");
	uint64_t c = strtoull(eff, NULL, 16);
	REQUIRE(t, c & (1ULL << CAP_SYS_ADMIN_BIT), "CapEff %s lacks CAP_SYS_ADMIN", eff);
	char *r = try_syscall(t, id, "sethostname", "critic-blocked");
	EXPECT(t, !strcmp(r, "errno=EPERM"), "sethostname with CAP_SYS_ADMIN: %s, want errno=EPERM", r);
	/* The control: the same capability without the profile may. */
	Runtime__V1__ContainerConfig *free_cfg = sleeper_cfg(t, "control");
	add_cap(free_cfg, "SYS_ADMIN");
	set_profile(free_cfg, PT_UNCONFINED, NULL);
	char *ctl = start(t, &p, free_cfg);
	r = try_syscall(t, ctl, "sethostname", "critic-control");
	EXPECT(t, !strcmp(r, "ok"), "control sethostname with CAP_SYS_ADMIN, unconfined: %s, want ok", r);
}

/* The deprecated seccomp_profile_path takes "localhost/<path>". */
static void deprecated_localhost_path(tst_ctx *t)
{
	need_seccomp(t);
	char *path = profile_file(t, PROFILE_NO_MKDIR);
	pod_t p = shared_pod(t);
	Runtime__V1__ContainerConfig *cfg = sleeper_cfg(t, "main");
	set_deprecated_path(cfg, util_strdup_printf("localhost/%s", path));
	char *id = start(t, &p, cfg);
	expect_mode(t, id, "2");
	char *err = NULL;
	int code = -1;
	if (fx_exec(t, id, ARGV("mkdir", "/tmp/critic-seccomp"), 10, NULL, &err, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	EXPECT(t, code != 0 && err && strstr(err, "No space left on device"),
	       "mkdir exit %d stderr '%s', want ENOSPC from the profile", code, err ? chomp(err) : "");
}

/* A bare path in the deprecated string is not a profile name. */
static void deprecated_without_prefix(tst_ctx *t)
{
	need_seccomp(t);
	char *path = profile_file(t, PROFILE_NO_MKDIR);
	pod_t p = shared_pod(t);
	Runtime__V1__ContainerConfig *cfg = sleeper_cfg(t, "main");
	set_deprecated_path(cfg, path);
	expect_create_refused(t, &p, cfg);
}

/* A Localhost profile whose file does not exist. */
static void localhost_missing_file(tst_ctx *t)
{
	need_seccomp(t);
	char *path = profile_file(t, PROFILE_NO_MKDIR);
	char *missing = util_strdup_printf("%s.absent", path);
	pod_t p = shared_pod(t);
	Runtime__V1__ContainerConfig *cfg = sleeper_cfg(t, "main");
	set_profile(cfg, PT_LOCALHOST, missing);
	expect_create_refused(t, &p, cfg);
}

/* Privileged: no filter, whatever profile was asked for. */
static void privileged_ignores(tst_ctx *t)
{
	need_seccomp(t);
	char *path = profile_file(t, PROFILE_NO_SETHOSTNAME);
	pod_t p = own_pod(t, true);
	Runtime__V1__ContainerConfig *cfg = sleeper_cfg(t, "main");
	ctr_sc(cfg)->privileged = true;
	set_profile(cfg, PT_LOCALHOST, path);
	char *id = start(t, &p, cfg);
	expect_mode(t, id, "0");
	char *r = try_syscall(t, id, "sethostname", "critic-privileged");
	EXPECT(t, !strcmp(r, "ok"), "sethostname in a privileged container: %s, want ok", r);
	r = try_syscall(t, id, "personality", NULL);
	EXPECT(t, !strcmp(r, "ok"), "personality in a privileged container: %s, want ok", r);
}

static const tst_case seccomp_cases[] = {
	{ "seccomp/unconfined", "Unconfined: Seccomp 0, a call the default profile refuses works", unconfined, TST_FIXTURE },
	{ "seccomp/runtime-default", "RuntimeDefault: Seccomp 2, personality(ADDR_NO_RANDOMIZE) fails with EPERM",
	  runtime_default, TST_FIXTURE },
	{ "seccomp/localhost-profile", "Localhost profile file: its own rule (mkdir → ENOSPC) is in force",
	  localhost_profile, TST_FIXTURE },
	{ "seccomp/blocks-sethostname-with-sys-admin",
	  "a profile refusing sethostname wins over CAP_SYS_ADMIN (EPERM); unconfined it works", blocks_sethostname },
	{ "seccomp/deprecated-localhost-path", "seccomp_profile_path \"localhost/<file>\" applies the file",
	  deprecated_localhost_path, TST_FIXTURE },
	{ "seccomp/deprecated-path-without-prefix", "seccomp_profile_path without localhost/: CreateContainer fails",
	  deprecated_without_prefix, TST_FIXTURE },
	{ "seccomp/localhost-missing-file", "Localhost profile that does not exist: CreateContainer fails",
	  localhost_missing_file, TST_FIXTURE },
	{ "seccomp/privileged-ignores-profile", "privileged: no filter (Seccomp 0) despite a blocking profile",
	  privileged_ignores },
};

TST_SUITE_FIXTURE("seccomp", "System call filters (seccomp)", seccomp_cases, fx_pod_fixture)
