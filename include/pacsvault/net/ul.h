/*
 * ul.h: the DICOM upper layer's PDUs (PS3.8 section 9.3): parsed from
 * bytes a peer sent, every length checked against the PDU's and the
 * item's, and built for sending. No I/O here: net/assoc.c moves the bytes
 * and runs the state table. docs/CONFORMANCE.md.
 *
 * A parsed A-ASSOCIATE-RQ or -AC borrows nothing: every field is copied
 * into the structure (the user identity fields up to UL_IDENTITY_MAX).
 */
#ifndef PV_NET_UL_H
#define PV_NET_UL_H
#include <stddef.h>
#include <stdint.h>
#include "pacsvault/base/buf.h"
#include "pacsvault/base/err.h"

enum {
	UL_ASSOCIATE_RQ = 0x01,
	UL_ASSOCIATE_AC = 0x02,
	UL_ASSOCIATE_RJ = 0x03,
	UL_P_DATA_TF = 0x04,
	UL_RELEASE_RQ = 0x05,
	UL_RELEASE_RP = 0x06,
	UL_ABORT = 0x07,
};

#define UL_HEADER 6                  /* type, reserved, 32-bit big-endian length */
#define UL_PDU_MAX ((uint32_t)1 << 24)   /* the largest PDU accepted from a peer: 16 MiB */
#define UL_MAX_PCTX 128              /* presentation context IDs are odd, 1..255 */
#define UL_MAX_TS 32                 /* transfer syntaxes proposed in one context */
#define UL_UID_MAX 64
#define UL_IDENTITY_MAX 4096         /* a user identity field (user name, passcode, token) */
#define UL_APP_CONTEXT "1.2.840.10008.3.1.1.1"

/* Presentation context results (PS3.8 table 9-18). */
enum {
	UL_PC_ACCEPT = 0,
	UL_PC_USER_REJECT = 1,
	UL_PC_NO_REASON = 2,
	UL_PC_ABSTRACT_NOT_SUPPORTED = 3,
	UL_PC_TS_NOT_SUPPORTED = 4,
};

struct ul_pctx {
	uint8_t id;
	uint8_t result;                    /* AC: UL_PC_* */
	char abstract[UL_UID_MAX + 1];     /* RQ only */
	char ts[UL_MAX_TS][UL_UID_MAX + 1];  /* RQ: proposed; AC: the one accepted (ts[0]) */
	size_t nts;
};

struct ul_role {
	char uid[UL_UID_MAX + 1];
	uint8_t scu, scp;
};

/* User Identity Negotiation (PS3.7 D.3.3.7): 1 user name, 2 user name and passcode, 3 Kerberos, 4 SAML, 5 JWT. */
struct ul_identity {
	uint8_t type, positive_response;
	uint8_t primary[UL_IDENTITY_MAX];
	size_t nprimary;
	uint8_t secondary[UL_IDENTITY_MAX];
	size_t nsecondary;
};

struct ul_assoc {
	uint8_t type;                      /* UL_ASSOCIATE_RQ or _AC */
	uint16_t version;
	char called[17], calling[17];      /* AE titles, leading and trailing spaces removed */
	char app_context[UL_UID_MAX + 1];
	struct ul_pctx pc[UL_MAX_PCTX];
	size_t npc;
	uint32_t max_pdu;                  /* the largest P-DATA-TF the sender takes (0: no limit) */
	char impl_uid[UL_UID_MAX + 1];
	char impl_version[17];
	int has_async;
	uint16_t async_invoked, async_performed;
	struct ul_role roles[UL_MAX_PCTX];
	size_t nroles;
	int has_identity;                  /* RQ: identity (below); AC: server response */
	struct ul_identity identity;
	uint8_t id_response[UL_IDENTITY_MAX];
	size_t nid_response;
};

struct ul_reject {
	uint8_t result, source, reason;    /* PS3.8 table 9-21 */
};

struct ul_abort {
	uint8_t source, reason;
};

/* One presentation data value of a P-DATA-TF (borrowed from the PDU's bytes). */
struct ul_pdv {
	uint8_t ctx;
	int command, last;                 /* message control header: command or data set, last fragment */
	const uint8_t *data;
	size_t len;
};

/*
 * The type and body length of the PDU whose 6-byte header is h: 0, or
 * PV_EPARSE for an unknown type, PV_ELIMIT for a length over max.
 */
int ul_header(const uint8_t h[UL_HEADER], uint32_t max, uint8_t *type, uint32_t *len, struct pv_diag *d)
    __attribute__((warn_unused_result));

/* Parses the body (after the header) of an A-ASSOCIATE-RQ or -AC of the given type. */
int ul_parse_assoc(uint8_t type, const uint8_t *body, size_t n, struct ul_assoc *a, struct pv_diag *d)
    __attribute__((warn_unused_result));
int ul_parse_reject(const uint8_t *body, size_t n, struct ul_reject *r, struct pv_diag *d)
    __attribute__((warn_unused_result));
int ul_parse_abort(const uint8_t *body, size_t n, struct ul_abort *r, struct pv_diag *d)
    __attribute__((warn_unused_result));
/* A-RELEASE-RQ and -RP bodies: four reserved bytes. */
int ul_parse_release(const uint8_t *body, size_t n, struct pv_diag *d) __attribute__((warn_unused_result));

/*
 * The PDVs of a P-DATA-TF body, one by one: *off starts at 0; 1 with pdv
 * filled, 0 at the end, or an error (a PDV item shorter than 2 bytes or
 * past the body).
 */
int ul_next_pdv(const uint8_t *body, size_t n, size_t *off, struct ul_pdv *pdv, struct pv_diag *d)
    __attribute__((warn_unused_result));

/* Builders: the whole PDU (header included) appended to out. */
int ul_build_assoc(const struct ul_assoc *a, struct pv_buf *out) __attribute__((warn_unused_result));
int ul_build_reject(const struct ul_reject *r, struct pv_buf *out) __attribute__((warn_unused_result));
int ul_build_abort(uint8_t source, uint8_t reason, struct pv_buf *out) __attribute__((warn_unused_result));
int ul_build_release(uint8_t type, struct pv_buf *out) __attribute__((warn_unused_result));
/* One P-DATA-TF holding one PDV. */
int ul_build_pdata(uint8_t ctx, int command, int last, const void *data, size_t n, struct pv_buf *out)
    __attribute__((warn_unused_result));

#endif
