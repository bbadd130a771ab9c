build/obj/src/base/err.o: src/base/err.c include/pacsvault/base/err.h
include/pacsvault/base/err.h:
