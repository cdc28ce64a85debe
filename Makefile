# critic — build, test and run.  `make help` lists the targets.
CC      ?= cc
PKGS    := grpc libprotobuf-c yaml-0.1 cunit json-c libcrypto libwebsockets
DEBS    := build-essential pkg-config valgrind clang libclang-rt-14-dev protobuf-c-compiler libprotobuf-c-dev libgrpc-dev \
           libyaml-dev libcunit1-dev libjson-c-dev libssl-dev libfiu-dev fiu-utils \
           containerd runc crun containernetworking-plugins docker-registry \
           umoci skopeo busybox-static iproute2 iptables e2fsprogs util-linux procps \
           libxml2-utils libwebsockets-dev

BUILD   ?= build
BIN     ?= bin
GEN     := $(BUILD)/gen
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1-dev)
# The version lives in a generated header, rewritten only when it changes:
# its users rebuild then, and never print the version of an older build.
VERSION_H := $(GEN)/version.h
$(shell mkdir -p $(GEN); v='#define CRITIC_VERSION "$(VERSION)"'; \
	[ "$$(cat $(VERSION_H) 2>/dev/null)" = "$$v" ] || echo "$$v" > $(VERSION_H))

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# CFLAGS is the user's (make CFLAGS=-O0); what critic needs lives apart.
CFLAGS  ?= -O2 -g
CRITIC_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -D_GNU_SOURCE -DFIU_ENABLE=1 \
           -Iharness -I. -I$(GEN) $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lfiu -lpthread
LDLIBS  += -lm

LIB_SRC := $(filter-out harness/main.c,$(wildcard harness/*.c)) \
           $(wildcard suites/*.c fault/*.c scenarios/*.c reports/*.c bench/*.c)
LIB_OBJ := $(GEN)/cri.pb-c.o $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
# Small static programs baked into the lab's test images.
IMG_SRC := $(wildcard images/*.c)
IMG_BIN := $(IMG_SRC:images/%.c=$(BUILD)/images/%)

.PHONY: all test unit valgrind deps clean test-clean run help
all: $(BIN)/critic $(BIN)/critic-tests $(IMG_BIN)

help:
	@echo "make            build bin/critic, its tests and the lab's image helpers"
	@echo "make deps       install the Debian packages critic needs (as root)"
	@echo "make test       critic's own tests: unit tests, then integration against a private lab"
	@echo "make run        build, bring the lab up and run the conformance suites against it"
	@echo "make unit       only the unit tests (no runtime needed)"
	@echo "make valgrind   the unit tests under valgrind"
	@echo "make asan       the unit tests built with ASan + UBSan (build-asan/), leaks checked"
	@echo "make fuzz       each libFuzzer target for FUZZ_SECONDS (60); make fuzz-smoke: 10 s each"
	@echo "make clean      remove build output"
	@echo "make test-clean take down and remove the labs make test left under /var/lib/critic"

# One protoc-c run makes both files (grouped target).
$(GEN)/cri.pb-c.c $(GEN)/cri.pb-c.h &: harness/cri.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iharness harness/cri.proto

$(GEN)/cri.pb-c.o: $(GEN)/cri.pb-c.c
	$(CC) $(CFLAGS) $(CRITIC_CFLAGS) -w -c $< -o $@

$(BUILD)/%.o: %.c $(GEN)/cri.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CRITIC_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcritic.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

# Suites register themselves from constructors: keep every object of the
# archive in the link, not only those something refers to.
WHOLE = -Wl,--whole-archive $(BUILD)/libcritic.a -Wl,--no-whole-archive

$(BIN)/critic: $(BUILD)/harness/main.o $(BUILD)/libcritic.a
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $(BUILD)/harness/main.o $(WHOLE) $(LDLIBS)

$(BIN)/critic-tests: $(TEST_OBJ) $(BUILD)/libcritic.a
	@mkdir -p $(BIN)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(WHOLE) $(LDLIBS)

$(BUILD)/images/%: images/%.c
	@mkdir -p $(dir $@)
	$(CC) -static -Os -Wall -Wextra -o $@ $<

test: all
	$(BIN)/critic-tests

unit: all
	$(BIN)/critic-tests --unit

# The unit tests under valgrind: zero errors and leaks in critic's code
# (tests/valgrind.supp names what glibc, abseil and gRPC keep for themselves).
valgrind: all
	valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
		--suppressions=tests/valgrind.supp $(BIN)/critic-tests --unit

run: all
	$(BIN)/critic run

deps:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all Debian packages present"; fi

clean:
	rm -rf $(BUILD) $(BIN)

# The labs make test brought up keep their directories (images built, so
# the next run starts sooner). test-clean takes each down and removes it;
# a lab that does not come down is left, and said so.
TEST_LABS = $(wildcard /var/lib/critic/*test-lab*)
test-clean: $(BIN)/critic
	@$(if $(TEST_LABS),,echo "no test labs under /var/lib/critic")
	@for d in $(TEST_LABS); do \
		if $(BIN)/critic --dir "$$d" lab down >/dev/null 2>&1; then \
			rm -rf --one-file-system "$$d" && echo "removed $$d"; \
		else \
			echo "left $$d: critic --dir $$d lab down failed"; \
		fi; \
	done

# libfiu faults in crun: critic's preload library and the OCI runtime wrapper
# the lab's crun-fiu handler runs (fault/preload/ stays out of libcritic.a).
FIU_PRELOAD := $(BUILD)/fault/libcritic-fiu-preload.so
all: $(FIU_PRELOAD) $(BIN)/critic-fiu-runtime

$(FIU_PRELOAD): fault/preload/critic_fiu_preload.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -fPIC -shared -o $@ $< -lfiu -ldl -lpthread

$(BIN)/critic-fiu-runtime: fault/preload/critic-fiu-runtime.c
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra \
		-DCRITIC_FIU_PRELOAD_BUILT='"$(abspath $(FIU_PRELOAD))"' -o $@ $<

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/harness/main.d

# `make bench`: every benchmark figure in one run (lab brought up if needed):
# RPC latencies, growth with pod count, critic's own and the proxy's overhead,
# fault detection, the conformance run's wall time and peak RSS. Also written
# to $(BUILD)/bench.json. Kills and restarts the lab's containerd (--faults).
BENCH_ARGS ?= --pods 20 --concurrency 2 --grow 10,50,100 --overhead --faults 3
.PHONY: bench
bench: all
	$(BIN)/critic bench $(BENCH_ARGS) --conformance $(BUILD)/bench-run.log --json $(BUILD)/bench.json \
		--html $(BUILD)/bench.html

# Sanitizers: everything built with ASan + UBSan into build-asan/, then the
# unit tests with leak checking (tests/lsan.supp: the gRPC leaks allowed, and why).
# What is injected into programs built without them (the libfiu preload
# library goes into crun) is built first, plain. Tests that run this program
# with LD_PRELOAD need the ASan runtime linked in, not loaded after the
# preloads: gcc links it so with -static-libasan (clang always does).
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_LD    := -fsanitize=address,undefined $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null)),,-static-libasan)
ASAN_PLAIN  = $(patsubst $(BUILD)/%,build-asan/%,$(FIU_PRELOAD))
.PHONY: asan
asan:
	$(if $(ASAN_PLAIN),rm -f $(ASAN_PLAIN) && $(MAKE) BUILD=build-asan BIN=build-asan/bin $(ASAN_PLAIN))
	$(MAKE) BUILD=build-asan BIN=build-asan/bin CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_LD)" all
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/bin/critic-tests --unit

# Fuzzing with libFuzzer: make fuzz (FUZZ_SECONDS per target, default 60), make fuzz-smoke (10 s each).
include tests/fuzz/fuzz.mk
