/*
 * ca: the session's interception CA and the leaf certificates it signs.
 *
 * The CA (an EC P-256 key and a self-signed certificate) lives in a
 * directory of the session, created on first use: ca.pem (0644, for the
 * agent's trust store) and ca.key (0600).  Leaves share one key made at
 * start and are cached per host for the life of the struct ca.  Files are
 * reached through the directory's fd only (openat, O_NOFOLLOW).
 *
 * All functions are thread-safe (one mutex guards the leaf cache).
 */
#ifndef AIRLOCK_PROXY_CA_H
#define AIRLOCK_PROXY_CA_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct ca;

/* Load the CA in dir, or create it (and dir, 0700) when absent.  Returns
 * NULL with a message in err on failure. */
struct ca *ca_open(const char *dir, char *err, size_t err_len);
void ca_free(struct ca *ca);

/* The leaf for host (a DNS name or an IP literal): borrowed pointers,
 * valid while ca lives.  Returns 0, or -1 when it cannot be made. */
int ca_leaf(struct ca *ca, const char *host, X509 **cert, EVP_PKEY **key);

/* The CA certificate (borrowed). */
X509 *ca_cert(struct ca *ca);

#endif
