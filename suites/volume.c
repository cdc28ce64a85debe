/* volume: host paths mounted into containers (the kubelet's hostPath and
 * emptyDir volumes reach the runtime this way): read-write, read-only,
 * through a symlink, a single file, and as ContainerStatus reports them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fx.h"
#include "util.h"

static void rm_tree(tst_ctx *t, void *arg)
{
	crit_err e;
	if (util_rm_rf(arg, &e) < 0)
		tst_info(t, "could not remove %s: %s", (char *)arg, e.msg);
}

/* A fresh host directory, removed when the test ends (after its
 * containers: cleanups run last-in first-out). */
static char *host_dir(tst_ctx *t)
{
	char *dir = util_strdup_printf("/tmp/critic-vol-XXXXXX");
	if (!mkdtemp(dir))
		tst_fail_now(t, __FILE__, __LINE__, "mkdtemp %s: %s", dir, strerror(errno));
	tst_defer(t, rm_tree, dir);
	return dir;
}

static char *host_path(const char *dir, const char *name)
{
	return util_strdup_printf("%s/%s", dir, name);
}

static void host_write(tst_ctx *t, const char *path, const char *text)
{
	crit_err e;
	if (util_write_file(path, text, strlen(text), 0644, &e) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", e.msg);
}

/* The host file's content, or NULL when it cannot be read. */
static char *host_read(const char *path)
{
	char *data = NULL;
	if (util_read_file(path, &data, NULL, NULL) < 0)
		return NULL;
	return data;
}

static void add_mount(Runtime__V1__ContainerConfig *cfg, const char *container_path, const char *host, bool ro)
{
	Runtime__V1__Mount *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	runtime__v1__mount__init(m);
	m->container_path = util_strdup_printf("%s", container_path);
	m->host_path = util_strdup_printf("%s", host);
	m->readonly = ro;
	cfg->mounts = realloc(cfg->mounts, (cfg->n_mounts + 1) * sizeof *cfg->mounts);
	if (!cfg->mounts)
		abort();
	cfg->mounts[cfg->n_mounts++] = m;
}

/* In the area's shared pod, a long-running container carrying the mounts given. */
static char *run_with(tst_ctx *t, const char *name, void (*mounts)(Runtime__V1__ContainerConfig *, void *), void *arg,
		      Runtime__V1__ContainerConfig **cfgp)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pod_id = fx_shared_pod(t, &pod);
	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, fx_own_name(t, name), "busybox", ARGV("sleep", "3600"));
	mounts(cfg, arg);
	char *id = fx_create_container(t, pod_id, pod, cfg);
	fx_start_container(t, id);
	if (cfgp)
		*cfgp = cfg;
	return id;
}

/* Run cmd in the container; returns its exit code, fills out/err. */
static int exec_in(tst_ctx *t, const char *id, const char *const *cmd, char **out, char **err)
{
	int code = -1;
	if (fx_exec(t, id, cmd, 10, out, err, &code) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	return code;
}

/* The mount options of container_path as the container's /proc/mounts
 * shows them (last entry wins), or NULL. */
static char *mount_opts(tst_ctx *t, const char *id, const char *container_path)
{
	char *out = fx_exec_ok(t, id, ARGV("cat", "/proc/mounts"));
	char *found = NULL;
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dev[256], mp[PATH_MAX], type[64], opts[1024];
		if (sscanf(line, "%255s %4095s %63s %1023s", dev, mp, type, opts) == 4 && !strcmp(mp, container_path)) {
			free(found);
			found = util_strdup_printf("%s", opts);
		}
	}
	return found;
}

static bool opts_have(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	for (const char *p = opts; p && *p;) {
		if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* ContainerStatus must list the mount with the paths and mode it was
 * given. alt_host is another acceptable host_path (a resolved symlink). */
static void expect_status_mount(tst_ctx *t, Runtime__V1__ContainerStatus *st, const char *container_path,
				const char *host, const char *alt_host, bool ro)
{
	Runtime__V1__Mount *m = NULL;
	for (size_t i = 0; i < st->n_mounts; i++)
		if (!strcmp(st->mounts[i]->container_path, container_path))
			m = st->mounts[i];
	if (!m) {
		tst_fail(t, __FILE__, __LINE__, "ContainerStatus.mounts (%zu) lacks %s", st->n_mounts, container_path);
		return;
	}
	EXPECT(t, !strcmp(m->host_path, host) || (alt_host && !strcmp(m->host_path, alt_host)),
	       "mount %s: host_path %s, want %s", container_path, m->host_path, host);
	EXPECT(t, m->readonly == ro, "mount %s: readonly %d, want %d", container_path, m->readonly, ro);
}

/* ------------------------------------------------------------ tests */

typedef struct {
	const char *dir, *file, *link;
} vol_paths;

static void mount_rw(Runtime__V1__ContainerConfig *cfg, void *arg)
{
	vol_paths *p = arg;
	/* A path the image lacks: the runtime creates the mount point. */
	add_mount(cfg, "/critic/vol/rw", p->dir, false);
}

static void host_path_rw(tst_ctx *t)
{
	vol_paths p = { .dir = host_dir(t) };
	char *from_host = host_path(p.dir, "from-host.txt");
	host_write(t, from_host, "written by the host\n");
	char *id = run_with(t, "rw", mount_rw, &p, NULL);

	char *out = fx_exec_ok(t, id, ARGV("cat", "/critic/vol/rw/from-host.txt"));
	EXPECT(t, !strcmp(out, "written by the host\n"), "the container reads '%s'", out);

	char *want = util_strdup_printf("written by container %.12s\n", id);
	char *script = util_strdup_printf("printf '%%s\\n' 'written by container %.12s' > /critic/vol/rw/from-ctr.txt", id);
	fx_exec_ok(t, id, ARGV("sh", "-c", script));
	char *from_ctr = host_path(p.dir, "from-ctr.txt");
	char *got = host_read(from_ctr);
	EXPECT(t, got && !strcmp(got, want), "host reads %s as '%s', want '%s'", from_ctr, got ? got : "(missing)",
	       want);

	/* A bind mount is live: a file the host adds now shows up inside. */
	host_write(t, host_path(p.dir, "late.txt"), "added after the start\n");
	out = fx_exec_ok(t, id, ARGV("cat", "/critic/vol/rw/late.txt"));
	EXPECT(t, !strcmp(out, "added after the start\n"), "the container reads the late file as '%s'", out);

	char *opts = mount_opts(t, id, "/critic/vol/rw");
	EXPECT(t, opts && opts_have(opts, "rw"), "/proc/mounts options of /critic/vol/rw: %s", opts ? opts : "(no mount)");
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	expect_status_mount(t, st->status, "/critic/vol/rw", p.dir, NULL, false);
	cri_free(st);
}

static void mount_ro(Runtime__V1__ContainerConfig *cfg, void *arg)
{
	add_mount(cfg, "/mnt/ro", ((vol_paths *)arg)->dir, true);
}

static void host_path_ro(tst_ctx *t)
{
	vol_paths p = { .dir = host_dir(t) };
	char *keep = host_path(p.dir, "keep.txt");
	host_write(t, keep, "original\n");
	char *id = run_with(t, "ro", mount_ro, &p, NULL);

	char *out = fx_exec_ok(t, id, ARGV("cat", "/mnt/ro/keep.txt"));
	EXPECT(t, !strcmp(out, "original\n"), "the container reads '%s'", out);
	const char *const *writes[] = {
		ARGV("sh", "-c", "echo changed > /mnt/ro/keep.txt"),
		ARGV("touch", "/mnt/ro/new.txt"),
		ARGV("mkdir", "/mnt/ro/newdir"),
		ARGV("rm", "/mnt/ro/keep.txt"),
	};
	for (size_t i = 0; i < ARRAY_SIZE(writes); i++) {
		char *err = NULL;
		int code = exec_in(t, id, writes[i], NULL, &err);
		const char *what = writes[i][0][0] == 's' ? writes[i][2] : writes[i][0];
		EXPECT(t, code != 0, "'%s' on a read-only mount exited 0", what);
		EXPECT(t, strstr(err, "Read-only file system") != NULL, "'%s' failed without EROFS: %s", what, err);
	}
	char *got = host_read(keep);
	EXPECT(t, got && !strcmp(got, "original\n"), "host file changed to '%s'", got ? got : "(missing)");
	EXPECT(t, !util_exists(host_path(p.dir, "new.txt")), "new.txt appeared on the host");
	EXPECT(t, !util_exists(host_path(p.dir, "newdir")), "newdir appeared on the host");

	char *opts = mount_opts(t, id, "/mnt/ro");
	EXPECT(t, opts && opts_have(opts, "ro"), "/proc/mounts options of /mnt/ro: %s", opts ? opts : "(no mount)");
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	expect_status_mount(t, st->status, "/mnt/ro", p.dir, NULL, true);
	cri_free(st);
}

static void mount_link(Runtime__V1__ContainerConfig *cfg, void *arg)
{
	add_mount(cfg, "/mnt/link", ((vol_paths *)arg)->link, false);
}

static void host_path_symlink(tst_ctx *t)
{
	char *dir = host_dir(t);
	char *target = host_path(dir, "target");
	char *link = host_path(dir, "link");
	REQUIRE(t, mkdir(target, 0755) == 0, "mkdir %s: %s", target, strerror(errno));
	REQUIRE(t, symlink(target, link) == 0, "symlink %s: %s", link, strerror(errno));
	host_write(t, host_path(target, "inside.txt"), "content of the target\n");
	vol_paths p = { .dir = dir, .link = link };
	char *id = run_with(t, "symlink", mount_link, &p, NULL);

	/* The mount follows the link: the container sees the target's files
	 * in a directory, not a dangling link to a host path. */
	char *out = fx_exec_ok(t, id, ARGV("cat", "/mnt/link/inside.txt"));
	EXPECT(t, !strcmp(out, "content of the target\n"), "the container reads '%s'", out);
	char *err = NULL;
	int code = exec_in(t, id, ARGV("sh", "-c", "test -d /mnt/link && ! test -L /mnt/link"), NULL, &err);
	EXPECT(t, code == 0, "/mnt/link is not a plain directory in the container");
	fx_exec_ok(t, id, ARGV("sh", "-c", "echo back > /mnt/link/back.txt"));
	char *got = host_read(host_path(target, "back.txt"));
	EXPECT(t, got && !strcmp(got, "back\n"), "a file written through the link reads '%s' in the target",
	       got ? got : "(missing)");

	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	/* The CRI does not say whether host_path is reported as given or
	 * resolved: accept both. */
	expect_status_mount(t, st->status, "/mnt/link", link, target, false);
	cri_free(st);
}

static void mount_file(Runtime__V1__ContainerConfig *cfg, void *arg)
{
	add_mount(cfg, "/etc/critic-volume.conf", ((vol_paths *)arg)->file, true);
}

static void host_path_file(tst_ctx *t)
{
	char *dir = host_dir(t);
	vol_paths p = { .dir = dir, .file = host_path(dir, "one.conf") };
	host_write(t, p.file, "key = value\n");
	char *id = run_with(t, "file", mount_file, &p, NULL);
	char *out = fx_exec_ok(t, id, ARGV("cat", "/etc/critic-volume.conf"));
	EXPECT(t, !strcmp(out, "key = value\n"), "the container reads '%s'", out);
	char *err = NULL;
	int code = exec_in(t, id, ARGV("sh", "-c", "test -f /etc/critic-volume.conf && ! test -d /etc/critic-volume.conf"),
			   NULL, &err);
	EXPECT(t, code == 0, "/etc/critic-volume.conf is not a regular file in the container");
	code = exec_in(t, id, ARGV("sh", "-c", "echo other > /etc/critic-volume.conf"), NULL, &err);
	EXPECT(t, code != 0 && strstr(err, "Read-only file system"), "writing the read-only file: exit %d, %s", code,
	       err);
	char *got = host_read(p.file);
	EXPECT(t, got && !strcmp(got, "key = value\n"), "host file changed to '%s'", got ? got : "(missing)");
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	expect_status_mount(t, st->status, "/etc/critic-volume.conf", p.file, NULL, true);
	cri_free(st);
}

static void mount_all(Runtime__V1__ContainerConfig *cfg, void *arg)
{
	vol_paths *p = arg;
	add_mount(cfg, "/mnt/a", p->dir, false);
	add_mount(cfg, "/mnt/b", p->dir, true);
	add_mount(cfg, "/mnt/c", p->link, true);
	add_mount(cfg, "/mnt/d.txt", p->file, false);
}

static void status_mounts(tst_ctx *t)
{
	char *dir = host_dir(t);
	char *target = host_path(dir, "target");
	REQUIRE(t, mkdir(target, 0755) == 0, "mkdir %s: %s", target, strerror(errno));
	vol_paths p = { .dir = target, .link = host_path(dir, "link"), .file = host_path(dir, "f.txt") };
	REQUIRE(t, symlink(target, p.link) == 0, "symlink %s: %s", p.link, strerror(errno));
	host_write(t, p.file, "f\n");
	Runtime__V1__ContainerConfig *cfg;
	char *id = run_with(t, "mounts", mount_all, &p, &cfg);
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	/* Each requested mount, field by field; the runtime may add its own
	 * (none of them at these paths). */
	EXPECT(t, st->status->n_mounts >= cfg->n_mounts, "ContainerStatus lists %zu mounts, %zu were requested",
	       st->status->n_mounts, cfg->n_mounts);
	expect_status_mount(t, st->status, "/mnt/a", target, NULL, false);
	expect_status_mount(t, st->status, "/mnt/b", target, NULL, true);
	expect_status_mount(t, st->status, "/mnt/c", p.link, target, true);
	expect_status_mount(t, st->status, "/mnt/d.txt", p.file, NULL, false);
	for (size_t i = 0; i < st->status->n_mounts; i++) {
		Runtime__V1__Mount *m = st->status->mounts[i];
		int n = 0;
		for (size_t j = 0; j < st->status->n_mounts; j++)
			n += !strcmp(st->status->mounts[j]->container_path, m->container_path);
		EXPECT(t, n == 1, "ContainerStatus lists %s %d times", m->container_path, n);
	}
	cri_free(st);
	/* The same directory twice, once rw and once ro, really differs. */
	char *err = NULL;
	EXPECT(t, exec_in(t, id, ARGV("touch", "/mnt/a/ok"), NULL, &err) == 0, "touch in the rw mount: %s", err);
	EXPECT(t, exec_in(t, id, ARGV("touch", "/mnt/b/no"), NULL, &err) != 0, "touch in the ro mount of the same dir worked");
	char *out = fx_exec_ok(t, id, ARGV("ls", "/mnt/b"));
	EXPECT(t, strstr(out, "ok") != NULL, "the ro mount does not show the file the rw mount made: %s", out);
}

static const tst_case volume_cases[] = {
	{ "volume/host-path-rw", "a read-write host dir: both sides see each other's files, exact content",
	  host_path_rw, TST_FIXTURE },
	{ "volume/host-path-ro", "a read-only host dir: writes fail with EROFS, the host file is unchanged",
	  host_path_ro, TST_FIXTURE },
	{ "volume/host-path-symlink", "a host path that is a symlink to a dir mounts the target's content",
	  host_path_symlink, TST_FIXTURE },
	{ "volume/host-path-file", "a single host file mounted read-only is a readable, unwritable file",
	  host_path_file, TST_FIXTURE },
	{ "volume/status-mounts", "ContainerStatus lists every mount with container_path, host_path, readonly",
	  status_mounts, TST_FIXTURE },
};
TST_SUITE_FIXTURE("volume", "Host path volumes", volume_cases, fx_pod_fixture)
