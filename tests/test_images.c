/* Test images for any endpoint (harness/images.c). Unit: prefixes, images files, the
 * pull advice. Integration: `critic images serve` + a containerd started by hand. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "images.h"
#include "tests.h"
#include "util.h"

/* ------------------------------------------------------------ unit */

static void test_prefix(void)
{
	crit_err e;
	char host[128];
	err_clear(&e);
	CU_ASSERT_EQUAL(img_check_prefix("127.0.0.1:5000/critic", host, sizeof host, &e), 0);
	CU_ASSERT_STRING_EQUAL(host, "127.0.0.1:5000");
	CU_ASSERT_EQUAL(img_check_prefix("registry.example.com/a/b/", host, sizeof host, &e), 0);
	CU_ASSERT_STRING_EQUAL(host, "registry.example.com");
	CU_ASSERT_EQUAL(img_check_prefix("myreg:443", host, sizeof host, &e), 0);
	CU_ASSERT_STRING_EQUAL(host, "myreg:443");
	static const char *const bad[] = {
		"", "http://127.0.0.1:5000/critic", "/critic", "Reg.example.com/x", "127.0.0.1:5000/critic:1.0",
		"127.0.0.1:0/x", "127.0.0.1:99999/x", "127.0.0.1:5000//x", "a b/c", "reg/x@sha256:00",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&e);
		int rc = img_check_prefix(bad[i], host, sizeof host, &e);
		CU_ASSERT_EQUAL(rc, -ERR_CONFIG);
		if (rc != -ERR_CONFIG)
			printf("\n    '%s' accepted as a prefix", bad[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--registry-prefix"));
	}
	img_set s;
	CU_ASSERT_EQUAL(img_from_prefix("reg.local:5000/ci/critic/", &s, &e), 0);
	size_t n_roles;
	lab_image_roles(&n_roles);
	CU_ASSERT_EQUAL(s.n, n_roles);
	const img_ref *bb = img_find(&s, "busybox");
	CU_ASSERT_PTR_NOT_NULL_FATAL(bb);
	CU_ASSERT_STRING_EQUAL(bb->ref, "reg.local:5000/ci/critic/busybox:1.0");
	CU_ASSERT_STRING_EQUAL(bb->digest, "");
	CU_ASSERT_PTR_NOT_NULL(img_find(&s, "image-b"));
	CU_ASSERT_PTR_NULL(img_find(&s, "nginx"));
}

static char *write_tmp(const char *text)
{
	char *p = strdup("/tmp/critic-images-test-XXXXXX");
	int fd = mkstemp(p);
	if (fd < 0)
		return p;
	ssize_t w = write(fd, text, strlen(text));
	(void)w;
	close(fd);
	return p;
}

static void test_images_file(void)
{
	static const char good[] =
		"# a mirror\n"
		"\n"
		"busybox  reg.local/critic/busybox:1.0   sha256:edbeac7d92fe8df9e98a70a3f402802808805de1dd891f7eb53c7ff1a86ee63b\n"
		"image-a\treg.local/critic/image-a:1.0 # no digest\n"
		"pause reg.local/other/pause:3.9\n";
	cleanup_free char *p = write_tmp(good);
	crit_err e;
	err_clear(&e);
	img_set s;
	CU_ASSERT_EQUAL_FATAL(img_from_file(p, &s, &e), 0);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_STRING_EQUAL(img_find(&s, "busybox")->digest,
			       "sha256:edbeac7d92fe8df9e98a70a3f402802808805de1dd891f7eb53c7ff1a86ee63b");
	CU_ASSERT_STRING_EQUAL(img_find(&s, "image-a")->ref, "reg.local/critic/image-a:1.0");
	CU_ASSERT_STRING_EQUAL(img_find(&s, "image-a")->digest, "");
	CU_ASSERT_STRING_EQUAL(img_find(&s, "pause")->ref, "reg.local/other/pause:3.9");

	/* What critic writes, it reads back the same. */
	cleanup_free char *p2 = write_tmp("");
	CU_ASSERT_EQUAL(img_write_file(p2, &s, &e), 0);
	img_set s2;
	CU_ASSERT_EQUAL_FATAL(img_from_file(p2, &s2, &e), 0);
	CU_ASSERT_EQUAL(s2.n, s.n);
	for (size_t i = 0; i < s.n && i < s2.n; i++) {
		CU_ASSERT_STRING_EQUAL(s2.r[i].ref, s.r[i].ref);
		CU_ASSERT_STRING_EQUAL(s2.r[i].digest, s.r[i].digest);
	}
	unlink(p);
	unlink(p2);

	/* Each bad line is named by FILE:LINE and why. */
	static const struct { const char *text, *want; } bad[] = {
		{ "busybox reg/critic/busybox:1.0\nnginx reg/x/nginx:1\n", ":2: unknown role 'nginx'" },
		{ "busybox reg/critic/busybox\n", ":1: 'reg/critic/busybox': give the reference with its tag" },
		{ "busybox reg/critic/busybox:1.0 sha256:abc\n", ":1: 'sha256:abc' is not a digest" },
		{ "busybox\n", ":1: want 'ROLE REFERENCE [DIGEST]'" },
		{ "busybox a/b:1 c d\n", ":1: want 'ROLE REFERENCE [DIGEST]'" },
		{ "busybox a/b:1\nbusybox a/c:1\n", ":2: role 'busybox' given twice" },
		{ "busybox Reg/B:1\n", ":1: 'Reg/B:1' is not a reference" },
		{ "# only a comment\n", "no 'ROLE REFERENCE' line" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cleanup_free char *bp = write_tmp(bad[i].text);
		err_clear(&e);
		CU_ASSERT_EQUAL(img_from_file(bp, &s, &e), -ERR_CONFIG);
		bool ok = strstr(e.msg, bad[i].want) && strstr(e.msg, bp);
		CU_ASSERT(ok);
		if (!ok)
			printf("\n    case %zu: '%s' lacks '%s'", i, e.msg, bad[i].want);
		unlink(bp);
	}
	err_clear(&e);
	CU_ASSERT_EQUAL(img_from_file("/nonexistent/critic-images.txt", &s, &e), -ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/critic-images.txt"));
}

static void test_pull_advice(void)
{
	char out[3000];
	const char *ref = "127.0.0.1:5000/critic/busybox:1.0";
	/* containerd 1.6's message for a plain-HTTP registry without hosts.toml */
	const char *http = "PullImage on unix:///x: UNKNOWN: failed to pull and unpack image \"127.0.0.1:5000/critic/"
			   "busybox:1.0\": failed to resolve reference: failed to do request: Head \"https://127.0.0.1:"
			   "5000/v2/critic/busybox/manifests/1.0\": http: server gave HTTP response to HTTPS client";
	img_pull_advice(http, ref, "containerd", out, sizeof out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "plain HTTP"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "/etc/containerd/certs.d/127.0.0.1:5000/hosts.toml"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[host.\"http://127.0.0.1:5000\"]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "config_path = \"/etc/containerd/certs.d\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "systemctl restart containerd"));
	CU_ASSERT_PTR_NULL(strstr(out, "registries.conf"));

	img_pull_advice(http, ref, "cri-o", out, sizeof out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "registries.conf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "location = \"127.0.0.1:5000\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "insecure = true"));
	CU_ASSERT_PTR_NULL(strstr(out, "hosts.toml"));

	img_pull_advice("dial tcp 127.0.0.1:5000: connect: connection refused", ref, "containerd", out, sizeof out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "nothing accepts connections"));
	img_pull_advice("dial tcp: lookup reg.invalid on 10.0.0.2:53: no such host", "reg.invalid/critic/busybox:1.0",
			"vendor-rt", out, sizeof out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "reg.invalid"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cannot resolve"));
	img_pull_advice("failed to resolve reference: 127.0.0.1:5000/critic/busybox:1.0: not found", ref, "containerd",
			out, sizeof out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "critic images push"));
	/* A failure that has nothing to do with the registry: no advice. */
	img_pull_advice("failed to unpack: no space left on device", ref, "containerd", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "");
}

void tests_register_images(void)
{
	CU_pSuite s = CU_add_suite("unit/images", NULL, NULL);
	if (!s)
		return;
	CU_add_test(s, "--registry-prefix: accepted and refused forms, references per role", test_prefix);
	CU_add_test(s, "images file: read, write, read back; bad lines named FILE:LINE", test_images_file);
	CU_add_test(s, "pull advice: hosts.toml for containerd, registries.conf for CRI-O, none otherwise",
		    test_pull_advice);
}

/* ------------------------------------------------------------ integration */

/* A containerd started by hand for the test (not through the lab): its own
 * root, state, socket, config.toml, CNI bridge and certs.d. */
static struct {
	char critic[PATH_MAX];
	char dir[200];        /* everything of this test lives here */
	char sock[256];
	char prefix[200];     /* from `critic images serve` */
	char reg_host[64];    /* 127.0.0.1:PORT */
	char bridge[16];
	pid_t serve_pid, containerd_pid;
	bool ready;
} H;

static char *hpath(const char *rel)
{
	return util_strdup_printf("%s/%s", H.dir, rel);
}

static int run_out(char *const argv[], int timeout_ms, char **out)
{
	crit_err e;
	err_clear(&e);
	int rc = util_run(argv, timeout_ms, out, &e);
	if (rc < 0)
		printf("\n    %s: %s", argv[0], e.msg);
	return rc;
}

/* Stop what this suite started: the serve process (it stops its registry),
 * containerd, then the shims that served its socket. */
static void hand_teardown(void)
{
	if (H.containerd_pid > 0) {
		kill(H.containerd_pid, SIGTERM);
		if (!util_wait_pid_dead(H.containerd_pid, 15000))
			kill(H.containerd_pid, SIGKILL);
		waitpid(H.containerd_pid, NULL, 0);
		H.containerd_pid = 0;
	}
	/* Shims of pods a failed run left: each names our socket. */
	if (H.sock[0]) {
		cleanup_free char *needle = util_strdup_printf("-address %s", H.sock);
		for (int pass = 0; pass < 2; pass++) {
			char *ls[] = { "ps", "-eo", "pid=,args=", NULL };
			cleanup_free char *ps = NULL;
			if (run_out(ls, 10000, &ps) != 0 || !ps)
				break;
			char *save = NULL;
			for (char *l = strtok_r(ps, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				if (strstr(l, needle) && strstr(l, "containerd-shim")) {
					pid_t pid = (pid_t)atoi(l);
					if (pid > 1)
						kill(pid, pass ? SIGKILL : SIGTERM);
				}
			util_sleep_ms(500);
		}
	}
	if (H.serve_pid > 0) {
		kill(H.serve_pid, SIGTERM);
		if (!util_wait_pid_dead(H.serve_pid, 15000))
			kill(H.serve_pid, SIGKILL);
		waitpid(H.serve_pid, NULL, 0);
		H.serve_pid = 0;
	}
	/* Mounts a killed pod left under our dir, deepest first. */
	for (int pass = 0; pass < 3 && H.dir[0]; pass++) {
		cleanup_free char *mi = NULL;
		if (util_read_file("/proc/self/mountinfo", &mi, NULL, NULL) < 0)
			break;
		int left = 0;
		char *save = NULL;
		for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char mp[PATH_MAX];
			if (sscanf(l, "%*s %*s %*s %*s %4095s", mp) == 1 && util_has_prefix(mp, H.dir) &&
			    (mp[strlen(H.dir)] == '/' || !mp[strlen(H.dir)])) {
				if (umount2(mp, MNT_DETACH) == 0)
					left++;
			}
		}
		if (!left)
			break;
	}
	if (H.bridge[0]) {
		char *del[] = { "ip", "link", "del", H.bridge, NULL };
		run_out(del, 10000, NULL);
	}
}

static int images_lab_init(void)
{
	memset(&H, 0, sizeof H);
	if (tests_beside("critic", H.critic, sizeof H.critic) < 0)
		return -1;
	snprintf(H.dir, sizeof H.dir, "%.150s-hand", tests_lab_dir());
	snprintf(H.sock, sizeof H.sock, "%s/containerd.sock", H.dir);
	snprintf(H.bridge, sizeof H.bridge, "crith%05x", (unsigned)getpid() & 0xfffff);
	return 0;
}

static int images_lab_cleanup(void)
{
	hand_teardown();
	if (H.dir[0]) {
		int procs = tests_lab_processes(H.dir);
		int mounts = tests_lab_mounts(H.dir);
		if (procs || mounts > 0)
			printf("\n    left behind in %s: %d processes, %d mounts", H.dir, procs, mounts);
	}
	return 0;
}

static void test_serve(void)
{
	if (geteuid() != 0) {
		printf("\n    skipped: needs root");
		return;
	}
	crit_err e;
	err_clear(&e);
	cleanup_free char *state = hpath("state");
	cleanup_free char *root = hpath("root");
	/* A fresh containerd root and state (never removed over a mount a
	 * crashed run left); the images' build cache in serve/ is kept. */
	if (tests_lab_mounts(H.dir) == 0) {
		util_rm_rf(state, NULL);
		util_rm_rf(root, NULL);
	}
	cleanup_free char *serve_dir = hpath("serve");
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(serve_dir, 0755, &e), 0);
	cleanup_free char *log = hpath("serve.out");
	unlink(log);
	char *argv[] = { H.critic, "images", "serve", "--listen", "127.0.0.1:0", "--dir", serve_dir, NULL };
	H.serve_pid = util_spawn_daemon(argv, log, &e);
	CU_ASSERT_FATAL(H.serve_pid > 0);
	/* Building the images takes a few seconds; a loaded machine, more. */
	int64_t end = util_now_ms() + 300000;
	while (util_now_ms() < end && util_pid_alive(H.serve_pid)) {
		cleanup_free char *text = NULL;
		if (util_read_file(log, &text, NULL, NULL) == 0 && strstr(text, "serving until")) {
			const char *p = strstr(text, "registry prefix: ");
			if (p)
				sscanf(p + 17, "%199s", H.prefix);
			break;
		}
		util_sleep_ms(200);
	}
	cleanup_free char *text = NULL;
	util_read_file(log, &text, NULL, NULL);
	if (!H.prefix[0])
		printf("\n    critic images serve said:\n%s", text ? text : "(nothing)");
	CU_ASSERT_FATAL(H.prefix[0] != '\0');
	snprintf(H.reg_host, sizeof H.reg_host, "%.*s", (int)strcspn(H.prefix, "/"), H.prefix);
	CU_ASSERT(util_has_prefix(H.prefix, "127.0.0.1:") && strstr(H.prefix, "/critic"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "critic run --runtime-endpoint"));
	/* list asks the registry: every role has a digest, the one serve wrote. */
	char *list[] = { H.critic, "images", "list", "--registry-prefix", H.prefix, NULL };
	cleanup_free char *out = NULL;
	CU_ASSERT_EQUAL(run_out(list, 60000, &out), 0);
	cleanup_free char *ifile = util_strdup_printf("%s/%s", serve_dir, IMG_FILE_NAME);
	img_set s;
	CU_ASSERT_EQUAL_FATAL(img_from_file(ifile, &s, &e), 0);
	for (size_t i = 0; i < s.n; i++) {
		CU_ASSERT(s.r[i].digest[0] != '\0');
		CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, s.r[i].digest) : NULL);
	}
	printf("\n    prefix %s", H.prefix);
}

/* A free /24 in 10.236.0.0/16 for the hand-made bridge. */
static int free_subnet(void)
{
	for (int i = 0; i < 256; i++) {
		int oct = ((int)getpid() + i) & 0xff;
		cleanup_free char *net = util_strdup_printf("10.236.%d.0/24", oct);
		char *argv[] = { "ip", "-4", "route", "show", "to", "match", net, NULL };
		cleanup_free char *out = NULL;
		if (run_out(argv, 10000, &out) == 0 && (!out || !strstr(out, "10.236.")))
			return oct;
	}
	return -1;
}

static void test_hand_containerd(void)
{
	if (geteuid() != 0 || !H.prefix[0]) {
		printf("\n    skipped: %s", geteuid() ? "needs root" : "no registry (serve failed)");
		return;
	}
	crit_err e;
	err_clear(&e);
	cleanup_free char *certs = hpath("certs.d");
	util_rm_rf(certs, NULL); /* hosts.toml of earlier runs' ports */
	static const char *const dirs[] = { "root", "state", "net.d", "ipam", "certs.d", "runc", "opt" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		cleanup_free char *p = hpath(dirs[i]);
		CU_ASSERT_EQUAL_FATAL(util_mkdir_p(p, 0755, &e), 0);
	}
	int oct = free_subnet();
	CU_ASSERT_FATAL(oct >= 0);
	cleanup_free char *cni = util_strdup_printf(
		"{ \"cniVersion\": \"1.0.0\", \"name\": \"critic-hand\", \"plugins\": [\n"
		"  { \"type\": \"bridge\", \"bridge\": \"%s\", \"isGateway\": true, \"ipMasq\": false,\n"
		"    \"ipam\": { \"type\": \"host-local\", \"dataDir\": \"%s/ipam\",\n"
		"      \"ranges\": [[{ \"subnet\": \"10.236.%d.0/24\" }]], \"routes\": [{ \"dst\": \"0.0.0.0/0\" }] } },\n"
		"  { \"type\": \"portmap\", \"capabilities\": { \"portMappings\": true } } ] }\n",
		H.bridge, H.dir, oct);
	cleanup_free char *cni_path = hpath("net.d/10-critic-hand.conflist");
	CU_ASSERT_EQUAL_FATAL(util_write_file(cni_path, cni, strlen(cni), 0644, &e), 0);
	const char *cni_bin = util_exists("/usr/lib/cni/bridge") ? "/usr/lib/cni" : "/opt/cni/bin";
	/* The config a user would write: the pause image from the served
	 * registry (no internet here), registries under certs.d. */
	cleanup_free char *cfg = util_strdup_printf(
		"# written by critic's tests: a containerd started by hand\n"
		"version = 2\n"
		"root = \"%s/root\"\n"
		"state = \"%s/state\"\n"
		"oom_score = 0\n"
		"[grpc]\n  address = \"%s\"\n"
		"[ttrpc]\n  address = \"%s.ttrpc\"\n"
		"[debug]\n  address = \"\"\n"
		"[metrics]\n  address = \"\"\n"
		"[plugins]\n"
		"  [plugins.\"io.containerd.internal.v1.opt\"]\n    path = \"%s/opt\"\n"
		"  [plugins.\"io.containerd.grpc.v1.cri\"]\n"
		"    sandbox_image = \"%s/pause:1.0\"\n"
		"    restrict_oom_score_adj = true\n"
		"    stream_server_address = \"127.0.0.1\"\n"
		"    stream_server_port = \"0\"\n"
		"    [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
		"      snapshotter = \"overlayfs\"\n"
		"      default_runtime_name = \"runc\"\n"
		"      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
		"        runtime_type = \"io.containerd.runc.v2\"\n"
		"        [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n"
		"          Root = \"%s/runc\"\n"
		"    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
		"      bin_dir = \"%s\"\n"
		"      conf_dir = \"%s/net.d\"\n"
		"      max_conf_num = 1\n"
		"    [plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
		"      config_path = \"%s/certs.d\"\n",
		H.dir, H.dir, H.sock, H.sock, H.dir, H.prefix, H.dir, cni_bin, H.dir, H.dir);
	cleanup_free char *cfg_path = hpath("config.toml");
	CU_ASSERT_EQUAL_FATAL(util_write_file(cfg_path, cfg, strlen(cfg), 0644, &e), 0);
	/* The hosts.toml for the served registry comes later (test_conformance),
	 * as a user would write it after reading the README. */
	cleanup_free char *hosts_dir = util_strdup_printf("%s/certs.d/%s", H.dir, H.reg_host);
	util_rm_rf(hosts_dir, NULL);

	unlink(H.sock);
	cleanup_free char *log = hpath("containerd.log");
	char *argv[] = { "containerd", "--config", cfg_path, NULL };
	H.containerd_pid = util_spawn_daemon(argv, log, &e);
	CU_ASSERT_FATAL(H.containerd_pid > 0);
	int64_t end = util_now_ms() + 30000;
	while (util_now_ms() < end && util_pid_alive(H.containerd_pid) && !util_exists(H.sock))
		util_sleep_ms(100);
	CU_ASSERT_FATAL(util_exists(H.sock));
	cleanup_free char *ep = util_strdup_printf("unix://%s", H.sock);
	char *ver[] = { H.critic, "-r", ep, "version", NULL };
	cleanup_free char *vout = NULL;
	int rc = -1;
	for (end = util_now_ms() + 30000; util_now_ms() < end; util_sleep_ms(200)) {
		free(vout);
		vout = NULL;
		if ((rc = run_out(ver, 20000, &vout)) == 0)
			break;
	}
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0)
		H.ready = true;
	else
		printf("\n    critic version: %s", vout ? vout : "");
}

/* Without --registry-prefix: the image tests skip with the one reason, and
 * the run says so once at the start. */
static void test_no_prefix_skips(void)
{
	if (!H.ready) {
		printf("\n    skipped: no hand-started containerd");
		return;
	}
	cleanup_free char *ep = util_strdup_printf("unix://%s", H.sock);
	char *argv[] = { H.critic, "-r", ep, "run", "--no-color", "--focus", "^image/(pull-by-tag|status-user-uid)$", NULL };
	cleanup_free char *out = NULL;
	int rc = run_out(argv, 120000, &out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "2 skipped") : NULL);
	/* Once at the start, once per skipped test line. */
	int n = 0;
	for (const char *p = out; p && (p = strstr(p, TST_NO_IMAGES)); p++)
		n++;
	CU_ASSERT_EQUAL(n, 3);
	if (rc != 0 || n != 3)
		printf("\n    critic run said (rc %d):\n%s", rc, out ? out : "");
}

/* The bridge's own address (CNI gives it 10.236.X.1 with the first pod):
 * an address of this host that containerd does not treat as loopback. */
static bool bridge_ip(char *out, size_t len)
{
	char *argv[] = { "ip", "-4", "-o", "addr", "show", "dev", H.bridge, NULL };
	cleanup_free char *o = NULL;
	const char *p;
	if (run_out(argv, 10000, &o) != 0 || !o || !(p = strstr(o, "inet ")))
		return false;
	snprintf(out, len, "%.*s", (int)strcspn(p + 5, "/ \n"), p + 5);
	return out[0] != '\0';
}

/* A registry the runtime reaches only over plain HTTP, with no hosts.toml
 * for it: one error with the fix, exit 3, no test run. containerd 1.6 pulls
 * from loopback registries over plain HTTP by itself, so this registry
 * listens on the hand-made bridge's address instead. */
static void test_preflight_plain_http(void)
{
	char ip[48];
	if (!H.ready || !bridge_ip(ip, sizeof ip)) {
		printf("\n    skipped: %s", H.ready ? "the bridge has no address (no pod ran)" : "no hand-started containerd");
		return;
	}
	crit_err e;
	err_clear(&e);
	cleanup_free char *dir2 = hpath("serve2");
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(dir2, 0755, &e), 0);
	cleanup_free char *listen = util_strdup_printf("%s:0", ip);
	char *sargv[] = { H.critic, "images", "serve", "--detach", "--listen", listen, "--dir", dir2, NULL };
	cleanup_free char *sout = NULL;
	int rc = run_out(sargv, 300000, &sout);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	char prefix[200] = "";
	const char *pp = sout ? strstr(sout, "registry prefix: ") : NULL;
	if (pp)
		sscanf(pp + 17, "%199s", prefix);
	CU_ASSERT_FATAL(prefix[0] != '\0');
	char host[64];
	snprintf(host, sizeof host, "%.*s", (int)strcspn(prefix, "/"), prefix);
	cleanup_free char *ep = util_strdup_printf("unix://%s", H.sock);
	char *argv[] = { H.critic, "-r", ep, "run", "--no-color", "--registry-prefix", prefix, "--focus", "^image/",
			 NULL };
	cleanup_free char *out = NULL;
	int64_t t0 = util_now_ms();
	rc = run_out(argv, 180000, &out);
	int64_t ms = util_now_ms() - t0;
	char *stop[] = { H.critic, "images", "stop", "--dir", dir2, NULL };
	CU_ASSERT_EQUAL(run_out(stop, 30000, NULL), 0);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "server gave HTTP response to HTTPS client") : NULL);
	cleanup_free char *want = util_strdup_printf("/etc/containerd/certs.d/%s/hosts.toml", host);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, want) : NULL);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "config_path = \"/etc/containerd/certs.d\"") : NULL);
	CU_ASSERT_PTR_NOT_NULL(out ? strstr(out, "systemctl restart containerd") : NULL);
	CU_ASSERT_PTR_NULL(out ? strstr(out, "PASS") : NULL);
	CU_ASSERT_PTR_NULL(out ? strstr(out, "FAIL") : NULL);
	printf("\n    exit %d after %lld ms; critic run said:\n%s", rc, (long long)ms, out ? out : "");

	/* A registry nobody listens on: connection refused, exit 3 as well. */
	char dead[64];
	snprintf(dead, sizeof dead, "127.0.0.1:1/critic");
	char *argv2[] = { H.critic, "-r", ep, "run", "--no-color", "--registry-prefix", dead, "--focus", "^image/", NULL };
	cleanup_free char *out2 = NULL;
	rc = run_out(argv2, 180000, &out2);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT_PTR_NOT_NULL(out2 ? strstr(out2, "connection refused") : NULL);
	CU_ASSERT_PTR_NOT_NULL(out2 ? strstr(out2, "nothing accepts connections") : NULL);
}

/* The Done-when: with the hosts.toml a user writes, the conformance suites
 * pass against the hand-started containerd with the served images. */
static void test_conformance(void)
{
	if (!H.ready) {
		printf("\n    skipped: no hand-started containerd");
		return;
	}
	crit_err e;
	err_clear(&e);
	cleanup_free char *ep = util_strdup_printf("unix://%s", H.sock);
	/* A fact the README states: containerd pulls from a loopback registry
	 * over plain HTTP even without a hosts.toml for it. */
	char *one[] = { H.critic, "-r", ep, "run", "--no-color", "--registry-prefix", H.prefix, "--focus",
			"^image/pull-by-tag$", NULL };
	cleanup_free char *oout = NULL;
	int orc = run_out(one, 180000, &oout);
	CU_ASSERT_EQUAL(orc, 0);
	if (orc != 0)
		printf("\n    without hosts.toml (rc %d):\n%s", orc, oout ? oout : "");
	cleanup_free char *hosts_dir = util_strdup_printf("%s/certs.d/%s", H.dir, H.reg_host);
	CU_ASSERT_EQUAL_FATAL(util_mkdir_p(hosts_dir, 0755, &e), 0);
	cleanup_free char *hosts = util_strdup_printf("server = \"http://%s\"\n[host.\"http://%s\"]\n"
						      "  capabilities = [\"pull\", \"resolve\"]\n",
						      H.reg_host, H.reg_host);
	cleanup_free char *hosts_path = util_strdup_printf("%s/hosts.toml", hosts_dir);
	CU_ASSERT_EQUAL_FATAL(util_write_file(hosts_path, hosts, strlen(hosts), 0644, &e), 0);
	/* Every conformance test; CRITIC_TEST_IMAGES_FOCUS=RE narrows it. */
	const char *focus = getenv("CRITIC_TEST_IMAGES_FOCUS");
	char *argv[] = { H.critic, "-r", ep, "run", "--no-color", "--registry-prefix", H.prefix,
			 focus && *focus ? "--focus" : NULL, (char *)focus, NULL };
	cleanup_free char *out = NULL;
	int64_t t0 = util_now_ms();
	int rc = run_out(argv, 1800000, &out);
	int64_t ms = util_now_ms() - t0;
	CU_ASSERT_EQUAL(rc, 0);
	const char *sum = out ? strstr(out, " tests: ") : NULL;
	const char *bol = sum;
	while (bol && bol > out && bol[-1] != '\n')
		bol--;
	printf("\n    %.*s (%.0f s)", bol ? (int)strcspn(bol, "\n") : 0, bol ? bol : "", ms / 1000.0);
	CU_ASSERT_PTR_NOT_NULL(sum ? strstr(sum, " 0 failed") : NULL);
	if (rc != 0 && out) {
		/* The failures, not the whole run. */
		char *save = NULL;
		for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (strstr(l, "FAIL") || strstr(l, "TIMEOUT") || strstr(l, "CRASH") || strstr(l, "critic:") ||
			    l[0] == ' ')
				printf("\n    %s", l);
	} else if (out) {
		char *save = NULL;
		for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (strstr(l, "SKIP"))
				printf("\n    %s", l);
	}
}

void tests_register_images_lab(void)
{
	CU_pSuite s = CU_add_suite("integration/images", images_lab_init, images_lab_cleanup);
	if (!s)
		return;
	CU_add_test(s, "critic images serve on a free port: prefix, images file, list with digests", test_serve);
	CU_add_test(s, "a containerd started by hand (own config.toml, CNI, certs.d) answers", test_hand_containerd);
	CU_add_test(s, "no --registry-prefix: image tests skip with one reason, said once at the start",
		    test_no_prefix_skips);
	CU_add_test(s, "loopback registry pulls without hosts.toml; with it, the conformance suites pass",
		    test_conformance);
	CU_add_test(s, "registry unreachable (plain HTTP, refused): one error with the fix, exit 3",
		    test_preflight_plain_http);
}
