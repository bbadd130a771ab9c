/*
 * cmd_serve.c: `pacsvault serve` (the configuration file, the refusal to
 * start unsafely, signals) and `pacsvault user` (docs/pacsvault.1).
 */
#include "app.h"
#include "pacsvault/base/ini.h"
#include "pacsvault/crypto/hash.h"
#include "pacsvault/crypto/passwd.h"
#include "pacsvault/net/server.h"
#include "pacsvault/net/syslog.h"
#include "pacsvault/net/tls.h"
#include "pacsvault/svc/svc.h"
#include "pacsvault/crypto/keyfile.h"
#include "pacsvault/svc/projects.h"
#include "pacsvault/svc/tokens.h"
#include "pacsvault/svc/users.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char serve_help[] =
"usage: pacsvault serve --config FILE [--vault DIR] [--master-key FILE] [--check]\n"
"\n"
"Runs the DICOM server on the vault in the foreground: DIMSE (PS3.7, PS3.8)\n"
"on every 'dimse' listener of the configuration, over TLS when tls_cert and\n"
"tls_key are set. One line per association and request goes to stderr\n"
"(never a patient value). SIGTERM or SIGINT stops it: no new association,\n"
"each one finishes the message in hand (an instance being stored is\n"
"acknowledged), then the server exits 0.\n"
"\n"
"Services: Verification; Storage for every storage SOP class (modality and\n"
"clinician users); Patient and Study Root C-FIND, C-GET and C-MOVE\n"
"(clinician and research: a research user only ever receives its project's\n"
"de-identified data, under pseudonymous UIDs); Storage Commitment, its\n"
"report sent to the requester, a configured peer. docs/CONFORMANCE.md.\n"
"\n"
"DICOMweb (PS3.18) on every 'http' listener, HTTPS with tls_cert and\n"
"tls_key, root /dicomweb: QIDO-RS (studies, series, instances: DICOM JSON)\n"
"and WADO-RS (a study, series or instance as multipart/related\n"
"application/dicom; metadata as DICOM JSON; bulk data; frames as stored)\n"
"and STOW-RS (POST multipart/related to /dicomweb/studies: stored as it\n"
"arrives, durable before the answer),\n"
"for requests carrying 'Authorization: Bearer TOKEN'\n"
"(see 'pacsvault token'): no token or a bad one is 401 and audited. The\n"
"roles are DIMSE's: a research token gets its project's de-identified data\n"
"only. With 'viewer = DIR' the files of DIR are served at / (no token).\n"
"\n"
"It refuses to start when a listener is not on loopback and TLS is off,\n"
"there are no users, or anonymous peers may connect, and says which.\n"
"\n"
"Peers authenticate by a client certificate pinned to a user, or by User\n"
"Identity Negotiation (user name and passcode); AE titles are only\n"
"labels. Each user's role decides what it may do (see 'pacsvault user').\n"
"\n"
"Configuration (INI; '#' or ';' comments; an unknown key is an error naming\n"
"its line; relative paths are relative to the file's folder):\n"
"  [server]\n"
"  ae_title = PACSVAULT            the called AE title this server answers to\n"
"  dimse = 127.0.0.1:11112         host:port, several comma-separated\n"
"  http = 127.0.0.1:8443           DICOMweb host:port, several comma-separated\n"
"  viewer = DIR                    static files served at / on http (a web viewer)\n"
"  http_timeout = 10               seconds for a request's head (and TLS handshake)\n"
"  cors_origin = https://viewer.example  the one web origin whose pages may call\n"
"                                  /dicomweb (CORS); none by default\n"
"  tls_cert = server.crt           PEM; with tls_key, TLS on every listener\n"
"  tls_key = server.key\n"
"  client_certificates = required  or optional (then a user name and passcode)\n"
"  anonymous = echo                or none: what a peer without credentials may\n"
"                                  do (echo: C-ECHO only; loopback only)\n"
"  max_associations = 64           open at once, and per peer address:\n"
"  max_associations_per_address = 16\n"
"  max_associations_per_user = 16\n"
"  max_pdu = 65536                 the largest P-DATA-TF accepted\n"
"  max_dataset = 2147483648        the largest data set of one C-STORE (bytes)\n"
"  idle_timeout = 60               seconds without a PDU before an abort\n"
"  artim_timeout = 30              seconds to the A-ASSOCIATE-RQ\n"
"  vault = DIR                     as --vault; master_key = FILE as --master-key\n"
"  [audit]                         the ATNA export (RFC 5425), run by serve:\n"
"  syslog = host:6514              the collector, over TLS\n"
"  ca = ca.crt                     verifies its certificate\n"
"  cert = c.crt / key = c.key      this sender's (mutual TLS), optional\n"
"  source_id = NAME                AuditSourceID (default: the host name)\n"
"  interval = 10                   seconds between rounds\n"
"  [peer \"WORKSTATION1\"]           a C-MOVE destination\n"
"  host = 127.0.0.1\n"
"  port = 11113\n"
"  tls = yes\n"
"  ca = ca.crt                     verifies the destination's certificate\n"
"  cert = client.crt               this server's certificate and key towards it\n"
"  key = client.key                (default: tls_cert and tls_key)\n"
"\n"
"Options:\n"
"  --config FILE   the configuration\n"
"  --check         read the configuration and the vault, say what is unsafe\n"
"                  or wrong, and exit\n"
"\n"
"Exit status: 0 stopped cleanly (or --check found nothing), 1 cannot start\n"
"(what and where is said), 2 bad usage.\n";

struct conf {
	struct net_server_cfg net;
	struct net_endpoint syslog;   /* [audit]: the ATNA collector (host empty: none) */
	char audit_ca[PATH_MAX], audit_cert[PATH_MAX], audit_key[PATH_MAX], source_id[65];
	unsigned audit_interval;
	char dir[PATH_MAX];        /* the configuration file's folder */
	char vault[PATH_MAX], master[PATH_MAX];
	const char *file;
	int in_peer;               /* the [peer] being read: index + 1 */
};

static int
path_in(const struct conf *c, const char *v, char *out, size_t n)
{
	if (v[0] == '/')
		return snprintf(out, n, "%s", v) >= (int)n;
	return snprintf(out, n, "%s/%s", c->dir, v) >= (int)n;
}

static int
parse_uint(const char *v, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (*v == '\0' || *v == '-')
		return -1;
	*out = strtoull(v, &end, 10);
	return errno != 0 || *end != '\0' || *out < lo || *out > hi ? -1 : 0;
}

static int
endpoint(const char *v, struct net_endpoint *e)
{
	const char *colon = strrchr(v, ':');
	const char *host = v;
	size_t hn;
	unsigned long long port;

	if (colon == NULL)
		return -1;
	hn = (size_t)(colon - v);
	if (hn >= 2 && v[0] == '[' && v[hn - 1] == ']') {
		host = v + 1;
		hn -= 2;
	}
	if (hn == 0 || hn >= sizeof(e->host) || parse_uint(colon + 1, 1, 65535, &port) != 0)
		return -1;
	memcpy(e->host, host, hn);
	e->host[hn] = '\0';
	snprintf(e->port, sizeof(e->port), "%llu", port);
	return 0;
}

static int
bad(struct pv_diag *d, const struct conf *c, unsigned line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
bad(struct pv_diag *d, const struct conf *c, unsigned line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pv_diag_set(d, PV_EINVAL, -1, "%s:%u: %s", c->file, line, msg);
}

static int
on_key(void *ctx, const char *section, const char *name, const char *key, const char *v, unsigned line,
    struct pv_diag *d)
{
	struct conf *c = ctx;
	struct net_server_cfg *n = &c->net;
	unsigned long long u;

	if (strcmp(section, "server") == 0 && name[0] == '\0') {
		if (strcmp(key, "ae_title") == 0) {
			if (v[0] == '\0' || strlen(v) > 16 || strchr(v, '\\') != NULL)
				return bad(d, c, line, "ae_title: 1 to 16 characters, no backslash");
			snprintf(n->ae_title, sizeof(n->ae_title), "%s", v);
		} else if (strcmp(key, "dimse") == 0) {
			char list[1024], *save = NULL, *tok;

			snprintf(list, sizeof(list), "%s", v);
			n->ndimse = 0;
			for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
				while (*tok == ' ' || *tok == '\t')
					tok++;
				for (size_t k = strlen(tok); k > 0 && (tok[k - 1] == ' ' || tok[k - 1] == '\t'); k--)
					tok[k - 1] = '\0';
				if (n->ndimse == NET_MAX_LISTEN)
					return bad(d, c, line, "dimse: at most 8 listeners");
				if (endpoint(tok, &n->dimse[n->ndimse++]) != 0)
					return bad(d, c, line, "dimse: '%s' is not host:port", tok);
			}
		} else if (strcmp(key, "http") == 0) {
			char list[1024], *save = NULL, *tok;

			snprintf(list, sizeof(list), "%s", v);
			n->nhttp = 0;
			for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
				while (*tok == ' ' || *tok == '\t')
					tok++;
				for (size_t k = strlen(tok); k > 0 && (tok[k - 1] == ' ' || tok[k - 1] == '\t'); k--)
					tok[k - 1] = '\0';
				if (n->nhttp == NET_MAX_LISTEN)
					return bad(d, c, line, "http: at most 8 listeners");
				if (endpoint(tok, &n->http[n->nhttp++]) != 0)
					return bad(d, c, line, "http: '%s' is not host:port", tok);
			}
		} else if (strcmp(key, "viewer") == 0) {
			if (path_in(c, v, n->viewer, sizeof(n->viewer)) != 0)
				return bad(d, c, line, "viewer: path too long");
		} else if (strcmp(key, "cors_origin") == 0) {
			/* scheme://host[:port], exactly as a browser sends Origin */
			const char *h = strncmp(v, "https://", 8) == 0 ? v + 8 : strncmp(v, "http://", 7) == 0 ? v + 7 : NULL;
			if (h == NULL || *h == '\0' || strlen(v) >= sizeof(n->cors_origin) ||
			    h[strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]")] != '\0')
				return bad(d, c, line, "cors_origin: one origin, scheme://host[:port] in lower case, no path");
			snprintf(n->cors_origin, sizeof(n->cors_origin), "%s", v);
		} else if (strcmp(key, "http_timeout") == 0) {
			if (parse_uint(v, 1, 3600, &u) != 0)
				return bad(d, c, line, "http_timeout: seconds from 1 to 3600");
			n->http_timeout_s = (int)u;
		} else if (strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0) {
			if (path_in(c, v, key[4] == 'c' ? n->tls_cert : n->tls_key, sizeof(n->tls_cert)) != 0)
				return bad(d, c, line, "%s: path too long", key);
		} else if (strcmp(key, "client_certificates") == 0) {
			if (strcmp(v, "required") != 0 && strcmp(v, "optional") != 0)
				return bad(d, c, line, "client_certificates: required or optional, not '%s'", v);
			n->client_cert_optional = v[0] == 'o';
		} else if (strcmp(key, "anonymous") == 0) {
			if (strcmp(v, "none") != 0 && strcmp(v, "echo") != 0)
				return bad(d, c, line, "anonymous: none or echo, not '%s'", v);
			n->anonymous = v[0] == 'e' ? NET_ANON_ECHO : NET_ANON_NONE;
		} else if (strcmp(key, "max_associations") == 0 || strcmp(key, "max_associations_per_address") == 0 ||
		    strcmp(key, "max_associations_per_user") == 0) {
			if (parse_uint(v, 1, 4096, &u) != 0)
				return bad(d, c, line, "%s: a number from 1 to 4096", key);
			if (key[16] == '\0')
				n->max_assoc = (unsigned)u;
			else if (key[21] == 'a')
				n->max_per_addr = (unsigned)u;
			else
				n->max_per_user = (unsigned)u;
		} else if (strcmp(key, "max_pdu") == 0) {
			if (parse_uint(v, 4096, (unsigned long long)1 << 24, &u) != 0)
				return bad(d, c, line, "max_pdu: a number from 4096 to 16777216");
			n->max_pdu = (uint32_t)u;
		} else if (strcmp(key, "max_dataset") == 0) {
			if (parse_uint(v, 1024, (unsigned long long)1 << 40, &u) != 0)
				return bad(d, c, line, "max_dataset: a number of bytes from 1024 to 2^40");
			n->max_dataset = u;
		} else if (strcmp(key, "idle_timeout") == 0 || strcmp(key, "artim_timeout") == 0) {
			if (parse_uint(v, 1, 86400, &u) != 0)
				return bad(d, c, line, "%s: seconds from 1 to 86400", key);
			if (key[0] == 'i')
				n->idle_timeout_s = (int)u;
			else
				n->artim_timeout_s = (int)u;
		} else if (strcmp(key, "vault") == 0 || strcmp(key, "master_key") == 0) {
			if (path_in(c, v, key[0] == 'v' ? c->vault : c->master, sizeof(c->vault)) != 0)
				return bad(d, c, line, "%s: path too long", key);
		} else {
			return bad(d, c, line, "unknown key '%s' in [server]", key);
		}
		return 0;
	}
	if (strcmp(section, "peer") == 0 && name[0] != '\0') {
		struct net_peer *p = NULL;

		for (size_t i = 0; i < n->npeers; i++)
			if (strcmp(n->peers[i].ae, name) == 0)
				p = &n->peers[i];
		if (p == NULL) {
			if (strlen(name) > 16)
				return bad(d, c, line, "peer \"%s\": an AE title is at most 16 characters", name);
			if (n->npeers == NET_MAX_PEERS)
				return bad(d, c, line, "at most 64 peers");
			p = &n->peers[n->npeers++];
			snprintf(p->ae, sizeof(p->ae), "%s", name);
		}
		if (strcmp(key, "host") == 0) {
			if (v[0] == '\0' || strlen(v) >= sizeof(p->at.host))
				return bad(d, c, line, "host: a host name or address");
			snprintf(p->at.host, sizeof(p->at.host), "%s", v);
		} else if (strcmp(key, "port") == 0) {
			if (parse_uint(v, 1, 65535, &u) != 0)
				return bad(d, c, line, "port: a number from 1 to 65535");
			snprintf(p->at.port, sizeof(p->at.port), "%llu", u);
		} else if (strcmp(key, "tls") == 0) {
			if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
				return bad(d, c, line, "tls: yes or no, not '%s'", v);
			p->tls = v[0] == 'y';
		} else if (strcmp(key, "ca") == 0 || strcmp(key, "cert") == 0 || strcmp(key, "key") == 0) {
			if (path_in(c, v, strcmp(key, "ca") == 0 ? p->ca : strcmp(key, "cert") == 0 ? p->cert : p->key,
			    sizeof(p->ca)) != 0)
				return bad(d, c, line, "%s: path too long", key);
		} else {
			return bad(d, c, line, "unknown key '%s' in a [peer]", key);
		}
		return 0;
	}
	if (strcmp(section, "audit") == 0 && name[0] == '\0') {
		if (strcmp(key, "syslog") == 0) {
			if (endpoint(v, &c->syslog) != 0)
				return bad(d, c, line, "syslog: '%s' is not host:port", v);
		} else if (strcmp(key, "ca") == 0 || strcmp(key, "cert") == 0 || strcmp(key, "key") == 0) {
			if (path_in(c, v, strcmp(key, "ca") == 0 ? c->audit_ca : strcmp(key, "cert") == 0 ? c->audit_cert :
			    c->audit_key, sizeof(c->audit_ca)) != 0)
				return bad(d, c, line, "%s: path too long", key);
		} else if (strcmp(key, "source_id") == 0) {
			if (v[0] == '\0' || strlen(v) >= sizeof(c->source_id))
				return bad(d, c, line, "source_id: 1 to 64 characters");
			snprintf(c->source_id, sizeof(c->source_id), "%s", v);
		} else if (strcmp(key, "interval") == 0) {
			if (parse_uint(v, 1, 86400, &u) != 0)
				return bad(d, c, line, "interval: seconds from 1 to 86400");
			c->audit_interval = (unsigned)u;
		} else {
			return bad(d, c, line, "unknown key '%s' in [audit]", key);
		}
		return 0;
	}
	return bad(d, c, line, "unknown section [%s] (there are [server], [peer \"AE\"] and [audit])", section);
}

static int
read_conf(const char *file, struct conf *c, struct pv_diag *d)
{
	char tmp[PATH_MAX], *dir;
	int rc;

	memset(c, 0, sizeof(*c));
	net_server_cfg_init(&c->net);
	c->file = file;
	snprintf(tmp, sizeof(tmp), "%s", file);
	dir = dirname(tmp);
	if (realpath(dir, c->dir) == NULL)
		snprintf(c->dir, sizeof(c->dir), "%s", dir);
	c->audit_interval = 10;
	if ((rc = pv_ini_parse_file(file, on_key, c, d)) != 0)
		return rc;
	if (c->syslog.host[0] != '\0' && c->audit_ca[0] == '\0')
		return pv_diag_set(d, PV_EINVAL, -1, "%s: [audit] syslog needs ca (the collector's certificate is verified)",
		    file);
	if (c->net.ndimse == 0 && c->net.nhttp == 0)
		return pv_diag_set(d, PV_EINVAL, -1, "%s: no listener: set dimse = HOST:PORT (or http = HOST:PORT) in "
		    "[server]", file);
	if (c->net.viewer[0] != '\0') {
		struct stat vst;
		if (stat(c->net.viewer, &vst) != 0 || !S_ISDIR(vst.st_mode))
			return pv_diag_set(d, PV_EINVAL, -1, "%s: viewer: %s is not a folder", file, c->net.viewer);
	}
	if ((c->net.tls_cert[0] != '\0') != (c->net.tls_key[0] != '\0'))
		return pv_diag_set(d, PV_EINVAL, -1, "%s: tls_cert and tls_key go together", file);
	for (size_t i = 0; i < c->net.npeers; i++) {
		const struct net_peer *p = &c->net.peers[i];

		if (p->at.host[0] == '\0' || p->at.port[0] == '\0')
			return pv_diag_set(d, PV_EINVAL, -1, "%s: peer \"%s\" needs host and port", file, p->ae);
		if (!p->tls && !net_host_is_loopback(p->at.host))
			return pv_diag_set(d, PV_EINVAL, -1, "%s: peer \"%s\" is not on loopback and has tls = no: "
			    "instances would leave in clear", file, p->ae);
		if (p->tls && p->ca[0] == '\0')
			return pv_diag_set(d, PV_EINVAL, -1, "%s: peer \"%s\" has tls = yes without ca (its certificate "
			    "could not be verified)", file, p->ae);
	}
	return 0;
}

/* The vault of serve and doctor: the environment's, then the configuration's, then the command line's. */
static void
vault_of(const struct conf *c, const char *vdir, const char *mk, struct vopts *o)
{
	vopts_default(o);
	if (c != NULL && c->vault[0] != '\0')
		o->dir = c->vault;
	if (c != NULL && c->master[0] != '\0')
		o->master = c->master;
	if (vdir != NULL)
		o->dir = vdir;
	if (mk != NULL)
		o->master = mk;
}

static volatile sig_atomic_t stop_flag;

/* The ATNA export beside the server: every interval, what the ledger holds past the collector's cursor. */
struct exporter {
	const struct conf *c;
	char ledger[PATH_MAX + 8];
};

static void *
export_loop(void *arg)
{
	struct exporter *x = arg;
	struct net_syslog_cfg cfg;
	int failing = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.host = x->c->syslog.host;
	cfg.port = x->c->syslog.port;
	cfg.ca = x->c->audit_ca;
	cfg.cert = x->c->audit_cert[0] ? x->c->audit_cert : NULL;
	cfg.key = x->c->audit_key[0] ? x->c->audit_key : NULL;
	cfg.source_id = x->c->source_id[0] ? x->c->source_id : NULL;
	for (;;) {
		struct net_syslog_result r;
		struct pv_diag d;
		int last = stop_flag;

		pv_diag_clear(&d);
		if (net_syslog_export(x->ledger, &cfg, &r, &d) != 0) {
			if (!failing)
				fprintf(stderr, "pacsvault serve: audit export to %s:%s: %s (the events wait in the ledger)\n",
				    cfg.host, cfg.port, d.msg);
			failing = 1;
		} else if (failing) {
			fprintf(stderr, "pacsvault serve: audit export to %s:%s: caught up\n", cfg.host, cfg.port);
			failing = 0;
		}
		if (last)
			return NULL;   /* one last round after the stop: the server's final events go too */
		for (unsigned i = 0; i < x->c->audit_interval * 10 && !stop_flag; i++)
			usleep(100000);
	}
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int
cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "check", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *vdir = NULL, *mk = NULL;
	struct conf *c;
	struct vopts o;
	struct svc *s = NULL;
	struct pv_diag d;
	struct sigaction sa;
	char why[2048];
	int ch, check = 0, rc;
	size_t nusers;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'V': vdir = optarg; break;
		case 'M': mk = optarg; break;
		case 'K': check = 1; break;
		case 'h':
			fputs(serve_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("serve", "unknown option");
		}
	}
	if (file == NULL || optind != argc)
		return app_usage_error("serve", "--config FILE (and nothing else)");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PV_EXIT_INTERNAL;
	pv_diag_clear(&d);
	if (read_conf(file, c, &d) != 0) {
		fprintf(stderr, "pacsvault: serve: %s\n", d.msg);
		free(c);
		return PV_EXIT_FAIL;
	}
	vault_of(c, vdir, mk, &o);
	if (open_svc("serve", &o, VAULT_WRITE, &s) != PV_EXIT_OK) {
		free(c);
		return PV_EXIT_FAIL;
	}
	nusers = svc_user_count(s);
	{
		size_t np = 0;

		pv_diag_clear(&d);
		if (svc_projects_load(s, &np, &d) != 0) {
			fprintf(stderr, "pacsvault: serve: the projects: %s\n", d.msg);
			svc_close(s);
			free(c);
			return PV_EXIT_FAIL;
		}
		if (!check)
			fprintf(stderr, "pacsvault serve: %zu users, %zu de-identification projects\n", nusers, np);
	}
	if (net_server_unsafe(&c->net, nusers, why, sizeof(why))) {
		fprintf(stderr, "pacsvault: serve: refusing to start:\n%s", why);
		svc_close(s);
		free(c);
		return PV_EXIT_FAIL;
	}
	if (c->net.tls_cert[0] != '\0') {
		struct net_tls_server *t = NULL;

		net_tls_load();
		if (net_tls_server_new(c->net.tls_cert, c->net.tls_key, 1, &t, &d) != 0) {
			fprintf(stderr, "pacsvault: serve: %s\n", d.msg);
			svc_close(s);
			free(c);
			return PV_EXIT_FAIL;
		}
		net_tls_server_free(t);
	}
	if (check) {
		printf("%s: %zu listener%s, TLS %s, %zu users, %zu peers: can start\n", file, c->net.ndimse,
		    c->net.ndimse == 1 ? "" : "s", c->net.tls_cert[0] ? "on" : "off (loopback only)", nusers,
		    c->net.npeers);
		svc_close(s);
		free(c);
		return PV_EXIT_OK;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	{
		struct exporter x;
		pthread_t th;
		int exporting = 0;

		if (c->syslog.host[0] != '\0') {
			x.c = c;
			snprintf(x.ledger, sizeof(x.ledger), "%s/ledger", o.dir);
			net_tls_load();
			exporting = pthread_create(&th, NULL, export_loop, &x) == 0;
		}
		pv_diag_clear(&d);
		rc = net_server_run(s, &c->net, &stop_flag, &d);
		stop_flag = 1;
		if (exporting)
			pthread_join(th, NULL);
	}
	if (rc != 0)
		fprintf(stderr, "pacsvault: serve: %s\n", d.msg);
	else
		fprintf(stderr, "pacsvault serve: stopped\n");
	svc_close(s);
	free(c);
	return rc == 0 ? PV_EXIT_OK : PV_EXIT_FAIL;
}

/* ---- user ---- */

static const char user_help[] =
"usage: pacsvault user add NAME --role ROLE [--cert FILE.pem] [--project NAME]\n"
"                          [--ae TITLE[,TITLE...]] [--password-stdin]\n"
"       pacsvault user list [--json]\n"
"       pacsvault user rm NAME\n"
"       pacsvault user passwd NAME        (the new secret from standard input)\n"
"\n"
"The users of 'pacsvault serve', kept in the vault sealed under its master\n"
"key (users.pvo). ROLE is one of:\n"
"  modality    C-ECHO and C-STORE\n"
"  clinician   store, query and retrieve identified data\n"
"  research    query and retrieve, only ever de-identified by its --project\n"
"  auditor     the audit trail only\n"
"  admin       users, projects, configuration\n"
"A user authenticates with a TLS client certificate (--cert: pinned by the\n"
"SHA-256 of its public key) or with a secret (User Identity Negotiation,\n"
"user name and passcode), read from standard input with --password-stdin,\n"
"or when there is no --cert (one line; on a terminal, not echoed). The\n"
"secret is stored as scrypt (N=2^15, r=8, p=1), never in clear. --ae lists\n"
"the calling AE titles the user may use (default: any); AE titles are\n"
"checked after authentication and never authenticate. Every change is an\n"
"event in the audit trail; no secret is ever printed or logged.\n"
"\n"
"Exit status: 0 done, 1 failed (an existing or unknown user...), 2 bad usage.\n";

/* One line from standard input (not echoed on a terminal), without its newline. */
static int
read_secret(char *buf, size_t n)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), ok;
	size_t len;

	if (tty) {
		fprintf(stderr, "secret: ");
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else {
			tty = 0;
		}
	}
	ok = fgets(buf, (int)n, stdin) != NULL;
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return len == 0 ? -1 : 0;
}

/* s as a JSON string (quoted, escaped) on standard output; NULL as null. */
static void
put_json_str(const char *s)
{
	if (s == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (const char *p = s; *p; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	putchar('"');
}

static int
list_one(void *ctx, const struct svc_user *u)
{
	int json = *(int *)ctx;

	if (json) {
		printf("%s{\"name\":", json > 1 ? "," : "");
		put_json_str(u->name);
		printf(",\"role\":\"%s\",\"project\":", svc_role_name(u->role));
		put_json_str(u->project[0] ? u->project : NULL);
		printf(",\"certificate_pin\":");
		put_json_str(u->pin[0] ? u->pin : NULL);
		printf(",\"secret\":%s,\"ae_titles\":", u->secret[0] ? "true" : "false");
		put_json_str(u->aes);
		putchar('}');
	}
	else
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", u->name, svc_role_name(u->role), u->project[0] ? u->project : "-",
		    u->pin[0] ? u->pin : "-", u->secret[0] ? "secret" : "-", u->aes[0] ? u->aes : "any-ae");
	if (json)
		*(int *)ctx = 2;
	return 0;
}

int
cmd_user(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "role", required_argument, NULL, 'r' },
		{ "cert", required_argument, NULL, 'C' },
		{ "project", required_argument, NULL, 'p' },
		{ "ae", required_argument, NULL, 'a' },
		{ "password-stdin", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *role = NULL, *cert = NULL, *project = NULL, *aes = NULL;
	struct vopts o;
	struct svc *s = NULL;
	struct pv_diag d;
	char secret[1024];
	int ch, pw_stdin = 0, json = 0, rc = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(user_help, argc < 2 ? stderr : stdout);
		fputs(app_vault_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? PV_EXIT_USAGE : PV_EXIT_OK;
	}
	sub = argv[1];
	vopts_default(&o);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'r': role = optarg; break;
		case 'C': cert = optarg; break;
		case 'p': project = optarg; break;
		case 'a': aes = optarg; break;
		case 'P': pw_stdin = 1; break;
		case 'J': json = 1; break;
		case 'h':
			fputs(user_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("user", "unknown option");
		}
	}
	pv_diag_clear(&d);
	if (strcmp(sub, "add") == 0) {
		struct svc_user u;
		int have_secret = 0;

		if (argc - optind != 1 || role == NULL)
			return app_usage_error("user add", "NAME --role ROLE");
		memset(&u, 0, sizeof(u));
		if (!svc_name_valid(argv[optind]))
			return app_usage_error("user add", "a user name is 1 to 64 letters, digits, '.', '_', '-' or '@'");
		snprintf(u.name, sizeof(u.name), "%s", argv[optind]);
		if ((u.role = svc_role_parse(role)) < 0)
			return app_usage_error("user add", "--role is modality, clinician, research, auditor or admin");
		if ((u.role == SVC_RESEARCH) != (project != NULL))
			return app_usage_error("user add", u.role == SVC_RESEARCH ? "a research user needs --project NAME" :
			    "--project goes with --role research");
		if (project != NULL)
			snprintf(u.project, sizeof(u.project), "%s", project);
		if (aes != NULL && strlen(aes) >= sizeof(u.aes))
			return app_usage_error("user add", "--ae: too long");
		if (aes != NULL)
			snprintf(u.aes, sizeof(u.aes), "%s", aes);
		if (cert != NULL && pv_cert_pin_file(cert, u.pin, &d) != 0) {
			app_report("user add", cert, &d);
			return PV_EXIT_FAIL;
		}
		if (pw_stdin || cert == NULL) {
			if (read_secret(secret, sizeof(secret)) != 0) {
				fprintf(stderr, "pacsvault: user add: no secret on standard input\n");
				return PV_EXIT_FAIL;
			}
			have_secret = 1;
		}
		if (open_svc("user add", &o, VAULT_READ, &s) != PV_EXIT_OK)
			return PV_EXIT_FAIL;
		rc = svc_user_add(s, app_principal("pacsvault user add"), &u, have_secret ? secret : NULL,
		    have_secret ? strlen(secret) : 0, &d);
		pv_cleanse(secret, sizeof(secret));
		if (rc == 0)
			fprintf(stderr, "pacsvault: user add: %s (%s)%s%s\n", u.name, role, u.pin[0] ? ", certificate " : "",
			    u.pin);
	} else if (strcmp(sub, "rm") == 0 || strcmp(sub, "passwd") == 0) {
		if (argc - optind != 1)
			return app_usage_error(sub[0] == 'r' ? "user rm" : "user passwd", "one NAME");
		if (sub[0] == 'p' && read_secret(secret, sizeof(secret)) != 0) {
			fprintf(stderr, "pacsvault: user passwd: no secret on standard input\n");
			return PV_EXIT_FAIL;
		}
		if (open_svc(sub[0] == 'r' ? "user rm" : "user passwd", &o, VAULT_READ, &s) != PV_EXIT_OK)
			return PV_EXIT_FAIL;
		if (sub[0] == 'r')
			rc = svc_user_rm(s, app_principal("pacsvault user rm"), argv[optind], &d);
		else
			rc = svc_user_passwd(s, app_principal("pacsvault user passwd"), argv[optind], secret, strlen(secret),
			    &d);
		pv_cleanse(secret, sizeof(secret));
	} else if (strcmp(sub, "list") == 0) {
		if (argc != optind)
			return app_usage_error("user list", "no arguments");
		if (open_svc("user list", &o, VAULT_READ, &s) != PV_EXIT_OK)
			return PV_EXIT_FAIL;
		if (json)
			putchar('[');
		rc = svc_user_list(s, app_principal("pacsvault user list"), list_one, &json, &d);
		if (json)
			puts("]");
	} else {
		return app_usage_error("user", "add, list, rm or passwd");
	}
	svc_close(s);
	if (rc != 0) {
		char where[96];

		snprintf(where, sizeof(where), "user %s", sub);
		app_report(where, NULL, &d);
		return PV_EXIT_FAIL;
	}
	return PV_EXIT_OK;
}

/* ---- project ---- */

static const char project_help[] =
"usage: pacsvault project add NAME --key FILE [--retain-* | --clean-* options]\n"
"                             [--clean-pixel-data] [--no-ocr]\n"
"       pacsvault project list\n"
"\n"
"De-identification projects for research users (user add --role research\n"
"--project NAME): whatever such a user queries or retrieves comes through\n"
"the project's de-identification (the engine of 'pacsvault deid', with the\n"
"PS3.15 options given here and the project key FILE), and the UIDs it sees\n"
"are the project's pseudonyms. Kept in the vault sealed under its master key\n"
"(projects.pvo); a running server loads them when it starts. The options\n"
"are those of 'pacsvault deid' (see its --help): --retain-safe-private,\n"
"--retain-uids, --retain-device-identity, --retain-institution-identity,\n"
"--retain-patient-characteristics, --retain-full-dates,\n"
"--retain-modified-dates, --clean-descriptors, --clean-structured-content,\n"
"--clean-graphics, --clean-pixel-data, --no-ocr.\n"
"\n"
"Exit status: 0 done, 1 failed (an existing project, a bad key...), 2 bad usage.\n";

static int
project_print(void *ctx, const char *name, unsigned opts, int clean)
{
	(void)ctx;
	printf("%s\toptions 0x%x\t%s\n", name, opts, clean ? "pixels cleaned" : "pixels as stored");
	return 0;
}

int
cmd_project(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "key", required_argument, NULL, 'k' },
		{ "clean-pixel-data", no_argument, NULL, 'X' },
		{ "no-ocr", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		APP_DEID_PROFILE_OPTIONS
		{ NULL, 0, NULL, 0 },
	};
	struct svc_project pj;
	const char *keyfile = NULL;
	struct vopts o;
	struct svc *s = NULL;
	struct pv_diag d;
	int ch, rc;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(project_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? PV_EXIT_USAGE : PV_EXIT_OK;
	}
	memset(&pj, 0, sizeof(pj));
	vopts_default(&o);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch >= 1000 && ch < 1000 + DEID_OPT_COUNT) {
			pj.cfg.opts |= DEID_OPT_BIT(ch - 1000);
			continue;
		}
		switch (ch) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'X': pj.clean_pixels = 1; break;
		case 'W': pj.no_ocr = 1; break;
		case 'h':
			fputs(project_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("project", "unknown option");
		}
	}
	pv_diag_clear(&d);
	if (strcmp(argv[1], "list") == 0) {
		if (argc != optind)
			return app_usage_error("project list", "no arguments");
		if (open_svc("project list", &o, VAULT_READ, &s) != PV_EXIT_OK)
			return PV_EXIT_FAIL;
		rc = svc_project_names(s, project_print, NULL, &d);
	} else if (strcmp(argv[1], "add") == 0) {
		struct pv_key key;

		if (argc - optind != 1 || keyfile == NULL)
			return app_usage_error("project add", "NAME --key FILE");
		if ((pj.cfg.opts & DEID_OPT_BIT(DEID_OPT_FULL_DATES)) && (pj.cfg.opts & DEID_OPT_BIT(DEID_OPT_MODIFIED_DATES)))
			return app_usage_error("project add", "--retain-full-dates and --retain-modified-dates exclude "
			    "each other");
		if (pv_key_read(keyfile, PV_KEY_PROJECT, &key, &d) != 0) {
			app_report("project add", keyfile, &d);
			return PV_EXIT_FAIL;
		}
		memcpy(pj.cfg.key, key.key, sizeof(pj.cfg.key));
		pv_key_clear(&key);
		pj.name = argv[optind];
		if (open_svc("project add", &o, VAULT_READ, &s) != PV_EXIT_OK) {
			pv_cleanse(&pj, sizeof(pj));
			return PV_EXIT_FAIL;
		}
		rc = svc_project_store(s, app_principal("pacsvault project add"), &pj, &d);
		pv_cleanse(&pj, sizeof(pj));
		if (rc == 0)
			fprintf(stderr, "pacsvault: project add: %s\n", argv[optind]);
	} else {
		return app_usage_error("project", "add or list");
	}
	svc_close(s);
	if (rc != 0) {
		app_report("project", NULL, &d);
		return PV_EXIT_FAIL;
	}
	return PV_EXIT_OK;
}

/* ---- doctor ---- */

static const char doctor_help[] =
"usage: pacsvault doctor [--config FILE] [--vault DIR] [--master-key FILE] [--json]\n"
"\n"
"Reads the configuration (when given) and the vault and says, item by item,\n"
"what is unsafe or wrong, and what is fine: listeners off loopback without\n"
"TLS or users, anonymous access, the TLS versions, the server certificate's\n"
"expiry (30 days ahead), key files that others can read, users without a\n"
"certificate, research users without their project, the master key kept\n"
"inside the vault, no checkpoint copy outside it, no audit export. Each line\n"
"starts with ok, note or UNSAFE.\n"
"\n"
"Exit status: 0 nothing unsafe, 1 something unsafe (or the vault or the\n"
"configuration cannot be read), 2 bad usage.\n";

struct doc {
	int json, unsafe, first;
};

static void
say(struct doc *dc, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(struct doc *dc, const char *level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(level, "UNSAFE") == 0)
		dc->unsafe++;
	if (dc->json) {
		printf("%s{\"level\":\"%s\",\"what\":", dc->first ? "" : ",", level);
		put_json_str(msg);
		putchar('}');
		dc->first = 0;
	} else {
		printf("%-6s %s\n", level, msg);
	}
}

static void
key_mode(struct doc *dc, const char *what, const char *path)
{
	struct stat st;

	if (path == NULL || path[0] == '\0')
		return;
	if (stat(path, &st) != 0)
		say(dc, "UNSAFE", "%s %s cannot be read: %s", what, path, strerror(errno));
	else if (st.st_mode & 077)
		say(dc, "UNSAFE", "%s %s is readable or writable by others (mode %03o): chmod 600", what, path,
		    (unsigned)(st.st_mode & 0777));
	else
		say(dc, "ok", "%s %s is the owner's only (mode %03o)", what, path, (unsigned)(st.st_mode & 0777));
}

static void
cert_check(struct doc *dc, const char *what, const char *path)
{
	struct pv_diag d;
	int state;

	pv_diag_clear(&d);
	if (pv_cert_expiry(path, 30, &state, &d) != 0)
		say(dc, "UNSAFE", "%s: %s", what, d.msg);
	else if (state == 2)
		say(dc, "UNSAFE", "%s %s has expired (or is not valid yet)", what, path);
	else if (state == 1)
		say(dc, "UNSAFE", "%s %s expires within 30 days", what, path);
	else
		say(dc, "ok", "%s %s is valid for more than 30 days", what, path);
}

struct user_scan {
	struct doc *dc;
	struct svc *s;
	int off_loopback, optional;
	size_t n, no_cert;
};

static int
project_exists(void *ctx, const char *name, unsigned opts, int clean)
{
	(void)opts;
	(void)clean;
	if (strcmp(name, (const char *)((void **)ctx)[0]) == 0)
		((void **)ctx)[1] = (void *)1;
	return 0;
}

static int
user_scan_one(void *ctx, const struct svc_user *u)
{
	struct user_scan *x = ctx;

	x->n++;
	if (u->pin[0] == '\0') {
		x->no_cert++;
		say(x->dc, x->off_loopback ? "UNSAFE" : "note", "user %s (%s) has no certificate: it authenticates by "
		    "secret alone%s", u->name, svc_role_name(u->role), x->optional ? "" : ", and cannot connect while "
		    "client_certificates = required");
	}
	if (u->role == SVC_RESEARCH) {
		void *q[2] = { (void *)u->project, NULL };
		struct pv_diag d;

		pv_diag_clear(&d);
		if (svc_project_names(x->s, project_exists, q, &d) == 0 && q[1] == NULL)
			say(x->dc, "UNSAFE", "research user %s names project %s, which the vault does not hold: its queries "
			    "are refused", u->name, u->project);
	}
	return 0;
}

int
cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *vdir = NULL, *mk = NULL;
	struct conf *c = NULL;
	struct doc dc = { 0, 0, 1 };
	struct vopts o;
	struct svc *s = NULL;
	struct pv_diag d;
	char why[2048], copy[4096];
	int ch, off = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'V': vdir = optarg; break;
		case 'M': mk = optarg; break;
		case 'J': dc.json = 1; break;
		case 'h':
			fputs(doctor_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("doctor", "unknown option");
		}
	}
	if (optind != argc)
		return app_usage_error("doctor", "no arguments");
	if (dc.json)
		putchar('[');
	if (file != NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return PV_EXIT_INTERNAL;
		pv_diag_clear(&d);
		if (read_conf(file, c, &d) != 0) {
			say(&dc, "UNSAFE", "the configuration cannot be used: %s", d.msg);
			free(c);
			c = NULL;
		}
	}
	vault_of(c, vdir, mk, &o);
	if (open_svc("doctor", &o, VAULT_READ, &s) != PV_EXIT_OK) {
		say(&dc, "UNSAFE", "the vault %s cannot be opened (see above)", o.dir);
		if (dc.json)
			puts("]");
		free(c);
		return PV_EXIT_FAIL;
	}
	/* the vault */
	if (svc_master_inside(s))
		say(&dc, "UNSAFE", "the master key is kept inside the vault folder: whoever copies the folder has the "
		    "images (vault init --master-key FILE keeps it outside)");
	else {
		say(&dc, "ok", "the master key is kept outside the vault folder");
		key_mode(&dc, "master key", o.master);
	}
	if (svc_setting(s, "checkpoint_copy", copy, sizeof(copy)) != 0 || copy[0] == '\0')
		say(&dc, "UNSAFE", "no checkpoint copy outside the vault: whoever can write the folder could cut the "
		    "audit trail unseen (vault checkpoint-copy FILE)");
	else
		say(&dc, "ok", "every checkpoint is copied to %s", copy);
	if (c != NULL) {
		struct user_scan us;
		int tls = c->net.tls_cert[0] != '\0';

		for (size_t i = 0; i < c->net.ndimse; i++) {
			int lo = net_host_is_loopback(c->net.dimse[i].host);

			off |= !lo;
			say(&dc, lo ? "ok" : "note", "dimse %s:%s is %s", c->net.dimse[i].host, c->net.dimse[i].port,
			    lo ? "on loopback" : "off loopback: reachable from the network");
		}
		for (size_t i = 0; i < c->net.nhttp; i++) {
			int lo = net_host_is_loopback(c->net.http[i].host);

			off |= !lo;
			say(&dc, lo ? "ok" : "note", "http %s:%s is %s", c->net.http[i].host, c->net.http[i].port,
			    lo ? "on loopback" : "off loopback: reachable from the network");
		}
		if (net_server_unsafe(&c->net, svc_user_count(s), why, sizeof(why))) {
			char *save = NULL;

			for (char *l = strtok_r(why, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
				say(&dc, "UNSAFE", "%s (serve refuses to start)", l);
		}
		if (tls) {
			say(&dc, "ok", "TLS 1.2 and 1.3 only, ECDHE with AES-GCM or ChaCha20 for 1.2 (PS3.15 BCP 195)");
			say(&dc, c->net.client_cert_optional && off ? "UNSAFE" : "ok", "client certificates are %s",
			    c->net.client_cert_optional ? "optional: a stolen password is enough" : "required and pinned");
			cert_check(&dc, "the server certificate", c->net.tls_cert);
			key_mode(&dc, "the server key", c->net.tls_key);
		} else {
			say(&dc, off ? "UNSAFE" : "note", "TLS is off (tls_cert, tls_key): %s", off ?
			    "associations, passwords and images cross the network in clear" :
			    "acceptable on loopback only; anyone on this host can read the traffic");
		}
		if (c->net.anonymous == NET_ANON_ECHO)
			say(&dc, off ? "UNSAFE" : "note", "a peer without credentials may send C-ECHO");
		for (size_t i = 0; i < c->net.npeers; i++) {
			const struct net_peer *p = &c->net.peers[i];

			say(&dc, p->tls ? "ok" : "note", "C-MOVE destination %s at %s:%s %s", p->ae, p->at.host, p->at.port,
			    p->tls ? "over TLS, its certificate verified" : "over TCP on loopback");
			if (p->key[0])
				key_mode(&dc, "the key towards peer", p->key);
		}
		if (c->syslog.host[0] == '\0')
			say(&dc, "UNSAFE", "no audit export: set [audit] syslog = HOST:PORT and ca, so that the hospital's "
			    "audit repository holds every event and checkpoint outside this machine");
		else {
			say(&dc, "ok", "audit events and checkpoints are exported to %s:%s over TLS", c->syslog.host,
			    c->syslog.port);
			if (c->audit_key[0])
				key_mode(&dc, "the audit export key", c->audit_key);
		}
		memset(&us, 0, sizeof(us));
		us.dc = &dc;
		us.s = s;
		us.off_loopback = off;
		us.optional = c->net.client_cert_optional;
		pv_diag_clear(&d);
		if (svc_user_list(s, app_principal("pacsvault doctor"), user_scan_one, &us, &d) != 0)
			say(&dc, "UNSAFE", "the users cannot be read: %s", d.msg);
		else if (us.n == 0)
			say(&dc, off ? "UNSAFE" : "note", "there are no users: only anonymous C-ECHO is answered");
		else if (us.no_cert == 0)
			say(&dc, "ok", "%zu users, each with a pinned certificate", us.n);
	}
	svc_close(s);
	free(c);
	if (dc.json)
		puts("]");
	else if (dc.unsafe == 0)
		printf("nothing unsafe\n");
	else
		printf("%d unsafe\n", dc.unsafe);
	return dc.unsafe == 0 ? PV_EXIT_OK : PV_EXIT_FAIL;
}

static const char token_help[] =
"usage: pacsvault token issue USER [--ttl 8h] [--json]\n"
"       pacsvault token list [--json]\n"
"       pacsvault token revoke ID\n"
"\n"
"Bearer tokens for 'pacsvault serve''s DICOMweb listener (the 'http' key):\n"
"requests carry 'Authorization: Bearer TOKEN' and act as USER, with its role\n"
"and project as they are at each request (a removed user's tokens stop).\n"
"'issue' prints the token once, on standard output: only the SHA-256 of its\n"
"secret is kept, in the vault sealed under the master key (tokens.pvo).\n"
"--ttl: how long it works (Ns, Nm, Nh, Nd; default 8h, at most 366d).\n"
"'list' shows each live token's ID, user, issue and expiry times (never a\n"
"secret); 'revoke ID' ends one at once. Issuing and revoking are events in\n"
"the ledger (operator or admin only).\n"
"\n"
"Exit status: 0 done, 1 failed (what and where is said), 2 bad usage.\n";

static int
token_one(void *ctx, const struct svc_token_info *t)
{
	int *json = ctx;
	char a[32], b[32];
	time_t ta = (time_t)t->issued, tb = (time_t)t->expires;
	struct tm tm;

	strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&ta, &tm));
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tb, &tm));
	if (*json) {
		if (*json == 2)
			putchar(',');
		*json = 2;
		printf("{\"id\":\"%s\",\"user\":", t->id);
		put_json_str(t->user);
		printf(",\"issued\":\"%s\",\"expires\":\"%s\"}", a, b);
	} else {
		printf("%s\t%s\t%s\t%s\n", t->id, t->user, a, b);
	}
	return 0;
}

int
cmd_token(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vault", required_argument, NULL, 'V' },
		{ "master-key", required_argument, NULL, 'M' },
		{ "ttl", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *ttl = "8h";
	struct vopts o;
	struct svc *s = NULL;
	struct pv_diag d;
	int ch, json = 0, rc = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(token_help, argc < 2 ? stderr : stdout);
		fputs(app_vault_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? PV_EXIT_USAGE : PV_EXIT_OK;
	}
	sub = argv[1];
	vopts_default(&o);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V': o.dir = optarg; break;
		case 'M': o.master = optarg; break;
		case 't': ttl = optarg; break;
		case 'J': json = 1; break;
		case 'h':
			fputs(token_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("token", "unknown option");
		}
	}
	pv_diag_clear(&d);
	if (strcmp(sub, "issue") == 0) {
		char tok[SVC_TOKEN_MAX];
		struct svc_token_info ti;
		int64_t secs = svc_ttl_parse(ttl);

		if (argc - optind != 1)
			return app_usage_error("token issue", "one USER");
		if (secs < 0)
			return app_usage_error("token issue", "--ttl is Ns, Nm, Nh or Nd, at most 366 days");
		if (open_svc("token issue", &o, VAULT_READ, &s) != PV_EXIT_OK)
			return PV_EXIT_FAIL;
		rc = svc_token_issue(s, app_principal("pacsvault token issue"), argv[optind], secs, tok, &ti, &d);
		if (rc == 0) {
			if (json) {
				printf("{\"id\":\"%s\",\"token\":\"%s\",\"user\":", ti.id, tok);
				put_json_str(ti.user);
				printf(",\"expires\":%lld}\n", (long long)ti.expires);
			} else {
				printf("%s\n", tok);
			}
			fflush(stdout);
			fprintf(stderr, "pacsvault: token issue: %s for %s, %s\n", ti.id, ti.user, ttl);
		}
		pv_cleanse(tok, sizeof(tok));
	} else if (strcmp(sub, "revoke") == 0) {
		if (argc - optind != 1)
			return app_usage_error("token revoke", "one ID");
		if (open_svc("token revoke", &o, VAULT_READ, &s) != PV_EXIT_OK)
			return PV_EXIT_FAIL;
		rc = svc_token_revoke(s, app_principal("pacsvault token revoke"), argv[optind], &d);
		if (rc == 0)
			fprintf(stderr, "pacsvault: token revoke: %s\n", argv[optind]);
	} else if (strcmp(sub, "list") == 0) {
		if (argc != optind)
			return app_usage_error("token list", "no arguments");
		if (open_svc("token list", &o, VAULT_READ, &s) != PV_EXIT_OK)
			return PV_EXIT_FAIL;
		if (json)
			putchar('[');
		rc = svc_token_list(s, app_principal("pacsvault token list"), token_one, &json, &d);
		if (json)
			puts("]");
	} else {
		return app_usage_error("token", "issue, list or revoke");
	}
	svc_close(s);
	if (rc != 0) {
		char where[96];

		snprintf(where, sizeof(where), "token %s", sub);
		app_report(where, NULL, &d);
		return PV_EXIT_FAIL;
	}
	return PV_EXIT_OK;
}
