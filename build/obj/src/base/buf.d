build/obj/src/base/buf.o: src/base/buf.c include/pacsvault/base/buf.h \
 include/pacsvault/base/err.h
include/pacsvault/base/buf.h:
include/pacsvault/base/err.h:
