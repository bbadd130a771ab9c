/* fuzz.h: libFuzzer entry points, renamed for the replay binary. */
#ifndef PV_FUZZ_H
#define PV_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int fuzz_reader_one(const uint8_t *data, size_t size);
int fuzz_roundtrip_one(const uint8_t *data, size_t size);
int fuzz_deid_one(const uint8_t *data, size_t size);
int fuzz_recipe_one(const uint8_t *data, size_t size);
int fuzz_rle_one(const uint8_t *data, size_t size);
int fuzz_jpegll_one(const uint8_t *data, size_t size);
int fuzz_jpeg_one(const uint8_t *data, size_t size);
int fuzz_jpegdct_one(const uint8_t *data, size_t size);
int fuzz_jpegls_one(const uint8_t *data, size_t size);
int fuzz_pixrules_one(const uint8_t *data, size_t size);
int fuzz_j2k_one(const uint8_t *data, size_t size);
int fuzz_note_one(const uint8_t *data, size_t size);
int fuzz_scan_one(const uint8_t *data, size_t size);
int fuzz_vault_one(const uint8_t *data, size_t size);
int fuzz_event_one(const uint8_t *data, size_t size);
int fuzz_jpegmeta_one(const uint8_t *data, size_t size);
int fuzz_textclean_one(const uint8_t *data, size_t size);
int fuzz_ingest_one(const uint8_t *data, size_t size);
int fuzz_pdu_one(const uint8_t *data, size_t size);
int fuzz_ini_one(const uint8_t *data, size_t size);
int fuzz_assoc_one(const uint8_t *data, size_t size);
int fuzz_http_one(const uint8_t *data, size_t size);

#ifdef PV_REPLAY
#define PV_FUZZ_ENTRY(fn) /* replay.c calls fn directly */
#else
#define PV_FUZZ_ENTRY(fn) \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fn(data, size); }
#endif

#endif
