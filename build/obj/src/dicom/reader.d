build/obj/src/dicom/reader.o: src/dicom/reader.c \
 include/pacsvault/dicom/reader.h include/pacsvault/base/err.h \
 include/pacsvault/dicom/dict.h include/pacsvault/dicom/vr.h \
 include/pacsvault/dicom/ts.h include/pacsvault/base/buf.h \
 include/pacsvault/base/mem.h
include/pacsvault/dicom/reader.h:
include/pacsvault/base/err.h:
include/pacsvault/dicom/dict.h:
include/pacsvault/dicom/vr.h:
include/pacsvault/dicom/ts.h:
include/pacsvault/base/buf.h:
include/pacsvault/base/mem.h:
