/*
 * fuzz_otlp: libFuzzer target for the exporter's parsers and encoder
 * (common/otlp_http.c, common/otlp_encode.c).  The first byte picks what
 * the rest feeds:
 *   0  a collector's response head (network input)
 *   1  an endpoint URL (configuration)
 *   2  a header list, one "Name: value" a line (configuration)
 *   3  an audit event whose strings (op, target, rule, reason, reviewer,
 *      exe, cmdline, trace id, span id, and the audit line) are the
 *      NUL-separated pieces: the body must hold no raw control
 *      character.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/otlp.h"
#include "common/otlp_priv.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_PIECES 10

static void
fuzz_encode(char *text, size_t len, uint8_t sel)
{
	struct otlp_config cfg = { .endpoint = "http://127.0.0.1:1",
		.session_id = "s",
		.project = "/p" };
	const char *piece[N_PIECES] = { NULL };
	struct otlp_record rec;
	struct audit_event ev;
	struct caller c;
	struct buf b;
	size_t i, n = 0, off = 0;

	while (n < N_PIECES && off <= len) {
		piece[n++] = text + off;
		off += strlen(text + off) + 1;
	}
	memset(&c, 0, sizeof(c));
	c.pid = sel;
	str_copy(c.exe, piece[5] != NULL ? piece[5] : "", sizeof(c.exe));
	str_copy(
	    c.cmdline, piece[6] != NULL ? piece[6] : "", sizeof(c.cmdline));
	str_copy(
	    c.trace_id, piece[7] != NULL ? piece[7] : "", sizeof(c.trace_id));
	str_copy(
	    c.span_id, piece[8] != NULL ? piece[8] : "", sizeof(c.span_id));
	memset(&ev, 0, sizeof(ev));
	ev.component = (enum audit_component)(sel % 3);
	ev.op = piece[0];
	ev.target = piece[1];
	ev.decision = (enum decision)((sel >> 2) % 3);
	ev.outcome = (enum audit_outcome)((sel >> 4) % 4);
	ev.rule = piece[2];
	ev.reason = piece[3];
	ev.reviewer = piece[4];
	ev.caller = (sel & 0x80) ? NULL : &c;
	ev.duration_ms = (sel & 0x40) ? -1 : sel;
	rec.ev = &ev;
	rec.line = piece[9];
	rec.len = piece[9] != NULL ? strlen(piece[9]) : 0;
	rec.observed_ns = 1;

	buf_init(&b);
	otlp_encode_logs(&b, &cfg, &rec, 1);
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20)
			abort(); /* a raw control character: not JSON */
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otlp_http_result res;
	struct otlp_endpoint ep;
	char why[256], *text, *lines = NULL, **list = NULL, *p;
	size_t n = 0, i;

	if (size < 1)
		return 0;
	text = xmalloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		memset(&res, 0, sizeof(res));
		if (otlp_http_parse_head(text, &res) == 0 &&
		    (res.status < 100 || res.status > 599))
			abort();
		break;
	case 1:
		if (otlp_endpoint_parse(text, &ep, why, sizeof(why)) == 0) {
			/* What we print and send must be one clean line. */
			if (strpbrk(ep.path, " \r\n") != NULL ||
			    strpbrk(ep.authority, " \r\n@/") != NULL)
				abort();
			otlp_endpoint_free(&ep);
		}
		break;
	case 2:
		for (p = text; *p != '\0'; p++)
			n += *p == '\n';
		list = xcalloc(n + 2, sizeof(*list));
		for (i = 0, p = strtok(text, "\n"); p != NULL && i <= n;
		     p = strtok(NULL, "\n"))
			list[i++] = p;
		if (otlp_headers_format(list, &lines, why, sizeof(why)) == 0) {
			/* Every header line ends where we say it does. */
			for (p = lines; *p != '\0'; p++)
				if (*p == '\n' && (p == lines || p[-1] != '\r'))
					abort();
			free(lines);
		}
		free(list);
		break;
	default:
		fuzz_encode(text, size - 1, data[0]);
		break;
	}
	free(text);
	return 0;
}
