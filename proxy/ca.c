/*
 * ca: a per-session certificate authority for TLS interception.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "util.h"

#define CA_MAX_LEAVES 4096
#define CA_DAYS 30
#define LEAF_DAYS 7

struct ca_leaf {
	struct ca_leaf *next;
	char *host;
	X509 *cert;
};

struct ca {
	X509 *cert;
	EVP_PKEY *key;
	EVP_PKEY *leaf_key;
	pthread_mutex_t lock; /* guards leaves, n_leaves */
	struct ca_leaf *leaves;
	unsigned n_leaves;
};

static int
ca_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int r;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	r = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return r == 1 ? 0 : -1;
}

static int
ca_set_serial(X509 *cert)
{
	unsigned char raw[16];
	BIGNUM *bn;
	int r = -1;

	if (RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	raw[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(raw, sizeof raw, NULL);
	if (bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
		r = 0;
	BN_free(bn);
	return r;
}

/* A certificate skeleton: version 3, serial, validity, subject CN. */
static X509 *
ca_new_cert(const char *cn, EVP_PKEY *key, int days)
{
	X509 *cert = X509_new();
	X509_NAME *name;

	if (cert == NULL)
		return NULL;
	if (X509_set_version(cert, 2) != 1 || ca_set_serial(cert) != 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) ==
	        NULL ||
	    X509_set_pubkey(cert, key) != 1)
		goto fail;
	name = X509_get_subject_name(cert);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	        (const unsigned char *)"airlock", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	        (const unsigned char *)cn, -1, -1, 0) != 1)
		goto fail;
	return cert;
fail:
	X509_free(cert);
	return NULL;
}

static int
ca_create(struct ca *ca)
{
	ca->key = EVP_EC_gen("P-256");
	if (ca->key == NULL)
		return -1;
	ca->cert = ca_new_cert("airlock session CA", ca->key, CA_DAYS);
	if (ca->cert == NULL ||
	    X509_set_issuer_name(ca->cert, X509_get_subject_name(ca->cert)) !=
	        1 ||
	    ca_add_ext(ca->cert, ca->cert, NID_basic_constraints,
	        "critical,CA:TRUE,pathlen:0") != 0 ||
	    ca_add_ext(ca->cert, ca->cert, NID_key_usage,
	        "critical,keyCertSign,cRLSign") != 0 ||
	    ca_add_ext(
	        ca->cert, ca->cert, NID_subject_key_identifier, "hash") != 0 ||
	    X509_sign(ca->cert, ca->key, EVP_sha256()) == 0)
		return -1;
	return 0;
}

/* Write data through dirfd/name, created with mode (never following a
 * link, never replacing a file). */
static int
ca_write_file(
    int dirfd, const char *name, mode_t mode, X509 *cert, EVP_PKEY *key)
{
	FILE *f;
	int fd, ok;

	fd = openat(dirfd, name,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	ok = cert != NULL
	    ? PEM_write_X509(f, cert)
	    : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) != 0)
		ok = 0;
	return ok == 1 ? 0 : -1;
}

static FILE *
ca_open_file(int dirfd, const char *name)
{
	FILE *f;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (f == NULL)
		close(fd);
	return f;
}

static int
ca_load(struct ca *ca, int dirfd)
{
	FILE *f;

	f = ca_open_file(dirfd, "ca.pem");
	if (f == NULL)
		return -1;
	ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = ca_open_file(dirfd, "ca.key");
	if (f == NULL)
		return -1;
	ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca->cert == NULL || ca->key == NULL ||
	    X509_check_private_key(ca->cert, ca->key) != 1)
		return -1;
	return 0;
}

struct ca *
ca_open(const char *dir, char *err, size_t err_len)
{
	struct ca *ca = xcalloc(1, sizeof *ca);
	int dirfd = -1;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, err_len, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		snprintf(err, err_len, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (faccessat(dirfd, "ca.pem", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (ca_load(ca, dirfd) != 0) {
			snprintf(
			    err, err_len, "%s: cannot load ca.pem/ca.key", dir);
			goto fail;
		}
	} else if (ca_create(ca) != 0 ||
	    ca_write_file(dirfd, "ca.key", 0600, NULL, ca->key) != 0 ||
	    ca_write_file(dirfd, "ca.pem", 0644, ca->cert, NULL) != 0) {
		snprintf(err, err_len, "%s: cannot create the CA: %s", dir,
		    errno != 0 ? strerror(errno) : "OpenSSL");
		goto fail;
	}
	ca->leaf_key = EVP_EC_gen("P-256");
	if (ca->leaf_key == NULL) {
		snprintf(err, err_len, "cannot make the leaf key");
		goto fail;
	}
	pthread_mutex_init(&ca->lock, NULL);
	close(dirfd);
	return ca;
fail:
	if (dirfd >= 0)
		close(dirfd);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca);
	return NULL;
}

void
ca_free(struct ca *ca)
{
	struct ca_leaf *l, *next;

	if (ca == NULL)
		return;
	for (l = ca->leaves; l != NULL; l = next) {
		next = l->next;
		X509_free(l->cert);
		free(l->host);
		free(l);
	}
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	EVP_PKEY_free(ca->leaf_key);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}

X509 *
ca_cert(struct ca *ca)
{
	return ca->cert;
}

static X509 *
ca_make_leaf(struct ca *ca, const char *host)
{
	unsigned char ip[16];
	char san[300];
	X509 *cert;
	int is_ip = inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1;

	if (snprintf(san, sizeof san, "%s:%s", is_ip ? "IP" : "DNS", host) >=
	    (int)sizeof san)
		return NULL;
	cert = ca_new_cert(
	    strlen(host) < 64 ? host : "airlock leaf", ca->leaf_key, LEAF_DAYS);
	if (cert == NULL)
		return NULL;
	if (X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) != 1 ||
	    ca_add_ext(cert, ca->cert, NID_basic_constraints, "CA:FALSE") !=
	        0 ||
	    ca_add_ext(cert, ca->cert, NID_key_usage,
	        "critical,digitalSignature") != 0 ||
	    ca_add_ext(cert, ca->cert, NID_ext_key_usage, "serverAuth") != 0 ||
	    ca_add_ext(cert, ca->cert, NID_subject_alt_name, san) != 0 ||
	    ca_add_ext(cert, ca->cert, NID_authority_key_identifier,
	        "keyid:always") != 0 ||
	    X509_sign(cert, ca->key, EVP_sha256()) == 0) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

int
ca_leaf(struct ca *ca, const char *host, X509 **cert, EVP_PKEY **key)
{
	struct ca_leaf *l;
	X509 *made;
	int r = -1;

	pthread_mutex_lock(&ca->lock);
	for (l = ca->leaves; l != NULL; l = l->next)
		if (strcmp(l->host, host) == 0)
			break;
	if (l == NULL && ca->n_leaves < CA_MAX_LEAVES) {
		/* Signing takes well under a millisecond: done in place. */
		made = ca_make_leaf(ca, host);
		if (made != NULL) {
			l = xcalloc(1, sizeof *l);
			l->host = xstrdup(host);
			l->cert = made;
			l->next = ca->leaves;
			ca->leaves = l;
			ca->n_leaves++;
		}
	}
	if (l != NULL) {
		*cert = l->cert;
		*key = ca->leaf_key;
		r = 0;
	}
	pthread_mutex_unlock(&ca->lock);
	return r;
}
