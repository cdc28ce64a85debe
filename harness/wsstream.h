/* ws: a WebSocket client (libwebsockets) for the URLs Exec, Attach and
 * PortForward return: channel-prefixed messages, deadlines, status parsing. */
#ifndef CRITIC_WSSTREAM_H
#define CRITIC_WSSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Sub-protocols of the kubelet's streaming library (the runtime serves them
 * on the URL). "v4." protocols send the exit status as JSON on channel 3;
 * the "base64." variants carry text frames: a channel digit, then base64. */
#define WS_PROTO_V4 "v4.channel.k8s.io"
#define WS_PROTO_V4_BASE64 "v4.base64.channel.k8s.io"
#define WS_PROTO_V1 "channel.k8s.io"

/* Exec/attach channels. Port-forward uses 2*i (data) and 2*i+1 (error)
 * for the i-th port. */
enum { WS_CH_STDIN = 0, WS_CH_STDOUT = 1, WS_CH_STDERR = 2, WS_CH_STATUS = 3, WS_CH_RESIZE = 4 };
#define WS_MAX_CH 16

typedef struct ws_conn ws_conn;

/* Connect to url (http://, ws://; https:// and wss:// accept any
 * certificate) and upgrade asking for sub-protocol proto (NULL = none).
 * Fails with -ETIMEDOUT after timeout_ms, -ECONNREFUSED/-EPROTO with the
 * library's reason (a refused upgrade, e.g. a 404 for a spent token). */
int ws_open(ws_conn **out, const char *url, const char *proto, int timeout_ms, crit_err *e);
/* Close (a normal close frame when still open) and free; NULL is fine. */
void ws_close(ws_conn *c);
#define cleanup_ws __attribute__((cleanup(ws_closep)))
static inline void ws_closep(ws_conn **c) { ws_close(*c); }

/* The sub-protocol the server chose ("" when it named none). */
const char *ws_protocol(const ws_conn *c);
/* Has the peer closed (or the connection dropped)? */
bool ws_is_closed(const ws_conn *c);
/* The close code the peer sent (1000 normal), 0 when none. */
int ws_close_code(const ws_conn *c);

/* Queue len bytes for channel ch (split into messages of at most 32 KiB)
 * and wait until they are written to the socket, at most timeout_ms. */
int ws_send(ws_conn *c, unsigned ch, const void *data, size_t len, int timeout_ms, crit_err *e);

/* One received message: 1 with *ch, *data (heap, free it) and *len; 0 when
 * the connection closed and nothing is left; -ETIMEDOUT when nothing came
 * within timeout_ms. */
int ws_recv(ws_conn *c, unsigned *ch, uint8_t **data, size_t *len, int timeout_ms, crit_err *e);

/* Every byte received, per channel. first_len is the size of the first
 * message on the channel (-1 = none yet): port-forward starts each channel
 * with a 2-byte message naming the port. */
typedef struct ws_bufs {
	uint8_t *data[WS_MAX_CH];
	size_t len[WS_MAX_CH];
	size_t msgs[WS_MAX_CH];
	long first_len[WS_MAX_CH];
	size_t bad_channel; /* messages for a channel >= WS_MAX_CH */
} ws_bufs;
void ws_bufs_init(ws_bufs *b);
void ws_bufs_free(ws_bufs *b);
/* Read into b until channel ch holds at least want bytes (returns 0), or
 * with ch < 0 until the peer closes (returns 0). A close before the
 * wanted bytes returns -EPIPE; the deadline -ETIMEDOUT. */
int ws_collect(ws_conn *c, ws_bufs *b, int ch, size_t want, int timeout_ms, crit_err *e);

/* The exit code in a v4 status message (a Kubernetes Status object):
 * "Success" is 0, "Failure" with reason NonZeroExitCode carries the code
 * in details.causes[reason=ExitCode].message. Anything else (another
 * failure, bad JSON) is -EPROTO with the status's message in e. */
int ws_status_exit_code(const void *json, size_t len, int *exit_code, crit_err *e);

/* The pieces of a URL the client needs; exported for the unit tests. */
typedef struct ws_url {
	bool tls;
	char host[256]; /* without brackets for IPv6 */
	int port;
	char path[2048]; /* with the query, "/" when empty */
} ws_url;
int ws_parse_url(const char *url, ws_url *u, crit_err *e);

#endif
