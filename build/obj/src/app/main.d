build/obj/src/app/main.o: src/app/main.c src/app/app.h \
 include/pacsvault/base/err.h include/pacsvault/dicom/dict.h \
 include/pacsvault/dicom/vr.h
src/app/app.h:
include/pacsvault/base/err.h:
include/pacsvault/dicom/dict.h:
include/pacsvault/dicom/vr.h:
