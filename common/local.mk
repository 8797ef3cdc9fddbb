# common/: libairlock, the ground floor.  Each module keeps its own line.
noinst_LIBRARIES += common/libairlock.a

COMMON_UTIL_SRC = common/util.c common/util.h common/session.c common/session.h
COMMON_POLICY_SRC = common/policy.h common/policy_priv.h \
	common/policy_arena.c common/policy_arena.h common/policy_match.c \
	common/policy_match.h common/policy_load.c common/policy_eval.c \
	common/policy_cache.c common/policy_registries.c common/policy_show.c \
	common/policy_index.c common/policy_index.h
COMMON_AUDIT_SRC = common/audit.h common/caller.h common/audit.c common/audit_format.c \
	common/audit_record.c common/audit_record.h common/audit_verify.c common/caller.c
COMMON_APPROVAL_SRC = common/approval.c common/approval.h common/ctl.c common/ctl.h
COMMON_APPROVAL_SRC += common/reviewer.c common/reviewer.h common/reviewer_answer.c
COMMON_OTLP_SRC = common/otlp_attach.c common/otlp_attach.h common/otlp.c common/otlp.h common/otlp_priv.h \
	common/otlp_encode.c common/otlp_http.c

common_libairlock_a_SOURCES = $(COMMON_UTIL_SRC) $(COMMON_POLICY_SRC) \
	$(COMMON_AUDIT_SRC) $(COMMON_APPROVAL_SRC) $(COMMON_OTLP_SRC)
common_libairlock_a_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(XXHASH_CFLAGS) $(OPENSSL_CFLAGS)

# Everything that links libairlock needs these.
AIRLOCK_LIBS = common/libairlock.a $(YAML_LIBS) $(XXHASH_LIBS) $(OPENSSL_LIBS)

# sandbox (common/sandbox.c): no_new_privs, capabilities, seccomp
COMMON_SANDBOX_SRC = common/sandbox.c common/sandbox.h
common_libairlock_a_SOURCES += $(COMMON_SANDBOX_SRC)
common_libairlock_a_CFLAGS += $(SECCOMP_CFLAGS)
AIRLOCK_LIBS += $(SECCOMP_LIBS)

# secret (common/secret.c): sentinels for the policy's secrets
common_libairlock_a_SOURCES += common/secret.c common/secret.h
common_libairlock_a_SOURCES += common/secret_scan.c

# sockowner (common/sockowner.c): the process at the other end of a socket
common_libairlock_a_SOURCES += common/sockowner.c common/sockowner.h
