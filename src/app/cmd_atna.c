/*
 * cmd_atna.c: `pacsvault ledger atna` (an entry as a DICOM audit message)
 * and `pacsvault ledger export` (the ATNA exporter, net/syslog.h).
 */
#include "app.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/ledger/atna.h"
#include "pacsvault/ledger/event.h"
#include "pacsvault/ledger/log.h"
#include "pacsvault/net/syslog.h"
#include "pacsvault/net/tls.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char atna_help[] =
"usage: pacsvault ledger atna [DIR] [--vault V] --index N [--source-id ID]\n"
"       pacsvault ledger export [DIR] [--vault V] --to HOST:PORT --ca CA.pem\n"
"                               [--cert CERT.pem --key KEY.pem] [--source-id ID]\n"
"                               [--batch N] [--follow SECONDS]\n"
"\n"
"atna: entry N of the ledger as a DICOM audit message (PS3.15 A.5.1 XML).\n"
"export: every audit event not yet delivered, in ledger order, as a DICOM\n"
"audit message in an RFC 5424 syslog message (facility authpriv, MSGID\n"
"DICOM+RFC3881) over TLS with RFC 5425 octet counting, to the collector\n"
"HOST:PORT whose certificate CA.pem signed (its name or IP address must\n"
"match); --cert/--key for mutual TLS. The ledger is the outbox: a batch\n"
"counts as delivered when the collector has closed the connection after\n"
"reading it (DIR/export.cursor then moves). While the collector is down\n"
"nothing is lost: the next export sends what accumulated, in order.\n"
"--follow S: export, then again every S seconds, until interrupted.\n"
"\n"
"Exit status: 0 all delivered, 1 the collector could not be reached or did\n"
"not confirm (nothing counted as delivered), 2 bad usage.\n";

static volatile sig_atomic_t stop_follow;

static void
on_signal(int sig)
{
	(void)sig;
	stop_follow = 1;
}

int
cmd_ledger_atna(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "index", required_argument, NULL, 'I' },
		{ "source-id", required_argument, NULL, 'S' },
		{ "to", required_argument, NULL, 'T' },
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "batch", required_argument, NULL, 'B' },
		{ "follow", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argv[0], *vault = NULL, *dir = NULL, *to = NULL;
	char ledger[PATH_MAX], hostbuf[256], *colon, *end;
	struct net_syslog_cfg cfg;
	long long index = -1;
	long follow = -1;
	struct pv_diag d;
	int c;

	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V': vault = optarg; break;
		case 'S': cfg.source_id = optarg; break;
		case 'T': to = optarg; break;
		case 'A': cfg.ca = optarg; break;
		case 'C': cfg.cert = optarg; break;
		case 'K': cfg.key = optarg; break;
		case 'I':
			index = strtoll(optarg, &end, 10);
			if (*end != '\0' || index < 0)
				return app_usage_error("ledger", "--index wants a number");
			break;
		case 'B':
			cfg.batch = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || cfg.batch == 0 || cfg.batch > 100000)
				return app_usage_error("ledger", "--batch wants 1 to 100000");
			break;
		case 'F':
			follow = strtol(optarg, &end, 10);
			if (*end != '\0' || follow < 1 || follow > 86400)
				return app_usage_error("ledger", "--follow wants 1 to 86400 seconds");
			break;
		case 'h':
			fputs(atna_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("ledger", "unknown option");
		}
	}
	if (argc - optind > 1 || (argc == optind && vault == NULL))
		return app_usage_error("ledger", "%s wants a ledger folder or --vault DIR", sub);
	if (argc > optind) {
		dir = argv[optind];
	} else {
		snprintf(ledger, sizeof(ledger), "%s/ledger", vault);
		dir = ledger;
	}
	if (gethostname(hostbuf, sizeof(hostbuf) - 1) != 0)
		snprintf(hostbuf, sizeof(hostbuf), "localhost");
	hostbuf[sizeof(hostbuf) - 1] = '\0';
	pv_diag_clear(&d);
	if (strcmp(sub, "atna") == 0) {
		struct lg_log *l = NULL;
		struct pv_buf entry, xml;
		struct lg_event e;
		char *scratch;
		int rc = PV_EXIT_OK;

		if (index < 0)
			return app_usage_error("ledger", "atna wants --index N");
		if ((scratch = malloc(LG_EVENT_SCRATCH(LG_ENTRY_MAX))) == NULL)
			return PV_EXIT_INTERNAL;
		pv_buf_init(&entry, LG_ENTRY_MAX + 16);
		pv_buf_init(&xml, (size_t)1 << 24);
		if (lg_log_open_wait(dir, 30000, &l, &d) != 0 || lg_log_entry(l, (uint64_t)index, &entry, &d) != 0) {
			app_report("ledger atna", dir, &d);
			rc = PV_EXIT_FAIL;
		} else if (lg_event_parse((const uint8_t *)entry.data, entry.len, &e, scratch, &d) != 0) {
			fprintf(stderr, "pacsvault: ledger atna: entry %lld is not an audit event: %s\n", index, d.msg);
			rc = PV_EXIT_FAIL;
		} else if (lg_atna_xml(&e, cfg.source_id != NULL ? cfg.source_id : hostbuf, &xml) != 0) {
			rc = PV_EXIT_INTERNAL;
		} else {
			printf("%s\n", xml.data);
		}
		lg_log_close(l);
		pv_buf_free(&entry);
		pv_buf_free(&xml);
		free(scratch);
		return rc;
	}
	/* export */
	if (to == NULL || cfg.ca == NULL)
		return app_usage_error("ledger", "export wants --to HOST:PORT and --ca CA.pem");
	if ((cfg.cert == NULL) != (cfg.key == NULL))
		return app_usage_error("ledger", "--cert and --key go together");
	snprintf(hostbuf, sizeof(hostbuf), "%s", to);
	if ((colon = strrchr(hostbuf, ':')) == NULL || colon == hostbuf || colon[1] == '\0')
		return app_usage_error("ledger", "--to is HOST:PORT");
	*colon = '\0';
	cfg.host = hostbuf[0] == '[' ? hostbuf + 1 : hostbuf;
	if (hostbuf[0] == '[' && colon[-1] == ']')
		colon[-1] = '\0';
	cfg.port = colon + 1;
	net_tls_load();  /* before anything is sent: a missing libssl stops the export here */
	if (follow > 0) {
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	for (;;) {
		struct net_syslog_result r;
		int rc;

		pv_diag_clear(&d);
		rc = net_syslog_export(dir, &cfg, &r, &d);
		if (rc != 0)
			fprintf(stderr, "pacsvault: ledger export: %s: %s (%llu sent; the rest waits in the ledger "
			    "from entry %llu)\n", to, d.msg, (unsigned long long)r.sent, (unsigned long long)r.next);
		else
			fprintf(stderr, "ledger export: %llu events sent to %s, %llu entries skipped (not audit "
			    "events); delivered up to entry %llu of %llu\n", (unsigned long long)r.sent, to,
			    (unsigned long long)r.skipped, (unsigned long long)r.next, (unsigned long long)r.size);
		if (follow <= 0)
			return rc == 0 ? PV_EXIT_OK : PV_EXIT_FAIL;
		for (long s = 0; s < follow && !stop_follow; s++)
			sleep(1);
		if (stop_follow)
			return PV_EXIT_OK;
	}
}
