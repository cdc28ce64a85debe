/* Unit tests of the streaming client: URL parsing, the status channel's
 * JSON, and framing against a tiny scripted WebSocket server on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_server.h" /* fake_time_scale */
#include "tests.h"
#include "util.h"
#include "wsstream.h"

/* --- the scripted server ---------------------------------------------------- */

enum fake_mode {
	FAKE_EXEC,     /* v4 exec: outputs, one stdin echo, status, close 1000 */
	FAKE_BASE64,   /* base64 text frames both ways */
	FAKE_BIG,      /* one 100 KiB message (64-bit length), then close */
	FAKE_SILENT,   /* read the request, never answer */
	FAKE_404,      /* refuse the upgrade */
	FAKE_STALL,    /* upgrade, then say nothing */
};

typedef struct fake_ws {
	int lfd, port;
	enum fake_mode mode;
	pthread_t th;
	char protocols[256]; /* what the client asked for */
	char got[256];       /* the payload of the client's message, decoded */
	int got_ch;
	bool ok;             /* the script ran to its end */
} fake_ws;

static int read_full(int fd, void *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			return -1;
		ssize_t r = read(fd, (char *)buf + off, n - off);
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, (const char *)buf + off, n - off);
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* One server frame (never masked). */
static int send_frame(int fd, uint8_t first, const void *data, size_t len)
{
	uint8_t h[10];
	size_t hl = 2;
	h[0] = first;
	if (len < 126) {
		h[1] = (uint8_t)len;
	} else if (len < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
		hl = 10;
	}
	return write_full(fd, h, hl) < 0 || write_full(fd, data, len) < 0 ? -1 : 0;
}

/* One client frame (masked, as RFC 6455 requires): opcode and payload. */
static int recv_frame(int fd, int *opcode, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t h[2], ext[8], mask[4];
	if (read_full(fd, h, 2) < 0)
		return -1;
	*opcode = h[0] & 0x0f;
	if (!(h[1] & 0x80))
		return -1; /* unmasked client frame: a protocol error */
	uint64_t n = h[1] & 0x7f;
	if (n == 126) {
		if (read_full(fd, ext, 2) < 0)
			return -1;
		n = (uint64_t)ext[0] << 8 | ext[1];
	} else if (n == 127) {
		if (read_full(fd, ext, 8) < 0)
			return -1;
		n = 0;
		for (int i = 0; i < 8; i++)
			n = n << 8 | ext[i];
	}
	if (n > cap || read_full(fd, mask, 4) < 0 || read_full(fd, buf, (size_t)n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] ^= mask[i % 4];
	*len = (size_t)n;
	return 0;
}

/* Read the upgrade request; answer 101 with the first protocol asked for. */
static int handshake(fake_ws *f, int fd, const char *proto)
{
	char req[4096];
	size_t n = 0;
	while (!memmem(req, n, "\r\n\r\n", 4)) {
		if (n >= sizeof req - 1 || read_full(fd, req + n, 1) < 0)
			return -1;
		n++;
	}
	req[n] = 0;
	char key[128] = "";
	for (char *line = strtok(req, "\r\n"); line; line = strtok(NULL, "\r\n")) {
		if (!strncasecmp(line, "Sec-WebSocket-Key:", 18))
			sscanf(line + 18, " %127s", key);
		else if (!strncasecmp(line, "Sec-WebSocket-Protocol:", 23))
			snprintf(f->protocols, sizeof f->protocols, "%s", line + 23 + strspn(line + 23, " "));
	}
	if (f->mode == FAKE_SILENT) {
		struct pollfd p = { fd, POLLIN, 0 };
		poll(&p, 1, 3000); /* until the client gives up */
		return -1;
	}
	if (f->mode == FAKE_404) {
		const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		write_full(fd, r, strlen(r));
		return -1;
	}
	char cat[256];
	unsigned char sha[20];
	char accept[64];
	snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	lws_SHA1((const unsigned char *)cat, strlen(cat), sha);
	lws_b64_encode_string((const char *)sha, 20, accept, sizeof accept);
	char resp[512];
	snprintf(resp, sizeof resp,
		 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		 accept, proto);
	return write_full(fd, resp, strlen(resp));
}

static const char STATUS7[] = "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"exit 7\","
			      "\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"7\"}]}}";

static void *fake_main(void *arg)
{
	fake_ws *f = arg;
	struct pollfd p = { f->lfd, POLLIN, 0 };
	if (poll(&p, 1, 5000) <= 0)
		return NULL;
	int fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	uint8_t buf[256];
	size_t len;
	int op;
	const char *proto = f->mode == FAKE_BASE64 ? WS_PROTO_V4_BASE64 : WS_PROTO_V4;
	if (handshake(f, fd, proto) < 0)
		goto out;
	switch (f->mode) {
	case FAKE_EXEC: {
		/* An empty stdout message first, as the kubelet library sends;
		 * "out" split over two frames; then stderr. */
		if (send_frame(fd, 0x82, "\x01", 1) < 0 || send_frame(fd, 0x02, "\x01ou", 3) < 0 ||
		    send_frame(fd, 0x80, "t", 1) < 0 || send_frame(fd, 0x82, "\x02" "err", 4) < 0)
			goto out;
		if (recv_frame(fd, &op, buf, sizeof buf, &len) < 0 || op != 2 || len < 1)
			goto out;
		f->got_ch = buf[0];
		snprintf(f->got, sizeof f->got, "%.*s", (int)len - 1, (char *)buf + 1);
		buf[0] = 1; /* echo it on stdout */
		uint8_t st[sizeof STATUS7];
		st[0] = 3;
		memcpy(st + 1, STATUS7, sizeof STATUS7 - 1);
		if (send_frame(fd, 0x82, buf, len) < 0 || send_frame(fd, 0x82, st, sizeof STATUS7) < 0 ||
		    send_frame(fd, 0x88, "\x03\xe8", 2) < 0)
			goto out;
		f->ok = true;
		break;
	}
	case FAKE_BASE64: {
		const char *hello = "1aGVsbG8="; /* "hello" on channel 1 */
		if (send_frame(fd, 0x81, hello, strlen(hello)) < 0 ||
		    recv_frame(fd, &op, buf, sizeof buf - 1, &len) < 0 || op != 1 || len < 1)
			goto out;
		buf[len] = 0;
		f->got_ch = buf[0] - '0';
		char dec[128];
		int n = lws_b64_decode_string((const char *)buf + 1, dec, sizeof dec);
		if (n < 0)
			goto out;
		snprintf(f->got, sizeof f->got, "%.*s", n, dec);
		if (send_frame(fd, 0x88, "\x03\xe8", 2) < 0)
			goto out;
		f->ok = true;
		break;
	}
	case FAKE_BIG: {
		size_t n = 100 * 1024 + 1;
		uint8_t *big = malloc(n);
		if (!big)
			goto out;
		big[0] = 1;
		for (size_t i = 1; i < n; i++)
			big[i] = (uint8_t)(i * 7);
		int rc = send_frame(fd, 0x82, big, n);
		free(big);
		if (rc < 0 || send_frame(fd, 0x88, "\x03\xe8", 2) < 0)
			goto out;
		f->ok = true;
		break;
	}
	case FAKE_STALL:
		p.fd = fd;
		poll(&p, 1, 3000);
		f->ok = true;
		break;
	default:
		break;
	}
	/* Let the client read everything before the socket goes. */
	p.fd = fd;
	poll(&p, 1, 2000);
out:
	close(fd);
	return NULL;
}

static int fake_start(fake_ws *f, enum fake_mode mode)
{
	memset(f, 0, sizeof *f);
	f->mode = mode;
	f->got_ch = -1;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(f->lfd, 4) < 0 ||
	    getsockname(f->lfd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	f->port = ntohs(sa.sin_port);
	return pthread_create(&f->th, NULL, fake_main, f) ? -1 : 0;
}

static void fake_stop(fake_ws *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static char *fake_url(const fake_ws *f, const char *path)
{
	return util_strdup_printf("http://127.0.0.1:%d%s", f->port, path);
}

/* --- tests ---------------------------------------------------------------- */

static void test_parse_url(void)
{
	ws_url u;
	crit_err e;
	CU_ASSERT_EQUAL(ws_parse_url("http://127.0.0.1:4021/exec/AbC", &u, &e), 0);
	CU_ASSERT_STRING_EQUAL(u.host, "127.0.0.1");
	CU_ASSERT_EQUAL(u.port, 4021);
	CU_ASSERT_STRING_EQUAL(u.path, "/exec/AbC");
	CU_ASSERT_FALSE(u.tls);
	CU_ASSERT_EQUAL(ws_parse_url("https://[::1]:10250/portforward/x?port=80", &u, &e), 0);
	CU_ASSERT_STRING_EQUAL(u.host, "::1");
	CU_ASSERT_EQUAL(u.port, 10250);
	CU_ASSERT_STRING_EQUAL(u.path, "/portforward/x?port=80");
	CU_ASSERT_TRUE(u.tls);
	CU_ASSERT_EQUAL(ws_parse_url("ws://node", &u, &e), 0);
	CU_ASSERT_EQUAL(u.port, 80);
	CU_ASSERT_STRING_EQUAL(u.path, "/");
	CU_ASSERT_EQUAL(ws_parse_url("unix:///run/x.sock", &u, &e), -EINVAL);
	CU_ASSERT_EQUAL(ws_parse_url("http://h:0/x", &u, &e), -EINVAL);
	CU_ASSERT_EQUAL(ws_parse_url("http://h:70000/x", &u, &e), -EINVAL);
	CU_ASSERT_EQUAL(ws_parse_url("http://[::1/x", &u, &e), -EINVAL);
	CU_ASSERT_EQUAL(ws_parse_url("http:///x", &u, &e), -EINVAL);
}

static void test_status(void)
{
	crit_err e;
	int code = -2;
	const char *ok = "{\"metadata\":{},\"status\":\"Success\"}";
	CU_ASSERT_EQUAL(ws_status_exit_code(ok, strlen(ok), &code, &e), 0);
	CU_ASSERT_EQUAL(code, 0);
	CU_ASSERT_EQUAL(ws_status_exit_code(STATUS7, strlen(STATUS7), &code, &e), 0);
	CU_ASSERT_EQUAL(code, 7);
	/* An internal error is no exit code. */
	const char *internal = "{\"status\":\"Failure\",\"message\":\"error executing command\",\"reason\":\"InternalError\"}";
	CU_ASSERT_EQUAL(ws_status_exit_code(internal, strlen(internal), &code, &e), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "error executing command"));
	const char *nocause = "{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[]}}";
	CU_ASSERT_EQUAL(ws_status_exit_code(nocause, strlen(nocause), &code, &e), -EPROTO);
	const char *word = "{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\","
			   "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"seven\"}]}}";
	CU_ASSERT_EQUAL(ws_status_exit_code(word, strlen(word), &code, &e), -EPROTO);
	CU_ASSERT_EQUAL(ws_status_exit_code("command terminated", 18, &code, &e), -EPROTO);
	/* Only len bytes count: the JSON may not be NUL-terminated. */
	char cut[64];
	memcpy(cut, ok, strlen(ok));
	memset(cut + strlen(ok), 'x', sizeof cut - strlen(ok));
	CU_ASSERT_EQUAL(ws_status_exit_code(cut, strlen(ok), &code, &e), 0);
}

static void test_exec_session(void)
{
	fake_ws f;
	CU_ASSERT_FATAL(fake_start(&f, FAKE_EXEC) == 0);
	cleanup_free char *url = fake_url(&f, "/exec/tok");
	ws_conn *c = NULL;
	crit_err e;
	int rc = ws_open(&c, url, WS_PROTO_V4, 5000, &e);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		CU_ASSERT_STRING_EQUAL(ws_protocol(c), WS_PROTO_V4);
		ws_bufs b;
		ws_bufs_init(&b);
		/* "out" arrives in two frames of one message */
		CU_ASSERT_EQUAL(ws_collect(c, &b, WS_CH_STDOUT, 3, 5000, &e), 0);
		CU_ASSERT_EQUAL(b.first_len[WS_CH_STDOUT], 0);
		CU_ASSERT_EQUAL(ws_send(c, WS_CH_STDIN, "ping", 4, 5000, &e), 0);
		CU_ASSERT_EQUAL(ws_collect(c, &b, -1, 0, 5000, &e), 0);
		CU_ASSERT_TRUE(ws_is_closed(c));
		CU_ASSERT_EQUAL(ws_close_code(c), 1000);
		CU_ASSERT_EQUAL(b.len[WS_CH_STDOUT], 7);
		CU_ASSERT_NSTRING_EQUAL(b.data[WS_CH_STDOUT], "outping", 7);
		CU_ASSERT_EQUAL(b.msgs[WS_CH_STDOUT], 3);
		CU_ASSERT_EQUAL(b.len[WS_CH_STDERR], 3);
		int code = -1;
		CU_ASSERT_EQUAL(ws_status_exit_code(b.data[WS_CH_STATUS], b.len[WS_CH_STATUS], &code, &e), 0);
		CU_ASSERT_EQUAL(code, 7);
		/* Sending on a closed connection fails at once. */
		CU_ASSERT_EQUAL(ws_send(c, WS_CH_STDIN, "x", 1, 5000, &e), -EPIPE);
		ws_bufs_free(&b);
		ws_close(c);
	}
	fake_stop(&f);
	CU_ASSERT_TRUE(f.ok);
	CU_ASSERT_STRING_EQUAL(f.protocols, WS_PROTO_V4);
	CU_ASSERT_EQUAL(f.got_ch, WS_CH_STDIN);
	CU_ASSERT_STRING_EQUAL(f.got, "ping");
}

static void test_base64_session(void)
{
	fake_ws f;
	CU_ASSERT_FATAL(fake_start(&f, FAKE_BASE64) == 0);
	cleanup_free char *url = fake_url(&f, "/attach/tok");
	ws_conn *c = NULL;
	crit_err e;
	int rc = ws_open(&c, url, WS_PROTO_V4_BASE64, 5000, &e);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		ws_bufs b;
		ws_bufs_init(&b);
		CU_ASSERT_EQUAL(ws_collect(c, &b, WS_CH_STDOUT, 5, 5000, &e), 0);
		CU_ASSERT_NSTRING_EQUAL(b.data[WS_CH_STDOUT], "hello", 5);
		rc = ws_send(c, WS_CH_STDIN, "hi there", 8, 5000, &e);
		if (rc < 0)
			fprintf(stderr, "%s\n", e.msg);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(ws_collect(c, &b, -1, 0, 5000, &e), 0);
		ws_bufs_free(&b);
		ws_close(c);
	}
	fake_stop(&f);
	CU_ASSERT_TRUE(f.ok);
	CU_ASSERT_EQUAL(f.got_ch, 0);
	CU_ASSERT_STRING_EQUAL(f.got, "hi there");
}

static void test_big_message(void)
{
	fake_ws f;
	CU_ASSERT_FATAL(fake_start(&f, FAKE_BIG) == 0);
	cleanup_free char *url = fake_url(&f, "/portforward/tok");
	ws_conn *c = NULL;
	crit_err e;
	int rc = ws_open(&c, url, WS_PROTO_V4, 5000, &e);
	CU_ASSERT_EQUAL(rc, 0);
	if (rc == 0) {
		unsigned ch;
		uint8_t *d;
		size_t n;
		CU_ASSERT_EQUAL(ws_recv(c, &ch, &d, &n, 5000, &e), 1);
		CU_ASSERT_EQUAL(ch, 1);
		CU_ASSERT_EQUAL(n, 100 * 1024);
		size_t bad = 0;
		for (size_t i = 0; d && i < n; i++)
			bad += d[i] != (uint8_t)((i + 1) * 7);
		CU_ASSERT_EQUAL(bad, 0);
		free(d);
		/* then the close: no more messages */
		CU_ASSERT_EQUAL(ws_recv(c, &ch, &d, &n, 5000, &e), 0);
		ws_close(c);
	}
	fake_stop(&f);
}

/* Every wait ends at its deadline, whatever the server does. */
static void test_deadlines(void)
{
	fake_ws f;
	crit_err e;
	ws_conn *c = NULL;
	int64_t slack = 1500 * fake_time_scale();

	CU_ASSERT_FATAL(fake_start(&f, FAKE_SILENT) == 0);
	cleanup_free char *u1 = fake_url(&f, "/exec/tok");
	int64_t t0 = util_now_ms();
	CU_ASSERT_EQUAL(ws_open(&c, u1, WS_PROTO_V4, 300, &e), -ETIMEDOUT);
	CU_ASSERT_TRUE(util_now_ms() - t0 < 300 + slack);
	CU_ASSERT_PTR_NULL(c);
	fake_stop(&f);

	CU_ASSERT_FATAL(fake_start(&f, FAKE_STALL) == 0);
	cleanup_free char *u2 = fake_url(&f, "/exec/tok");
	CU_ASSERT_EQUAL_FATAL(ws_open(&c, u2, WS_PROTO_V4, 5000, &e), 0);
	ws_bufs b;
	ws_bufs_init(&b);
	t0 = util_now_ms();
	CU_ASSERT_EQUAL(ws_collect(c, &b, -1, 0, 300, &e), -ETIMEDOUT);
	CU_ASSERT_TRUE(util_now_ms() - t0 < 300 + slack);
	ws_close(c);
	ws_bufs_free(&b);
	fake_stop(&f);
}

static void test_refused_upgrade(void)
{
	fake_ws f;
	crit_err e;
	ws_conn *c = NULL;
	CU_ASSERT_FATAL(fake_start(&f, FAKE_404) == 0);
	cleanup_free char *url = fake_url(&f, "/exec/spent");
	int64_t t0 = util_now_ms();
	int rc = ws_open(&c, url, WS_PROTO_V4, 5000, &e);
	CU_ASSERT_TRUE(rc < 0 && rc != -ETIMEDOUT);
	CU_ASSERT_TRUE(util_now_ms() - t0 < 4000);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/exec/spent"));
	fake_stop(&f);

	/* Nobody listening: refused, not a hang. */
	int port = f.port; /* closed now */
	cleanup_free char *dead = util_strdup_printf("http://127.0.0.1:%d/exec/x", port);
	rc = ws_open(&c, dead, WS_PROTO_V4, 5000, &e);
	CU_ASSERT_TRUE(rc < 0 && rc != -ETIMEDOUT);
}

void tests_register_wsstream(void)
{
	CU_pSuite s = CU_add_suite("unit/wsstream", NULL, NULL);
	CU_add_test(s, "ws_parse_url: hosts, ports, paths, refusals", test_parse_url);
	CU_add_test(s, "ws_status_exit_code: success, exit codes, other failures", test_status);
	CU_add_test(s, "exec session: fragments, empty first message, stdin, status, close code", test_exec_session);
	CU_add_test(s, "base64 sub-protocol both ways", test_base64_session);
	CU_add_test(s, "a 100 KiB message with a 64-bit length", test_big_message);
	CU_add_test(s, "deadlines: silent server, stalled stream", test_deadlines);
	CU_add_test(s, "refused upgrade (404) and refused connection fail fast", test_refused_upgrade);
}
