build/obj/src/app/cmd_dump.o: src/app/cmd_dump.c src/app/app.h \
 include/pacsvault/base/err.h include/pacsvault/base/buf.h \
 include/pacsvault/base/mem.h include/pacsvault/base/pool.h \
 include/pacsvault/dicom/charset.h include/pacsvault/dicom/vr.h \
 include/pacsvault/dicom/dataset.h include/pacsvault/dicom/reader.h \
 include/pacsvault/dicom/dict.h include/pacsvault/dicom/ts.h \
 include/pacsvault/dicom/json.h include/pacsvault/dicom/value.h
src/app/app.h:
include/pacsvault/base/err.h:
include/pacsvault/base/buf.h:
include/pacsvault/base/mem.h:
include/pacsvault/base/pool.h:
include/pacsvault/dicom/charset.h:
include/pacsvault/dicom/vr.h:
include/pacsvault/dicom/dataset.h:
include/pacsvault/dicom/reader.h:
include/pacsvault/dicom/dict.h:
include/pacsvault/dicom/ts.h:
include/pacsvault/dicom/json.h:
include/pacsvault/dicom/value.h:
