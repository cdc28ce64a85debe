/* The leak checker over a fake node (mountinfo, /proc, cgroup v1 and v2
 * trees, netns and IPAM dirs in a temp dir), and a report cut by SIGINT. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"
#include "leaks.h"
#include "reports/rep.h"
#include "tests.h"
#include "util.h"

static char root[64];
static char mi[128];
static leaks_paths P;

#define ID_A "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
#define ID_B "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"
#define ID_C "cccccccccccc3333333333333333333333333333333333333333333333333333"

static void put(const char *rel, const char *data)
{
	char path[512], dir[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	CU_ASSERT_FATAL(util_mkdir_p(dir, 0755, NULL) == 0);
	CU_ASSERT_FATAL(util_write_file(path, data, strlen(data), 0644, NULL) == 0);
}

static void mkd(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	CU_ASSERT_FATAL(util_mkdir_p(path, 0755, NULL) == 0);
}

/* A shim's cmdline, NUL-separated as the kernel shows it. */
static void shim(int pid, const char *id, const char *addr)
{
	char rel[64], args[512];
	snprintf(rel, sizeof rel, "proc/%d/cmdline", pid);
	int n = snprintf(args, sizeof args, "/usr/bin/containerd-shim-runc-v2%c-namespace%ck8s.io%c-id%c%s%c-address%c%s%c",
			 0, 0, 0, 0, id, 0, 0, addr, 0);
	char path[512], dir[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	snprintf(dir, sizeof dir, "%s/proc/%d", root, pid);
	CU_ASSERT_FATAL(util_mkdir_p(dir, 0755, NULL) == 0);
	CU_ASSERT_FATAL(util_write_file(path, args, (size_t)n, 0644, NULL) == 0);
}

static void mountinfo(const char *extra)
{
	char buf[4096];
	snprintf(buf, sizeof buf,
		 "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
		 "100 22 0:50 / %s/rt/root/io.containerd.grpc.v1.cri/sandboxes/" ID_A "/shm rw - tmpfs shm rw\n"
		 "101 22 0:51 / %s/rt/state/io.containerd.runtime.v2.task/k8s.io/" ID_B "/rootfs rw - overlay overlay rw\n"
		 "102 22 0:52 / /elsewhere/" ID_C "/rootfs rw - overlay overlay rw\n"
		 "%s",
		 root, root, extra ? extra : "");
	put("mountinfo", buf);
}

static int suite_init(void)
{
	snprintf(root, sizeof root, "/tmp/critic-unit-leaks-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(mi, sizeof mi, "%s/mountinfo", root);
	return 0;
}

static int suite_cleanup(void) { return util_rm_rf(root, NULL) < 0 ? -1 : 0; }

/* A node with pod A (its shm mount, IP, cgroups in two v1 hierarchies, shim)
 * and container B (rootfs, cgroup), netns cni-used (a process is in it)
 * and cni-idle. */
static void setup(void)
{
	util_rm_rf(root, NULL);
	util_mkdir_p(root, 0755, NULL);
	mountinfo(NULL);
	mkd("proc/1/ns");
	put("proc/1/cmdline", "/sbin/init");
	shim(200, ID_A, "/lab/containerd.sock");
	shim(201, ID_C, "/other/containerd.sock"); /* another runtime's */
	mkd("cg/memory/k8s.io/" ID_A);
	mkd("cg/pids/k8s.io/" ID_A);
	mkd("cg/memory/k8s.io/" ID_B "/child");
	mkd("cg/memory/system.slice/ssh.service");
	put("netns/cni-used", "");
	put("netns/cni-idle", "");
	put("netns/other", "");
	/* the process "in" cni-used: its ns/net is the same inode */
	char a[512], b[512];
	snprintf(a, sizeof a, "%s/netns/cni-used", root);
	snprintf(b, sizeof b, "%s/proc/1/ns/net", root);
	CU_ASSERT_FATAL(link(a, b) == 0);
	put("ipam/critic-lab/10.88.0.5", ID_A "\r\neth0");
	put("ipam/critic-lab/last_reserved_ip.0", "10.88.0.5");
	put("ipam/critic-lab/lock", "");

	memset(&P, 0, sizeof P);
	P.mountinfo = mi;
	static char proc[128], cg[128];
	snprintf(proc, sizeof proc, "%s/proc", root);
	snprintf(cg, sizeof cg, "%s/cg", root);
	P.proc_root = proc;
	P.cgroup_root = cg;
	snprintf(P.mount_prefixes[0], PATH_MAX, "%s/rt/root/", root);
	snprintf(P.mount_prefixes[1], PATH_MAX, "%s/rt/state/", root);
	P.n_mount_prefixes = 2;
	snprintf(P.netns_dirs[0], PATH_MAX, "%s/netns", root);
	P.n_netns_dirs = 1;
	snprintf(P.ipam_dirs[0], PATH_MAX, "%s/ipam", root);
	P.n_ipam_dirs = 1;
	snprintf(P.shim_match, sizeof P.shim_match, "/lab/");
}

static size_t count(const leaks_snap *s, leaks_kind k, const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->items[i].kind == k && (!id || !strcmp(s->items[i].id, id));
	return n;
}

static const leaks_item *find(const leaks_snap *s, leaks_kind k, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].kind == k && !strcmp(s->items[i].id, id))
			return &s->items[i];
	return NULL;
}

static void snap(leaks_snap *s)
{
	crit_err e;
	err_clear(&e);
	int rc = leaks_snapshot(&P, s, &e);
	if (rc < 0)
		printf("\n    %s", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void test_scan_finds_each_kind(void)
{
	leaks_snap s;
	snap(&s);
	/* mounts: only below the runtime's dirs, with their ids */
	CU_ASSERT_EQUAL(count(&s, LEAK_MOUNT, NULL), 2);
	CU_ASSERT_EQUAL(count(&s, LEAK_MOUNT, ID_A), 1);
	CU_ASSERT_EQUAL(count(&s, LEAK_MOUNT, ID_B), 1);
	CU_ASSERT_EQUAL(count(&s, LEAK_MOUNT, ID_C), 0);
	/* netns: cni-* only, the used one marked */
	CU_ASSERT_EQUAL(count(&s, LEAK_NETNS, NULL), 2);
	for (size_t i = 0; i < s.n; i++)
		if (s.items[i].kind == LEAK_NETNS)
			CU_ASSERT_EQUAL(s.items[i].in_use, strstr(s.items[i].where, "cni-used") != NULL);
	/* IPAM: the IP file with its sandbox id; lock and last_reserved_ip skipped */
	CU_ASSERT_EQUAL(count(&s, LEAK_IPAM, NULL), 1);
	const leaks_item *ip = find(&s, LEAK_IPAM, ID_A);
	CU_ASSERT_PTR_NOT_NULL(ip);
	CU_ASSERT(ip && strstr(ip->where, "10.88.0.5") && strstr(ip->detail, "critic-lab"));
	/* cgroups: one item per path, naming every hierarchy; not below a container's */
	CU_ASSERT_EQUAL(count(&s, LEAK_CGROUP, NULL), 2);
	const leaks_item *cg = find(&s, LEAK_CGROUP, ID_A);
	CU_ASSERT(cg && !strcmp(cg->where, "k8s.io/" ID_A));
	CU_ASSERT(cg && strstr(cg->detail, "memory") && strstr(cg->detail, "pids"));
	/* shims: only this runtime's */
	CU_ASSERT_EQUAL(count(&s, LEAK_SHIM, NULL), 1);
	const leaks_item *sh = find(&s, LEAK_SHIM, ID_A);
	CU_ASSERT(sh && !strcmp(sh->where, "pid 200"));
	leaks_snap_free(&s);
}

/* Before/after: only what is new and belongs to nothing live counts. */
static void test_compare_new_and_dead(void)
{
	leaks_snap before, after, out;
	snap(&before);
	/* C comes and goes, leaving one of each kind behind */
	char extra[1024];
	snprintf(extra, sizeof extra,
		 "103 22 0:53 / %s/rt/state/io.containerd.runtime.v2.task/k8s.io/" ID_C "/rootfs rw - overlay overlay rw\n",
		 root);
	mountinfo(extra);
	put("ipam/critic-lab/10.88.0.9", ID_C "\neth0");
	mkd("cg/memory/k8s.io/" ID_C);
	shim(300, ID_C, "/lab/containerd.sock");
	put("netns/cni-leaked", "");
	snap(&after);
	crit_err e;
	const char *live[] = { ID_A, ID_B };
	CU_ASSERT_EQUAL_FATAL(leaks_compare(&before, &after, live, 2, NULL, 0, &out, &e), 0);
	CU_ASSERT_EQUAL(out.n, 5);
	CU_ASSERT_EQUAL(count(&out, LEAK_MOUNT, ID_C), 1);
	CU_ASSERT_EQUAL(count(&out, LEAK_IPAM, ID_C), 1);
	CU_ASSERT_EQUAL(count(&out, LEAK_CGROUP, ID_C), 1);
	CU_ASSERT_EQUAL(count(&out, LEAK_SHIM, ID_C), 1);
	CU_ASSERT_EQUAL(count(&out, LEAK_NETNS, NULL), 1);
	char *text = leaks_text(&out);
	printf("\n%s", text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "/rootfs of removed container or sandbox cccccccccccc still mounted"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "10.88.0.9 (network critic-lab) still held by removed sandbox cccccccccccc"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "shim pid 300 of removed sandbox cccccccccccc still runs"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "cni-leaked still exists (no process is in it)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "cgroup k8s.io/" ID_C));
	free(text);
	leaks_snap_free(&out);

	/* C still listed by the runtime (short id): nothing of it is a leak */
	const char *live2[] = { ID_A, ID_B, "cccccccccccc" };
	CU_ASSERT_EQUAL(leaks_compare(&before, &after, live2, 3, NULL, 0, &out, &e), 0);
	CU_ASSERT_EQUAL(out.n, 1);
	CU_ASSERT_EQUAL(count(&out, LEAK_NETNS, NULL), 1);
	leaks_snap_free(&out);

	/* Known removed: only B's are critic's to report, netns never */
	const char *removed[] = { ID_B };
	CU_ASSERT_EQUAL(leaks_compare(NULL, &after, live, 0, removed, 1, &out, &e), 0);
	CU_ASSERT_EQUAL(out.n, 2); /* B's rootfs and cgroup */
	CU_ASSERT_EQUAL(count(&out, LEAK_MOUNT, ID_B), 1);
	CU_ASSERT_EQUAL(count(&out, LEAK_CGROUP, ID_B), 1);
	leaks_snap_free(&out);

	/* No snapshot before: everything tied to an id no longer listed */
	CU_ASSERT_EQUAL(leaks_compare(NULL, &after, live, 2, NULL, 0, &out, &e), 0);
	CU_ASSERT_EQUAL(out.n, 4);
	CU_ASSERT_EQUAL(count(&out, LEAK_NETNS, NULL), 0);
	leaks_snap_free(&out);
	leaks_snap_free(&before);
	leaks_snap_free(&after);
}

/* Escaped mount points, cgroup v2, missing optional dirs, a missing mountinfo. */
static void test_v2_escapes_errors(void)
{
	char extra[1024];
	snprintf(extra, sizeof extra, "104 22 0:54 / %s/rt/root/with\\040space/" ID_C "/x rw - tmpfs t rw\n", root);
	mountinfo(extra);
	util_rm_rf(P.cgroup_root, NULL);
	put("cg/cgroup.controllers", "cpu memory pids");
	mkd("cg/kubepods.slice/cri-containerd-" ID_B ".scope");
	util_rm_rf(P.ipam_dirs[0], NULL);
	leaks_snap s;
	snap(&s);
	const leaks_item *m = find(&s, LEAK_MOUNT, ID_C);
	CU_ASSERT(m && strstr(m->where, "/with space/"));
	const leaks_item *cg = find(&s, LEAK_CGROUP, ID_B);
	CU_ASSERT(cg && !strcmp(cg->where, "kubepods.slice/cri-containerd-" ID_B ".scope"));
	CU_ASSERT(cg && strstr(cg->detail, "v2"));
	CU_ASSERT_EQUAL(count(&s, LEAK_IPAM, NULL), 0);
	leaks_snap_free(&s);

	char missing[160];
	snprintf(missing, sizeof missing, "%s/no-such-mountinfo", root);
	P.mountinfo = missing;
	crit_err e;
	err_clear(&e);
	CU_ASSERT(leaks_snapshot(&P, &s, &e) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no-such-mountinfo"));
	P.mountinfo = mi;
}

/* The paths for a lab: its root and state, its CNI data dir, its shims. */
static void test_lab_paths(void)
{
	lab_info li;
	memset(&li, 0, sizeof li);
	snprintf(li.dir, sizeof li.dir, "/var/lib/critic/lab-x");
	snprintf(li.root, sizeof li.root, "/var/lib/critic/lab-x/root");
	snprintf(li.state, sizeof li.state, "/var/lib/critic/lab-x/state");
	leaks_paths p;
	leaks_paths_for_lab(&p, &li);
	CU_ASSERT_EQUAL(p.n_mount_prefixes, 2);
	CU_ASSERT_STRING_EQUAL(p.mount_prefixes[0], "/var/lib/critic/lab-x/root/");
	CU_ASSERT_STRING_EQUAL(p.mount_prefixes[1], "/var/lib/critic/lab-x/state/");
	CU_ASSERT_EQUAL(p.n_ipam_dirs, 1);
	CU_ASSERT_STRING_EQUAL(p.ipam_dirs[0], "/var/lib/critic/lab-x/cni/ipam");
	CU_ASSERT_STRING_EQUAL(p.shim_match, "/var/lib/critic/lab-x/");
	leaks_paths_default(&p);
	CU_ASSERT_EQUAL(p.n_mount_prefixes, 2);
	CU_ASSERT_STRING_EQUAL(p.mount_prefixes[0], "/var/lib/containerd/");
}

/* A report interrupted by SIGINT while it is written is either the old
 * file or the whole new one, never a part (rep_commit writes FILE.tmp.PID
 * and renames it). The signal comes at a varying point of the write. */
static void test_report_sigint(void)
{
	char path[160];
	snprintf(path, sizeof path, "%s/report.json", root);
	size_t big = 32u << 20;
	char *data = malloc(big);
	CU_ASSERT_FATAL(data != NULL);
	memset(data, 'x', big);
	data[big - 1] = '\n';
	int whole = 0, old = 0;
	for (int round = 0; round < 6; round++) {
		CU_ASSERT_FATAL(util_write_file(path, "old\n", 4, 0644, NULL) == 0);
		fflush(NULL);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0) {
			signal(SIGINT, SIG_DFL);
			crit_err e;
			_exit(rep_commit(path, data, big, &e) == 0 ? 0 : 1);
		}
		static const int wait_ms[] = { 0, 5, 20, 80, 300, 1500 };
		util_sleep_ms(wait_ms[round]);
		kill(pid, SIGINT);
		int status;
		waitpid(pid, &status, 0);
		char *text = NULL;
		size_t len = 0;
		CU_ASSERT_EQUAL(util_read_file(path, &text, &len, NULL), 0);
		bool is_old = len == 4 && text && !memcmp(text, "old\n", 4);
		bool is_new = len == big && text && !memcmp(text, data, big);
		CU_ASSERT(is_old || is_new);
		whole += is_new;
		old += is_old;
		free(text);
		/* a killed writer may leave its FILE.tmp.PID; the report itself is intact */
		char tmp[200];
		snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)pid);
		unlink(tmp);
	}
	printf("\n    6 writes cut by SIGINT: %d left the old file, %d the whole new one", old, whole);
	free(data);
}

void tests_register_leaks(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("leaks", suite_init, suite_cleanup, setup, NULL);
	if (!s)
		return;
	CU_add_test(s, "a scan finds mounts, netns, IPAM, cgroups and shims", test_scan_finds_each_kind);
	CU_add_test(s, "compare: only new things of gone ids, described", test_compare_new_and_dead);
	CU_add_test(s, "cgroup v2, escaped mount points, a missing mountinfo", test_v2_escapes_errors);
	CU_add_test(s, "the lab's dirs and containerd's defaults", test_lab_paths);
	CU_add_test(s, "a report cut by SIGINT is the old file or the whole new one", test_report_sigint);
}
