/* Unit tests of nodecaps: node feature probes over fake proc/ and sys/
 * trees (a node with everything, a bare one), and one probe of this node. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "nodecaps.h"
#include "tests.h"
#include "util.h"

static char tmpdir[64];

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-nodecaps-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void) { return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0; }

/* Write root/rel (parents made). */
static void put(const char *root, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s%s", root, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	CU_ASSERT_FATAL(util_mkdir_p(path, 0755, NULL) == 0);
	*slash = '/';
	CU_ASSERT_FATAL(util_write_file(path, text, strlen(text), 0644, NULL) == 0);
}

static const char *fake_root(const char *name)
{
	static char root[128];
	snprintf(root, sizeof root, "%s/%s", tmpdir, name);
	return root;
}

#define MI_V2 "30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n"
#define MI_HYBRID                                                              \
	"31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"           \
	"32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"          \
	"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
#define MI_V1                                                                  \
	"31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"           \
	"32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"

static void test_full_node(void)
{
	const char *r = fake_root("full");
	put(r, "/proc/self/status", "Name:\tcritic\nNoNewPrivs:\t0\nSeccomp:\t2\nSeccomp_filters:\t1\n");
	put(r, "/proc/self/ns/user", "");
	put(r, "/proc/sys/user/max_user_namespaces", "1000\n");
	put(r, "/proc/self/mountinfo", MI_V2);
	put(r, "/sys/module/apparmor/parameters/enabled", "Y\n");
	put(r, "/sys/fs/selinux/enforce", "1");
	nodecaps nc;
	crit_err e;
	CU_ASSERT_FATAL(nodecaps_probe(r, &nc, &e) == 0);
	CU_ASSERT(nc.seccomp.ok);
	CU_ASSERT_EQUAL(nc.seccomp_mode, 2);
	CU_ASSERT(nc.apparmor.ok);
	CU_ASSERT(nc.selinux.ok);
	CU_ASSERT_EQUAL(nc.selinux_enforce, 1);
	CU_ASSERT(nc.userns.ok);
	CU_ASSERT_EQUAL(nc.cgroup, NODECAPS_CGROUP_V2);
	CU_ASSERT_STRING_EQUAL(nodecaps_cgroup_name(nc.cgroup), "v2");
}

static void test_bare_node(void)
{
	const char *r = fake_root("bare");
	put(r, "/proc/self/status", "Name:\tcritic\nNoNewPrivs:\t0\n");
	put(r, "/proc/self/mountinfo", MI_V1);
	put(r, "/sys/module/apparmor/parameters/enabled", "N\n");
	nodecaps nc;
	crit_err e;
	CU_ASSERT_FATAL(nodecaps_probe(r, &nc, &e) == 0);
	CU_ASSERT(!nc.seccomp.ok);
	CU_ASSERT_EQUAL(nc.seccomp_mode, -1);
	CU_ASSERT(strstr(nc.seccomp.why, "Seccomp") != NULL);
	/* Each missing feature says what was seen. */
	CU_ASSERT(!nc.apparmor.ok);
	CU_ASSERT(strstr(nc.apparmor.why, "'N'") != NULL);
	CU_ASSERT(!nc.selinux.ok);
	CU_ASSERT(strstr(nc.selinux.why, "/sys/fs/selinux/enforce") != NULL);
	CU_ASSERT_EQUAL(nc.selinux_enforce, -1);
	CU_ASSERT(!nc.userns.ok);
	CU_ASSERT_EQUAL(nc.cgroup, NODECAPS_CGROUP_V1);
}

static void test_hybrid_and_limits(void)
{
	const char *r = fake_root("hybrid");
	put(r, "/proc/self/status", "Seccomp:\t0\n");
	put(r, "/proc/self/ns/user", "");
	put(r, "/proc/sys/user/max_user_namespaces", "0\n");
	put(r, "/proc/self/mountinfo", MI_HYBRID);
	put(r, "/sys/fs/selinux/enforce", "0");
	nodecaps nc;
	CU_ASSERT_FATAL(nodecaps_probe(r, &nc, NULL) == 0);
	CU_ASSERT(nc.seccomp.ok);
	CU_ASSERT_EQUAL(nc.seccomp_mode, 0);
	CU_ASSERT(!nc.apparmor.ok);
	CU_ASSERT(strstr(nc.apparmor.why, "absent") != NULL);
	CU_ASSERT(nc.selinux.ok);
	CU_ASSERT_EQUAL(nc.selinux_enforce, 0);
	CU_ASSERT(!nc.userns.ok);
	CU_ASSERT(strstr(nc.userns.why, "max_user_namespaces is 0") != NULL);
	CU_ASSERT_EQUAL(nc.cgroup, NODECAPS_CGROUP_HYBRID);
}

static void test_unreadable_status(void)
{
	const char *r = fake_root("empty");
	CU_ASSERT_FATAL(util_mkdir_p(r, 0755, NULL) == 0);
	nodecaps nc;
	crit_err e;
	err_clear(&e);
	CU_ASSERT(nodecaps_probe(r, &nc, &e) < 0);
	CU_ASSERT(strstr(e.msg, "/proc/self/status") != NULL);
}

/* This node: the status file is there, so the probe works; the answers
 * agree with what the files say. */
static void test_this_node(void)
{
	nodecaps nc;
	crit_err e;
	CU_ASSERT_FATAL(nodecaps_probe("", &nc, &e) == 0);
	CU_ASSERT(nc.apparmor.why[0] && nc.selinux.why[0] && nc.seccomp.why[0] && nc.userns.why[0]);
	CU_ASSERT_EQUAL(nc.selinux.ok, util_exists("/sys/fs/selinux/enforce"));
	CU_ASSERT(nc.cgroup != NODECAPS_CGROUP_UNKNOWN);
}

void tests_register_nodecaps(void)
{
	CU_pSuite s = CU_add_suite("unit/nodecaps", suite_init, suite_cleanup);
	if (!s)
		return;
	CU_add_test(s, "a node with every feature", test_full_node);
	CU_add_test(s, "a bare node: every feature missing, with the reason", test_bare_node);
	CU_add_test(s, "hybrid cgroups, permissive SELinux, no user namespaces", test_hybrid_and_limits);
	CU_add_test(s, "an unreadable status file is an error naming it", test_unreadable_status);
	CU_add_test(s, "this node", test_this_node);
}
