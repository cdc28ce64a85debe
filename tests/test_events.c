/* test_events: the event-order check of suites/events.c on made-up event
 * lists: the right order passes, every kind of wrong list fails. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_server.h"
#include "suites/events.h"
#include "tests.h"
#include "util.h"

#define EV(x) RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_##x##_EVENT
#define CTR "c0ffee-ours"
#define POD "p0d-ours"

/* A list of up to 16 events built on the stack. */
typedef struct {
	Runtime__V1__ContainerEventResponse ev[16];
	Runtime__V1__PodSandboxStatus pod[16];
	Runtime__V1__ContainerEventResponse *p[16];
	size_t n;
} evlist;

static void add(evlist *l, const char *ctr, int type, long long at, const char *pod)
{
	size_t i = l->n++;
	runtime__v1__container_event_response__init(&l->ev[i]);
	runtime__v1__pod_sandbox_status__init(&l->pod[i]);
	l->ev[i].container_id = (char *)ctr;
	l->ev[i].container_event_type = (Runtime__V1__ContainerEventType)type;
	l->ev[i].created_at = at;
	if (pod) {
		l->pod[i].id = (char *)pod;
		l->ev[i].pod_sandbox_status = &l->pod[i];
	}
	l->p[i] = &l->ev[i];
}

/* The four events of CTR at 100, 200, 300, 400 in pod POD. */
static void good(evlist *l)
{
	memset(l, 0, sizeof *l);
	add(l, CTR, EV(CREATED), 100, POD);
	add(l, CTR, EV(STARTED), 200, POD);
	add(l, CTR, EV(STOPPED), 300, POD);
	add(l, CTR, EV(DELETED), 400, POD);
}

static int check(evlist *l, char *msg, size_t len)
{
	crit_err e;
	err_clear(&e);
	int rc = ev_check_lifecycle(l->p, l->n, CTR, POD, &e);
	snprintf(msg, len, "%s", e.msg);
	return rc;
}

static void test_in_order(void)
{
	evlist l;
	char msg[1024];
	good(&l);
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), 0);
}

static void test_others_ignored(void)
{
	/* Other containers' events (and the sandbox's), interleaved and out
	 * of order among themselves, do not matter. */
	evlist l;
	char msg[1024];
	memset(&l, 0, sizeof l);
	add(&l, "other", EV(DELETED), 50, "p0d-other");
	add(&l, CTR, EV(CREATED), 100, POD);
	add(&l, "other", EV(CREATED), 999, NULL);
	add(&l, CTR, EV(STARTED), 200, POD);
	add(&l, POD, EV(STOPPED), 1, POD);
	add(&l, CTR, EV(STOPPED), 300, POD);
	add(&l, CTR, EV(DELETED), 400, POD);
	add(&l, "other", EV(STARTED), 5, "p0d-other");
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), 0);
}

static void test_swapped(void)
{
	evlist l;
	char msg[1024];
	good(&l);
	l.ev[1].container_event_type = EV(STOPPED);
	l.ev[2].container_event_type = EV(STARTED);
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "event 2 is STOPPED (2), want STARTED"));
}

static void test_missing_each(void)
{
	static const char *const names[] = { "CREATED", "STARTED", "STOPPED", "DELETED" };
	for (size_t drop = 0; drop < 4; drop++) {
		evlist l;
		char msg[1024];
		good(&l);
		memmove(&l.ev[drop], &l.ev[drop + 1], (3 - drop) * sizeof l.ev[0]);
		l.n = 3;
		for (size_t i = 0; i < 3; i++) {
			l.ev[i].pod_sandbox_status = &l.pod[i];
			l.p[i] = &l.ev[i];
		}
		CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
		/* Dropping DELETED leaves it missing at the end; any other drop
		 * makes the next event come where the dropped one belongs. */
		char want[64];
		if (drop == 3)
			snprintf(want, sizeof want, "no DELETED event (3 of 4");
		else
			snprintf(want, sizeof want, "want %s", names[drop]);
		CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
	}
}

static void test_none_of_ours(void)
{
	evlist l;
	char msg[1024];
	memset(&l, 0, sizeof l);
	add(&l, "other", EV(CREATED), 100, POD);
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no CREATED event (0 of 4 events came, of 1 in all)"));
	l.n = 0;
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
}

static void test_duplicate_and_extra(void)
{
	evlist l;
	char msg[1024];
	good(&l);
	/* STARTED twice */
	l.ev[2].container_event_type = EV(STARTED);
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "event 3 is STARTED"));
	/* anything after DELETED */
	good(&l);
	add(&l, CTR, EV(STARTED), 500, POD);
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "STARTED event after DELETED"));
	/* an unknown type */
	good(&l);
	l.ev[3].container_event_type = (Runtime__V1__ContainerEventType)7;
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "event 4 is UNKNOWN (7), want DELETED"));
}

static void test_pod_status(void)
{
	evlist l;
	char msg[1024];
	good(&l);
	l.ev[2].pod_sandbox_status = NULL;
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "STOPPED event has no pod_sandbox_status"));
	good(&l);
	l.pod[3].id = "p0d-other";
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "DELETED event has the status of pod 'p0d-other'"));
	good(&l);
	l.pod[0].id = NULL;
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
}

static void test_created_at(void)
{
	evlist l;
	char msg[1024];
	good(&l);
	l.ev[2].created_at = 200; /* equal to STARTED's */
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "STOPPED event created_at 200 is not after the STARTED event's 200"));
	good(&l);
	l.ev[3].created_at = 10; /* earlier */
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	good(&l);
	l.ev[0].created_at = 0; /* unset */
	CU_ASSERT_EQUAL(check(&l, msg, sizeof msg), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "CREATED event created_at 0 is not a time"));
}

/* ---- the same check on events that came over a gRPC stream ---- */

static char tmpdir[64], srv_ep[128];
static fake_grpc *srv;
static cri_conn *conn;
static cri_stream *stream;
static Runtime__V1__ContainerEventResponse *got[FAKE_MAX_MSGS];

static int stream_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/critic-unit-events-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	char path[100];
	snprintf(path, sizeof path, "%s/grpc.sock", tmpdir);
	snprintf(srv_ep, sizeof srv_ep, "unix://%s", path);
	return fake_grpc_start(&srv, path) < 0 ? -1 : 0;
}

static int stream_cleanup(void)
{
	fake_grpc_stop(srv);
	srv = NULL;
	if (fake_time_scale() > 1)
		util_sleep_ms(1000); /* as in unit/cri-errors: let gRPC finish the channel */
	return util_rm_rf(tmpdir, NULL) < 0 ? -1 : 0;
}

static void stream_teardown(void)
{
	for (size_t i = 0; i < FAKE_MAX_MSGS; i++) {
		cri_free(got[i]);
		got[i] = NULL;
	}
	cri_stream_close(stream);
	stream = NULL;
	cri_close(conn);
	conn = NULL;
}

/* Serve the four events of the good list (optionally reordered by order)
 * and read them back off the stream; the count read. */
static size_t serve_and_read(const int order[4], fake_reply *r)
{
	evlist l;
	good(&l);
	uint8_t buf[4][512];
	for (int i = 0; i < 4; i++) {
		Runtime__V1__ContainerEventResponse *ev = l.p[order[i]];
		r->msgs[i].len = protobuf_c_message_pack(&ev->base, buf[i]);
		r->msgs[i].data = buf[i];
	}
	r->nmsgs = 4;
	fake_grpc_set_reply(srv, r);
	crit_err e;
	err_clear(&e);
	if (cri_connect(&conn, srv_ep, NULL, 5000, &e) < 0)
		return 0;
	Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
	if (cri_stream_open(conn, "GetContainerEvents", &req.base, &stream, &e) < 0)
		return 0;
	size_t n = 0;
	ProtobufCMessage *m = NULL;
	while (n < FAKE_MAX_MSGS && cri_stream_next(stream, &m, 3000, &e) == 1)
		got[n++] = (Runtime__V1__ContainerEventResponse *)m;
	return n;
}

static void test_stream_in_order(void)
{
	fake_reply r = { .status = 0 };
	static const int order[4] = { 0, 1, 2, 3 };
	CU_ASSERT_EQUAL_FATAL(serve_and_read(order, &r), 4);
	/* The pod's status survives the wire (field 4 of the event). */
	CU_ASSERT_PTR_NOT_NULL_FATAL(got[3]->pod_sandbox_status);
	CU_ASSERT_STRING_EQUAL(got[3]->pod_sandbox_status->id, POD);
	CU_ASSERT_EQUAL(got[2]->created_at, 300);
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ev_check_lifecycle(got, 4, CTR, POD, &e), 0);
}

static void test_stream_out_of_order(void)
{
	fake_reply r = { .status = 0 };
	static const int order[4] = { 0, 2, 1, 3 };
	CU_ASSERT_EQUAL_FATAL(serve_and_read(order, &r), 4);
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL(ev_check_lifecycle(got, 4, CTR, POD, &e), -ERR_ASSERT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "event 2 is STOPPED"));
}

/* What a runtime without the RPC answers: the status the suite test turns
 * into its skip. */
static void test_stream_unimplemented(void)
{
	fake_reply r = { .status = 12, .details = "method GetContainerEvents not implemented" };
	fake_grpc_set_reply(srv, &r);
	crit_err e;
	err_clear(&e);
	CU_ASSERT_EQUAL_FATAL(cri_connect(&conn, srv_ep, NULL, 5000, &e), 0);
	Runtime__V1__GetEventsRequest req = RUNTIME__V1__GET_EVENTS_REQUEST__INIT;
	int rc = cri_stream_open(conn, "GetContainerEvents", &req.base, &stream, &e);
	if (rc == 0) {
		ProtobufCMessage *m = NULL;
		rc = cri_stream_next(stream, &m, 3000, &e);
		CU_ASSERT_PTR_NULL(m);
	}
	CU_ASSERT_EQUAL(rc, -ERR_GRPC);
	CU_ASSERT_EQUAL(e.grpc_status, 12);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "UNIMPLEMENTED"));
}

void tests_register_events(void)
{
	CU_pSuite s = CU_add_suite("unit/events", NULL, NULL);
	if (s) {
		CU_add_test(s, "created, started, stopped, deleted in order pass", test_in_order);
		CU_add_test(s, "other containers' events are ignored", test_others_ignored);
		CU_add_test(s, "two events swapped fail", test_swapped);
		CU_add_test(s, "each one of the four missing fails", test_missing_each);
		CU_add_test(s, "no event of ours, or none at all, fails", test_none_of_ours);
		CU_add_test(s, "a duplicate, an extra or an unknown event fails", test_duplicate_and_extra);
		CU_add_test(s, "pod_sandbox_status absent or of another pod fails", test_pod_status);
		CU_add_test(s, "created_at equal, earlier or unset fails", test_created_at);
	}
	CU_pSuite w = CU_add_suite_with_setup_and_teardown("unit/events-stream", stream_init, stream_cleanup, NULL,
							  stream_teardown);
	if (w) {
		CU_add_test(w, "four events off a gRPC stream decode, pod status included, and pass", test_stream_in_order);
		CU_add_test(w, "the same events out of order off the stream fail", test_stream_out_of_order);
		CU_add_test(w, "UNIMPLEMENTED comes back as gRPC status 12 (the suite's skip)", test_stream_unimplemented);
	}
}
