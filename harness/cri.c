#include "cri.h"

#include <errno.h>
#include <fiu-local.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "util.h"

struct cri_conn {
	char endpoint[EP_MAX];
	char image_endpoint[EP_MAX];
	grpc_channel *rt;
	grpc_channel *img; /* == rt when both services share the endpoint */
	int timeout_ms;
	cri_observer observer;
	void *observer_arg;
};

static pthread_once_t grpc_once = PTHREAD_ONCE_INIT;
static void grpc_start(void)
{
	/* A channel whose calls all failed fast only notices that the runtime
	 * is back when gRPC's backup poller runs (every 5 s by default): a
	 * restarted runtime would look down seconds longer than it is. Poll
	 * every 100 ms unless the user chose otherwise. Read once by grpc_init. */
	setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", 0);
	grpc_init();
}

static const char *const status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *cri_status_name(int code)
{
	if (code >= 0 && code < (int)ARRAY_SIZE(status_names))
		return status_names[code];
	return "UNKNOWN_STATUS";
}

const ProtobufCMethodDescriptor *cri_method(const char *method, const char **service)
{
	static const ProtobufCServiceDescriptor *const services[] = {
		&runtime__v1__runtime_service__descriptor,
		&runtime__v1__image_service__descriptor,
	};
	for (size_t i = 0; i < ARRAY_SIZE(services); i++) {
		const ProtobufCMethodDescriptor *m =
			protobuf_c_service_descriptor_get_method_by_name(services[i], method);
		if (m) {
			if (service)
				*service = services[i]->name;
			return m;
		}
	}
	return NULL;
}

ProtobufCMessage *cri_id_request(const char *method, const char *field, const char *id, crit_err *e)
{
	const ProtobufCMethodDescriptor *md = cri_method(method, NULL);
	const ProtobufCFieldDescriptor *fd =
		md ? protobuf_c_message_descriptor_get_field_by_name(md->input, field) : NULL;
	if (!fd || fd->type != PROTOBUF_C_TYPE_STRING || fd->label == PROTOBUF_C_LABEL_REPEATED) {
		err_set(e, -EINVAL, "%s: no string field %s in its request", method, field);
		return NULL;
	}
	ProtobufCMessage *req = calloc(1, md->input->sizeof_message);
	if (!req) {
		err_set(e, -ENOMEM, "%s: out of memory", method);
		return NULL;
	}
	protobuf_c_message_init(md->input, req);
	*(const char **)((char *)req + fd->offset) = id;
	return req;
}

static grpc_channel *open_channel(const char *target, int connect_timeout_ms)
{
	/* Reconnect quickly: a fault test restarts the runtime and expects the
	 * next call to reach it, not to sit out gRPC's default 1..120 s backoff.
	 * Despite its name, gRPC core (1.51) uses "min_reconnect_backoff_ms" as
	 * the minimum connect timeout: how long one attempt may take to connect
	 * and receive the server's SETTINGS frame. Set low, a runtime that is
	 * alive but slow to answer (stopped, overloaded, a blackholed socket)
	 * fails every call at once with UNAVAILABLE "connection attempt timed
	 * out" instead of waiting for the call's deadline. */
	grpc_arg args[] = {
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = 16 << 20 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, .value.integer = 50 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
		  .value.integer = connect_timeout_ms > 1000 ? connect_timeout_ms : 1000 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, .value.integer = 500 },
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0 },
		/* Each conn gets its own subchannel, so one test's broken
		 * connection never leaks into another's. */
		{ .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1 },
	};
	grpc_channel_args ca = { .num_args = ARRAY_SIZE(args), .args = args };
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(target, creds, &ca);
	grpc_channel_credentials_release(creds);
	return ch;
}

int cri_connect(cri_conn **out, const char *runtime_endpoint, const char *image_endpoint, int timeout_ms,
		crit_err *e)
{
	pthread_once(&grpc_once, grpc_start);
	cri_conn *c = calloc(1, sizeof *c);
	if (!c)
		return err_set(e, -ENOMEM, "cri_connect: out of memory");
	int rc = ep_parse(runtime_endpoint, c->endpoint, sizeof c->endpoint, NULL, 0, e);
	if (rc == 0 && image_endpoint && *image_endpoint)
		rc = ep_parse(image_endpoint, c->image_endpoint, sizeof c->image_endpoint, NULL, 0, e);
	if (rc < 0) {
		free(c);
		return rc;
	}
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : CRI_DEFAULT_TIMEOUT_MS;
	c->rt = open_channel(c->endpoint, c->timeout_ms);
	if (c->image_endpoint[0] && strcmp(c->image_endpoint, c->endpoint))
		c->img = open_channel(c->image_endpoint, c->timeout_ms);
	else {
		snprintf(c->image_endpoint, sizeof c->image_endpoint, "%s", c->endpoint);
		c->img = c->rt;
	}
	*out = c;
	return 0;
}

void cri_close(cri_conn *c)
{
	if (!c)
		return;
	if (c->img && c->img != c->rt)
		grpc_channel_destroy(c->img);
	if (c->rt)
		grpc_channel_destroy(c->rt);
	free(c);
}

const char *cri_endpoint(const cri_conn *c) { return c->endpoint; }
int cri_timeout_ms(const cri_conn *c) { return c->timeout_ms; }
void cri_set_timeout_ms(cri_conn *c, int timeout_ms) { c->timeout_ms = timeout_ms > 0 ? timeout_ms : CRI_DEFAULT_TIMEOUT_MS; }

void cri_set_observer(cri_conn *c, cri_observer fn, void *arg)
{
	c->observer = fn;
	c->observer_arg = arg;
}

static gpr_timespec deadline_in(int ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	protobuf_c_message_pack(msg, buf);
	grpc_slice s = grpc_slice_new(buf, n, free);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

static ProtobufCMessage *unpack_message(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader r;
	if (!grpc_byte_buffer_reader_init(&r, bb))
		return NULL;
	grpc_slice all = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	ProtobufCMessage *m =
		protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
	grpc_slice_unref(all);
	return m;
}

/* Pluck our tag. The runtime-side deadline is enforced by gRPC itself; the
 * extra margin only guards against a bug in that, and then we cancel. */
static grpc_event pluck_bounded(grpc_completion_queue *cq, grpc_call *call, void *tag, int ms)
{
	grpc_event ev = grpc_completion_queue_pluck(cq, tag, deadline_in(ms + 2000), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		grpc_call_cancel(call, NULL);
		ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	}
	return ev;
}

/* Fill e from a non-OK status; returns the code (also when e is NULL). */
static int describe_status(crit_err *e, const char *method, const char *ep, int status, const char *details,
			   int64_t elapsed_ms)
{
	int code = status == GRPC_STATUS_UNAVAILABLE ? -ERR_UNREACHABLE : -ERR_GRPC;
	if (status == GRPC_STATUS_DEADLINE_EXCEEDED)
		err_set(e, code, "%s on %s: DEADLINE_EXCEEDED after %lld ms", method, ep, (long long)elapsed_ms);
	else
		err_set(e, code, "%s on %s: %s: %s", method, ep, cri_status_name(status),
			details && *details ? details : "(no message)");
	/* gRPC says "Connection refused" for a regular file too: say what is
	 * at the path instead of leaving the user to guess. */
	char why[EP_MAX + 64];
	if (e && status == GRPC_STATUS_UNAVAILABLE && ep_socket_problem(ep, why, sizeof why)) {
		size_t n = strlen(e->msg);
		snprintf(e->msg + n, sizeof e->msg - n, " (%s)", why);
	}
	if (e)
		e->grpc_status = status;
	return code;
}

static void notify(cri_conn *c, const char *method, int status, int64_t start_us)
{
	if (!c->observer)
		return;
	cri_call_stat st = { .method = method, .grpc_status = status, .start_us = start_us,
			     .dur_us = util_now_us() - start_us };
	c->observer(&st, c->observer_arg);
}

int cri_call(cri_conn *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
	     int timeout_ms, crit_err *e)
{
	const char *service = NULL;
	const ProtobufCMethodDescriptor *md = cri_method(method, &service);
	*resp = NULL;
	if (!md)
		return err_set(e, -EINVAL, "%s: no such CRI method", method);
	if (req->descriptor != md->input)
		return err_set(e, -EINVAL, "%s: request is a %s, the method takes %s", method,
			       req->descriptor->name, md->input->name);
	bool image = service == runtime__v1__image_service__descriptor.name;
	const char *ep = image ? c->image_endpoint : c->endpoint;
	int tmo = timeout_ms > 0 ? timeout_ms : c->timeout_ms;
	int64_t start_us = util_now_us();

	/* Fault point for critic's own tests: a send that fails locally. */
	fiu_return_on("critic/cri/send", err_set(e, -EIO, "%s on %s: send failed (injected fault)", method, ep));

	char path[256];
	snprintf(path, sizeof path, "/%s/%s", service, method);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_slice mpath = grpc_slice_from_copied_string(path);
	gpr_timespec deadline = deadline_in(tmo);
	grpc_call *call = grpc_channel_create_call(image ? c->img : c->rt, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
						   mpath, NULL, deadline, NULL);
	grpc_slice_unref(mpath);
	grpc_byte_buffer *send = pack_message(req), *recv = NULL;
	grpc_metadata_array init_md, trail_md;
	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&trail_md);
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trail_md;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;

	int rc = 0, seen_status = GRPC_STATUS_UNKNOWN; /* for the observer */
	grpc_call_error ce = grpc_call_start_batch(call, ops, ARRAY_SIZE(ops), (void *)1, NULL);
	if (ce != GRPC_CALL_OK) {
		rc = err_set(e, -EIO, "%s on %s: could not start the call (grpc_call_error %d)", method, ep, ce);
	} else {
		grpc_event ev = pluck_bounded(cq, call, (void *)1, tmo);
		int64_t elapsed = (util_now_us() - start_us) / 1000;
		if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
			rc = err_set(e, -EIO, "%s on %s: call did not complete", method, ep);
		} else if (status != GRPC_STATUS_OK) {
			char *msg = grpc_slice_to_c_string(details);
			rc = describe_status(e, method, ep, status, msg, elapsed);
			gpr_free(msg);
			seen_status = status;
		} else if (!recv) {
			rc = err_set(e, -ERR_DECODE, "%s on %s: OK status but no reply message", method, ep);
		} else {
			fiu_do_on("critic/cri/recv", { grpc_byte_buffer_destroy(recv); recv = NULL; });
			*resp = recv ? unpack_message(md->output, recv) : NULL;
			if (!*resp)
				rc = err_set(e, -ERR_DECODE, "%s on %s: reply is not a valid %s", method, ep,
					     md->output->name);
		}
	}
	notify(c, method, rc == 0 ? GRPC_STATUS_OK : seen_status, start_us);
	if (send)
		grpc_byte_buffer_destroy(send);
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return rc;
}

/* --- server streaming ------------------------------------------------- */

struct cri_stream {
	cri_conn *conn;
	const ProtobufCMethodDescriptor *md;
	char method[64];
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_metadata_array init_md;
	bool init_md_asked; /* RECV_INITIAL_METADATA went with the first read */
	grpc_byte_buffer *recv;
	bool recv_pending; /* a RECV_MESSAGE op is in flight (tag 2) */
	bool ended;
};

int cri_stream_open(cri_conn *c, const char *method, const ProtobufCMessage *req, cri_stream **out,
		    crit_err *e)
{
	const char *service = NULL;
	const ProtobufCMethodDescriptor *md = cri_method(method, &service);
	if (!md)
		return err_set(e, -EINVAL, "%s: no such CRI method", method);
	if (req->descriptor != md->input)
		return err_set(e, -EINVAL, "%s: request is a %s, the method takes %s", method,
			       req->descriptor->name, md->input->name);
	bool image = service == runtime__v1__image_service__descriptor.name;
	cri_stream *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(e, -ENOMEM, "%s: out of memory", method);
	s->conn = c;
	s->md = md;
	snprintf(s->method, sizeof s->method, "%s", method);
	char path[256];
	snprintf(path, sizeof path, "/%s/%s", service, method);
	s->cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_slice mpath = grpc_slice_from_copied_string(path);
	/* The stream lives until closed; each read has its own deadline. */
	s->call = grpc_channel_create_call(image ? c->img : c->rt, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, mpath, NULL,
					   gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	grpc_slice_unref(mpath);
	grpc_metadata_array_init(&s->init_md);
	grpc_byte_buffer *send = pack_message(req);
	grpc_op ops[3];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	grpc_call_error ce = grpc_call_start_batch(s->call, ops, 3, (void *)1, NULL);
	int rc = 0;
	if (ce != GRPC_CALL_OK) {
		rc = err_set(e, -EIO, "%s on %s: could not start the stream (grpc_call_error %d)", method,
			     c->endpoint, ce);
	} else {
		grpc_event ev = pluck_bounded(s->cq, s->call, (void *)1, c->timeout_ms);
		if (ev.type != GRPC_OP_COMPLETE || !ev.success)
			rc = err_set(e, -ERR_UNREACHABLE, "%s on %s: could not open the stream", method, c->endpoint);
	}
	grpc_byte_buffer_destroy(send);
	if (rc < 0) {
		cri_stream_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int stream_finish(cri_stream *s, crit_err *e)
{
	grpc_metadata_array trail;
	grpc_metadata_array_init(&trail);
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op op;
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &trail;
	op.data.recv_status_on_client.status = &status;
	op.data.recv_status_on_client.status_details = &details;
	int rc = 0;
	if (grpc_call_start_batch(s->call, &op, 1, (void *)3, NULL) == GRPC_CALL_OK) {
		pluck_bounded(s->cq, s->call, (void *)3, s->conn->timeout_ms);
		if (status != GRPC_STATUS_OK && status != GRPC_STATUS_CANCELLED) {
			char *msg = grpc_slice_to_c_string(details);
			rc = describe_status(e, s->method, s->conn->endpoint, status, msg, 0);
			gpr_free(msg);
		}
	}
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&trail);
	s->ended = true;
	return rc;
}

int cri_stream_next(cri_stream *s, ProtobufCMessage **msg, int timeout_ms, crit_err *e)
{
	*msg = NULL;
	if (s->ended)
		return 0;
	if (!s->recv_pending) {
		grpc_op ops[2];
		memset(ops, 0, sizeof ops);
		size_t n = 0;
		if (!s->init_md_asked) {
			/* First read also collects the initial metadata. */
			ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
			ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
			s->init_md_asked = true;
		}
		ops[n].op = GRPC_OP_RECV_MESSAGE;
		ops[n++].data.recv_message.recv_message = &s->recv;
		if (grpc_call_start_batch(s->call, ops, n, (void *)2, NULL) != GRPC_CALL_OK)
			return err_set(e, -EIO, "%s on %s: could not read the stream", s->method, s->conn->endpoint);
		s->recv_pending = true;
	}
	grpc_event ev = grpc_completion_queue_pluck(s->cq, (void *)2, deadline_in(timeout_ms), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT)
		return err_set(e, -ETIMEDOUT, "%s on %s: no message within %d ms", s->method, s->conn->endpoint,
			       timeout_ms);
	s->recv_pending = false;
	if (!s->recv)
		return stream_finish(s, e);
	*msg = unpack_message(s->md->output, s->recv);
	grpc_byte_buffer_destroy(s->recv);
	s->recv = NULL;
	if (!*msg)
		return err_set(e, -ERR_DECODE, "%s on %s: stream message is not a valid %s", s->method,
			       s->conn->endpoint, s->md->output->name);
	return 1;
}

void cri_stream_close(cri_stream *s)
{
	if (!s)
		return;
	if (s->call) {
		grpc_call_cancel(s->call, NULL);
		if (s->recv_pending)
			grpc_completion_queue_pluck(s->cq, (void *)2, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		if (s->recv)
			grpc_byte_buffer_destroy(s->recv);
		if (!s->ended)
			stream_finish(s, NULL);
		grpc_call_unref(s->call);
	}
	grpc_metadata_array_destroy(&s->init_md);
	grpc_completion_queue_shutdown(s->cq);
	grpc_completion_queue_destroy(s->cq);
	free(s);
}
