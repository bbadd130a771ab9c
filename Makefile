# pacsvault: one non-recursive GNU Makefile.
#
#   make             build/pacsvault (optimised)
#   make test        sanitizer build (-Werror, ASan+UBSan), layer check, unit
#                    tests, fuzz regression replay, end-to-end tests
#   make demo        the README's first command: a synthetic study, dumped
#   make bench       rates against dcmdump, pydicom and cat, as ratios
#   make fuzz        libFuzzer targets (clang) in build/fuzz/
#   make install     PREFIX=/usr/local DESTDIR=
#   make dict        regenerate src/dicom/dict_table.c
#   make profile     regenerate src/deid/profile_table.c (PS3.15 E.1-1)

CC      ?= cc
PREFIX  ?= /usr/local
PYTHON  ?= /usr/bin/python3

# Linked: zlib. Headers only, loaded on first use (dlopen): OpenSSL, SQLite
# and libjpeg (include/pacsvault/base/dynlib.h: commands such as dump start
# without them); CharLS and OpenJPEG (by the codec helper).
PKGS     := openssl zlib libjpeg sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) charls libopenjp2 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs zlib 2>/dev/null || echo -lz)

CPPFLAGS := -Iinclude -D_GNU_SOURCE $(PKG_CFLAGS)
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS   ?= -O2 -g
BASE_CFLAGS := -std=c11 $(WARN) -pthread -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDLIBS   := $(PKG_LIBS) -pthread -lm

TEST_CFLAGS := -std=c11 $(WARN) -Werror -pthread -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
TEST_LDFLAGS := -fsanitize=address,undefined

FUZZ_CC := clang
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

BASE_SRC := \
	src/base/err.c \
	src/base/mem.c \
	src/base/buf.c \
	src/base/log.c \
	src/base/fsutil.c \
	src/base/pool.c \
	src/base/jsonw.c \
	src/base/sandbox.c \
	src/base/png.c \
	src/base/dynlib.c \
	src/base/ini.c

DICOM_SRC := \
	src/dicom/vr.c \
	src/dicom/dict.c \
	src/dicom/dict_table.c \
	src/dicom/ts.c \
	src/dicom/charset.c \
	src/dicom/value.c \
	src/dicom/reader.c \
	src/dicom/dataset.c \
	src/dicom/writer.c \
	src/dicom/json.c \
	src/dicom/uid.c \
	src/dicom/sopclass_table.c

CRYPTO_SRC := \
	src/crypto/ossl.c \
	src/crypto/hash.c \
	src/crypto/keyfile.c \
	src/crypto/cms.c \
	src/crypto/sign.c \
	src/crypto/sealed.c \
	src/crypto/passwd.c

CODEC_SRC := \
	src/codec/pixel.c \
	src/codec/codec.c \
	src/codec/rle.c \
	src/codec/huff.c \
	src/codec/jpegdct.c \
	src/codec/jpegll.c \
	src/codec/jpeg.c \
	src/codec/jpegmeta.c \
	src/codec/jpegls.c \
	src/codec/j2k.c \
	src/codec/helper.c

DEID_SRC := \
	src/deid/pixrules.c \
	src/deid/pixclean.c \
	src/deid/scan.c \
	src/deid/gate.c \
	src/deid/textdetect.c \
	src/deid/risk.c \
	src/deid/ocr.c \
	src/deid/profile.c \
	src/deid/profile_table.c \
	src/deid/textclean.c \
	src/deid/engine.c \
	src/deid/pipeline.c \
	src/deid/recipe.c

LEDGER_SRC := \
	src/ledger/merkle.c \
	src/ledger/note.c \
	src/ledger/log.c \
	src/ledger/event.c \
	src/ledger/atna.c \
	src/ledger/witness.c

STORE_SRC := \
	src/store/query.c \
	src/store/index_sqlite.c \
	src/store/vault.c

SVC_SRC := \
	src/svc/admin.c \
	src/svc/svc.c \
	src/svc/ops.c \
	src/svc/export.c \
	src/svc/users.c \
	src/svc/projects.c \
	src/svc/tokens.c \
	src/svc/dicomweb.c \
	src/svc/audit.c

NET_SRC := \
	src/net/tls.c \
	src/net/syslog.c \
	src/net/ul.c \
	src/net/dimse.c \
	src/net/server.c \
	src/net/qr.c \
	src/net/http.c \
	src/net/httpd.c \
	src/net/web.c

LIB_SRC := $(BASE_SRC) $(CRYPTO_SRC) $(DICOM_SRC) $(CODEC_SRC) $(DEID_SRC) $(LEDGER_SRC) $(STORE_SRC) $(SVC_SRC) $(NET_SRC)

APP_SRC := \
	src/app/main.c \
	src/app/cmd_dump.c \
	src/app/cmd_convert.c \
	src/app/cmd_keygen.c \
	src/app/cmd_deid.c \
	src/app/cmd_reid.c \
	src/app/cmd_scan.c \
	src/app/cmd_risk.c \
	src/app/html.c \
	src/app/progress.c \
	src/app/cmd_ledger.c \
	src/app/cmd_vault.c \
	src/app/devbench.c \
	src/app/cmd_serve.c \
	src/app/cmd_atna.c \
	src/app/cmd_witness.c \
	src/app/inputs.c

UNIT_SRC := \
	tests/unit/harness.c \
	tests/unit/main.c \
	tests/unit/test_base.c \
	tests/unit/test_dicom.c \
	tests/unit/test_crypto.c \
	tests/unit/test_deid.c \
	tests/unit/test_codec.c \
	tests/unit/test_ledger.c \
	tests/unit/test_store.c \
	tests/unit/test_svc.c \
	tests/unit/test_net.c \
	tests/unit/dcmbuild.c

FUZZ_TARGETS := fuzz_reader fuzz_roundtrip fuzz_deid fuzz_recipe fuzz_rle fuzz_jpegll fuzz_jpeg fuzz_jpegdct \
	fuzz_jpegls fuzz_pixrules fuzz_j2k fuzz_note fuzz_scan fuzz_vault fuzz_event fuzz_jpegmeta fuzz_textclean fuzz_ingest fuzz_pdu fuzz_ini fuzz_assoc fuzz_http

BUILD := build
REL_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC) $(APP_SRC))
TEST_LIB_OBJ := $(patsubst %.c,$(BUILD)/test/obj/%.o,$(LIB_SRC))
TEST_APP_OBJ := $(patsubst %.c,$(BUILD)/test/obj/%.o,$(APP_SRC))
UNIT_OBJ := $(patsubst %.c,$(BUILD)/test/obj/%.o,$(UNIT_SRC))

.PHONY: all test unit e2e demo bench fuzz fuzz-run install clean dict profile check-layers

all: $(BUILD)/pacsvault

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/test/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/pacsvault: $(REL_OBJ) $(BUILD)/pacsvault-ocr
	$(CC) $(CFLAGS) -pthread -o $@ $(REL_OBJ) $(LDLIBS)

# The OCR helper: a separate program, so that pacsvault does not link Tesseract.
OCR_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,src/app/ocr_helper.c src/base/err.c src/base/mem.c src/base/buf.c \
	src/base/fsutil.c src/base/sandbox.c)
$(BUILD)/pacsvault-ocr: $(OCR_OBJ)
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(shell pkg-config --libs tesseract 2>/dev/null || echo -ltesseract)

$(BUILD)/test/pacsvault: $(TEST_LIB_OBJ) $(TEST_APP_OBJ)
	$(CC) $(TEST_LDFLAGS) -pthread -o $@ $^ $(LDLIBS)

# The unit tests make JPEG streams with libjpeg's encoder, so they link it.
$(BUILD)/test/unit: $(TEST_LIB_OBJ) $(UNIT_OBJ)
	$(CC) $(TEST_LDFLAGS) -pthread -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libjpeg 2>/dev/null || echo -ljpeg)

$(BUILD)/test/regress: $(TEST_LIB_OBJ) $(BUILD)/test/obj/fuzz/replay.o \
		$(patsubst %,$(BUILD)/test/obj/fuzz/%.o,$(FUZZ_TARGETS))
	$(CC) $(TEST_LDFLAGS) -pthread -o $@ $^ $(LDLIBS)

check-layers:
	@sh scripts/check-layers.sh

test: $(BUILD)/test/pacsvault $(BUILD)/test/unit $(BUILD)/test/regress $(BUILD)/pacsvault
	@sh tests/run.sh

unit: $(BUILD)/test/unit
	$(BUILD)/test/unit

demo: $(BUILD)/pacsvault
	@sh scripts/demo.sh

bench: $(BUILD)/pacsvault
	@sh bench/run.sh

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz.h fuzz/codec_common.h $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(LDLIBS)

fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

# make fuzz-run TARGET=fuzz_reader SECONDS=1800
fuzz-run: fuzz
	@sh fuzz/run.sh $(TARGET) $(SECONDS)

install: $(BUILD)/pacsvault
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/pacsvault $(DESTDIR)$(PREFIX)/bin/pacsvault
	install -d $(DESTDIR)$(PREFIX)/libexec/pacsvault
	install -m 0755 $(BUILD)/pacsvault-ocr $(DESTDIR)$(PREFIX)/libexec/pacsvault/pacsvault-ocr
	install -m 0644 docs/pacsvault.1 $(DESTDIR)$(PREFIX)/share/man/man1/pacsvault.1

dict:
	$(PYTHON) scripts/gen-dict.py data/dict/dicom-dict.tsv src/dicom/dict_table.c
	$(PYTHON) scripts/gen-sopclass.py data/dict/storage-sop-classes.tsv src/dicom/sopclass_table.c

profile:
	$(PYTHON) scripts/gen-profile.py data/ps3.15/ps3.15_e1_1.tsv src/deid/profile_table.c \
		data/ps3.15/safe_private.tsv

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(BUILD)/test/obj/fuzz/%.o: CPPFLAGS += -DPV_REPLAY
