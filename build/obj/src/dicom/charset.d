build/obj/src/dicom/charset.o: src/dicom/charset.c \
 include/pacsvault/dicom/charset.h include/pacsvault/base/buf.h \
 include/pacsvault/dicom/vr.h include/pacsvault/base/err.h
include/pacsvault/dicom/charset.h:
include/pacsvault/base/buf.h:
include/pacsvault/dicom/vr.h:
include/pacsvault/base/err.h:
