/* images: critic's test images (built as the lab builds them) for endpoints critic did
 * not start: a local registry to serve them, a push to the user's, references per role. */
#include "images.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cri.h"
#include "profile.h"
#include "util.h"

#define SKOPEO_MS 120000
#define INSPECT_MS 30000
#define REGISTRY_START_MS 10000
#define PREFLIGHT_PULL_MS 120000

/* ------------------------------------------------------------ references */

/* Docker reference characters: lower case, digits, and the separators. */
static bool ref_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || strchr("._-/:", *s)))
			return false;
	return true;
}

int img_check_prefix(const char *prefix, char *host, size_t hlen, crit_err *e)
{
	if (!prefix || !*prefix)
		return err_set(e, -ERR_CONFIG, "--registry-prefix: empty; give HOST[:PORT][/PATH]");
	if (strstr(prefix, "://"))
		return err_set(e, -ERR_CONFIG,
			       "--registry-prefix '%s': no scheme: give HOST[:PORT][/PATH] (plain HTTP or not is the "
			       "runtime's registry config)", prefix);
	size_t n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	if (n == 0 || n > 180)
		return err_set(e, -ERR_CONFIG, "--registry-prefix '%s': give HOST[:PORT][/PATH] (at most 180 bytes)",
			       prefix);
	char p[200];
	snprintf(p, sizeof p, "%.*s", (int)n, prefix);
	if (!ref_chars_ok(p) || p[0] == '/' || strstr(p, "//") || strchr(p, '@'))
		return err_set(e, -ERR_CONFIG,
			       "--registry-prefix '%s': only lower-case letters, digits and . _ - / : may appear "
			       "(HOST[:PORT][/PATH])", prefix);
	size_t hl = strcspn(p, "/");
	/* A colon after the host would be a tag: the roles bring their own. */
	if (strchr(p + hl, ':'))
		return err_set(e, -ERR_CONFIG, "--registry-prefix '%s': no tag: critic adds ROLE:TAG itself", prefix);
	const char *colon = memchr(p, ':', hl);
	if (colon) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (end != p + hl || port <= 0 || port > 65535)
			return err_set(e, -ERR_CONFIG, "--registry-prefix '%s': bad port", prefix);
	}
	if (host && snprintf(host, hlen, "%.*s", (int)hl, p) >= (int)hlen)
		return err_set(e, -ENAMETOOLONG, "--registry-prefix '%s': host too long", prefix);
	return 0;
}

int img_from_prefix(const char *prefix, img_set *s, crit_err *e)
{
	memset(s, 0, sizeof *s);
	int rc = img_check_prefix(prefix, NULL, 0, e);
	if (rc < 0)
		return rc;
	size_t n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	size_t n_roles;
	const char *const *roles = lab_image_roles(&n_roles);
	for (size_t i = 0; i < n_roles && s->n < TST_MAX_IMAGES; i++) {
		img_ref *r = &s->r[s->n++];
		snprintf(r->role, sizeof r->role, "%s", roles[i]);
		snprintf(r->ref, sizeof r->ref, "%.*s/%s:%s", (int)n, prefix, roles[i], lab_image_version());
	}
	return 0;
}

static bool role_known(const char *role)
{
	size_t n;
	const char *const *roles = lab_image_roles(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(roles[i], role))
			return true;
	return false;
}

const img_ref *img_find(const img_set *s, const char *role)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->r[i].role, role))
			return &s->r[i];
	return NULL;
}

static bool digest_ok(const char *d)
{
	return util_has_prefix(d, "sha256:") && strlen(d) == 71 && strspn(d + 7, "0123456789abcdef") == 64;
}

int img_from_file(const char *path, img_set *s, crit_err *e)
{
	memset(s, 0, sizeof *s);
	cleanup_free char *text = NULL;
	crit_err re;
	err_clear(&re);
	if (util_read_file(path, &text, NULL, &re) < 0)
		return err_set(e, -ERR_CONFIG, "images file %s: %s", path, re.msg);
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *f[4] = { 0 };
		int nf = 0;
		char *fs = NULL;
		for (char *w = strtok_r(line, " \t\r", &fs); w; w = strtok_r(NULL, " \t\r", &fs))
			if (nf < 4)
				f[nf++] = w;
			else
				nf = 5;
		if (nf == 0)
			continue;
		if (nf < 2 || nf > 3)
			return err_set(e, -ERR_CONFIG, "%s:%d: want 'ROLE REFERENCE [DIGEST]'", path, lineno);
		if (!role_known(f[0]))
			return err_set(e, -ERR_CONFIG, "%s:%d: unknown role '%s' (critic images list shows the roles)",
				       path, lineno, f[0]);
		if (img_find(s, f[0]))
			return err_set(e, -ERR_CONFIG, "%s:%d: role '%s' given twice", path, lineno, f[0]);
		if (strlen(f[1]) >= sizeof s->r[0].ref || !ref_chars_ok(f[1]) || !strchr(f[1], '/'))
			return err_set(e, -ERR_CONFIG, "%s:%d: '%s' is not a reference HOST[:PORT]/PATH/NAME:TAG", path,
				       lineno, f[1]);
		const char *slash = strrchr(f[1], '/');
		if (!strchr(slash, ':'))
			return err_set(e, -ERR_CONFIG, "%s:%d: '%s': give the reference with its tag (NAME:TAG)", path,
				       lineno, f[1]);
		if (nf == 3 && !digest_ok(f[2]))
			return err_set(e, -ERR_CONFIG, "%s:%d: '%s' is not a digest sha256:<64 hex>", path, lineno, f[2]);
		if (s->n >= TST_MAX_IMAGES)
			return err_set(e, -ERR_CONFIG, "%s:%d: too many roles", path, lineno);
		img_ref *r = &s->r[s->n++];
		snprintf(r->role, sizeof r->role, "%s", f[0]);
		snprintf(r->ref, sizeof r->ref, "%s", f[1]);
		if (nf == 3)
			snprintf(r->digest, sizeof r->digest, "%s", f[2]);
	}
	if (s->n == 0)
		return err_set(e, -ERR_CONFIG, "%s: no 'ROLE REFERENCE' line", path);
	return 0;
}

int img_write_file(const char *path, const img_set *s, crit_err *e)
{
	strbuf sb = { 0 };
	sb_printf(&sb, "# critic's test images: ROLE REFERENCE [DIGEST] (critic run --images-file %s)\n", path);
	for (size_t i = 0; i < s->n; i++)
		sb_printf(&sb, "%-10s %s%s%s\n", s->r[i].role, s->r[i].ref, s->r[i].digest[0] ? " " : "",
			  s->r[i].digest);
	int rc = util_write_file(path, sb.buf, sb.len, 0644, e);
	sb_free(&sb);
	return rc;
}

int img_from_lab(const lab_info *lab, img_set *s, crit_err *e)
{
	memset(s, 0, sizeof *s);
	size_t n_roles;
	const char *const *roles = lab_image_roles(&n_roles);
	for (size_t i = 0; i < n_roles && s->n < TST_MAX_IMAGES; i++) {
		img_ref *r = &s->r[s->n];
		if (lab_image_ref(lab, roles[i], r->ref, sizeof r->ref) < 0)
			continue;
		snprintf(r->role, sizeof r->role, "%s", roles[i]);
		char path[128];
		int status = 0;
		snprintf(path, sizeof path, "/v2/critic/%s/manifests/%s", roles[i], lab_image_version());
		if (lab_http(lab->registry_port, "HEAD", path, 3000, &status, r->digest, sizeof r->digest) < 0 ||
		    status != 200 || !digest_ok(r->digest))
			r->digest[0] = '\0';
		s->n++;
	}
	if (s->n == 0)
		return err_set(e, -ENOENT, "the lab in %s has no registry port on record", lab->dir);
	return 0;
}

/* The registry host of a reference ("HOST[:PORT]"). */
static void ref_host(const char *ref, char *out, size_t len)
{
	snprintf(out, len, "%.*s", (int)strcspn(ref, "/"), ref);
}

/* Is the host this machine's loopback (no TLS expected)? */
static bool host_local(const char *host)
{
	return util_has_prefix(host, "127.") || util_has_prefix(host, "localhost") || util_has_prefix(host, "[::1]");
}

/* First line of a tool's output, for error messages. */
static void first_line(const char *text, char *out, size_t len)
{
	const char *p = text ? text : "";
	while (*p == '\n' || *p == ' ')
		p++;
	/* skopeo prints time="…" level=fatal msg="…": keep the message. */
	const char *m = strstr(p, "msg=\"");
	if (m)
		p = m + 5;
	size_t l = strcspn(p, "\n");
	if (m && l > 0 && p[l - 1] == '"')
		l--;
	snprintf(out, len, "%.*s", (int)(l < len ? l : len - 1), p);
	/* logrus quotes inner quotes: \" back to " */
	char *w = out;
	for (const char *r = out; *r; r++)
		if (!(m && r[0] == '\\' && r[1] == '"'))
			*w++ = *r;
	*w = '\0';
}

static int inspect_digest(const char *ref, char *out, size_t len, crit_err *e)
{
	cleanup_free char *src = util_strdup_printf("docker://%s", ref);
	char *argv[] = { "skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", src, NULL };
	cleanup_free char *o = NULL;
	crit_err le;
	err_clear(&le);
	int rc = util_run(argv, INSPECT_MS, &o, &le);
	if (rc != 0) {
		char why[400];
		first_line(o ? o : le.msg, why, sizeof why);
		return err_set(e, rc < 0 ? rc : -EIO, "skopeo inspect %s: %s", ref, why);
	}
	char d[100];
	first_line(o, d, sizeof d);
	if (!digest_ok(d))
		return err_set(e, -EIO, "skopeo inspect %s: '%s' is no digest", ref, d);
	snprintf(out, len, "%s", d);
	return 0;
}

int img_resolve_digests(img_set *s, crit_err *e)
{
	int unknown = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->r[i].digest[0])
			continue;
		crit_err le;
		err_clear(&le);
		if (inspect_digest(s->r[i].ref, s->r[i].digest, sizeof s->r[i].digest, &le) < 0) {
			if (!unknown && e)
				*e = le;
			unknown++;
		}
	}
	return unknown;
}

void img_to_env(const img_set *s, tst_env *env)
{
	env->n_images = 0;
	for (size_t i = 0; i < s->n && env->n_images < TST_MAX_IMAGES; i++) {
		snprintf(env->images[env->n_images].role, sizeof env->images[0].role, "%s", s->r[i].role);
		snprintf(env->images[env->n_images].ref, sizeof env->images[0].ref, "%s", s->r[i].ref);
		snprintf(env->images[env->n_images].digest, sizeof env->images[0].digest, "%s", s->r[i].digest);
		env->n_images++;
	}
}

/* ------------------------------------------------------------ preflight */

void img_pull_advice(const char *msg, const char *ref, const char *runtime_name, char *out, size_t len)
{
	out[0] = '\0';
	char host[128];
	ref_host(ref, host, sizeof host);
	const char *why = NULL;
	bool plain = false;
	if (strstr(msg, "server gave HTTP response to HTTPS client")) {
		why = "the registry speaks plain HTTP and the runtime asked it for HTTPS";
		plain = true;
	} else if (strstr(msg, "connection refused")) {
		why = "nothing accepts connections at the registry's address (is `critic images serve` running, "
		      "on an address the runtime can reach?)";
	} else if (strstr(msg, "no such host") || strstr(msg, "server misbehaving") ||
		   strstr(msg, "name resolution")) {
		why = "the runtime cannot resolve the registry's host name";
	} else if (strstr(msg, "x509") || strstr(msg, "certificate")) {
		why = "the runtime does not trust the registry's TLS certificate";
		plain = true;
	} else if (strstr(msg, "i/o timeout") || strstr(msg, "no route to host") ||
		   strstr(msg, "network is unreachable")) {
		why = "the registry's address is not reachable from the runtime";
	} else if (strstr(msg, "not found") || strstr(msg, "manifest unknown") || strstr(msg, "NotFound")) {
		why = "the registry does not have the image: push critic's images there (critic images push "
		      "REGISTRY/PATH) or fix --registry-prefix / --images-file";
	} else if (strstr(msg, "401") || strstr(msg, "unauthorized") || strstr(msg, "403")) {
		why = "the registry refuses the runtime's credentials (or lack of them)";
	}
	if (!why)
		return;
	const prof_runtime *p = prof_lookup(runtime_name);
	strbuf sb = { 0 };
	sb_printf(&sb, "the runtime cannot pull from %s: %s.", host, why);
	if (p->kind == PROF_CONTAINERD && (plain || strstr(why, "reach") || strstr(why, "accepts"))) {
		sb_printf(&sb,
			  "\nFor containerd, tell it how to reach %s (plain HTTP shown; hosts.toml is read at each pull):\n"
			  "  mkdir -p /etc/containerd/certs.d/%s\n"
			  "  printf 'server = \"http://%s\"\\n[host.\"http://%s\"]\\n  capabilities = [\"pull\", \"resolve\"]\\n' \\\n"
			  "    > /etc/containerd/certs.d/%s/hosts.toml\n"
			  "and have config_path set in %s (a change there needs `%s`):\n"
			  "  [plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
			  "    config_path = \"/etc/containerd/certs.d\"",
			  host, host, host, host, host, p->config_path, p->restart_cmd);
	} else if (p->kind == PROF_CRIO && (plain || strstr(why, "reach") || strstr(why, "accepts"))) {
		sb_printf(&sb,
			  "\nFor CRI-O, mark the registry insecure (plain HTTP or an untrusted certificate), e.g. in\n"
			  "/etc/containers/registries.conf.d/50-critic.conf:\n"
			  "  [[registry]]\n"
			  "  location = \"%s\"\n"
			  "  insecure = true\n"
			  "then `%s` (CRI-O also reloads its registries on SIGHUP: systemctl reload crio).",
			  host, p->restart_cmd);
	} else if (plain || strstr(why, "reach")) {
		sb_printf(&sb, "\nConfigure %s to pull from %s over plain HTTP (an \"insecure registry\").",
			  runtime_name && *runtime_name ? runtime_name : "the runtime", host);
	}
	snprintf(out, len, "%s", sb.buf);
	sb_free(&sb);
}

typedef struct preflight_out {
	int version_rc;    /* < 0: the endpoint did not answer Version */
	int pull_rc;
	int grpc_status;
	char runtime[128];
	char msg[1500];
} preflight_out;

static void preflight_child(const tst_env *env, const char *ref, preflight_out *r)
{
	crit_err e;
	err_clear(&e);
	cri_conn *c = NULL;
	Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *v = NULL;
	if (cri_connect(&c, env->endpoint, env->image_endpoint, env->timeout_ms, &e) < 0 ||
	    CRI_CALL(c, Version, &vreq, &v, &e) < 0) {
		r->version_rc = e.code ? e.code : -EIO;
		cri_close(c);
		return;
	}
	snprintf(r->runtime, sizeof r->runtime, "%s", v->runtime_name);
	cri_free(v);
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__PullImageResponse *resp = NULL;
	spec.image = (char *)ref;
	req.image = &spec;
	r->pull_rc = CRI_CALL_T(c, PullImage, &req, &resp, PREFLIGHT_PULL_MS, &e);
	if (r->pull_rc < 0) {
		r->grpc_status = e.grpc_status;
		snprintf(r->msg, sizeof r->msg, "%s", e.msg);
	}
	cri_free(resp);
	cri_close(c);
}

int img_preflight(const tst_env *env, char *advice, size_t alen, crit_err *e)
{
	if (alen)
		advice[0] = '\0';
	const char *ref = NULL;
	for (size_t i = 0; i < env->n_images; i++)
		if (!strcmp(env->images[i].role, "busybox"))
			ref = env->images[i].ref;
	if (!ref)
		return 0;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_set(e, -errno, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(fds[0]);
		close(fds[1]);
		return err_set(e, rc, "fork: %s", strerror(-rc));
	}
	if (pid == 0) {
		close(fds[0]);
		static preflight_out r;
		preflight_child(env, ref, &r);
		ssize_t w = write(fds[1], &r, sizeof r);
		_exit(w == (ssize_t)sizeof r ? 0 : 1);
	}
	close(fds[1]);
	cleanup_close int rfd = fds[0];
	static preflight_out r;
	memset(&r, 0, sizeof r);
	size_t got = 0;
	int limit = PREFLIGHT_PULL_MS + 2 * env->timeout_ms + 5000;
	int64_t end = util_now_ms() + limit;
	while (got < sizeof r) {
		int left = (int)(end - util_now_ms());
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, left) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return err_set(e, -ERR_UNREACHABLE, "pulling %s through %s did not end within %d s", ref,
				       env->endpoint, limit / 1000);
		}
		ssize_t n = read(rfd, (char *)&r + got, sizeof r - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	waitpid(pid, NULL, 0);
	if (got != sizeof r)
		return err_set(e, -EIO, "the image pre-check's process died without an answer");
	r.msg[sizeof r.msg - 1] = '\0';
	if (r.version_rc < 0 || r.pull_rc == 0)
		return 0; /* a dead endpoint is tst_run's to report */
	if (alen)
		img_pull_advice(r.msg, ref, r.runtime, advice, alen);
	return err_set(e, -ERR_UNREACHABLE, "the runtime cannot pull critic's test image %s, no test run: %s", ref, r.msg);
}

/* ------------------------------------------------------------ registry process */

typedef struct serve_opts {
	char dir[PATH_MAX];
	char listen[64];     /* HOST:PORT */
	char ip[48];
	int port;
	char path[128];      /* the repository path under the host: "critic" */
	bool detach;
} serve_opts;

static int parse_listen(const char *s, serve_opts *o, crit_err *e)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == s || *end || port < 0 || port > 65535 || (size_t)(colon - s) >= sizeof o->ip)
		return err_set(e, -ERR_CONFIG, "--listen '%s': give IPV4:PORT, e.g. 127.0.0.1:5000 (port 0: a free one)",
			       s);
	snprintf(o->ip, sizeof o->ip, "%.*s", (int)(colon - s), s);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	if (inet_pton(AF_INET, o->ip, &sa.sin_addr) != 1)
		return err_set(e, -ERR_CONFIG, "--listen '%s': %s is not an IPv4 address", s, o->ip);
	if (port == 0) {
		/* Ask the kernel for a free port (another program could take it
		 * before the registry binds it: then the registry says so). */
		cleanup_close int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		socklen_t l = sizeof sa;
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &l) < 0)
			return err_set(e, -errno, "--listen '%s': find a free port: %s", s, strerror(errno));
		port = ntohs(sa.sin_port);
	}
	o->port = (int)port;
	snprintf(o->listen, sizeof o->listen, "%s:%d", o->ip, o->port);
	return 0;
}

/* The address to connect to: 0.0.0.0 means this host's loopback works too. */
static void connect_ip(const serve_opts *o, char *out, size_t len)
{
	snprintf(out, len, "%s", strcmp(o->ip, "0.0.0.0") ? o->ip : "127.0.0.1");
}

static bool tcp_accepts(const char *ip, int port, int timeout_ms)
{
	cleanup_close int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return false;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
		return true;
	if (errno != EINPROGRESS)
		return false;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	int err = 0;
	socklen_t l = sizeof err;
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err == 0;
}

static bool registry_ready(const serve_opts *o)
{
	char ip[48];
	connect_ip(o, ip, sizeof ip);
	if (!strcmp(ip, "127.0.0.1")) {
		int status = 0;
		return lab_http(o->port, "GET", "/v2/", 1000, &status, NULL, 0) == 0 && status == 200;
	}
	return tcp_accepts(ip, o->port, 1000);
}

static char *serve_path(const serve_opts *o, const char *name)
{
	return util_strdup_printf("%s/%s", o->dir, name);
}

/* Is pid the registry of this dir (its command line names our config)? */
static bool is_our_registry(const serve_opts *o, pid_t pid)
{
	char cmd[PATH_MAX + 64];
	if (pid <= 0 || !util_pid_alive(pid) || util_pid_cmdline(pid, cmd, sizeof cmd) < 0)
		return false;
	cleanup_free char *cfg = serve_path(o, "registry.yml");
	return strstr(cmd, "registry") && strstr(cmd, cfg);
}

static pid_t pidfile_read(const serve_opts *o, int *port)
{
	cleanup_free char *pf = serve_path(o, "serve.pid");
	cleanup_free char *text = NULL;
	if (util_read_file(pf, &text, NULL, NULL) < 0)
		return 0;
	int pid = 0, p = 0;
	if (sscanf(text, "%d %d", &pid, &p) < 1)
		return 0;
	if (port)
		*port = p;
	return (pid_t)pid;
}

static int registry_start(const serve_opts *o, pid_t *out, crit_err *e)
{
	cleanup_free char *cfgp = serve_path(o, "registry.yml");
	cleanup_free char *store = serve_path(o, "registry");
	cleanup_free char *logp = serve_path(o, "registry.log");
	int rc = util_mkdir_p(store, 0755, e);
	if (rc < 0)
		return rc;
	cleanup_free char *cfg = util_strdup_printf(
		"# generated by critic images serve: a registry of critic's test images\n"
		"version: 0.1\n"
		"log:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: true\n"
		"storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
		"  maintenance:\n    uploadpurging:\n      enabled: false\n"
		"http:\n  addr: %s\n  secret: critic-images-local\n",
		store, o->listen);
	if ((rc = util_write_file(cfgp, cfg, strlen(cfg), 0644, e)) < 0)
		return rc;
	char *argv[] = { "docker-registry", "serve", cfgp, NULL };
	pid_t pid = util_spawn_daemon(argv, logp, e);
	if (pid < 0)
		return err_wrap(e, "start docker-registry (install the docker-registry package)");
	int64_t end = util_now_ms() + REGISTRY_START_MS;
	while (!registry_ready(o)) {
		bool alive = util_pid_alive(pid);
		if (!alive || util_now_ms() >= end) {
			if (alive)
				kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			cleanup_free char *log = NULL;
			char tail[400] = "";
			if (util_read_file(logp, &log, NULL, NULL) == 0) {
				size_t l = strlen(log);
				snprintf(tail, sizeof tail, "%s", l > 300 ? log + l - 300 : log);
			}
			return err_set(e, alive ? -ETIMEDOUT : -ECHILD, "docker-registry on %s: %s; %s ends: %s", o->listen,
				       alive ? "not ready within 10 s (killed)" : "exited at start", logp, tail);
		}
		util_sleep_ms(50);
	}
	*out = pid;
	return 0;
}

static void registry_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (!util_wait_pid_dead(pid, 5000)) {
		kill(pid, SIGKILL);
		util_wait_pid_dead(pid, 5000);
	}
	waitpid(pid, NULL, WNOHANG);
}

/* ------------------------------------------------------------ push */

typedef struct push_opts {
	bool tls_verify;   /* verify the destination's certificate (https) */
	bool quiet;
} push_opts;

/* Push every ROLE:TAG from the layout to PREFIX/ROLE:TAG; s gets each
 * role at its version tag with the pushed digest. */
static int push_all(const char *layout, const char *prefix, const push_opts *po, img_set *s, crit_err *e)
{
	int rc = img_from_prefix(prefix, s, e);
	if (rc < 0)
		return rc;
	size_t n = strlen(prefix);
	while (n > 0 && prefix[n - 1] == '/')
		n--;
	const char *role, *tag;
	size_t count = lab_image_tags(0, &role, &tag);
	cleanup_free char *dfile = util_strdup_printf("%s/.critic-digest-%d", layout, (int)getpid());
	int64_t t0 = util_now_ms();
	for (size_t i = 0; i < count; i++) {
		lab_image_tags(i, &role, &tag);
		cleanup_free char *src = util_strdup_printf("oci:%s:%s-%s", layout, role, lab_image_version());
		cleanup_free char *dst = util_strdup_printf("docker://%.*s/%s:%s", (int)n, prefix, role, tag);
		char *argv[] = { "skopeo", "--insecure-policy", "copy", "--quiet",
				 po->tls_verify ? "--dest-tls-verify=true" : "--dest-tls-verify=false",
				 "--digestfile", dfile, src, dst, NULL };
		cleanup_free char *o = NULL;
		crit_err le;
		err_clear(&le);
		rc = util_run(argv, SKOPEO_MS, &o, &le);
		if (rc != 0) {
			unlink(dfile);
			char why[600];
			first_line(o ? o : le.msg, why, sizeof why);
			return err_set(e, rc < 0 ? rc : -EIO, "push %s: %s", dst + 9, why);
		}
		cleanup_free char *d = NULL;
		char digest[100] = "";
		if (util_read_file(dfile, &d, NULL, NULL) == 0)
			first_line(d, digest, sizeof digest);
		unlink(dfile);
		if (!digest_ok(digest))
			return err_set(e, -EIO, "push %s: skopeo wrote no digest", dst + 9);
		if (!strcmp(tag, lab_image_version()))
			for (size_t j = 0; j < s->n; j++)
				if (!strcmp(s->r[j].role, role))
					snprintf(s->r[j].digest, sizeof s->r[j].digest, "%s", digest);
		if (!po->quiet)
			printf("  %-10s %s@%s\n", role, dst + 9, digest);
	}
	if (!po->quiet)
		printf("pushed %zu tags in %.1f s\n", count, (double)(util_now_ms() - t0) / 1000.0);
	return 0;
}

/* ------------------------------------------------------------ CLI */

static void images_usage(FILE *f)
{
	fprintf(f,
		"Usage: critic images serve [--listen IP:PORT] [--path PATH] [--dir DIR] [--detach]\n"
		"       critic images stop [--dir DIR]\n"
		"       critic images push REGISTRY[/PATH] [--insecure|--tls-verify=false] [--output FILE] [--dir DIR]\n"
		"       critic images list [--registry-prefix P | --images-file F] [--dir DIR]\n\n"
		"critic's test images (busybox with critic-helper, pause, user-uid, user-name,\n"
		"image-a, image-b) for a runtime critic did not start. They are built here from\n"
		"busybox-static and critic's static helpers (no internet); a runtime gets them\n"
		"only from a registry it can reach.\n"
		"  serve   build them if needed, start a registry (docker-registry) on\n"
		"          --listen (default " IMG_DEFAULT_LISTEN ") holding them under --path\n"
		"          (default " IMG_DEFAULT_PATH "), print the --registry-prefix to give `critic run`,\n"
		"          and stay until SIGINT/SIGTERM (then stop the registry). --detach:\n"
		"          leave it running in the background; `critic images stop` ends it.\n"
		"          Writes DIR/" IMG_FILE_NAME " (an images file with the digests).\n"
		"  stop    stop the registry a `serve --detach` left running in DIR\n"
		"  push    push every image (skopeo copy) to REGISTRY[/PATH]/ROLE:TAG, print\n"
		"          ROLE REFERENCE@DIGEST, write an images file (--output, default\n"
		"          ./critic-images.txt). --insecure (= --tls-verify=false): plain HTTP\n"
		"          or an unverified certificate. Credentials: `skopeo login REGISTRY`.\n"
		"  list    each role with its reference and digest (asked of the registry):\n"
		"          for --registry-prefix P, an --images-file, or else the running lab\n"
		"  --dir DIR  where images are built and served from (default " IMG_DEFAULT_DIR ")\n"
		"Images file: one `ROLE REFERENCE [DIGEST]` a line, '#' comments; REFERENCE\n"
		"by tag. `critic run --registry-prefix P` or `--images-file F` uses them.\n");
}

static int layout_for(const char *dir, char *layout, size_t len)
{
	crit_err e;
	err_clear(&e);
	lab_set_logger(NULL);
	if (geteuid() != 0) {
		fprintf(stderr, "critic images: building the images needs root (umoci sets file owners)\n");
		return 2;
	}
	if (lab_images_layout(dir, layout, len, &e) < 0) {
		fprintf(stderr, "critic images: build the images in %s: %s\n", dir, e.msg);
		return 3;
	}
	return 0;
}

static volatile sig_atomic_t serve_sig;
static void on_serve_signal(int sig)
{
	serve_sig = sig;
}

static int cmd_serve(serve_opts *o)
{
	crit_err e;
	err_clear(&e);
	char layout[PATH_MAX];
	int rc = layout_for(o->dir, layout, sizeof layout);
	if (rc)
		return rc;
	int old_port = 0;
	pid_t old = pidfile_read(o, &old_port);
	if (is_our_registry(o, old)) {
		fprintf(stderr, "critic images: a registry of %s runs already (pid %d, port %d): `critic images stop --dir %s` first\n",
			o->dir, (int)old, old_port, o->dir);
		return 2;
	}
	char ip[48];
	connect_ip(o, ip, sizeof ip);
	if (tcp_accepts(ip, o->port, 500)) {
		fprintf(stderr, "critic images: %s is in use: give --listen %s:PORT with a free port\n", o->listen, o->ip);
		return 2;
	}
	pid_t pid = 0;
	if (registry_start(o, &pid, &e) < 0) {
		fprintf(stderr, "critic images: %s\n", e.msg);
		return 3;
	}
	cleanup_free char *pf = serve_path(o, "serve.pid");
	char line[64];
	snprintf(line, sizeof line, "%d %d\n", (int)pid, o->port);
	if (util_write_file(pf, line, strlen(line), 0644, &e) < 0) {
		fprintf(stderr, "critic images: %s\n", e.msg);
		registry_stop(pid);
		return 3;
	}
	char host[64];
	snprintf(host, sizeof host, "%s:%d", ip, o->port);
	cleanup_free char *prefix = util_strdup_printf("%s/%s", host, o->path);
	printf("registry on %s (pid %d), pushing critic's images:\n", o->listen, (int)pid);
	fflush(stdout);
	img_set s;
	push_opts po = { .tls_verify = false };
	if (push_all(layout, prefix, &po, &s, &e) < 0) {
		fprintf(stderr, "critic images: %s\n", e.msg);
		registry_stop(pid);
		unlink(pf);
		return 3;
	}
	cleanup_free char *ifile = serve_path(o, IMG_FILE_NAME);
	if (img_write_file(ifile, &s, &e) < 0)
		fprintf(stderr, "critic images: %s\n", e.msg);
	printf("registry prefix: %s\n", prefix);
	printf("images file:     %s\n", ifile);
	printf("run with:        critic run --runtime-endpoint unix:///run/containerd/containerd.sock "
	       "--registry-prefix %s\n", prefix);
	printf("the runtime must pull from %s over plain HTTP: see README \"Testing your own runtime\"\n", host);
	if (o->detach) {
		printf("stop it with:    critic images stop --dir %s\n", o->dir);
		return 0;
	}
	printf("serving until SIGINT or SIGTERM (Ctrl-C)\n");
	fflush(stdout);
	struct sigaction sa = { .sa_handler = on_serve_signal }, oi, ot;
	sigemptyset(&sa.sa_mask);
	serve_sig = 0;
	sigaction(SIGINT, &sa, &oi);
	sigaction(SIGTERM, &sa, &ot);
	rc = 0;
	while (!serve_sig) {
		if (!util_pid_alive(pid)) {
			fprintf(stderr, "critic images: the registry (pid %d) exited; see %s/registry.log\n", (int)pid, o->dir);
			rc = 3;
			break;
		}
		util_sleep_ms(200);
	}
	registry_stop(pid);
	unlink(pf);
	sigaction(SIGINT, &oi, NULL);
	sigaction(SIGTERM, &ot, NULL);
	if (serve_sig)
		printf("stopped the registry on %s (%s)\n", o->listen, serve_sig == SIGTERM ? "SIGTERM" : "SIGINT");
	return rc;
}

static int cmd_stop(serve_opts *o)
{
	int port = 0;
	pid_t pid = pidfile_read(o, &port);
	cleanup_free char *pf = serve_path(o, "serve.pid");
	if (!is_our_registry(o, pid)) {
		unlink(pf);
		printf("no registry of %s runs\n", o->dir);
		return 0;
	}
	registry_stop(pid);
	if (util_pid_alive(pid)) {
		fprintf(stderr, "critic images: the registry (pid %d) does not stop\n", (int)pid);
		return 3;
	}
	unlink(pf);
	printf("stopped the registry of %s (pid %d, port %d)\n", o->dir, (int)pid, port);
	return 0;
}

static int cmd_push(const char *dir, const char *target, bool tls_verify, const char *output)
{
	crit_err e;
	err_clear(&e);
	char host[200];
	if (img_check_prefix(target, host, sizeof host, &e) < 0) {
		fprintf(stderr, "critic images push: %s\n", e.msg);
		return 2;
	}
	char layout[PATH_MAX];
	int rc = layout_for(dir, layout, sizeof layout);
	if (rc)
		return rc;
	img_set s;
	push_opts po = { .tls_verify = tls_verify && !host_local(host) };
	printf("pushing critic's images to %s:\n", target);
	if (push_all(layout, target, &po, &s, &e) < 0) {
		fprintf(stderr, "critic images push: %s%s\n", e.msg,
			tls_verify && (strstr(e.msg, "HTTP response to HTTPS") || strstr(e.msg, "x509"))
				? " (plain HTTP or a self-signed certificate: add --insecure)"
				: "");
		return 3;
	}
	if (img_write_file(output, &s, &e) < 0) {
		fprintf(stderr, "critic images push: %s\n", e.msg);
		return 2;
	}
	printf("images file: %s\nrun with:    critic run --runtime-endpoint … --images-file %s\n"
	       "        or:  critic run --runtime-endpoint … --registry-prefix %s\n", output, output, target);
	return 0;
}

static int cmd_list(const char *dir, const char *prefix, const char *file)
{
	crit_err e;
	err_clear(&e);
	img_set s;
	if (prefix) {
		if (img_from_prefix(prefix, &s, &e) < 0) {
			fprintf(stderr, "critic images list: %s\n", e.msg);
			return 2;
		}
	} else if (file) {
		if (img_from_file(file, &s, &e) < 0) {
			fprintf(stderr, "critic images list: %s\n", e.msg);
			return 2;
		}
	} else {
		/* What serve left in dir, else the lab. */
		cleanup_free char *ifile = util_strdup_printf("%s/%s", dir, IMG_FILE_NAME);
		lab_info lab;
		if (util_exists(ifile)) {
			if (img_from_file(ifile, &s, &e) < 0) {
				fprintf(stderr, "critic images list: %s\n", e.msg);
				return 2;
			}
			for (size_t i = 0; i < s.n; i++)
				s.r[i].digest[0] = '\0'; /* ask the registry, not the file */
		} else if (lab_status(lab_default_dir(), &lab, &e) == 1) {
			if (img_from_lab(&lab, &s, &e) < 0) {
				fprintf(stderr, "critic images list: %s\n", e.msg);
				return 3;
			}
		} else {
			fprintf(stderr, "critic images list: give --registry-prefix or --images-file (no %s, no running lab)\n",
				ifile);
			return 2;
		}
	}
	crit_err re;
	err_clear(&re);
	int unknown = img_resolve_digests(&s, &re);
	printf("# ROLE     REFERENCE [DIGEST]\n");
	for (size_t i = 0; i < s.n; i++)
		printf("%-10s %s%s%s\n", s.r[i].role, s.r[i].ref, s.r[i].digest[0] ? " " : "  # digest unknown",
		       s.r[i].digest);
	if (unknown) {
		fprintf(stderr, "critic images list: %d digest%s unknown: %s\n", unknown, unknown == 1 ? "" : "s", re.msg);
		return 3;
	}
	return 0;
}

int img_cli_main(int argc, char **argv)
{
	enum { IO_LISTEN = 256, IO_PATH, IO_DIR, IO_DETACH, IO_INSECURE, IO_TLS, IO_OUTPUT, IO_PREFIX, IO_FILE, IO_IGNORE };
	static const struct option longopts[] = {
		{ "listen", required_argument, 0, IO_LISTEN },
		{ "path", required_argument, 0, IO_PATH },
		{ "dir", required_argument, 0, IO_DIR },
		{ "detach", no_argument, 0, IO_DETACH },
		{ "insecure", no_argument, 0, IO_INSECURE },
		{ "tls-verify", required_argument, 0, IO_TLS },
		{ "output", required_argument, 0, IO_OUTPUT },
		{ "registry-prefix", required_argument, 0, IO_PREFIX },
		{ "images-file", required_argument, 0, IO_FILE },
		/* global options handed over by main: not used here */
		{ "runtime-endpoint", required_argument, 0, IO_IGNORE },
		{ "image-endpoint", required_argument, 0, IO_IGNORE },
		{ "timeout", required_argument, 0, IO_IGNORE },
		{ "config", required_argument, 0, IO_IGNORE },
		{ "no-color", no_argument, 0, IO_IGNORE },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	serve_opts so;
	memset(&so, 0, sizeof so);
	const char *dir = getenv("CRITIC_IMAGES_SERVE_DIR");
	if (!dir || !*dir)
		dir = IMG_DEFAULT_DIR;
	const char *listen = IMG_DEFAULT_LISTEN, *path = IMG_DEFAULT_PATH, *output = "critic-images.txt";
	const char *prefix = NULL, *file = NULL;
	bool tls_verify = true;
	crit_err e;
	err_clear(&e);
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":r:i:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case IO_LISTEN: listen = optarg; break;
		case IO_PATH: path = optarg; break;
		case IO_DIR: dir = optarg; break;
		case IO_DETACH: so.detach = true; break;
		case IO_INSECURE: tls_verify = false; break;
		case IO_TLS:
			if (strcmp(optarg, "false") && strcmp(optarg, "true")) {
				fprintf(stderr, "critic images: --tls-verify=true|false\n");
				return 2;
			}
			tls_verify = !strcmp(optarg, "true");
			break;
		case IO_OUTPUT: output = optarg; break;
		case IO_PREFIX: prefix = optarg; break;
		case IO_FILE: file = optarg; break;
		case 'r': case 'i': case 't': case IO_IGNORE: break;
		case 'h': images_usage(stdout); return 0;
		case ':':
			fprintf(stderr, "critic images: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "critic images: unknown option '%s' (see critic images --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		images_usage(stderr);
		return 2;
	}
	const char *sub = argv[optind++];
	if (dir[0] != '/' || strlen(dir) >= sizeof so.dir - 64 || strpbrk(dir, " \t\n\"'\\:")) {
		fprintf(stderr, "critic images: --dir '%s': give an absolute path without spaces, quotes or ':'\n", dir);
		return 2;
	}
	snprintf(so.dir, sizeof so.dir, "%s", dir);
	size_t dl = strlen(so.dir);
	while (dl > 1 && so.dir[dl - 1] == '/')
		so.dir[--dl] = '\0';
	if (!strcmp(sub, "serve") || !strcmp(sub, "stop")) {
		if (optind < argc) {
			fprintf(stderr, "critic images %s: unexpected '%s'\n", sub, argv[optind]);
			return 2;
		}
		if (!strcmp(sub, "stop"))
			return cmd_stop(&so);
		if (parse_listen(listen, &so, &e) < 0) {
			fprintf(stderr, "critic images serve: %s\n", e.msg);
			return 2;
		}
		while (*path == '/')
			path++;
		char probe[256];
		snprintf(probe, sizeof probe, "127.0.0.1/%s", path);
		if (!*path || strlen(path) >= sizeof so.path || img_check_prefix(probe, NULL, 0, &e) < 0) {
			fprintf(stderr, "critic images serve: --path '%s': lower-case letters, digits, . _ - /\n", path);
			return 2;
		}
		snprintf(so.path, sizeof so.path, "%s", path);
		return cmd_serve(&so);
	}
	if (!strcmp(sub, "push")) {
		if (optind != argc - 1) {
			fprintf(stderr, "critic images push: give one REGISTRY[/PATH]\n");
			return 2;
		}
		return cmd_push(so.dir, argv[optind], tls_verify, output);
	}
	if (!strcmp(sub, "list")) {
		if (optind < argc) {
			fprintf(stderr, "critic images list: unexpected '%s'\n", argv[optind]);
			return 2;
		}
		if (prefix && file) {
			fprintf(stderr, "critic images list: give --registry-prefix or --images-file, not both\n");
			return 2;
		}
		return cmd_list(so.dir, prefix, file);
	}
	fprintf(stderr, "critic images: unknown subcommand '%s' (serve, stop, push, list)\n", sub);
	return 2;
}
