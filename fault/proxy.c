/* proxy: the socket proxy of proxy.h and its `critic proxy` command.
 *
 * One thread runs a poll loop over a wake-up eventfd, the listening socket
 * and two sockets per connection. The connections, their queues and the
 * current mode belong to that thread alone. Other threads hand it a mode
 * through the mutex-guarded request fields and wait until it is applied;
 * counters are atomics any thread may read. */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "endpoint.h"
#include "util.h"

#define CHUNK_MAX (16 * 1024)       /* one read */
#define SUN_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
#define ACCEPT_BURST 64             /* accepts per loop round */
#define APPLY_WAIT_MS 5000          /* set_mode's bound on the loop's answer */
#define DEFAULT_SEED 0x9e3779b97f4a7c15ull
#define THREAD_STACK (256 * 1024)   /* the loop keeps its buffers in the heap */

/* --- data ----------------------------------------------------------------- */

struct chunk {
	struct chunk *next;
	int64_t due_us; /* not written before this (DELAY) */
	size_t len, off;
	uint8_t data[];
};

/* One direction of a connection. */
struct flow {
	struct chunk *head, *tail;
	size_t queued;  /* bytes not yet written */
	bool src_eof;   /* the source side has sent EOF */
	bool dst_shut;  /* and we passed it on with shutdown(SHUT_WR) */
};

struct conn {
	int cfd, ufd;      /* client side; upstream side (-1: none) */
	struct flow c2u, u2c;
	bool poisoned;     /* lost bytes to BLACKHOLE, or never had an upstream */
	bool cutting;      /* CUT_AFTER budget spent: abort once u2c has drained */
	bool dead;         /* closed; freed at the end of the round */
	uint64_t budget;   /* CUT_AFTER: upstream->client bytes still allowed */
	uint64_t u2c_seen; /* bytes read from upstream since accept or mode entry */
	int pc, pu;        /* poll slots this round, -1 = not polled */
};

struct fault_proxy {
	char path[SUN_MAX];     /* the listening socket */
	char endpoint[EP_MAX];  /* "unix://" + path */
	char upstream[SUN_MAX];
	int lfd;                /* -1 while refusing */
	dev_t dev;              /* the socket file we made: remove only that one */
	ino_t ino;
	int wakefd;
	pthread_t thread;
	void *stack;            /* the thread's own stack; MAP_FAILED when none */

	pthread_mutex_t set_mu; /* one set_mode at a time */
	pthread_mutex_t mu;     /* guards the fields down to `listening` */
	pthread_cond_t cv;
	bool stop, exited;
	uint64_t want_gen, done_gen;
	fault_proxy_mode want_mode;
	fault_proxy_params want_params;
	int apply_rc;
	crit_err apply_err;
	fault_proxy_mode mode;  /* published copies, for fault_proxy_stats */
	fault_proxy_params params;
	bool listening;

	/* The loop thread's own. */
	fault_proxy_mode cur;
	fault_proxy_params cp;
	uint64_t rng;
	struct conn *conns[FAULT_PROXY_MAX_CONNS];
	int nconns;
	struct pollfd pfd[2 + 2 * FAULT_PROXY_MAX_CONNS];
	uint8_t rbuf[CHUNK_MAX];

	atomic_uint_fast64_t accepted, active, upstream_failed, faulted;
	atomic_uint_fast64_t to_upstream, to_client, dropped, corrupted;
};

static void count(atomic_uint_fast64_t *c, uint64_t n) { atomic_fetch_add_explicit(c, n, memory_order_relaxed); }
static uint64_t get(atomic_uint_fast64_t *c) { return atomic_load_explicit(c, memory_order_relaxed); }

static const char *const mode_names[FAULT_PROXY_NMODES] = {
	[FAULT_PROXY_PASS] = "pass",         [FAULT_PROXY_DELAY] = "delay",
	[FAULT_PROXY_BLACKHOLE] = "blackhole", [FAULT_PROXY_RESET] = "reset",
	[FAULT_PROXY_REFUSE] = "refuse",     [FAULT_PROXY_CUT_AFTER] = "cut_after",
	[FAULT_PROXY_CORRUPT] = "corrupt",
};

const char *fault_proxy_mode_name(fault_proxy_mode m)
{
	return (unsigned)m < FAULT_PROXY_NMODES ? mode_names[m] : "unknown";
}

const char *fault_proxy_endpoint(const fault_proxy *p) { return p->endpoint; }

/* --- sockets -------------------------------------------------------------- */

static void close_rst(int fd)
{
	if (fd < 0)
		return;
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path)
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Connect to a unix socket without blocking. AF_UNIX connects complete at
 * once or fail (EAGAIN when the listener's backlog is full). Returns the fd
 * or -errno. */
static int dial(const char *path)
{
	struct sockaddr_un sa;
	int rc = fill_addr(&sa, path);
	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* A socket bound to path and listening; path must not exist. */
static int bind_listen(const char *path, crit_err *e)
{
	struct sockaddr_un sa;
	if (fill_addr(&sa, path) < 0)
		return err_set(e, -ENAMETOOLONG, "listen on %s: path too long for a unix socket", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, -errno, "listen on %s: socket: %s", path, strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
		int rc = -errno;
		close(fd);
		return err_set(e, rc, "listen on %s: %s", path, strerror(-rc));
	}
	return fd;
}

/* Make room for a socket at path: nothing there is fine, a socket nobody
 * listens on is stale and removed, anything else is refused. */
static int clear_path(const char *path, crit_err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set(e, -errno, "listen on %s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return err_set(e, -EEXIST, "listen on %s: the path exists and is not a socket", path);
	int fd = dial(path);
	if (fd >= 0 || fd == -EAGAIN) {
		if (fd >= 0)
			close(fd);
		return err_set(e, -EADDRINUSE, "listen on %s: something already listens there", path);
	}
	if (fd != -ECONNREFUSED)
		return err_set(e, fd, "listen on %s: cannot tell whether the socket is in use: %s", path,
			       strerror(-fd));
	if (unlink(path) < 0 && errno != ENOENT)
		return err_set(e, -errno, "listen on %s: remove stale socket: %s", path, strerror(errno));
	return 0;
}

static int listener_for(const char *path, dev_t *dev, ino_t *ino, crit_err *e)
{
	int rc = clear_path(path, e);
	if (rc < 0)
		return rc;
	int fd = bind_listen(path, e);
	if (fd < 0)
		return fd;
	struct stat st;
	if (stat(path, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
	return fd;
}

static bool path_is_ours(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;
	return lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* Leaving REFUSE: listen again on a fresh socket. It is bound beside the
 * path and renamed over the stale file, so connect() never sees ENOENT;
 * when the longer name does not fit in sun_path, unlink and bind instead. */
static int listen_again(fault_proxy *p, crit_err *e)
{
	char tmp[SUN_MAX + 16];
	int fd;
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", p->path) < SUN_MAX) {
		struct stat st;
		if (lstat(tmp, &st) == 0 && S_ISSOCK(st.st_mode))
			(void)unlink(tmp); /* left by a crash mid-rename */
		fd = bind_listen(tmp, e);
		if (fd >= 0 && rename(tmp, p->path) < 0) {
			int rc = -errno;
			close(fd);
			(void)unlink(tmp);
			return err_set(e, rc, "listen on %s again: rename %s: %s", p->path, tmp, strerror(-rc));
		}
	} else {
		if (path_is_ours(p->path, p->dev, p->ino))
			(void)unlink(p->path);
		fd = bind_listen(p->path, e);
	}
	if (fd < 0)
		return fd;
	struct stat st;
	if (stat(p->path, &st) == 0) {
		p->dev = st.st_dev;
		p->ino = st.st_ino;
	}
	p->lfd = fd;
	return 0;
}

/* --- connections ---------------------------------------------------------- */

static void flow_clear(fault_proxy *p, struct flow *f)
{
	struct chunk *c = f->head;
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	if (f->queued)
		count(&p->dropped, f->queued);
	f->head = f->tail = NULL;
	f->queued = 0;
}

/* Close both ends at once (SO_LINGER 0); fault says a mode did it. */
static void conn_abort(fault_proxy *p, struct conn *c, bool fault)
{
	if (c->dead)
		return;
	/* Count first: a peer that sees the close may read the stats next. */
	if (fault)
		count(&p->faulted, 1);
	atomic_fetch_sub(&p->active, 1);
	flow_clear(p, &c->c2u);
	flow_clear(p, &c->u2c);
	close_rst(c->cfd);
	close_rst(c->ufd);
	c->cfd = c->ufd = -1;
	c->dead = true;
}

/* Both directions ended cleanly. */
static void conn_close(fault_proxy *p, struct conn *c)
{
	atomic_fetch_sub(&p->active, 1);
	close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->cfd = c->ufd = -1;
	c->dead = true;
}

static void free_dead(fault_proxy *p)
{
	int j = 0;
	for (int i = 0; i < p->nconns; i++) {
		struct conn *c = p->conns[i];
		if (c->dead)
			free(c);
		else
			p->conns[j++] = c;
	}
	p->nconns = j;
}

static void on_accept(fault_proxy *p)
{
	for (int i = 0; i < ACCEPT_BURST && p->lfd >= 0; i++) {
		int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of descriptors: try next round */
		}
		count(&p->accepted, 1);
		if (p->cur == FAULT_PROXY_RESET || p->nconns >= FAULT_PROXY_MAX_CONNS) {
			count(&p->faulted, 1);
			close_rst(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close_rst(fd);
			continue;
		}
		c->cfd = fd;
		c->ufd = -1;
		if (p->cur == FAULT_PROXY_BLACKHOLE) {
			c->poisoned = true; /* never dialled: useless after the blackhole */
		} else {
			c->ufd = dial(p->upstream);
			if (c->ufd < 0) {
				count(&p->upstream_failed, 1);
				close_rst(fd);
				free(c);
				continue;
			}
		}
		if (p->cur == FAULT_PROXY_CUT_AFTER) {
			c->budget = p->cp.cut_after;
			c->cutting = c->budget == 0;
		}
		p->conns[p->nconns++] = c;
		count(&p->active, 1);
	}
}

/* xorshift64*: cheap, and repeatable from a seed. */
static uint64_t next_rand(fault_proxy *p)
{
	uint64_t x = p->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	p->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void corrupt(fault_proxy *p, struct conn *c, uint8_t *buf, size_t n)
{
	uint64_t flipped = 0;
	for (size_t i = 0; i < n; i++) {
		bool flip;
		if (p->cp.corrupt_rate > 0)
			flip = (double)(next_rand(p) >> 11) * 0x1.0p-53 < p->cp.corrupt_rate;
		else
			flip = c->u2c_seen + i == p->cp.corrupt_at;
		if (flip) {
			buf[i] ^= 0xff;
			flipped++;
		}
	}
	if (flipped)
		count(&p->corrupted, flipped);
}

static bool wants_read(const struct conn *c, const struct flow *f, int src, bool u2c)
{
	return src >= 0 && !f->src_eof && f->queued < FAULT_PROXY_QUEUE_MAX && !(u2c && c->cutting);
}

/* Read one chunk from the flow's source into its queue, applying the mode.
 * Returns -1 when the connection was aborted. */
static int pull(fault_proxy *p, struct conn *c, bool u2c, int64_t now)
{
	struct flow *f = u2c ? &c->u2c : &c->c2u;
	int src = u2c ? c->ufd : c->cfd;
	size_t want = FAULT_PROXY_QUEUE_MAX - f->queued;
	if (want > CHUNK_MAX)
		want = CHUNK_MAX;
	ssize_t n = read(src, p->rbuf, want);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		conn_abort(p, c, false);
		return -1;
	}
	if (n == 0) {
		f->src_eof = true;
		return 0;
	}
	size_t keep = (size_t)n;
	if (u2c) {
		if (p->cur == FAULT_PROXY_CUT_AFTER) {
			if (keep > c->budget) {
				count(&p->dropped, keep - c->budget);
				keep = c->budget;
			}
			c->budget -= keep;
			if (c->budget == 0)
				c->cutting = true;
		}
		if (p->cur == FAULT_PROXY_CORRUPT)
			corrupt(p, c, p->rbuf, keep);
		c->u2c_seen += keep;
	}
	if (!keep)
		return 0;
	struct chunk *ch = malloc(sizeof *ch + keep);
	if (!ch) {
		count(&p->dropped, keep);
		conn_abort(p, c, false);
		return -1;
	}
	memcpy(ch->data, p->rbuf, keep);
	ch->len = keep;
	ch->off = 0;
	ch->next = NULL;
	ch->due_us = now + (p->cur == FAULT_PROXY_DELAY ? (int64_t)p->cp.delay_ms * 1000 : 0);
	if (f->tail)
		f->tail->next = ch;
	else
		f->head = ch;
	f->tail = ch;
	f->queued += keep;
	return 0;
}

/* Write the chunks that are due, in order. Returns -1 when aborted. */
static int push(fault_proxy *p, struct conn *c, bool u2c, int64_t now)
{
	struct flow *f = u2c ? &c->u2c : &c->c2u;
	int dst = u2c ? c->cfd : c->ufd;
	while (f->head && f->head->due_us <= now) {
		struct chunk *ch = f->head;
		ssize_t n = send(dst, ch->data + ch->off, ch->len - ch->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			conn_abort(p, c, false);
			return -1;
		}
		count(u2c ? &p->to_client : &p->to_upstream, (uint64_t)n);
		ch->off += (size_t)n;
		f->queued -= (size_t)n;
		if (ch->off == ch->len) {
			f->head = ch->next;
			if (!f->head)
				f->tail = NULL;
			free(ch);
		}
	}
	return 0;
}

/* After reads and writes: pass EOFs on, finish cuts, close what is done. */
static void settle(fault_proxy *p, struct conn *c)
{
	if (c->cutting && !c->u2c.head) {
		conn_abort(p, c, true);
		return;
	}
	if (c->c2u.src_eof && !c->c2u.head && !c->c2u.dst_shut) {
		(void)shutdown(c->ufd, SHUT_WR);
		c->c2u.dst_shut = true;
	}
	if (c->u2c.src_eof && !c->u2c.head && !c->u2c.dst_shut) {
		(void)shutdown(c->cfd, SHUT_WR);
		c->u2c.dst_shut = true;
	}
	if (c->c2u.dst_shut && c->u2c.dst_shut)
		conn_close(p, c);
}

/* Read whatever a blackholed side sends and drop it. Returns 1 on EOF or
 * error, 0 otherwise. */
static int swallow(fault_proxy *p, struct conn *c, int fd)
{
	ssize_t n = read(fd, p->rbuf, sizeof p->rbuf);
	if (n > 0) {
		count(&p->dropped, (uint64_t)n);
		c->poisoned = true;
		return 0;
	}
	return n == 0 || (errno != EAGAIN && errno != EINTR);
}

static void service(fault_proxy *p, struct conn *c, int64_t now)
{
	short rc = c->pc >= 0 ? p->pfd[c->pc].revents : 0;
	short ru = c->pu >= 0 ? p->pfd[c->pu].revents : 0;
	if (p->cur == FAULT_PROXY_BLACKHOLE) {
		if (rc && swallow(p, c, c->cfd)) {
			conn_abort(p, c, false); /* the client left */
			return;
		}
		if (ru && swallow(p, c, c->ufd)) {
			close_rst(c->ufd); /* the upstream left; keep the client waiting */
			c->ufd = -1;
			c->poisoned = true;
		}
		return;
	}
	if ((rc | ru) & (POLLERR | POLLNVAL)) {
		conn_abort(p, c, false);
		return;
	}
	if ((rc & (POLLIN | POLLHUP)) && wants_read(c, &c->c2u, c->cfd, false) && pull(p, c, false, now) < 0)
		return;
	if ((ru & (POLLIN | POLLHUP)) && wants_read(c, &c->u2c, c->ufd, true) && pull(p, c, true, now) < 0)
		return;
	if (c->ufd < 0) {
		/* Only a connection from a blackhole lacks an upstream, and
		 * leaving BLACKHOLE aborts those; be safe all the same. */
		conn_abort(p, c, true);
		return;
	}
	if (push(p, c, false, now) < 0 || push(p, c, true, now) < 0)
		return;
	settle(p, c);
}

/* --- modes ---------------------------------------------------------------- */

static int check_params(fault_proxy_mode mode, const fault_proxy_params *pp, crit_err *e)
{
	if ((unsigned)mode >= FAULT_PROXY_NMODES)
		return err_set(e, -EINVAL, "proxy: no such mode %d", (int)mode);
	if (mode == FAULT_PROXY_DELAY && (pp->delay_ms < 0 || pp->delay_ms > FAULT_PROXY_MAX_DELAY_MS))
		return err_set(e, -EINVAL, "proxy: delay %d ms out of range 0..%d", pp->delay_ms,
			       FAULT_PROXY_MAX_DELAY_MS);
	if (mode == FAULT_PROXY_CORRUPT && !(pp->corrupt_rate >= 0 && pp->corrupt_rate <= 1))
		return err_set(e, -EINVAL, "proxy: corrupt rate %g out of range 0..1", pp->corrupt_rate);
	return 0;
}

/* Runs on the loop thread with p->mu held. */
static int apply(fault_proxy *p, fault_proxy_mode m, const fault_proxy_params *pp, crit_err *e)
{
	fault_proxy_mode old = p->cur;
	if (old == FAULT_PROXY_REFUSE && m != FAULT_PROXY_REFUSE) {
		int rc = listen_again(p, e);
		if (rc < 0)
			return rc; /* still refusing */
	}
	if (old == FAULT_PROXY_BLACKHOLE && m != FAULT_PROXY_BLACKHOLE)
		for (int i = 0; i < p->nconns; i++)
			if (p->conns[i]->poisoned)
				conn_abort(p, p->conns[i], true);
	if (m == FAULT_PROXY_REFUSE && p->lfd >= 0) {
		close(p->lfd); /* the file stays: connect() gets ECONNREFUSED */
		p->lfd = -1;
	}
	p->cur = m;
	p->cp = *pp;
	for (int i = 0; i < p->nconns; i++) {
		struct conn *c = p->conns[i];
		if (c->dead)
			continue;
		switch (m) {
		case FAULT_PROXY_BLACKHOLE:
			if (c->c2u.queued || c->u2c.queued)
				c->poisoned = true;
			flow_clear(p, &c->c2u);
			flow_clear(p, &c->u2c);
			break;
		case FAULT_PROXY_RESET:
			conn_abort(p, c, true);
			break;
		case FAULT_PROXY_CUT_AFTER:
			c->budget = pp->cut_after;
			if (c->budget == 0)
				c->cutting = true;
			break;
		case FAULT_PROXY_CORRUPT:
			c->u2c_seen = 0;
			break;
		default:
			break;
		}
	}
	if (m == FAULT_PROXY_CORRUPT)
		p->rng = pp->seed ? pp->seed : DEFAULT_SEED;
	p->mode = m;
	p->params = *pp;
	p->listening = p->lfd >= 0;
	return 0;
}

static void handle_requests(fault_proxy *p, bool *stop)
{
	uint64_t v;
	(void)!read(p->wakefd, &v, sizeof v);
	pthread_mutex_lock(&p->mu);
	*stop = p->stop;
	if (!*stop && p->want_gen != p->done_gen) {
		err_clear(&p->apply_err);
		p->apply_rc = apply(p, p->want_mode, &p->want_params, &p->apply_err);
		p->done_gen = p->want_gen;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

/* --- the loop ------------------------------------------------------------- */

static int add_pfd(fault_proxy *p, int *n, int fd, short events)
{
	if (fd < 0 || !events)
		return -1;
	p->pfd[*n] = (struct pollfd){ .fd = fd, .events = events };
	return (*n)++;
}

/* Poll slots for one connection; lowers *timeout_ms to the next due chunk. */
static void arm(fault_proxy *p, struct conn *c, int *n, int64_t now, int *timeout_ms)
{
	short ec = 0, eu = 0;
	if (p->cur == FAULT_PROXY_BLACKHOLE) {
		ec = POLLIN;
		eu = POLLIN;
	} else {
		if (wants_read(c, &c->c2u, c->cfd, false))
			ec |= POLLIN;
		if (wants_read(c, &c->u2c, c->ufd, true))
			eu |= POLLIN;
		const struct flow *fl[2] = { &c->c2u, &c->u2c };
		for (int i = 0; i < 2; i++) {
			const struct chunk *h = fl[i]->head;
			if (!h)
				continue;
			if (h->due_us <= now) {
				if (i == 0)
					eu |= POLLOUT;
				else
					ec |= POLLOUT;
			} else {
				int64_t ms = (h->due_us - now + 999) / 1000;
				if (*timeout_ms < 0 || ms < *timeout_ms)
					*timeout_ms = (int)ms;
			}
		}
	}
	c->pc = add_pfd(p, n, c->cfd, ec);
	c->pu = add_pfd(p, n, c->ufd, eu);
}

static void *loop(void *arg)
{
	fault_proxy *p = arg;
	for (;;) {
		int n = 0, timeout_ms = -1;
		int64_t now = util_now_us();
		add_pfd(p, &n, p->wakefd, POLLIN);
		int li = add_pfd(p, &n, p->lfd, POLLIN);
		for (int i = 0; i < p->nconns; i++)
			arm(p, p->conns[i], &n, now, &timeout_ms);
		if (poll(p->pfd, (nfds_t)n, timeout_ms) < 0) {
			if (errno != EINTR)
				util_sleep_ms(10); /* ENOMEM: try again shortly */
			continue;
		}
		if (p->pfd[0].revents) {
			bool stop;
			handle_requests(p, &stop);
			if (stop)
				break;
		}
		now = util_now_us();
		for (int i = 0; i < p->nconns; i++)
			if (!p->conns[i]->dead)
				service(p, p->conns[i], now);
		free_dead(p);
		/* The listener may have been closed (REFUSE) this round. */
		if (li >= 0 && p->pfd[li].revents && p->lfd >= 0)
			on_accept(p);
	}
	for (int i = 0; i < p->nconns; i++)
		conn_abort(p, p->conns[i], false);
	free_dead(p);
	pthread_mutex_lock(&p->mu);
	p->exited = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* --- the in-process API --------------------------------------------------- */

static void proxy_free(fault_proxy *p)
{
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->ino && path_is_ours(p->path, p->dev, p->ino))
		(void)unlink(p->path);
	if (p->wakefd >= 0)
		close(p->wakefd);
	if (p->stack != MAP_FAILED)
		munmap(p->stack, THREAD_STACK);
	free(p);
}

int fault_proxy_start(fault_proxy **out, const char *listen_path, const char *upstream, crit_err *e)
{
	*out = NULL;
	fault_proxy *p = calloc(1, sizeof *p);
	if (!p)
		return err_set(e, -ENOMEM, "proxy: out of memory");
	p->lfd = p->wakefd = -1;
	p->stack = MAP_FAILED;
	int rc = ep_parse(listen_path, p->endpoint, sizeof p->endpoint, p->path, sizeof p->path, e);
	if (rc < 0) {
		err_wrap(e, "proxy listen address");
		goto fail;
	}
	char up_ep[EP_MAX];
	rc = ep_parse(upstream, up_ep, sizeof up_ep, p->upstream, sizeof p->upstream, e);
	if (rc < 0) {
		err_wrap(e, "proxy upstream");
		goto fail;
	}
	rc = listener_for(p->path, &p->dev, &p->ino, e);
	if (rc < 0)
		goto fail;
	p->lfd = rc;
	p->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->wakefd < 0) {
		rc = err_set(e, -errno, "proxy: eventfd: %s", strerror(errno));
		goto fail;
	}
	p->listening = true;
	p->mode = p->cur = FAULT_PROXY_PASS;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->set_mu, NULL);
	/* The thread gets a small stack of its own, unmapped by stop. A default
	 * stack would go to glibc's stack cache after the join, its TLS block
	 * still allocated, and a leak checker would blame this call for it. */
	pthread_attr_t ta;
	pthread_attr_init(&ta);
	p->stack = mmap(NULL, THREAD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p->stack != MAP_FAILED)
		pthread_attr_setstack(&ta, p->stack, THREAD_STACK);
	rc = -pthread_create(&p->thread, &ta, loop, p);
	pthread_attr_destroy(&ta);
	if (rc < 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		pthread_mutex_destroy(&p->set_mu);
		err_set(e, rc, "proxy: start thread: %s", strerror(-rc));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	proxy_free(p);
	return rc;
}

static void wake(fault_proxy *p)
{
	uint64_t one = 1;
	(void)!write(p->wakefd, &one, sizeof one);
}

int fault_proxy_set_mode(fault_proxy *p, fault_proxy_mode mode, const fault_proxy_params *params, crit_err *e)
{
	fault_proxy_params none = { 0 };
	if (!params)
		params = &none;
	int rc = check_params(mode, params, e);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&p->set_mu);
	pthread_mutex_lock(&p->mu);
	uint64_t gen = ++p->want_gen;
	p->want_mode = mode;
	p->want_params = *params;
	wake(p);
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += APPLY_WAIT_MS / 1000;
	rc = 0;
	while (p->done_gen < gen && !p->exited && rc == 0)
		rc = pthread_cond_timedwait(&p->cv, &p->mu, &dl);
	if (p->done_gen >= gen) {
		rc = p->apply_rc;
		if (rc < 0 && e)
			*e = p->apply_err;
	} else {
		rc = err_set(e, p->exited ? -EIO : -ETIMEDOUT, "proxy on %s: mode %s was not applied: %s",
			     p->path, fault_proxy_mode_name(mode),
			     p->exited ? "the proxy thread has stopped" : "no answer from the proxy thread");
	}
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->set_mu);
	return rc;
}

void fault_proxy_stats(fault_proxy *p, fault_proxy_counters *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&p->mu);
	out->mode = p->mode;
	out->params = p->params;
	out->listening = p->listening;
	pthread_mutex_unlock(&p->mu);
	out->accepted = get(&p->accepted);
	out->active = get(&p->active);
	out->upstream_failed = get(&p->upstream_failed);
	out->faulted = get(&p->faulted);
	out->bytes_to_upstream = get(&p->to_upstream);
	out->bytes_to_client = get(&p->to_client);
	out->bytes_dropped = get(&p->dropped);
	out->bytes_corrupted = get(&p->corrupted);
}

void fault_proxy_stop(fault_proxy *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_mutex_unlock(&p->mu);
	wake(p);
	pthread_join(p->thread, NULL); /* the loop only ever waits in poll */
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->set_mu);
	proxy_free(p);
}

/* --- text: modes and control commands ------------------------------------- */

static int parse_u64(const char *s, uint64_t *out, const char *suffix)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || (*end && !(suffix && !strcasecmp(end, suffix))))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_rate(const char *s, double *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1))
		return -EINVAL;
	*out = v;
	return 0;
}

/* The words after "corrupt": "at N", or "rate R" with an optional "seed S". */
static int parse_corrupt(char **w, int n, fault_proxy_params *pp)
{
	bool at = false, rate = false, seed = false;
	if (n % 2)
		return -EINVAL;
	for (int i = 0; i < n; i += 2) {
		int rc = -EINVAL;
		if (!strcasecmp(w[i], "at") && !at) {
			rc = parse_u64(w[i + 1], &pp->corrupt_at, NULL);
			at = true;
		} else if (!strcasecmp(w[i], "rate") && !rate) {
			rc = parse_rate(w[i + 1], &pp->corrupt_rate);
			rate = true;
		} else if (!strcasecmp(w[i], "seed") && !seed) {
			rc = parse_u64(w[i + 1], &pp->seed, NULL);
			seed = true;
		}
		if (rc < 0)
			return rc;
	}
	if ((at && rate) || (seed && !rate) || (rate && pp->corrupt_rate == 0))
		return -EINVAL;
	return 0;
}

int fault_proxy_parse_mode(const char *text, fault_proxy_mode *mode, fault_proxy_params *params, crit_err *e)
{
	char buf[256];
	if (!text || (size_t)snprintf(buf, sizeof buf, "%s", text) >= sizeof buf)
		return err_set(e, -EINVAL, "proxy mode: %s", text ? "too long" : "missing");
	char *w[8], *save = NULL;
	int n = 0;
	for (char *t = strtok_r(buf, " \t\r\n:=,", &save); t; t = strtok_r(NULL, " \t\r\n:=,", &save)) {
		if (n == (int)ARRAY_SIZE(w))
			return err_set(e, -EINVAL, "proxy mode '%s': too many words", text);
		w[n++] = t;
	}
	if (n == 0)
		return err_set(e, -EINVAL, "proxy mode: empty; one of pass, delay MS, blackhole, reset, refuse, "
					   "cut_after BYTES, corrupt [at OFFSET | rate R [seed S]]");
	fault_proxy_params pp = { 0 };
	fault_proxy_mode m;
	if (!strcasecmp(w[0], "pass") || !strcasecmp(w[0], "passthrough"))
		m = FAULT_PROXY_PASS;
	else if (!strcasecmp(w[0], "delay"))
		m = FAULT_PROXY_DELAY;
	else if (!strcasecmp(w[0], "blackhole"))
		m = FAULT_PROXY_BLACKHOLE;
	else if (!strcasecmp(w[0], "reset"))
		m = FAULT_PROXY_RESET;
	else if (!strcasecmp(w[0], "refuse"))
		m = FAULT_PROXY_REFUSE;
	else if (!strcasecmp(w[0], "cut_after") || !strcasecmp(w[0], "cut-after"))
		m = FAULT_PROXY_CUT_AFTER;
	else if (!strcasecmp(w[0], "corrupt"))
		m = FAULT_PROXY_CORRUPT;
	else
		return err_set(e, -EINVAL, "proxy mode '%s': unknown; one of pass, delay, blackhole, reset, "
					   "refuse, cut_after, corrupt", w[0]);
	uint64_t v;
	switch (m) {
	case FAULT_PROXY_DELAY:
		if (n != 2 || parse_u64(w[1], &v, "ms") < 0 || v > FAULT_PROXY_MAX_DELAY_MS)
			return err_set(e, -EINVAL, "proxy mode '%s': write delay MS, with MS in 0..%d", text,
				       FAULT_PROXY_MAX_DELAY_MS);
		pp.delay_ms = (int)v;
		break;
	case FAULT_PROXY_CUT_AFTER:
		if (n != 2 || parse_u64(w[1], &pp.cut_after, NULL) < 0)
			return err_set(e, -EINVAL, "proxy mode '%s': write cut_after BYTES", text);
		break;
	case FAULT_PROXY_CORRUPT:
		if (parse_corrupt(w + 1, n - 1, &pp) < 0)
			return err_set(e, -EINVAL,
				       "proxy mode '%s': write corrupt [at OFFSET | rate R [seed S]] with 0 < R <= 1",
				       text);
		break;
	default:
		if (n != 1)
			return err_set(e, -EINVAL, "proxy mode '%s': %s takes no argument", text, w[0]);
	}
	*mode = m;
	if (params)
		*params = pp;
	return 0;
}

void fault_proxy_format_mode(fault_proxy_mode mode, const fault_proxy_params *pp, char *buf, size_t len)
{
	const fault_proxy_params none = { 0 };
	if (!pp)
		pp = &none;
	const char *name = fault_proxy_mode_name(mode);
	switch (mode) {
	case FAULT_PROXY_DELAY:
		snprintf(buf, len, "%s %d", name, pp->delay_ms);
		break;
	case FAULT_PROXY_CUT_AFTER:
		snprintf(buf, len, "%s %llu", name, (unsigned long long)pp->cut_after);
		break;
	case FAULT_PROXY_CORRUPT:
		if (pp->corrupt_rate > 0)
			snprintf(buf, len, "%s rate %g seed %llu", name, pp->corrupt_rate,
				 (unsigned long long)pp->seed);
		else
			snprintf(buf, len, "%s at %llu", name, (unsigned long long)pp->corrupt_at);
		break;
	default:
		snprintf(buf, len, "%s", name);
	}
}

static const char command_help[] =
	"commands: mode pass | mode delay MS | mode blackhole | mode reset | mode refuse | "
	"mode cut_after BYTES | mode corrupt [at OFFSET | rate R [seed S]]; stats; help; quit";

int fault_proxy_command(fault_proxy *p, const char *line, char *reply, size_t len, crit_err *e)
{
	crit_err local;
	if (!e)
		e = &local;
	err_clear(e);
	while (*line == ' ' || *line == '\t')
		line++;
	size_t n = strcspn(line, "\r\n");
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	char cmd[256];
	int rc = 0;
	if (n >= sizeof cmd) {
		rc = err_set(e, -EINVAL, "command too long");
		goto out;
	}
	memcpy(cmd, line, n);
	cmd[n] = '\0';
	size_t w = strcspn(cmd, " \t");
	const char *rest = cmd + w + strspn(cmd + w, " \t");
	if (w == 4 && !strncasecmp(cmd, "mode", 4)) {
		fault_proxy_mode m;
		fault_proxy_params pp;
		rc = fault_proxy_parse_mode(rest, &m, &pp, e);
		if (rc == 0)
			rc = fault_proxy_set_mode(p, m, &pp, e);
		if (rc == 0) {
			char desc[128];
			fault_proxy_format_mode(m, &pp, desc, sizeof desc);
			snprintf(reply, len, "ok mode %s", desc);
		}
	} else if (!strcasecmp(cmd, "stats")) {
		fault_proxy_counters s;
		fault_proxy_stats(p, &s);
		char desc[128];
		fault_proxy_format_mode(s.mode, &s.params, desc, sizeof desc);
		for (char *c = desc; *c; c++)
			if (*c == ' ')
				*c = ':';
		snprintf(reply, len,
			 "ok mode=%s listening=%d accepted=%llu active=%llu upstream_failed=%llu faulted=%llu "
			 "to_upstream=%llu to_client=%llu dropped=%llu corrupted=%llu",
			 desc, s.listening, (unsigned long long)s.accepted, (unsigned long long)s.active,
			 (unsigned long long)s.upstream_failed, (unsigned long long)s.faulted,
			 (unsigned long long)s.bytes_to_upstream, (unsigned long long)s.bytes_to_client,
			 (unsigned long long)s.bytes_dropped, (unsigned long long)s.bytes_corrupted);
	} else if (!strcasecmp(cmd, "help")) {
		snprintf(reply, len, "ok %s", command_help);
	} else if (!*cmd) {
		rc = err_set(e, -EINVAL, "empty command (try help)");
	} else {
		rc = err_set(e, -EINVAL, "unknown command '%.40s' (try help)", cmd);
	}
out:
	if (rc < 0)
		snprintf(reply, len, "error: %s", e->msg);
	return rc;
}

/* --- the command line ----------------------------------------------------- */

#define CTL_MAX_CLIENTS 8
#define CTL_LINE_MAX 512

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;
	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static void cli_usage(FILE *f)
{
	fprintf(f,
		"Usage: critic proxy --listen PATH --upstream ENDPOINT [--mode MODE] [--control PATH]\n\n"
		"Put a fault-injecting proxy between a CRI client and the runtime: clients\n"
		"dial PATH, the proxy forwards their bytes to ENDPOINT (it does not parse\n"
		"HTTP/2) and breaks the traffic the way MODE says.\n\n"
		"  -l, --listen PATH       socket to listen on (path or unix:///path); a stale\n"
		"                          socket file there is replaced\n"
		"  -u, --upstream EP       the runtime's socket (path or unix:///path)\n"
		"  -m, --mode MODE         mode to start in (default pass), e.g. \"delay 200\"\n"
		"                          or delay:200\n"
		"  -c, --control PATH      control socket: one command per line, one reply line\n"
		"  -h, --help              this help\n\n"
		"Modes:\n"
		"  pass                    forward both ways\n"
		"  delay MS                hold every chunk MS ms, both ways, order kept\n"
		"  blackhole               accept, read, drop; never forward or answer (open\n"
		"                          connections too; those that lost bytes are closed\n"
		"                          when the blackhole ends)\n"
		"  reset                   close every connection (SO_LINGER 0), new ones at once\n"
		"  refuse                  close the listener: connect() gets ECONNREFUSED;\n"
		"                          open connections carry on\n"
		"  cut_after BYTES         close each connection after BYTES upstream->client\n"
		"  corrupt at OFFSET       flip (XOR 0xff) that upstream->client byte of each\n"
		"                          connection (plain `corrupt` = at 0)\n"
		"  corrupt rate R [seed S] flip each upstream->client byte with probability R\n\n"
		"Control commands: mode MODE [ARGS], stats, help, quit. For example:\n"
		"  echo \"mode blackhole\" | socat - UNIX-CONNECT:/run/critic-proxy.ctl\n\n"
		"Stops on SIGINT, SIGTERM or `quit`.\n"
		"Exit: 0 stopped, 2 usage or cannot listen, 3 upstream unreachable at start.\n");
}

struct ctl_client {
	int fd;
	size_t len;
	char buf[CTL_LINE_MAX];
};

static void ctl_reply(struct ctl_client *cl, const char *text)
{
	char out[1200];
	int n = snprintf(out, sizeof out, "%s\n", text);
	if (n >= (int)sizeof out) {
		n = (int)sizeof out;
		out[n - 1] = '\n';
	}
	/* A client that does not read its replies loses them, not the proxy. */
	(void)!send(cl->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Handle the complete lines in cl's buffer. Sets *quit on "quit". */
static void ctl_lines(fault_proxy *p, struct ctl_client *cl, bool *quit)
{
	char *start = cl->buf, *nl;
	while ((nl = memchr(start, '\n', cl->len - (size_t)(start - cl->buf)))) {
		*nl = '\0';
		char *line = start;
		start = nl + 1;
		line += strspn(line, " \t");
		size_t l = strcspn(line, "\r");
		line[l] = '\0';
		while (l && (line[l - 1] == ' ' || line[l - 1] == '\t'))
			line[--l] = '\0';
		if (!*line)
			continue;
		if (!strcasecmp(line, "quit")) {
			ctl_reply(cl, "ok bye");
			*quit = true;
			continue;
		}
		char reply[1100];
		int rc = fault_proxy_command(p, line, reply, sizeof reply, NULL);
		ctl_reply(cl, reply);
		if (strncasecmp(line, "stats", 5) && strncasecmp(line, "help", 4)) {
			printf("critic proxy: control: %s -> %s\n", line, rc == 0 ? "ok" : reply);
			fflush(stdout);
		}
	}
	cl->len -= (size_t)(start - cl->buf);
	memmove(cl->buf, start, cl->len);
}

/* Serve the control socket (lfd may be -1) until a signal or "quit". */
static void ctl_serve(fault_proxy *p, int lfd)
{
	struct ctl_client cl[CTL_MAX_CLIENTS];
	int ncl = 0;
	bool quit = false;
	while (!quit) {
		struct pollfd pf[2 + CTL_MAX_CLIENTS];
		int n = 0;
		pf[n++] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		int li = -1;
		if (lfd >= 0 && ncl < CTL_MAX_CLIENTS) {
			li = n;
			pf[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		}
		int base = n;
		for (int i = 0; i < ncl; i++)
			pf[n++] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents)
			break;
		for (int i = ncl - 1; i >= 0; i--) {
			if (!pf[base + i].revents)
				continue;
			struct ctl_client *c = &cl[i];
			ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
			bool gone = r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
			if (r > 0) {
				c->len += (size_t)r;
				ctl_lines(p, c, &quit);
				if (c->len == sizeof c->buf - 1) {
					ctl_reply(c, "error: line too long");
					gone = true;
				}
			}
			if (gone && r == 0 && c->len) {
				/* A last line without a newline (echo -n). */
				c->buf[c->len++] = '\n';
				ctl_lines(p, c, &quit);
			}
			if (gone) {
				close(c->fd);
				cl[i] = cl[--ncl];
			}
		}
		if (li >= 0 && pf[li].revents) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd >= 0)
				cl[ncl++] = (struct ctl_client){ .fd = fd };
		}
	}
	for (int i = 0; i < ncl; i++)
		close(cl[i].fd);
}

int proxy_cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, 0, 'l' },  { "upstream", required_argument, 0, 'u' },
		{ "mode", required_argument, 0, 'm' },    { "control", required_argument, 0, 'c' },
		{ "help", no_argument, 0, 'h' },          { 0, 0, 0, 0 },
	};
	const char *listen_on = NULL, *upstream = NULL, *mode_text = "pass", *control = NULL;
	optind = 0; /* glibc: start afresh, whatever parsed argv before */
	opterr = 0;
	int o;
	while ((o = getopt_long(argc, argv, ":l:u:m:c:h", longopts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_on = optarg; break;
		case 'u': upstream = optarg; break;
		case 'm': mode_text = optarg; break;
		case 'c': control = optarg; break;
		case 'h':
			cli_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "critic proxy: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "critic proxy: unknown option '%s' (see critic proxy --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "critic proxy: unexpected argument '%s' (see critic proxy --help)\n", argv[optind]);
		return 2;
	}
	if (!listen_on || !upstream) {
		fprintf(stderr, "critic proxy: --listen and --upstream are required (see critic proxy --help)\n");
		return 2;
	}
	crit_err e;
	err_clear(&e);
	fault_proxy_mode mode;
	fault_proxy_params params;
	char up_ep[EP_MAX], up_path[EP_MAX], ctl_ep[EP_MAX], ctl_path[EP_MAX];
	if (fault_proxy_parse_mode(mode_text, &mode, &params, &e) < 0 ||
	    ep_parse(upstream, up_ep, sizeof up_ep, up_path, sizeof up_path, &e) < 0 ||
	    (control && ep_parse(control, ctl_ep, sizeof ctl_ep, ctl_path, sizeof ctl_path, &e) < 0)) {
		fprintf(stderr, "critic proxy: %s\n", e.msg);
		return 2;
	}
	int fd = dial(up_path);
	if (fd < 0 && fd != -EAGAIN) { /* EAGAIN: there, only busy */
		fprintf(stderr, "critic proxy: upstream %s unreachable: %s\n", up_ep, strerror(-fd));
		return 3;
	}
	if (fd >= 0)
		close(fd);

	fault_proxy *p = NULL;
	if (fault_proxy_start(&p, listen_on, upstream, &e) < 0) {
		fprintf(stderr, "critic proxy: %s\n", e.msg);
		return 2;
	}
	int ctl_fd = -1;
	dev_t ctl_dev = 0;
	ino_t ctl_ino = 0;
	int rc = 0;
	if (mode != FAULT_PROXY_PASS && fault_proxy_set_mode(p, mode, &params, &e) < 0) {
		fprintf(stderr, "critic proxy: %s\n", e.msg);
		rc = 2;
		goto out;
	}
	if (control) {
		ctl_fd = listener_for(ctl_path, &ctl_dev, &ctl_ino, &e);
		if (ctl_fd < 0) {
			fprintf(stderr, "critic proxy: control socket: %s\n", e.msg);
			rc = 2;
			goto out;
		}
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "critic proxy: pipe: %s\n", strerror(errno));
		rc = 2;
		goto out;
	}
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	char desc[128];
	fault_proxy_format_mode(mode, &params, desc, sizeof desc);
	printf("critic proxy: %s -> %s, mode %s%s%s\n", fault_proxy_endpoint(p), up_ep, desc,
	       control ? ", control on " : "", control ? ctl_path : "");
	fflush(stdout);
	ctl_serve(p, ctl_fd);

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
out:
	if (ctl_fd >= 0) {
		close(ctl_fd);
		if (path_is_ours(ctl_path, ctl_dev, ctl_ino))
			(void)unlink(ctl_path);
	}
	fault_proxy_counters s;
	fault_proxy_stats(p, &s);
	fault_proxy_stop(p);
	if (rc == 0) {
		printf("critic proxy: stopped; accepted %llu, %llu bytes to upstream, %llu to clients, "
		       "%llu dropped\n",
		       (unsigned long long)s.accepted, (unsigned long long)s.bytes_to_upstream,
		       (unsigned long long)s.bytes_to_client, (unsigned long long)s.bytes_dropped);
		fflush(stdout);
	}
	return rc;
}
