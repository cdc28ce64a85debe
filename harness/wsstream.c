/* ws: a WebSocket client (libwebsockets) for the URLs Exec, Attach and
 * PortForward return: channel-prefixed messages, deadlines, status parsing. */
#include "wsstream.h"

#include <errno.h>
#include <json-c/json.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* libwebsockets' service call ignores its timeout since v3.2 and sleeps
 * until its next event; a timer of ours every TICK_MS wakes it, so every
 * wait below checks its deadline at least that often. */
#define TICK_MS 50
#define MAX_MSG (32 * 1024)

struct ws_msg {
	struct ws_msg *next;
	unsigned ch;
	size_t len;
	uint8_t *data;
};

struct ws_out {
	struct ws_out *next;
	size_t len;
	bool text;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then the payload */
};

struct ws_conn {
	lws_sorted_usec_list_t tick; /* first: the timer callback casts back */
	struct lws_context *ctx;
	struct lws *wsi;
	bool established, failed, closed, want_close, b64;
	int close_code;
	char proto[64];
	char why[512];
	/* the message being received */
	uint8_t *rx;
	size_t rx_len, rx_cap;
	bool rx_text, rx_open;
	size_t rx_dropped; /* malformed messages (bad base64, no channel) */
	struct ws_msg *head, **tail;
	struct ws_out *ohead, **otail;
};

/* The library's last error line, for messages (each test is one process). */
static char ws_last_log[256];

static void ws_log(int level, const char *line)
{
	(void)level;
	snprintf(ws_last_log, sizeof ws_last_log, "%s", line);
	size_t n = strlen(ws_last_log);
	while (n && (ws_last_log[n - 1] == '\n' || ws_last_log[n - 1] == '\r'))
		ws_last_log[--n] = 0;
}

int ws_parse_url(const char *url, ws_url *u, crit_err *e)
{
	memset(u, 0, sizeof *u);
	const char *p;
	if (!strncmp(url, "http://", 7) || !strncmp(url, "ws://", 5)) {
		p = strstr(url, "//") + 2;
		u->port = 80;
	} else if (!strncmp(url, "https://", 8) || !strncmp(url, "wss://", 6)) {
		p = strstr(url, "//") + 2;
		u->tls = true;
		u->port = 443;
	} else {
		return err_set(e, -EINVAL, "streaming URL '%s': not http(s):// or ws(s)://", url);
	}
	const char *end = p + strcspn(p, "/?");
	const char *hend; /* end of the host part */
	const char *colon = NULL;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb)
			return err_set(e, -EINVAL, "streaming URL '%s': unterminated [IPv6] host", url);
		if ((size_t)(rb - p - 1) >= sizeof u->host)
			return err_set(e, -EINVAL, "streaming URL '%s': host too long", url);
		memcpy(u->host, p + 1, (size_t)(rb - p - 1));
		hend = rb + 1;
		if (*hend == ':')
			colon = hend;
		else if (hend != end)
			return err_set(e, -EINVAL, "streaming URL '%s': junk after the [IPv6] host", url);
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		hend = colon ? colon : end;
		if ((size_t)(hend - p) >= sizeof u->host)
			return err_set(e, -EINVAL, "streaming URL '%s': host too long", url);
		memcpy(u->host, p, (size_t)(hend - p));
	}
	if (!u->host[0])
		return err_set(e, -EINVAL, "streaming URL '%s': no host", url);
	if (colon) {
		char *pe;
		long port = strtol(colon + 1, &pe, 10);
		if (pe != end || port < 1 || port > 65535)
			return err_set(e, -EINVAL, "streaming URL '%s': bad port", url);
		u->port = (int)port;
	}
	int n = snprintf(u->path, sizeof u->path, "%s%s", *end == '/' ? "" : "/", end);
	if (n < 0 || (size_t)n >= sizeof u->path)
		return err_set(e, -EINVAL, "streaming URL '%s': path too long", url);
	return 0;
}

static void ws_tick(lws_sorted_usec_list_t *sul)
{
	ws_conn *c = (ws_conn *)sul;
	lws_sul_schedule(c->ctx, 0, &c->tick, ws_tick, TICK_MS * LWS_US_PER_MS);
}

/* A whole message arrived: split off its channel (and decode base64). */
static void ws_push(ws_conn *c)
{
	c->rx_open = false;
	if (c->rx_len == 0)
		return; /* empty messages carry nothing, not even a channel */
	struct ws_msg *m = calloc(1, sizeof *m);
	if (!m) {
		c->rx_dropped++;
		return;
	}
	if (c->rx_text) {
		/* base64 protocols: a channel digit, then the payload in base64 */
		if (c->rx[0] < '0' || c->rx[0] > '9' + WS_MAX_CH) {
			free(m);
			c->rx_dropped++;
			return;
		}
		m->ch = (unsigned)(c->rx[0] - '0');
		size_t in = c->rx_len - 1;
		m->data = malloc(in + 1);
		int n = 0;
		if (m->data && in)
			n = lws_b64_decode_string_len((const char *)c->rx + 1, (int)in, (char *)m->data, (int)in + 1);
		if (!m->data || n < 0) {
			free(m->data);
			free(m);
			c->rx_dropped++;
			return;
		}
		m->len = (size_t)n;
	} else {
		m->ch = c->rx[0];
		m->len = c->rx_len - 1;
		m->data = malloc(m->len + 1);
		if (!m->data) {
			free(m);
			c->rx_dropped++;
			return;
		}
		memcpy(m->data, c->rx + 1, m->len);
	}
	*c->tail = m;
	c->tail = &m->next;
}

static int ws_append_rx(ws_conn *c, const void *in, size_t len)
{
	if (c->rx_len + len > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : 4096;
		while (cap < c->rx_len + len)
			cap *= 2;
		uint8_t *n = realloc(c->rx, cap);
		if (!n)
			return -1;
		c->rx = n;
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	return 0;
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	ws_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	if (!c)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		int status = (int)lws_http_client_http_response(wsi);
		snprintf(c->why, sizeof c->why, "%s", in ? (const char *)in : "connection failed");
		if (status > 0 && status != 101) {
			size_t n = strlen(c->why);
			snprintf(c->why + n, sizeof c->why - n, " (HTTP %d)", status);
		}
		c->failed = true;
		c->wsi = NULL;
		break;
	}
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		if (lws_hdr_copy(wsi, c->proto, sizeof c->proto, WSI_TOKEN_PROTOCOL) < 0)
			c->proto[0] = 0;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		c->established = true;
		c->b64 = strstr(c->proto, "base64") != NULL;
		if (c->ohead || c->want_close)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!c->rx_open) {
			c->rx_open = true;
			c->rx_len = 0;
			c->rx_text = !lws_frame_is_binary(wsi);
		}
		if (ws_append_rx(c, in, len) < 0) {
			snprintf(c->why, sizeof c->why, "out of memory receiving a message");
			c->failed = true;
			return -1;
		}
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
			ws_push(c);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		if (c->want_close) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		struct ws_out *o = c->ohead;
		if (!o)
			break;
		int n = lws_write(wsi, o->buf + LWS_PRE, o->len, o->text ? LWS_WRITE_TEXT : LWS_WRITE_BINARY);
		if (n < 0) {
			snprintf(c->why, sizeof c->why, "writing a %zu-byte message failed", o->len);
			c->failed = true;
			return -1;
		}
		c->ohead = o->next;
		if (!c->ohead)
			c->otail = &c->ohead;
		free(o);
		if (c->ohead)
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (in && len >= 2)
			c->close_code = ((const uint8_t *)in)[0] << 8 | ((const uint8_t *)in)[1];
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		c->closed = true;
		c->wsi = NULL;
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		c->closed = true;
		c->wsi = NULL;
		break;
	default:
		break;
	}
	(void)user;
	return 0;
}

static const struct lws_protocols ws_protocols[] = {
	{ "critic-ws", ws_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

typedef bool (*ws_cond)(ws_conn *c, void *arg);

/* Serve the connection until cond holds or the deadline passes. */
static int ws_pump(ws_conn *c, ws_cond cond, void *arg, int64_t deadline)
{
	while (!cond(c, arg)) {
		if (util_now_ms() >= deadline)
			return -ETIMEDOUT;
		if (lws_service(c->ctx, 0) < 0)
			return -EIO;
	}
	return 0;
}

static bool ws_settled(ws_conn *c, void *arg)
{
	(void)arg;
	return c->established || c->failed || c->closed;
}

static void ws_free(ws_conn *c)
{
	if (!c)
		return;
	if (c->ctx) {
		lws_sul_cancel(&c->tick);
		lws_context_destroy(c->ctx);
	}
	while (c->head) {
		struct ws_msg *m = c->head;
		c->head = m->next;
		free(m->data);
		free(m);
	}
	while (c->ohead) {
		struct ws_out *o = c->ohead;
		c->ohead = o->next;
		free(o);
	}
	free(c->rx);
	free(c);
}

int ws_open(ws_conn **out, const char *url, const char *proto, int timeout_ms, crit_err *e)
{
	*out = NULL;
	ws_url u;
	int rc = ws_parse_url(url, &u, e);
	if (rc < 0)
		return rc;
	ws_conn *c = calloc(1, sizeof *c);
	if (!c)
		return err_set(e, -ENOMEM, "WebSocket %s: out of memory", url);
	c->tail = &c->head;
	c->otail = &c->ohead;
	ws_last_log[0] = 0;
	lws_set_log_level(LLL_ERR, ws_log);

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = ws_protocols;
	info.gid = -1;
	info.uid = -1;
	info.fd_limit_per_thread = 16; /* else sized by RLIMIT_NOFILE */
	if (u.tls)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	c->ctx = lws_create_context(&info);
	if (!c->ctx) {
		ws_free(c);
		return err_set(e, -ENOMEM, "WebSocket %s: libwebsockets context: %s", url,
			       ws_last_log[0] ? ws_last_log : "failed");
	}
	lws_sul_schedule(c->ctx, 0, &c->tick, ws_tick, TICK_MS * LWS_US_PER_MS);

	char hostport[300], origin[320];
	bool v6 = strchr(u.host, ':') != NULL;
	snprintf(hostport, sizeof hostport, "%s%s%s:%d", v6 ? "[" : "", u.host, v6 ? "]" : "", u.port);
	snprintf(origin, sizeof origin, "%s://%s", u.tls ? "https" : "http", hostport);
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = c->ctx;
	ci.address = u.host;
	ci.port = u.port;
	ci.path = u.path;
	ci.host = hostport;
	ci.origin = origin;
	ci.protocol = proto;
	ci.local_protocol_name = "critic-ws";
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	if (u.tls) /* runtimes serve self-signed certificates */
		ci.ssl_connection = LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
				    LCCSCF_ALLOW_INSECURE | LCCSCF_ALLOW_EXPIRED;
	if (!lws_client_connect_via_info(&ci) && !c->failed) {
		rc = err_set(e, -ECONNREFUSED, "WebSocket %s: connect: %s", url,
			     c->why[0] ? c->why : ws_last_log[0] ? ws_last_log : "failed");
		ws_free(c);
		return rc;
	}
	rc = ws_pump(c, ws_settled, NULL, util_now_ms() + timeout_ms);
	if (rc == -ETIMEDOUT) {
		err_set(e, rc, "WebSocket %s: no upgrade within %d ms", url, timeout_ms);
		ws_free(c);
		return rc;
	}
	if (rc < 0 || !c->established) {
		rc = err_set(e, c->failed ? -EPROTO : -ECONNRESET, "WebSocket %s (protocol %s): %s", url,
			     proto ? proto : "none",
			     c->why[0] ? c->why : ws_last_log[0] ? ws_last_log : "closed during the upgrade");
		ws_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static bool ws_gone(ws_conn *c, void *arg)
{
	(void)arg;
	return c->closed || c->failed || !c->wsi;
}

void ws_close(ws_conn *c)
{
	if (!c)
		return;
	if (c->wsi && !c->closed && !c->failed) {
		c->want_close = true;
		lws_callback_on_writable(c->wsi);
		ws_pump(c, ws_gone, NULL, util_now_ms() + 1000);
	}
	ws_free(c);
}

const char *ws_protocol(const ws_conn *c) { return c->proto; }
bool ws_is_closed(const ws_conn *c) { return c->closed || c->failed; }
int ws_close_code(const ws_conn *c) { return c->close_code; }

static int ws_queue(ws_conn *c, unsigned ch, const uint8_t *data, size_t len)
{
	/* lws_b64_encode_string wants two bytes past the text */
	size_t need = c->b64 ? 1 + 4 * ((len + 2) / 3) + 2 : 1 + len;
	struct ws_out *o = malloc(sizeof *o + LWS_PRE + need);
	if (!o)
		return -ENOMEM;
	unsigned char *p = o->buf + LWS_PRE;
	o->next = NULL;
	o->text = c->b64;
	if (c->b64) {
		p[0] = (unsigned char)('0' + ch);
		int n = len ? lws_b64_encode_string((const char *)data, (int)len, (char *)p + 1, (int)need - 1) : 0;
		if (n < 0) {
			free(o);
			return -EINVAL;
		}
		o->len = 1 + (size_t)n;
	} else {
		p[0] = (unsigned char)ch;
		memcpy(p + 1, data, len);
		o->len = 1 + len;
	}
	*c->otail = o;
	c->otail = &o->next;
	return 0;
}

static bool ws_flushed(ws_conn *c, void *arg)
{
	(void)arg;
	return !c->ohead || c->closed || c->failed;
}

int ws_send(ws_conn *c, unsigned ch, const void *data, size_t len, int timeout_ms, crit_err *e)
{
	if (ch >= WS_MAX_CH)
		return err_set(e, -EINVAL, "WebSocket send: channel %u out of range", ch);
	if (c->closed || c->failed || !c->wsi)
		return err_set(e, -EPIPE, "WebSocket send on channel %u: the connection is closed%s%s", ch,
			       c->why[0] ? ": " : "", c->why);
	const uint8_t *p = data;
	size_t off = 0;
	do { /* an empty send still sends one message */
		size_t n = len - off > MAX_MSG ? MAX_MSG : len - off;
		int rc = ws_queue(c, ch, p + off, n);
		if (rc < 0)
			return err_set(e, rc, "WebSocket send of %zu bytes on channel %u: %s", n, ch,
				       rc == -ENOMEM ? "out of memory" : "base64 encoding failed");
		off += n;
	} while (off < len);
	lws_callback_on_writable(c->wsi);
	int rc = ws_pump(c, ws_flushed, NULL, util_now_ms() + timeout_ms);
	if (rc == -ETIMEDOUT)
		return err_set(e, rc, "WebSocket send of %zu bytes on channel %u: not written within %d ms", len, ch,
			       timeout_ms);
	if (c->ohead)
		return err_set(e, -EPIPE, "WebSocket send of %zu bytes on channel %u: the connection closed%s%s", len,
			       ch, c->why[0] ? ": " : "", c->why);
	return 0;
}

static bool ws_have_msg(ws_conn *c, void *arg)
{
	(void)arg;
	return c->head || c->closed || c->failed;
}

int ws_recv(ws_conn *c, unsigned *ch, uint8_t **data, size_t *len, int timeout_ms, crit_err *e)
{
	*data = NULL;
	*len = 0;
	int rc = ws_pump(c, ws_have_msg, NULL, util_now_ms() + timeout_ms);
	if (!c->head) {
		if (rc == -ETIMEDOUT)
			return err_set(e, rc, "WebSocket: no message within %d ms", timeout_ms);
		return 0;
	}
	struct ws_msg *m = c->head;
	c->head = m->next;
	if (!c->head)
		c->tail = &c->head;
	*ch = m->ch;
	*data = m->data;
	*len = m->len;
	free(m);
	return 1;
}

void ws_bufs_init(ws_bufs *b)
{
	memset(b, 0, sizeof *b);
	for (int i = 0; i < WS_MAX_CH; i++)
		b->first_len[i] = -1;
}

void ws_bufs_free(ws_bufs *b)
{
	for (int i = 0; i < WS_MAX_CH; i++)
		free(b->data[i]);
	ws_bufs_init(b);
}

int ws_collect(ws_conn *c, ws_bufs *b, int ch, size_t want, int timeout_ms, crit_err *e)
{
	int64_t deadline = util_now_ms() + timeout_ms;
	for (;;) {
		if (ch >= 0 && ch < WS_MAX_CH && b->len[ch] >= want)
			return 0;
		int64_t left = deadline - util_now_ms();
		unsigned mch;
		uint8_t *d;
		size_t n;
		int rc = ws_recv(c, &mch, &d, &n, left > 0 ? (int)left : 0, e);
		if (rc < 0) {
			if (ch >= 0)
				err_wrap(e, "waiting for %zu bytes on channel %d (have %zu)", want, ch,
					 ch < WS_MAX_CH ? b->len[ch] : 0);
			return rc;
		}
		if (rc == 0) {
			if (ch < 0)
				return 0;
			return err_set(e, -EPIPE, "WebSocket closed with %zu of %zu bytes on channel %d%s%s",
				       ch < WS_MAX_CH ? b->len[ch] : 0, want, ch, c->why[0] ? ": " : "", c->why);
		}
		if (mch >= WS_MAX_CH) {
			b->bad_channel++;
			free(d);
			continue;
		}
		if (b->first_len[mch] < 0)
			b->first_len[mch] = (long)n;
		b->msgs[mch]++;
		if (n) {
			uint8_t *nb = realloc(b->data[mch], b->len[mch] + n + 1);
			if (!nb) {
				free(d);
				return err_set(e, -ENOMEM, "WebSocket: out of memory collecting channel %u", mch);
			}
			memcpy(nb + b->len[mch], d, n);
			b->len[mch] += n;
			nb[b->len[mch]] = 0; /* text checks may treat it as a string */
			b->data[mch] = nb;
		}
		free(d);
	}
}

int ws_status_exit_code(const void *json, size_t len, int *exit_code, crit_err *e)
{
	*exit_code = -1;
	cleanup_free char *s = malloc(len + 1);
	if (!s)
		return err_set(e, -ENOMEM, "status: out of memory");
	memcpy(s, json, len);
	s[len] = 0;
	json_object *o = json_tokener_parse(s);
	if (!o || !json_object_is_type(o, json_type_object)) {
		if (o)
			json_object_put(o);
		return err_set(e, -EPROTO, "status channel: not a JSON object: '%.200s'", s);
	}
	json_object *v;
	const char *status = json_object_object_get_ex(o, "status", &v) ? json_object_get_string(v) : NULL;
	const char *reason = json_object_object_get_ex(o, "reason", &v) ? json_object_get_string(v) : NULL;
	const char *message = json_object_object_get_ex(o, "message", &v) ? json_object_get_string(v) : NULL;
	int rc = 0;
	if (status && !strcmp(status, "Success")) {
		*exit_code = 0;
	} else if (status && !strcmp(status, "Failure") && reason && !strcmp(reason, "NonZeroExitCode")) {
		json_object *details, *causes;
		rc = err_set(e, -EPROTO, "status: NonZeroExitCode without an ExitCode cause: '%.200s'", s);
		if (json_object_object_get_ex(o, "details", &details) &&
		    json_object_object_get_ex(details, "causes", &causes) &&
		    json_object_is_type(causes, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(causes); i++) {
				json_object *cause = json_object_array_get_idx(causes, i), *r, *m;
				if (!json_object_object_get_ex(cause, "reason", &r) ||
				    strcmp(json_object_get_string(r), "ExitCode") ||
				    !json_object_object_get_ex(cause, "message", &m))
					continue;
				const char *num = json_object_get_string(m);
				char *end;
				errno = 0;
				long code = strtol(num, &end, 10);
				if (end == num || *end || errno || code < 0 || code > 255) {
					rc = err_set(e, -EPROTO, "status: exit code '%s' is not a number 0..255", num);
					break;
				}
				*exit_code = (int)code;
				rc = 0;
				break;
			}
		}
	} else {
		rc = err_set(e, -EPROTO, "status %s (reason %s): %s", status ? status : "(none)",
			     reason ? reason : "(none)", message ? message : s);
	}
	json_object_put(o);
	return rc;
}
