build/obj/src/base/fsutil.o: src/base/fsutil.c \
 include/pacsvault/base/fsutil.h include/pacsvault/base/err.h \
 include/pacsvault/base/mem.h
include/pacsvault/base/fsutil.h:
include/pacsvault/base/err.h:
include/pacsvault/base/mem.h:
