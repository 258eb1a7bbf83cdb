# aurl build. Targets: deps all data run test bench fuzz clean.
# Honours CC, CFLAGS, LDFLAGS. SANITIZE=1 builds everything with ASan+UBSan
# into build-san/ so sanitized and normal objects never mix.

CC      ?= cc
PKGS    := smf yaml-0.1 libcjson ncursesw fluidsynth zlib
# OpenBLAS: the OpenMP build, pinned by rpath, so that sgemm called inside our
# own OpenMP loops runs single-threaded instead of oversubscribing the cores.
BLAS_DIR := /usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_LIBS := -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas
BLAS_INC  := -I/usr/include/x86_64-linux-gnu/openblas-openmp
TESTPKG := cmocka
# Debian packages that provide the pkg-config modules above (for `make deps`).
DEB_PKGS := libsmf-dev libopenblas-dev libopenblas-openmp-dev libyaml-dev libcjson-dev libncurses-dev \
            libfluidsynth-dev timgm6mb-soundfont libcmocka-dev pkg-config \
            python3-mido fluidsynth tmux libopenmpi-dev openmpi-bin zlib1g-dev
# OpenMPI (data-parallel training, always linked; see src/util/dist.c).
MPI_CFLAGS = $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   = $(shell pkg-config --libs ompi-c 2>/dev/null)

ifeq ($(SANITIZE),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPTFLAGS := -O1 -g
else
BUILD   := build
SANFLAGS :=
OPTFLAGS := -O3 -march=native -g
endif

CFLAGS  ?= $(OPTFLAGS)
WARN    := -std=c11 -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(BLAS_INC)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  = $(shell pkg-config --libs $(TESTPKG) 2>/dev/null)
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) $(MPI_CFLAGS) -fopenmp $(CFLAGS) $(SANFLAGS)
ALL_LIBS   = $(PKG_LIBS) $(MPI_LIBS) $(BLAS_LIBS) -fopenmp -lm -lpthread $(SANFLAGS) $(LDFLAGS)

LIB_SRC  := $(sort $(shell find src -name "*.c" ! -path src/main.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TEST_HELPERS := $(filter-out tests/test_%.c,$(wildcard tests/*.c))
TEST_HELPER_OBJ := $(TEST_HELPERS:%.c=$(BUILD)/%.o)

.PHONY: all deps data run test bench fuzz clean
# Keep the test helper objects (make would delete them as intermediates).
.SECONDARY: $(TEST_HELPER_OBJ)
all: aurl

ifeq ($(SANITIZE),1)
aurl: $(BUILD)/aurl
	@true
else
aurl: $(BUILD)/aurl
	cp $(BUILD)/aurl aurl.tmp && mv -f aurl.tmp aurl
endif

$(BUILD)/aurl: $(BUILD)/src/main.o $(BUILD)/libaurl.a
	$(CC) -o $@ $^ $(ALL_LIBS)

$(BUILD)/libaurl.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(TEST_HELPER_OBJ) $(BUILD)/libaurl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(TEST_HELPER_OBJ) $(BUILD)/libaurl.a $(TEST_LIBS) $(ALL_LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libaurl.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libaurl.a $(ALL_LIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Install the Debian packages whose pkg-config modules (or files) are missing.
deps:
	@missing=""; \
	for p in $(PKGS) $(TESTPKG) ompi-c; do pkg-config --exists $$p 2>/dev/null || missing=1; done; \
	[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || missing=1; \
	[ -f $(BLAS_DIR)/libopenblas.so ] || missing=1; \
	command -v fluidsynth >/dev/null || missing=1; \
	command -v tmux >/dev/null || missing=1; \
	command -v mpirun >/dev/null || missing=1; \
	if [ -n "$$missing" ]; then \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEB_PKGS); \
	else echo "deps: all present"; fi

data: aurl
	./aurl data fetch
	./aurl data cache

# The main job: set everything up, train the quick_test profile through the
# three stages (a few minutes on 2 cores), then generate a piece from the
# best checkpoint and render it to a WAV you can listen to.
run: deps
	$(MAKE) all
	$(MAKE) data
	./aurl train --profile quick_test
	./aurl generate --out outputs/generated/make_run.mid
	./aurl play outputs/generated/make_run.mid --wav outputs/generated/make_run.wav
	@echo "done: open outputs/generated/make_run.mid (or .wav); ./aurl for the workbench"

# The test suite: every tests/test_*.c is a cmocka program; run.sh runs them
# in order and prints a summary.
test: $(BUILD)/aurl $(TEST_BIN) data/midi/.fetched
	@BUILD=$(BUILD) sh tests/run.sh $(TEST_BIN)

# The real sample MIDI the round-trip and training tests read.
data/midi/.fetched: | $(BUILD)/aurl
	$(BUILD)/aurl data fetch && touch $@

# Speed against PyTorch (and mido) on this machine; see bench/run.sh.
bench: all $(BENCH_BIN) data/midi/.fetched
	BUILD=$(BUILD) sh bench/run.sh

fuzz:
	$(MAKE) -C fuzz

clean:
	rm -rf build build-san aurl
