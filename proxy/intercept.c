/*
 * intercept: TLS interception for the hosts the policy names in
 * tls.intercept, so that method and path rules apply to HTTPS.
 *
 * The client's TLS ends here with a leaf certificate for the CONNECT host
 * signed by the session's CA (ca.c); each request inside is decided like
 * a plain http:// one and forwarded over a new TLS connection whose
 * certificate is verified against the system trust store (or the one
 * SSL_CERT_FILE / SSL_CERT_DIR name) and the host name.
 */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "conn.h"

static SSL_CTX *intercept_server_ctx;
static SSL_CTX *intercept_client_ctx;
static pthread_mutex_t intercept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ca *intercept_ca; /* guarded by intercept_lock */
static int intercept_ca_failed; /* guarded by intercept_lock */

void
intercept_init(void)
{
	intercept_server_ctx = SSL_CTX_new(TLS_server_method());
	intercept_client_ctx = SSL_CTX_new(TLS_client_method());
	if (intercept_server_ctx == NULL || intercept_client_ctx == NULL) {
		fprintf(
		    stderr, "airlock-proxy: OpenSSL: cannot make contexts\n");
		exit(2);
	}
	SSL_CTX_set_min_proto_version(intercept_server_ctx, TLS1_2_VERSION);
	SSL_CTX_set_min_proto_version(intercept_client_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(intercept_client_ctx, SSL_VERIFY_PEER, NULL);
	/* Honours SSL_CERT_FILE and SSL_CERT_DIR. */
	if (SSL_CTX_set_default_verify_paths(intercept_client_ctx) != 1)
		fprintf(stderr,
		    "airlock-proxy: no system trust store: "
		    "intercepted upstreams will not verify\n");
}

/* The CA, created or loaded on first use. */
static struct ca *
intercept_get_ca(struct proxy *p)
{
	char err[512];
	struct ca *ca;

	pthread_mutex_lock(&intercept_lock);
	if (intercept_ca == NULL && !intercept_ca_failed) {
		if (p->cfg.ca_dir == NULL) {
			fprintf(stderr,
			    "airlock-proxy: interception (tls.intercept, "
			    "secrets' hosts) needs --session or --ca-dir "
			    "for its CA\n");
			intercept_ca_failed = 1;
		} else {
			intercept_ca = ca_open(p->cfg.ca_dir, err, sizeof err);
			if (intercept_ca == NULL) {
				fprintf(stderr, "airlock-proxy: CA: %s\n", err);
				intercept_ca_failed = 1;
			}
		}
	}
	ca = intercept_ca;
	pthread_mutex_unlock(&intercept_lock);
	return ca;
}

int
intercept_prepare(struct proxy *p)
{
	const struct policy_settings *set = policy_settings(p->policy->pol);

	if (set->tls_intercept_hosts == NULL ||
	    set->tls_intercept_hosts[0] == NULL) {
		/* Secrets' hosts are intercepted too; without a CA their
		 * CONNECTs are refused (conn.c), which is no reason not to
		 * start. */
		if (p->secrets.n > 0)
			(void)intercept_get_ca(p);
		return 0;
	}
	return intercept_get_ca(p) != NULL ? 0 : -1;
}

int
intercept_has_ca(struct proxy *p)
{
	return intercept_get_ca(p) != NULL;
}

int
intercept_start(struct conn *c)
{
	struct ca *ca = intercept_get_ca(c->w->proxy);
	struct bufferevent *tls, *under = c->cbev;
	X509 *cert;
	EVP_PKEY *key;
	SSL *ssl;

	c->verdict.decision = DECISION_DENY;
	c->verdict.rule = "builtin:tls-intercept";
	if (ca == NULL) {
		c->verdict.reason = "interception has no CA";
		return -1;
	}
	if (ca_leaf(ca, c->tunnel_host, &cert, &key) != 0) {
		c->verdict.reason = "cannot make a certificate";
		return -1;
	}
	ssl = SSL_new(intercept_server_ctx);
	if (ssl == NULL || SSL_use_certificate(ssl, cert) != 1 ||
	    SSL_use_PrivateKey(ssl, key) != 1) {
		SSL_free(ssl);
		c->verdict.reason = "OpenSSL failed";
		return -1;
	}
	/* The ClientHello already sits in under's input: the filter reads it
	 * from there once triggered.  The filter writes into under's output,
	 * which under then flushes by itself (conn_client_flush() leaves a
	 * TLS client alone). */
	bufferevent_enable(under, EV_READ | EV_WRITE);
	tls = bufferevent_openssl_filter_new(c->w->base, under, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		c->verdict.reason = "OpenSSL failed";
		return -1;
	}
	c->verdict.decision = DECISION_ALLOW;
	c->verdict.rule = "tls.intercept";
	c->verdict.reason = "decided per request inside the tunnel";
	/* The CONNECT itself is recorded now; each request inside gets its
	 * own record. */
	conn_end_request(c);
	c->cbev = tls;
	c->is_intercept = 1;
	conn_client_attach(c);
	bufferevent_trigger(under, EV_READ,
	    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	return 0;
}

struct bufferevent *
intercept_upstream_bev(struct conn *c, int fd)
{
	X509_VERIFY_PARAM *param;
	unsigned char ip[16];
	struct bufferevent *bev;
	SSL *ssl;
	int is_ip = inet_pton(AF_INET, c->host, ip) == 1 ||
	    inet_pton(AF_INET6, c->host, ip) == 1;

	ssl = SSL_new(intercept_client_ctx);
	if (ssl == NULL)
		return NULL;
	param = SSL_get0_param(ssl);
	if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, c->host)
	           : X509_VERIFY_PARAM_set1_host(param, c->host, 0)) != 1 ||
	    (!is_ip && SSL_set_tlsext_host_name(ssl, c->host) != 1)) {
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(c->w->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	conn_tune_bev(bev);
	return bev;
}
