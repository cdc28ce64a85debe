/* err: the error record every critic function fills when it fails.
 * It says what failed, on which object, and why, in one printable line. */
#ifndef CRITIC_ERR_H
#define CRITIC_ERR_H

#include <stddef.h>

/* Extra codes beside errno values (all returned negated). */
enum {
	ERR_BASE = 4000,
	ERR_GRPC,       /* the runtime answered with a non-OK gRPC status */
	ERR_DECODE,     /* a reply could not be decoded as the expected message */
	ERR_UNREACHABLE,/* the endpoint could not be reached at all */
	ERR_CONFIG,     /* bad configuration or input file */
	ERR_ASSERT,     /* a test expectation did not hold */
};

typedef struct crit_err {
	int code;        /* negative errno or -ERR_* ; 0 when clear */
	int grpc_status; /* gRPC status code when code == -ERR_GRPC, else -1 */
	char msg[1024];
} crit_err;

/* Fill e (may be NULL) and return code, so callers can write
 * `return err_set(e, -ENOENT, "open %s: ...", path);` */
int err_set(crit_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the existing message with more context: "ctx: old message". */
int err_wrap(crit_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_clear(crit_err *e);
const char *err_msg(const crit_err *e);

#endif
