/* fake_server: broken and scripted CRI endpoints for critic's error-path tests.
 *
 * Two kinds of fake live here. Raw unix sockets that misbehave below gRPC
 * (never accept, never answer, answer garbage), and a real gRPC server made
 * with gRPC core's C server API that answers every method with a script.
 * Every thread started here is stopped by the matching *_stop with a bounded
 * join, so a broken client cannot make the test program hang. */
#include "fake_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HAVE_VALGRIND_H 1
#endif
#endif

int fake_time_scale(void)
{
#ifdef HAVE_VALGRIND_H
	if (RUNNING_ON_VALGRIND)
		return 10;
#endif
	return 1;
}

/* Join a thread, giving up after ms. A thread that does not stop in time is
 * a bug in the fake: say so loudly rather than hang the whole run. */
static int join_bounded(pthread_t t, int ms, const char *what)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	int rc = pthread_timedjoin_np(t, NULL, &ts);
	if (rc) {
		fprintf(stderr, "fake_server: %s thread did not stop within %d ms (%s); leaving it\n", what, ms,
			strerror(rc));
		pthread_detach(t);
	}
	return -rc;
}

/* --- raw sockets ---------------------------------------------------------- */

#define SOCK_MAX_CONNS 32

struct fake_sock {
	fake_sock_mode mode;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	bool bound;       /* the socket file is ours to unlink */
	int stop_pipe[2]; /* a byte on [1] tells the thread to stop */
	bool has_thread;
	pthread_t thread;
	atomic_int accepted;
};

/* Bytes no HTTP/2 client can take for a server preface or a frame. */
static const char garbage[] = "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n\xff\xfe\xfd\x00garbage";

static void *sock_thread(void *arg)
{
	fake_sock *s = arg;
	int conns[SOCK_MAX_CONNS], nconns = 0;
	for (;;) {
		struct pollfd p[2 + SOCK_MAX_CONNS];
		p[0] = (struct pollfd){ .fd = s->stop_pipe[0], .events = POLLIN };
		p[1] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		for (int i = 0; i < nconns; i++)
			p[2 + i] = (struct pollfd){ .fd = conns[i], .events = POLLIN };
		/* Bounded anyway: the stop pipe is the normal way out. */
		int r = poll(p, (nfds_t)(2 + nconns), 100);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (p[0].revents)
			break;
		for (int i = nconns - 1; i >= 0; i--) {
			if (!p[2 + i].revents)
				continue;
			char buf[4096];
			ssize_t n = read(conns[i], buf, sizeof buf); /* read, never answer */
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				close(conns[i]);
				conns[i] = conns[--nconns];
			}
		}
		if (p[1].revents & POLLIN) {
			int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd < 0)
				continue;
			atomic_fetch_add(&s->accepted, 1);
			if (s->mode == FAKE_SOCK_GARBAGE) {
				ssize_t n = send(fd, garbage, sizeof garbage - 1, MSG_NOSIGNAL);
				(void)n;
				close(fd);
			} else if (nconns < SOCK_MAX_CONNS) {
				conns[nconns++] = fd;
			} else {
				close(fd);
			}
		}
	}
	for (int i = 0; i < nconns; i++)
		close(conns[i]);
	return NULL;
}

int fake_sock_start(fake_sock **out, fake_sock_mode mode, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	fake_sock *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->mode = mode;
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	snprintf(s->path, sizeof s->path, "%s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int rc = 0;
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
		rc = -errno;
	else
		s->bound = true;
	if (rc == 0 && (listen(s->lfd, 64) < 0 || pipe2(s->stop_pipe, O_CLOEXEC) < 0))
		rc = -errno;
	if (rc == 0 && mode != FAKE_SOCK_BLACKHOLE) {
		rc = -pthread_create(&s->thread, NULL, sock_thread, s);
		s->has_thread = rc == 0;
	}
	if (rc < 0) {
		fake_sock_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

int fake_sock_accepted(fake_sock *s) { return atomic_load(&s->accepted); }

void fake_sock_stop(fake_sock *s)
{
	if (!s)
		return;
	if (s->has_thread) {
		ssize_t n = write(s->stop_pipe[1], "x", 1);
		(void)n;
		join_bounded(s->thread, 5000, "raw socket");
	}
	for (int i = 0; i < 2; i++)
		if (s->stop_pipe[i] >= 0)
			close(s->stop_pipe[i]);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->bound)
		unlink(s->path);
	free(s);
}

/* --- gRPC server ---------------------------------------------------------- */

/* A call moves ST_START (initial metadata sent, request read) -> ST_MSGS
 * (one message per batch) -> ST_STATUS (status sent) or ST_HANG (nothing more
 * until cancelled) -> ST_DONE. Alongside runs one RECV_CLOSE_ON_SERVER batch,
 * which completes when the call ends for any reason. The call is freed when
 * it is done and neither batch is in flight. */
enum { T_NEW, T_MAIN, T_CLOSE, T_SHUTDOWN };
enum { ST_WAITING, ST_START, ST_MSGS, ST_STATUS, ST_HANG, ST_DONE };

struct fcall;
struct ftag {
	struct fcall *fc;
	int kind;
};

struct fcall {
	struct fake_grpc *g;
	struct ftag t_new, t_main, t_close;
	int st;
	bool main_busy, close_busy;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array req_md;
	grpc_byte_buffer *req;
	int cancelled;
	/* The script as it was when the call arrived. */
	grpc_byte_buffer *msgs[FAKE_MAX_MSGS];
	int nmsgs, sent;
	bool hang;
	int status;
	grpc_slice status_details;
	grpc_metadata md;
	bool has_md;
};

struct fake_grpc {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	grpc_server *srv;
	grpc_completion_queue *cq;
	pthread_t thread;
	atomic_bool stop;
	struct ftag t_shutdown;
	int live; /* fcalls allocated; touched by the server thread only */

	pthread_mutex_t mu; /* guards what follows */
	fake_reply reply;   /* pointers below are owned copies */
	uint8_t *msg_data[FAKE_MAX_MSGS];
	char *details, *md_key, *md_value;
	int calls;
	char last_method[256];
};

static void free_call(struct fcall *fc)
{
	if (fc->call)
		grpc_call_unref(fc->call);
	grpc_call_details_destroy(&fc->details);
	grpc_metadata_array_destroy(&fc->req_md);
	if (fc->req)
		grpc_byte_buffer_destroy(fc->req);
	for (int i = 0; i < fc->nmsgs; i++)
		grpc_byte_buffer_destroy(fc->msgs[i]);
	grpc_slice_unref(fc->status_details);
	if (fc->has_md) {
		grpc_slice_unref(fc->md.key);
		grpc_slice_unref(fc->md.value);
	}
	fc->g->live--;
	free(fc);
}

static void maybe_free(struct fcall *fc)
{
	if (fc->st == ST_DONE && !fc->main_busy && !fc->close_busy)
		free_call(fc);
}

static void request_new(struct fake_grpc *g)
{
	struct fcall *fc = calloc(1, sizeof *fc);
	if (!fc)
		return;
	fc->g = g;
	fc->t_new = (struct ftag){ fc, T_NEW };
	fc->t_main = (struct ftag){ fc, T_MAIN };
	fc->t_close = (struct ftag){ fc, T_CLOSE };
	fc->status_details = grpc_empty_slice();
	grpc_call_details_init(&fc->details);
	grpc_metadata_array_init(&fc->req_md);
	g->live++;
	if (grpc_server_request_call(g->srv, &fc->call, &fc->details, &fc->req_md, g->cq, g->cq, &fc->t_new) !=
	    GRPC_CALL_OK) {
		fprintf(stderr, "fake_server: grpc_server_request_call failed\n");
		fc->call = NULL;
		free_call(fc);
	}
}

/* Take a copy of the script for this call and note the call. */
static void snapshot(struct fake_grpc *g, struct fcall *fc)
{
	pthread_mutex_lock(&g->mu);
	g->calls++;
	size_t n = GRPC_SLICE_LENGTH(fc->details.method);
	if (n >= sizeof g->last_method)
		n = sizeof g->last_method - 1;
	memcpy(g->last_method, GRPC_SLICE_START_PTR(fc->details.method), n);
	g->last_method[n] = '\0';
	const fake_reply *r = &g->reply;
	fc->nmsgs = r->nmsgs;
	for (int i = 0; i < r->nmsgs; i++) {
		grpc_slice s = grpc_slice_from_copied_buffer((const char *)r->msgs[i].data, r->msgs[i].len);
		fc->msgs[i] = grpc_raw_byte_buffer_create(&s, 1);
		grpc_slice_unref(s);
	}
	fc->hang = r->hang;
	fc->status = r->status;
	if (r->details)
		fc->status_details = grpc_slice_from_copied_string(r->details);
	if (r->md_key) {
		fc->md.key = grpc_slice_from_copied_string(r->md_key);
		fc->md.value = grpc_slice_from_copied_string(r->md_value ? r->md_value : "");
		fc->has_md = true;
	}
	pthread_mutex_unlock(&g->mu);
}

static void give_up(struct fcall *fc)
{
	if (fc->st != ST_STATUS && fc->call)
		grpc_call_cancel(fc->call, NULL); /* makes the close batch complete */
	fc->st = ST_DONE;
}

static void start_main(struct fcall *fc, grpc_op *ops, size_t n)
{
	if (grpc_call_start_batch(fc->call, ops, n, &fc->t_main, NULL) == GRPC_CALL_OK)
		fc->main_busy = true;
	else
		give_up(fc);
}

/* The last main batch succeeded: do the next step of the script. */
static void advance(struct fcall *fc)
{
	grpc_op op;
	memset(&op, 0, sizeof op);
	switch (fc->st) {
	case ST_START:
		if (fc->req) {
			grpc_byte_buffer_destroy(fc->req);
			fc->req = NULL;
		}
		fc->st = ST_MSGS;
		/* fall through */
	case ST_MSGS:
		if (fc->sent < fc->nmsgs) {
			op.op = GRPC_OP_SEND_MESSAGE;
			op.data.send_message.send_message = fc->msgs[fc->sent++];
			start_main(fc, &op, 1);
			return;
		}
		if (fc->hang) {
			fc->st = fc->close_busy ? ST_HANG : ST_DONE;
			return;
		}
		op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		op.data.send_status_from_server.status = (grpc_status_code)fc->status;
		op.data.send_status_from_server.status_details = &fc->status_details;
		fc->st = ST_STATUS;
		start_main(fc, &op, 1);
		return;
	case ST_STATUS:
	default:
		fc->st = ST_DONE;
		return;
	}
}

static void on_new_call(struct fake_grpc *g, struct fcall *fc)
{
	if (!atomic_load(&g->stop))
		request_new(g);
	snapshot(g, fc);

	grpc_op close_op;
	memset(&close_op, 0, sizeof close_op);
	close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	close_op.data.recv_close_on_server.cancelled = &fc->cancelled;
	if (grpc_call_start_batch(fc->call, &close_op, 1, &fc->t_close, NULL) == GRPC_CALL_OK)
		fc->close_busy = true;

	grpc_op ops[2];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = fc->has_md ? 1 : 0;
	ops[0].data.send_initial_metadata.metadata = fc->has_md ? &fc->md : NULL;
	ops[1].op = GRPC_OP_RECV_MESSAGE;
	ops[1].data.recv_message.recv_message = &fc->req;
	fc->st = ST_START;
	start_main(fc, ops, 2);
}

static void handle(struct fake_grpc *g, void *tag, bool success)
{
	struct ftag *t = tag;
	struct fcall *fc = t->fc;
	switch (t->kind) {
	case T_NEW:
		if (!success) { /* the server is shutting down */
			fc->call = NULL;
			free_call(fc);
			return;
		}
		on_new_call(g, fc);
		break;
	case T_MAIN:
		fc->main_busy = false;
		if (!success || atomic_load(&g->stop))
			give_up(fc);
		else
			advance(fc);
		break;
	case T_CLOSE:
		fc->close_busy = false;
		if (fc->st == ST_HANG)
			fc->st = ST_DONE;
		break;
	default:
		return;
	}
	maybe_free(fc);
}

static gpr_timespec in_ms(int ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static void *grpc_thread(void *arg)
{
	struct fake_grpc *g = arg;
	request_new(g);
	while (!atomic_load(&g->stop)) {
		grpc_event ev = grpc_completion_queue_next(g->cq, in_ms(50), NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			handle(g, ev.tag, ev.success);
	}

	/* Shut down: cancel every call, wait for the shutdown tag and for every
	 * call to be released, all within a bound. */
	grpc_server_shutdown_and_notify(g->srv, g->cq, &g->t_shutdown);
	grpc_server_cancel_all_calls(g->srv);
	bool shut = false;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!shut || g->live > 0) {
		grpc_event ev = grpc_completion_queue_next(g->cq, in_ms(100), NULL);
		if (ev.type == GRPC_OP_COMPLETE) {
			if (ev.tag == &g->t_shutdown)
				shut = true;
			else
				handle(g, ev.tag, ev.success);
		}
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 5 * fake_time_scale()) {
			fprintf(stderr, "fake_server: shutdown incomplete (%d calls left)\n", g->live);
			break;
		}
	}
	if (shut)
		grpc_server_destroy(g->srv);
	g->srv = NULL;
	grpc_completion_queue_shutdown(g->cq);
	for (int i = 0; i < 100; i++) {
		grpc_event ev = grpc_completion_queue_next(g->cq, in_ms(100), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE && ev.tag != &g->t_shutdown)
			handle(g, ev.tag, ev.success);
	}
	grpc_completion_queue_destroy(g->cq);
	g->cq = NULL;
	return NULL;
}

static void clear_reply(struct fake_grpc *g)
{
	for (int i = 0; i < FAKE_MAX_MSGS; i++) {
		free(g->msg_data[i]);
		g->msg_data[i] = NULL;
	}
	free(g->details);
	free(g->md_key);
	free(g->md_value);
	g->details = g->md_key = g->md_value = NULL;
	memset(&g->reply, 0, sizeof g->reply);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

void fake_grpc_set_reply(fake_grpc *g, const fake_reply *r)
{
	pthread_mutex_lock(&g->mu);
	clear_reply(g);
	g->reply = *r;
	if (g->reply.nmsgs < 0)
		g->reply.nmsgs = 0;
	if (g->reply.nmsgs > FAKE_MAX_MSGS)
		g->reply.nmsgs = FAKE_MAX_MSGS;
	for (int i = 0; i < g->reply.nmsgs; i++) {
		size_t n = r->msgs[i].len;
		g->msg_data[i] = malloc(n ? n : 1);
		if (n)
			memcpy(g->msg_data[i], r->msgs[i].data, n);
		g->reply.msgs[i].data = g->msg_data[i];
	}
	g->reply.details = g->details = dup_or_null(r->details);
	g->reply.md_key = g->md_key = dup_or_null(r->md_key);
	g->reply.md_value = g->md_value = dup_or_null(r->md_value);
	pthread_mutex_unlock(&g->mu);
}

int fake_grpc_calls(fake_grpc *g, char *last_method, size_t len)
{
	pthread_mutex_lock(&g->mu);
	int n = g->calls;
	if (last_method && len)
		snprintf(last_method, len, "%s", g->last_method);
	pthread_mutex_unlock(&g->mu);
	return n;
}

int fake_grpc_start(fake_grpc **out, const char *path)
{
	if (strlen(path) >= sizeof(((fake_grpc *)0)->path))
		return -ENAMETOOLONG;
	fake_grpc *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	grpc_init();
	snprintf(g->path, sizeof g->path, "%s", path);
	pthread_mutex_init(&g->mu, NULL);
	g->t_shutdown.kind = T_SHUTDOWN;
	g->reply.status = 0; /* OK with no message until a test says otherwise */

	char addr[sizeof g->path + 8];
	snprintf(addr, sizeof addr, "unix:%s", path);
	g->cq = grpc_completion_queue_create_for_next(NULL);
	g->srv = grpc_server_create(NULL, NULL);
	grpc_server_register_completion_queue(g->srv, g->cq, NULL);
	grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
	int port = grpc_server_add_http2_port(g->srv, addr, creds);
	grpc_server_credentials_release(creds);
	if (port <= 0) {
		/* Never started: shut down without the thread. */
		grpc_server_shutdown_and_notify(g->srv, g->cq, &g->t_shutdown);
		for (int i = 0; i < 50; i++)
			if (grpc_completion_queue_next(g->cq, in_ms(100), NULL).tag == &g->t_shutdown)
				break;
		grpc_server_destroy(g->srv);
		grpc_completion_queue_shutdown(g->cq);
		while (grpc_completion_queue_next(g->cq, in_ms(1000), NULL).type == GRPC_OP_COMPLETE)
			;
		grpc_completion_queue_destroy(g->cq);
		pthread_mutex_destroy(&g->mu);
		free(g);
		grpc_shutdown();
		return -EADDRNOTAVAIL;
	}
	grpc_server_start(g->srv);
	int rc = pthread_create(&g->thread, NULL, grpc_thread, g);
	if (rc) {
		atomic_store(&g->stop, true);
		grpc_thread(g); /* runs the shutdown part at once */
		pthread_mutex_destroy(&g->mu);
		free(g);
		grpc_shutdown();
		return -rc;
	}
	*out = g;
	return 0;
}

void fake_grpc_stop(fake_grpc *g)
{
	if (!g)
		return;
	atomic_store(&g->stop, true);
	if (join_bounded(g->thread, 10000 * fake_time_scale(), "gRPC server") < 0)
		return; /* the thread still uses g: leak it rather than crash */
	unlink(g->path);
	clear_reply(g);
	pthread_mutex_destroy(&g->mu);
	free(g);
	grpc_shutdown();
}
