/* Unit tests of the fault proxy (fault/proxy.c). Two kinds: raw sockets,
 * where the test holds both the client and the upstream end and can check
 * every byte and every close; and critic's real CRI client talking through
 * the proxy to the fake gRPC server of fake_server.c. No runtime needed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cri.h"
#include "fake_server.h"
#include "fault/proxy.h"
#include "tests.h"
#include "util.h"

static char tmpdir[64];
static fake_grpc *srv;
static char grpc_path[256];

/* What one test opened; teardown releases it even after a fatal assertion. */
static fault_proxy *px;
static int up_lfd = -1;
static char up_path[256];
static int fds[64];
static int nfds;
static cri_conn *conns[4];
static int nconns;

/* A path in tmpdir; the result lives until four more calls. */
static const char *in_tmp(const char *name)
{
	static char buf[4][256];
	static int next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
	return b;
}

/* Timing margins grow under valgrind; deadlines given to code do not. */
static int64_t margin(int64_t ms) { return ms * fake_time_scale(); }

static size_t pack_version(uint8_t *buf, size_t len)
{
	Runtime__V1__VersionResponse v = RUNTIME__V1__VERSION_RESPONSE__INIT;
	v.version = "0.1.0";
	v.runtime_name = "fake-runtime";
	v.runtime_version = "9.8.7";
	v.runtime_api_version = "v1";
	if (protobuf_c_message_get_packed_size(&v.base) > len)
		return 0;
	return protobuf_c_message_pack(&v.base, buf);
}

static void reply_version(void)
{
	uint8_t buf[256];
	fake_reply r = { .status = 0, .nmsgs = 1 };
	r.msgs[0].data = buf;
	r.msgs[0].len = pack_version(buf, sizeof buf);
	fake_grpc_set_reply(srv, &r);
}

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-proxy-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(grpc_path, sizeof grpc_path, "%s", in_tmp("grpc.sock"));
	if (fake_grpc_start(&srv, grpc_path) < 0) {
		fprintf(stderr, "cannot start the fake gRPC server on %s\n", grpc_path);
		return -1;
	}
	reply_version();
	return 0;
}

static int suite_cleanup(void)
{
	fake_grpc_stop(srv);
	srv = NULL;
	/* gRPC destroys closed channels' subchannels asynchronously; under
	 * valgrind give it time before the leak check at exit. */
	if (fake_time_scale() > 1)
		util_sleep_ms(1000);
	return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0;
}

static void teardown(void)
{
	for (int i = 0; i < nconns; i++)
		cri_close(conns[i]);
	nconns = 0;
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	nfds = 0;
	fault_proxy_stop(px);
	px = NULL;
	if (up_lfd >= 0) {
		close(up_lfd);
		unlink(up_path);
		up_lfd = -1;
	}
	reply_version();
}

/* --- helpers -------------------------------------------------------------- */

static int track(int fd)
{
	if (fd >= 0 && nfds < (int)ARRAY_SIZE(fds))
		fds[nfds++] = fd;
	return fd;
}

static int unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return -1;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* The test's own upstream: a listening socket it accepts from by hand. */
static const char *upstream_listen(void)
{
	snprintf(up_path, sizeof up_path, "%s", in_tmp("up.sock"));
	unlink(up_path);
	struct sockaddr_un sa;
	CU_ASSERT_FATAL(unix_addr(&sa, up_path) == 0);
	up_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(up_lfd >= 0);
	CU_ASSERT_FATAL(bind(up_lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
	CU_ASSERT_FATAL(listen(up_lfd, 16) == 0);
	return up_path;
}

static void start_proxy(const char *upstream)
{
	crit_err e;
	err_clear(&e);
	int rc = fault_proxy_start(&px, in_tmp("proxy.sock"), upstream, &e);
	if (rc < 0)
		fprintf(stderr, "fault_proxy_start: %s\n", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void set_mode(fault_proxy_mode m, const fault_proxy_params *pp)
{
	crit_err e;
	err_clear(&e);
	int rc = fault_proxy_set_mode(px, m, pp, &e);
	if (rc < 0)
		fprintf(stderr, "fault_proxy_set_mode: %s\n", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
}

static void set_text(const char *text)
{
	fault_proxy_mode m;
	fault_proxy_params pp;
	crit_err e;
	err_clear(&e);
	int rc = fault_proxy_parse_mode(text, &m, &pp, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	set_mode(m, &pp);
}

static fault_proxy_counters stats(void)
{
	fault_proxy_counters s;
	fault_proxy_stats(px, &s);
	return s;
}

/* Connect to a unix socket; the fd (tracked) or -errno. */
static int raw_connect(const char *path)
{
	struct sockaddr_un sa;
	if (unix_addr(&sa, path) < 0)
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return track(fd);
}

/* The next connection on the test's upstream within ms, or -1. */
static int upstream_accept(int ms)
{
	struct pollfd p = { .fd = up_lfd, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return -1;
	return track(accept4(up_lfd, NULL, NULL, SOCK_CLOEXEC));
}

/* Accept and close what waits on the test's upstream: the probes with
 * which the proxy checks whether a socket is live land there. */
static int drain_upstream(void)
{
	int n = 0;
	struct pollfd p = { .fd = up_lfd, .events = POLLIN };
	while (poll(&p, 1, 0) == 1) {
		int fd = accept4(up_lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		close(fd);
		n++;
	}
	return n;
}

/* A client through the proxy and the upstream end the proxy dialled. */
static void open_pair(int *cli, int *up)
{
	*cli = raw_connect(in_tmp("proxy.sock"));
	CU_ASSERT_FATAL(*cli >= 0);
	*up = upstream_accept((int)margin(2000));
	CU_ASSERT_FATAL(*up >= 0);
}

static void send_str(int fd, const char *s)
{
	CU_ASSERT_EQUAL(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read exactly n bytes within ms; returns how many came (less on EOF,
 * error or timeout). */
static size_t recv_n(int fd, void *buf, size_t n, int ms)
{
	size_t got = 0;
	int64_t end = util_now_ms() + ms;
	while (got < n) {
		int64_t left = end - util_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			break;
		ssize_t r = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
		if (r <= 0) {
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			break;
		}
		got += (size_t)r;
	}
	return got;
}

/* Expect exactly the string s on fd within ms. */
static void expect_str(int fd, const char *s, int ms)
{
	char buf[256] = { 0 };
	size_t n = strlen(s);
	CU_ASSERT_FATAL(n < sizeof buf);
	CU_ASSERT_EQUAL(recv_n(fd, buf, n, ms), n);
	CU_ASSERT_STRING_EQUAL(buf, s);
}

/* True when fd reads EOF or a reset within ms (data before it is skipped). */
static bool closed_within(int fd, int ms)
{
	int64_t end = util_now_ms() + ms;
	for (;;) {
		int64_t left = end - util_now_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return false;
		char buf[4096];
		ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

/* True when nothing at all (no byte, no EOF) arrives on fd within ms. */
static bool quiet_for(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 0;
}

/* A fresh pair carries a byte each way: the proxy forwards again. */
static void expect_working_pair(void)
{
	int c, u;
	open_pair(&c, &u);
	send_str(c, "ping");
	expect_str(u, "ping", (int)margin(1000));
	send_str(u, "pong");
	expect_str(c, "pong", (int)margin(1000));
}

static bool wait_active(uint64_t n, int ms)
{
	int64_t end = util_now_ms() + ms;
	while (stats().active != n) {
		if (util_now_ms() > end)
			return false;
		util_sleep_ms(5);
	}
	return true;
}

/* --- raw sockets ---------------------------------------------------------- */

static uint8_t pattern(size_t i, unsigned seed) { return (uint8_t)(i * 31u + seed + (i >> 8)); }

/* 1 MiB each way at once (bounded queues must apply back-pressure without
 * losing a byte), then half-closes passed on one by one. */
static void test_raw_pass(void)
{
	start_proxy(upstream_listen());
	int c, u;
	open_pair(&c, &u);
	enum { N = 1 << 20 };
	uint8_t *out_c = malloc(N), *out_u = malloc(N), *in_c = malloc(N), *in_u = malloc(N);
	CU_ASSERT_FATAL(out_c && out_u && in_c && in_u);
	for (size_t i = 0; i < N; i++) {
		out_c[i] = pattern(i, 1);
		out_u[i] = pattern(i, 7);
	}
	size_t sent_c = 0, sent_u = 0, got_c = 0, got_u = 0;
	int64_t end = util_now_ms() + margin(10000);
	while ((sent_c < N || sent_u < N || got_c < N || got_u < N) && util_now_ms() < end) {
		struct pollfd p[2] = { { .fd = c, .events = POLLIN | (sent_c < N ? POLLOUT : 0) },
				       { .fd = u, .events = POLLIN | (sent_u < N ? POLLOUT : 0) } };
		if (poll(p, 2, 100) <= 0)
			continue;
		ssize_t r;
		if ((p[0].revents & POLLOUT) &&
		    (r = send(c, out_c + sent_c, N - sent_c, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0)
			sent_c += (size_t)r;
		if ((p[1].revents & POLLOUT) &&
		    (r = send(u, out_u + sent_u, N - sent_u, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0)
			sent_u += (size_t)r;
		if ((p[0].revents & POLLIN) && (r = recv(c, in_c + got_c, N - got_c, MSG_DONTWAIT)) > 0)
			got_c += (size_t)r;
		if ((p[1].revents & POLLIN) && (r = recv(u, in_u + got_u, N - got_u, MSG_DONTWAIT)) > 0)
			got_u += (size_t)r;
	}
	CU_ASSERT_EQUAL(got_u, N);
	CU_ASSERT_EQUAL(got_c, N);
	CU_ASSERT(memcmp(in_u, out_c, N) == 0);
	CU_ASSERT(memcmp(in_c, out_u, N) == 0);
	free(out_c);
	free(out_u);
	free(in_c);
	free(in_u);

	/* The client's EOF reaches upstream; the other way still works. */
	CU_ASSERT_EQUAL(shutdown(c, SHUT_WR), 0);
	CU_ASSERT(closed_within(u, (int)margin(1000)));
	send_str(u, "bye");
	expect_str(c, "bye", (int)margin(1000));
	CU_ASSERT_EQUAL(shutdown(u, SHUT_WR), 0);
	CU_ASSERT(closed_within(c, (int)margin(1000)));
	CU_ASSERT(wait_active(0, (int)margin(1000)));

	fault_proxy_counters s = stats();
	CU_ASSERT_EQUAL(s.mode, FAULT_PROXY_PASS);
	CU_ASSERT(s.listening);
	CU_ASSERT_EQUAL(s.accepted, 1);
	CU_ASSERT_EQUAL(s.bytes_to_upstream, N);
	CU_ASSERT_EQUAL(s.bytes_to_client, N + 3);
	CU_ASSERT_EQUAL(s.bytes_dropped, 0);
	CU_ASSERT_EQUAL(s.faulted, 0);
}

static void test_raw_delay(void)
{
	start_proxy(upstream_listen());
	int c, u;
	open_pair(&c, &u);
	set_text("delay 200");
	CU_ASSERT_EQUAL(stats().params.delay_ms, 200);

	int64_t t0 = util_now_us();
	send_str(c, "a");
	util_sleep_ms(50);
	send_str(c, "b");
	char ch = 0;
	CU_ASSERT_EQUAL(recv_n(u, &ch, 1, (int)margin(2000)), 1);
	int64_t ta = util_now_us() - t0;
	CU_ASSERT_EQUAL(ch, 'a');
	CU_ASSERT_EQUAL(recv_n(u, &ch, 1, (int)margin(2000)), 1);
	int64_t tb = util_now_us() - t0;
	CU_ASSERT_EQUAL(ch, 'b');
	CU_ASSERT(ta >= 200000);
	CU_ASSERT(ta < 200000 + margin(300) * 1000);
	CU_ASSERT(tb >= 250000);

	/* The other way too. */
	t0 = util_now_us();
	send_str(u, "z");
	expect_str(c, "z", (int)margin(2000));
	CU_ASSERT(util_now_us() - t0 >= 200000);

	/* Order holds when the delay drops while a chunk waits: y, sent with
	 * no delay, must not overtake x. */
	set_text("delay 400");
	t0 = util_now_us();
	send_str(c, "x");
	util_sleep_ms(20); /* let the proxy read x under the long delay */
	set_mode(FAULT_PROXY_PASS, NULL);
	send_str(c, "y");
	expect_str(u, "xy", (int)margin(2000));
	CU_ASSERT(util_now_us() - t0 >= 400000);
}

static void test_raw_blackhole(void)
{
	start_proxy(upstream_listen());
	int c1, u1, c3, u3;
	open_pair(&c1, &u1);
	open_pair(&c3, &u3); /* stays idle through the blackhole */
	send_str(c1, "1");
	expect_str(u1, "1", (int)margin(1000));

	set_mode(FAULT_PROXY_BLACKHOLE, NULL);
	CU_ASSERT_EQUAL(stats().mode, FAULT_PROXY_BLACKHOLE);
	send_str(c1, "hello");
	send_str(u1, "world");
	CU_ASSERT(quiet_for(u1, 200));
	CU_ASSERT(quiet_for(c1, 200));
	/* A new client is accepted, never answered, never sent upstream. */
	int c2 = raw_connect(in_tmp("proxy.sock"));
	CU_ASSERT_FATAL(c2 >= 0);
	send_str(c2, "anyone?");
	CU_ASSERT(upstream_accept(200) < 0);
	CU_ASSERT(quiet_for(c2, 100));
	fault_proxy_counters s = stats();
	CU_ASSERT_EQUAL(s.accepted, 3);
	CU_ASSERT_EQUAL(s.active, 3);
	CU_ASSERT_EQUAL(s.bytes_dropped, 17);
	CU_ASSERT_EQUAL(s.bytes_to_upstream, 1);
	CU_ASSERT_EQUAL(s.bytes_to_client, 0);

	/* Leaving it closes the connections that lost bytes; the idle pair
	 * carries on, and new clients get through. */
	set_mode(FAULT_PROXY_PASS, NULL);
	CU_ASSERT(closed_within(c1, (int)margin(1000)));
	CU_ASSERT(closed_within(u1, (int)margin(1000)));
	CU_ASSERT(closed_within(c2, (int)margin(1000)));
	send_str(c3, "still");
	expect_str(u3, "still", (int)margin(1000));
	send_str(u3, "here");
	expect_str(c3, "here", (int)margin(1000));
	expect_working_pair();
	CU_ASSERT_EQUAL(stats().faulted, 2);
}

static void test_raw_reset(void)
{
	start_proxy(upstream_listen());
	int c1, u1;
	open_pair(&c1, &u1);
	set_mode(FAULT_PROXY_RESET, NULL);
	/* Already closed when set_mode returns. */
	CU_ASSERT(closed_within(c1, 50));
	CU_ASSERT(closed_within(u1, 50));
	/* New clients: connected, then closed at once, never dialled upstream. */
	int64_t t0 = util_now_ms();
	int c2 = raw_connect(in_tmp("proxy.sock"));
	CU_ASSERT(c2 >= 0 || c2 == -ECONNRESET);
	if (c2 >= 0)
		CU_ASSERT(closed_within(c2, (int)margin(500)));
	CU_ASSERT(util_now_ms() - t0 < margin(500));
	CU_ASSERT(upstream_accept(100) < 0);
	fault_proxy_counters s = stats();
	CU_ASSERT_EQUAL(s.faulted, 2);
	CU_ASSERT_EQUAL(s.accepted, 2);
	CU_ASSERT(wait_active(0, (int)margin(1000)));

	set_mode(FAULT_PROXY_PASS, NULL);
	expect_working_pair();
}

static void test_raw_refuse(void)
{
	start_proxy(upstream_listen());
	int c1, u1;
	open_pair(&c1, &u1);
	set_mode(FAULT_PROXY_REFUSE, NULL);
	CU_ASSERT_FALSE(stats().listening);
	/* True refusal: the file is there, nobody listens. */
	struct stat st;
	CU_ASSERT(stat(in_tmp("proxy.sock"), &st) == 0 && S_ISSOCK(st.st_mode));
	CU_ASSERT_EQUAL(raw_connect(in_tmp("proxy.sock")), -ECONNREFUSED);
	CU_ASSERT_EQUAL(raw_connect(in_tmp("proxy.sock")), -ECONNREFUSED);
	/* The open connection carries on both ways. */
	send_str(c1, "old");
	expect_str(u1, "old", (int)margin(1000));
	send_str(u1, "conn");
	expect_str(c1, "conn", (int)margin(1000));

	set_mode(FAULT_PROXY_PASS, NULL);
	CU_ASSERT(stats().listening);
	CU_ASSERT_FALSE(util_exists(in_tmp("proxy.sock.new")));
	expect_working_pair();
	CU_ASSERT_EQUAL(stats().accepted, 2); /* the refused ones never were */

	/* Refusing twice, and stopping while refusing, leave no file behind. */
	set_mode(FAULT_PROXY_REFUSE, NULL);
	set_mode(FAULT_PROXY_REFUSE, NULL);
	CU_ASSERT_EQUAL(raw_connect(in_tmp("proxy.sock")), -ECONNREFUSED);
	fault_proxy_stop(px);
	px = NULL;
	CU_ASSERT_FALSE(util_exists(in_tmp("proxy.sock")));
}

static void test_raw_cut_after(void)
{
	start_proxy(upstream_listen());
	int c1, u1;
	open_pair(&c1, &u1);
	send_str(u1, "early"); /* before the mode: not counted */
	expect_str(c1, "early", (int)margin(1000));
	fault_proxy_params pp = { .cut_after = 10 };
	set_mode(FAULT_PROXY_CUT_AFTER, &pp);

	char big[100];
	memset(big, 'q', sizeof big);
	CU_ASSERT_EQUAL(send(c1, big, sizeof big, MSG_NOSIGNAL), (ssize_t)sizeof big);
	char in[128];
	CU_ASSERT_EQUAL(recv_n(u1, in, sizeof big, (int)margin(1000)), sizeof big); /* not limited */
	send_str(u1, "0123456789abcdefghijklmno");
	memset(in, 0, sizeof in);
	CU_ASSERT_EQUAL(recv_n(c1, in, sizeof in, (int)margin(1000)), 10); /* then EOF */
	CU_ASSERT_STRING_EQUAL(in, "0123456789");
	CU_ASSERT(closed_within(u1, (int)margin(1000)));

	/* A new connection counts from its accept, over several chunks. */
	int c2, u2;
	open_pair(&c2, &u2);
	send_str(u2, "abcd");
	expect_str(c2, "abcd", (int)margin(1000));
	CU_ASSERT(quiet_for(c2, 50));
	send_str(u2, "efghijklmn");
	memset(in, 0, sizeof in);
	CU_ASSERT_EQUAL(recv_n(c2, in, sizeof in, (int)margin(1000)), 6);
	CU_ASSERT_STRING_EQUAL(in, "efghij");

	/* cut_after 0 cuts open connections at once. */
	int c3, u3;
	open_pair(&c3, &u3);
	pp.cut_after = 0;
	set_mode(FAULT_PROXY_CUT_AFTER, &pp);
	CU_ASSERT(closed_within(c3, 50));
	CU_ASSERT(closed_within(u3, 50));

	fault_proxy_counters s = stats();
	CU_ASSERT_EQUAL(s.faulted, 3);
	CU_ASSERT_EQUAL(s.bytes_dropped, 15 + 4);
	CU_ASSERT_EQUAL(s.bytes_to_client, 5 + 10 + 4 + 6);
	set_mode(FAULT_PROXY_PASS, NULL);
	expect_working_pair();
}

static void test_raw_corrupt(void)
{
	start_proxy(upstream_listen());
	set_text("corrupt at 5");
	int c, u;
	open_pair(&c, &u);
	const char *msg = "ABCDEFGHIJKLMNOP";
	send_str(u, msg);
	uint8_t in[16];
	CU_ASSERT_EQUAL_FATAL(recv_n(c, in, 16, (int)margin(1000)), 16);
	for (int i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(in[i], (uint8_t)(i == 5 ? msg[i] ^ 0xff : msg[i]));
	/* Client to upstream is untouched, and only one byte per connection. */
	send_str(c, msg);
	expect_str(u, msg, (int)margin(1000));
	send_str(u, msg);
	expect_str(c, msg, (int)margin(1000));
	CU_ASSERT_EQUAL(stats().bytes_corrupted, 1);

	/* Entering the mode again counts from there. */
	set_text("corrupt at 0");
	send_str(u, "xyz");
	CU_ASSERT_EQUAL_FATAL(recv_n(c, in, 3, (int)margin(1000)), 3);
	CU_ASSERT(in[0] == ('x' ^ 0xff) && in[1] == 'y' && in[2] == 'z');

	/* Rate 1 flips every byte. */
	set_text("corrupt rate 1");
	send_str(u, "12345678");
	CU_ASSERT_EQUAL_FATAL(recv_n(c, in, 8, (int)margin(1000)), 8);
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(in[i], (uint8_t)(('1' + i) ^ 0xff));
	CU_ASSERT_EQUAL(stats().bytes_corrupted, 1 + 1 + 8);

	/* A rate with a seed is repeatable. */
	uint8_t first[64], again[64], plain[64];
	memset(plain, 0x55, sizeof plain);
	set_text("corrupt rate 0.25 seed 42");
	CU_ASSERT_EQUAL(send(u, plain, sizeof plain, MSG_NOSIGNAL), (ssize_t)sizeof plain);
	CU_ASSERT_EQUAL_FATAL(recv_n(c, first, sizeof first, (int)margin(1000)), sizeof first);
	set_text("corrupt rate 0.25 seed 42");
	CU_ASSERT_EQUAL(send(u, plain, sizeof plain, MSG_NOSIGNAL), (ssize_t)sizeof plain);
	CU_ASSERT_EQUAL_FATAL(recv_n(c, again, sizeof again, (int)margin(1000)), sizeof again);
	CU_ASSERT(memcmp(first, again, sizeof first) == 0);
	int flipped = 0;
	for (size_t i = 0; i < sizeof first; i++)
		flipped += first[i] != 0x55;
	CU_ASSERT(flipped > 0 && flipped < 64);
}

static void test_raw_upstream_down(void)
{
	start_proxy(in_tmp("nobody.sock"));
	int c = raw_connect(in_tmp("proxy.sock"));
	CU_ASSERT_FATAL(c >= 0);
	CU_ASSERT(closed_within(c, (int)margin(500)));
	fault_proxy_counters s = stats();
	CU_ASSERT_EQUAL(s.accepted, 1);
	CU_ASSERT_EQUAL(s.upstream_failed, 1);
	CU_ASSERT_EQUAL(s.active, 0);
}

static void test_raw_stop_prompt(void)
{
	start_proxy(upstream_listen());
	int c[6], u[6];
	for (int i = 0; i < 6; i++)
		open_pair(&c[i], &u[i]);
	set_text("delay 5000"); /* bytes waiting in queues */
	for (int i = 0; i < 6; i++) {
		send_str(c[i], "queued");
		send_str(u[i], "queued");
	}
	util_sleep_ms(20);
	int64_t t0 = util_now_us();
	fault_proxy_stop(px);
	px = NULL;
	int64_t took = util_now_us() - t0;
	CU_ASSERT(took < margin(100) * 1000);
	for (int i = 0; i < 6; i++) {
		CU_ASSERT(closed_within(c[i], 100));
		CU_ASSERT(closed_within(u[i], 100));
	}
	CU_ASSERT_FALSE(util_exists(in_tmp("proxy.sock")));
	fault_proxy_stop(NULL); /* harmless */
}

static void test_start_errors(void)
{
	crit_err e;
	fault_proxy *p = NULL;
	const char *up = upstream_listen();

	/* A regular file is never replaced. */
	CU_ASSERT_EQUAL_FATAL(util_write_file(in_tmp("plain"), "x", 1, 0644, NULL), 0);
	err_clear(&e);
	CU_ASSERT_EQUAL(fault_proxy_start(&p, in_tmp("plain"), up, &e), -EEXIST);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a socket"));
	CU_ASSERT(util_exists(in_tmp("plain")));
	/* Nor a live socket. */
	err_clear(&e);
	CU_ASSERT_EQUAL(fault_proxy_start(&p, up, up, &e), -EADDRINUSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, up));
	CU_ASSERT_EQUAL(drain_upstream(), 1); /* the probe that found it live */
	/* Relative paths and other schemes are refused. */
	CU_ASSERT_EQUAL(fault_proxy_start(&p, "proxy.sock", up, &e), -ERR_CONFIG);
	CU_ASSERT_EQUAL(fault_proxy_start(&p, in_tmp("p.sock"), "tcp://127.0.0.1:1", &e), -ERR_CONFIG);
	CU_ASSERT_FALSE(util_exists(in_tmp("p.sock")));

	/* A stale socket file is replaced; unix:// works for both. */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa;
	CU_ASSERT_FATAL(unix_addr(&sa, in_tmp("proxy.sock")) == 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	close(fd);
	char lep[300], uep[300];
	snprintf(lep, sizeof lep, "unix://%s", in_tmp("proxy.sock"));
	snprintf(uep, sizeof uep, "unix://%s", up);
	err_clear(&e);
	int rc = fault_proxy_start(&px, lep, uep, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(fault_proxy_endpoint(px), lep);
	expect_working_pair();

	/* Bad parameters change nothing. */
	fault_proxy_params bad = { .delay_ms = -1 };
	CU_ASSERT_EQUAL(fault_proxy_set_mode(px, FAULT_PROXY_DELAY, &bad, &e), -EINVAL);
	bad = (fault_proxy_params){ .corrupt_rate = 1.5 };
	CU_ASSERT_EQUAL(fault_proxy_set_mode(px, FAULT_PROXY_CORRUPT, &bad, &e), -EINVAL);
	CU_ASSERT_EQUAL(fault_proxy_set_mode(px, (fault_proxy_mode)99, NULL, &e), -EINVAL);
	CU_ASSERT_EQUAL(stats().mode, FAULT_PROXY_PASS);
}

static void test_parse_and_commands(void)
{
	static const struct {
		const char *text;
		fault_proxy_mode mode;
		const char *canon;
	} good[] = {
		{ "pass", FAULT_PROXY_PASS, "pass" },
		{ "  PASS ", FAULT_PROXY_PASS, "pass" },
		{ "delay 200", FAULT_PROXY_DELAY, "delay 200" },
		{ "delay:250ms", FAULT_PROXY_DELAY, "delay 250" },
		{ "delay=0", FAULT_PROXY_DELAY, "delay 0" },
		{ "blackhole", FAULT_PROXY_BLACKHOLE, "blackhole" },
		{ "reset", FAULT_PROXY_RESET, "reset" },
		{ "refuse", FAULT_PROXY_REFUSE, "refuse" },
		{ "cut_after 1000", FAULT_PROXY_CUT_AFTER, "cut_after 1000" },
		{ "cut-after:0", FAULT_PROXY_CUT_AFTER, "cut_after 0" },
		{ "corrupt", FAULT_PROXY_CORRUPT, "corrupt at 0" },
		{ "corrupt at 17", FAULT_PROXY_CORRUPT, "corrupt at 17" },
		{ "corrupt:rate=0.5:seed=7", FAULT_PROXY_CORRUPT, "corrupt rate 0.5 seed 7" },
		{ "corrupt seed 3 rate 1", FAULT_PROXY_CORRUPT, "corrupt rate 1 seed 3" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		fault_proxy_mode m = FAULT_PROXY_NMODES;
		fault_proxy_params pp;
		crit_err e;
		err_clear(&e);
		int rc = fault_proxy_parse_mode(good[i].text, &m, &pp, &e);
		if (rc < 0)
			fprintf(stderr, "'%s': %s\n", good[i].text, e.msg);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(m, good[i].mode);
		char buf[128];
		fault_proxy_format_mode(m, &pp, buf, sizeof buf);
		CU_ASSERT_STRING_EQUAL(buf, good[i].canon);
		/* What format writes, parse reads back. */
		fault_proxy_mode m2;
		fault_proxy_params pp2;
		CU_ASSERT_EQUAL(fault_proxy_parse_mode(buf, &m2, &pp2, NULL), 0);
		CU_ASSERT_EQUAL(m2, m);
		CU_ASSERT(memcmp(&pp, &pp2, sizeof pp) == 0);
	}
	static const char *const bad[] = {
		"", "  ", "bogus", "pass extra", "delay", "delay -1", "delay 2s", "delay 999999999",
		"cut_after", "cut_after x", "cut_after -5", "corrupt rate", "corrupt rate 2", "corrupt rate 0",
		"corrupt at 1 rate 0.5", "corrupt seed 4", "corrupt at", "corrupt sometimes 3", "reset 1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		fault_proxy_mode m;
		fault_proxy_params pp;
		crit_err e;
		err_clear(&e);
		int rc = fault_proxy_parse_mode(bad[i], &m, &pp, &e);
		if (rc != -EINVAL)
			fprintf(stderr, "'%s' was accepted\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT(e.msg[0] != '\0');
	}
	CU_ASSERT_EQUAL(fault_proxy_parse_mode(NULL, &(fault_proxy_mode){ 0 }, NULL, NULL), -EINVAL);
	CU_ASSERT_STRING_EQUAL(fault_proxy_mode_name(FAULT_PROXY_CUT_AFTER), "cut_after");
	CU_ASSERT_STRING_EQUAL(fault_proxy_mode_name((fault_proxy_mode)42), "unknown");

	/* Control commands against a running proxy. */
	start_proxy(in_tmp("nobody.sock"));
	char reply[1024];
	CU_ASSERT_EQUAL(fault_proxy_command(px, "mode delay 200\n", reply, sizeof reply, NULL), 0);
	CU_ASSERT_STRING_EQUAL(reply, "ok mode delay 200");
	CU_ASSERT_EQUAL(stats().mode, FAULT_PROXY_DELAY);
	CU_ASSERT_EQUAL(fault_proxy_command(px, "  stats \r\n", reply, sizeof reply, NULL), 0);
	CU_ASSERT(util_has_prefix(reply, "ok mode=delay:200 listening=1 accepted=0 active=0 "));
	CU_ASSERT_EQUAL(fault_proxy_command(px, "MODE refuse", reply, sizeof reply, NULL), 0);
	CU_ASSERT_EQUAL(fault_proxy_command(px, "stats", reply, sizeof reply, NULL), 0);
	CU_ASSERT(util_has_prefix(reply, "ok mode=refuse listening=0 "));
	CU_ASSERT_EQUAL(fault_proxy_command(px, "mode corrupt rate 0.5 seed 9", reply, sizeof reply, NULL), 0);
	CU_ASSERT_EQUAL(fault_proxy_command(px, "stats", reply, sizeof reply, NULL), 0);
	CU_ASSERT(util_has_prefix(reply, "ok mode=corrupt:rate:0.5:seed:9 listening=1 "));
	CU_ASSERT_EQUAL(fault_proxy_command(px, "help", reply, sizeof reply, NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, "mode cut_after BYTES"));
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(fault_proxy_command(px, "mode sideways", reply, sizeof reply, &e), -EINVAL);
	CU_ASSERT(util_has_prefix(reply, "error: proxy mode 'sideways': unknown"));
	CU_ASSERT_EQUAL(e.code, -EINVAL);
	CU_ASSERT_EQUAL(fault_proxy_command(px, "mode", reply, sizeof reply, NULL), -EINVAL);
	CU_ASSERT_EQUAL(fault_proxy_command(px, "", reply, sizeof reply, NULL), -EINVAL);
	CU_ASSERT_EQUAL(fault_proxy_command(px, "modes pass", reply, sizeof reply, NULL), -EINVAL);
	CU_ASSERT(util_has_prefix(reply, "error: unknown command 'modes pass'"));
	CU_ASSERT_EQUAL(stats().mode, FAULT_PROXY_CORRUPT);
}

/* --- the command line ----------------------------------------------------- */

struct cli_run {
	char *argv[16];
	int argc;
	int rc;
};

static void *cli_thread(void *arg)
{
	struct cli_run *r = arg;
	r->rc = proxy_cli_main(r->argc, r->argv);
	return NULL;
}

/* Run `critic proxy ARGS...` (NULL-terminated) with its output thrown away. */
static int cli_quiet(const char *first, ...)
{
	struct cli_run r = { .argc = 0 };
	r.argv[r.argc++] = "proxy";
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && r.argc < 15; a = va_arg(ap, const char *))
		r.argv[r.argc++] = (char *)a;
	va_end(ap);
	r.argv[r.argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	dup2(null, 1);
	dup2(null, 2);
	cli_thread(&r);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(null);
	return r.rc;
}

/* Send a line on the control socket and read the one-line reply. */
static void control(int fd, const char *line, char *reply, size_t len)
{
	send_str(fd, line);
	size_t got = 0;
	memset(reply, 0, len);
	while (got < len - 1 && !memchr(reply, '\n', got)) {
		size_t n = recv_n(fd, reply + got, 1, (int)margin(2000));
		if (!n)
			break;
		got += n;
	}
	CU_ASSERT(got > 0 && reply[got - 1] == '\n');
	if (got)
		reply[got - 1] = '\0';
}

static void test_cli(void)
{
	const char *up = upstream_listen();
	char lis[256], ctl[256], nobody[256];
	snprintf(lis, sizeof lis, "%s", in_tmp("cli.sock"));
	snprintf(ctl, sizeof ctl, "%s", in_tmp("cli.ctl"));
	snprintf(nobody, sizeof nobody, "%s", in_tmp("nobody.sock"));

	CU_ASSERT_EQUAL(cli_quiet("--help", NULL), 0);
	CU_ASSERT_EQUAL(cli_quiet(NULL), 2);
	CU_ASSERT_EQUAL(cli_quiet("--listen", lis, NULL), 2);
	CU_ASSERT_EQUAL(cli_quiet("--listen", lis, "--upstream", NULL), 2);
	CU_ASSERT_EQUAL(cli_quiet("--listen", lis, "--upstream", up, "--frobnicate", NULL), 2);
	CU_ASSERT_EQUAL(cli_quiet("--listen", lis, "--upstream", up, "stray", NULL), 2);
	CU_ASSERT_EQUAL(cli_quiet("--listen", lis, "--upstream", up, "--mode", "sideways", NULL), 2);
	CU_ASSERT_EQUAL(cli_quiet("--listen", lis, "--upstream", "relative.sock", NULL), 2);
	CU_ASSERT_EQUAL(cli_quiet("--listen", lis, "--upstream", nobody, NULL), 3);
	CU_ASSERT_EQUAL(cli_quiet("--listen", up, "--upstream", up, NULL), 2); /* in use */
	CU_ASSERT_FALSE(util_exists(lis));
	drain_upstream(); /* each start above probed the upstream */

	/* A full run, driven through its control socket. */
	struct cli_run r = { .argc = 0 };
	char *args[] = { "proxy", "-l", lis, "--upstream", (char *)up, "--mode", "delay:100", "--control", ctl };
	for (size_t i = 0; i < ARRAY_SIZE(args); i++)
		r.argv[r.argc++] = args[i];
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	dup2(null, 1);
	/* On a stack of its own, so that nothing of the thread outlives the
	 * test (glibc caches default stacks with their TLS after a join). */
	enum { STACK = 512 * 1024 };
	void *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	CU_ASSERT_FATAL(stack != MAP_FAILED);
	pthread_attr_t ta;
	pthread_attr_init(&ta);
	pthread_attr_setstack(&ta, stack, STACK);
	pthread_t t;
	int trc = pthread_create(&t, &ta, cli_thread, &r);
	pthread_attr_destroy(&ta);
	if (trc != 0)
		munmap(stack, STACK);
	CU_ASSERT_EQUAL_FATAL(trc, 0);
	int cfd = -1;
	for (int i = 0; i < 200 && cfd < 0; i++) {
		cfd = raw_connect(ctl);
		if (cfd < 0)
			util_sleep_ms(10);
	}
	CU_ASSERT(cfd >= 0);
	CU_ASSERT_EQUAL(drain_upstream(), 1); /* the start-up check of the upstream */
	if (cfd >= 0) {
		char reply[1200];
		control(cfd, "stats\n", reply, sizeof reply);
		CU_ASSERT(util_has_prefix(reply, "ok mode=delay:100 listening=1 accepted=0 "));
		control(cfd, "mode refuse\n", reply, sizeof reply);
		CU_ASSERT_STRING_EQUAL(reply, "ok mode refuse");
		CU_ASSERT_EQUAL(raw_connect(lis), -ECONNREFUSED);
		control(cfd, "mode sideways\n", reply, sizeof reply);
		CU_ASSERT(util_has_prefix(reply, "error: "));
		control(cfd, "mode pass\r\n", reply, sizeof reply);
		CU_ASSERT_STRING_EQUAL(reply, "ok mode pass");
		int c = raw_connect(lis);
		CU_ASSERT(c >= 0);
		int u = upstream_accept((int)margin(2000));
		CU_ASSERT(u >= 0);
		if (c >= 0 && u >= 0) {
			send_str(c, "via cli");
			expect_str(u, "via cli", (int)margin(1000));
		}
		/* A second client, as `echo -n stats | socat`: no newline, then EOF. */
		int c2 = raw_connect(ctl);
		CU_ASSERT(c2 >= 0);
		if (c2 >= 0) {
			send_str(c2, "stats");
			CU_ASSERT_EQUAL(shutdown(c2, SHUT_WR), 0);
			char buf[1200] = { 0 };
			recv_n(c2, buf, sizeof buf - 1, (int)margin(1000));
			CU_ASSERT(util_has_prefix(buf, "ok mode=pass listening=1 accepted=1 active=1 "));
		}
		control(cfd, "quit\n", reply, sizeof reply);
		CU_ASSERT_STRING_EQUAL(reply, "ok bye");
	}
	/* Without a control connection, stop it the other way it knows. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5 * fake_time_scale();
	if (pthread_timedjoin_np(t, NULL, &ts) != 0) {
		pthread_kill(t, SIGTERM);
		pthread_join(t, NULL);
	}
	munmap(stack, STACK);
	fflush(stdout);
	dup2(so, 1);
	close(so);
	close(null);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_FALSE(util_exists(lis));
	CU_ASSERT_FALSE(util_exists(ctl));
}

/* --- critic's CRI client through the proxy -------------------------------- */

static cri_conn *grpc_conn(void)
{
	char ep[300];
	snprintf(ep, sizeof ep, "unix://%s", in_tmp("proxy.sock"));
	cri_conn *c = NULL;
	crit_err e;
	err_clear(&e);
	int rc = cri_connect(&c, ep, NULL, 5000, &e);
	if (rc < 0)
		fprintf(stderr, "cri_connect: %s\n", e.msg);
	CU_ASSERT_FATAL(rc == 0 && nconns < (int)ARRAY_SIZE(conns));
	conns[nconns++] = c;
	return c;
}

/* One Version call; *took_ms is how long it took. A successful reply is
 * checked field by field unless unchecked (a corrupted byte may land in a
 * string and still decode). */
static int version_call(cri_conn *c, int timeout_ms, int64_t *took_ms, crit_err *e, bool unchecked)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = "v1";
	Runtime__V1__VersionResponse *resp = NULL;
	err_clear(e);
	int64_t t0 = util_now_ms();
	int rc = CRI_CALL_T(c, Version, &req, &resp, timeout_ms, e);
	if (took_ms)
		*took_ms = util_now_ms() - t0;
	if (rc == 0) {
		CU_ASSERT_PTR_NOT_NULL(resp);
		if (resp && !unchecked) {
			CU_ASSERT_STRING_EQUAL(resp->runtime_name, "fake-runtime");
			CU_ASSERT_STRING_EQUAL(resp->runtime_version, "9.8.7");
		}
	} else {
		CU_ASSERT_PTR_NULL(resp);
		CU_ASSERT_EQUAL(e->code, rc); /* a failure always comes with its record */
		CU_ASSERT(util_has_prefix(e->msg, "Version on unix://"));
	}
	cri_free(resp);
	return rc;
}

static int version(cri_conn *c, int timeout_ms, int64_t *took_ms, crit_err *e)
{
	return version_call(c, timeout_ms, took_ms, e, false);
}

static void expect_version_ok(cri_conn *c)
{
	crit_err e;
	int rc = version(c, 3000, NULL, &e);
	if (rc < 0)
		fprintf(stderr, "%s\n", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
}

/* After a fault that killed the client's transport, the first calls may
 * still fail: gRPC notices the closed connection asynchronously, and a
 * channel in TRANSIENT_FAILURE fails calls at once (UNAVAILABLE, no
 * wait-for-ready) until its reconnect backoff (50..500 ms in cri.c) runs
 * out. So retry, within 3 s, until a call succeeds. */
static void expect_recovery(cri_conn *c)
{
	crit_err e;
	int rc = -1;
	int64_t end = util_now_ms() + margin(3000);
	while (rc != 0 && util_now_ms() < end) {
		rc = version(c, 1000, NULL, &e);
		if (rc != 0)
			util_sleep_ms(20);
	}
	if (rc < 0)
		fprintf(stderr, "no recovery: %s\n", e.msg);
	CU_ASSERT_EQUAL(rc, 0);
}

static void test_grpc_pass(void)
{
	start_proxy(grpc_path);
	int before = fake_grpc_calls(srv, NULL, 0);
	cri_conn *c = grpc_conn();
	expect_version_ok(c);
	expect_version_ok(c);
	char method[128];
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, method, sizeof method), before + 2);
	CU_ASSERT_STRING_EQUAL(method, "/runtime.v1.RuntimeService/Version");
	fault_proxy_counters s = stats();
	CU_ASSERT_EQUAL(s.accepted, 1);
	CU_ASSERT_EQUAL(s.active, 1);
	CU_ASSERT(s.bytes_to_upstream > 24); /* at least the HTTP/2 preface */
	CU_ASSERT(s.bytes_to_client > 0);
	CU_ASSERT_EQUAL(s.bytes_dropped, 0);
}

static void test_grpc_delay(void)
{
	start_proxy(grpc_path);
	cri_conn *c = grpc_conn();
	expect_version_ok(c); /* connected beforehand */
	set_text("delay 300");
	crit_err e;
	int64_t took;
	CU_ASSERT_EQUAL(version(c, 5000, &took, &e), 0);
	CU_ASSERT(took >= 300);
	CU_ASSERT(took < 600 + margin(1000));
	/* Connecting under the delay works too, only later. */
	cri_conn *c2 = grpc_conn();
	CU_ASSERT_EQUAL(version(c2, 5000, &took, &e), 0);
	CU_ASSERT(took >= 300);
}

static void expect_deadline(cri_conn *c)
{
	crit_err e;
	int64_t took;
	int rc = version(c, 500, &took, &e);
	CU_ASSERT_EQUAL(rc, -ERR_GRPC);
	CU_ASSERT_EQUAL(e.grpc_status, 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "DEADLINE_EXCEEDED"));
	CU_ASSERT(took >= 450);
	CU_ASSERT(took < 500 + margin(1000));
}

static void test_grpc_blackhole(void)
{
	start_proxy(grpc_path);
	cri_conn *c = grpc_conn();
	expect_version_ok(c);
	int before = fake_grpc_calls(srv, NULL, 0);
	set_mode(FAULT_PROXY_BLACKHOLE, NULL);
	expect_deadline(c);        /* on the open connection */
	cri_conn *c2 = grpc_conn();
	expect_deadline(c2);       /* and on a new one */
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, NULL, 0), before); /* nothing got through */
	CU_ASSERT(stats().bytes_dropped > 0);

	set_mode(FAULT_PROXY_PASS, NULL);
	expect_recovery(c);
	expect_recovery(c2);
}

static void expect_unavailable(cri_conn *c)
{
	crit_err e;
	int64_t took;
	int rc = version(c, 3000, &took, &e);
	CU_ASSERT_EQUAL(rc, -ERR_UNREACHABLE);
	CU_ASSERT_EQUAL(e.grpc_status, 14);
	CU_ASSERT(took < margin(1000));
}

static void test_grpc_reset(void)
{
	start_proxy(grpc_path);
	cri_conn *c = grpc_conn();
	expect_version_ok(c);
	set_mode(FAULT_PROXY_RESET, NULL);
	CU_ASSERT_EQUAL(stats().faulted, 1);
	expect_unavailable(c);
	cri_conn *c2 = grpc_conn();
	expect_unavailable(c2);
	set_mode(FAULT_PROXY_PASS, NULL);
	expect_recovery(c);
	expect_recovery(c2);
}

static void test_grpc_refuse(void)
{
	start_proxy(grpc_path);
	cri_conn *c = grpc_conn();
	expect_version_ok(c);
	set_mode(FAULT_PROXY_REFUSE, NULL);
	cri_conn *c2 = grpc_conn();
	expect_unavailable(c2);
	expect_version_ok(c); /* the open connection is not touched */
	CU_ASSERT_EQUAL(stats().accepted, 1);
	set_mode(FAULT_PROXY_PASS, NULL);
	expect_recovery(c2);
}

/* Bytes one Version call on a new connection brings from upstream. */
static uint64_t bytes_per_fresh_call(void)
{
	uint64_t before = stats().bytes_to_client;
	cri_conn *c = grpc_conn();
	expect_version_ok(c);
	return stats().bytes_to_client - before;
}

/* A call that must fail, and fail cleanly: an error record, a gRPC status,
 * and no waiting past its deadline. */
static void expect_clean_failure(cri_conn *c, const char *what)
{
	crit_err e;
	int64_t took;
	int rc = version(c, 2000, &took, &e);
	if (rc == 0)
		fprintf(stderr, "%s: the call went through\n", what);
	CU_ASSERT(rc < 0);
	CU_ASSERT(e.grpc_status > 0 || rc == -ERR_DECODE);
	CU_ASSERT(took < 2000 + margin(1000));
}

static void test_grpc_cut_after(void)
{
	start_proxy(grpc_path);
	uint64_t total = bytes_per_fresh_call();
	CU_ASSERT_FATAL(total > 40);
	const uint64_t cuts[] = { 0, 1, 9, 30, total / 2 };
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		fault_proxy_params pp = { .cut_after = cuts[i] };
		set_mode(FAULT_PROXY_CUT_AFTER, &pp);
		cri_conn *c = grpc_conn();
		char what[64];
		snprintf(what, sizeof what, "cut_after %llu of %llu", (unsigned long long)cuts[i],
			 (unsigned long long)total);
		expect_clean_failure(c, what);
		cri_close(c);
		conns[--nconns] = NULL;
	}
	/* On a connection that already works, the next reply is cut short. */
	set_mode(FAULT_PROXY_PASS, NULL);
	cri_conn *c = grpc_conn();
	expect_version_ok(c);
	fault_proxy_params pp = { .cut_after = 20 };
	set_mode(FAULT_PROXY_CUT_AFTER, &pp);
	expect_clean_failure(c, "cut_after 20 on an open connection");
	CU_ASSERT(stats().faulted >= ARRAY_SIZE(cuts));
	set_mode(FAULT_PROXY_PASS, NULL);
	expect_recovery(c);
}

static void test_grpc_corrupt(void)
{
	start_proxy(grpc_path);
	uint64_t total = bytes_per_fresh_call();
	set_text("corrupt at 0"); /* the first byte of the server's SETTINGS */
	cri_conn *c = grpc_conn();
	expect_clean_failure(c, "corrupt at 0");
	set_text("corrupt rate 1");
	cri_conn *c2 = grpc_conn();
	expect_clean_failure(c2, "corrupt rate 1");

	/* One flipped byte anywhere in the exchange: the call may fail or (when
	 * the byte does not matter) succeed, but never crash or hang. */
	int failed = 0, tried = 0;
	for (uint64_t at = 1; at < total; at += total / 6 + 1) {
		char mode[64];
		snprintf(mode, sizeof mode, "corrupt at %llu", (unsigned long long)at);
		set_text(mode);
		cri_conn *cx = grpc_conn();
		crit_err e;
		int64_t took;
		int rc = version_call(cx, 1000, &took, &e, true);
		CU_ASSERT(took < 1000 + margin(1000));
		failed += rc < 0;
		tried++;
		cri_close(cx);
		conns[--nconns] = NULL;
	}
	CU_ASSERT(tried >= 5);
	CU_ASSERT(failed >= 1);
	CU_ASSERT(stats().bytes_corrupted >= 2);

	set_mode(FAULT_PROXY_PASS, NULL);
	expect_recovery(c);
}

static void test_grpc_stats_and_stop(void)
{
	start_proxy(grpc_path);
	cri_conn *c = grpc_conn();
	expect_version_ok(c);
	fault_proxy_counters s1 = stats();
	expect_version_ok(c);
	fault_proxy_counters s2 = stats();
	CU_ASSERT_EQUAL(s2.accepted, 1); /* one connection, reused */
	CU_ASSERT(s2.bytes_to_upstream > s1.bytes_to_upstream);
	CU_ASSERT(s2.bytes_to_client > s1.bytes_to_client);
	cri_conn *c2 = grpc_conn();
	expect_version_ok(c2);
	CU_ASSERT_EQUAL(stats().accepted, 2);
	CU_ASSERT_EQUAL(stats().active, 2);

	/* Stop with both connections open and a call's bytes waiting. */
	set_text("delay 2000");
	int64_t t0 = util_now_us();
	fault_proxy_stop(px);
	px = NULL;
	CU_ASSERT(util_now_us() - t0 < margin(100) * 1000);
	crit_err e;
	int64_t took;
	CU_ASSERT_EQUAL(version(c, 3000, &took, &e), -ERR_UNREACHABLE);
	CU_ASSERT(took < margin(1000));
}

void tests_register_proxy(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("unit/proxy", suite_init, suite_cleanup, NULL, teardown);
	if (!s)
		return;
	CU_add_test(s, "raw pass: 1 MiB each way intact, half-closes passed on, counted", test_raw_pass);
	CU_add_test(s, "raw delay: each chunk late by the delay, order kept", test_raw_delay);
	CU_add_test(s, "raw blackhole: nothing comes back; leaving it closes what lost bytes", test_raw_blackhole);
	CU_add_test(s, "raw reset: open connections closed, new ones closed at once", test_raw_reset);
	CU_add_test(s, "raw refuse: ECONNREFUSED, open connections carry on", test_raw_refuse);
	CU_add_test(s, "raw cut_after: exactly N bytes to the client, then closed", test_raw_cut_after);
	CU_add_test(s, "raw corrupt: the byte at the offset, or at a rate, flipped", test_raw_corrupt);
	CU_add_test(s, "raw upstream down: the client is closed and counted", test_raw_upstream_down);
	CU_add_test(s, "raw stop: prompt with connections open and bytes queued", test_raw_stop_prompt);
	CU_add_test(s, "start: bad paths refused, stale socket replaced, bad params", test_start_errors);
	CU_add_test(s, "mode parsing and control commands", test_parse_and_commands);
	CU_add_test(s, "critic proxy: usage, unreachable upstream, control socket", test_cli);
	CU_add_test(s, "grpc pass: Version through the proxy decodes", test_grpc_pass);
	CU_add_test(s, "grpc delay 300 ms: the call is late and succeeds", test_grpc_delay);
	CU_add_test(s, "grpc blackhole: DEADLINE_EXCEEDED on time, then recovery", test_grpc_blackhole);
	CU_add_test(s, "grpc reset: UNAVAILABLE at once, then recovery", test_grpc_reset);
	CU_add_test(s, "grpc refuse: UNAVAILABLE for new connections only", test_grpc_refuse);
	CU_add_test(s, "grpc cut_after: clean failures wherever the cut falls", test_grpc_cut_after);
	CU_add_test(s, "grpc corrupt: clean failures, never a crash or hang", test_grpc_corrupt);
	CU_add_test(s, "grpc stats count connections and bytes; stop is prompt", test_grpc_stats_and_stop);
}
