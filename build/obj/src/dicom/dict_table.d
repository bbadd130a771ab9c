build/obj/src/dicom/dict_table.o: src/dicom/dict_table.c \
 src/dicom/dict_table.h include/pacsvault/dicom/dict.h \
 include/pacsvault/dicom/vr.h
src/dicom/dict_table.h:
include/pacsvault/dicom/dict.h:
include/pacsvault/dicom/vr.h:
