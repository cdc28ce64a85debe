/* fake_server: broken and scripted CRI endpoints for critic's own tests of
 * its error paths. Not a runtime: only what the client's failure handling needs. */
#ifndef CRITIC_TESTS_FAKE_SERVER_H
#define CRITIC_TESTS_FAKE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- raw unix sockets that never speak gRPC ------------------------------ */

typedef enum fake_sock_mode {
	FAKE_SOCK_BLACKHOLE, /* listen() with a backlog, never accept */
	FAKE_SOCK_SILENT,    /* accept and read everything, never write */
	FAKE_SOCK_GARBAGE,   /* accept, write bytes that are not HTTP/2, close */
} fake_sock_mode;

typedef struct fake_sock fake_sock;

/* Listen on the unix socket at path (created; must not exist). Modes that
 * accept run one thread, stopped by fake_sock_stop. Returns 0 or -errno. */
int fake_sock_start(fake_sock **out, fake_sock_mode mode, const char *path);
/* Connections accepted so far (0 for the blackhole). */
int fake_sock_accepted(fake_sock *s);
/* Stop the thread (bounded wait), close every descriptor, unlink the socket. */
void fake_sock_stop(fake_sock *s);

/* --- a real gRPC server (gRPC core's C API) with a scripted answer ------- */

#define FAKE_MAX_MSGS 4

/* What the server does with every call it receives, whatever the method. */
typedef struct fake_reply {
	int status;           /* grpc_status_code to end the call with */
	const char *details;  /* status message; NULL = none */
	int nmsgs;            /* messages sent before the status (0..FAKE_MAX_MSGS) */
	struct {
		const uint8_t *data;
		size_t len;
	} msgs[FAKE_MAX_MSGS];
	bool hang;            /* after the messages, send nothing more until the
			       * client cancels or the server stops */
	const char *md_key;   /* one initial metadata entry to send; NULL = none */
	const char *md_value;
} fake_reply;

typedef struct fake_grpc fake_grpc;

/* Start a server on "unix:PATH" in its own thread. Returns 0 or a negative code. */
int fake_grpc_start(fake_grpc **out, const char *path);
/* Replace the script for calls that arrive from now on (copied). */
void fake_grpc_set_reply(fake_grpc *g, const fake_reply *r);
/* Calls received so far, and the method path of the last one
 * ("/runtime.v1.RuntimeService/Version"), copied into buf. */
int fake_grpc_calls(fake_grpc *g, char *last_method, size_t len);
/* Shut the server down (every call cancelled; bounded wait) and free it. */
void fake_grpc_stop(fake_grpc *g);

/* How much slower than normal this process runs: 1, or more under valgrind.
 * Tests multiply their timing margins (never their deadlines) by it. */
int fake_time_scale(void);

#endif
