/* query.c: C-FIND matching (PS3.4 C.2.2.2) for the vault's index (see query.h). */
#include "pacsvault/store/query.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * The indexed attributes (PS3.4 C.6.1.1 Patient Root / Study Root keys that
 * an archive is expected to answer). blind: exact matches are answered from a
 * keyed HMAC column; clear: not PHI, kept in clear to filter in SQL;
 * computed: counted or collected at query time.
 */
const struct query_attr query_attrs[] = {
	{ 0x00100010u, "PatientName", "PN", QUERY_PATIENT, 0, 0, 0 },
	{ 0x00100020u, "PatientID", "LO", QUERY_PATIENT, 1, 0, 0 },
	{ 0x00100021u, "IssuerOfPatientID", "LO", QUERY_PATIENT, 0, 0, 0 },
	{ 0x00100030u, "PatientBirthDate", "DA", QUERY_PATIENT, 0, 0, 0 },
	{ 0x00100040u, "PatientSex", "CS", QUERY_PATIENT, 0, 0, 0 },
	{ 0x00201200u, "NumberOfPatientRelatedStudies", "IS", QUERY_PATIENT, 0, 0, 1 },
	{ 0x0020000du, "StudyInstanceUID", "UI", QUERY_STUDY, 1, 0, 0 },
	{ 0x00080020u, "StudyDate", "DA", QUERY_STUDY, 0, 0, 0 },
	{ 0x00080030u, "StudyTime", "TM", QUERY_STUDY, 0, 0, 0 },
	{ 0x00080050u, "AccessionNumber", "SH", QUERY_STUDY, 1, 0, 0 },
	{ 0x00200010u, "StudyID", "SH", QUERY_STUDY, 0, 0, 0 },
	{ 0x00081030u, "StudyDescription", "LO", QUERY_STUDY, 0, 0, 0 },
	{ 0x00080090u, "ReferringPhysicianName", "PN", QUERY_STUDY, 0, 0, 0 },
	{ 0x00080061u, "ModalitiesInStudy", "CS", QUERY_STUDY, 0, 0, 1 },
	{ 0x00201206u, "NumberOfStudyRelatedSeries", "IS", QUERY_STUDY, 0, 0, 1 },
	{ 0x00201208u, "NumberOfStudyRelatedInstances", "IS", QUERY_STUDY, 0, 0, 1 },
	{ 0x0020000eu, "SeriesInstanceUID", "UI", QUERY_SERIES, 1, 0, 0 },
	{ 0x00080060u, "Modality", "CS", QUERY_SERIES, 0, 1, 0 },
	{ 0x00200011u, "SeriesNumber", "IS", QUERY_SERIES, 0, 0, 0 },
	{ 0x0008103eu, "SeriesDescription", "LO", QUERY_SERIES, 0, 0, 0 },
	{ 0x00080021u, "SeriesDate", "DA", QUERY_SERIES, 0, 0, 0 },
	{ 0x00180015u, "BodyPartExamined", "CS", QUERY_SERIES, 0, 0, 0 },
	{ 0x00201209u, "NumberOfSeriesRelatedInstances", "IS", QUERY_SERIES, 0, 0, 1 },
	{ 0x00080018u, "SOPInstanceUID", "UI", QUERY_IMAGE, 1, 0, 0 },
	{ 0x00080016u, "SOPClassUID", "UI", QUERY_IMAGE, 0, 1, 0 },
	{ 0x00200013u, "InstanceNumber", "IS", QUERY_IMAGE, 0, 0, 0 },
	{ 0, NULL, NULL, 0, 0, 0, 0 }
};

static const char *level_names[] = { "PATIENT", "STUDY", "SERIES", "IMAGE" };

int
query_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "INSTANCE") == 0)
		return QUERY_IMAGE;
	return -1;
}

const char *
query_level_name(int level)
{
	return level >= 0 && level < 4 ? level_names[level] : "?";
}

const struct query_attr *
query_attr_find(const char *name)
{
	char *end;
	unsigned long t;

	for (const struct query_attr *a = query_attrs; a->tag != 0; a++)
		if (strcmp(a->keyword, name) == 0)
			return a;
	if (strlen(name) == 8) {
		t = strtoul(name, &end, 16);
		if (*end == '\0')
			for (const struct query_attr *a = query_attrs; a->tag != 0; a++)
				if (a->tag == t)
					return a;
	}
	return NULL;
}

static int
vr_is(const struct query_attr *a, const char *vr)
{
	return strcmp(a->vr, vr) == 0;
}

/* VRs on which '*' and '?' are plain characters (PS3.4 C.2.2.2.4). */
static int
vr_no_wild(const struct query_attr *a)
{
	return vr_is(a, "DA") || vr_is(a, "TM") || vr_is(a, "DT") || vr_is(a, "IS") || vr_is(a, "DS");
}

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A DA value (YYYYMMDD). */
static int
valid_da(const char *s, size_t n)
{
	return n == 8 && all_digits(s, n);
}

/* A TM value: HH, HHMM, HHMMSS, HHMMSS.F{1,6} (and the legacy HH:MM:SS). */
static int
valid_tm(const char *s, size_t n)
{
	size_t i = 0, dig = 0;

	for (; i < n && s[i] != '.'; i++) {
		if (s[i] == ':')
			continue;
		if (!isdigit((unsigned char)s[i]))
			return 0;
		dig++;
	}
	if (dig != 2 && dig != 4 && dig != 6)
		return 0;
	{
		/* HH < 24, MM < 60, SS < 61 (a leap second). */
		static const int max[3] = { 23, 59, 60 };
		int part = 0, val = 0, nd = 0;

		for (size_t j = 0; j < i && part < 3; j++) {
			if (s[j] == ':')
				continue;
			val = val * 10 + (s[j] - '0');
			if (++nd == 2) {
				if (val > max[part])
					return 0;
				part++;
				val = nd = 0;
			}
		}
	}
	if (i < n)
		return dig == 6 && n - i - 1 >= 1 && n - i - 1 <= 6 && all_digits(s + i + 1, n - i - 1);
	return 1;
}

/* A DT value: YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]] with an optional &ZZXX offset (ignored). */
static int
valid_dt(const char *s, size_t n)
{
	size_t i = 0;

	for (; i < n && isdigit((unsigned char)s[i]); i++)
		;
	if (i < 4 || i > 14 || i % 2 != 0)
		return 0;
	if (i < n && s[i] == '.') {
		size_t j = i + 1;

		while (j < n && isdigit((unsigned char)s[j]))
			j++;
		if (j == i + 1 || j - i - 1 > 6 || i != 14)
			return 0;
		i = j;
	}
	if (i < n && (s[i] == '+' || s[i] == '-'))
		return n - i == 5 && all_digits(s + i + 1, 4);
	return i == n;
}

static int
valid_temporal(const struct query_attr *a, const char *s, size_t n)
{
	if (vr_is(a, "DA"))
		return valid_da(s, n);
	if (vr_is(a, "TM"))
		return valid_tm(s, n);
	return valid_dt(s, n);
}

int
query_key_parse(const char *arg, struct query_key *k, struct pv_diag *d)
{
	const char *eq = strchr(arg, '=');
	char name[64];
	size_t nl = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	const char *v = eq != NULL ? eq + 1 : "";
	size_t vl;

	memset(k, 0, sizeof(*k));
	if (nl == 0 || nl >= sizeof(name))
		return pv_diag_set(d, PV_EINVAL, -1, "a query key is KEYWORD=VALUE");
	memcpy(name, arg, nl);
	name[nl] = '\0';
	if ((k->attr = query_attr_find(name)) == NULL)
		return pv_diag_set(d, PV_EINVAL, -1, "'%s' is not an indexed attribute (see "
		    "'pacsvault find --help')", name);
	vl = strlen(v);
	while (vl > 0 && v[vl - 1] == ' ')
		vl--;
	if ((k->value = malloc(vl + 1)) == NULL)
		return pv_diag_set(d, PV_ENOMEM, -1, "out of memory");
	memcpy(k->value, v, vl);
	k->value[vl] = '\0';
	if (vl == 0) {
		k->kind = QK_UNIVERSAL;
		return 0;
	}
	if (k->attr->computed && !vr_is(k->attr, "CS"))
		return pv_diag_set(d, PV_EINVAL, -1, "%s is a return key only", name);
	if (vr_is(k->attr, "DA") || vr_is(k->attr, "TM") || vr_is(k->attr, "DT")) {
		const char *dash = NULL;

		/* DT offsets use '-' too: the range dash is the one the halves validate around. */
		for (const char *p = k->value; *p != '\0'; p++) {
			if (*p != '-')
				continue;
			size_t l1 = (size_t)(p - k->value), l2 = strlen(p + 1);
			if ((l1 == 0 || valid_temporal(k->attr, k->value, l1)) &&
			    (l2 == 0 || valid_temporal(k->attr, p + 1, l2)) && (l1 > 0 || l2 > 0)) {
				dash = p;
				break;
			}
		}
		if (dash != NULL) {
			k->kind = QK_RANGE;
			return 0;
		}
		if (!valid_temporal(k->attr, k->value, vl))
			return pv_diag_set(d, PV_EINVAL, -1, "%s: not a %s value or range", name, k->attr->vr);
		k->kind = QK_SINGLE;
		return 0;
	}
	if (vr_is(k->attr, "UI") && strchr(k->value, '\\') != NULL) {
		k->kind = QK_LIST;
		return 0;
	}
	if (!vr_no_wild(k->attr) && strpbrk(k->value, "*?") != NULL) {
		k->kind = QK_WILD;
		return 0;
	}
	k->kind = QK_SINGLE;
	return 0;
}

void
query_key_free(struct query_key *k)
{
	if (k == NULL)
		return;
	free(k->value);
	k->value = NULL;
}

/* Length of the UTF-8 character at s (1 for a stray byte). */
static size_t
utf8_len(const unsigned char *s)
{
	if (*s < 0x80)
		return 1;
	if ((*s & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80)
		return 2;
	if ((*s & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80)
		return 3;
	if ((*s & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80)
		return 4;
	return 1;
}

static int
ch_eq(unsigned char a, unsigned char b, int fold)
{
	return fold ? tolower(a) == tolower(b) : a == b;
}

int
query_wild_match(const char *p, const char *s, int fold)
{
	/* Iterative with one backtrack point: linear in practice, never exponential. */
	const char *star = NULL, *retry = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = ++p;
			retry = s;
			continue;
		}
		if (*p == '?') {
			p++;
			s += utf8_len((const unsigned char *)s);
			continue;
		}
		if (*p != '\0' && ch_eq((unsigned char)*p, (unsigned char)*s, fold)) {
			p++;
			s++;
			continue;
		}
		if (star == NULL)
			return 0;
		p = star;
		retry += utf8_len((const unsigned char *)retry);
		s = retry;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* PN values compare without trailing empty components and spaces ("DOE^JOHN^^" = "DOE^JOHN"). */
static size_t
pn_trim(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '^' || s[n - 1] == ' ' || s[n - 1] == '='))
		n--;
	return n;
}

/* Normalised TM "HHMMSS.FFFFFF" (13 chars); hi pads missing digits as the end of the span. */
static void
tm_norm(const char *s, size_t n, int hi, char out[14])
{
	char dig[13];
	size_t k = 0;

	for (size_t i = 0; i < n && k < 12; i++)
		if (isdigit((unsigned char)s[i]))
			dig[k++] = s[i];
	for (size_t i = k; i < 12; i++)
		dig[i] = hi ? (i == 2 || i == 4 ? '5' : '9') : '0';
	memcpy(out, dig, 6);
	out[6] = '.';
	memcpy(out + 7, dig + 6, 6);
	out[13] = '\0';
}

/* Normalised DT "YYYYMMDDHHMMSSFFFFFF" (20 digits), offsets dropped. */
static void
dt_norm(const char *s, size_t n, int hi, char out[21])
{
	static const char lo_fill[] = "00000101000000000000";
	static const char hi_fill[] = "99991231235959999999";
	size_t k = 0;

	for (size_t i = 0; i < n && k < 20; i++) {
		if (s[i] == '+' || (s[i] == '-' && i > 0))
			break;
		if (isdigit((unsigned char)s[i]))
			out[k++] = s[i];
	}
	for (; k < 20; k++)
		out[k] = hi ? hi_fill[k] : lo_fill[k];
	out[20] = '\0';
}

static void
temporal_norm(const struct query_attr *a, const char *s, size_t n, int hi, char out[24])
{
	if (vr_is(a, "DA")) {
		size_t l = n < 8 ? n : 8;

		memcpy(out, s, l);
		out[l] = '\0';
	} else if (vr_is(a, "TM")) {
		tm_norm(s, n, hi, out);
	} else {
		dt_norm(s, n, hi, out);
	}
}

static int
match_range(const struct query_key *k, const char *v)
{
	const char *key = k->value, *dash = NULL;
	char lo[24] = "", hi[24] = "", val[24];
	size_t vl = strlen(v);

	if (vl == 0 || !valid_temporal(k->attr, v, vl))
		return 0;
	for (const char *p = key; *p != '\0'; p++) {
		size_t l1 = (size_t)(p - key), l2 = strlen(p + 1);
		if (*p == '-' && (l1 == 0 || valid_temporal(k->attr, key, l1)) &&
		    (l2 == 0 || valid_temporal(k->attr, p + 1, l2))) {
			dash = p;
			break;
		}
	}
	if (dash == NULL)
		return 0;
	temporal_norm(k->attr, v, vl, 0, val);
	if (dash > key) {
		temporal_norm(k->attr, key, (size_t)(dash - key), 0, lo);
		if (strcmp(val, lo) < 0)
			return 0;
	}
	if (dash[1] != '\0') {
		/* The upper bound is inclusive at its precision: "-1200" takes 12:00:59.999999. */
		temporal_norm(k->attr, dash + 1, strlen(dash + 1), 1, hi);
		if (strcmp(val, hi) > 0)
			return 0;
	}
	return 1;
}

static int
match_single(const struct query_key *k, const char *v)
{
	size_t kl = strlen(k->value), vl = strlen(v);

	while (vl > 0 && v[vl - 1] == ' ')
		vl--;
	if (vr_is(k->attr, "PN")) {
		kl = pn_trim(k->value, kl);
		vl = pn_trim(v, vl);
		return kl == vl && strncasecmp(k->value, v, kl) == 0;
	}
	if (vr_is(k->attr, "IS")) {
		char *e1, *e2;
		long a = strtol(k->value, &e1, 10), b = strtol(v, &e2, 10);

		while (*e1 == ' ')
			e1++;
		while (*e2 == ' ')
			e2++;
		if (*e1 == '\0' && *e2 == '\0' && e1 != k->value && e2 != v)
			return a == b;
	}
	if (vr_is(k->attr, "DA") || vr_is(k->attr, "TM") || vr_is(k->attr, "DT")) {
		char a[24], b[24];

		if (!valid_temporal(k->attr, v, vl))
			return 0;
		temporal_norm(k->attr, k->value, kl, 0, a);
		temporal_norm(k->attr, v, vl, 0, b);
		return strcmp(a, b) == 0;
	}
	return kl == vl && memcmp(k->value, v, kl) == 0;
}

static int
match_list(const struct query_key *k, const char *v)
{
	const char *p = k->value;
	size_t vl = strlen(v);

	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\0'))
		vl--;
	for (;;) {
		const char *e = strchr(p, '\\');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n == vl && memcmp(p, v, n) == 0)
			return 1;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

int
query_key_match(const struct query_key *k, const char *v)
{
	if (k->kind == QK_UNIVERSAL)
		return 1;
	if (v == NULL)
		return 0;
	switch (k->kind) {
	case QK_SINGLE:
		return match_single(k, v);
	case QK_LIST:
		return match_list(k, v);
	case QK_WILD: {
		char tmp[512];
		size_t vl = strlen(v);

		while (vl > 0 && v[vl - 1] == ' ')
			vl--;
		if (vl >= sizeof(tmp))
			vl = sizeof(tmp) - 1;
		memcpy(tmp, v, vl);
		tmp[vl] = '\0';
		if (vr_is(k->attr, "PN")) {
			vl = pn_trim(tmp, vl);
			tmp[vl] = '\0';
		}
		return query_wild_match(k->value, tmp, vr_is(k->attr, "PN"));
	}
	case QK_RANGE:
		return match_range(k, v);
	}
	return 0;
}

int
query_key_match_any(const struct query_key *k, const char *v)
{
	char one[512];

	if (k->kind == QK_UNIVERSAL)
		return 1;
	if (v == NULL)
		return 0;
	for (;;) {
		const char *e = strchr(v, '\\');
		size_t n = e != NULL ? (size_t)(e - v) : strlen(v);

		if (n >= sizeof(one))
			n = sizeof(one) - 1;
		memcpy(one, v, n);
		one[n] = '\0';
		if (query_key_match(k, one))
			return 1;
		if (e == NULL)
			return 0;
		v = e + 1;
	}
}
