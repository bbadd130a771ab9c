build/obj/src/dicom/uid.o: src/dicom/uid.c include/pacsvault/dicom/uid.h \
 include/pacsvault/base/err.h
include/pacsvault/dicom/uid.h:
include/pacsvault/base/err.h:
