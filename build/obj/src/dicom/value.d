build/obj/src/dicom/value.o: src/dicom/value.c \
 include/pacsvault/dicom/value.h include/pacsvault/base/buf.h \
 include/pacsvault/dicom/charset.h include/pacsvault/dicom/vr.h \
 include/pacsvault/base/err.h
include/pacsvault/dicom/value.h:
include/pacsvault/base/buf.h:
include/pacsvault/dicom/charset.h:
include/pacsvault/dicom/vr.h:
include/pacsvault/base/err.h:
