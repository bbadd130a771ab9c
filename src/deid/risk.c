/* risk.c: equivalence classes over quasi-identifiers (see risk.h). */
#include "pacsvault/deid/risk.h"
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"
#include "pacsvault/base/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const qi_names[RQ_COUNT] = {
	"sex", "age", "birth-year", "study-date", "institution", "station", "manufacturer", "model",
	"body-part", "modality", "protocol"
};

static const uint32_t qi_tags[RQ_COUNT] = {
	0x00100040u, 0x00101010u, 0x00100030u, 0x00080020u, 0x00080080u, 0x00081010u, 0x00080070u,
	0x00081090u, 0x00180015u, 0x00080060u, 0x00181030u
};

const char *
risk_qi_name(enum risk_qi q)
{
	return (unsigned)q < RQ_COUNT ? qi_names[q] : "?";
}

int
risk_qi_parse(const char *list, unsigned *mask)
{
	const char *p = list;
	*mask = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		int found = 0;
		for (int q = 0; q < RQ_COUNT; q++)
			if (strlen(qi_names[q]) == n && strncmp(p, qi_names[q], n) == 0) {
				*mask |= 1u << q;
				found = 1;
			}
		if (!found)
			return -1;
		p += n;
		if (*p == ',')
			p++;
	}
	return *mask ? 0 : -1;
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static int
grow_index(struct risk_set *s)
{
	size_t nc = s->index_cap ? s->index_cap * 2 : 1024;
	uint32_t *ni = pv_calloc(nc, sizeof(*ni));
	if (ni == NULL)
		return PV_ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t k = hash(s->r[i].key) & (nc - 1);
		while (ni[k] != 0)
			k = (k + 1) & (nc - 1);
		ni[k] = (uint32_t)i + 1;
	}
	free(s->index);
	s->index = ni;
	s->index_cap = nc;
	return 0;
}

/* Age in whole years from an AS value ("034Y", "006M"...), or -1. */
static int
age_years(const char *as)
{
	if (strlen(as) != 4 || as[0] < '0' || as[0] > '9' || as[1] < '0' || as[1] > '9' || as[2] < '0' || as[2] > '9')
		return -1;
	int n = (as[0] - '0') * 100 + (as[1] - '0') * 10 + (as[2] - '0');
	switch (as[3]) {
	case 'Y': return n;
	case 'M': return n / 12;
	case 'W': return n / 52;
	case 'D': return n / 365;
	default: return -1;
	}
}

static int
valid_da(const char *d)
{
	if (strlen(d) != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		if (d[i] < '0' || d[i] > '9')
			return 0;
	return 1;
}

int
risk_add_file(struct risk_set *s, struct dcm_file *f)
{
	struct risk_record rec;
	char birth[16] = "";
	size_t k;
	int rc;

	memset(&rec, 0, sizeof(rec));
	if (dcm_ds_get_str(f, &f->ds, 0x00100020u, rec.key, sizeof(rec.key)) != 0 || rec.key[0] == '\0') {
		if (dcm_ds_get_str(f, &f->ds, 0x0020000du, rec.key + 1, sizeof(rec.key) - 1) != 0)
			return 0;  /* nothing to tell patients apart by */
		rec.key[0] = '@';
	}
	for (int q = 0; q < RQ_COUNT; q++)
		(void)dcm_ds_get_str(f, &f->ds, qi_tags[q], rec.v[q], sizeof(rec.v[q]));
	memcpy(birth, rec.v[RQ_BIRTH_YEAR], 8);
	birth[8] = '\0';
	rec.v[RQ_BIRTH_YEAR][0] = '\0';
	if (valid_da(birth))
		snprintf(rec.v[RQ_BIRTH_YEAR], sizeof(rec.v[RQ_BIRTH_YEAR]), "%.4s", birth);
	snprintf(rec.study_date, sizeof(rec.study_date), "%.8s", rec.v[RQ_STUDY_DATE]);
	if (!valid_da(rec.v[RQ_STUDY_DATE]))
		rec.v[RQ_STUDY_DATE][0] = '\0';
	/* age in years: from PatientAge, else from the birth and study dates */
	{
		int years = age_years(rec.v[RQ_AGE]);
		if (years < 0 && valid_da(birth) && valid_da(rec.study_date)) {
			int b = atoi(birth), st = atoi(rec.study_date);
			years = (st - b) / 10000;
		}
		if (years >= 0)
			snprintf(rec.v[RQ_AGE], sizeof(rec.v[RQ_AGE]), "%d", years > 89 ? 90 : years);
		else
			rec.v[RQ_AGE][0] = '\0';
	}
	if (s->n * 2 >= s->index_cap && (rc = grow_index(s)) != 0)
		return rc;
	k = hash(rec.key) & (s->index_cap - 1);
	while (s->index[k] != 0) {
		struct risk_record *r = &s->r[s->index[k] - 1];
		if (strcmp(r->key, rec.key) == 0) {
			/* the same patient: keep the earliest study's values */
			if (valid_da(rec.study_date) && (!valid_da(r->study_date) || strcmp(rec.study_date, r->study_date) < 0))
				*r = rec;
			return 0;
		}
		k = (k + 1) & (s->index_cap - 1);
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 256;
		struct risk_record *nr = pv_reallocarray(s->r, nc, sizeof(*nr));
		if (nr == NULL)
			return PV_ENOMEM;
		s->r = nr;
		s->cap = nc;
	}
	s->r[s->n] = rec;
	s->index[k] = (uint32_t)++s->n;
	return 0;
}

void
risk_set_free(struct risk_set *s)
{
	free(s->r);
	free(s->index);
	memset(s, 0, sizeof(*s));
}

static void
generalise(const struct risk_record *r, unsigned mask, const struct risk_gen *g, char *out, size_t outsz)
{
	size_t o = 0;
	for (int q = 0; q < RQ_COUNT; q++) {
		char v[64];
		if (!(mask & (1u << q)) || (g->suppressed & (1u << q)))
			continue;
		snprintf(v, sizeof(v), "%s", r->v[q]);
		if (q == RQ_AGE && v[0] && g->age_band) {
			int a = atoi(v), lo = a / (int)g->age_band * (int)g->age_band;
			snprintf(v, sizeof(v), "%d-%d", lo, lo + (int)g->age_band - 1);
		} else if (q == RQ_STUDY_DATE && v[0] && g->date_level) {
			v[g->date_level == 1 ? 6 : 4] = '\0';
		} else if (q == RQ_BIRTH_YEAR && v[0] && g->birth_decade) {
			v[3] = 'x';
		}
		int n = snprintf(out + o, outsz - o, "%s\x1f", v);
		if (n < 0 || (size_t)n >= outsz - o)
			break;
		o += (size_t)n;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
risk_eval(const struct risk_set *s, unsigned mask, const struct risk_gen *g, size_t k, struct risk_result *out)
{
	const size_t width = RQ_COUNT * 64;
	char *buf = NULL, **keys = NULL;

	memset(out, 0, sizeof(*out));
	out->patients = s->n;
	if (s->n == 0)
		return 0;
	if ((buf = pv_mallocarray(s->n, width)) == NULL || (keys = pv_mallocarray(s->n, sizeof(*keys))) == NULL) {
		free(buf);
		return PV_ENOMEM;
	}
	for (size_t i = 0; i < s->n; i++) {
		keys[i] = buf + i * width;
		keys[i][0] = '\0';
		generalise(&s->r[i], mask, g, keys[i], width);
	}
	qsort(keys, s->n, sizeof(*keys), cmp_str);
	out->kmin = SIZE_MAX;
	for (size_t i = 0; i < s->n;) {
		size_t j = i + 1;
		while (j < s->n && strcmp(keys[i], keys[j]) == 0)
			j++;
		size_t size = j - i;
		out->classes++;
		if (size < out->kmin)
			out->kmin = size;
		if (size < k)
			out->below_k += size;
		if (size == 1)
			out->unique++;
		out->hist[size >= 10 ? 5 : size >= 5 ? 4 : size - 1] += size;
		i = j;
	}
	free(keys);
	free(buf);
	return 0;
}
