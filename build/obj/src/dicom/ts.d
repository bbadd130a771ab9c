build/obj/src/dicom/ts.o: src/dicom/ts.c include/pacsvault/dicom/ts.h
include/pacsvault/dicom/ts.h:
