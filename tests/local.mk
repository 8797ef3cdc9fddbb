# tests/: unit tests (cmocka, `make check`), fuzz targets (--enable-fuzz).
# Integration tests are shell scripts under tests/integration, run by
# scripts/test (they need root, FUSE and network namespaces).
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(YAML_CFLAGS) $(XXHASH_CFLAGS) $(OPENSSL_CFLAGS)
UNIT_LIBS = $(AIRLOCK_LIBS) $(CMOCKA_LIBS)

EXTRA_DIST += tests/integration tests/fuzz/corpus

if ENABLE_FUZZ
FUZZ_LINK = -fsanitize=fuzzer,address,undefined
endif

# approval and ctl (common/approval.c, common/ctl.c)
check_PROGRAMS += tests/unit/test_approval tests/unit/test_ctl
TESTS += tests/unit/test_approval tests/unit/test_ctl
tests_unit_test_approval_SOURCES = tests/unit/test_approval.c
tests_unit_test_approval_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_approval_LDADD = $(UNIT_LIBS)
tests_unit_test_ctl_SOURCES = tests/unit/test_ctl.c
tests_unit_test_ctl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ctl_LDADD = $(UNIT_LIBS)

# tests/integration/test_approvals_cli.sh drives the CLI against this.
noinst_PROGRAMS += tests/helpers/hold_server
tests_helpers_hold_server_SOURCES = tests/helpers/hold_server.c
tests_helpers_hold_server_LDADD = $(AIRLOCK_LIBS)

# stage (fs/stage.c): the staging manifest
check_PROGRAMS += tests/unit/test_stage
TESTS += tests/unit/test_stage
tests_unit_test_stage_SOURCES = tests/unit/test_stage.c
tests_unit_test_stage_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_stage_LDADD = fs/libairlockfs.a $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test_review
TESTS += tests/unit/test_review
tests_unit_test_review_SOURCES = tests/unit/test_review.c
tests_unit_test_review_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_review_LDADD = fs/libairlockfs.a $(UNIT_LIBS)
# runs_later (fs/runs_later.c): which project files run later
check_PROGRAMS += tests/unit/test_runs_later
TESTS += tests/unit/test_runs_later
tests_unit_test_runs_later_SOURCES = tests/unit/test_runs_later.c
tests_unit_test_runs_later_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_runs_later_LDADD = fs/libairlockfs.a $(UNIT_LIBS)

# session_dir (cli/session_dir.c)
check_PROGRAMS += tests/unit/test_session_dir
TESTS += tests/unit/test_session_dir
tests_unit_test_session_dir_SOURCES = tests/unit/test_session_dir.c \
	cli/session_dir.c
tests_unit_test_session_dir_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/cli
tests_unit_test_session_dir_LDADD = fs/libairlockfs.a $(UNIT_LIBS)

# ctl_client (cli/ctl_client.c): the CLI's reader of held-action lists
check_PROGRAMS += tests/unit/test_ctl_client
TESTS += tests/unit/test_ctl_client
tests_unit_test_ctl_client_SOURCES = tests/unit/test_ctl_client.c \
	cli/ctl_client.c
tests_unit_test_ctl_client_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/cli
tests_unit_test_ctl_client_LDADD = $(UNIT_LIBS)
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_pending_list
tests_fuzz_fuzz_pending_list_SOURCES = tests/fuzz/fuzz_pending_list.c \
	cli/ctl_client.c
tests_fuzz_fuzz_pending_list_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_pending_list_LDADD = $(AIRLOCK_LIBS)
endif

# audit and caller (common/audit*.c, common/caller.c)
check_PROGRAMS += tests/unit/test_audit tests/unit/test_caller
TESTS += tests/unit/test_audit tests/unit/test_caller
tests_unit_test_audit_SOURCES = tests/unit/test_audit.c
tests_unit_test_audit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_audit_LDADD = $(UNIT_LIBS)
tests_unit_test_caller_SOURCES = tests/unit/test_caller.c
tests_unit_test_caller_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_caller_LDADD = $(UNIT_LIBS)
# tests/integration/test_audit_cli.sh writes its logs with this.
noinst_PROGRAMS += tests/helpers/audit_writer
tests_helpers_audit_writer_SOURCES = tests/helpers/audit_writer.c
tests_helpers_audit_writer_LDADD = $(AIRLOCK_LIBS)
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_audit_record
tests_fuzz_fuzz_audit_record_SOURCES = tests/fuzz/fuzz_audit_record.c
tests_fuzz_fuzz_audit_record_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_audit_record_LDADD = $(AIRLOCK_LIBS)
endif
# stage_tool: builds a staging area without a mount, for the review tests
noinst_PROGRAMS += tests/helpers/stage_tool
tests_helpers_stage_tool_SOURCES = tests/helpers/stage_tool.c
tests_helpers_stage_tool_CFLAGS = $(UNIT_CFLAGS)
tests_helpers_stage_tool_LDADD = fs/libairlockfs.a $(AIRLOCK_LIBS)

# policy (common/policy*.c): matchers, loader errors, evaluation, @registries
POLICY_TESTS = tests/unit/test_policy_glob tests/unit/test_policy_host \
	tests/unit/test_policy_load tests/unit/test_policy_eval \
	tests/unit/test_policy_registries tests/unit/test_policy_secrets
check_PROGRAMS += $(POLICY_TESTS)
TESTS += $(POLICY_TESTS)
tests_unit_test_policy_glob_SOURCES = tests/unit/test_policy_glob.c \
	tests/unit/glob_random.h
tests_unit_test_policy_glob_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_glob_LDADD = $(UNIT_LIBS)
tests_unit_test_policy_host_SOURCES = tests/unit/test_policy_host.c \
	tests/unit/policy_testenv.h
tests_unit_test_policy_host_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_host_LDADD = $(UNIT_LIBS)
tests_unit_test_policy_load_SOURCES = tests/unit/test_policy_load.c \
	tests/unit/policy_testenv.h
tests_unit_test_policy_load_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_load_LDADD = $(UNIT_LIBS)
tests_unit_test_policy_eval_SOURCES = tests/unit/test_policy_eval.c \
	tests/unit/policy_testenv.h
tests_unit_test_policy_eval_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_eval_LDADD = $(UNIT_LIBS)
tests_unit_test_policy_registries_SOURCES = tests/unit/test_policy_registries.c
tests_unit_test_policy_registries_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_registries_LDADD = $(UNIT_LIBS)
tests_unit_test_policy_secrets_SOURCES = tests/unit/test_policy_secrets.c
tests_unit_test_policy_secrets_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_secrets_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test_policy_below
TESTS += tests/unit/test_policy_below
tests_unit_test_policy_below_SOURCES = tests/unit/test_policy_below.c \
	tests/unit/policy_testenv.h tests/unit/glob_random.h
tests_unit_test_policy_below_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_below_LDADD = $(UNIT_LIBS)

# secret (common/secret.c): sentinels, masking, replacement
check_PROGRAMS += tests/unit/test_secret
TESTS += tests/unit/test_secret
tests_unit_test_secret_SOURCES = tests/unit/test_secret.c
tests_unit_test_secret_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_secret_LDADD = $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test_secret_scan
TESTS += tests/unit/test_secret_scan
tests_unit_test_secret_scan_SOURCES = tests/unit/test_secret_scan.c
tests_unit_test_secret_scan_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_secret_scan_LDADD = $(UNIT_LIBS)

# proxy parsers (proxy/http_parse.c, proxy/tls_peek.c): pure, no libevent
check_PROGRAMS += tests/unit/test_http_parse tests/unit/test_tls_peek
TESTS += tests/unit/test_http_parse tests/unit/test_tls_peek
tests_unit_test_http_parse_SOURCES = tests/unit/test_http_parse.c proxy/http_parse.c
tests_unit_test_http_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_http_parse_LDADD = $(UNIT_LIBS)
tests_unit_test_tls_peek_SOURCES = tests/unit/test_tls_peek.c proxy/tls_peek.c
tests_unit_test_tls_peek_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tls_peek_LDADD = $(UNIT_LIBS)

# libFuzzer targets: ./configure CC=clang --enable-fuzz
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_policy_load tests/fuzz/fuzz_glob
tests_fuzz_fuzz_policy_load_SOURCES = tests/fuzz/fuzz_policy_load.c
tests_fuzz_fuzz_policy_load_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_policy_load_LDADD = $(AIRLOCK_LIBS)
tests_fuzz_fuzz_glob_SOURCES = tests/fuzz/fuzz_glob.c
tests_fuzz_fuzz_glob_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_glob_LDADD = $(AIRLOCK_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_http_parse tests/fuzz/fuzz_tls_peek
tests_fuzz_fuzz_http_parse_SOURCES = tests/fuzz/fuzz_http_parse.c proxy/http_parse.c
tests_fuzz_fuzz_http_parse_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_tls_peek_SOURCES = tests/fuzz/fuzz_tls_peek.c proxy/tls_peek.c
tests_fuzz_fuzz_tls_peek_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
noinst_PROGRAMS += tests/fuzz/fuzz_secret_scan
tests_fuzz_fuzz_secret_scan_SOURCES = tests/fuzz/fuzz_secret_scan.c
tests_fuzz_fuzz_secret_scan_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_secret_scan_LDADD = $(AIRLOCK_LIBS)
endif

# otlp (common/otlp*.c): encoding, batching, retries, drops, loopback POSTs
check_PROGRAMS += tests/unit/test_otlp
TESTS += tests/unit/test_otlp
tests_unit_test_otlp_SOURCES = tests/unit/test_otlp.c
tests_unit_test_otlp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_otlp_LDADD = $(UNIT_LIBS)
# tests/integration/test_otlp_export.sh drives the exporter with this.
noinst_PROGRAMS += tests/helpers/otlp_emit
tests_helpers_otlp_emit_SOURCES = tests/helpers/otlp_emit.c
tests_helpers_otlp_emit_LDADD = $(AIRLOCK_LIBS)
EXTRA_DIST += tests/otlp-receiver/package.json \
	tests/otlp-receiver/package-lock.json tests/otlp-receiver/receiver.js
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_otlp
tests_fuzz_fuzz_otlp_SOURCES = tests/fuzz/fuzz_otlp.c
tests_fuzz_fuzz_otlp_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_otlp_LDADD = $(AIRLOCK_LIBS)
endif

# reviewer (common/reviewer*.c): the answer reader, command reviewers and
# the approvals' reviewer hook
check_PROGRAMS += tests/unit/test_reviewer
TESTS += tests/unit/test_reviewer
tests_unit_test_reviewer_SOURCES = tests/unit/test_reviewer.c
tests_unit_test_reviewer_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_reviewer_LDADD = $(UNIT_LIBS)
if ENABLE_FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_review_answer
tests_fuzz_fuzz_review_answer_SOURCES = tests/fuzz/fuzz_review_answer.c
tests_fuzz_fuzz_review_answer_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
tests_fuzz_fuzz_review_answer_LDADD = $(AIRLOCK_LIBS)
endif

# the room's rules outside the project (cli/mask.c, cli/env_filter.c)
check_PROGRAMS += tests/unit/test_room_rules
TESTS += tests/unit/test_room_rules
tests_unit_test_room_rules_SOURCES = tests/unit/test_room_rules.c \
	cli/mask.c cli/env_filter.c
tests_unit_test_room_rules_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_room_rules_LDADD = $(UNIT_LIBS)

# sandbox (common/sandbox.c): no_new_privs, capabilities, seccomp
check_PROGRAMS += tests/unit/test_sandbox
TESTS += tests/unit/test_sandbox
tests_unit_test_sandbox_SOURCES = tests/unit/test_sandbox.c
tests_unit_test_sandbox_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sandbox_LDADD = $(UNIT_LIBS)

# sockowner (common/sockowner.c): who is at the other end of a socket
check_PROGRAMS += tests/unit/test_sockowner
TESTS += tests/unit/test_sockowner
tests_unit_test_sockowner_SOURCES = tests/unit/test_sockowner.c
tests_unit_test_sockowner_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sockowner_LDADD = $(UNIT_LIBS)

# run_secrets (cli/run_secrets.c): the room's side of the policy's secrets
check_PROGRAMS += tests/unit/test_run_secrets
TESTS += tests/unit/test_run_secrets
tests_unit_test_run_secrets_SOURCES = tests/unit/test_run_secrets.c \
	cli/run_secrets.c cli/mask.c
tests_unit_test_run_secrets_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/cli
tests_unit_test_run_secrets_LDADD = $(UNIT_LIBS)
