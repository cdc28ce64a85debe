/* nodecaps: probe the kernel features the security suites depend on, so a
 * test can skip with what was seen instead of failing on a bare node. */
#include "nodecaps.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *at(const char *root, const char *path)
{
	return util_strdup_printf("%s%s", root, path);
}

static void feat(nodecaps_feat *f, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void feat(nodecaps_feat *f, bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	f->ok = ok;
	vsnprintf(f->why, sizeof f->why, fmt, ap);
	va_end(ap);
}

/* The first line of a small file, without its newline; NULL if unreadable. */
static char *first_line(const char *root, const char *path)
{
	cleanup_free char *p = at(root, path);
	char *text = NULL;
	if (util_read_file(p, &text, NULL, NULL) < 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return text;
}

/* The value of "Field:" in a /proc status text, or NULL. */
static const char *status_value(const char *text, const char *field, size_t *len)
{
	size_t fl = strlen(field);
	for (const char *line = text; line && *line;) {
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			const char *v = line + fl + 1;
			v += strspn(v, " \t");
			*len = strcspn(v, "\n");
			return v;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return NULL;
}

static void probe_seccomp(const char *status, nodecaps *nc)
{
	size_t n = 0;
	const char *v = status_value(status, "Seccomp", &n);
	nc->seccomp_mode = -1;
	if (!v) {
		feat(&nc->seccomp, false, "seccomp: no Seccomp field in /proc/self/status (kernel built without CONFIG_SECCOMP)");
		return;
	}
	nc->seccomp_mode = atoi(v);
	/* Filters need CONFIG_SECCOMP_FILTER; the Seccomp_filters field came
	 * with 5.9, so its absence alone proves nothing. */
	feat(&nc->seccomp, true, "seccomp: Seccomp: %.*s in /proc/self/status", (int)n, v);
}

static void probe_apparmor(const char *root, nodecaps *nc)
{
	cleanup_free char *en = first_line(root, "/sys/module/apparmor/parameters/enabled");
	if (!en)
		feat(&nc->apparmor, false, "AppArmor: /sys/module/apparmor/parameters/enabled is absent (module not in this kernel)");
	else if (strcmp(en, "Y"))
		feat(&nc->apparmor, false, "AppArmor: /sys/module/apparmor/parameters/enabled is '%s', not Y (disabled)", en);
	else
		feat(&nc->apparmor, true, "AppArmor: enabled");
}

static void probe_selinux(const char *root, nodecaps *nc)
{
	cleanup_free char *enf = first_line(root, "/sys/fs/selinux/enforce");
	nc->selinux_enforce = -1;
	if (!enf) {
		feat(&nc->selinux, false, "SELinux: /sys/fs/selinux/enforce is absent (no SELinux, or selinuxfs not mounted)");
		return;
	}
	nc->selinux_enforce = atoi(enf) ? 1 : 0;
	feat(&nc->selinux, true, "SELinux: %s", nc->selinux_enforce ? "enforcing" : "permissive");
}

static void probe_userns(const char *root, nodecaps *nc)
{
	cleanup_free char *ns = at(root, "/proc/self/ns/user");
	if (!util_exists(ns)) {
		feat(&nc->userns, false, "user namespaces: /proc/self/ns/user is absent (CONFIG_USER_NS off)");
		return;
	}
	cleanup_free char *max = first_line(root, "/proc/sys/user/max_user_namespaces");
	if (max && atol(max) <= 0) {
		feat(&nc->userns, false, "user namespaces: user.max_user_namespaces is %s", max);
		return;
	}
	feat(&nc->userns, true, "user namespaces: available (max %s)", max ? max : "?");
}

/* The file system type mounted at target in a mountinfo text ("" if none;
 * the last mount there wins). */
static void mount_type(const char *mountinfo, const char *target, char *type, size_t len)
{
	type[0] = '\0';
	for (const char *line = mountinfo; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		cleanup_free char *l = strndup(line, ll);
		char mnt[1024], fstype[64];
		/* id parent maj:min root mount-point options [optional...] - type source opts */
		const char *dash = l ? strstr(l, " - ") : NULL;
		if (dash && sscanf(l, "%*s %*s %*s %*s %1023s", mnt) == 1 && sscanf(dash + 3, "%63s", fstype) == 1 &&
		    !strcmp(mnt, target))
			snprintf(type, len, "%s", fstype);
		line = nl ? nl + 1 : NULL;
	}
}

static void probe_cgroup(const char *root, nodecaps *nc)
{
	cleanup_free char *p = at(root, "/proc/self/mountinfo");
	cleanup_free char *mi = NULL;
	nc->cgroup = NODECAPS_CGROUP_UNKNOWN;
	if (util_read_file(p, &mi, NULL, NULL) < 0)
		return;
	char type[64], unified[64];
	mount_type(mi, "/sys/fs/cgroup", type, sizeof type);
	mount_type(mi, "/sys/fs/cgroup/unified", unified, sizeof unified);
	if (!strcmp(type, "cgroup2"))
		nc->cgroup = NODECAPS_CGROUP_V2;
	else if (!strcmp(type, "tmpfs"))
		nc->cgroup = !strcmp(unified, "cgroup2") ? NODECAPS_CGROUP_HYBRID : NODECAPS_CGROUP_V1;
}

int nodecaps_probe(const char *root, nodecaps *nc, crit_err *e)
{
	memset(nc, 0, sizeof *nc);
	if (!root)
		root = "";
	cleanup_free char *sp = at(root, "/proc/self/status");
	cleanup_free char *status = NULL;
	int rc = util_read_file(sp, &status, NULL, e);
	if (rc < 0)
		return err_wrap(e, "probe node features");
	probe_seccomp(status, nc);
	probe_apparmor(root, nc);
	probe_selinux(root, nc);
	probe_userns(root, nc);
	probe_cgroup(root, nc);
	return 0;
}

const char *nodecaps_cgroup_name(nodecaps_cgroup c)
{
	switch (c) {
	case NODECAPS_CGROUP_V1:
		return "v1";
	case NODECAPS_CGROUP_HYBRID:
		return "hybrid";
	case NODECAPS_CGROUP_V2:
		return "v2";
	default:
		return "unknown";
	}
}
