build/obj/src/base/jsonw.o: src/base/jsonw.c \
 include/pacsvault/base/jsonw.h include/pacsvault/base/buf.h \
 include/pacsvault/base/err.h
include/pacsvault/base/jsonw.h:
include/pacsvault/base/buf.h:
include/pacsvault/base/err.h:
