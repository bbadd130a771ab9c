/* syslog.c: the ATNA exporter (see syslog.h). */
#include "pacsvault/net/syslog.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/fsutil.h"
#include "pacsvault/net/tls.h"
#include "pacsvault/svc/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
net_syslog_export(const char *dir, const struct net_syslog_cfg *cfg0, struct net_syslog_result *res,
    struct pv_diag *d)
{
	struct net_syslog_cfg cfg = *cfg0;
	char host[256];
	int rc;

	memset(res, 0, sizeof(*res));
	if (cfg.batch == 0)
		cfg.batch = 500;
	if (cfg.timeout_ms <= 0)
		cfg.timeout_ms = 10000;
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if ((rc = svc_syslog_cursor_read(dir, &res->next, d)) != 0)
		return rc;
	for (;;) {
		struct pv_buf frames;
		struct net_tls *t = NULL;
		uint64_t to = 0, skipped = 0;

		pv_buf_init(&frames, (size_t)1 << 31);
		if ((rc = svc_syslog_batch(dir, cfg.source_id, host, cfg.batch, res->next, &to, &frames, &skipped,
		    &res->size, d)) != 0) {
			pv_buf_free(&frames);
			return rc;
		}
		if (to == res->next) {
			pv_buf_free(&frames);
			return 0;   /* caught up */
		}
		if (frames.len > 0) {
			rc = net_tls_connect(cfg.host, cfg.port, cfg.ca, cfg.cert, cfg.key, cfg.timeout_ms, &t, d);
			if (rc == 0)
				rc = net_tls_write(t, frames.data, frames.len, d);
			if (rc == 0)
				rc = net_tls_close_confirmed(t, d);
			net_tls_free(t);
		}
		pv_buf_free(&frames);
		if (rc != 0)
			return rc;
		if ((rc = svc_syslog_cursor_write(dir, to, d)) != 0)
			return rc;
		res->sent += to - res->next - skipped;
		res->skipped += skipped;
		res->next = to;
	}
}
