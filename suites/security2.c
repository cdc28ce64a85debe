/* security2: the rest of the Linux security context: AppArmor and SELinux
 * labels (where the kernel has them), pod sysctls, and mount propagation
 * between a host directory of critic's and the container. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fx.h"
#include "nodecaps.h"
#include "util.h"

#define HELPER "/usr/local/bin/critic-helper"
#define SLEEPER ARGV(HELPER, "sleep", "forever")

static Runtime__V1__LinuxContainerSecurityContext *ctr_sc(Runtime__V1__ContainerConfig *cfg)
{
	return cfg->linux_->security_context;
}

static char *chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int exec_rc(tst_ctx *t, const char *id, const char *const *cmd)
{
	int code = -1;
	if (fx_exec(t, id, cmd, 10, NULL, NULL, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	return code;
}

static nodecaps probe(tst_ctx *t)
{
	nodecaps nc;
	crit_err e;
	if (nodecaps_probe("", &nc, &e) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", e.msg);
	return nc;
}

/* A pod (privileged or not) and one sleeping container shaped by tweak. */
static char *run_one(tst_ctx *t, bool privileged, void (*tweak)(Runtime__V1__ContainerConfig *, void *), void *arg)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "sec2");
	pod->linux_->security_context->privileged = privileged;
	char *pod_id = fx_run_pod(t, pod);
	Runtime__V1__ContainerConfig *cfg = fx_container_config(t, "main", "busybox", SLEEPER);
	ctr_sc(cfg)->privileged = privileged;
	if (tweak)
		tweak(cfg, arg);
	char *id = fx_create_container(t, pod_id, pod, cfg);
	fx_start_container(t, id);
	return id;
}

/* The LSM label of the container's pid 1. */
static char *label_of(tst_ctx *t, const char *id)
{
	return chomp(fx_exec_ok(t, id, ARGV("cat", "/proc/1/attr/current")));
}

/* ---- AppArmor ---- */

static void set_apparmor(Runtime__V1__ContainerConfig *cfg, void *arg)
{
	Runtime__V1__SecurityProfile *sp = calloc(1, sizeof *sp);
	if (!sp)
		abort();
	runtime__v1__security_profile__init(sp);
	sp->profile_type = *(Runtime__V1__SecurityProfile__ProfileType *)arg;
	ctr_sc(cfg)->apparmor = sp;
}

static void apparmor_default(tst_ctx *t)
{
	nodecaps nc = probe(t);
	if (!nc.apparmor.ok)
		tst_skip(t, "%s", nc.apparmor.why);
	Runtime__V1__SecurityProfile__ProfileType pt = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__RuntimeDefault;
	char *id = run_one(t, false, set_apparmor, &pt);
	char *label = label_of(t, id);
	EXPECT(t, strcmp(label, "unconfined") && strstr(label, "(enforce)"),
	       "pid 1 AppArmor label '%s', want the runtime's profile in enforce mode", label);
	tst_info(t, "label: %s", label);
}

static void apparmor_unconfined(tst_ctx *t)
{
	nodecaps nc = probe(t);
	if (!nc.apparmor.ok)
		tst_skip(t, "%s", nc.apparmor.why);
	Runtime__V1__SecurityProfile__ProfileType pt = RUNTIME__V1__SECURITY_PROFILE__PROFILE_TYPE__Unconfined;
	char *id = run_one(t, false, set_apparmor, &pt);
	char *label = label_of(t, id);
	EXPECT(t, !strcmp(label, "unconfined"), "pid 1 AppArmor label '%s', want unconfined", label);
}

/* ---- SELinux ---- */

#define SELINUX_LEVEL "s0:c123,c456"

static void set_selinux(Runtime__V1__ContainerConfig *cfg, void *arg)
{
	(void)arg;
	Runtime__V1__SELinuxOption *o = calloc(1, sizeof *o);
	if (!o)
		abort();
	runtime__v1__selinux_option__init(o);
	o->level = SELINUX_LEVEL;
	ctr_sc(cfg)->selinux_options = o;
}

static void selinux_level(tst_ctx *t)
{
	nodecaps nc = probe(t);
	if (!nc.selinux.ok)
		tst_skip(t, "%s", nc.selinux.why);
	char *id = run_one(t, false, set_selinux, NULL);
	char *label = label_of(t, id);
	size_t ll = strlen(label), wl = strlen(":" SELINUX_LEVEL);
	EXPECT(t, ll > wl && !strcmp(label + ll - wl, ":" SELINUX_LEVEL), "pid 1 SELinux label '%s', want level %s",
	       label, SELINUX_LEVEL);
	tst_info(t, "label: %s (%s)", label, nc.selinux.why);
}

/* ---- sysctls ---- */

typedef struct {
	const char *name;  /* net.core.somaxconn */
	const char *alt[2];/* candidate values: the first that differs from the host's */
	char *want, *host;
} sysctl_case;

static char *proc_sys_path(const char *name)
{
	char *p = util_strdup_printf("/proc/sys/%s", name);
	for (char *c = p + strlen("/proc/sys/"); *c; c++)
		if (*c == '.')
			*c = '/';
	return p;
}

static char *host_sysctl(tst_ctx *t, const char *name)
{
	cleanup_free char *p = proc_sys_path(name);
	char *v = NULL;
	crit_err e;
	if (util_read_file(p, &v, NULL, &e) < 0)
		tst_skip(t, "%s is not on this kernel (%s)", name, e.msg);
	return chomp(v);
}

/* A pod with the sysctls set, one container in its namespaces; each value
 * is read inside and the host's must not have moved. */
static void sysctls_applied(tst_ctx *t, sysctl_case *sc, size_t n)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "sysctl");
	Runtime__V1__LinuxPodSandboxConfig *lx = pod->linux_;
	lx->sysctls = calloc(n, sizeof *lx->sysctls);
	if (!lx->sysctls)
		abort();
	for (size_t i = 0; i < n; i++) {
		sc[i].host = host_sysctl(t, sc[i].name);
		sc[i].want = (char *)(strcmp(sc[i].host, sc[i].alt[0]) ? sc[i].alt[0] : sc[i].alt[1]);
		Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry *en = calloc(1, sizeof *en);
		if (!en)
			abort();
		runtime__v1__linux_pod_sandbox_config__sysctls_entry__init(en);
		en->key = (char *)sc[i].name;
		en->value = sc[i].want;
		lx->sysctls[lx->n_sysctls++] = en;
	}
	char *pod_id = fx_run_pod(t, pod);
	char *id = fx_run_container(t, pod_id, pod, "main", SLEEPER);
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *p = proc_sys_path(sc[i].name);
		char *in = chomp(fx_exec_ok(t, id, ARGV("cat", p)));
		EXPECT(t, !strcmp(in, sc[i].want), "%s in the pod: '%s', want '%s'", sc[i].name, in, sc[i].want);
		char *now = host_sysctl(t, sc[i].name);
		EXPECT(t, !strcmp(now, sc[i].host), "%s on the host moved from '%s' to '%s'", sc[i].name, sc[i].host,
		       now);
	}
}

/* The kubelet's safe set: IPC- and network-namespaced. */
static void sysctl_safe(tst_ctx *t)
{
	sysctl_case sc[] = {
		{ "kernel.shm_rmid_forced", { "1", "0" }, NULL, NULL },
		{ "net.ipv4.ip_unprivileged_port_start", { "1000", "1001" }, NULL, NULL },
	};
	sysctls_applied(t, sc, ARRAY_SIZE(sc));
}

/* Namespaced but outside the kubelet's safe set (a cluster must allow
 * them); the runtime applies them all the same. */
static void sysctl_unsafe(tst_ctx *t)
{
	sysctl_case sc[] = {
		{ "net.core.somaxconn", { "1111", "1112" }, NULL, NULL },
		{ "kernel.msgmax", { "16384", "16385" }, NULL, NULL },
	};
	sysctls_applied(t, sc, ARRAY_SIZE(sc));
}

/* ---- mount propagation ---- */

#define PROP_DIR "/mnt/critic-prop"

typedef struct {
	char *dir;         /* critic's host directory, a shared bind mount of itself */
	char *from_host;   /* dir/from-host: critic mounts a tmpfs here after start */
	char *from_ctr;    /* dir/from-ctr: the container mounts one here */
} prop_dirs;

static void rm_tree(tst_ctx *t, void *arg)
{
	crit_err e;
	if (util_rm_rf(arg, &e) < 0)
		tst_info(t, "could not remove %s: %s", (char *)arg, e.msg);
}

/* Detach the mount at path and whatever is beneath it (only mounts critic made). */
static void umount_path(tst_ctx *t, void *arg)
{
	if (umount2(arg, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		tst_info(t, "umount %s: %s", (char *)arg, strerror(errno));
}

/* Is path a mount point in critic's own mount namespace? */
static bool host_mounted(tst_ctx *t, const char *path)
{
	char *mi = NULL;
	crit_err e;
	if (util_read_file("/proc/self/mountinfo", &mi, NULL, &e) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", e.msg);
	bool found = false;
	char *save = NULL;
	for (char *l = strtok_r(mi, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
		char mnt[4096];
		if (sscanf(l, "%*s %*s %*s %*s %4095s", mnt) == 1 && !strcmp(mnt, path))
			found = true;
	}
	free(mi);
	return found;
}

static prop_dirs prop_setup(tst_ctx *t)
{
	prop_dirs d;
	d.dir = util_strdup_printf("/tmp/critic-prop-XXXXXX");
	if (!mkdtemp(d.dir))
		tst_fail_now(t, __FILE__, __LINE__, "mkdtemp %s: %s", d.dir, strerror(errno));
	tst_defer(t, rm_tree, d.dir);
	d.from_host = util_strdup_printf("%s/from-host", d.dir);
	d.from_ctr = util_strdup_printf("%s/from-ctr", d.dir);
	REQUIRE(t, mkdir(d.from_host, 0755) == 0 && mkdir(d.from_ctr, 0755) == 0, "mkdir in %s: %s", d.dir,
		strerror(errno));
	/* Propagation needs a shared source mount; critic's directory becomes
	 * one of its own, so no mount of the node's changes. */
	if (mount(d.dir, d.dir, NULL, MS_BIND, NULL) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "bind %s: %s", d.dir, strerror(errno));
	tst_defer(t, umount_path, d.dir);
	if (mount(NULL, d.dir, NULL, MS_SHARED | MS_REC, NULL) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "make-rshared %s: %s", d.dir, strerror(errno));
	return d;
}

/* A tmpfs at path holding a marker file. */
static void host_tmpfs(tst_ctx *t, const char *path)
{
	if (mount("critic-prop", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755") < 0)
		tst_fail_now(t, __FILE__, __LINE__, "mount tmpfs on %s: %s", path, strerror(errno));
	tst_defer(t, umount_path, (void *)path);
	cleanup_free char *marker = util_strdup_printf("%s/marker", path);
	crit_err e;
	if (util_write_file(marker, "critic\n", 7, 0644, &e) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", e.msg);
}

typedef struct {
	const char *host;
	Runtime__V1__MountPropagation prop;
} prop_mount;

static void add_prop_mount(Runtime__V1__ContainerConfig *cfg, void *arg)
{
	prop_mount *pm = arg;
	Runtime__V1__Mount *m = calloc(1, sizeof *m);
	Runtime__V1__Mount **list = calloc(1, sizeof *list);
	if (!m || !list)
		abort();
	runtime__v1__mount__init(m);
	m->container_path = PROP_DIR;
	m->host_path = (char *)pm->host;
	m->propagation = pm->prop;
	list[0] = m;
	cfg->mounts = list;
	cfg->n_mounts = 1;
}

/* Does the container see the host's tmpfs under its mount? */
static bool ctr_sees_host_mount(tst_ctx *t, const char *id)
{
	char *mounts = fx_exec_ok(t, id, ARGV("cat", "/proc/mounts"));
	bool listed = strstr(mounts, " " PROP_DIR "/from-host ") != NULL;
	bool marker = exec_rc(t, id, ARGV("test", "-f", PROP_DIR "/from-host/marker")) == 0;
	EXPECT(t, listed == marker, "/proc/mounts %s the tmpfs but the marker is %s", listed ? "lists" : "lacks",
	       marker ? "there" : "absent");
	return listed && marker;
}

static char *prop_ctr(tst_ctx *t, prop_dirs *d, Runtime__V1__MountPropagation prop, bool privileged)
{
	prop_mount pm = { d->dir, prop };
	char *id = run_one(t, privileged, add_prop_mount, &pm);
	/* After the container started: only propagation can carry it in. */
	host_tmpfs(t, d->from_host);
	return id;
}

static void prop_private(tst_ctx *t)
{
	prop_dirs d = prop_setup(t);
	char *id = prop_ctr(t, &d, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_PRIVATE, false);
	EXPECT(t, !ctr_sees_host_mount(t, id), "a host mount made after start reached a PRIVATE mount");
	char *mounts = fx_exec_ok(t, id, ARGV("cat", "/proc/mounts"));
	EXPECT(t, strstr(mounts, " " PROP_DIR " ") != NULL, "%s is not mounted in the container", PROP_DIR);
}

static void prop_host_to_container(tst_ctx *t)
{
	prop_dirs d = prop_setup(t);
	char *id = prop_ctr(t, &d, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_HOST_TO_CONTAINER, false);
	EXPECT(t, ctr_sees_host_mount(t, id), "a host mount made after start did not reach a HOST_TO_CONTAINER mount");
}

static void prop_bidirectional(tst_ctx *t)
{
	prop_dirs d = prop_setup(t);
	char *id = prop_ctr(t, &d, RUNTIME__V1__MOUNT_PROPAGATION__PROPAGATION_BIDIRECTIONAL, true);
	EXPECT(t, ctr_sees_host_mount(t, id), "a host mount made after start did not reach a BIDIRECTIONAL mount");
	/* The way back: the container's mount must show on the host. Detach
	 * it there however the test ends. */
	tst_defer(t, umount_path, d.from_ctr);
	char *err = NULL;
	int code = -1;
	if (fx_exec(t, id,
		    ARGV("sh", "-c",
			 "mount -t tmpfs -o size=1m critic-prop " PROP_DIR "/from-ctr && echo critic > " PROP_DIR
			 "/from-ctr/marker"),
		    10, NULL, &err, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	REQUIRE(t, code == 0, "mount inside the privileged container failed (%d): %s", code, err ? chomp(err) : "");
	cleanup_free char *marker = util_strdup_printf("%s/marker", d.from_ctr);
	EXPECT(t, host_mounted(t, d.from_ctr), "the container's mount is not at %s on the host", d.from_ctr);
	EXPECT(t, util_exists(marker), "the container's file %s is not seen on the host", marker);
}

static const tst_case apparmor_cases[] = {
	{ "apparmor/runtime-default", "AppArmor RuntimeDefault: pid 1 runs under an enforcing profile",
	  apparmor_default },
	{ "apparmor/unconfined", "AppArmor Unconfined: pid 1 is unconfined", apparmor_unconfined },
};
TST_SUITE("apparmor", "AppArmor profiles (where the kernel has AppArmor)", apparmor_cases)

static const tst_case selinux_cases[] = {
	{ "selinux/level", "SELinux options: pid 1's label carries the requested level", selinux_level },
};
TST_SUITE("selinux", "SELinux labels (where the kernel has SELinux)", selinux_cases)

static const tst_case sysctl_cases[] = {
	{ "sysctl/safe", "pod sysctls kernel.shm_rmid_forced, net.ipv4.ip_unprivileged_port_start: set inside, host unchanged",
	  sysctl_safe },
	{ "sysctl/unsafe", "pod sysctls net.core.somaxconn, kernel.msgmax: set inside, host unchanged", sysctl_unsafe },
};
TST_SUITE("sysctl", "Namespaced sysctls of the pod", sysctl_cases)

static const tst_case propagation_cases[] = {
	{ "propagation/private", "PRIVATE: a host mount made after start stays out of the container", prop_private,
	  TST_NEED_ROOT },
	{ "propagation/host-to-container", "HOST_TO_CONTAINER (rslave): a later host mount shows inside",
	  prop_host_to_container, TST_NEED_ROOT },
	{ "propagation/bidirectional",
	  "BIDIRECTIONAL (rshared, privileged): host mounts show inside, the container's show on the host",
	  prop_bidirectional, TST_NEED_ROOT },
};
TST_SUITE("propagation", "Mount propagation between host and container", propagation_cases)
