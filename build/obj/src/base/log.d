build/obj/src/base/log.o: src/base/log.c include/pacsvault/base/log.h
include/pacsvault/base/log.h:
