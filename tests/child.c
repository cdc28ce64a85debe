/* A critic command run in the background by an integration test: its
 * output read as it comes, its exit noticed, a deadline on waiting for
 * it (tests that interrupt a run or a scenario with signals). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests.h"

int tests_child_start(tests_child *c, char *const argv[], const char *lab_dir)
{
	int fds[2];
	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout); /* the child must not repeat CUnit's buffered output */
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(fds[0]);
		close(fds[1]);
		return -err;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		if (lab_dir)
			setenv("CRITIC_LAB_DIR", lab_dir, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	c->pid = pid;
	c->fd = fds[0];
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	return 0;
}

void tests_child_pump(tests_child *c, int wait_ms)
{
	if (c->fd >= 0) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		if (poll(&p, 1, wait_ms) > 0) {
			char buf[4096];
			ssize_t n;
			while ((n = read(c->fd, buf, sizeof buf)) > 0)
				sb_append(&c->out, buf, (size_t)n);
			if (n == 0) {
				close(c->fd);
				c->fd = -1;
			}
		}
	} else {
		util_sleep_ms(wait_ms);
	}
	if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->exited = true;
}

const char *tests_child_output(const tests_child *c)
{
	return c->out.buf ? c->out.buf : "";
}

bool tests_child_wait_text(tests_child *c, const char *text, int ms)
{
	int64_t end = util_now_ms() + ms;
	while (!c->exited && util_now_ms() < end && !strstr(tests_child_output(c), text))
		tests_child_pump(c, 50);
	return strstr(tests_child_output(c), text) != NULL;
}

int tests_child_finished(const tests_child *c)
{
	int n = 0;
	for (const char *p = c->out.buf; p && *p;) {
		int k, total;
		if (p[0] == '[' && sscanf(p, "[%d/%d]", &k, &total) == 2)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

bool tests_child_wait_finished(tests_child *c, int n, int ms)
{
	int64_t end = util_now_ms() + ms;
	while (!c->exited && tests_child_finished(c) < n && util_now_ms() < end)
		tests_child_pump(c, 50);
	return tests_child_finished(c) >= n;
}

bool tests_child_wait_exit(tests_child *c, int ms)
{
	int64_t end = util_now_ms() + ms;
	while (!c->exited && util_now_ms() < end)
		tests_child_pump(c, 20);
	if (!c->exited) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
			;
		c->exited = true;
		return false;
	}
	/* What is still in the pipe (the child's own children are gone by
	 * now, so EOF comes soon). */
	for (int i = 0; i < 20 && c->fd >= 0; i++)
		tests_child_pump(c, 50);
	return true;
}

void tests_child_free(tests_child *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (!c->exited && c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->exited = true;
	}
	sb_free(&c->out);
}
