build/obj/src/app/cmd_convert.o: src/app/cmd_convert.c src/app/app.h \
 include/pacsvault/base/err.h include/pacsvault/dicom/dataset.h \
 include/pacsvault/base/mem.h include/pacsvault/dicom/reader.h \
 include/pacsvault/dicom/dict.h include/pacsvault/dicom/vr.h \
 include/pacsvault/dicom/ts.h include/pacsvault/dicom/writer.h \
 include/pacsvault/base/buf.h
src/app/app.h:
include/pacsvault/base/err.h:
include/pacsvault/dicom/dataset.h:
include/pacsvault/base/mem.h:
include/pacsvault/dicom/reader.h:
include/pacsvault/dicom/dict.h:
include/pacsvault/dicom/vr.h:
include/pacsvault/dicom/ts.h:
include/pacsvault/dicom/writer.h:
include/pacsvault/base/buf.h:
