/* critic-fiu-runtime: an OCI runtime wrapper for containerd's BinaryName: it execs crun with the
 * same arguments under libfiu's preload libraries and critic's, with the faults of the lab's spec. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Where things are:
 *   crun             $CRITIC_FIU_CRUN, else crun in /usr/bin, /usr/local/bin,
 *                    /usr/sbin, /bin, then $PATH
 *   critic's preload $CRITIC_FIU_PRELOAD, else libcritic-fiu-preload.so next
 *                    to this program, its ../fault/ and ../build/fault/, the
 *                    build dir compiled in, /usr/lib/critic/
 *   libfiu's         $CRITIC_FIU_LIBDIR, else /usr/lib/fiu (fiu_run_preload.so,
 *                    fiu_posix_preload.so)
 *   the fault dir    $CRITIC_FIU_DIR, else a "fiu" directory in one of the
 *                    two dirs above the --root crun is given (the lab's
 *                    handler uses Root = LAB/crun, the shim passes
 *                    LAB/crun/NAMESPACE: so LAB/fiu). No fault dir: crun
 *                    runs untouched.
 * In the fault dir:
 *   spec             lines for libfiu ("enable name=…", "enable_random …",
 *                    "disable …": passed in FIU_ENABLE, as fiu-run does) and
 *                    for critic's preload ("critic name=…,after=N,path=P":
 *                    passed in CRITIC_FIU_RULES); the preload also watches
 *                    the file (CRITIC_FIU_SPEC) and applies a change at once
 *                    in the crun processes that run
 *   ctl/crun-PID.in/.out   with an "option control-fifo" line: libfiu's
 *                    control fifos of each crun (CRITIC_FIU_CTRL_FIFO), for
 *                    fiu-ctrl -f DIR/ctl/crun; off by default because the
 *                    control thread hangs crun's container process (see
 *                    ctl_start in critic_fiu_preload.c); stale fifos of
 *                    dead pids are removed
 *   injected.log     one line per failure critic's preload injected
 *   runs.log         one line per crun run: pid, time, the arguments
 */

#define SPEC_MAX (64 * 1024)

static const char *prog = "critic-fiu-runtime";

static bool is_exec(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool find_crun(char *out, size_t len)
{
	const char *env = getenv("CRITIC_FIU_CRUN");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return is_exec(out);
	}
	static const char *const fixed[] = { "/usr/bin/crun", "/usr/local/bin/crun", "/usr/sbin/crun", "/bin/crun" };
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (is_exec(fixed[i])) {
			snprintf(out, len, "%s", fixed[i]);
			return true;
		}
	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "");
	char *save = NULL;
	bool found = false;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		if (*d != '/')
			continue;
		snprintf(out, len, "%s/crun", d);
		found = is_exec(out);
	}
	free(copy);
	return found;
}

/* Does the ELF file have an interpreter (is it dynamically linked)? 1 yes,
 * 0 no (static), -1 unreadable or not ELF (why says which). */
static int elf_dynamic(const char *path, char *why, size_t wlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, wlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	Elf64_Ehdr eh;
	int rc = -1;
	if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) {
		snprintf(why, wlen, "%s is not a 64-bit ELF program", path);
		goto out;
	}
	rc = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) != (ssize_t)sizeof ph) {
			snprintf(why, wlen, "%s: short read of its program headers", path);
			rc = -1;
			goto out;
		}
		if (ph.p_type == PT_INTERP)
			rc = 1;
	}
	if (rc == 0)
		snprintf(why, wlen, "%s is statically linked: LD_PRELOAD cannot reach its libc calls", path);
out:
	close(fd);
	return rc;
}

static bool self_dir(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	snprintf(out, len, "%s", exe);
	return true;
}

static bool find_preload(char *out, size_t len)
{
	const char *env = getenv("CRITIC_FIU_PRELOAD");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return is_file(out);
	}
	char dir[PATH_MAX];
	if (self_dir(dir, sizeof dir)) {
		static const char *const rel[] = { "", "/../fault", "/../build/fault" };
		for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
			snprintf(out, len, "%.3800s%s/libcritic-fiu-preload.so", dir, rel[i]);
			if (is_file(out))
				return true;
		}
	}
#ifdef CRITIC_FIU_PRELOAD_BUILT
	snprintf(out, len, "%s", CRITIC_FIU_PRELOAD_BUILT);
	if (is_file(out))
		return true;
#endif
	snprintf(out, len, "/usr/lib/critic/libcritic-fiu-preload.so");
	return is_file(out);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The fault dir: $CRITIC_FIU_DIR, or a "fiu" dir in one of the two dirs
 * above the --root crun got (ROOT = LAB/crun/NAMESPACE: LAB/crun, LAB). */
static bool find_fault_dir(int argc, char **argv, char *out, size_t len)
{
	const char *env = getenv("CRITIC_FIU_DIR");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return is_dir(out);
	}
	const char *root = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--root") && i + 1 < argc)
			root = argv[i + 1];
		else if (!strncmp(argv[i], "--root=", 7))
			root = argv[i] + 7;
	}
	if (!root || root[0] != '/')
		return false;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", root);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return false;
		*slash = '\0';
		snprintf(out, len, "%.4000s/fiu", dir);
		if (is_dir(out))
			return true;
	}
	return false;
}

/* Split the spec into libfiu's commands and critic's rules; note the
 * "option control-fifo" line. */
static void read_spec(const char *dir, char *fiu, size_t flen, char *rules, size_t rlen, bool *fifo)
{
	fiu[0] = rules[0] = '\0';
	*fifo = false;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%.4000s/spec", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *l = line;
		while (*l == ' ' || *l == '\t')
			l++;
		if (!*l || *l == '#')
			continue;
		if (!strncmp(l, "option ", 7)) {
			if (strstr(l + 7, "control-fifo"))
				*fifo = true;
			continue;
		}
		char *dst = fiu;
		size_t dlen = flen;
		if (!strncmp(l, "critic ", 7)) {
			l += 7;
			dst = rules;
			dlen = rlen;
		}
		size_t used = strlen(dst);
		snprintf(dst + used, dlen - used, "%s%s", used ? "\n" : "", l);
	}
	fclose(f);
}

/* Remove control fifos left by crun processes that are gone (forked helpers
 * that end with _exit skip libfiu's atexit cleanup). */
static void sweep_fifos(const char *ctl)
{
	DIR *d = opendir(ctl);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid = 0;
		char ext[8] = "";
		if (sscanf(de->d_name, "crun-%d.%7s", &pid, ext) != 2 || pid <= 0 ||
		    (strcmp(ext, "in") && strcmp(ext, "out")))
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char p[PATH_MAX + 256];
		snprintf(p, sizeof p, "%.4000s/%.200s", ctl, de->d_name);
		unlink(p);
	}
	closedir(d);
}

static void note_run(const char *dir, int argc, char **argv)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%.4000s/runs.log", dir);
	char line[2048];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(line, sizeof line, "%d %lld.%03ld", (int)getpid(), (long long)ts.tv_sec,
			 ts.tv_nsec / 1000000);
	for (int i = 1; i < argc && n < (int)sizeof line - 2; i++)
		n += snprintf(line + n, sizeof line - (size_t)n, " %s", argv[i]);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	/* A record, not an archive: past 4 MiB it starts again. */
	struct stat st;
	bool full = stat(path, &st) == 0 && st.st_size > (4 << 20);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (full ? O_TRUNC : 0), 0644);
	if (fd >= 0) {
		ssize_t w = write(fd, line, (size_t)n);
		(void)w;
		close(fd);
	}
}

/* --critic-check: can faults be injected here? Exit 0 and say what would be
 * used, or exit 1 and say why not. */
static int check(void)
{
	char crun[PATH_MAX], pre[PATH_MAX], why[PATH_MAX + 100];
	const char *libdir = getenv("CRITIC_FIU_LIBDIR");
	if (!libdir || !*libdir)
		libdir = "/usr/lib/fiu";
	if (!find_crun(crun, sizeof crun)) {
		fprintf(stderr, "%s: crun not found (set CRITIC_FIU_CRUN)\n", prog);
		return 1;
	}
	if (elf_dynamic(crun, why, sizeof why) != 1) {
		fprintf(stderr, "%s: refusing: %s\n", prog, why);
		return 1;
	}
	if (!find_preload(pre, sizeof pre)) {
		fprintf(stderr, "%s: libcritic-fiu-preload.so not found (set CRITIC_FIU_PRELOAD)\n", prog);
		return 1;
	}
	static const char *const libs[] = { "fiu_run_preload.so", "fiu_posix_preload.so" };
	for (size_t i = 0; i < 2; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%.4000s/%s", libdir, libs[i]);
		if (!is_file(p)) {
			fprintf(stderr, "%s: %s missing (install fiu-utils / libfiu0, or set CRITIC_FIU_LIBDIR)\n",
				prog, p);
			return 1;
		}
	}
	printf("crun=%s\npreload=%s\nlibfiu=%s\n", crun, pre, libdir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--critic-check"))
		return check();
	char crun[PATH_MAX], why[PATH_MAX + 100];
	if (!find_crun(crun, sizeof crun)) {
		fprintf(stderr, "%s: crun not found (set CRITIC_FIU_CRUN)\n", prog);
		return 127;
	}
	/* Without LD_PRELOAD there is no fault: refuse rather than run a crun
	 * that silently ignores what the test asked for. */
	if (elf_dynamic(crun, why, sizeof why) != 1) {
		fprintf(stderr, "%s: refusing to run: %s\n", prog, why);
		return 126;
	}
	argv[0] = crun;
	char dir[PATH_MAX];
	if (!find_fault_dir(argc, argv, dir, sizeof dir)) {
		execv(crun, argv);
		fprintf(stderr, "%s: exec %s: %s\n", prog, crun, strerror(errno));
		return 127;
	}
	char pre[PATH_MAX];
	if (!find_preload(pre, sizeof pre)) {
		fprintf(stderr, "%s: refusing to run: libcritic-fiu-preload.so not found (set CRITIC_FIU_PRELOAD)\n",
			prog);
		return 126;
	}
	const char *libdir = getenv("CRITIC_FIU_LIBDIR");
	if (!libdir || !*libdir)
		libdir = "/usr/lib/fiu";

	static char fiu[SPEC_MAX], rules[SPEC_MAX];
	bool want_fifo;
	read_spec(dir, fiu, sizeof fiu, rules, sizeof rules, &want_fifo);
	char ctl[PATH_MAX], fifo[PATH_MAX], logp[PATH_MAX], spec[PATH_MAX];
	snprintf(ctl, sizeof ctl, "%.4000s/ctl", dir);
	mkdir(ctl, 0700);
	sweep_fifos(ctl);
	snprintf(fifo, sizeof fifo, "%.4000s/crun", ctl);
	snprintf(logp, sizeof logp, "%.4000s/injected.log", dir);
	snprintf(spec, sizeof spec, "%.4000s/spec", dir);
	note_run(dir, argc, argv);

	/* critic's library first: its wrappers then reach libfiu's posix ones
	 * (RTLD_NEXT) before libc, so both kinds of point work. */
	char preload[3 * PATH_MAX + 8];
	const char *old = getenv("LD_PRELOAD");
	snprintf(preload, sizeof preload, "%s:%s/fiu_run_preload.so:%s/fiu_posix_preload.so%s%.1000s", pre, libdir,
		 libdir, old && *old ? ":" : "", old && *old ? old : "");
	if (setenv("LD_PRELOAD", preload, 1) < 0 || setenv("FIU_ENABLE", fiu, 1) < 0 ||
	    setenv("CRITIC_FIU_CTRL_FIFO", want_fifo ? fifo : "", 1) < 0 || unsetenv("FIU_CTRL_FIFO") < 0 ||
	    setenv("CRITIC_FIU_SPEC", spec, 1) < 0 || setenv("CRITIC_FIU_RULES", rules, 1) < 0 ||
	    setenv("CRITIC_FIU_LOG", logp, 1) < 0) {
		fprintf(stderr, "%s: setenv: %s\n", prog, strerror(errno));
		return 126;
	}
	execv(crun, argv);
	fprintf(stderr, "%s: exec %s: %s\n", prog, crun, strerror(errno));
	return 127;
}
