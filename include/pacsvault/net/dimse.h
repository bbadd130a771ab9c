/*
 * dimse.h: DIMSE command sets (PS3.7 section 9 and 10, annex E): group
 * 0000 in Implicit VR Little Endian, parsed from what a peer sent and
 * built for answers. The data set that may follow a command is the
 * caller's (the DICOM codec's).
 */
#ifndef PV_NET_DIMSE_H
#define PV_NET_DIMSE_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

enum {
	DIMSE_C_STORE_RQ = 0x0001, DIMSE_C_STORE_RSP = 0x8001,
	DIMSE_C_GET_RQ = 0x0010, DIMSE_C_GET_RSP = 0x8010,
	DIMSE_C_FIND_RQ = 0x0020, DIMSE_C_FIND_RSP = 0x8020,
	DIMSE_C_MOVE_RQ = 0x0021, DIMSE_C_MOVE_RSP = 0x8021,
	DIMSE_C_ECHO_RQ = 0x0030, DIMSE_C_ECHO_RSP = 0x8030,
	DIMSE_N_EVENT_REPORT_RQ = 0x0100, DIMSE_N_EVENT_REPORT_RSP = 0x8100,
	DIMSE_N_ACTION_RQ = 0x0130, DIMSE_N_ACTION_RSP = 0x8130,
	DIMSE_C_CANCEL_RQ = 0x0FFF,
};

#define DIMSE_NO_DATASET 0x0101      /* CommandDataSetType: no data set follows */
#define DIMSE_CMD_MAX 65536          /* the largest command set accepted */

/* Statuses used here (PS3.7 annex C). */
enum {
	DIMSE_SUCCESS = 0x0000,
	DIMSE_PENDING = 0xFF00,
	DIMSE_CANCEL = 0xFE00,
	DIMSE_REFUSED_NOT_AUTHORIZED = 0x0124,
	DIMSE_SOP_CLASS_NOT_SUPPORTED = 0x0122,
	DIMSE_OUT_OF_RESOURCES = 0xA700,
	DIMSE_OUT_OF_RESOURCES_SUBOPS = 0xA702,
	DIMSE_MOVE_DEST_UNKNOWN = 0xA801,
	DIMSE_DATASET_NO_MATCH = 0xA900,   /* C-STORE: data set does not match SOP class */
	DIMSE_CANNOT_UNDERSTAND = 0xC000,
	DIMSE_IDENTIFIER_NO_MATCH = 0xA900,
	DIMSE_UNABLE_TO_PROCESS = 0xC001,
	DIMSE_SUBOPS_WARNING = 0xB000,
	DIMSE_PROCESSING_FAILURE = 0x0110,
	DIMSE_DUPLICATE_INVOCATION = 0x0210,
	DIMSE_UNRECOGNIZED_OPERATION = 0x0211,
};

struct dimse_cmd {
	uint16_t field;                       /* CommandField */
	uint16_t msg_id, responded_id;        /* MessageID, MessageIDBeingRespondedTo */
	uint16_t dataset_type;                /* CommandDataSetType (DIMSE_NO_DATASET: none) */
	uint16_t priority, status;
	int has_status, has_subops;
	char affected_class[65], affected_inst[65];
	char requested_class[65], requested_inst[65];
	char move_dest[17], move_orig_ae[17];
	uint16_t move_orig_id;
	uint16_t remaining, completed, failed, warning;
	uint16_t event_type, action_type;
	char error_comment[65];
};

/* Parses a whole command set (the command PDVs reassembled). */
int dimse_parse(const uint8_t *p, size_t n, struct dimse_cmd *c, struct pv_diag *d)
    __attribute__((warn_unused_result));

/* Builds c (its group length computed), appended to out. Fields that are empty or 0 are left out where optional. */
int dimse_build(const struct dimse_cmd *c, struct pv_buf *out) __attribute__((warn_unused_result));

/* A readable name ("C-STORE-RQ"), or "unknown". */
const char *dimse_name(uint16_t field);

#endif
