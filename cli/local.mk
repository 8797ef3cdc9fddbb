# cli/: the airlock command.  Each subcommand adds its file to its own line.
bin_PROGRAMS += cli/airlock

CLI_MAIN_SRC = cli/airlock.c cli/cmd.h
CLI_POLICY_SRC = cli/cmd_policy.c
CLI_AUDIT_SRC = cli/cmd_audit.c
CLI_APPROVAL_SRC = cli/cmd_approve.c cli/cmd_watch.c cli/ctl_client.c cli/ctl_client.h
CLI_REVIEW_SRC = cli/review.c cli/review.h cli/cmd_diff.c cli/cmd_commit.c \
	cli/cmd_discard.c
CLI_SESSION_SRC = cli/cmd_run.c cli/cmd_sessions.c cli/session_dir.c \
	cli/session_dir.h cli/room.c cli/room.h cli/mask.c cli/mask.h \
	cli/env_filter.c cli/env_filter.h cli/home_diff.c cli/home_diff.h

cli_airlock_SOURCES = $(CLI_MAIN_SRC) $(CLI_POLICY_SRC) $(CLI_AUDIT_SRC) \
	$(CLI_APPROVAL_SRC) $(CLI_REVIEW_SRC) $(CLI_SESSION_SRC)
cli_airlock_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cli
cli_airlock_LDADD = $(CLI_EXTRA_LIBS) $(AIRLOCK_LIBS)
# fs/local.mk sets CLI_EXTRA_LIBS to its staging library (diff, commit).

# doctor (cli/cmd_doctor.c): what this machine lacks
cli_airlock_SOURCES += cli/cmd_doctor.c

# the policy's secrets on the room's side (cli/run_secrets.c): sentinels
cli_airlock_SOURCES += cli/run_secrets.c cli/run_secrets.h
