/*
 * cmd: the airlock command's subcommands.  Each lives in its own file
 * (cli/cmd_NAME.c) and takes the arguments after its name (argv[0] is the
 * subcommand's name).  Exit statuses: 0 success, 1 a negative answer
 * (verify failed, conflict, denied), 2 usage or configuration error, 3 an
 * operational error (cannot reach a daemon, I/O).
 */
#ifndef AIRLOCK_CLI_CMD_H
#define AIRLOCK_CLI_CMD_H

#define EXIT_NEGATIVE 1
#define EXIT_USAGE 2
#define EXIT_IO 3

struct cmd_entry {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_policy(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_pending(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_deny(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_discard(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_end(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_doctor(int argc, char **argv);

/* Nonzero when argv holds -h or --help before any "--". */
int cmd_wants_help(int argc, char **argv);

#endif
