build/obj/src/dicom/vr.o: src/dicom/vr.c include/pacsvault/dicom/vr.h
include/pacsvault/dicom/vr.h:
