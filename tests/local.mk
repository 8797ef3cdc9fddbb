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
# stage_tool: builds a staging area without a mount, for the review tests
noinst_PROGRAMS += tests/helpers/stage_tool
tests_helpers_stage_tool_SOURCES = tests/helpers/stage_tool.c
tests_helpers_stage_tool_CFLAGS = $(UNIT_CFLAGS)
tests_helpers_stage_tool_LDADD = fs/libairlockfs.a $(AIRLOCK_LIBS)
