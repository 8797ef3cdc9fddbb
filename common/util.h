/*
 * util: the few helpers every room uses.  Allocation wrappers abort on
 * out-of-memory: they are for places where recovery is meaningless (set-up,
 * the CLI); hot paths allocate nothing.
 */
#ifndef AIRLOCK_UTIL_H
#define AIRLOCK_UTIL_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
int xasprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write all of data to fd, retrying on EINTR and short writes.  Returns 0,
 * or -1 with errno. */
int fd_write_all(int fd, const void *data, size_t len);

/* Pass one descriptor over a unix socket (SCM_RIGHTS, with one byte of
 * data).  fd_send_rights returns 0 or -1 with errno; fd_recv_rights
 * returns the received descriptor (close-on-exec, the caller's to close),
 * or -1 with errno (ECONNRESET when the peer closed, EBADMSG when the
 * message held no descriptor). */
int fd_send_rights(int sock, int fd);
int fd_recv_rights(int sock);

/* The value of four hex digits at p (a JSON \uXXXX escape) into *out;
 * 0, or -1 when one is not a hex digit. */
int hex4_decode(const char *p, unsigned *out);

/* The UTF-8 bytes of code point cp (at most U+10FFFF; the caller has
 * refused surrogates) into u; returns how many (1 to 4). */
size_t utf8_encode(unsigned cp, char u[4]);

/* Copy with truncation; returns strlen(src) (truncated when >= size). */
size_t str_copy(char *dst, const char *src, size_t size);

/* A growable byte buffer for building JSON and text. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string (quotes included), escaping as RFC 8259 asks;
 * invalid UTF-8 bytes become U+FFFD. */
void buf_add_json_string(struct buf *b, const char *s);
/* NUL-terminate and hand the data over (caller frees); b is reset. */
char *buf_release(struct buf *b);

/* Monotonic and wall clocks in milliseconds / nanoseconds. */
unsigned long long time_mono_ms(void);
unsigned long long time_wall_ns(void);
/* RFC 3339 with nanoseconds, UTC: "2026-11-25T20:24:25.123456789Z". */
void time_format_rfc3339(unsigned long long wall_ns, char *out, size_t len);

#endif
