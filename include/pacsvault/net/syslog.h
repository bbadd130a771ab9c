/*
 * syslog.h: the ATNA exporter: every audit event of a ledger, in ledger
 * order, as a DICOM audit message in an RFC 5424 syslog message over
 * RFC 5425 TLS to one collector.
 *
 * The ledger is the durable outbox: a cursor file in the ledger's folder
 * (export.cursor: "pacsvault-export 1\nnext N\n", replaced atomically)
 * names the first entry not yet delivered. A batch is sent on one
 * connection, closed with close_notify, and counted as delivered only when
 * the collector closes its side after reading it; then the cursor moves.
 * A collector that is down, refuses, or breaks the connection leaves the
 * cursor where it was: the next export resends from there, in order, so
 * nothing produced while it was down is lost. A duplicate is possible only
 * when a collector read a batch and the confirmation was lost; each
 * message carries the ledger's origin and the entry's index in its
 * structured data ([ledger@32473 origin= index=]) to dedupe on.
 * Entries that are not audit events are skipped (and counted).
 */
#ifndef PV_NET_SYSLOG_H
#define PV_NET_SYSLOG_H
#include <stdint.h>
#include "pacsvault/base/err.h"

struct net_syslog_cfg {
	const char *host, *port;      /* the collector */
	const char *ca;               /* PEM CA file that signed its certificate */
	const char *cert, *key;       /* this sender's certificate and key (mutual TLS), or NULL */
	const char *source_id;        /* AuditSourceID; NULL: this host's name */
	unsigned batch;               /* events per connection (default 500) */
	int timeout_ms;               /* per read/write (default 10,000) */
};

struct net_syslog_result {
	uint64_t sent, skipped, next, size;
};

/* Sends every entry of the ledger in dir past the cursor. 0 when caught up. */
int net_syslog_export(const char *dir, const struct net_syslog_cfg *cfg, struct net_syslog_result *res,
    struct pv_diag *d) __attribute__((warn_unused_result));

#endif
