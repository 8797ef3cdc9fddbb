# tests/: unit tests (cmocka, `make check`), fuzz targets (--enable-fuzz).
# Integration tests are shell scripts under tests/integration, run by
# scripts/test (they need root, FUSE and network namespaces).
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(YAML_CFLAGS) $(XXHASH_CFLAGS) $(OPENSSL_CFLAGS)
UNIT_LIBS = $(AIRLOCK_LIBS) $(CMOCKA_LIBS)

EXTRA_DIST += tests/integration tests/fuzz/corpus

if ENABLE_FUZZ
FUZZ_LINK = -fsanitize=fuzzer,address,undefined
endif
