/* critic-helper: a static multi-tool baked into the lab's busybox images at
 * /usr/local/bin/critic-helper. Each subcommand does one thing a conformance
 * or fault test needs, and says what it did on stdout. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t last_sig;

static void on_signal(int sig)
{
	last_sig = sig;
}

static void usage(void)
{
	fputs("usage: critic-helper COMMAND [ARGS]\n"
	      "  sleep SECONDS|forever     sleep (exits 0 on SIGTERM/SIGINT)\n"
	      "  exit CODE                 exit with CODE\n"
	      "  signals [EXIT-AFTER]      print each signal received; exit 0 after\n"
	      "                            EXIT-AFTER SIGTERMs (default 1)\n"
	      "  ignore-term               ignore SIGTERM and SIGINT, sleep forever\n"
	      "  alloc MIB                 allocate and touch MIB MiB, then sleep\n"
	      "  spin                      burn one CPU forever\n"
	      "  fork N                    start N sleeping children, report how many worked\n"
	      "  zombie                    leave one unreaped child, sleep forever\n"
	      "  lines N [stderr]          print N numbered lines (to stderr if asked)\n"
	      "  http PORT [TEXT]          answer every HTTP request with TEXT\n"
	      "  syscall personality|sethostname NAME\n"
	      "                            make the call; print 'ok' or 'errno=NAME'\n",
	      stderr);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

static void exit_on_term(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int cmd_sleep(const char *arg)
{
	exit_on_term();
	if (!strcmp(arg, "forever")) {
		while (!last_sig)
			pause();
		return 0;
	}
	struct timespec ts = { atol(arg), 0 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !last_sig)
		;
	return 0;
}

static int cmd_signals(int exit_after)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
			sigaction(s, &sa, NULL);
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	int terms = 0;
	for (;;) {
		pause();
		int s = last_sig;
		last_sig = 0;
		if (!s)
			continue;
		printf("signal %d %s\n", s, strsignal(s));
		fflush(stdout);
		if (s == SIGTERM && ++terms >= exit_after)
			return 0;
	}
}

static int cmd_alloc(long mib)
{
	size_t len = (size_t)mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("alloc %ld MiB failed: %s\n", mib, strerror(errno));
		return 1;
	}
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	printf("allocated %ld MiB\n", mib);
	fflush(stdout);
	sleep_forever();
	return 0;
}

static int cmd_fork(int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			sleep_forever();
			_exit(0);
		}
		if (pid < 0) {
			printf("fork %d failed: %s\n", i + 1, strerror(errno));
			break;
		}
		ok++;
	}
	printf("forked %d of %d\n", ok, n);
	fflush(stdout);
	sleep_forever();
	return 0;
}

static int cmd_zombie(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	printf("zombie pid=%d\n", (int)pid);
	fflush(stdout);
	sleep_forever();
	return 0;
}

static int cmd_lines(long n, bool to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	for (long i = 1; i <= n; i++)
		fprintf(f, "critic line %ld\n", i);
	fflush(f);
	return 0;
}

static int cmd_http(int port, const char *text)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	int v6 = fd >= 0;
	if (!v6)
		fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	int rc;
	if (v6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
		rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	} else {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	}
	if (rc < 0 || listen(fd, 16) < 0) {
		printf("listen on %d failed: %s\n", port, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("listening on %d\n", port);
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		char buf[2048];
		ssize_t n = read(c, buf, sizeof buf); /* the request itself is not needed */
		(void)n;
		char resp[4096];
		int l = snprintf(resp, sizeof resp,
				 "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s\n",
				 strlen(text) + 1, text);
		if (l > 0 && write(c, resp, (size_t)l) < 0)
			perror("write");
		close(c);
	}
}

/* One system call a seccomp test cares about; the result on stdout, exit
 * 0 if it worked. personality(ADDR_NO_RANDOMIZE) is one the usual default
 * profiles refuse while the kernel allows it. */
static int cmd_syscall(const char *name, const char *arg)
{
	long rc;
	if (!strcmp(name, "personality"))
		rc = syscall(SYS_personality, 0x0040000UL);
	else if (!strcmp(name, "sethostname") && arg)
		rc = sethostname(arg, strlen(arg));
	else
		return 2;
	if (rc >= 0) {
		puts("ok");
		return 0;
	}
	int err = errno;
	const char *en = strerrorname_np(err);
	if (en)
		printf("errno=%s\n", en);
	else
		printf("errno=%d\n", err);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *cmd = argv[1];
	const char *a1 = argc > 2 ? argv[2] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "sleep") && a1)
		return cmd_sleep(a1);
	if (!strcmp(cmd, "exit") && a1)
		return atoi(a1);
	if (!strcmp(cmd, "signals"))
		return cmd_signals(a1 ? atoi(a1) : 1);
	if (!strcmp(cmd, "ignore-term")) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		puts("ignoring SIGTERM and SIGINT");
		sleep_forever();
	}
	if (!strcmp(cmd, "alloc") && a1)
		return cmd_alloc(atol(a1));
	if (!strcmp(cmd, "spin"))
		for (volatile unsigned long i = 0;; i++)
			;
	if (!strcmp(cmd, "fork") && a1)
		return cmd_fork(atoi(a1));
	if (!strcmp(cmd, "zombie"))
		return cmd_zombie();
	if (!strcmp(cmd, "lines") && a1)
		return cmd_lines(atol(a1), argc > 3 && !strcmp(argv[3], "stderr"));
	if (!strcmp(cmd, "http") && a1)
		return cmd_http(atoi(a1), argc > 3 ? argv[3] : "critic");
	if (!strcmp(cmd, "syscall") && a1)
		return cmd_syscall(a1, argc > 3 ? argv[3] : NULL);
	usage();
	return 2;
}
