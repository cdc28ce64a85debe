/* Unit tests of the CRI client's error paths: dead, silent and lying
 * endpoints, bad replies, bad requests, injected faults and streams. The
 * endpoints are the fakes of fake_server.c; no runtime is needed. */
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cri.h"
#include "fake_server.h"
#include "tests.h"
#include "util.h"

static char tmpdir[64];
static fake_grpc *srv;
static char srv_ep[300];

/* What one test opened; teardown closes it even when a fatal assertion cut
 * the test short, so no fake thread or gRPC call outlives its test. */
static cri_conn *test_conn;
static fake_sock *test_raw;
static cri_stream *test_stream;

static const char *in_tmp(const char *name)
{
	static char buf[256];
	snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
	return buf;
}

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-cri-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	const char *path = in_tmp("grpc.sock");
	snprintf(srv_ep, sizeof srv_ep, "unix://%s", path);
	if (fake_grpc_start(&srv, path) < 0) {
		fprintf(stderr, "cannot start the fake gRPC server on %s\n", path);
		return -1;
	}
	return 0;
}

static int suite_cleanup(void)
{
	fake_grpc_stop(srv);
	srv = NULL;
	/* gRPC tears a closed channel's subchannels down asynchronously. Under
	 * valgrind that takes long enough for the leak check at exit to catch
	 * the last test's subchannel half-destroyed: give it time there. */
	if (fake_time_scale() > 1)
		util_sleep_ms(1000);
	return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0;
}

/* A failed assertion between fiu_enable and fiu_disable must not leave the
 * fault on for the next test. */
static void teardown(void)
{
	fiu_disable("critic/cri/send");
	fiu_disable("critic/cri/recv");
	cri_stream_close(test_stream);
	test_stream = NULL;
	cri_close(test_conn);
	test_conn = NULL;
	fake_sock_stop(test_raw);
	test_raw = NULL;
}

/* Timing margins grow under valgrind; deadlines given to the client do not. */
static int64_t margin(int64_t ms) { return ms * fake_time_scale(); }

static cri_conn *connect_to(const char *rt, const char *img)
{
	cri_conn *c = NULL;
	crit_err e;
	err_clear(&e);
	int rc = cri_connect(&c, rt, img, 5000, &e);
	if (rc < 0)
		fprintf(stderr, "cri_connect: %s\n", err_msg(&e));
	cri_close(test_conn); /* one connection per test */
	test_conn = c;
	return c;
}

static int call_version(cri_conn *c, int timeout_ms, Runtime__V1__VersionResponse **resp, crit_err *e)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = "v1";
	return CRI_CALL_T(c, Version, &req, resp, timeout_ms, e);
}

/* "Version on EP: DEADLINE_EXCEEDED after N ms" with lo <= N <= hi. */
static void assert_deadline_msg(const crit_err *e, const char *ep, int64_t lo, int64_t hi)
{
	char prefix[512];
	snprintf(prefix, sizeof prefix, "Version on %s: DEADLINE_EXCEEDED after ", ep);
	CU_ASSERT_FATAL(util_has_prefix(e->msg, prefix));
	const char *num = e->msg + strlen(prefix);
	char *end;
	long n = strtol(num, &end, 10);
	CU_ASSERT(end != num);
	CU_ASSERT_STRING_EQUAL(end, " ms");
	CU_ASSERT(n >= lo && n <= hi);
}

/* A socket that listens but whose owner never answers. */
static void deadline_against(fake_sock_mode mode, const char *name)
{
	const char *path = in_tmp(name);
	char ep[300];
	snprintf(ep, sizeof ep, "unix://%s", path);
	CU_ASSERT_FATAL(fake_sock_start(&test_raw, mode, path) == 0);
	cri_conn *c = connect_to(ep, NULL);
	CU_ASSERT_FATAL(c != NULL);

	crit_err e;
	err_clear(&e);
	Runtime__V1__VersionResponse *resp = NULL;
	int64_t t0 = util_now_ms();
	int rc = call_version(c, 500, &resp, &e);
	int64_t took = util_now_ms() - t0;

	CU_ASSERT_EQUAL(rc, -ERR_GRPC);
	CU_ASSERT_EQUAL(e.code, rc);
	CU_ASSERT_EQUAL(e.grpc_status, 4);
	CU_ASSERT_PTR_NULL(resp);
	CU_ASSERT(took >= 450);
	CU_ASSERT(took < 500 + margin(1000));
	assert_deadline_msg(&e, ep, 450, 500 + margin(1000));
	if (mode == FAKE_SOCK_SILENT)
		CU_ASSERT(fake_sock_accepted(test_raw) >= 1); /* it did get the bytes */
	cri_free(resp);
}

static void test_blackhole_deadline(void) { deadline_against(FAKE_SOCK_BLACKHOLE, "blackhole.sock"); }
static void test_silent_deadline(void) { deadline_against(FAKE_SOCK_SILENT, "silent.sock"); }

static void test_missing_socket(void)
{
	const char *path = in_tmp("nobody-here.sock");
	char ep[300];
	snprintf(ep, sizeof ep, "unix://%s", path);
	cri_conn *c = connect_to(ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);
	Runtime__V1__VersionResponse *resp = NULL;
	int64_t t0 = util_now_ms();
	int rc = call_version(c, 5000, &resp, &e);
	int64_t took = util_now_ms() - t0;
	CU_ASSERT_EQUAL(rc, -ERR_UNREACHABLE);
	CU_ASSERT_EQUAL(e.code, -ERR_UNREACHABLE);
	CU_ASSERT_EQUAL(e.grpc_status, 14);
	CU_ASSERT(took < margin(1000));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "UNAVAILABLE"));
	CU_ASSERT_PTR_NULL(resp);

	/* Without an error record the code must be the same. */
	CU_ASSERT_EQUAL(call_version(c, 5000, &resp, NULL), -ERR_UNREACHABLE);
}

static void test_garbage(void)
{
	const char *path = in_tmp("garbage.sock");
	char ep[300];
	snprintf(ep, sizeof ep, "unix://%s", path);
	CU_ASSERT_FATAL(fake_sock_start(&test_raw, FAKE_SOCK_GARBAGE, path) == 0);
	cri_conn *c = connect_to(ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);
	Runtime__V1__VersionResponse *resp = NULL;
	int64_t t0 = util_now_ms();
	int rc = call_version(c, 2000, &resp, &e);
	int64_t took = util_now_ms() - t0;
	CU_ASSERT(rc < 0);
	CU_ASSERT_EQUAL(e.code, rc);
	CU_ASSERT(e.grpc_status > 0);
	CU_ASSERT(took < 2000);
	CU_ASSERT(util_has_prefix(e.msg, "Version on unix://"));
	CU_ASSERT(fake_sock_accepted(test_raw) >= 1);
	CU_ASSERT_PTR_NULL(resp);
	cri_free(resp);
}

/* --- the scripted gRPC server --------------------------------------------- */

static void reply_with(int status, const char *details, const void *payload, size_t len, bool has_payload)
{
	fake_reply r = { .status = status, .details = details };
	if (has_payload) {
		r.nmsgs = 1;
		r.msgs[0].data = payload;
		r.msgs[0].len = len;
	}
	fake_grpc_set_reply(srv, &r);
}

static void test_bad_payload(void)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	reply_with(0, NULL, junk, sizeof junk, true);
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	int before = fake_grpc_calls(srv, NULL, 0);
	crit_err e;
	err_clear(&e);
	Runtime__V1__VersionResponse *resp = NULL;
	int rc = call_version(c, 3000, &resp, &e);
	char method[256];
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, method, sizeof method), before + 1);
	CU_ASSERT_STRING_EQUAL(method, "/runtime.v1.RuntimeService/Version");
	CU_ASSERT_EQUAL(rc, -ERR_DECODE);
	CU_ASSERT_EQUAL(e.code, -ERR_DECODE);
	CU_ASSERT_PTR_NULL(resp);
	CU_ASSERT(util_has_prefix(e.msg, "Version on "));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "runtime.v1.VersionResponse"));
}

static void test_not_found(void)
{
	reply_with(5, "pod xyz not found", NULL, 0, false);
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);
	Runtime__V1__VersionResponse *resp = NULL;
	int rc = call_version(c, 3000, &resp, &e);
	CU_ASSERT_EQUAL(rc, -ERR_GRPC);
	CU_ASSERT_EQUAL(e.code, -ERR_GRPC);
	CU_ASSERT_EQUAL(e.grpc_status, 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "NOT_FOUND: pod xyz not found"));
	CU_ASSERT(util_has_prefix(e.msg, "Version on "));
	CU_ASSERT_PTR_NULL(resp);
}

static void test_ok_without_message(void)
{
	reply_with(0, NULL, NULL, 0, false);
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);
	Runtime__V1__VersionResponse *resp = NULL;
	int rc = call_version(c, 3000, &resp, &e);
	CU_ASSERT_EQUAL(rc, -ERR_DECODE);
	CU_ASSERT_EQUAL(e.code, -ERR_DECODE);
	CU_ASSERT_PTR_NULL(resp);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "Version on "));
}

/* A zero-length message is a valid (all defaults) protobuf: unlike "no
 * message" it must decode. The image method must go to the image endpoint. */
static void test_image_endpoint_routing(void)
{
	reply_with(0, NULL, "", 0, true);
	const char *missing = in_tmp("no-runtime.sock");
	char rt[300];
	snprintf(rt, sizeof rt, "unix://%s", missing);
	cri_conn *c = connect_to(rt, srv_ep);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);
	Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	Runtime__V1__ListImagesResponse *resp = NULL;
	int rc = CRI_CALL_T(c, ListImages, &req, &resp, 3000, &e);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL(resp->n_images, 0);
	char method[256];
	fake_grpc_calls(srv, method, sizeof method);
	CU_ASSERT_STRING_EQUAL(method, "/runtime.v1.ImageService/ListImages");
	cri_free(resp);

	/* A runtime method on the same connection goes to the missing socket. */
	Runtime__V1__VersionResponse *vr = NULL;
	rc = call_version(c, 3000, &vr, &e);
	CU_ASSERT_EQUAL(rc, -ERR_UNREACHABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, missing));
}

struct seen {
	int n;
	char method[64];
	int status;
	int64_t dur_us;
};

static void observe(const cri_call_stat *st, void *arg)
{
	struct seen *s = arg;
	s->n++;
	snprintf(s->method, sizeof s->method, "%s", st->method);
	s->status = st->grpc_status;
	s->dur_us = st->dur_us;
}

static void test_observer_sees_status(void)
{
	reply_with(9, "not now", NULL, 0, false);
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	struct seen s = { 0 };
	cri_set_observer(c, observe, &s);
	Runtime__V1__VersionResponse *resp = NULL;
	int rc = call_version(c, 3000, &resp, NULL);
	CU_ASSERT_EQUAL(rc, -ERR_GRPC);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_STRING_EQUAL(s.method, "Version");
	CU_ASSERT_EQUAL(s.status, 9);
	CU_ASSERT(s.dur_us > 0);
}

/* --- bad requests ---------------------------------------------------------- */

static void test_unknown_method(void)
{
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	int before = fake_grpc_calls(srv, NULL, 0);
	crit_err e;
	err_clear(&e);
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	ProtobufCMessage *resp = (ProtobufCMessage *)&req; /* must be reset to NULL */
	int rc = cri_call(c, "NoSuchMethod", &req.base, &resp, 1000, &e);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_EQUAL(e.code, -EINVAL);
	CU_ASSERT_PTR_NULL(resp);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "NoSuchMethod"));
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, NULL, 0), before);
	CU_ASSERT_PTR_NULL(cri_method("NoSuchMethod", NULL));
	const char *svc = NULL;
	CU_ASSERT_PTR_NOT_NULL(cri_method("PullImage", &svc));
	CU_ASSERT_STRING_EQUAL(svc, "runtime.v1.ImageService");
}

static void test_wrong_request_type(void)
{
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	int before = fake_grpc_calls(srv, NULL, 0);
	crit_err e;
	err_clear(&e);
	Runtime__V1__ListPodSandboxRequest req = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int rc = cri_call(c, "Version", &req.base, &resp, 1000, &e);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NULL(resp);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "runtime.v1.ListPodSandboxRequest"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "runtime.v1.VersionRequest"));
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, NULL, 0), before);

	/* The stream API checks the same. */
	cri_stream *s = NULL;
	err_clear(&e);
	rc = cri_stream_open(c, "GetContainerEvents", &req.base, &s, &e);
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "runtime.v1.GetEventsRequest"));
	if (rc == 0)
		cri_stream_close(s);
}

/* --- injected faults and the happy path ----------------------------------- */

static size_t pack_version(uint8_t *buf, size_t len)
{
	Runtime__V1__VersionResponse v = RUNTIME__V1__VERSION_RESPONSE__INIT;
	v.version = "0.1.0";
	v.runtime_name = "fake-runtime";
	v.runtime_version = "9.8.7";
	v.runtime_api_version = "v1";
	size_t n = protobuf_c_message_get_packed_size(&v.base);
	if (n > len)
		return 0;
	return protobuf_c_message_pack(&v.base, buf);
}

static void test_fiu_send(void)
{
	uint8_t buf[256];
	size_t n = pack_version(buf, sizeof buf);
	CU_ASSERT_FATAL(n > 0);
	reply_with(0, NULL, buf, n, true);
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	int before = fake_grpc_calls(srv, NULL, 0);
	crit_err e;
	err_clear(&e);
	Runtime__V1__VersionResponse *resp = NULL;

	CU_ASSERT_EQUAL(fiu_enable("critic/cri/send", 1, NULL, 0), 0);
	int rc = call_version(c, 3000, &resp, &e);
	fiu_disable("critic/cri/send");
	CU_ASSERT_EQUAL(rc, -EIO);
	CU_ASSERT_EQUAL(e.code, -EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "injected"));
	CU_ASSERT_PTR_NULL(resp);
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, NULL, 0), before); /* never left the process */

	/* With the fault gone the same call goes through. */
	rc = call_version(c, 3000, &resp, &e);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, NULL, 0), before + 1);
	cri_free(resp);
}

static void test_valid_reply_and_fiu_recv(void)
{
	uint8_t buf[256];
	size_t n = pack_version(buf, sizeof buf);
	CU_ASSERT_FATAL(n > 0);
	reply_with(0, NULL, buf, n, true);
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);

	/* The happy path of the generic call: a valid reply decodes. */
	Runtime__V1__VersionResponse *resp = NULL;
	int rc = call_version(c, 3000, &resp, &e);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_STRING_EQUAL(resp->version, "0.1.0");
	CU_ASSERT_STRING_EQUAL(resp->runtime_name, "fake-runtime");
	CU_ASSERT_STRING_EQUAL(resp->runtime_version, "9.8.7");
	CU_ASSERT_STRING_EQUAL(resp->runtime_api_version, "v1");
	cri_free(resp);
	resp = NULL;

	/* The same reply, lost on receipt. */
	int before = fake_grpc_calls(srv, NULL, 0);
	CU_ASSERT_EQUAL(fiu_enable("critic/cri/recv", 1, NULL, 0), 0);
	rc = call_version(c, 3000, &resp, &e);
	fiu_disable("critic/cri/recv");
	CU_ASSERT_EQUAL(rc, -ERR_DECODE);
	CU_ASSERT_EQUAL(e.code, -ERR_DECODE);
	CU_ASSERT_PTR_NULL(resp);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "runtime.v1.VersionResponse"));
	CU_ASSERT_EQUAL(fake_grpc_calls(srv, NULL, 0), before + 1); /* it did reach the server */
	cri_free(resp);
}

/* --- streams -------------------------------------------------------------- */

static size_t pack_event(uint8_t *buf, size_t len, const char *id, Runtime__V1__ContainerEventType type,
			 int64_t at)
{
	Runtime__V1__ContainerEventResponse ev = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
	ev.container_id = (char *)id;
	ev.container_event_type = type;
	ev.created_at = at;
	if (protobuf_c_message_get_packed_size(&ev.base) > len)
		return 0;
	return protobuf_c_message_pack(&ev.base, buf);
}

static void test_stream_two_events(void)
{
	uint8_t a[128], b[128];
	fake_reply r = { .status = 0, .nmsgs = 2,
			 /* Initial metadata with one entry: the client must
			  * collect it without trouble. */
			 .md_key = "x-critic-fake", .md_value = "1" };
	r.msgs[0].len = pack_event(a, sizeof a, "c1", RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT, 42);
	r.msgs[0].data = a;
	r.msgs[1].len = pack_event(b, sizeof b, "c2", RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STOPPED_EVENT, 43);
	r.msgs[1].data = b;
	CU_ASSERT_FATAL(r.msgs[0].len > 0 && r.msgs[1].len > 0);
	fake_grpc_set_reply(srv, &r);

	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);
	Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
	cri_stream *s = NULL;
	int rc = cri_stream_open(c, "GetContainerEvents", &req.base, &s, &e);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	test_stream = s;

	ProtobufCMessage *m = NULL;
	rc = cri_stream_next(s, &m, 3000, &e);
	CU_ASSERT_EQUAL(rc, 1);
	if (rc == 1) {
		Runtime__V1__ContainerEventResponse *ev = (Runtime__V1__ContainerEventResponse *)m;
		CU_ASSERT_STRING_EQUAL(ev->container_id, "c1");
		CU_ASSERT_EQUAL(ev->container_event_type, RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_STARTED_EVENT);
		CU_ASSERT_EQUAL(ev->created_at, 42);
	}
	cri_free(m);
	rc = cri_stream_next(s, &m, 3000, &e);
	CU_ASSERT_EQUAL(rc, 1);
	if (rc == 1) {
		Runtime__V1__ContainerEventResponse *ev = (Runtime__V1__ContainerEventResponse *)m;
		CU_ASSERT_STRING_EQUAL(ev->container_id, "c2");
		CU_ASSERT_EQUAL(ev->created_at, 43);
	}
	cri_free(m);
	rc = cri_stream_next(s, &m, 3000, &e);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NULL(m);
	/* The end stays the end. */
	CU_ASSERT_EQUAL(cri_stream_next(s, &m, 100, &e), 0);
	char method[256];
	fake_grpc_calls(srv, method, sizeof method);
	CU_ASSERT_STRING_EQUAL(method, "/runtime.v1.RuntimeService/GetContainerEvents");
	test_stream = NULL;
	cri_stream_close(s);
}

static void test_stream_error_status(void)
{
	uint8_t a[128];
	fake_reply r = { .status = 13, .details = "event bus broke", .nmsgs = 1 };
	r.msgs[0].len = pack_event(a, sizeof a, "c1", RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT, 1);
	r.msgs[0].data = a;
	fake_grpc_set_reply(srv, &r);
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);
	Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
	cri_stream *s = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_stream_open(c, "GetContainerEvents", &req.base, &s, &e), 0);
	test_stream = s;
	ProtobufCMessage *m = NULL;
	CU_ASSERT_EQUAL(cri_stream_next(s, &m, 3000, &e), 1);
	cri_free(m);
	int rc = cri_stream_next(s, &m, 3000, &e);
	CU_ASSERT_EQUAL(rc, -ERR_GRPC);
	CU_ASSERT_EQUAL(e.grpc_status, 13);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "INTERNAL: event bus broke"));
	CU_ASSERT_PTR_NULL(m);
	test_stream = NULL;
	cri_stream_close(s);
}

static void test_stream_timeout_and_close(void)
{
	fake_reply r = { .status = 0, .hang = true };
	fake_grpc_set_reply(srv, &r);
	cri_conn *c = connect_to(srv_ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	crit_err e;
	err_clear(&e);
	Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
	cri_stream *s = NULL;
	CU_ASSERT_EQUAL_FATAL(cri_stream_open(c, "GetContainerEvents", &req.base, &s, &e), 0);
	test_stream = s;

	ProtobufCMessage *m = NULL;
	int64_t t0 = util_now_ms();
	int rc = cri_stream_next(s, &m, 200, &e);
	int64_t took = util_now_ms() - t0;
	CU_ASSERT_EQUAL(rc, -ETIMEDOUT);
	CU_ASSERT_EQUAL(e.code, -ETIMEDOUT);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT(took >= 190);
	CU_ASSERT(took < 200 + margin(300));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "GetContainerEvents"));

	/* A second wait picks up the read still in flight and times out too. */
	t0 = util_now_ms();
	CU_ASSERT_EQUAL(cri_stream_next(s, &m, 100, &e), -ETIMEDOUT);
	took = util_now_ms() - t0;
	CU_ASSERT(took >= 90 && took < 100 + margin(300));

	t0 = util_now_ms();
	test_stream = NULL;
	cri_stream_close(s);
	CU_ASSERT(util_now_ms() - t0 < margin(500));
}

static void test_stream_missing_socket(void)
{
	const char *path = in_tmp("no-events.sock");
	char ep[300];
	snprintf(ep, sizeof ep, "unix://%s", path);
	cri_conn *c = connect_to(ep, NULL);
	CU_ASSERT_FATAL(c != NULL);
	cri_set_timeout_ms(c, 2000);
	crit_err e;
	err_clear(&e);
	Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
	cri_stream *s = NULL;
	int64_t t0 = util_now_ms();
	int rc = cri_stream_open(c, "GetContainerEvents", &req.base, &s, &e);
	if (rc == 0) {
		/* Some gRPC versions report the failure on the first read. */
		ProtobufCMessage *m = NULL;
		rc = cri_stream_next(s, &m, 2000, &e);
		cri_stream_close(s);
	}
	int64_t took = util_now_ms() - t0;
	CU_ASSERT(rc < 0 && rc != -ETIMEDOUT);
	CU_ASSERT(took < margin(1000));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
}

void tests_register_cri_errors(void)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown("unit/cri-errors", suite_init, suite_cleanup, NULL,
							   teardown);
	if (!s)
		return;
	CU_add_test(s, "blackhole socket: DEADLINE_EXCEEDED on time", test_blackhole_deadline);
	CU_add_test(s, "silent server: DEADLINE_EXCEEDED on time", test_silent_deadline);
	CU_add_test(s, "missing socket: UNAVAILABLE at once, path named", test_missing_socket);
	CU_add_test(s, "garbage instead of HTTP/2: error, no hang", test_garbage);
	CU_add_test(s, "OK with an invalid payload: ERR_DECODE", test_bad_payload);
	CU_add_test(s, "NOT_FOUND status and message kept", test_not_found);
	CU_add_test(s, "OK without a message: ERR_DECODE", test_ok_without_message);
	CU_add_test(s, "image methods go to the image endpoint", test_image_endpoint_routing);
	CU_add_test(s, "observer sees the status", test_observer_sees_status);
	CU_add_test(s, "unknown method: EINVAL", test_unknown_method);
	CU_add_test(s, "request of the wrong type: EINVAL naming both", test_wrong_request_type);
	CU_add_test(s, "fault critic/cri/send: EIO, nothing sent", test_fiu_send);
	CU_add_test(s, "valid reply decodes; fault critic/cri/recv: ERR_DECODE", test_valid_reply_and_fiu_recv);
	CU_add_test(s, "stream: two events then the end", test_stream_two_events);
	CU_add_test(s, "stream: error status after a message", test_stream_error_status);
	CU_add_test(s, "stream: read timeout, prompt close", test_stream_timeout_and_close);
	CU_add_test(s, "stream: missing socket fails promptly", test_stream_missing_socket);
}
