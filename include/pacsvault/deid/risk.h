/*
 * risk.h: re-identification risk of a data set by its quasi-identifiers
 * (`pacsvault risk`).
 *
 * One record per patient (by PatientID, else by StudyInstanceUID), with
 * the quasi-identifiers of the patient's earliest study: sex, age (from
 * PatientAge, else birth date and study date), birth year, study date,
 * institution, station, manufacturer, model, body part, modality and
 * protocol. Patients with equal values form an equivalence class; a
 * patient in a class of size k is "k-anonymous"; the set is as anonymous
 * as its smallest class. Generalisations (ages to 5- or 10-year bands,
 * dates to months or years, suppressing an attribute) merge classes.
 */
#ifndef PV_DEID_RISK_H
#define PV_DEID_RISK_H

#include <stddef.h>
#include <stdint.h>

#include "pacsvault/dicom/dataset.h"

enum risk_qi {
	RQ_SEX = 0, RQ_AGE, RQ_BIRTH_YEAR, RQ_STUDY_DATE, RQ_INSTITUTION, RQ_STATION, RQ_MANUFACTURER,
	RQ_MODEL, RQ_BODY_PART, RQ_MODALITY, RQ_PROTOCOL, RQ_COUNT
};

#define RISK_QI_ALL ((1u << RQ_COUNT) - 1)

struct risk_record {
	char key[68];
	char study_date[9];                 /* of the study the values come from */
	char v[RQ_COUNT][48];               /* "" when absent */
};

struct risk_set {
	struct risk_record *r;
	size_t n, cap;
	uint32_t *index;                    /* open addressing over keys */
	size_t index_cap;
};

/* A generalisation of the values before classes are formed. */
struct risk_gen {
	unsigned age_band;      /* 0: years as they are; 5, 10: bands */
	unsigned date_level;    /* 0: day; 1: month; 2: year */
	unsigned birth_decade;  /* birth years to decades */
	unsigned suppressed;    /* bits of enum risk_qi left out */
};

struct risk_result {
	size_t patients, classes, kmin;
	size_t below_k;         /* patients in classes smaller than the target k */
	size_t unique;          /* patients alone in their class */
	size_t hist[6];         /* class sizes 1, 2, 3, 4, 5-9, 10+ (patients in them) */
};

const char *risk_qi_name(enum risk_qi q);
/* Parses "sex,age,study-date,..." into a bit set; -1 on an unknown name. */
int risk_qi_parse(const char *list, unsigned *mask);

/* Adds f's patient (or updates it when this study is earlier). */
int risk_add_file(struct risk_set *s, struct dcm_file *f) __attribute__((warn_unused_result));
void risk_set_free(struct risk_set *s);

/* Classes over the attributes of mask (minus g->suppressed), generalised by g, against target k. */
int risk_eval(const struct risk_set *s, unsigned mask, const struct risk_gen *g, size_t k, struct risk_result *out)
	__attribute__((warn_unused_result));

#endif
