# proxy/: airlock-proxy, the evented egress proxy.
sbin_PROGRAMS += proxy/airlock-proxy

# The pure parsers: no libevent, so unit tests and fuzzers link them alone.
PROXY_PARSE_SRC = proxy/http_parse.c proxy/http_parse.h \
	proxy/tls_peek.c proxy/tls_peek.h

proxy_airlock_proxy_SOURCES = $(PROXY_PARSE_SRC) \
	proxy/main.c proxy/proxy.c proxy/proxy.h proxy/listener.c \
	proxy/conn.c proxy/conn.h proxy/forward.c proxy/tunnel.c \
	proxy/tunnel.h proxy/pool.c proxy/pool.h proxy/resolve.c \
	proxy/hold.c proxy/hold.h proxy/lookup.c proxy/lookup.h \
	proxy/intercept.c proxy/ca.c proxy/ca.h
# credential sentinels: the secrets' values put back, or refused
proxy_airlock_proxy_SOURCES += proxy/sentinel.c proxy/sentinel.h
proxy_airlock_proxy_CFLAGS = $(AM_CFLAGS) $(EVENT_CFLAGS) $(OPENSSL_CFLAGS)
proxy_airlock_proxy_LDADD = $(AIRLOCK_LIBS) $(EVENT_LIBS)
