/* dict.c: data dictionary lookups (PS3.6). */
#include "dict_table.h"

#include <string.h>

const struct dcm_dict_entry *
dcm_dict_lookup(uint32_t tag)
{
	/* Data sets are in tag order: the entry is usually just after the last one. */
	static _Thread_local unsigned hint;
	unsigned lo = 0, hi = dcm_dict_exact_count;
	uint16_t g = DCM_GROUP(tag), e = DCM_ELEM(tag);

	if (hint < dcm_dict_exact_count && dcm_dict_exact[hint].tag <= tag) {
		/* Gallop forward from the last hit, then search that span only. */
		unsigned step = 1;
		while (hint + step < dcm_dict_exact_count && dcm_dict_exact[hint + step].tag <= tag)
			step *= 2;
		lo = hint + step / 2;
		hi = hint + step < dcm_dict_exact_count ? hint + step + 1 : dcm_dict_exact_count;
	}
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		uint32_t t = dcm_dict_exact[mid].tag;
		if (t == tag) {
			hint = mid + 1;
			return &dcm_dict_exact[mid];
		}
		if (t < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (unsigned i = 0; i < dcm_dict_range_count; i++) {
		const struct dcm_dict_range *r = &dcm_dict_ranges[i];
		if (g < r->glo || g > r->ghi || e < r->elo || e > r->ehi)
			continue;
		if ((r->gpar == 0 && (g & 1)) || (r->gpar == 1 && !(g & 1)))
			continue;
		if ((r->epar == 0 && (e & 1)) || (r->epar == 1 && !(e & 1)))
			continue;
		return &r->e;
	}
	return NULL;
}

enum dcm_vr
dcm_dict_vr(uint32_t tag)
{
	const struct dcm_dict_entry *de;

	if (DCM_ELEM(tag) == 0)
		return DCM_VR_UL;
	if (DCM_IS_PRIVATE_CREATOR(tag))
		return DCM_VR_LO;
	if (DCM_IS_PRIVATE(tag))
		return DCM_VR_UN;
	de = dcm_dict_lookup(tag);
	return de != NULL ? (enum dcm_vr)de->vr : DCM_VR_UN;
}

uint32_t
dcm_dict_find_keyword(const char *keyword, int *found)
{
	for (unsigned i = 0; i < dcm_dict_exact_count; i++) {
		if (strcmp(dcm_dict_keyword(&dcm_dict_exact[i]), keyword) == 0) {
			*found = 1;
			return dcm_dict_exact[i].tag;
		}
	}
	*found = 0;
	return 0;
}

const char *
dcm_dict_edition(void)
{
	return dcm_dict_edition_str;
}

unsigned
dcm_dict_size(void)
{
	return dcm_dict_exact_count;
}

void
dcm_tag_path(char *out, size_t outsz, const char *path, uint32_t tag)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = strlen(path), k = 0;
	char t[10];

	if (outsz == 0)
		return;
	if (n > 0)
		t[k++] = '.';
	for (int sh = 28; sh >= 0; sh -= 4)
		t[k++] = hexd[(tag >> sh) & 15];
	if (n >= outsz)
		n = outsz - 1;
	memmove(out, path, n);
	if (k > outsz - 1 - n)
		k = outsz - 1 - n;
	memcpy(out + n, t, k);
	out[n + k] = '\0';
}
