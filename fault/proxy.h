/* proxy: a byte-level unix-socket proxy put between a CRI client and the
 * runtime, which delays, swallows, resets, refuses, cuts or corrupts traffic. */
#ifndef CRITIC_FAULT_PROXY_H
#define CRITIC_FAULT_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * The proxy listens on a unix socket and, for each client it accepts, opens
 * one connection to the upstream socket (the runtime) and copies bytes both
 * ways. It never parses HTTP/2: every mode acts on the byte streams only.
 * It runs on its own thread (one poll loop, non-blocking sockets, at most
 * FAULT_PROXY_QUEUE_MAX bytes queued per direction and connection; a full
 * queue stops reading from that side until it drains).
 *
 * "Aborting" a connection below means closing both its ends with SO_LINGER
 * set to 0. Over TCP that sends RST; over AF_UNIX there is no RST: the peer
 * reads EOF, or ECONNRESET when its own data was still unread on our side.
 * Either way a gRPC client sees the transport die and fails with UNAVAILABLE.
 *
 * Modes (switchable at any time with fault_proxy_set_mode):
 *
 * PASS       copy bytes both ways. Half-closes are passed on (EOF from one
 *            side becomes shutdown(SHUT_WR) of the other once its queue
 *            has drained).
 * DELAY      as PASS, but each chunk read from either side is written to
 *            the other delay_ms after it was read. Order is kept in each
 *            direction, also across changes of the delay (a chunk never
 *            overtakes one read before it).
 * BLACKHOLE  accept and never answer. New connections are accepted and get
 *            no upstream connection; on every connection, new and existing,
 *            whatever either side sends is read and dropped, never
 *            forwarded, and bytes still queued when the mode starts are
 *            dropped too. A connection that lost bytes this way (or was
 *            accepted during the blackhole) cannot carry HTTP/2 any more:
 *            when the proxy leaves BLACKHOLE it aborts those connections,
 *            so clients reconnect. Connections that stayed idle through the
 *            blackhole carry on untouched.
 * RESET      on entry, abort every open connection; while in the mode,
 *            accept each new connection and abort it at once.
 * REFUSE     true refusal: the listening socket is closed, its file left in
 *            place, so connect() fails with ECONNREFUSED (not ENOENT).
 *            Connections already open carry on as in PASS. Leaving the mode
 *            binds a new listening socket and renames it over the path, so
 *            there is no moment without a socket file.
 * CUT_AFTER  each connection gets a budget of cut_after bytes from upstream
 *            to the client, counted from its accept, or from the moment the
 *            mode (or a new cut_after value) was set for connections already
 *            open. Bytes beyond the budget are dropped; once the budget is
 *            spent and the bytes within it are delivered, the connection is
 *            aborted. cut_after 0 aborts every connection straight away.
 *            Client-to-upstream traffic is not limited.
 * CORRUPT    bytes from upstream to the client are flipped (XOR 0xff) as
 *            the proxy reads them. With corrupt_rate > 0 each byte is
 *            flipped with that probability (a PRNG seeded with seed, so a
 *            run can be repeated); otherwise exactly one byte per connection
 *            is flipped: the one at offset corrupt_at, counted like
 *            CUT_AFTER's budget (from accept or from entering the mode).
 *            Client-to-upstream traffic is left intact.
 *
 * In every mode but BLACKHOLE and RESET, a new client whose upstream cannot
 * be reached is aborted and counted in upstream_failed.
 */
typedef enum fault_proxy_mode {
	FAULT_PROXY_PASS,
	FAULT_PROXY_DELAY,
	FAULT_PROXY_BLACKHOLE,
	FAULT_PROXY_RESET,
	FAULT_PROXY_REFUSE,
	FAULT_PROXY_CUT_AFTER,
	FAULT_PROXY_CORRUPT,
	FAULT_PROXY_NMODES
} fault_proxy_mode;

/* What a mode needs; fields other modes do not use are ignored. */
typedef struct fault_proxy_params {
	int delay_ms;         /* DELAY: 0..FAULT_PROXY_MAX_DELAY_MS */
	uint64_t cut_after;   /* CUT_AFTER: bytes upstream->client per connection */
	double corrupt_rate;  /* CORRUPT: probability per byte, 0..1; 0 = use corrupt_at */
	uint64_t corrupt_at;  /* CORRUPT: offset of the one byte flipped per connection */
	uint64_t seed;        /* CORRUPT with a rate: PRNG seed (0 = a fixed default) */
} fault_proxy_params;

#define FAULT_PROXY_MAX_CONNS 256
#define FAULT_PROXY_QUEUE_MAX (256 * 1024)
#define FAULT_PROXY_MAX_DELAY_MS 600000

/* A snapshot of the proxy. Byte counts are what was written to the other
 * side, not what was read. */
typedef struct fault_proxy_counters {
	fault_proxy_mode mode;
	fault_proxy_params params;
	bool listening;           /* false while in REFUSE */
	uint64_t accepted;        /* client connections accepted, in any mode */
	uint64_t active;          /* client connections open now */
	uint64_t upstream_failed; /* accepted, but the upstream could not be reached */
	uint64_t faulted;         /* connections aborted by a mode: RESET, CUT_AFTER,
				   * leaving BLACKHOLE, over FAULT_PROXY_MAX_CONNS */
	uint64_t bytes_to_upstream;
	uint64_t bytes_to_client;
	uint64_t bytes_dropped;   /* read but never delivered (BLACKHOLE, past a cut,
				   * queued on a connection that was aborted) */
	uint64_t bytes_corrupted; /* bytes flipped by CORRUPT */
} fault_proxy_counters;

typedef struct fault_proxy fault_proxy;

/* Listen on listen_path (a path or "unix:///path"; a stale socket file is
 * replaced, a live one or any other file is refused) and forward to upstream
 * (same forms). The upstream need not be up yet: it is dialled for each
 * client. Starts in PASS on the proxy's own thread. */
int fault_proxy_start(fault_proxy **out, const char *listen_path, const char *upstream, crit_err *e);
/* Switch mode. Returns once the proxy thread has applied it (existing
 * connections already reset, listener closed, …), or a negative code:
 * -EINVAL for bad params, or whatever re-creating the listener failed with. */
int fault_proxy_set_mode(fault_proxy *p, fault_proxy_mode mode, const fault_proxy_params *params,
			 crit_err *e);
void fault_proxy_stats(fault_proxy *p, fault_proxy_counters *out);
/* Stop the thread, abort every connection, remove the listening socket
 * file (if it is still ours) and free p. Prompt: no waiting on peers. */
void fault_proxy_stop(fault_proxy *p);
/* The canonical "unix:///path" clients should dial. */
const char *fault_proxy_endpoint(const fault_proxy *p);

/* "pass", "delay", "blackhole", "reset", "refuse", "cut_after", "corrupt". */
const char *fault_proxy_mode_name(fault_proxy_mode m);
/* Parse a mode with its arguments, words separated by blanks, ':' , '=' or
 * ',': "pass", "delay 200" ("delay:200ms"), "blackhole", "reset", "refuse",
 * "cut_after 1000" ("cut-after"), "corrupt" (= "corrupt at 0"),
 * "corrupt at 17", "corrupt rate 0.01 [seed 7]". */
int fault_proxy_parse_mode(const char *text, fault_proxy_mode *mode, fault_proxy_params *params,
			   crit_err *e);
/* The reverse: "delay 200", "corrupt rate 0.01 seed 7", … */
void fault_proxy_format_mode(fault_proxy_mode mode, const fault_proxy_params *params, char *buf, size_t len);

/* Run one control command and write a one-line reply (no newline) to reply:
 *   mode MODE [ARGS]   switch, as fault_proxy_parse_mode reads it
 *   stats              "ok mode=… listening=… accepted=… …"
 *   help               the list of commands
 * The reply starts with "ok" on success and "error: " on failure. */
int fault_proxy_command(fault_proxy *p, const char *line, char *reply, size_t len, crit_err *e);

/* `critic proxy --listen PATH --upstream ENDPOINT [--mode MODE] [--control PATH]`.
 * argv[0] is the command's name; options follow. Runs until SIGINT, SIGTERM
 * or a "quit" line on the control socket. Returns the exit code: 0 done,
 * 2 usage or listen error, 3 upstream unreachable at start. */
int proxy_cli_main(int argc, char **argv);

#endif
