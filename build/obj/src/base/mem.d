build/obj/src/base/mem.o: src/base/mem.c include/pacsvault/base/mem.h
include/pacsvault/base/mem.h:
