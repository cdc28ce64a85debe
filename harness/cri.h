/* cri: critic's CRI client. One generic, descriptor-driven call path over
 * gRPC core serves every RuntimeService and ImageService RPC, with a deadline. */
#ifndef CRITIC_CRI_H
#define CRITIC_CRI_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "cri.pb-c.h" /* generated from harness/cri.proto by the build */
#include "err.h"

#define CRI_DEFAULT_TIMEOUT_MS 10000

typedef struct cri_conn cri_conn;

/* Per-call record kept for reports and benchmarks. */
typedef struct cri_call_stat {
	const char *method;  /* "RunPodSandbox" */
	int grpc_status;     /* 0 = OK */
	int64_t start_us;    /* monotonic */
	int64_t dur_us;
} cri_call_stat;
typedef void (*cri_observer)(const cri_call_stat *st, void *arg);

/* Open a connection to a runtime endpoint ("unix:///path" or "/path").
 * image_endpoint may be NULL (then the runtime endpoint serves images too).
 * Nothing is dialled until the first call; an unreachable endpoint shows up
 * then as an error. timeout_ms is the default per-call deadline. */
int cri_connect(cri_conn **out, const char *runtime_endpoint, const char *image_endpoint,
		int timeout_ms, crit_err *e);
void cri_close(cri_conn *c);
const char *cri_endpoint(const cri_conn *c);
int cri_timeout_ms(const cri_conn *c);
void cri_set_timeout_ms(cri_conn *c, int timeout_ms);
void cri_set_observer(cri_conn *c, cri_observer fn, void *arg);

/* Call METHOD (a RuntimeService or ImageService method name, e.g.
 * "RunPodSandbox") with req; on success *resp holds the decoded reply (free
 * it with cri_free). timeout_ms <= 0 uses the connection's default.
 * Errors come back as -ERR_GRPC (e->grpc_status set; -ERR_UNREACHABLE when
 * the status is UNAVAILABLE because nobody listens), -ERR_DECODE or -errno,
 * with a message like "RunPodSandbox on unix:///x.sock: DEADLINE_EXCEEDED
 * after 2000 ms". */
int cri_call(cri_conn *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
	     int timeout_ms, crit_err *e);

/* Typed sugar: CRI_CALL(c, Version, &req, &resp, e) where resp is a
 * Runtime__V1__VersionResponse *. */
#define CRI_CALL(c, method, reqp, respp, e) \
	cri_call((c), #method, &(reqp)->base, (ProtobufCMessage **)(respp), 0, (e))
#define CRI_CALL_T(c, method, reqp, respp, tmo, e) \
	cri_call((c), #method, &(reqp)->base, (ProtobufCMessage **)(respp), (tmo), (e))

static inline void cri_free(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)msg, NULL);
}
#define cleanup_cri __attribute__((cleanup(cri_freep)))
static inline void cri_freep(void *p) { cri_free(*(void **)p); }

/* Server streaming (GetContainerEvents): open, read messages one by one with
 * a per-read deadline, close. cri_stream_next returns 1 with a message, 0 at
 * the end of the stream, -ETIMEDOUT when nothing came in time, <0 on error. */
typedef struct cri_stream cri_stream;
int cri_stream_open(cri_conn *c, const char *method, const ProtobufCMessage *req, cri_stream **out,
		    crit_err *e);
int cri_stream_next(cri_stream *s, ProtobufCMessage **msg, int timeout_ms, crit_err *e);
void cri_stream_close(cri_stream *s);

/* gRPC status code name ("DEADLINE_EXCEEDED") for messages. */
const char *cri_status_name(int code);
/* The method's descriptor, or NULL when no such CRI method exists. */
const ProtobufCMethodDescriptor *cri_method(const char *method, const char **service);
/* A request of method's input type with its string field `field` set to id
 * (pointed at, not copied), for the calls whose request is one id
 * (StopPodSandbox, RemoveContainer, ContainerStatus…); free() it. NULL and
 * e set when the method has no string field of that name. */
ProtobufCMessage *cri_id_request(const char *method, const char *field, const char *id, crit_err *e);

#endif
