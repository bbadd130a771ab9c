build/obj/src/dicom/writer.o: src/dicom/writer.c \
 include/pacsvault/dicom/writer.h include/pacsvault/base/buf.h \
 include/pacsvault/base/err.h include/pacsvault/dicom/dataset.h \
 include/pacsvault/base/mem.h include/pacsvault/dicom/reader.h \
 include/pacsvault/dicom/dict.h include/pacsvault/dicom/vr.h \
 include/pacsvault/dicom/ts.h include/pacsvault/base/fsutil.h \
 include/pacsvault/dicom/value.h include/pacsvault/dicom/charset.h
include/pacsvault/dicom/writer.h:
include/pacsvault/base/buf.h:
include/pacsvault/base/err.h:
include/pacsvault/dicom/dataset.h:
include/pacsvault/base/mem.h:
include/pacsvault/dicom/reader.h:
include/pacsvault/dicom/dict.h:
include/pacsvault/dicom/vr.h:
include/pacsvault/dicom/ts.h:
include/pacsvault/base/fsutil.h:
include/pacsvault/dicom/value.h:
include/pacsvault/dicom/charset.h:
