build/obj/src/dicom/dict.o: src/dicom/dict.c src/dicom/dict_table.h \
 include/pacsvault/dicom/dict.h include/pacsvault/dicom/vr.h
src/dicom/dict_table.h:
include/pacsvault/dicom/dict.h:
include/pacsvault/dicom/vr.h:
