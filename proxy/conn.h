/*
 * conn: one client connection and the request it is working on.
 *
 * A connection belongs to the worker thread that accepted it and is only
 * ever touched by that thread.  It walks these states:
 *
 *   HEAD ──▶ DECIDE (policy; hold; DNS + address checks) ──▶ CONNECT
 *     ▲                                                        │
 *     │    plain http://: FORWARD (request and response relay) ◀┤
 *     └──────────── keep-alive ──────────────────────┘          │
 *               CONNECT: PEEK (ClientHello, SNI) ──▶ TUNNEL ◀───┘
 *                                     └──▶ intercepted: HEAD inside TLS
 *
 * Every request ends in exactly one audit record (conn_audit_request()),
 * written when its outcome and byte counts are known.
 */
#ifndef AIRLOCK_PROXY_CONN_H
#define AIRLOCK_PROXY_CONN_H

#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "caller.h"
#include "http_parse.h"
#include "policy.h"
#include "proxy.h"

struct bufferevent;
struct evbuffer;
struct hold;
struct pool_conn;
struct tunnel;

#define CONN_MAX_ADDRS 8

/* How a request body is checked for credential sentinels (sentinel.h). */
enum sec_body {
	SEC_BODY_NONE, /* no secrets, or no body */
	SEC_BODY_SCAN, /* streamed; a sentinel that may not go refuses */
	SEC_BODY_BUFFER, /* read whole first: replaced, or refused before
			    the head goes upstream */
};

enum conn_state {
	CONN_HEAD, /* reading a request head */
	CONN_DECIDE, /* policy, hold, DNS: the client waits */
	CONN_CONNECT, /* connecting upstream */
	CONN_PEEK, /* CONNECT answered: waiting for a ClientHello */
	CONN_FORWARD, /* relaying a plain HTTP request and its response */
	CONN_TUNNEL, /* bytes move through tunnel.c */
	CONN_CLOSING, /* flushing a final answer, then close */
};

/* What to do once a held or checked decision allows the request. */
enum conn_stage {
	STAGE_RESOLVE, /* after the name decision: resolve and check */
	STAGE_CONNECT, /* after the address decision: connect */
};

struct conn {
	struct worker *w;
	LIST_ENTRY(conn) entry; /* in w->conns */
	enum conn_state state;
	int cfd; /* client socket (closed by conn_free) */
	int is_tcp_client;
	int copies_to_client; /* bytes to the client are copied, never
				 spliced (proxy_relay_copies()) */
	struct bufferevent
	    *cbev; /* client side; a TLS filter when intercepting */
	struct event *crd; /* a plain client's read watch (conn_client_reading):
			      NULL once TLS or a tunnel reads it */
	int is_client_reading; /* wanted, even while input is full */
	struct bufferevent *ubev; /* upstream side */
	int ufd; /* upstream socket (closed by conn_free) */
	struct pool_conn *uread; /* forward.c reads a plain upstream itself,
				    through its watch (pool.h) */
	struct event *timer; /* header / connect / peek timeout */
	unsigned long long t_start_ms;
	unsigned long long closing_ms; /* when CLOSING began */
	int is_lingering; /* CLOSING: half-closed, dropping input */
	int is_head_timed; /* the header timeout runs for this head */

	/* The request being decided or forwarded. */
	struct proxy_policy *pol; /* reference held for the request */
	char *head; /* a copy of the request head */
	size_t head_len;
	struct http_request *req; /* parsed from head */
	int is_connect;
	char method[32];
	char host[256]; /* lower case, no trailing dot */
	int host_is_ip;
	uint16_t port;
	char *target; /* for audit and approvals: host:port or URL */
	char *path; /* "/..." for policy; NULL for CONNECT */
	struct policy_verdict verdict;
	enum audit_outcome outcome;
	enum audit_decider decided_by;
	char reviewer[64]; /* the reviewer that decided a held request, or "" */
	/* why the hold was resolved, when that is not the rule's reason: the
	 * reviewer's words, or "remembered"; else "" */
	char reviewer_reason[256];
	enum conn_stage stage;
	struct caller caller; /* identity and trace context */
	int client_keeps_alive;
	int client_wants_close; /* the request said "Connection: close" */
	int is_clean_close; /* that request was read to its end: no need to
			       linger (conn_close_after_flush) */
	int is_head_request;
	uint64_t bytes_in; /* upstream to client */
	uint64_t bytes_out; /* client to upstream */
	struct hold *hold;
	uint64_t lookup_id; /* the caller lookup under way for this
			       connection (lookup.h), or 0 */

	/* Addresses the name resolved to; all were checked. */
	struct sockaddr_storage addrs[CONN_MAX_ADDRS];
	socklen_t addr_lens[CONN_MAX_ADDRS];
	int n_addrs;
	int addr_next;
	int connect_timed_out; /* the last connect attempt timed out: 504 */
	void *dns_req; /* pending evdns request, or NULL */

	/* Plain HTTP forwarding: the upstream may stay open between requests. */
	char up_host[256];
	uint16_t up_port;
	int up_is_idle; /* the last response ended: reusable (pool.h) */
	int up_is_tls;
	int up_is_reused; /* taken from the pool for this request */
	int up_addr; /* which of addrs it is connected to */
	int up_no_reuse; /* this request wants a new connection (a retry) */
	enum http_body req_body;
	uint64_t req_left;
	struct http_chunked req_chunk;
	int req_done;
	int resp_state;
	enum http_body resp_body;
	uint64_t resp_left;
	struct http_chunked resp_chunk;
	int resp_keeps_alive;
	/* A Content-Length body spliced from upstream to client (forward.c,
	 * forward_splice_start()): the pipe and what it holds, and a watch
	 * for the client becoming writable.  spl_pipe[0] -1: none. */
	int spl_pipe[2];
	size_t spl_in_pipe;
	struct event *spl_wr;

	/* CONNECT tunnels and interception. */
	int is_intercept; /* requests arrive inside our TLS */
	int is_tls_peeked;
	char tunnel_host[256];
	uint16_t tunnel_port;
	SSL *cssl;
	struct tunnel *tun;

	/* Credential sentinels (sentinel.h), per request. */
	int sec_in_head; /* the head holds sentinels that may go: they are
			    replaced as the head is copied upstream */
	enum sec_body sec_body;
	struct secret_scan sec_scan; /* the body's data */
	struct secret_scan sec_scan_raw; /* a chunked body as sent */
	struct evbuffer *sec_buf; /* SEC_BODY_BUFFER: the body so far */
	const struct secret_value *sec_refused;
	char sec_reason[384]; /* the audit reason of a refusal */
	/* The real values this request carried (NULL: none, the common
	 * case; made on the first): its response is redacted and its body
	 * goes through sec_hold, which keeps what is not yet known clean. */
	struct secret_redact *sec_redact;
	struct evbuffer *sec_hold;
};

/* Accept a client socket (fd is owned by the connection from now on). */
void conn_accept(
    struct worker *w, int fd, const struct sockaddr *sa, socklen_t len);

/* Let a bufferevent move up to 256 KiB per read or write call. */
void conn_tune_bev(struct bufferevent *bev);
/* One readv() of up to want bytes from fd into the end of in, a
 * bufferevent's input: the bytes read, 0 at end of stream, -1 with errno,
 * or -2 when in could not grow. */
ssize_t conn_read_into(int fd, struct evbuffer *in, size_t want);

/* Read the client, or stop: through c->crd for a plain client, else
 * the bufferevent. */
void conn_client_reading(struct conn *c, int on);

/* Set the client callbacks on c->cbev and wait for a request head. */
void conn_client_attach(struct conn *c);

/* Write what is queued for the client now; arm a write event only for
 * what does not fit.  Never frees the connection. */
void conn_client_flush(struct conn *c);

/* Stopping: close the connections that wait for a request head. */
void conn_close_idle(struct worker *w);

/* Free everything and close both sockets; writes no audit record. */
void conn_free(struct conn *c);

/* Answer the client with status and a text body, write the request's
 * audit record, and close once flushed (or keep reading when keep is set
 * and the request is fully consumed). */
void conn_reply_error(struct conn *c, int status, const char *body);

/* Drop the upstream connection, kept-alive or not. */
void conn_close_upstream(struct conn *c);

/* Write what is queued for the upstream now, like conn_client_flush(). */
void conn_upstream_flush(struct conn *c);

/* A reused upstream failed before any byte of its answer: connect again
 * to the same checked address and resend.  Returns 0, or -1 when the
 * request cannot be resent (the caller answers as before).  May free the
 * connection. */
int conn_retry_upstream(struct conn *c);

/* Close the client once its output is flushed.  May free the connection. */
void conn_close_after_flush(struct conn *c);

/* Deny the current request with a 403 naming c->verdict's rule. */
void conn_deny(struct conn *c, const char *why);

/* Continue after a decision allowed the request (policy, hold, address). */
void conn_continue(struct conn *c);

/* Called by hold.c when a held request was resolved. */
void conn_hold_done(struct conn *c, const struct approval_result *res);

/* Called by tunnel.c when a tunnel ended; frees the connection. */
void conn_tunnel_done(void *arg, uint64_t to_upstream, uint64_t to_client);

/* Open the upstream connection to c->addrs[c->addr_next...]. */
void conn_connect_upstream(struct conn *c);

/* Write the request's audit record (idempotent per request). */
void conn_audit_request(struct conn *c);

/* Finish the current request: audit it, release its policy and head. */
void conn_end_request(struct conn *c);

/* Go back to reading the next request head (keep-alive). */
void conn_next_request(struct conn *c);

/* Start or stop the single timer: ms 0 stops it. */
void conn_timer_set(struct conn *c, unsigned ms);

/* forward.c: relay a plain HTTP request once upstream is connected. */
void forward_start(struct conn *c);
void forward_client_read(struct conn *c);
void forward_upstream_read(struct conn *c);
void forward_upstream_event(struct conn *c, short what);
void forward_client_drained(struct conn *c);
/* Stop splicing a response body, if one is (conn_free). */
void forward_splice_stop(struct conn *c);
/* A plain upstream's socket is readable (its pool_conn watch). */
void forward_upstream_readable(int fd, short what, void *arg);

/* resolve.c */
void resolve_start(struct conn *c);
/* The client's kept-alive upstream is for this request's host: check the
 * address it is connected to for this request, then forward over it (or
 * deny, or hold).  May free the connection. */
void resolve_check_kept(struct conn *c);
void resolve_cancel(struct conn *c);

/* intercept.c: terminate the client's TLS with a leaf for tunnel_host and
 * read HTTP requests inside it.  Returns 0, or -1 (connection closed). */
int intercept_start(struct conn *c);
/* An SSL_CTX-wrapped upstream TLS connection over fd for c->host. */
struct bufferevent *intercept_upstream_bev(struct conn *c, int fd);
void intercept_init(void);
/* Create or load the CA now when the policy intercepts (so that ca.pem
 * exists before the first request).  Returns 0, or -1 (message printed). */
int intercept_prepare(struct proxy *p);
/* Nonzero when interception has its CA (made on first use). */
int intercept_has_ca(struct proxy *p);

#endif
