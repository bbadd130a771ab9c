/* ts.c: the transfer syntax table (PS3.6 Table A-1, PS3.5 10 and A.4). */
#include "pacsvault/dicom/ts.h"

#include <string.h>

#define NATIVE(uid, name, kw, ex, be, dfl) { uid, name, kw, ex, be, dfl, 0, 0, 1 }
#define ENCAP(uid, name) { uid, name, NULL, 1, 0, 0, 1, 0, 1 }
#define ENCAP_RET(uid, name) { uid, name, NULL, 1, 0, 0, 1, 1, 1 }

static const struct dcm_ts ts_table[] = {
	NATIVE(DCM_TS_IMPLICIT_LE, "Implicit VR Little Endian", "implicit-le", 0, 0, 0),
	NATIVE(DCM_TS_EXPLICIT_LE, "Explicit VR Little Endian", "explicit-le", 1, 0, 0),
	NATIVE(DCM_TS_DEFLATED_LE, "Deflated Explicit VR Little Endian", "deflated-le", 1, 0, 1),
	{ DCM_TS_EXPLICIT_BE, "Explicit VR Big Endian", "explicit-be", 1, 1, 0, 0, 1, 1 },
	ENCAP("1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian"),
	ENCAP("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
	ENCAP("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
	ENCAP_RET("1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5)"),
	ENCAP_RET("1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)"),
	ENCAP_RET("1.2.840.10008.1.2.4.54", "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)"),
	ENCAP_RET("1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12)"),
	ENCAP_RET("1.2.840.10008.1.2.4.56", "JPEG Full Progression, Non-Hierarchical (Process 11 & 13)"),
	ENCAP("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
	ENCAP_RET("1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15)"),
	ENCAP_RET("1.2.840.10008.1.2.4.59", "JPEG Extended, Hierarchical (Process 16 & 18)"),
	ENCAP_RET("1.2.840.10008.1.2.4.60", "JPEG Extended, Hierarchical (Process 17 & 19)"),
	ENCAP_RET("1.2.840.10008.1.2.4.61", "JPEG Spectral Selection, Hierarchical (Process 20 & 22)"),
	ENCAP_RET("1.2.840.10008.1.2.4.62", "JPEG Spectral Selection, Hierarchical (Process 21 & 23)"),
	ENCAP_RET("1.2.840.10008.1.2.4.63", "JPEG Full Progression, Hierarchical (Process 24 & 26)"),
	ENCAP_RET("1.2.840.10008.1.2.4.64", "JPEG Full Progression, Hierarchical (Process 25 & 27)"),
	ENCAP_RET("1.2.840.10008.1.2.4.65", "JPEG Lossless, Hierarchical (Process 28)"),
	ENCAP_RET("1.2.840.10008.1.2.4.66", "JPEG Lossless, Hierarchical (Process 29)"),
	ENCAP("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"),
	ENCAP("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
	ENCAP("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)"),
	ENCAP("1.2.840.10008.1.2.4.90", "JPEG 2000 (Lossless Only)"),
	ENCAP("1.2.840.10008.1.2.4.91", "JPEG 2000"),
	ENCAP("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component (Lossless Only)"),
	ENCAP("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component"),
	/* JPIP: the pixel data is referenced, not encapsulated (PS3.5 A.6). */
	NATIVE("1.2.840.10008.1.2.4.94", "JPIP Referenced", NULL, 1, 0, 0),
	NATIVE("1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", NULL, 1, 0, 1),
	ENCAP("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
	ENCAP("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"),
	ENCAP("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"),
	ENCAP("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"),
	ENCAP("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"),
	ENCAP("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"),
	ENCAP("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"),
	ENCAP("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1"),
	ENCAP("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1"),
	ENCAP("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 (Lossless Only)"),
	ENCAP("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)"),
	ENCAP("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"),
	ENCAP("1.2.840.10008.1.2.5", "RLE Lossless"),
	ENCAP("1.2.840.10008.1.2.6.1", "RFC 2557 MIME encapsulation"),
	ENCAP("1.2.840.10008.1.2.6.2", "XML Encoding"),
	ENCAP("1.2.840.10008.1.2.7.1", "SMPTE ST 2110-20 Uncompressed Progressive Active Video"),
	ENCAP("1.2.840.10008.1.2.7.2", "SMPTE ST 2110-20 Uncompressed Interlaced Active Video"),
	ENCAP("1.2.840.10008.1.2.7.3", "SMPTE ST 2110-30 PCM Digital Audio"),
};

static const struct dcm_ts ts_unknown = {
	"", "Unknown (read as Explicit VR Little Endian)", NULL, 1, 0, 0, 1, 0, 0
};

const struct dcm_ts *
dcm_ts_lookup(const char *uid, size_t n)
{
	while (n > 0 && (uid[n - 1] == '\0' || uid[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < sizeof(ts_table) / sizeof(ts_table[0]); i++)
		if (strlen(ts_table[i].uid) == n && memcmp(ts_table[i].uid, uid, n) == 0)
			return &ts_table[i];
	return NULL;
}

const struct dcm_ts *
dcm_ts_unknown(void)
{
	return &ts_unknown;
}

const struct dcm_ts *
dcm_ts_by_keyword(const char *keyword)
{
	for (size_t i = 0; i < sizeof(ts_table) / sizeof(ts_table[0]); i++)
		if (ts_table[i].keyword != NULL && strcmp(ts_table[i].keyword, keyword) == 0)
			return &ts_table[i];
	return NULL;
}

const struct dcm_ts *
dcm_ts_at(size_t i)
{
	return i < sizeof(ts_table) / sizeof(ts_table[0]) ? &ts_table[i] : NULL;
}
