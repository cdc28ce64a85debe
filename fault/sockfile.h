/* fault/sockfile: faults on the runtime's socket file while it runs (moved aside, mode 000,
 * a stale socket in its place), undone exactly; and a probe telling what a client finds there. */
#ifndef CRITIC_FAULT_SOCKFILE_H
#define CRITIC_FAULT_SOCKFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "rtctl.h"

/* ------------------------------------------------------------ probing */

typedef enum fault_sock_state {
	FAULT_SOCK_UNKNOWN = 0,
	FAULT_SOCK_ANSWERS,    /* connect works and the runtime answers a CRI Version */
	FAULT_SOCK_ACCEPTS,    /* connect works (the answer was not asked for) */
	FAULT_SOCK_MISSING,    /* no file at the path */
	FAULT_SOCK_NOT_SOCKET, /* something that is not a socket is at the path */
	FAULT_SOCK_REFUSED,    /* a socket file nobody listens on: ECONNREFUSED */
	FAULT_SOCK_DENIED,     /* connect: EACCES / EPERM */
	FAULT_SOCK_SILENT,     /* accepts (or its backlog is full) but does not answer in time */
	FAULT_SOCK_FAILING,    /* accepts, but the call fails otherwise (see detail) */
	FAULT_SOCK_ERROR,      /* connect failed for another reason (see errno) */
} fault_sock_state;

/* "socket missing", "stale socket: refuses connections",
 * "accepts but does not answer", … */
const char *fault_sock_state_name(fault_sock_state s);
/* True for the states in which a CRI client cannot get an answer. */
bool fault_sock_state_down(fault_sock_state s);

typedef struct fault_sock_probe {
	fault_sock_state state;
	int connect_errno;  /* errno of connect(), 0 when it succeeded */
	int grpc_status;    /* of the CRI Version asked, -1 when none was asked */
	int64_t at_ms;      /* monotonic ms when the probe started */
	int64_t took_us;
	char detail[600];   /* what was seen, for messages */
} fault_sock_probe;

/* One non-blocking connect() to path, classified; never blocks. The state
 * is one of ACCEPTS, MISSING, NOT_SOCKET, REFUSED, DENIED, SILENT (EAGAIN:
 * the backlog is full) or ERROR. */
fault_sock_state fault_sock_connect(const char *path, fault_sock_probe *p);

/* connect(), and when it is accepted a CRI Version on a new connection with
 * answer_ms as deadline: ANSWERS, SILENT (no answer in time) or FAILING, or
 * one of the connect states. Takes at most about answer_ms. */
fault_sock_state fault_sock_probe_path(const char *path, int answer_ms, fault_sock_probe *p);

/* ------------------------------------------------------------ faults */

typedef enum fault_sock_fault {
	FAULT_SOCK_NONE = 0,
	FAULT_SOCK_REMOVED,  /* the socket was moved aside under a hidden name */
	FAULT_SOCK_CHMODDED, /* the socket's mode was changed */
	FAULT_SOCK_STALE,    /* moved aside, a socket nobody listens on at the path */
} fault_sock_fault;

/* One runtime socket and the fault in effect on it (at most one at a time).
 * It remembers what it changed (inode, mode, the stale socket's inode) and
 * restore undoes only that: a socket the runtime re-created meanwhile is
 * left alone. */
typedef struct fault_sock {
	char path[108];        /* the runtime's socket */
	char aside[PATH_MAX];  /* DIR/.critic-aside.NAME.PID while moved aside */
	fault_sock_fault active;
	dev_t dev;             /* the original socket file */
	ino_t ino;
	mode_t mode;           /* its permission bits */
	dev_t stale_dev;       /* the stale socket critic bound at the path */
	ino_t stale_ino;
} fault_sock;

/* Bind fs to the socket of the runtime rt controls: the only path these
 * functions act on. */
int fault_sock_init(fault_sock *fs, const rtctl *rt, crit_err *e);

/* Move the socket aside while the runtime runs: new connections find no
 * file; connections already made keep working. */
int fault_sock_remove(fault_sock *fs, crit_err *e);
/* chmod the socket to mode (e.g. 0000). */
int fault_sock_chmod(fault_sock *fs, mode_t mode, crit_err *e);
/* Move the socket aside and bind (then close) a new socket at the path, so
 * connecting gets ECONNREFUSED. */
int fault_sock_stale(fault_sock *fs, crit_err *e);

/* Undo the fault in effect (0 when none is). -EEXIST when the runtime
 * re-created its socket meanwhile: that socket is kept, the moved-aside
 * one removed; -ESTALE when the file critic changed was replaced by
 * someone else (left alone). The fault is cleared in every case. */
int fault_sock_restore(fault_sock *fs, crit_err *e);

#endif
