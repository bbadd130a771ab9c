/* profile.c: PS3.15 Table E.1-1 lookups and option resolution. */
#include "profile_table.h"
#include "pacsvault/dicom/vr.h"

#include <stddef.h>
#include <string.h>

const struct deid_rule *
deid_profile_rule(uint32_t tag)
{
	unsigned lo = 0, hi = deid_rules_exact_count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (deid_rules_exact[mid].tag == tag)
			return &deid_rules_exact[mid];
		if (deid_rules_exact[mid].tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (unsigned i = 0; i < deid_rules_masked_count; i++)
		if ((tag & deid_rules_masked[i].mask) == deid_rules_masked[i].tag)
			return &deid_rules_masked[i];
	return NULL;
}

const struct deid_rule *
deid_profile_private_rule(void)
{
	return &deid_rule_private;
}

/* Higher is more conservative: it removes or replaces more. */
static int
strictness(enum deid_action a)
{
	switch (a) {
	case DEID_A_X: case DEID_A_XZ: case DEID_A_XD: case DEID_A_XZD: case DEID_A_XZU: return 6;
	case DEID_A_Z: case DEID_A_ZD: return 5;
	case DEID_A_D: return 4;
	case DEID_A_U: return 3;
	case DEID_A_C: return 2;
	case DEID_A_K: return 1;
	default: return 0;
	}
}

enum deid_action
deid_profile_action(const struct deid_rule *rule, unsigned opts)
{
	enum deid_action best = DEID_A_NONE;

	if (rule == NULL)
		return DEID_A_NONE;
	/* PS3.15 E.3: an option's action replaces the Basic Profile's. */
	for (unsigned o = 0; o < DEID_OPT_COUNT; o++) {
		enum deid_action a = (enum deid_action)rule->opt[o];
		if (!(opts & DEID_OPT_BIT(o)) || a == DEID_A_NONE)
			continue;
		if (best == DEID_A_NONE || strictness(a) > strictness(best))
			best = a;
	}
	return best != DEID_A_NONE ? best : (enum deid_action)rule->basic;
}

const char *
deid_action_name(enum deid_action a)
{
	static const char *const names[DEID_A_COUNT] = {
		"-", "D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"
	};
	return (unsigned)a < DEID_A_COUNT ? names[a] : "?";
}

const char *
deid_option_flag(enum deid_option o)
{
	static const char *const flags[DEID_OPT_COUNT] = {
		"retain-safe-private", "retain-uids", "retain-device-identity",
		"retain-institution-identity", "retain-patient-characteristics",
		"retain-full-dates", "retain-modified-dates", "clean-descriptors",
		"clean-structured-content", "clean-graphics",
	};
	return (unsigned)o < DEID_OPT_COUNT ? flags[o] : "?";
}

const char *
deid_profile_edition(void)
{
	return deid_profile_edition_str;
}

unsigned
deid_profile_row_count(void)
{
	return deid_profile_rows;
}

const struct deid_safe_private *
deid_safe_private_find(uint16_t group, uint8_t offset, const char *creator, size_t n)
{
	unsigned lo = 0, hi = deid_safe_private_count;

	while (n > 0 && (creator[n - 1] == ' ' || creator[n - 1] == '\0'))
		n--;
	/* First row of (group, offset), then scan its creators. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct deid_safe_private *r = &deid_safe_private_table[mid];
		if (r->group < group || (r->group == group && r->offset < offset))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < deid_safe_private_count; lo++) {
		const struct deid_safe_private *r = &deid_safe_private_table[lo];
		if (r->group != group || r->offset != offset)
			break;
		if (strlen(r->creator) == n && memcmp(r->creator, creator, n) == 0)
			return r;
	}
	return NULL;
}

int
deid_safe_private(uint16_t group, uint8_t offset, const char *creator, size_t n)
{
	return deid_safe_private_find(group, offset, creator, n) != NULL;
}

/*
 * Standard attributes that Table E.1-1 does not list, whose VR can carry
 * free text (PN, LO, SH, ST, LT, UT, UC, AE, UR), and that are kept
 * (their text still cleaned): coded vocabulary, the equipment's make,
 * model and software, acquisition and processing technique, pixel value
 * descriptions. Reviewed one by one; docs/DEID.md gives the reasons.
 * Every other unlisted free-text attribute is removed (Basic Profile) or
 * cleaned (Clean Descriptors). Sorted for binary search.
 */
static const uint32_t safe_text[] = {
	0x00080070, /* Manufacturer */
	0x00080100, /* CodeValue */
	0x00080102, /* CodingSchemeDesignator */
	0x00080103, /* CodingSchemeVersion */
	0x00080104, /* CodeMeaning */
	0x00080112, /* CodingSchemeRegistry */
	0x00080119, /* LongCodeValue */
	0x00080120, /* URNCodeValue */
	0x00080122, /* MappingResourceName */
	0x00080222, /* ManufacturerRelatedModelGroup */
	0x00080302, /* PrivateCreatorReference */
	0x00081090, /* ManufacturerModelName */
	0x00082120, /* StageName */
	0x00082127, /* ViewName */
	0x00102201, /* PatientSpeciesDescription */
	0x00102292, /* PatientBreedDescription */
	0x00120063, /* DeidentificationMethod (written by deid) */
	0x00180024, /* SequenceName */
	0x00180031, /* Radiopharmaceutical */
	0x00180085, /* ImagedNucleus */
	0x00181016, /* SecondaryCaptureDeviceManufacturer */
	0x00181018, /* SecondaryCaptureDeviceManufacturerModelName */
	0x00181019, /* SecondaryCaptureDeviceSoftwareVersions */
	0x00181020, /* SoftwareVersions */
	0x00181022, /* VideoImageFormatAcquired */
	0x00181023, /* DigitalImageFormatAcquired */
	0x00181040, /* ContrastBolusRoute */
	0x00181061, /* TriggerSourceOrType */
	0x00181064, /* CardiacFramingType */
	0x00181070, /* RadiopharmaceuticalRoute */
	0x00181085, /* PVCRejection */
	0x00181160, /* FilterType */
	0x00181161, /* TypeOfFilters */
	0x001811B0, /* AcquisitionMode */
	0x00181210, /* ConvolutionKernel */
	0x00181250, /* ReceiveCoilName */
	0x00181251, /* TransmitCoilName */
	0x00181260, /* PlateType */
	0x00181261, /* PhosphorType */
	0x00185010, /* TransducerData */
	0x00185020, /* ProcessingFunction */
	0x0018702A, /* DetectorManufacturerName */
	0x0018702B, /* DetectorManufacturerModelName */
	0x00189005, /* PulseSequenceName */
	0x00189041, /* ReceiveCoilManufacturerName */
	0x00189046, /* MultiCoilConfiguration */
	0x00189047, /* MultiCoilElementName */
	0x00189050, /* TransmitCoilManufacturerName */
	0x00189320, /* ImageFilter */
	0x00189524, /* ApplicationName */
	0x00189525, /* ApplicationVersion */
	0x00189526, /* ApplicationManufacturer */
	0x00209213, /* DimensionIndexPrivateCreator */
	0x00209238, /* FunctionalGroupPrivateCreator */
	0x00209421, /* DimensionDescriptionLabel */
	0x00281054, /* RescaleType */
	0x00281055, /* WindowCenterWidthExplanation */
	0x00283003, /* LUTExplanation */
	0x00283004, /* ModalityLUTType */
	0x00409210, /* LUTLabel */
	0x00420012, /* MIMETypeOfEncapsulatedDocument */
	0x00420014, /* ListOfMIMETypes */
	0x00540018, /* EnergyWindowName */
	0x00541101, /* AttenuationCorrectionMethod */
	0x00541103, /* ReconstructionMethod */
	0x00541104, /* DetectorLinesOfResponseUsed */
	0x00541105, /* ScatterCorrectionMethod */
	0x00620005, /* SegmentLabel */
	0x00620009, /* SegmentAlgorithmName */
	0x00700227, /* FontName */
	0x00700229, /* CSSFontName */
	0x00720054, /* SelectorSequencePointerPrivateCreator */
	0x00720056, /* SelectorAttributePrivateCreator */
	0x00741056, /* AttributeOccurrencePrivateCreator */
	0x300A00C2, /* BeamName */
	0x300A0226, /* SourceIsotopeName */
	0x3010001A, /* ManufacturerModelVersion */
};

int
deid_text_vr(enum dcm_vr vr)
{
	switch (vr) {
	case DCM_VR_PN: case DCM_VR_LO: case DCM_VR_SH: case DCM_VR_ST: case DCM_VR_LT:
	case DCM_VR_UT: case DCM_VR_UC: case DCM_VR_AE: case DCM_VR_UR:
		return 1;
	default:
		return 0;
	}
}

int
deid_safe_text(uint32_t tag)
{
	unsigned lo = 0, hi = sizeof(safe_text) / sizeof(safe_text[0]);

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (safe_text[mid] == tag)
			return 1;
		if (safe_text[mid] < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

const struct deid_method_code *
deid_method_code(int option)
{
	for (unsigned i = 0; i < deid_cid7050_count; i++)
		if (deid_cid7050[i].option == option)
			return &deid_cid7050[i];
	return NULL;
}
