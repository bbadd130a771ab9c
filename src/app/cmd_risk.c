/* cmd_risk.c: `pacsvault risk`: re-identification risk by quasi-identifiers (k-anonymity). */
#include "app.h"
#include "pacsvault/base/mem.h"
#include "pacsvault/base/pool.h"
#include "pacsvault/deid/risk.h"
#include "pacsvault/dicom/dataset.h"

#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char risk_help[] =
"usage: pacsvault risk [OPTIONS] PATH...\n"
"\n"
"Estimates how easily the patients of a data set could be re-identified by\n"
"linking their quasi-identifiers with other data. One record per patient\n"
"(by PatientID, else by study), with the values of the patient's earliest\n"
"study. Patients with equal values form an equivalence class; the set is\n"
"k-anonymous for the size k of its smallest class. Reports the classes,\n"
"the share of patients in classes smaller than the target k, what drives\n"
"uniqueness, and the generalisations (ages to 5- or 10-year bands, dates to\n"
"months or years, birth years to decades, leaving an attribute out) that\n"
"reach the target, greedily, least information lost first.\n"
"\n"
"Quasi-identifiers: sex, age, birth-year, study-date, institution, station,\n"
"manufacturer, model, body-part, modality, protocol.\n"
"\n"
"Options:\n"
"  --qi LIST        the quasi-identifiers to use, comma-separated (default all)\n"
"  --target-k N     the target k (default 5)\n"
"  --json           the report as one JSON object\n"
"  --html FILE      also a self-contained report page with a histogram of\n"
"                   class sizes\n"
"  -j, --jobs N     worker threads for reading (default 0: one per CPU)\n"
"  -q, --quiet      no progress messages\n"
"  -h, --help       this text\n"
"\n"
"Exit status: 0 every patient is in a class of at least k (every file\n"
"read), 3 some patient is not, 1 a file could not be read, 2 bad usage.\n";

struct rrun {
	struct app_inputs *in;
	struct risk_set set;
	pthread_mutex_t lock;
	size_t failed;
	size_t not_dicom;
	int rc;
};

static void
read_one(void *arg, size_t i, unsigned worker)
{
	struct rrun *r = arg;
	struct dcm_file *f = NULL;
	struct pv_diag d;
	struct dcm_reader_opts o;

	(void)worker;
	pv_diag_clear(&d);
	memset(&o, 0, sizeof(o));
	if (dcm_file_open(r->in->v[i].in, NULL, &f, &d) != 0) {
		pthread_mutex_lock(&r->lock);
		if (d.code == PV_ENOTDICOM && r->in->v[i].walked) {
			r->not_dicom++;  /* a README beside the images: counted, not a failure */
		} else {
			r->failed++;
			app_report("risk", r->in->v[i].in, &d);
		}
		pthread_mutex_unlock(&r->lock);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (risk_add_file(&r->set, f) != 0)
		r->rc = PV_ENOMEM;
	pthread_mutex_unlock(&r->lock);
	dcm_file_free(f);
}

struct step {
	const char *what;
	struct risk_gen g;
	struct risk_result res;
};

static double
pct(size_t a, size_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

int
cmd_risk(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "qi", required_argument, NULL, 'Q' },
		{ "target-k", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'J' },
		{ "html", required_argument, NULL, 'H' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const hist_names[6] = { "1", "2", "3", "4", "5-9", "10+" };
	unsigned mask = RISK_QI_ALL, jobs = 0;
	size_t k = 5;
	int c, json = 0, quiet = 0, failed = 0, rc;
	const char *html_path = NULL;
	char *end;
	struct app_inputs ins = { NULL, 0, 0 };
	struct rrun r;
	struct risk_gen g0;
	struct risk_result base, drop[RQ_COUNT];
	struct step steps[16];
	size_t nsteps = 0;
	unsigned present = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:j:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'Q':
			if (risk_qi_parse(optarg, &mask) != 0)
				return app_usage_error("risk", "--qi: unknown quasi-identifier in '%s'", optarg);
			break;
		case 'k':
			/* -k is a key file everywhere else (deid, reid): the target has a long name only */
			return app_usage_error("risk", "the target k is --target-k N (-k names a key file in the "
			    "other commands)");
		case 'T':
			k = strtoul(optarg, &end, 10);
			if (*end != '\0' || k < 2 || k > 1000)
				return app_usage_error("risk", "--target-k wants a number from 2 to 1000");
			break;
		case 'J': json = 1; break;
		case 'H': html_path = optarg; break;
		case 'q': quiet = 1; break;
		case 'j':
			jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || jobs > 256)
				return app_usage_error("risk", "--jobs wants a number up to 256 (0 = all CPUs)");
			break;
		case 'h':
			fputs(risk_help, stdout);
			return PV_EXIT_OK;
		default:
			return app_usage_error("risk", "unknown option");
		}
	}
	if (optind >= argc)
		return app_usage_error("risk", "no inputs");
	if ((rc = app_inputs_collect(&ins, "risk", argv + optind, argc - optind, NULL, &failed)) != PV_EXIT_OK) {
		app_inputs_free(&ins);
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.in = &ins;
	pthread_mutex_init(&r.lock, NULL);
	if (pv_pool_for(jobs, ins.n, read_one, &r) != 0 || r.rc != 0) {
		app_inputs_free(&ins);
		risk_set_free(&r.set);
		return PV_EXIT_INTERNAL;
	}
	/* attributes that occur at all */
	for (size_t i = 0; i < r.set.n; i++)
		for (int q = 0; q < RQ_COUNT; q++)
			if (r.set.r[i].v[q][0])
				present |= 1u << q;
	mask &= present;
	memset(&g0, 0, sizeof(g0));
	if (risk_eval(&r.set, mask, &g0, k, &base) != 0)
		goto oom;
	for (int q = 0; q < RQ_COUNT; q++) {
		struct risk_gen g = g0;
		g.suppressed = 1u << q;
		if ((mask & (1u << q)) && risk_eval(&r.set, mask, &g, k, &drop[q]) != 0)
			goto oom;
	}
	/* Greedy generalisation: the step that puts the fewest patients below k, information kept first. */
	{
		struct risk_gen g = g0;
		struct risk_result cur = base;
		while (cur.below_k > 0 && nsteps < sizeof(steps) / sizeof(steps[0])) {
			struct step best;
			double best_score = 0;
			int found = 0;
			for (int cand = 0; cand < 4 + RQ_COUNT; cand++) {
				struct step s;
				double cost = 1;
				s.g = g;
				if (cand == 0 && (mask & (1u << RQ_AGE)) && g.age_band < 5 && !(g.suppressed & (1u << RQ_AGE))) {
					s.g.age_band = 5;
					s.what = "ages to 5-year bands";
				} else if (cand == 1 && (mask & (1u << RQ_AGE)) && g.age_band == 5 && !(g.suppressed & (1u << RQ_AGE))) {
					s.g.age_band = 10;
					s.what = "ages to 10-year bands";
				} else if (cand == 2 && (mask & (1u << RQ_STUDY_DATE)) && g.date_level < 2 &&
				    !(g.suppressed & (1u << RQ_STUDY_DATE))) {
					s.g.date_level = g.date_level + 1;
					s.what = g.date_level == 0 ? "study dates to months" : "study dates to years";
				} else if (cand == 3 && (mask & (1u << RQ_BIRTH_YEAR)) && !g.birth_decade &&
				    !(g.suppressed & (1u << RQ_BIRTH_YEAR))) {
					s.g.birth_decade = 1;
					s.what = "birth years to decades";
				} else if (cand >= 4 && (mask & (1u << (cand - 4))) && !(g.suppressed & (1u << (cand - 4)))) {
					static char names[RQ_COUNT][48];
					snprintf(names[cand - 4], sizeof(names[0]), "leave out %s", risk_qi_name((enum risk_qi)(cand - 4)));
					s.g.suppressed |= 1u << (cand - 4);
					s.what = names[cand - 4];
					cost = 3;  /* losing an attribute costs more than coarsening it */
				} else {
					continue;
				}
				if (risk_eval(&r.set, mask, &s.g, k, &s.res) != 0)
					goto oom;
				double score = ((double)cur.below_k - (double)s.res.below_k) / cost;
				if (score > best_score) {
					best_score = score;
					best = s;
					found = 1;
				}
			}
			if (!found)
				break;
			steps[nsteps++] = best;
			g = best.g;
			cur = best.res;
		}
	}
	if (json) {
		printf("{\"patients\":%zu,\"files\":%zu,\"unreadable\":%zu,\"not_dicom\":%zu,\"target_k\":%zu,"
		    "\"quasi_identifiers\":[", base.patients, ins.n - r.not_dicom, r.failed + (size_t)failed, r.not_dicom, k);
		for (int q = 0, first = 1; q < RQ_COUNT; q++)
			if (mask & (1u << q)) {
				printf("%s\"%s\"", first ? "" : ",", risk_qi_name((enum risk_qi)q));
				first = 0;
			}
		printf("],\"classes\":%zu,\"k\":%zu,\"unique\":%zu,\"below_k\":%zu,\"below_k_share\":%.4f,\"class_sizes\":{",
		    base.classes, base.patients ? base.kmin : 0, base.unique, base.below_k, pct(base.below_k, base.patients) / 100);
		for (int h = 0; h < 6; h++)
			printf("%s\"%s\":%zu", h ? "," : "", hist_names[h], base.hist[h]);
		printf("},\"without\":{");
		for (int q = 0, first = 1; q < RQ_COUNT; q++)
			if (mask & (1u << q)) {
				printf("%s\"%s\":{\"k\":%zu,\"below_k\":%zu}", first ? "" : ",", risk_qi_name((enum risk_qi)q),
				    drop[q].kmin, drop[q].below_k);
				first = 0;
			}
		printf("},\"generalisations\":[");
		for (size_t i = 0; i < nsteps; i++)
			printf("%s{\"step\":\"%s\",\"k\":%zu,\"below_k\":%zu,\"classes\":%zu}", i ? "," : "", steps[i].what,
			    steps[i].res.kmin, steps[i].res.below_k, steps[i].res.classes);
		printf("],\"reached\":%s}\n", (nsteps ? steps[nsteps - 1].res.below_k : base.below_k) == 0 ? "true" : "false");
	} else {
		printf("%zu patients in %zu files; quasi-identifiers:", base.patients, ins.n - r.not_dicom);
		for (int q = 0; q < RQ_COUNT; q++)
			if (mask & (1u << q))
				printf(" %s", risk_qi_name((enum risk_qi)q));
		printf("\n");
		if (base.patients == 0) {
			printf("no patient records\n");
		} else {
			printf("equivalence classes: %zu; smallest class (k): %zu; unique patients: %zu (%.1f%%)\n",
			    base.classes, base.kmin, base.unique, pct(base.unique, base.patients));
			printf("patients in classes smaller than k=%zu: %zu (%.1f%%)\n", k, base.below_k,
			    pct(base.below_k, base.patients));
			printf("patients by class size:");
			for (int h = 0; h < 6; h++)
				printf("  %s: %zu", hist_names[h], base.hist[h]);
			printf("\nwhat drives uniqueness (patients below k with the attribute left out):\n");
			for (int q = 0; q < RQ_COUNT; q++)
				if (mask & (1u << q))
					printf("  %-13s %8zu (%.1f%%)%s\n", risk_qi_name((enum risk_qi)q), drop[q].below_k,
					    pct(drop[q].below_k, base.patients),
					    drop[q].below_k < base.below_k ? "" : "  (no effect)");
			if (base.below_k == 0) {
				printf("every patient is in a class of at least k=%zu\n", k);
			} else {
				printf("generalisations towards k=%zu:\n", k);
				for (size_t i = 0; i < nsteps; i++)
					printf("  %zu. %-28s k=%zu, below k: %zu (%.1f%%), %zu classes\n", i + 1, steps[i].what,
					    steps[i].res.kmin, steps[i].res.below_k, pct(steps[i].res.below_k, base.patients),
					    steps[i].res.classes);
				if (nsteps == 0 || steps[nsteps - 1].res.below_k > 0)
					printf("  k=%zu is not reached by these steps\n", k);
			}
		}
	}
	if (html_path != NULL) {
		FILE *h = fopen(html_path, "w");
		size_t maxh = 1;
		if (h == NULL) {
			fprintf(stderr, "pacsvault: risk: %s: cannot write the report\n", html_path);
			failed = 1;
		} else {
			html_head(h, "pacsvault re-identification risk report");
			fprintf(h, "<p><b>%zu</b> patients in %zu files; target k = %zu.</p>\n<table>", base.patients,
			    ins.n - r.not_dicom, k);
			fprintf(h, "<tr><th>quasi-identifiers</th><td>");
			for (int q = 0; q < RQ_COUNT; q++)
				if (mask & (1u << q))
					fprintf(h, "<code>%s</code> ", risk_qi_name((enum risk_qi)q));
			fprintf(h, "</td></tr>\n<tr><th>equivalence classes</th><td>%zu</td></tr>\n"
			    "<tr><th>smallest class (k)</th><td class=\"%s\">%zu</td></tr>\n"
			    "<tr><th>unique patients</th><td>%zu (%.1f%%)</td></tr>\n"
			    "<tr><th>patients in classes smaller than k=%zu</th><td class=\"%s\">%zu (%.1f%%)</td></tr></table>\n",
			    base.classes, base.kmin >= k ? "ok" : "bad", base.patients ? base.kmin : 0, base.unique,
			    pct(base.unique, base.patients), k, base.below_k ? "bad" : "ok", base.below_k,
			    pct(base.below_k, base.patients));
			for (int i = 0; i < 6; i++)
				if (base.hist[i] > maxh)
					maxh = base.hist[i];
			fputs("<h2>Patients by the size of their class</h2>\n<svg width=\"520\" height=\"240\" "
			    "viewBox=\"0 0 520 240\" role=\"img\" aria-label=\"histogram of class sizes\">\n", h);
			for (int i = 0; i < 6; i++) {
				double bh = 180.0 * (double)base.hist[i] / (double)maxh;
				fprintf(h, "<rect class=\"bar\" x=\"%d\" y=\"%.1f\" width=\"60\" height=\"%.1f\"/>"
				    "<text x=\"%d\" y=\"225\" text-anchor=\"middle\">%s</text>"
				    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">%zu</text>\n",
				    20 + i * 82, 200 - bh, bh, 50 + i * 82, hist_names[i], 50 + i * 82, 195 - bh, base.hist[i]);
			}
			fputs("</svg>\n<h2>What drives uniqueness</h2>\n<table><tr><th>left out</th><th>patients below k</th></tr>\n", h);
			for (int q = 0; q < RQ_COUNT; q++)
				if (mask & (1u << q))
					fprintf(h, "<tr><td><code>%s</code></td><td>%zu (%.1f%%)</td></tr>\n", risk_qi_name((enum risk_qi)q),
					    drop[q].below_k, pct(drop[q].below_k, base.patients));
			fputs("</table>\n<h2>Generalisations towards the target</h2>\n<ol>\n", h);
			for (size_t i = 0; i < nsteps; i++) {
				fputs("<li>", h);
				html_escape(h, steps[i].what);
				fprintf(h, ": k=%zu, %zu below k (%.1f%%), %zu classes</li>\n", steps[i].res.kmin, steps[i].res.below_k,
				    pct(steps[i].res.below_k, base.patients), steps[i].res.classes);
			}
			fprintf(h, "</ol>\n<p>%s</p>\n", base.below_k == 0 ? "Every patient is in a class of at least k." :
			    (nsteps && steps[nsteps - 1].res.below_k == 0) ? "The steps above reach the target." :
			    "The target is not reached by these steps.");
			html_tail(h);
			if (fclose(h) != 0)
				failed = 1;
		}
	}
	if (!quiet && (r.failed || failed))
		fprintf(stderr, "pacsvault: risk: %zu files could not be read\n", r.failed + (size_t)failed);
	if (!quiet && r.not_dicom)
		fprintf(stderr, "pacsvault: risk: %zu files that are not DICOM skipped\n", r.not_dicom);
	rc = base.below_k ? PV_EXIT_FOUND : r.failed || failed ? PV_EXIT_FAIL : PV_EXIT_OK;
	app_inputs_free(&ins);
	risk_set_free(&r.set);
	return rc;
oom:
	app_inputs_free(&ins);
	risk_set_free(&r.set);
	return PV_EXIT_INTERNAL;
}
