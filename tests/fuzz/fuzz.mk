# Fuzz targets (clang's libFuzzer + ASan + UBSan), included by the Makefile.
# A target is tests/fuzz/NAME.c plus the sources it exercises (NAME_SRC) and
# the libraries they need (NAME_LIBS); see tests/fuzz/README.md.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_OPTS    ?=
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -D_GNU_SOURCE -Iharness -I. -I$(GEN) \
                $(shell pkg-config --cflags yaml-0.1 libprotobuf-c 2>/dev/null)

FUZZ_TARGETS := fuzz_crictl_yaml fuzz_decode fuzz_crilog fuzz_scenario fuzz_config

fuzz_crictl_yaml_SRC  := harness/endpoint.c harness/err.c harness/util.c
fuzz_crictl_yaml_LIBS := -lyaml
fuzz_decode_SRC       := $(GEN)/cri.pb-c.c
fuzz_decode_LIBS      := -lprotobuf-c
fuzz_crilog_SRC       := harness/crilog.c harness/err.c harness/util.c
fuzz_crilog_LIBS      :=
# the parser, the checker and the step table instrumented; what the step
# table's run functions call comes uninstrumented from libcritic.a
fuzz_scenario_SRC     := scenarios/parse.c scenarios/check.c scenarios/steps.c
fuzz_scenario_LIBS    := $(BUILD)/libcritic.a $(LDLIBS)
fuzz_config_SRC       := fault/config.c harness/err.c harness/util.c
fuzz_config_LIBS      := $(shell pkg-config --libs json-c 2>/dev/null) -lm

define FUZZ_RULE
$(BUILD)/fuzz/$(1): tests/fuzz/$(1).c $$($(1)_SRC) $(GEN)/cri.pb-c.h
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ tests/fuzz/$(1).c $$($(1)_SRC) $$($(1)_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))
$(BUILD)/fuzz/fuzz_scenario: $(BUILD)/libcritic.a

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

# Each target for FUZZ_SECONDS from the seed corpus (read only); what it
# learns goes to $(BUILD)/fuzz/corpus/NAME, a crash to $(BUILD)/fuzz/NAME-crash-*.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$t; \
		echo "== $$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/$$t- $(FUZZ_OPTS) \
			$(BUILD)/fuzz/corpus/$$t tests/fuzz/corpus/$$t >$(BUILD)/fuzz/$$t.log 2>&1; \
		rc=$$?; \
		grep -e '^stat::number_of_executed_units' -e '^stat::average_exec_per_sec' \
			-e '^stat::peak_rss_mb' -e '^INFO: seed corpus' $(BUILD)/fuzz/$$t.log; \
		if [ $$rc != 0 ]; then \
			tail -40 $(BUILD)/fuzz/$$t.log; \
			echo "== $$t FAILED (exit $$rc; log $(BUILD)/fuzz/$$t.log, input $(BUILD)/fuzz/$$t-*)"; \
			exit 1; \
		fi; \
	done

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10

# Seed inputs from a real runtime (tests/fuzz/README.md):
#   $(BUILD)/fuzz/capture_corpus ENDPOINT IMAGE tests/fuzz/corpus
$(BUILD)/fuzz/capture_corpus: tests/fuzz/capture_corpus.c $(BUILD)/libcritic.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CRITIC_CFLAGS) -o $@ $< $(WHOLE) $(LDLIBS)
