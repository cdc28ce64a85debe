/* util: small helpers shared by every layer: scope-bound cleanup, clocks,
 * files, and running child processes with a deadline (never unbounded). */
#ifndef CRITIC_UTIL_H
#define CRITIC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "err.h"

/* Scope-bound cleanup: `cleanup_free char *p = malloc(...)` is freed on
 * every return path. */
static inline void util_freep(void *p) { free(*(void **)p); }
void util_closep(int *fd);
void util_fclosep(FILE **f);
#define cleanup_free __attribute__((cleanup(util_freep)))
#define cleanup_close __attribute__((cleanup(util_closep)))
#define cleanup_fclose __attribute__((cleanup(util_fclosep)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Monotonic and wall clocks. */
int64_t util_now_ms(void);       /* CLOCK_MONOTONIC, milliseconds */
int64_t util_now_us(void);       /* CLOCK_MONOTONIC, microseconds */
int64_t util_wall_ns(void);      /* CLOCK_REALTIME, nanoseconds */
void util_sleep_ms(int64_t ms);

/* Files. util_read_file returns a NUL-terminated heap buffer. */
int util_read_file(const char *path, char **out, size_t *len, crit_err *e);
int util_write_file(const char *path, const char *data, size_t len, int mode, crit_err *e);
int util_mkdir_p(const char *path, int mode, crit_err *e);
bool util_exists(const char *path);
/* Remove a tree; refuses "/" and relative paths. */
int util_rm_rf(const char *path, crit_err *e);

/* Processes. A pid is alive when /proc/PID/stat exists and its state is
 * not Z or X (a killed runtime can linger as a zombie for a while). */
bool util_pid_alive(pid_t pid);
/* Wait up to timeout_ms for the pid to die; true when it did. */
bool util_wait_pid_dead(pid_t pid, int timeout_ms);
/* Read /proc/PID/cmdline joined by spaces. */
int util_pid_cmdline(pid_t pid, char *buf, size_t len);

/* Run argv (argv[0] looked up in PATH) with a deadline, capturing stdout and
 * stderr together into *out (may be NULL to discard). Returns the exit status
 * (>= 0), or a negative code if it could not run or timed out (then the whole
 * process group is killed). */
int util_run(char *const argv[], int timeout_ms, char **out, crit_err *e);
/* The same with a shell command line (sh -c). */
int util_run_sh(const char *cmd, int timeout_ms, char **out, crit_err *e);

/* Start argv detached in its own session, stdout+stderr appended to
 * logpath. Returns the pid (> 0) or a negative code. */
pid_t util_spawn_daemon(char *const argv[], const char *logpath, crit_err *e);

/* String helpers. */
char *util_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool util_has_prefix(const char *s, const char *prefix);

/* A data directory that ships beside critic: $ENV when set (it must exist),
 * else <directory of critic's binary>/../SUB, resolved. For the scenario
 * library, the certification profiles. */
int util_data_dir(const char *env, const char *sub, char *dir, size_t len, crit_err *e);
/* Append printf output to a growing heap buffer. */
typedef struct strbuf { char *buf; size_t len, cap; } strbuf;
void sb_printf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_append(strbuf *sb, const char *data, size_t n);
void sb_free(strbuf *sb);

#endif
