# critic — build, test and run.  `make help` lists the targets.
CC      ?= cc
PKGS    := grpc libprotobuf-c yaml-0.1 cunit json-c
DEBS    := build-essential pkg-config valgrind clang protobuf-c-compiler libprotobuf-c-dev libgrpc-dev \
           libyaml-dev libcunit1-dev libjson-c-dev libfiu-dev fiu-utils \
           containerd runc crun containernetworking-plugins docker-registry \
           umoci skopeo busybox-static iproute2 iptables e2fsprogs util-linux procps

BUILD   ?= build
BIN     ?= bin
GEN     := $(BUILD)/gen
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1-dev)

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# CFLAGS is the user's (make CFLAGS=-O0); what critic needs lives apart.
CFLAGS  ?= -O2 -g
CRITIC_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -D_GNU_SOURCE -DFIU_ENABLE=1 -DCRITIC_VERSION='"$(VERSION)"' \
           -Iharness -I. -I$(GEN) $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lfiu -lpthread

LIB_SRC := $(filter-out harness/main.c,$(wildcard harness/*.c)) \
           $(wildcard suites/*.c fault/*.c scenarios/*.c reports/*.c)
LIB_OBJ := $(GEN)/cri.pb-c.o $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
# Small static programs baked into the lab's test images.
IMG_SRC := $(wildcard images/*.c)
IMG_BIN := $(IMG_SRC:images/%.c=$(BUILD)/images/%)

.PHONY: all test unit valgrind deps clean run help
all: $(BIN)/critic $(BIN)/critic-tests $(IMG_BIN)

help:
	@echo "make            build bin/critic, its tests and the lab's image helpers"
	@echo "make deps       install the Debian packages critic needs (as root)"
	@echo "make test       critic's own tests: unit tests, then integration against a private lab"
	@echo "make run        build, bring the lab up and run the conformance suites against it"
	@echo "make unit       only the unit tests (no runtime needed)"
	@echo "make valgrind   the unit tests under valgrind"
	@echo "make clean      remove build output"

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

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/harness/main.d
