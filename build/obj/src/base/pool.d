build/obj/src/base/pool.o: src/base/pool.c include/pacsvault/base/pool.h \
 include/pacsvault/base/err.h
include/pacsvault/base/pool.h:
include/pacsvault/base/err.h:
