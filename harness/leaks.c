#include "leaks.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri.h"
#include "endpoint.h"
#include "lab.h"
#include "profile.h"
#include "util.h"

#define CGROUP_MAX_DEPTH 6
#define MIN_ID_MATCH 12 /* shortest id prefix that names an object */

static const char *const kind_names[] = { "mount", "netns", "ipam", "cgroup", "shim" };

const char *leaks_kind_name(leaks_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

/* ------------------------------------------------------------ paths */

static void add_dir(char dirs[][PATH_MAX], int *n, const char *d)
{
	if (!d || !*d || *n >= LEAKS_MAX_DIRS)
		return;
	for (int i = 0; i < *n; i++)
		if (!strcmp(dirs[i], d))
			return;
	snprintf(dirs[(*n)++], PATH_MAX, "%s", d);
}

void leaks_paths_default(leaks_paths *p)
{
	memset(p, 0, sizeof *p);
	/* containerd's defaults: root /var/lib/containerd, state /run/containerd */
	add_dir(p->mount_prefixes, &p->n_mount_prefixes, "/var/lib/containerd/");
	add_dir(p->mount_prefixes, &p->n_mount_prefixes, "/run/containerd/");
	snprintf(p->shim_match, sizeof p->shim_match, "/run/containerd/containerd.sock");
}

void leaks_paths_for_lab(leaks_paths *p, const lab_info *lab)
{
	memset(p, 0, sizeof *p);
	char d[PATH_MAX];
	const char *root = lab->root[0] ? lab->root : NULL, *state = lab->state[0] ? lab->state : NULL;
	if (root) {
		snprintf(d, sizeof d, "%.4000s/", root);
		add_dir(p->mount_prefixes, &p->n_mount_prefixes, d);
	}
	if (state) {
		snprintf(d, sizeof d, "%.4000s/", state);
		add_dir(p->mount_prefixes, &p->n_mount_prefixes, d);
	}
	if (!root && !state) { /* a lab not started yet: everything below its dir */
		snprintf(d, sizeof d, "%.4000s/", lab->dir);
		add_dir(p->mount_prefixes, &p->n_mount_prefixes, d);
	}
	snprintf(d, sizeof d, "%.4000s/cni/ipam", lab->dir); /* lab.c's host-local dataDir */
	add_dir(p->ipam_dirs, &p->n_ipam_dirs, d);
	/* The lab's shims name its dir in their -address and -bundle. */
	snprintf(p->shim_match, sizeof p->shim_match, "%.4000s/", lab->dir);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

int leaks_paths_from_runtime(leaks_paths *p, cri_conn *c, crit_err *e)
{
	leaks_paths_default(p);
	char *json = NULL;
	int rc = prof_running_config(prof_get(PROF_CONTAINERD), c, 0, &json, e);
	if (rc < 0)
		return rc;
	json_object *o = json_tokener_parse(json);
	free(json);
	if (!o)
		return err_set(e, -ERR_DECODE, "verbose Status: its config is not JSON");
	const char *root = jstr(o, "containerdRootDir"), *state = jstr(o, "stateDir"),
		   *addr = jstr(o, "containerdEndpoint");
	char d[PATH_MAX];
	if (root || state) {
		p->n_mount_prefixes = 0;
		if (root) {
			snprintf(d, sizeof d, "%.4000s/", root);
			add_dir(p->mount_prefixes, &p->n_mount_prefixes, d);
		}
		if (state) {
			/* stateDir is the CRI plugin's (/run/containerd/io.containerd.grpc.v1.cri);
			 * task bundles and rootfs mounts sit beside it, one level up. */
			char tmp[PATH_MAX];
			snprintf(tmp, sizeof tmp, "%s", state);
			snprintf(d, sizeof d, "%.4000s/", dirname(tmp));
			add_dir(p->mount_prefixes, &p->n_mount_prefixes, d);
		}
	}
	if (addr)
		snprintf(p->shim_match, sizeof p->shim_match, "%s", addr);
	json_object_put(o);
	return 0;
}

/* ------------------------------------------------------------ scanning */

static int add_item(leaks_snap *s, leaks_kind k, const char *id, const char *where, const char *detail)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		leaks_item *n = realloc(s->items, cap * sizeof *n);
		if (!n)
			return -ENOMEM;
		s->items = n;
		s->cap = cap;
	}
	leaks_item *it = &s->items[s->n++];
	memset(it, 0, sizeof *it);
	it->kind = k;
	snprintf(it->id, sizeof it->id, "%s", id ? id : "");
	snprintf(it->where, sizeof it->where, "%s", where);
	snprintf(it->detail, sizeof it->detail, "%s", detail ? detail : "");
	return 0;
}

void leaks_snap_free(leaks_snap *s)
{
	free(s->items);
	memset(s, 0, sizeof *s);
}

/* The first run of exactly 64 hex digits in s (containerd's ids). */
static bool find_id(const char *s, char out[LEAKS_ID_LEN + 1])
{
	for (const char *p = s; *p;) {
		if (!isxdigit((unsigned char)*p)) {
			p++;
			continue;
		}
		const char *q = p;
		while (isxdigit((unsigned char)*q))
			q++;
		if (q - p == LEAKS_ID_LEN) {
			memcpy(out, p, LEAKS_ID_LEN);
			out[LEAKS_ID_LEN] = '\0';
			return true;
		}
		p = q;
	}
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static int scan_mounts(const leaks_paths *p, leaks_snap *s, crit_err *e)
{
	if (!p->n_mount_prefixes)
		return 0;
	const char *path = p->mountinfo ? p->mountinfo : "/proc/self/mountinfo";
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return err_set(e, -errno, "leaks: read %s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		/* id parent major:minor root MOUNT-POINT options ... - fstype source */
		char *sv = NULL, *tok = strtok_r(line, " ", &sv);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &sv);
		if (!tok)
			continue;
		unescape(tok);
		bool under = false;
		for (int i = 0; i < p->n_mount_prefixes && !under; i++)
			under = util_has_prefix(tok, p->mount_prefixes[i]);
		if (!under)
			continue;
		char id[LEAKS_ID_LEN + 1] = "";
		find_id(tok, id);
		rc = add_item(s, LEAK_MOUNT, id, tok, NULL);
	}
	free(line);
	return rc;
}

/* Inodes of the network namespaces processes are in (/proc/PID/ns/net). */
typedef struct ino_set {
	ino_t *v;
	size_t n, cap;
} ino_set;

static void proc_netns(const char *proc_root, ino_set *set)
{
	DIR *d = opendir(proc_root);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s/ns/net", proc_root, de->d_name);
		struct stat st;
		if (stat(path, &st) < 0)
			continue;
		bool seen = false;
		for (size_t i = 0; i < set->n && !seen; i++)
			seen = set->v[i] == st.st_ino;
		if (seen)
			continue;
		if (set->n == set->cap) {
			size_t cap = set->cap ? set->cap * 2 : 64;
			ino_t *n = realloc(set->v, cap * sizeof *n);
			if (!n)
				break;
			set->v = n;
			set->cap = cap;
		}
		set->v[set->n++] = st.st_ino;
	}
	closedir(d);
}

static int scan_netns(const leaks_paths *p, leaks_snap *s)
{
	static const char *const dflt[] = { "/run/netns", "/var/run/netns" };
	const char *dirs[LEAKS_MAX_DIRS + 2];
	int nd = 0;
	if (p->n_netns_dirs)
		for (int i = 0; i < p->n_netns_dirs; i++)
			dirs[nd++] = p->netns_dirs[i];
	else
		for (size_t i = 0; i < ARRAY_SIZE(dflt); i++)
			dirs[nd++] = dflt[i];
	ino_set used = { 0 };
	proc_netns(p->proc_root ? p->proc_root : "/proc", &used);
	/* /var/run is /run on most systems: one dir counted once. */
	dev_t seen_dev[LEAKS_MAX_DIRS + 2];
	ino_t seen_ino[LEAKS_MAX_DIRS + 2];
	int n_seen = 0, rc = 0;
	for (int i = 0; i < nd && rc == 0; i++) {
		struct stat dst;
		if (stat(dirs[i], &dst) < 0)
			continue;
		bool dup = false;
		for (int j = 0; j < n_seen; j++)
			dup = dup || (seen_dev[j] == dst.st_dev && seen_ino[j] == dst.st_ino);
		if (dup)
			continue;
		seen_dev[n_seen] = dst.st_dev;
		seen_ino[n_seen++] = dst.st_ino;
		DIR *d = opendir(dirs[i]);
		if (!d)
			continue;
		struct dirent *de;
		while (rc == 0 && (de = readdir(d))) {
			if (!util_has_prefix(de->d_name, "cni-"))
				continue;
			char path[PATH_MAX];
			snprintf(path, sizeof path, "%s/%s", dirs[i], de->d_name);
			struct stat st;
			bool in_use = false;
			/* A live netns file is nsfs bind-mounted: its inode is the
			 * namespace's, which a process inside shows too. */
			if (stat(path, &st) == 0)
				for (size_t k = 0; k < used.n && !in_use; k++)
					in_use = used.v[k] == st.st_ino;
			rc = add_item(s, LEAK_NETNS, "", path, in_use ? "a process is in it" : "no process is in it");
			if (rc == 0)
				s->items[s->n - 1].in_use = in_use;
		}
		closedir(d);
	}
	free(used.v);
	return rc;
}

static bool ipam_skip(const char *name)
{
	return name[0] == '.' || !strcmp(name, "lock") || util_has_prefix(name, "last_reserved_ip");
}

static int scan_ipam(const leaks_paths *p, leaks_snap *s)
{
	const char *dflt = "/var/lib/cni/networks";
	int n = p->n_ipam_dirs ? p->n_ipam_dirs : 1;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const char *base = p->n_ipam_dirs ? p->ipam_dirs[i] : dflt;
		DIR *d = opendir(base);
		if (!d)
			continue;
		struct dirent *net;
		while (rc == 0 && (net = readdir(d))) {
			if (net->d_name[0] == '.')
				continue;
			char nd[PATH_MAX];
			snprintf(nd, sizeof nd, "%s/%s", base, net->d_name);
			DIR *dd = opendir(nd);
			if (!dd)
				continue;
			struct dirent *ip;
			while (rc == 0 && (ip = readdir(dd))) {
				if (ipam_skip(ip->d_name))
					continue;
				char path[PATH_MAX], buf[256] = "";
				snprintf(path, sizeof path, "%.3800s/%.255s", nd, ip->d_name);
				cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0)
					continue;
				ssize_t r = read(fd, buf, sizeof buf - 1);
				buf[r > 0 ? r : 0] = '\0';
				/* host-local: the container (sandbox) id, then the interface */
				buf[strcspn(buf, "\r\n")] = '\0';
				char detail[256];
				snprintf(detail, sizeof detail, "network %.200s", net->d_name);
				rc = add_item(s, LEAK_IPAM, buf, path, detail);
			}
			closedir(dd);
		}
		closedir(d);
	}
	return rc;
}

/* One cgroup path below the hierarchies, and in which ones it is. */
static int cgroup_add(leaks_snap *s, const char *rel, const char *id, const char *hier)
{
	for (size_t i = 0; i < s->n; i++) {
		leaks_item *it = &s->items[i];
		if (it->kind == LEAK_CGROUP && !strcmp(it->where, rel)) {
			size_t l = strlen(it->detail);
			if (l + strlen(hier) + 3 < sizeof it->detail)
				snprintf(it->detail + l, sizeof it->detail - l, ", %s", hier);
			return 0;
		}
	}
	return add_item(s, LEAK_CGROUP, id, rel, hier);
}

static int walk_cgroup(leaks_snap *s, const char *hier, const char *abs, const char *rel, int depth)
{
	DIR *d = opendir(abs);
	if (!d)
		return 0;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		char a[PATH_MAX], r[PATH_MAX];
		snprintf(a, sizeof a, "%s/%s", abs, de->d_name);
		snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		struct stat st;
		if (de->d_type == DT_UNKNOWN && (stat(a, &st) < 0 || !S_ISDIR(st.st_mode)))
			continue;
		char id[LEAKS_ID_LEN + 1];
		if (find_id(de->d_name, id))
			rc = cgroup_add(s, r, id, hier); /* a container's own cgroup: not deeper */
		else if (depth < CGROUP_MAX_DEPTH)
			rc = walk_cgroup(s, hier, a, r, depth + 1);
	}
	closedir(d);
	return rc;
}

static int scan_cgroups(const leaks_paths *p, leaks_snap *s)
{
	if (p->no_cgroups)
		return 0;
	const char *root = p->cgroup_root ? p->cgroup_root : "/sys/fs/cgroup";
	char probe[PATH_MAX];
	snprintf(probe, sizeof probe, "%s/cgroup.controllers", root);
	leaks_snap tmp = { 0 };
	int rc = 0;
	if (util_exists(probe)) {
		rc = walk_cgroup(&tmp, "v2", root, "", 0); /* cgroup v2: one tree */
	} else {
		/* v1: a tree per hierarchy (cpu, memory, …, systemd, unified) */
		DIR *d = opendir(root);
		struct dirent *de;
		while (d && rc == 0 && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char a[PATH_MAX];
			snprintf(a, sizeof a, "%s/%s", root, de->d_name);
			struct stat lst;
			/* cpu,cpuacct is linked as cpu and cpuacct: one visit */
			if (lstat(a, &lst) < 0 || !S_ISDIR(lst.st_mode))
				continue;
			rc = walk_cgroup(&tmp, de->d_name, a, "", 0);
		}
		if (d)
			closedir(d);
	}
	for (size_t i = 0; rc == 0 && i < tmp.n; i++) {
		char detail[256];
		snprintf(detail, sizeof detail, "below %.100s in %.140s", root, tmp.items[i].detail);
		rc = add_item(s, LEAK_CGROUP, tmp.items[i].id, tmp.items[i].where, detail);
	}
	leaks_snap_free(&tmp);
	return rc;
}

static int scan_shims(const leaks_paths *p, leaks_snap *s, crit_err *e)
{
	const char *proc = p->proc_root ? p->proc_root : "/proc";
	DIR *d = opendir(proc);
	if (!d)
		return err_set(e, -errno, "leaks: read %s: %s", proc, strerror(errno));
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[PATH_MAX], buf[4096];
		snprintf(path, sizeof path, "%s/%s/cmdline", proc, de->d_name);
		cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		const char *base = strrchr(buf, '/');
		base = base ? base + 1 : buf;
		if (!util_has_prefix(base, "containerd-shim"))
			continue;
		/* -id ID among the NUL-separated arguments */
		char id[LEAKS_ID_LEN + 1] = "";
		for (char *a = buf; a < buf + n; a += strlen(a) + 1)
			if (!strcmp(a, "-id") && a + strlen(a) + 1 < buf + n)
				snprintf(id, sizeof id, "%s", a + strlen(a) + 1);
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		while (n > 0 && buf[n - 1] == ' ')
			buf[--n] = '\0';
		if (p->shim_match[0] && !strstr(buf, p->shim_match))
			continue;
		char where[64];
		snprintf(where, sizeof where, "pid %.20s", de->d_name);
		rc = add_item(s, LEAK_SHIM, id, where, buf);
	}
	closedir(d);
	return rc;
}

int leaks_snapshot(const leaks_paths *p, leaks_snap *s, crit_err *e)
{
	memset(s, 0, sizeof *s);
	int rc = scan_mounts(p, s, e);
	if (rc == 0)
		rc = scan_netns(p, s);
	if (rc == 0)
		rc = scan_ipam(p, s);
	if (rc == 0)
		rc = scan_cgroups(p, s);
	if (rc == 0)
		rc = scan_shims(p, s, e);
	if (rc < 0) {
		if (rc == -ENOMEM)
			err_set(e, rc, "leaks: out of memory");
		leaks_snap_free(s);
	}
	return rc;
}

/* ------------------------------------------------------------ comparing */

static bool same_item(const leaks_item *a, const leaks_item *b)
{
	return a->kind == b->kind && !strcmp(a->where, b->where) && !strcmp(a->id, b->id);
}

/* Ids match when one is a prefix of the other, at least 12 long. */
static bool id_in(const char *id, const char *const *list, size_t n)
{
	size_t il = strlen(id);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(list[i]);
		size_t m = l < il ? l : il;
		if (m >= MIN_ID_MATCH && !strncmp(id, list[i], m))
			return true;
	}
	return false;
}

int leaks_compare(const leaks_snap *before, const leaks_snap *after, const char *const *live, size_t n_live,
		  const char *const *removed, size_t n_removed, leaks_snap *out, crit_err *e)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < after->n; i++) {
		const leaks_item *it = &after->items[i];
		bool old = false;
		for (size_t j = 0; before && j < before->n && !old; j++)
			old = same_item(&before->items[j], it);
		if (old)
			continue;
		if (it->kind == LEAK_NETNS) {
			/* no id to tie it to: only a new one, and only when empty */
			if (it->in_use || !before || removed)
				continue;
		} else if (!it->id[0]) {
			if (!before || removed) /* nothing ties it to an object */
				continue;
		} else {
			if (id_in(it->id, live, n_live))
				continue;
			if (removed && !id_in(it->id, removed, n_removed))
				continue;
		}
		if (add_item(out, it->kind, it->id, it->where, it->detail) < 0) {
			leaks_snap_free(out);
			return err_set(e, -ENOMEM, "leaks: out of memory");
		}
		out->items[out->n - 1].in_use = it->in_use;
	}
	return 0;
}

void leaks_describe(const leaks_item *it, char *buf, size_t len)
{
	char owner[96];
	if (it->id[0])
		snprintf(owner, sizeof owner, " of removed container or sandbox %.12s", it->id);
	else
		owner[0] = '\0';
	switch (it->kind) {
	case LEAK_MOUNT:
		snprintf(buf, len, "mount %s%s still mounted", it->where, owner);
		break;
	case LEAK_NETNS:
		snprintf(buf, len, "network namespace %s still exists (%s)", it->where, it->detail);
		break;
	case LEAK_IPAM:
		snprintf(buf, len, "CNI IP allocation %s (%s) still held by removed sandbox %.12s", it->where,
			 it->detail, it->id[0] ? it->id : "?");
		break;
	case LEAK_CGROUP:
		snprintf(buf, len, "cgroup %s%s still exists (%s)", it->where, owner, it->detail);
		break;
	case LEAK_SHIM:
		snprintf(buf, len, "shim %s of removed sandbox %.12s still runs (%.160s)", it->where,
			 it->id[0] ? it->id : "?", it->detail);
		break;
	}
}

char *leaks_text(const leaks_snap *s)
{
	strbuf sb = { 0 };
	sb_printf(&sb, "%s", "");
	for (size_t i = 0; i < s->n; i++) {
		char line[PATH_MAX + 512];
		leaks_describe(&s->items[i], line, sizeof line);
		sb_printf(&sb, "%s%s", i ? "\n" : "", line);
	}
	return sb.buf ? sb.buf : strdup("");
}

void leaks_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

int leaks_live_ids(cri_conn *c, char ***ids, size_t *n, crit_err *e)
{
	*ids = NULL;
	*n = 0;
	Runtime__V1__ListPodSandboxRequest preq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *pods = NULL;
	Runtime__V1__ListContainersRequest creq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *ctrs = NULL;
	if (CRI_CALL(c, ListPodSandbox, &preq, &pods, e) < 0)
		return e->code;
	if (CRI_CALL(c, ListContainers, &creq, &ctrs, e) < 0) {
		cri_free(pods);
		return e->code;
	}
	size_t total = pods->n_items + ctrs->n_containers;
	char **v = calloc(total ? total : 1, sizeof *v);
	int rc = v ? 0 : err_set(e, -ENOMEM, "leaks: out of memory");
	for (size_t i = 0; v && i < pods->n_items; i++)
		v[(*n)++] = strdup(pods->items[i]->id);
	for (size_t i = 0; v && i < ctrs->n_containers; i++)
		v[(*n)++] = strdup(ctrs->containers[i]->id);
	for (size_t i = 0; v && i < *n; i++)
		if (!v[i])
			rc = err_set(e, -ENOMEM, "leaks: out of memory");
	cri_free(pods);
	cri_free(ctrs);
	if (rc < 0) {
		leaks_ids_free(v, *n);
		*n = 0;
		return rc;
	}
	*ids = v;
	return 0;
}

int leaks_check(const leaks_paths *p, const leaks_snap *before, cri_conn *c, int timeout_ms, leaks_snap *out,
		crit_err *e)
{
	memset(out, 0, sizeof *out);
	int64_t deadline = util_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		char **live = NULL;
		size_t n_live = 0;
		int rc = leaks_live_ids(c, &live, &n_live, e);
		if (rc < 0)
			return rc;
		leaks_snap now;
		rc = leaks_snapshot(p, &now, e);
		if (rc == 0)
			rc = leaks_compare(before, &now, (const char *const *)live, n_live, NULL, 0, out, e);
		leaks_snap_free(&now);
		leaks_ids_free(live, n_live);
		if (rc < 0 || out->n == 0 || util_now_ms() >= deadline)
			return rc;
		/* the runtime may still be tearing down: look again shortly */
		leaks_snap_free(out);
		util_sleep_ms(250);
	}
}

/* ------------------------------------------------------------ the runner */

static leaks_snap run_snap;
static leaks_paths run_paths;
static bool run_snap_ok;

void leaks_run_start(const char *lab_dir)
{
	leaks_snap_free(&run_snap);
	run_snap_ok = false;
	if (lab_dir && *lab_dir) {
		lab_info info;
		memset(&info, 0, sizeof info);
		if (lab_status(lab_dir, &info, NULL) < 0)
			return;
		if (!info.dir[0])
			snprintf(info.dir, sizeof info.dir, "%s", lab_dir);
		leaks_paths_for_lab(&run_paths, &info);
	} else {
		leaks_paths_default(&run_paths);
	}
	crit_err e;
	run_snap_ok = leaks_snapshot(&run_paths, &run_snap, &e) == 0;
}

/* One finding a line: the header, then each item indented. */
static void join(char *buf, size_t len, const char *line)
{
	size_t l = strlen(buf);
	if (l + 1 < len)
		snprintf(buf + l, len - l, "%s%s", !l ? "" : "\n  ", line);
}

int leaks_run_end(cri_conn *c, char *fail, size_t flen, char *note, size_t nlen)
{
	fail[0] = note[0] = '\0';
	if (!run_snap_ok)
		return 0;
	leaks_snap out;
	crit_err e;
	/* 1 s for teardown; longer only while something surely ours is left
	 * (node-wide noise from other runtimes should not slow every run) */
	int rc = leaks_check(&run_paths, &run_snap, c, 1000, &out, &e);
	bool strong = false;
	for (size_t i = 0; rc == 0 && i < out.n; i++)
		strong = strong || (out.items[i].kind != LEAK_CGROUP && out.items[i].kind != LEAK_NETNS);
	if (strong) {
		leaks_snap_free(&out);
		rc = leaks_check(&run_paths, &run_snap, c, 4000, &out, &e);
	}
	if (rc < 0) {
		snprintf(note, nlen, "leak check not done: %s", e.msg);
		return 0;
	}
	if (out.n) {
		join(fail, flen, "leaks since the run started:");
		join(note, nlen, "maybe leaked (node-wide, shared with other runtimes):");
	}
	int nf = 0, nn = 0;
	for (size_t i = 0; i < out.n; i++) {
		char line[PATH_MAX + 512];
		leaks_describe(&out.items[i], line, sizeof line);
		bool shared = out.items[i].kind == LEAK_CGROUP || out.items[i].kind == LEAK_NETNS;
		join(shared ? note : fail, shared ? nlen : flen, line);
		nf += !shared;
		nn += shared;
	}
	if (!nf)
		fail[0] = '\0';
	if (!nn)
		note[0] = '\0';
	int n = (int)out.n;
	leaks_snap_free(&out);
	return n;
}

/* ------------------------------------------------------------ the CLI */

static const char cli_usage[] =
	"Usage: critic cleanup --leaks [-r EP] [--dir DIR] [-t DUR] [--config FILE]\n"
	"List (never remove) what the runtime left behind for pods and containers\n"
	"it no longer lists: mounts below its root and state dirs, CNI IP\n"
	"allocations, shims, cgroups named after those ids. Without a snapshot from\n"
	"before, network namespaces cannot be tied to a pod and are not listed.\n"
	"The lab's dirs come from the lab; another runtime's from its verbose Status.\n"
	"Exit: 0 nothing leaked, 1 leaks listed, 2 usage, 3 endpoint unreachable.\n";

int leaks_cli_main(int argc, char **argv)
{
	enum { O_CONFIG = 256, O_DIR, O_LEAKS, O_CRICTL };
	static const struct option longopts[] = {
		{ "runtime-endpoint", required_argument, 0, 'r' }, { "image-endpoint", required_argument, 0, 'i' },
		{ "timeout", required_argument, 0, 't' },          { "config", required_argument, 0, O_CONFIG },
		{ "crictl", required_argument, 0, O_CRICTL },      { "dir", required_argument, 0, O_DIR },
		{ "leaks", no_argument, 0, O_LEAKS },              { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *flag_r = NULL, *crictl = "/etc/crictl.yaml", *dir = NULL;
	int tmo_ms = 0;
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, "r:i:t:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'r': flag_r = optarg; break;
		case 'i': break;
		case 't': {
			char *end;
			double v = strtod(optarg, &end);
			if (end == optarg || v <= 0 || v > 3600 || (*end && strcmp(end, "s") && strcmp(end, "ms"))) {
				fprintf(stderr, "critic cleanup --leaks: --timeout '%s': give a duration like 2s or 500ms\n",
					optarg);
				return 2;
			}
			tmo_ms = (int)(!strcmp(end, "ms") ? v : v * 1000);
			break;
		}
		case O_CONFIG:
		case O_CRICTL: crictl = optarg; break;
		case O_DIR: dir = optarg; break;
		case O_LEAKS: break;
		case 'h': fputs(cli_usage, stdout); return 0;
		default: fputs(cli_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "critic cleanup --leaks: unexpected '%s'\n", argv[optind]);
		return 2;
	}
	crit_err e;
	err_clear(&e);
	ep_config cfg;
	memset(&cfg, 0, sizeof cfg);
	if (ep_resolve(&cfg, crictl, flag_r, NULL, tmo_ms, &e) < 0) {
		fprintf(stderr, "critic cleanup --leaks: %s\n", e.msg);
		return 2;
	}
	leaks_paths p;
	lab_info lab;
	memset(&lab, 0, sizeof lab);
	bool is_lab = false;
	const char *ldir = dir ? dir : lab_default_dir();
	if (lab_status(ldir, &lab, NULL) == 1) {
		if (!cfg.runtime[0])
			snprintf(cfg.runtime, sizeof cfg.runtime, "%.500s", lab.endpoint);
		is_lab = !strcmp(cfg.runtime, lab.endpoint);
	}
	if (!cfg.runtime[0]) {
		fprintf(stderr, "critic cleanup --leaks: no endpoint given and the lab in %s is not running\n", ldir);
		return 3;
	}
	cri_conn *c = NULL;
	if (cri_connect(&c, cfg.runtime, NULL, cfg.timeout_ms, &e) < 0) {
		fprintf(stderr, "critic cleanup --leaks: %s\n", e.msg);
		return 3;
	}
	if (is_lab) {
		leaks_paths_for_lab(&p, &lab);
	} else if (leaks_paths_from_runtime(&p, c, &e) < 0) {
		fprintf(stderr, "critic cleanup --leaks: the runtime's dirs are unknown (%s): containerd's defaults\n",
			e.msg);
		leaks_paths_default(&p);
		err_clear(&e);
	}
	/* cgroups and shims of other runtimes share node-wide places: only
	 * ids that also left something in this runtime's own dirs count. */
	leaks_snap out;
	int rc = leaks_check(&p, NULL, c, 2000, &out, &e);
	cri_close(c);
	if (rc < 0) {
		fprintf(stderr, "critic cleanup --leaks: %s\n", e.msg);
		return 3;
	}
	size_t shown = 0;
	for (size_t i = 0; i < out.n; i++) {
		const leaks_item *it = &out.items[i];
		if (it->kind == LEAK_CGROUP) {
			bool tied = false;
			for (size_t j = 0; j < out.n && !tied; j++)
				tied = out.items[j].kind != LEAK_CGROUP && !strcmp(out.items[j].id, it->id);
			if (!tied)
				continue;
		}
		char line[PATH_MAX + 512];
		leaks_describe(it, line, sizeof line);
		printf("%s\n", line);
		shown++;
	}
	printf("%zu leak%s on %s%s (listed only: critic removes no runtime state)\n", shown, shown == 1 ? "" : "s",
	       cfg.runtime, is_lab ? " (critic's lab)" : "");
	leaks_snap_free(&out);
	return shown ? 1 : 0;
}

/* ------------------------------------------------------------ known removed */

int leaks_of_removed(cri_conn *c, const lab_info *lab, const char *const *removed, size_t n_removed, int timeout_ms,
		     char **text, crit_err *e)
{
	*text = NULL;
	if (!n_removed)
		return 0;
	leaks_paths p;
	if (lab) {
		leaks_paths_for_lab(&p, lab);
	} else if (leaks_paths_from_runtime(&p, c, NULL) < 0) {
		leaks_paths_default(&p);
	}
	int64_t deadline = util_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		char **live = NULL;
		size_t n_live = 0;
		int rc = leaks_live_ids(c, &live, &n_live, e);
		if (rc < 0)
			return rc;
		leaks_snap now, out;
		rc = leaks_snapshot(&p, &now, e);
		if (rc == 0)
			rc = leaks_compare(NULL, &now, (const char *const *)live, n_live, removed, n_removed, &out, e);
		leaks_snap_free(&now);
		leaks_ids_free(live, n_live);
		if (rc < 0)
			return rc;
		if (out.n == 0 || util_now_ms() >= deadline) {
			int n = (int)out.n;
			if (n) {
				strbuf sb = { 0 };
				for (size_t i = 0; i < out.n; i++) {
					char line[PATH_MAX + 512];
					leaks_describe(&out.items[i], line, sizeof line);
					sb_printf(&sb, "%s%s", i ? ", " : "", line);
				}
				*text = sb.buf;
			}
			leaks_snap_free(&out);
			return n;
		}
		leaks_snap_free(&out);
		util_sleep_ms(250);
	}
}
