/* tests.h: the unit tests, registered in main.c. */
#ifndef PV_TESTS_H
#define PV_TESTS_H

#define PV_TEST_LIST(X) \
	X(test_err_strings) \
	X(test_pix_blank) \
	X(test_rle_round_trip) \
	X(test_jpeg_lossless_round_trip) \
	X(test_jpegls_round_trip) \
	X(test_jpeg_dct_blank) \
	X(test_jpegdct_against_libjpeg) \
	X(test_pixel_rules) \
	X(test_pixel_rules_outside_regions) \
	X(test_record_number_detector) \
	X(test_resident_id_detector) \
	X(test_scan_mask) \
	X(test_text_regions) \
	X(test_j2k_comments) \
	X(test_merkle_probes) \
	X(test_merkle_8leaf_reference) \
	X(test_merkle_exhaustive_64) \
	X(test_note_keys) \
	X(test_note_vkey_parse) \
	X(test_note_open_vectors) \
	X(test_note_sign_and_checkpoint) \
	X(test_diag_sticky_and_format) \
	X(test_arena) \
	X(test_checked_sizes) \
	X(test_buf_bounded) \
	X(test_siphash_vector) \
	X(test_log_no_control_chars) \
	X(test_atomic_write) \
	X(test_pixfix) \
	X(test_mkdir_p) \
	X(test_pool_runs_each_job_once) \
	X(test_json_writer) \
	X(test_vr_table) \
	X(test_dictionary) \
	X(test_transfer_syntaxes) \
	X(test_uids) \
	X(test_charsets) \
	X(test_value_format) \
	X(test_reader_syntaxes) \
	X(test_reader_rejects_bad_lengths) \
	X(test_reader_odd_length_warns) \
	X(test_writer_round_trip_all_syntaxes) \
	X(test_sha256_hmac_vectors) \
	X(test_random_cleanse_compare) \
	X(test_keyfile) \
	X(test_profile_table) \
	X(test_text_clean) \
	X(test_text_clean_unicode) \
	X(test_pseudonyms_and_dates) \
	X(test_engine_basic_profile) \
	X(test_engine_options) \
	X(test_recipe) \
	X(test_sealed_vectors) \
	X(test_sealed_tamper) \
	X(test_sealed_small) \
	X(test_query_matching) \
	X(test_audit_event_encoding) \
	X(test_log_journal) \
	X(test_svc_slow_query_consumer) \
	X(test_svc_roles_and_egress) \
	X(test_svc_research_held) \
	X(test_svc_admin_roles) \
	X(test_svc_audit_group_commit) \
	X(test_net_assoc_roundtrip) \
	X(test_net_pdata_and_dimse) \
	X(test_net_http_framing) \
	X(test_net_http_chunked)

#define PV_DECLARE_TEST(name) void name(void);
PV_TEST_LIST(PV_DECLARE_TEST)

#endif
