/* network: pod IP, DNS config, hostname and port mappings as the kubelet
 * sets them, checked from inside the pod and over TCP from the host. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fx.h"
#include "util.h"

#define HELPER "/usr/local/bin/critic-helper"
#define SLEEPER ARGV(HELPER, "sleep", "forever")
#define SERVE_MS 20000 /* how long a server in a pod may take to answer */
#define NS_NODE RUNTIME__V1__NAMESPACE_MODE__NODE

/* ---- addresses ---- */

typedef struct {
	int family;
	unsigned char a[16];
} addr;

static bool parse_addr(const char *s, addr *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, s, out->a) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, s, out->a) == 1)
		out->family = AF_INET6;
	return out->family != 0;
}

static bool addr_is_loopback(const addr *a)
{
	static const unsigned char v6lo[16] = { [15] = 1 };
	return a->family == AF_INET ? a->a[0] == 127 : !memcmp(a->a, v6lo, 16);
}

static bool addr_is_unspecified(const addr *a)
{
	static const unsigned char zero[16];
	return !memcmp(a->a, zero, a->family == AF_INET ? 4 : 16);
}

/* Is a inside net/prefix (same family)? */
static bool addr_in(const addr *a, const addr *net, int prefix)
{
	if (a->family != net->family)
		return false;
	for (int i = 0; prefix > 0; i++, prefix -= 8) {
		unsigned char m = prefix >= 8 ? 0xff : (unsigned char)(0xff << (8 - prefix));
		if ((a->a[i] & m) != (net->a[i] & m))
			return false;
	}
	return true;
}

/* The subnets of the lab's CNI network ("10.233.X.0/24"), read from its
 * conflist: every ipam range of every plugin. Returns how many were found. */
static size_t lab_subnets(tst_ctx *t, char subnets[][64], size_t max)
{
	char *path = util_strdup_printf("%s/cni/net.d/10-critic-lab.conflist", t->env->lab_dir);
	char *text = NULL;
	crit_err e;
	if (util_read_file(path, &text, NULL, &e) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "the lab's CNI config: %s", e.msg);
	json_object *root = json_tokener_parse(text), *plugins;
	size_t n = 0;
	if (root && json_object_object_get_ex(root, "plugins", &plugins) && json_object_is_type(plugins, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(plugins); i++) {
			json_object *ipam, *ranges;
			if (!json_object_object_get_ex(json_object_array_get_idx(plugins, i), "ipam", &ipam) ||
			    !json_object_object_get_ex(ipam, "ranges", &ranges) ||
			    !json_object_is_type(ranges, json_type_array))
				continue;
			/* ranges: a list of range sets, each a list of ranges. */
			for (size_t j = 0; j < json_object_array_length(ranges); j++) {
				json_object *set = json_object_array_get_idx(ranges, j);
				for (size_t k = 0; set && json_object_is_type(set, json_type_array) &&
						   k < json_object_array_length(set); k++) {
					json_object *sub;
					if (n < max && json_object_object_get_ex(json_object_array_get_idx(set, k),
										  "subnet", &sub))
						snprintf(subnets[n++], 64, "%s", json_object_get_string(sub));
				}
			}
		}
	}
	json_object_put(root);
	REQUIRE(t, n > 0, "no ipam subnet in %s", path);
	free(text);
	free(path);
	return n;
}

static bool in_subnet(const addr *a, const char *cidr)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%s", cidr);
	char *slash = strchr(buf, '/');
	if (!slash)
		return false;
	*slash = '\0';
	addr net;
	int prefix = atoi(slash + 1);
	return parse_addr(buf, &net) && prefix >= 0 && prefix <= (net.family == AF_INET ? 32 : 128) &&
	       addr_in(a, &net, prefix);
}

/* ---- TCP from the host ---- */

/* One HTTP/1.0 GET to ip:port; the whole reply in *reply. 0, or -errno of
 * the step that failed (-ECONNREFUSED while nobody listens yet). */
static int http_get_once(const char *ip, int port, int timeout_ms, char **reply)
{
	*reply = NULL;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} sa;
	socklen_t len;
	memset(&sa, 0, sizeof sa);
	if (inet_pton(AF_INET, ip, &sa.in.sin_addr) == 1) {
		sa.in.sin_family = AF_INET;
		sa.in.sin_port = htons((uint16_t)port);
		len = sizeof sa.in;
	} else if (inet_pton(AF_INET6, ip, &sa.in6.sin6_addr) == 1) {
		sa.in6.sin6_family = AF_INET6;
		sa.in6.sin6_port = htons((uint16_t)port);
		len = sizeof sa.in6;
	} else {
		return -EINVAL;
	}
	cleanup_close int fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int64_t end = util_now_ms() + timeout_ms;
	if (connect(fd, &sa.sa, len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		struct pollfd p = { fd, POLLOUT, 0 };
		int64_t left = end - util_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		int err = 0;
		socklen_t el = sizeof err;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err)
			return -err;
	}
	static const char req[] = "GET / HTTP/1.0\r\nHost: critic\r\n\r\n";
	if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
		return -EIO;
	strbuf sb = { 0 };
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = end - util_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			sb_free(&sb);
			return -ETIMEDOUT;
		}
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;
			sb_free(&sb);
			return rc;
		}
		if (n == 0)
			break;
		sb_append(&sb, buf, (size_t)n);
	}
	sb_append(&sb, "", 0);
	*reply = sb.buf ? sb.buf : strdup("");
	return 0;
}

/* GET until a reply comes or SERVE_MS pass (the server may still be
 * starting, the route or the DNAT rule still being set up). The body of the
 * last reply, or NULL with *why set. */
static char *http_get(const char *ip, int port, int *why)
{
	int64_t end = util_now_ms() + SERVE_MS;
	int rc;
	for (;;) {
		char *reply = NULL;
		int left = (int)(end - util_now_ms());
		rc = http_get_once(ip, port, left < 2000 ? (left > 0 ? left : 1) : 2000, &reply);
		if (rc == 0) {
			const char *body = strstr(reply, "\r\n\r\n");
			char *out = strdup(body ? body + 4 : "");
			free(reply);
			return out;
		}
		if (util_now_ms() >= end)
			break;
		util_sleep_ms(100);
	}
	*why = -rc;
	return NULL;
}

/* The server's body must be want + "\n" (critic-helper http). */
static void expect_served(tst_ctx *t, const char *what, const char *ip, int port, const char *want)
{
	int why = 0;
	char *body = http_get(ip, port, &why);
	EXPECT(t, body != NULL, "%s: no HTTP reply from %s:%d within %d ms: %s", what, ip, port, SERVE_MS,
	       strerror(why));
	if (!body)
		return;
	size_t n = strlen(want);
	EXPECT(t, !strncmp(body, want, n) && !strcmp(body + n, "\n"), "%s: %s:%d answered '%s', want '%s'", what,
	       ip, port, body, want);
	free(body);
}

/* A TCP port nobody on this host listens on now, from 40000..59999. */
static int free_port(void)
{
	for (int i = 0; i < 100; i++) {
		int port = 40000 + (int)(((unsigned)rand()) % 20000);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
		if (rc == 0)
			return port;
	}
	return 40000 + (int)(((unsigned)rand()) % 20000);
}

static void seed(void)
{
	srand((unsigned)(util_wall_ns() ^ getpid()));
}

/* A unique text for a server to answer with. */
static char *server_text(const char *what)
{
	return util_strdup_printf("critic-%s-%d-%u", what, (int)getpid(), (unsigned)rand());
}

static char *pod_ip(tst_ctx *t, const char *pod_id)
{
	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, pod_id, false);
	REQUIRE(t, st->status->network && st->status->network->ip && st->status->network->ip[0],
		"PodSandboxStatus of %.12s reports no network.ip", pod_id);
	char *ip = strdup(st->status->network->ip);
	cri_free(st);
	return ip;
}

/* Run a pod (with the port mappings given) and one server container in it
 * on port; returns the pod id. */
static char *serving_pod(tst_ctx *t, Runtime__V1__PodSandboxConfig *pod, int port, const char *text)
{
	char *pod_id = fx_run_pod(t, pod);
	char *p = util_strdup_printf("%d", port);
	fx_run_container(t, pod_id, pod, "server", ARGV(HELPER, "http", p, text));
	free(p);
	return pod_id;
}

static Runtime__V1__PortMapping *port_mapping(int container_port, int host_port)
{
	Runtime__V1__PortMapping *pm = calloc(1, sizeof *pm);
	if (!pm)
		abort();
	runtime__v1__port_mapping__init(pm);
	pm->protocol = RUNTIME__V1__PROTOCOL__TCP;
	pm->container_port = container_port;
	pm->host_port = host_port;
	pm->host_ip = "";
	return pm;
}

static void set_port_mapping(Runtime__V1__PodSandboxConfig *pod, Runtime__V1__PortMapping *pm)
{
	Runtime__V1__PortMapping **one = calloc(1, sizeof *one);
	if (!one)
		abort();
	one[0] = pm;
	pod->port_mappings = one;
	pod->n_port_mappings = 1;
}

/* ---- tests ---- */

static void pod_ip_reachable(tst_ctx *t)
{
	seed();
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "ip");
	char *text = server_text("ip");
	char *pod_id = serving_pod(t, pod, 8080, text);

	Runtime__V1__PodSandboxStatusResponse *st = fx_pod_status(t, pod_id, false);
	Runtime__V1__PodSandboxNetworkStatus *net = st->status->network;
	REQUIRE(t, net && net->ip && net->ip[0], "PodSandboxStatus reports no network.ip");
	addr a;
	REQUIRE(t, parse_addr(net->ip, &a), "network.ip '%s' is not an IP address", net->ip);
	EXPECT(t, !addr_is_loopback(&a) && !addr_is_unspecified(&a), "network.ip %s is loopback or unspecified",
	       net->ip);
	if (t->env->is_lab) {
		char subnets[8][64];
		size_t n = lab_subnets(t, subnets, 8);
		bool in = false;
		for (size_t i = 0; i < n; i++)
			in = in || in_subnet(&a, subnets[i]);
		EXPECT(t, in, "network.ip %s is outside the lab's CNI subnet %s", net->ip, subnets[0]);
	}
	for (size_t i = 0; i < net->n_additional_ips; i++) {
		addr b;
		const char *ip = net->additional_ips[i]->ip;
		EXPECT(t, parse_addr(ip, &b) && !addr_is_loopback(&b) && strcmp(ip, net->ip),
		       "additional_ips[%zu] '%s' is not another valid pod IP", i, ip);
	}
	tst_info(t, "pod IP %s", net->ip);
	/* critic runs in the host's network namespace, as the kubelet does:
	 * the pod IP must route there. */
	expect_served(t, "pod IP from the host", net->ip, 8080, text);
	cri_free(st);
}

/* Words after a resolv.conf keyword, over every line that has it. */
static void resolv_words(const char *conf, const char *key, strbuf *out)
{
	size_t kl = strlen(key);
	for (const char *p = conf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) || (p[kl] != ' ' && p[kl] != '\t'))
			continue;
		const char *q = p + kl;
		for (;;) {
			while (*q == ' ' || *q == '\t')
				q++;
			if (!*q || *q == '\n')
				break;
			size_t n = strcspn(q, " \t\n");
			sb_printf(out, "%s%.*s", out->len ? " " : "", (int)n, q);
			q += n;
		}
	}
	sb_append(out, "", 0);
}

static void expect_words(tst_ctx *t, const char *conf, const char *key, char **want, size_t n)
{
	strbuf got = { 0 }, exp = { 0 };
	resolv_words(conf, key, &got);
	for (size_t i = 0; i < n; i++)
		sb_printf(&exp, "%s%s", i ? " " : "", want[i]);
	sb_append(&exp, "", 0);
	EXPECT(t, !strcmp(got.buf, exp.buf), "resolv.conf '%s' entries '%s', want exactly '%s'", key, got.buf,
	       exp.buf);
	sb_free(&got);
	sb_free(&exp);
}

static void dns_config(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "dns");
	static char *servers[] = { "192.0.2.53", "198.51.100.53" };
	static char *searches[] = { "critic.example", "svc.critic.example", "cluster.critic" };
	static char *options[] = { "ndots:3", "timeout:2", "attempts:4" };
	Runtime__V1__DNSConfig *dns = calloc(1, sizeof *dns);
	REQUIRE(t, dns != NULL, "out of memory");
	runtime__v1__dnsconfig__init(dns);
	dns->servers = servers;
	dns->n_servers = ARRAY_SIZE(servers);
	dns->searches = searches;
	dns->n_searches = ARRAY_SIZE(searches);
	dns->options = options;
	dns->n_options = ARRAY_SIZE(options);
	pod->dns_config = dns;
	char *pod_id = fx_run_pod(t, pod);
	char *ctr = fx_run_container(t, pod_id, pod, "main", SLEEPER);
	char *conf = fx_exec_ok(t, ctr, ARGV("cat", "/etc/resolv.conf"));
	/* Servers in order, the search list in order, every option, and
	 * nothing else of the host's. */
	expect_words(t, conf, "nameserver", servers, ARRAY_SIZE(servers));
	expect_words(t, conf, "search", searches, ARRAY_SIZE(searches));
	expect_words(t, conf, "options", options, ARRAY_SIZE(options));
	expect_words(t, conf, "domain", NULL, 0);
	free(conf);
}

static void hostname(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "hostname");
	char *want = util_strdup_printf("critic-net-%d", (int)getpid());
	pod->hostname = want;
	char *pod_id = fx_run_pod(t, pod);
	char *ctr = fx_run_container(t, pod_id, pod, "main", SLEEPER);
	char *line = util_strdup_printf("%s\n", want);
	char *out = fx_exec_ok(t, ctr, ARGV("hostname"));
	EXPECT(t, !strcmp(out, line), "hostname in the container '%s', want '%s'", out, want);
	free(out);
	/* The kubelet relies on the runtime writing /etc/hostname too. */
	out = fx_exec_ok(t, ctr, ARGV("cat", "/etc/hostname"));
	EXPECT(t, !strcmp(out, line), "/etc/hostname holds '%s', want '%s'", out, want);
	free(out);
	free(line);
}

static void port_mapping_container_port(tst_ctx *t)
{
	seed();
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "cport");
	int port = 8000 + rand() % 1000;
	set_port_mapping(pod, port_mapping(port, 0));
	char *text = server_text("cport");
	char *pod_id = serving_pod(t, pod, port, text);
	char *ip = pod_ip(t, pod_id);
	expect_served(t, "container port on the pod IP", ip, port, text);
	free(ip);
}

/* A non-loopback IPv4 address of this host, not on the lab's bridge. */
static bool host_ipv4(char *out, size_t len)
{
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) < 0)
		return false;
	bool found = false;
	for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) ||
		    !(i->ifa_flags & IFF_UP) || util_has_prefix(i->ifa_name, "crit") ||
		    util_has_prefix(i->ifa_name, "cni") || util_has_prefix(i->ifa_name, "veth"))
			continue;
		found = inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out, (socklen_t)len) != NULL;
	}
	freeifaddrs(ifa);
	return found;
}

static void port_mapping_host_port(tst_ctx *t)
{
	seed();
	char *text = server_text("hport");
	int cport = 8080, hport = 0;
	char *pod_id = NULL;
	Runtime__V1__PodSandboxConfig *pod = NULL;
	/* free_port avoids ports the host listens on. A runtime that refuses a
	 * host port another pod holds fails RunPodSandbox: try other ports.
	 * (containerd 1.6 and the portmap plugin do not refuse; the unique
	 * text tells a wrong server apart.) */
	for (int tries = 0; tries < 3 && !pod_id; tries++) {
		hport = free_port();
		pod = fx_pod_config(t, "hport");
		set_port_mapping(pod, port_mapping(cport, hport));
		if (fx_try_run_pod(t, pod, NULL, &pod_id) < 0) {
			tst_info(t, "host port %d: %s", hport, t->err.msg);
			pod_id = NULL;
		}
	}
	REQUIRE(t, pod_id != NULL, "RunPodSandbox with a host port failed three times: %s", t->err.msg);
	fx_run_container(t, pod_id, pod, "server", ARGV(HELPER, "http", "8080", text));
	char hostip[INET_ADDRSTRLEN];
	bool have_ip = host_ipv4(hostip, sizeof hostip);
	tst_info(t, "host port %d -> container port %d; host address %s", hport, cport, have_ip ? hostip : "(none)");
	/* The node's own address is what hostPort promises. */
	if (have_ip)
		expect_served(t, "host port on the host's address", hostip, hport, text);
	/* From the node itself through loopback, as a node agent would. */
	expect_served(t, "host port on 127.0.0.1", "127.0.0.1", hport, text);
	/* The container port stays reachable on the pod IP. */
	char *ip = pod_ip(t, pod_id);
	expect_served(t, "container port on the pod IP", ip, cport, text);
	free(ip);
}

/* Interface names listed in /proc/net/dev text. */
static bool lists_iface(const char *dev, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = dev; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *q = p;
		while (*q == ' ')
			q++;
		if (!strncmp(q, name, n) && q[n] == ':')
			return true;
	}
	return false;
}

static void host_network_interfaces(tst_ctx *t)
{
	seed();
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "hostnet");
	pod->linux_->security_context->namespace_options->network = NS_NODE;
	pod->hostname = ""; /* a host-network pod keeps the node's name */
	char *pod_id = fx_run_pod(t, pod);
	int port = free_port();
	char *text = server_text("hostnet");
	char *p = util_strdup_printf("%d", port);
	Runtime__V1__ContainerConfig *srv = fx_container_config(t, "server", "busybox", ARGV(HELPER, "http", p, text));
	srv->linux_->security_context->namespace_options->network = NS_NODE;
	fx_start_container(t, fx_create_container(t, pod_id, pod, srv));
	free(p);
	Runtime__V1__ContainerConfig *lcfg = fx_container_config(t, "looker", "busybox", SLEEPER);
	lcfg->linux_->security_context->namespace_options->network = NS_NODE;
	char *looker = fx_create_container(t, pod_id, pod, lcfg);
	fx_start_container(t, looker);

	/* Every interface the host has before and after the container looks
	 * (others' pods add and remove veths meanwhile) is seen inside. */
	char *before = NULL, *after = NULL;
	crit_err e;
	REQUIRE(t, util_read_file("/proc/net/dev", &before, NULL, &e) == 0, "%s", e.msg);
	char *inside = fx_exec_ok(t, looker, ARGV("cat", "/proc/net/dev"));
	REQUIRE(t, util_read_file("/proc/net/dev", &after, NULL, &e) == 0, "%s", e.msg);
	int common = 0;
	for (const char *l = before; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *q = l;
		while (*q == ' ')
			q++;
		size_t n = strcspn(q, ":\n");
		if (q[n] != ':')
			continue;
		char name[IF_NAMESIZE + 1];
		snprintf(name, sizeof name, "%.*s", (int)n, q);
		if (!lists_iface(after, name))
			continue;
		common++;
		EXPECT(t, lists_iface(inside, name), "host interface %s is not seen in the host-network pod", name);
	}
	EXPECT(t, common > 1, "the host lists only %d interface(s): nothing to compare", common);
	/* Its server is the host's: on loopback and on the host's address. */
	char hostip[INET_ADDRSTRLEN];
	expect_served(t, "host-network server on 127.0.0.1", "127.0.0.1", port, text);
	if (host_ipv4(hostip, sizeof hostip))
		expect_served(t, "host-network server on the host's address", hostip, port, text);
	free(before);
	free(after);
	free(inside);
}

static const tst_case network_cases[] = {
	{ "network/pod-ip-reported-and-reachable",
	  "PodSandboxStatus reports a valid pod IP (in the CNI subnet) and a server in the pod answers there from the host",
	  pod_ip_reachable },
	{ "network/dns-config", "DNSConfig servers, searches and options are exactly what resolv.conf holds", dns_config },
	{ "network/hostname", "the sandbox hostname is what hostname and /etc/hostname say in the container", hostname },
	{ "network/port-mapping-container-port",
	  "a port mapping with only container_port: the pod still serves on pod IP:port", port_mapping_container_port },
	{ "network/port-mapping-host-port",
	  "host_port -> container_port over TCP from the host (host address and 127.0.0.1)", port_mapping_host_port },
	{ "network/host-network-pod-sees-host-interfaces",
	  "a host-network pod sees the host's interfaces and serves on the host's addresses", host_network_interfaces },
};
TST_SUITE("network", "Pod networking: IP, DNS, hostname, port mappings", network_cases)
