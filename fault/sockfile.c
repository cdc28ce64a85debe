/* fault/sockfile: break the runtime's socket file under a running runtime and
 * put it back; classify what a client finds at a socket path. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cri.h"
#include "util.h"

/* ------------------------------------------------------------ probing */

const char *fault_sock_state_name(fault_sock_state s)
{
	switch (s) {
	case FAULT_SOCK_ANSWERS: return "answers";
	case FAULT_SOCK_ACCEPTS: return "accepts connections";
	case FAULT_SOCK_MISSING: return "socket missing";
	case FAULT_SOCK_NOT_SOCKET: return "not a socket";
	case FAULT_SOCK_REFUSED: return "stale socket: refuses connections";
	case FAULT_SOCK_DENIED: return "permission denied";
	case FAULT_SOCK_SILENT: return "accepts but does not answer";
	case FAULT_SOCK_FAILING: return "accepts but calls fail";
	case FAULT_SOCK_ERROR: return "cannot connect";
	case FAULT_SOCK_UNKNOWN: break;
	}
	return "unknown";
}

bool fault_sock_state_down(fault_sock_state s)
{
	return s != FAULT_SOCK_ANSWERS && s != FAULT_SOCK_ACCEPTS && s != FAULT_SOCK_UNKNOWN;
}

static void probe_start(fault_sock_probe *p)
{
	memset(p, 0, sizeof *p);
	p->grpc_status = -1;
	p->at_ms = util_now_ms();
}

/* connect() and classify; fills state, connect_errno and detail. */
static void connect_classify(const char *path, fault_sock_probe *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(p->detail, sizeof p->detail, "%.500s: path too long for a unix socket", path);
		p->connect_errno = ENAMETOOLONG;
		p->state = FAULT_SOCK_ERROR;
		return;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		p->connect_errno = errno;
		snprintf(p->detail, sizeof p->detail, "socket(AF_UNIX): %s", strerror(errno));
		p->state = FAULT_SOCK_ERROR;
		return;
	}
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	p->connect_errno = rc == 0 ? 0 : errno;
	switch (p->connect_errno) {
	case 0:
		p->state = FAULT_SOCK_ACCEPTS;
		snprintf(p->detail, sizeof p->detail, "connect %.500s: accepted", path);
		return;
	case ENOENT:
		p->state = FAULT_SOCK_MISSING;
		break;
	case ECONNREFUSED: {
		/* Linux refuses a connect() to any file that is not a listening
		 * socket: tell a non-socket apart. */
		struct stat st;
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			p->state = FAULT_SOCK_NOT_SOCKET;
			snprintf(p->detail, sizeof p->detail, "connect %.500s: %s (the path is not a socket, mode %o)",
				 path, strerror(ECONNREFUSED), (unsigned)st.st_mode);
			return;
		}
		p->state = FAULT_SOCK_REFUSED;
		break;
	}
	case EACCES:
	case EPERM:
		p->state = FAULT_SOCK_DENIED;
		break;
	case EAGAIN:
		p->state = FAULT_SOCK_SILENT;
		snprintf(p->detail, sizeof p->detail, "connect %.500s: %s (the listener's backlog is full)", path,
			 strerror(EAGAIN));
		return;
	default:
		p->state = FAULT_SOCK_ERROR;
		break;
	}
	snprintf(p->detail, sizeof p->detail, "connect %.500s: %s", path, strerror(p->connect_errno));
}

fault_sock_state fault_sock_connect(const char *path, fault_sock_probe *p)
{
	int64_t t0 = util_now_us();
	probe_start(p);
	connect_classify(path, p);
	p->took_us = util_now_us() - t0;
	return p->state;
}

fault_sock_state fault_sock_probe_path(const char *path, int answer_ms, fault_sock_probe *p)
{
	int64_t t0 = util_now_us();
	if (fault_sock_connect(path, p) != FAULT_SOCK_ACCEPTS)
		return p->state;
	int64_t at = p->at_ms;
	crit_err e;
	err_clear(&e);
	cri_conn *conn = NULL;
	if (answer_ms <= 0)
		answer_ms = 500;
	int rc = cri_connect(&conn, path, NULL, answer_ms, &e);
	if (rc == 0) {
		Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
		Runtime__V1__VersionResponse *resp = NULL;
		rc = CRI_CALL_T(conn, Version, &req, &resp, answer_ms, &e);
		if (rc == 0)
			snprintf(p->detail, sizeof p->detail, "CRI Version: %.200s %.200s", resp->runtime_name,
				 resp->runtime_version);
		cri_free(resp);
		cri_close(conn);
	}
	p->grpc_status = rc == 0 ? 0 : e.grpc_status;
	if (rc == 0) {
		p->state = FAULT_SOCK_ANSWERS;
	} else if (e.grpc_status == 4 /* DEADLINE_EXCEEDED */ ||
		   (e.grpc_status == 14 /* UNAVAILABLE */ && strstr(e.msg, "timed out"))) {
		p->state = FAULT_SOCK_SILENT;
		snprintf(p->detail, sizeof p->detail, "connect %.100s accepted; %.480s", path, e.msg);
	} else {
		/* It may have gone between the connect and the call: a second
		 * connect says what a client finds now. */
		fault_sock_probe again;
		if (fault_sock_connect(path, &again) != FAULT_SOCK_ACCEPTS) {
			*p = again;
			snprintf(p->detail, sizeof p->detail, "%.300s (a first connect was accepted, then: %.250s)",
				 again.detail, e.msg);
		} else {
			p->state = FAULT_SOCK_FAILING;
			snprintf(p->detail, sizeof p->detail, "connect %.100s accepted; %.480s", path, e.msg);
		}
		p->grpc_status = e.grpc_status;
	}
	p->at_ms = at;
	p->took_us = util_now_us() - t0;
	return p->state;
}

/* ------------------------------------------------------------ faults */

static const char *fault_name(fault_sock_fault f)
{
	switch (f) {
	case FAULT_SOCK_REMOVED: return "socket moved aside";
	case FAULT_SOCK_CHMODDED: return "socket mode changed";
	case FAULT_SOCK_STALE: return "stale socket in place";
	case FAULT_SOCK_NONE: break;
	}
	return "none";
}

int fault_sock_init(fault_sock *fs, const rtctl *rt, crit_err *e)
{
	memset(fs, 0, sizeof *fs);
	const char *path = rtctl_socket(rt);
	if (!path || path[0] != '/')
		return err_set(e, -EINVAL, "socket fault: %s has no absolute socket path", rtctl_describe(rt));
	if (strlen(path) >= sizeof fs->path)
		return err_set(e, -ENAMETOOLONG, "socket fault: %s: path too long", path);
	snprintf(fs->path, sizeof fs->path, "%s", path);
	return 0;
}

/* The socket at the path now, which a fault may act on. */
static int current_socket(const fault_sock *fs, const char *what, struct stat *st, crit_err *e)
{
	if (fs->active != FAULT_SOCK_NONE)
		return err_set(e, -EBUSY, "%s %s: a fault is in effect already (%s); restore it first", what, fs->path,
			       fault_name(fs->active));
	if (!fs->path[0])
		return err_set(e, -EINVAL, "%s: socket fault not initialised", what);
	if (lstat(fs->path, st) < 0)
		return err_set(e, -errno, "%s %s: %s", what, fs->path, strerror(errno));
	if (!S_ISSOCK(st->st_mode))
		return err_set(e, -ENOTSOCK, "%s %s: not a socket (mode %o): refusing to touch it", what, fs->path,
			       (unsigned)st->st_mode);
	return 0;
}

/* DIR/.critic-aside.NAME.PID, next to the socket (same file system, so a
 * rename moves it and the listener stays bound to it). */
static int aside_name(fault_sock *fs, crit_err *e)
{
	char dir[sizeof fs->path], base[sizeof fs->path];
	snprintf(dir, sizeof dir, "%s", fs->path);
	snprintf(base, sizeof base, "%s", fs->path);
	int n = snprintf(fs->aside, sizeof fs->aside, "%s/.critic-aside.%s.%d", dirname(dir), basename(base),
			 (int)getpid());
	if (n < 0 || (size_t)n >= sizeof fs->aside)
		return err_set(e, -ENAMETOOLONG, "socket fault: aside name for %s too long", fs->path);
	return 0;
}

static int move_aside(fault_sock *fs, const struct stat *st, const char *what, crit_err *e)
{
	int rc = aside_name(fs, e);
	if (rc < 0)
		return rc;
	if (renameat2(AT_FDCWD, fs->path, AT_FDCWD, fs->aside, RENAME_NOREPLACE) < 0)
		return err_set(e, -errno, "%s %s: rename to %s: %s", what, fs->path, fs->aside, strerror(errno));
	fs->dev = st->st_dev;
	fs->ino = st->st_ino;
	fs->mode = st->st_mode & 07777;
	return 0;
}

int fault_sock_remove(fault_sock *fs, crit_err *e)
{
	struct stat st;
	int rc = current_socket(fs, "remove socket", &st, e);
	if (rc < 0)
		return rc;
	if ((rc = move_aside(fs, &st, "remove socket", e)) < 0)
		return rc;
	fs->active = FAULT_SOCK_REMOVED;
	return 0;
}

int fault_sock_chmod(fault_sock *fs, mode_t mode, crit_err *e)
{
	struct stat st;
	int rc = current_socket(fs, "chmod socket", &st, e);
	if (rc < 0)
		return rc;
	if (chmod(fs->path, mode & 07777) < 0)
		return err_set(e, -errno, "chmod %o %s: %s", (unsigned)mode, fs->path, strerror(errno));
	fs->dev = st.st_dev;
	fs->ino = st.st_ino;
	fs->mode = st.st_mode & 07777;
	fs->active = FAULT_SOCK_CHMODDED;
	return 0;
}

int fault_sock_stale(fault_sock *fs, crit_err *e)
{
	struct stat st;
	int rc = current_socket(fs, "stale socket", &st, e);
	if (rc < 0)
		return rc;
	if ((rc = move_aside(fs, &st, "stale socket", e)) < 0)
		return rc;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, fs->path, strlen(fs->path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool bound = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	struct stat sst;
	if (!bound || lstat(fs->path, &sst) < 0) {
		rc = err_set(e, -errno, "stale socket %s: create: %s", fs->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		/* Put the original back (over the new file only if critic made it). */
		if (bound)
			unlink(fs->path);
		renameat2(AT_FDCWD, fs->aside, AT_FDCWD, fs->path, RENAME_NOREPLACE);
		return rc;
	}
	close(fd); /* nobody listens on it from now on */
	chmod(fs->path, fs->mode);
	fs->stale_dev = sst.st_dev;
	fs->stale_ino = sst.st_ino;
	fs->active = FAULT_SOCK_STALE;
	return 0;
}

/* Is the file at path the one (dev, ino)? */
static bool same_file(const char *path, dev_t dev, ino_t ino, bool *exists)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		*exists = false;
		return false;
	}
	*exists = true;
	return st.st_dev == dev && st.st_ino == ino;
}

/* Put the moved-aside socket back, unless the runtime made a new one. */
static int put_back(fault_sock *fs, crit_err *e)
{
	bool aside_there, path_there;
	if (!same_file(fs->aside, fs->dev, fs->ino, &aside_there))
		return err_set(e, -ESTALE, "restore %s: the socket moved aside to %s is %s", fs->path, fs->aside,
			       aside_there ? "not the one critic moved there (left alone)" : "gone");
	same_file(fs->path, 0, 0, &path_there);
	if (path_there) {
		unlink(fs->aside);
		return err_set(e, -EEXIST,
			       "restore %s: the runtime re-created its socket meanwhile: kept it, removed the old "
			       "one from %s",
			       fs->path, fs->aside);
	}
	if (renameat2(AT_FDCWD, fs->aside, AT_FDCWD, fs->path, RENAME_NOREPLACE) < 0)
		return err_set(e, -errno, "restore %s: rename from %s: %s", fs->path, fs->aside, strerror(errno));
	return 0;
}

int fault_sock_restore(fault_sock *fs, crit_err *e)
{
	fault_sock_fault f = fs->active;
	fs->active = FAULT_SOCK_NONE;
	bool there;
	switch (f) {
	case FAULT_SOCK_NONE:
		return 0;
	case FAULT_SOCK_REMOVED:
		return put_back(fs, e);
	case FAULT_SOCK_CHMODDED:
		if (!same_file(fs->path, fs->dev, fs->ino, &there))
			return err_set(e, -ESTALE, "restore mode of %s: %s (left alone)", fs->path,
				       there ? "it was replaced meanwhile" : "it is gone");
		if (chmod(fs->path, fs->mode) < 0)
			return err_set(e, -errno, "restore mode %o of %s: %s", (unsigned)fs->mode, fs->path,
				       strerror(errno));
		return 0;
	case FAULT_SOCK_STALE:
		/* Remove only the stale socket critic bound, then put back. */
		if (same_file(fs->path, fs->stale_dev, fs->stale_ino, &there) && unlink(fs->path) < 0 &&
		    errno != ENOENT)
			return err_set(e, -errno, "restore %s: remove the stale socket: %s", fs->path, strerror(errno));
		return put_back(fs, e);
	}
	return 0;
}
