/*
 * audit_verify: walk a whole audit file along its hash chain (the chain is
 * defined in audit_record.h) and name the first line that breaks it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_record.h"

/*
 * Lines are read with getline(), so a record of any length is checked; a
 * file holding a NUL byte is caught by the scanner (a control character
 * outside or inside a string).  On success *bad_line holds the number of
 * records, so that a caller can say how many verified.
 */
int
audit_verify_file(
    const char *path, uint64_t *bad_line, char *why, size_t why_len)
{
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	char prev[AUDIT_HASH_HEX + 1], hash[AUDIT_HASH_HEX + 1];
	uint64_t lineno = 0, seq = 0;
	int fd, saved_errno, rc = -1;

	if (why_len > 0)
		why[0] = '\0';
	*bad_line = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		goto out;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		goto out;
	}
	memcpy(prev, audit_hash_zero, sizeof(prev));
	errno = 0;
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (line[n - 1] != '\n') {
			*bad_line = lineno;
			snprintf(why, why_len,
			    "partial record at the end of the "
			    "file (no newline: a writer stopped mid-line)");
			rc = 1;
			goto out;
		}
		if (audit_record_check(line, (size_t)n - 1, prev, seq + 1, hash,
		        &seq, why, why_len) != 0) {
			*bad_line = lineno;
			rc = 1;
			goto out;
		}
		memcpy(prev, hash, sizeof(prev));
	}
	if (ferror(f))
		goto out;
	*bad_line = lineno;
	rc = 0;
out:
	saved_errno = errno;
	free(line);
	if (f != NULL)
		fclose(f);
	errno = saved_errno;
	return rc;
}
