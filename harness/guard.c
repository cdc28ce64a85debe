#include "guard.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grpc/grpc.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "endpoint.h"
#include "tst.h" /* TST_LABEL_OWNER */
#include "util.h"

/* The kubelet's default when it names no endpoint (since the dockershim
 * went, v1.24: the containerRuntimeEndpoint default in its config). */
#define KUBELET_DEFAULT_ENDPOINT "unix:///run/containerd/containerd.sock"

static const char *const default_sockets[] = {
	"/run/containerd/containerd.sock",
	"/run/crio/crio.sock",
};

/* The socket path of endpoint in a form two spellings of one socket share:
 * /var/run is /run on every distribution the kubelet runs on, and links are
 * resolved where the path exists. false when it is no unix endpoint. */
static bool socket_key(const char *endpoint, char *out, size_t len)
{
	char canon[EP_MAX], path[EP_MAX];
	if (!endpoint || ep_parse(endpoint, canon, sizeof canon, path, sizeof path, NULL) < 0)
		return false;
	char real[PATH_MAX];
	const char *p = realpath(path, real) ? real : path;
	if (util_has_prefix(p, "/var/run/"))
		p += strlen("/var");
	snprintf(out, len, "%s", p);
	return true;
}

static bool same_socket(const char *a, const char *b)
{
	char ka[PATH_MAX], kb[PATH_MAX];
	return socket_key(a, ka, sizeof ka) && socket_key(b, kb, sizeof kb) && !strcmp(ka, kb);
}

bool guard_is_default_endpoint(const char *endpoint)
{
	for (size_t i = 0; i < ARRAY_SIZE(default_sockets); i++)
		if (same_socket(endpoint, default_sockets[i]))
			return true;
	return false;
}

/* Read a small file whole (at most cap bytes); NULL when it cannot be read. */
static char *read_small(const char *path, size_t cap, size_t *len)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = malloc(cap + 1);
	if (!buf)
		return NULL;
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* containerRuntimeEndpoint from a kubelet config file (YAML or JSON): the
 * top-level key, its value unquoted. false when absent or unreadable. */
static bool config_endpoint(const char *file, char *out, size_t len)
{
	size_t n;
	cleanup_free char *text = read_small(file, 1 << 20, &n);
	if (!text)
		return false;
	static const char key[] = "containerRuntimeEndpoint";
	for (char *p = text; (p = strstr(p, key)); p += sizeof key - 1) {
		/* The key starts a line (YAML) or follows a quote (JSON). */
		bool quoted = p > text && p[-1] == '"';
		char *start = quoted ? p - 1 : p;
		if (start > text && start[-1] != '\n' && !(quoted && (start[-1] == '{' || start[-1] == ',' ||
								      isspace((unsigned char)start[-1]))))
			continue;
		char *v = p + sizeof key - 1;
		if (quoted && *v == '"')
			v++;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != ':')
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		char q = (*v == '"' || *v == '\'') ? *v++ : 0;
		size_t k = 0;
		while (v[k] && v[k] != '\n' && (q ? v[k] != q : (v[k] != ' ' && v[k] != '#' && v[k] != ',' && v[k] != '}')))
			k++;
		while (!q && k && (v[k - 1] == '\r' || v[k - 1] == ' '))
			k--;
		if (!k)
			return false;
		snprintf(out, len, "%.*s", (int)k, v);
		return true;
	}
	return false;
}

/* The value of a long flag given as "--name=V" or "--name V" (Go's flag
 * packages also take one dash). */
static const char *flag_value(char **argv, int argc, const char *name)
{
	size_t n = strlen(name);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			continue;
		a += a[1] == '-' ? 2 : 1;
		if (strncmp(a, name, n))
			continue;
		if (a[n] == '=')
			return a + n + 1;
		if (!a[n] && i + 1 < argc)
			return argv[i + 1];
	}
	return NULL;
}

static bool is_kubelet(const char *proc_root, const char *pid, const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	if (!strcmp(base ? base + 1 : argv0, "kubelet"))
		return true;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s/comm", proc_root, pid);
	size_t n;
	cleanup_free char *comm = read_small(path, 64, &n);
	if (!comm)
		return false;
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, "kubelet");
}

static void check_process(const char *proc_root, const char *pid, const char *endpoint, bool dflt, guard_report *r)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s/cmdline", proc_root, pid);
	size_t len;
	cleanup_free char *cmd = read_small(path, 64 * 1024, &len);
	if (!cmd || !len)
		return; /* gone, or a kernel thread */
	/* Split the NUL-separated arguments. */
	char *argv[256];
	int argc = 0;
	for (size_t off = 0; off < len && argc < (int)ARRAY_SIZE(argv); off += strlen(cmd + off) + 1)
		argv[argc++] = cmd + off;
	if (!is_kubelet(proc_root, pid, argv[0]))
		return;

	char named[512] = "", why[256] = "";
	const char *flag = flag_value(argv, argc, "container-runtime-endpoint");
	const char *cfg = flag_value(argv, argc, "config");
	if (flag)
		snprintf(named, sizeof named, "%s", flag);
	else if (cfg) {
		/* Read the file as the kubelet sees it: through its root (it may
		 * run in another mount namespace) or its working directory. */
		char cpath[PATH_MAX];
		snprintf(cpath, sizeof cpath, "%s/%s/%s/%s", proc_root, pid, cfg[0] == '/' ? "root" : "cwd", cfg);
		if (!config_endpoint(cpath, named, sizeof named) && cfg[0] == '/')
			config_endpoint(cfg, named, sizeof named);
	}
	bool uses;
	if (named[0]) {
		uses = same_socket(named, endpoint);
		snprintf(why, sizeof why, "%s names it", flag ? "--container-runtime-endpoint" : "containerRuntimeEndpoint in --config");
	} else {
		uses = same_socket(KUBELET_DEFAULT_ENDPOINT, endpoint);
		snprintf(why, sizeof why, "it names no endpoint and its default is " KUBELET_DEFAULT_ENDPOINT);
	}
	if (!uses && dflt) {
		/* A default socket: assume any kubelet may use it. */
		uses = true;
		snprintf(why, sizeof why, "the endpoint is a default runtime socket and a kubelet runs (it names %.180s)",
			 named[0] ? named : "none");
	}
	if (!uses) {
		r->n_other_kubelets++;
		return;
	}
	if (r->n_kubelets < GUARD_MAX_KEPT) {
		guard_kubelet *k = &r->kubelets[r->n_kubelets];
		k->pid = (pid_t)atoi(pid);
		size_t o = 0;
		k->cmdline[0] = '\0';
		for (int i = 0; i < argc && o + 1 < sizeof k->cmdline; i++)
			o += (size_t)snprintf(k->cmdline + o, sizeof k->cmdline - o, "%s%s", i ? " " : "", argv[i]);
		snprintf(k->endpoint, sizeof k->endpoint, "%s", named);
		snprintf(k->why, sizeof k->why, "%s", why);
	}
	r->n_kubelets++;
}

int guard_scan_procs(const char *proc_root, const char *endpoint, guard_report *r, crit_err *e)
{
	if (!proc_root)
		proc_root = "/proc";
	char canon[EP_MAX];
	int rc = ep_parse(endpoint, canon, sizeof canon, NULL, 0, e);
	if (rc < 0)
		return rc;
	r->n_kubelets = r->n_other_kubelets = 0;
	memset(r->kubelets, 0, sizeof r->kubelets);
	DIR *d = opendir(proc_root);
	if (!d)
		return err_set(e, -errno, "open %s: %s", proc_root, strerror(errno));
	bool dflt = guard_is_default_endpoint(canon);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *p = de->d_name;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == de->d_name || *p)
			continue;
		check_process(proc_root, de->d_name, canon, dflt, r);
	}
	closedir(d);
	return 0;
}

typedef struct {
	ProtobufCMessage base;
	char *key;
	char *value;
} kv_entry;

static const char *label(void *const *entries, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		const kv_entry *ent = entries[i];
		if (ent->key && !strcmp(ent->key, key))
			return ent->value;
	}
	return NULL;
}

int guard_scan_pods(cri_conn *c, guard_report *r, crit_err *e)
{
	r->pods_checked = false;
	r->n_kube_pods = 0;
	r->pods_error[0] = '\0';
	memset(r->kube_pods, 0, sizeof r->kube_pods);
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	cleanup_cri Runtime__V1__ListPodSandboxResponse *resp = NULL;
	crit_err le;
	err_clear(&le);
	int rc = CRI_CALL(c, ListPodSandbox, &req, &resp, &le);
	if (rc < 0) {
		snprintf(r->pods_error, sizeof r->pods_error, "%s", le.msg);
		if (e)
			*e = le;
		return rc;
	}
	r->pods_checked = true;
	for (size_t i = 0; i < resp->n_items; i++) {
		const Runtime__V1__PodSandbox *p = resp->items[i];
		void *const *l = (void *const *)p->labels;
		const char *name = label(l, p->n_labels, GUARD_LABEL_POD_NAME),
			   *ns = label(l, p->n_labels, GUARD_LABEL_POD_NAMESPACE),
			   *owner = label(l, p->n_labels, TST_LABEL_OWNER);
		if (!name && !ns && !label(l, p->n_labels, GUARD_LABEL_POD_UID))
			continue;
		if (owner && !strcmp(owner, "critic"))
			continue; /* critic's own imitation of a kubelet pod */
		if (r->n_kube_pods < GUARD_MAX_KEPT)
			snprintf(r->kube_pods[r->n_kube_pods], sizeof r->kube_pods[0], "%.60s/%.60s (%.13s)",
				 ns ? ns : "?", name ? name : "?", p->id);
		r->n_kube_pods++;
	}
	return 0;
}

int guard_check_conn(cri_conn *c, const char *proc_root, guard_report *r, crit_err *e)
{
	memset(r, 0, sizeof *r);
	int rc = guard_scan_procs(proc_root, cri_endpoint(c), r, e);
	if (rc < 0)
		return rc;
	guard_scan_pods(c, r, NULL);
	return 0;
}

/* What the pod-listing child sends back. */
typedef struct {
	bool checked;
	int n;
	char pods[GUARD_MAX_KEPT][160];
	char error[1024];
} pods_msg;

/* The pod part over a connection of this process's own. */
static void pods_in_process(const char *endpoint, int timeout_ms, guard_report *r)
{
	cri_conn *c = NULL;
	crit_err ce;
	err_clear(&ce);
	if (cri_connect(&c, endpoint, NULL, timeout_ms, &ce) < 0) {
		snprintf(r->pods_error, sizeof r->pods_error, "%s", ce.msg);
		return;
	}
	guard_scan_pods(c, r, NULL);
	cri_close(c);
}

int guard_check(const char *endpoint, int timeout_ms, guard_report *r, crit_err *e)
{
	memset(r, 0, sizeof *r);
	if (timeout_ms <= 0)
		timeout_ms = CRI_DEFAULT_TIMEOUT_MS;
	int rc = guard_scan_procs(NULL, endpoint, r, e);
	if (rc < 0)
		return rc;
	/* Once this process has used gRPC, a forked child cannot (abseil's
	 * mutexes abort in it now and then), and keeping gRPC out of this
	 * process no longer matters: ask from here. */
	if (grpc_is_initialized()) {
		pods_in_process(endpoint, timeout_ms, r);
		return 0;
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_set(e, -errno, "guard: pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(fds[0]);
		close(fds[1]);
		return err_set(e, -err, "guard: fork: %s", strerror(err));
	}
	if (pid == 0) {
		close(fds[0]);
		guard_report tmp;
		memset(&tmp, 0, sizeof tmp);
		pods_in_process(endpoint, timeout_ms, &tmp);
		pods_msg m;
		memset(&m, 0, sizeof m);
		m.checked = tmp.pods_checked;
		m.n = tmp.n_kube_pods;
		memcpy(m.pods, tmp.kube_pods, sizeof m.pods);
		memcpy(m.error, tmp.pods_error, sizeof m.error);
		ssize_t w = write(fds[1], &m, sizeof m);
		_exit(w == (ssize_t)sizeof m ? 0 : 1);
	}
	close(fds[1]);
	r->pods_from_child = true;
	pods_msg m;
	size_t got = 0;
	int64_t end = util_now_ms() + timeout_ms + 3000;
	while (got < sizeof m) {
		int left = (int)(end - util_now_ms());
		if (left <= 0)
			break;
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int pr = poll(&pfd, 1, left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		ssize_t n = read(fds[0], (char *)&m + got, sizeof m - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	/* Our own child, by pid: done or late, it goes now. */
	bool late = got < sizeof m && util_now_ms() >= end;
	kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	if (got == sizeof m) {
		r->pods_checked = m.checked;
		r->n_kube_pods = m.n;
		memcpy(r->kube_pods, m.pods, sizeof r->kube_pods);
		snprintf(r->pods_error, sizeof r->pods_error, "%.*s", (int)sizeof m.error - 1, m.error);
	} else if (late) {
		snprintf(r->pods_error, sizeof r->pods_error, "listing the pods on %s gave no answer within %d ms",
			 endpoint, timeout_ms + 3000);
	} else {
		snprintf(r->pods_error, sizeof r->pods_error, "the process listing the pods on %s died (%s %d)", endpoint,
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	return 0;
}

bool guard_kubelet_live(const guard_report *r)
{
	return r->n_kubelets > 0 || r->n_kube_pods > 0;
}

void guard_describe(const guard_report *r, char *buf, size_t len)
{
	strbuf sb = { 0 };
	for (int i = 0; i < r->n_kubelets && i < GUARD_MAX_KEPT; i++) {
		const guard_kubelet *k = &r->kubelets[i];
		sb_printf(&sb, "kubelet pid %d uses this endpoint: %s\n  %s\n", (int)k->pid, k->why, k->cmdline);
	}
	if (r->n_kubelets > GUARD_MAX_KEPT)
		sb_printf(&sb, "(and %d more kubelet processes)\n", r->n_kubelets - GUARD_MAX_KEPT);
	if (r->n_kube_pods) {
		sb_printf(&sb, "%d pod%s on the runtime carr%s the kubelet's labels, e.g.", r->n_kube_pods,
			  r->n_kube_pods == 1 ? "" : "s", r->n_kube_pods == 1 ? "ies" : "y");
		for (int i = 0; i < r->n_kube_pods && i < GUARD_MAX_KEPT; i++)
			sb_printf(&sb, "%s %s", i ? "," : "", r->kube_pods[i]);
		sb_printf(&sb, "\n");
	}
	snprintf(buf, len, "%s", sb.buf ? sb.buf : "");
	if (len && sb.len && sb.len < len && buf[sb.len - 1] == '\n')
		buf[sb.len - 1] = '\0';
	sb_free(&sb);
}

int guard_refuse_disruptive(const char *endpoint, bool force, const char *what, int timeout_ms, FILE *warn,
			    crit_err *e)
{
	guard_report r;
	crit_err ge;
	err_clear(&ge);
	if (guard_check(endpoint, timeout_ms, &r, &ge) < 0 || !guard_kubelet_live(&r))
		return 0; /* bad input is for the command itself to report */
	char facts[4096];
	guard_describe(&r, facts, sizeof facts);
	if (force) {
		if (warn)
			fprintf(warn, "critic: warning: %s goes on with a live kubelet on %s (" GUARD_FORCE_FLAG "):\n%s\n",
				what, endpoint, facts);
		return 0;
	}
	return err_set(e, -EPERM,
		       "%s: refused: a live kubelet uses %s:\n%s\n"
		       "A kubelet garbage-collects pods it does not know, and a disruptive fault breaks the node it "
		       "manages. Drain the node and stop its kubelet, or pass " GUARD_FORCE_FLAG " to do it anyway.",
		       what, endpoint, facts);
}
