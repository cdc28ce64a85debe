/* streaming: Exec, Attach and PortForward through the URL the runtime
 * returns, over the WebSocket channel protocol kubectl and the kubelet use. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fx.h"
#include "util.h"
#include "wsstream.h"

#define GRPC_NOT_FOUND 5
#define CONNECT_MS 10000
#define STREAM_MS 30000
#define SLEEPER ARGV("/usr/local/bin/critic-helper", "sleep", "forever")

/* Byte strings in failure messages: printable, cut at 200. */
static char *shown(const uint8_t *d, size_t n)
{
	size_t max = n > 200 ? 200 : n;
	char *s = malloc(max * 4 + 8);
	if (!s)
		abort();
	char *p = s;
	for (size_t i = 0; i < max; i++)
		p += (d[i] >= 32 && d[i] < 127 && d[i] != '\\') ? sprintf(p, "%c", d[i])
		     : d[i] == '\n'				 ? sprintf(p, "\\n")
		     : d[i] == '\r'				 ? sprintf(p, "\\r")
								 : sprintf(p, "\\x%02x", d[i]);
	strcpy(p, n > max ? "…" : "");
	return s;
}
#define SHOW(b, ch) shown((b)->data[ch], (b)->len[ch])

static bool chan_is(const ws_bufs *b, int ch, const char *want)
{
	return b->len[ch] == strlen(want) && (!b->len[ch] || !memcmp(b->data[ch], want, b->len[ch]));
}

static bool chan_has(const ws_bufs *b, int ch, const char *want)
{
	return b->len[ch] && memmem(b->data[ch], b->len[ch], want, strlen(want)) != NULL;
}

static char *exec_url(tst_ctx *t, const char *id, const char *const *cmd, bool in, bool out, bool err, bool tty)
{
	Runtime__V1__ExecRequest req = RUNTIME__V1__EXEC_REQUEST__INIT;
	Runtime__V1__ExecResponse *resp = NULL;
	size_t n = 0;
	while (cmd[n])
		n++;
	req.container_id = (char *)id;
	req.cmd = (char **)cmd;
	req.n_cmd = n;
	req.stdin = in;
	req.stdout = out;
	req.stderr = err;
	req.tty = tty;
	CALL_OK(t, Exec, &req, &resp);
	REQUIRE(t, resp->url && resp->url[0], "Exec returned an empty URL");
	char *url = util_strdup_printf("%s", resp->url);
	cri_free(resp);
	return url;
}

static ws_conn *open_ws(tst_ctx *t, const char *url, const char *proto)
{
	ws_conn *c = NULL;
	if (ws_open(&c, url, proto, CONNECT_MS, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	return c;
}

/* The exit code in the status channel; the test stops when there is none. */
static int status_exit(tst_ctx *t, const ws_bufs *b)
{
	REQUIRE(t, b->len[WS_CH_STATUS] > 0, "the runtime closed the stream without a status on channel 3");
	int code;
	if (ws_status_exit_code(b->data[WS_CH_STATUS], b->len[WS_CH_STATUS], &code, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	return code;
}

/* Exec cmd without tty or stdin over proto; everything until the close. */
static void exec_collect(tst_ctx *t, const char *id, const char *const *cmd, const char *proto, ws_bufs *b)
{
	cleanup_free char *url = exec_url(t, id, cmd, false, true, true, false);
	cleanup_ws ws_conn *c = open_ws(t, url, proto);
	EXPECT(t, !strcmp(ws_protocol(c), proto), "the server chose sub-protocol '%s', asked for '%s'",
	       ws_protocol(c), proto);
	ws_bufs_init(b);
	if (ws_collect(c, b, -1, 0, STREAM_MS, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "exec %s: %s", cmd[0], t->err.msg);
}

static void exec_no_tty(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, "main"), SLEEPER);
	const char *const *fail7 = ARGV("sh", "-c", "echo out; echo err >&2; printf tail; exit 7");
	/* The binary protocol, then its base64 twin: same bytes, same code. */
	const char *protos[] = { WS_PROTO_V4, WS_PROTO_V4_BASE64 };
	for (size_t i = 0; i < 2; i++) {
		ws_bufs b;
		exec_collect(t, id, fail7, protos[i], &b);
		EXPECT(t, chan_is(&b, WS_CH_STDOUT, "out\ntail"), "%s: stdout '%s', want 'out\\ntail'", protos[i],
		       SHOW(&b, WS_CH_STDOUT));
		EXPECT(t, chan_is(&b, WS_CH_STDERR, "err\n"), "%s: stderr '%s', want 'err\\n'", protos[i],
		       SHOW(&b, WS_CH_STDERR));
		EXPECT(t, b.bad_channel == 0, "%s: %zu messages on channels past 15", protos[i], b.bad_channel);
		int code = status_exit(t, &b);
		EXPECT(t, code == 7, "%s: exit code %d from the status '%s', want 7", protos[i], code,
		       SHOW(&b, WS_CH_STATUS));
		if (i == 0) {
			tst_info(t, "status for exit 7: %.*s", (int)b.len[WS_CH_STATUS], (char *)b.data[WS_CH_STATUS]);
			/* Not required by the CRI: the kubelet library's "connected" signal. */
			tst_info(t, "first stdout message: %ld bytes", b.first_len[WS_CH_STDOUT]);
		}
		ws_bufs_free(&b);
	}
	/* Success is its own status, with nothing on the output channels. */
	ws_bufs b;
	exec_collect(t, id, ARGV("true"), WS_PROTO_V4, &b);
	EXPECT(t, status_exit(t, &b) == 0, "`true` gave exit %d, status '%s'", status_exit(t, &b),
	       SHOW(&b, WS_CH_STATUS));
	EXPECT(t, b.len[WS_CH_STDOUT] == 0 && b.len[WS_CH_STDERR] == 0, "`true` wrote stdout '%s', stderr '%s'",
	       SHOW(&b, WS_CH_STDOUT), SHOW(&b, WS_CH_STDERR));
	ws_bufs_free(&b);
}

static void exec_tty_stdin(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	char *id = fx_run_container(t, pid, pod, fx_own_name(t, "main"), SLEEPER);
	/* Reports whether stdin is a terminal, reads one line, echoes it back
	 * marked, and exits 3: only a real round trip produces "got:<line>". */
	const char *const *cmd =
		ARGV("sh", "-c", "if [ -t 0 ]; then echo tty-yes; else echo tty-no; fi; read x; echo \"got:$x\"; exit 3");
	cleanup_free char *url = exec_url(t, id, cmd, true, true, false, true);
	cleanup_ws ws_conn *c = open_ws(t, url, WS_PROTO_V4);
	ws_bufs b;
	ws_bufs_init(&b);
	/* Wait until the shell runs (it says so) before typing. */
	if (ws_collect(c, &b, WS_CH_STDOUT, strlen("tty-yes"), STREAM_MS, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "before sending stdin: %s (stdout so far '%s')", t->err.msg,
			     SHOW(&b, WS_CH_STDOUT));
	char line[64];
	snprintf(line, sizeof line, "critic-%d-%d\n", (int)getpid(), rand() % 100000);
	if (ws_send(c, WS_CH_STDIN, line, strlen(line), STREAM_MS, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	if (ws_collect(c, &b, -1, 0, STREAM_MS, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "after sending stdin: %s (stdout '%s')", t->err.msg,
			     SHOW(&b, WS_CH_STDOUT));
	EXPECT(t, chan_has(&b, WS_CH_STDOUT, "tty-yes"), "stdin is not a terminal with tty=true: stdout '%s'",
	       SHOW(&b, WS_CH_STDOUT));
	char want[80];
	line[strlen(line) - 1] = 0;
	snprintf(want, sizeof want, "got:%s", line);
	EXPECT(t, chan_has(&b, WS_CH_STDOUT, want), "the line sent on stdin did not come back: want '%s' in '%s'", want,
	       SHOW(&b, WS_CH_STDOUT));
	/* A terminal turns "\n" into "\r\n" on output. */
	EXPECT(t, chan_has(&b, WS_CH_STDOUT, "\r\n"), "no \\r\\n in the tty's output '%s'", SHOW(&b, WS_CH_STDOUT));
	EXPECT(t, b.len[WS_CH_STDERR] == 0, "tty mode sent data on the stderr channel: '%s'", SHOW(&b, WS_CH_STDERR));
	int code = status_exit(t, &b);
	EXPECT(t, code == 3, "exit code %d, want 3 (status '%s')", code, SHOW(&b, WS_CH_STATUS));
	ws_bufs_free(&b);
}

static void attach_stdio(tst_ctx *t)
{
	Runtime__V1__PodSandboxConfig *pod;
	char *pid = fx_shared_pod(t, &pod);
	/* cat copies its stdin (kept open: stdin_once false) to its stdout. */
	Runtime__V1__ContainerConfig *cfg = fx_container_config(t, fx_own_name(t, "cat"), "busybox", ARGV("cat"));
	cfg->stdin = true;
	cfg->stdin_once = false;
	char *id = fx_create_container(t, pid, pod, cfg);
	fx_start_container(t, id);
	REQUIRE(t, fx_wait_container_state(t, id, RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING, 10000),
		"the cat container is not running");

	Runtime__V1__AttachRequest req = RUNTIME__V1__ATTACH_REQUEST__INIT;
	Runtime__V1__AttachResponse *resp = NULL;
	req.container_id = id;
	req.stdin = req.stdout = req.stderr = true;
	CALL_OK(t, Attach, &req, &resp);
	REQUIRE(t, resp->url && resp->url[0], "Attach returned an empty URL");
	cleanup_ws ws_conn *c = open_ws(t, resp->url, WS_PROTO_V4);
	cri_free(resp);

	/* Two rounds: the stream stays usable after the first. */
	ws_bufs b;
	ws_bufs_init(&b);
	size_t want_len = 0;
	char want[160] = "";
	for (int round = 0; round < 2; round++) {
		char line[64];
		snprintf(line, sizeof line, "attach-%d-%d-%d\n", round, (int)getpid(), rand() % 100000);
		if (ws_send(c, WS_CH_STDIN, line, strlen(line), STREAM_MS, &t->err) < 0)
			tst_fail_now(t, __FILE__, __LINE__, "round %d: %s", round, t->err.msg);
		strcat(want, line);
		want_len += strlen(line);
		if (ws_collect(c, &b, WS_CH_STDOUT, want_len, STREAM_MS, &t->err) < 0)
			tst_fail_now(t, __FILE__, __LINE__, "round %d: %s (stdout so far '%s')", round, t->err.msg,
				     SHOW(&b, WS_CH_STDOUT));
	}
	EXPECT(t, chan_is(&b, WS_CH_STDOUT, want), "stdout '%s', want '%s'", SHOW(&b, WS_CH_STDOUT), want);
	EXPECT(t, b.len[WS_CH_STDERR] == 0, "stderr '%s', want nothing", SHOW(&b, WS_CH_STDERR));
	ws_bufs_free(&b);
	/* Leaving the attach session must not stop the container. */
	ws_close(c);
	c = NULL;
	Runtime__V1__ContainerStatusResponse *st = fx_container_status(t, id, false);
	EXPECT(t, st->status->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING,
	       "container state %d after the attach session ended, want RUNNING", st->status->state);
	cri_free(st);
}

/* Poll the container's view of /proc/net/tcp{,6} until port listens. */
static bool wait_listen(tst_ctx *t, const char *id, int port, int timeout_ms)
{
	int64_t end = util_now_ms() + timeout_ms;
	for (;;) {
		char *out = fx_exec_ok(t, id, ARGV("cat", "/proc/net/tcp", "/proc/net/tcp6"));
		bool found = false;
		for (char *line = strtok(out, "\n"); line && !found; line = strtok(NULL, "\n")) {
			char local[64];
			unsigned lport, st;
			if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", local, &lport, &st) == 3)
				found = (int)lport == port && st == 0x0A; /* TCP_LISTEN */
		}
		free(out);
		if (found)
			return true;
		if (util_now_ms() >= end)
			return false;
		util_sleep_ms(200);
	}
}

/* Forward to an echo server on port in the pod; a byte-exact round trip. */
static void forward_roundtrip(tst_ctx *t, const char *pod_id, int port)
{
	Runtime__V1__PortForwardRequest req = RUNTIME__V1__PORT_FORWARD_REQUEST__INIT;
	Runtime__V1__PortForwardResponse *resp = NULL;
	int32_t ports[1] = { port };
	req.pod_sandbox_id = (char *)pod_id;
	req.port = ports;
	req.n_port = 1;
	CALL_OK(t, PortForward, &req, &resp);
	REQUIRE(t, resp->url && resp->url[0], "PortForward returned an empty URL");
	/* The ports come from the request the URL stands for, not from the URL. */
	cleanup_ws ws_conn *c = open_ws(t, resp->url, WS_PROTO_V4);
	cri_free(resp);

	enum { SIZE = 64 * 1024 };
	cleanup_free uint8_t *data = malloc(SIZE);
	REQUIRE(t, data, "out of memory");
	FILE *r = fopen("/dev/urandom", "r");
	REQUIRE(t, r && fread(data, 1, SIZE, r) == SIZE, "reading /dev/urandom failed");
	fclose(r);

	ws_bufs b;
	ws_bufs_init(&b);
	/* Channel 0 (data) and 1 (error) each start with the port, 2 bytes LE. */
	if (ws_collect(c, &b, 0, 2, STREAM_MS, &t->err) < 0 || ws_collect(c, &b, 1, 2, STREAM_MS, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "port prefix: %s", t->err.msg);
	uint8_t lep[2] = { (uint8_t)(port & 0xff), (uint8_t)(port >> 8) };
	EXPECT(t, b.first_len[0] == 2 && !memcmp(b.data[0], lep, 2),
	       "data channel starts with '%s' (first message %ld bytes), want port %d as 2 bytes little-endian",
	       SHOW(&b, 0), b.first_len[0], port);
	EXPECT(t, b.first_len[1] == 2 && !memcmp(b.data[1], lep, 2),
	       "error channel starts with '%s' (first message %ld bytes), want port %d as 2 bytes little-endian",
	       SHOW(&b, 1), b.first_len[1], port);

	int64_t t0 = util_now_ms();
	if (ws_send(c, 0, data, SIZE, STREAM_MS, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "%s", t->err.msg);
	if (ws_collect(c, &b, 0, 2 + SIZE, STREAM_MS, &t->err) < 0)
		tst_fail_now(t, __FILE__, __LINE__, "echo: %s (error channel: '%s')", t->err.msg,
			     b.len[1] > 2 ? shown(b.data[1] + 2, b.len[1] - 2) : "");
	int64_t took = util_now_ms() - t0;
	EXPECT(t, b.len[0] == 2 + SIZE, "%zu bytes came back, sent %d", b.len[0] - 2, SIZE);
	size_t diff = 0;
	while (diff < SIZE && b.data[0][2 + diff] == data[diff])
		diff++;
	EXPECT(t, diff == SIZE, "the echo differs from what was sent at byte %zu of %d", diff, SIZE);
	EXPECT(t, b.len[1] == 2, "the error channel says '%s'", shown(b.data[1] + 2, b.len[1] - 2));
	tst_info(t, "64 KiB echoed through port %d in %lld ms", port, (long long)took);
	ws_bufs_free(&b);
}

/* A pod running busybox nc as a persistent echo server on port. */
static char *echo_pod(tst_ctx *t, bool host_net, int port, char **ctr_id)
{
	Runtime__V1__PodSandboxConfig *pod = fx_pod_config(t, "stream");
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", port);
	Runtime__V1__ContainerConfig *cfg =
		fx_container_config(t, "echo", "busybox", ARGV("nc", "-ll", "-p", portstr, "-e", "cat"));
	if (host_net) {
		pod->linux_->security_context->namespace_options->network = RUNTIME__V1__NAMESPACE_MODE__NODE;
		cfg->linux_->security_context->namespace_options->network = RUNTIME__V1__NAMESPACE_MODE__NODE;
		pod->hostname = ""; /* the host's UTS namespace comes with its network */
	}
	char *pid = fx_run_pod(t, pod);
	char *id = fx_create_container(t, pid, pod, cfg);
	fx_start_container(t, id);
	REQUIRE(t, wait_listen(t, id, port, 15000), "nothing listens on port %d in the pod after 15 s", port);
	*ctr_id = id;
	return pid;
}

static void portforward_roundtrip(tst_ctx *t)
{
	char *ctr;
	char *pid = echo_pod(t, false, 7777, &ctr);
	forward_roundtrip(t, pid, 7777);
}

/* A port free on the host now (the kernel picks it); nc takes it next. */
static int free_host_port(tst_ctx *t)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(t, fd >= 0, "socket: %m");
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY), .sin_port = 0 };
	socklen_t len = sizeof sa;
	int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0;
	close(fd);
	REQUIRE(t, ok, "picking a free port: %m");
	return ntohs(sa.sin_port);
}

/* Echo a few bytes through 127.0.0.1:port from the host itself: only a
 * server in the host's network namespace answers there. */
static bool host_echo(int port, char *why, size_t whylen)
{
	cleanup_close int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)port) };
	if (fd < 0 || (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)) {
		snprintf(why, whylen, "connect: %m");
		return false;
	}
	struct pollfd p = { fd, POLLOUT, 0 };
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (poll(&p, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		snprintf(why, whylen, "connect: %s", soerr ? strerror(soerr) : "no answer in 5 s");
		return false;
	}
	if (write(fd, "host\n", 5) != 5) {
		snprintf(why, whylen, "write: %m");
		return false;
	}
	char buf[8];
	size_t got = 0;
	int64_t end = util_now_ms() + 5000;
	while (got < 5) {
		int64_t left = end - util_now_ms();
		p.events = POLLIN;
		if (left <= 0 || poll(&p, 1, (int)left) != 1) {
			snprintf(why, whylen, "%zu of 5 bytes echoed within 5 s", got);
			return false;
		}
		ssize_t n = read(fd, buf + got, 5 - got);
		if (n <= 0) {
			snprintf(why, whylen, "the server closed after %zu bytes", got);
			return false;
		}
		got += (size_t)n;
	}
	if (memcmp(buf, "host\n", 5)) {
		snprintf(why, whylen, "echo differs");
		return false;
	}
	return true;
}

static void portforward_host_network(tst_ctx *t)
{
	int port = free_host_port(t);
	char *ctr;
	char *pid = echo_pod(t, true, port, &ctr);
	char why[128];
	REQUIRE(t, host_echo(port, why, sizeof why),
		"the pod's server is not on the host's 127.0.0.1:%d (%s): the pod is not in the host's network", port, why);
	forward_roundtrip(t, pid, port);
}

static void exec_unknown_container(tst_ctx *t)
{
	Runtime__V1__ExecRequest req = RUNTIME__V1__EXEC_REQUEST__INIT;
	Runtime__V1__ExecResponse *resp = NULL;
	char *id = util_strdup_printf("critic-no-such-container-%d", (int)getpid());
	req.container_id = id;
	req.cmd = (char *[]){ "true" };
	req.n_cmd = 1;
	req.stdout = true;
	int rc = CRI_CALL(t->cri, Exec, &req, &resp, &t->err);
	if (rc == 0) {
		EXPECT(t, false, "Exec in missing container %s returned URL '%s'", id, resp->url);
		cri_free(resp);
		return;
	}
	EXPECT(t, t->err.grpc_status == GRPC_NOT_FOUND, "want NOT_FOUND, got %s", t->err.msg);
	tst_info(t, "%s", t->err.msg);
}

static const tst_case streaming_cases[] = {
	{ "streaming/exec-no-tty-no-stdin",
	  "Exec URL over WebSocket (binary and base64): stdout and stderr apart, exit codes 7 and 0 from the status channel",
	  exec_no_tty, TST_FIXTURE },
	{ "streaming/exec-tty-stdin-echo", "Exec URL with tty and stdin: a line sent on stdin is read by the shell and comes back",
	  exec_tty_stdin, TST_FIXTURE },
	{ "streaming/attach-stdio", "Attach URL to a running cat: bytes sent on stdin come back on stdout, twice",
	  attach_stdio, TST_FIXTURE },
	{ "streaming/portforward-roundtrip",
	  "PortForward URL: port prefixes on both channels, 64 KiB of random bytes echoed byte-exact by a server in the pod",
	  portforward_roundtrip },
	{ "streaming/portforward-host-network", "PortForward into a host-network pod: the same round trip on a free host port",
	  portforward_host_network },
	{ "streaming/exec-url-unknown-container", "Exec for a container that does not exist fails with NOT_FOUND",
	  exec_unknown_container },
};
TST_SUITE_FIXTURE("streaming", "Exec, Attach and PortForward streaming", streaming_cases, fx_pod_fixture)
