# snapkeep build.
#   make          bin/snapkeep (and the bin/backup-now link)
#   make test     a second build under ASan+UBSan, then every test (tests/run.sh)
#   make demo     a real backup of a sample SQLite database to ./demo, listed, restored, checked
#   make bench    benchmarks (not part of make test)
#   make fuzz     every libFuzzer harness of tests/fuzz/ for FUZZ_SECONDS each (default 60), under
#                 nice -n 19; FUZZ=pattern runs only the matching harnesses (tests/fuzz/README.md)
# Missing Debian packages are installed first (scripts/deps.sh).

CC       ?= cc
PKGS     := libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(WARN) $(PKG_CFLAGS) -g
LIBS     := -lsqlite3 -lzstd -lssl -lcrypto -lcurl -lconfig -ljansson -lzip -lpq -lexpat -lpthread -lm

# Debt being paid: -Wno-format-truncation hides truncated names and keys. These files are built
# with the warning on (a truncation there is either checked or made visible); add files as they are fixed.
TRUNC_CHECKED := agent/job agent/jobs agent/naming agent/runner agent/state uploader/local/local
$(foreach f,$(TRUNC_CHECKED),$(eval build/release/$(f).o build/asan/$(f).o: WARN_EXTRA := -Wformat-truncation))

SRC      := $(sort $(wildcard agent/*.c uploader/*/*.c engines/*/*.c))
LIB_SRC  := $(filter-out agent/main.c,$(SRC))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))

REL := build/release
ASN := build/asan
REL_CFLAGS := $(CFLAGS_BASE) -O2
ASN_CFLAGS := $(CFLAGS_BASE) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

.PHONY: all test test-matrix demo bench clean deps deps-test deps-fuzz fuzz fuzz-bins print-libs print-cflags
all: bin/snapkeep bin/backup-now

# the one list of link libraries, for scripts that link build/*/libsnapkeep.a themselves:
#   cc ... build/release/libsnapkeep.a $(make -s print-libs)
print-libs:
	@echo $(LIBS)
print-cflags:
	@echo $(PKG_CFLAGS)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-fuzz:
	@scripts/deps.sh fuzz

# release build
$(REL)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(REL_CFLAGS) $(WARN_EXTRA) -MMD -MP -c $< -o $@
# The archives are written anew (rm, then ar): `ar rcs` edits one in place, through the hard links
# of a build cache copied with `cp -al` into another checkout.
$(REL)/libsnapkeep.a: $(LIB_SRC:%.c=$(REL)/%.o)
	@rm -f $@ && ar rcs $@ $^
bin/snapkeep: $(REL)/agent/main.o $(REL)/libsnapkeep.a
	@mkdir -p bin
	@echo "  LD      $@"
	@$(CC) $(REL_CFLAGS) -o $@ $^ $(LIBS)
bin/backup-now: | bin/snapkeep
	ln -sf snapkeep $@

# sanitizer build, used by the tests
$(ASN)/%.o: %.c | deps-test
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(ASN_CFLAGS) $(WARN_EXTRA) -MMD -MP -c $< -o $@
$(ASN)/libsnapkeep.a: $(LIB_SRC:%.c=$(ASN)/%.o)
	@rm -f $@ && ar rcs $@ $^
$(ASN)/snapkeep: $(ASN)/agent/main.o $(ASN)/libsnapkeep.a
	@echo "  LD asan $@"
	@$(CC) $(ASN_CFLAGS) -o $@ $^ $(LIBS)
$(ASN)/backup-now: | $(ASN)/snapkeep
	ln -sf snapkeep $@
$(ASN)/tests/%: tests/unit/%.c $(ASN)/libsnapkeep.a
	@mkdir -p $(dir $@)
	@echo "  LD asan $@"
	@$(CC) $(ASN_CFLAGS) -o $@ $< $(ASN)/libsnapkeep.a $(LIBS) -lcmocka -lz
$(ASN)/tools/%: tests/tools/%.c $(ASN)/libsnapkeep.a
	@mkdir -p $(dir $@)
	@echo "  LD asan $@"
	@$(CC) $(ASN_CFLAGS) -o $@ $< $(ASN)/libsnapkeep.a $(LIBS)

TEST_BINS := $(TEST_SRC:tests/unit/%.c=$(ASN)/tests/%) $(TOOL_SRC:tests/tools/%.c=$(ASN)/tools/%)

# libFuzzer build (clang, coverage-guided, ASan+UBSan): the library again, instrumented, and one
# binary per harness tests/fuzz/fuzz_<name>.c. clang does not know some of gcc's warning options,
# and warns about positional initializers that leave trailing fields zero, which gcc accepts.
FZ := build/fuzz
FUZZ_CC := clang
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(FZ)/%)
FZ_CFLAGS := $(CFLAGS_BASE) -Wno-unknown-warning-option -Wno-missing-field-initializers -O1 -fno-omit-frame-pointer \
             -fsanitize=address,undefined -fno-sanitize-recover=undefined
$(FZ)/obj/%.o: %.c | deps-fuzz
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FZ)/libsnapkeep.a: $(LIB_SRC:%.c=$(FZ)/obj/%.o)
	@rm -f $@ && ar rcs $@ $^
$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/fuzz_pb.h $(FZ)/libsnapkeep.a
	@echo "  LD fuzz $@"
	@$(FUZZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FZ)/libsnapkeep.a $(LIBS)
fuzz-bins: $(FUZZ_BINS)

FUZZ_SECONDS ?= 60
fuzz: $(FUZZ_BINS)
	@SK_FUZZ=$(CURDIR)/$(FZ) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_ARGS="$(FUZZ_ARGS)" tests/fuzz/run.sh $(FUZZ)

# The fuzz smoke run (tests/integration/fuzz_smoke.sh) needs the harnesses: build them when the
# run includes it (no TESTS, or a TESTS that is part of its name).
SMOKE_BINS := $(if $(TESTS),$(if $(findstring $(TESTS),integration/fuzz_smoke),$(FUZZ_BINS)),$(FUZZ_BINS))

test: bin/snapkeep bin/backup-now $(ASN)/snapkeep $(ASN)/backup-now $(TEST_BINS) $(SMOKE_BINS)
	@SK_BIN=$(CURDIR)/$(ASN)/snapkeep SK_TOOLS=$(CURDIR)/$(ASN)/tools SK_UNIT=$(CURDIR)/$(ASN)/tests \
	  SK_FUZZ=$(CURDIR)/$(FZ) tests/run.sh

# The PostgreSQL 13-18 version matrix alone (part of `make test`; about 5 minutes).
test-matrix:
	@$(MAKE) --no-print-directory test TESTS=integration/postgres_matrix

demo: all deps-test
	@scripts/demo.sh

bench: all deps-test
	@bench/run.sh

clean:
	rm -rf build bin demo

-include $(shell find $(REL) $(ASN) -name '*.d' -type f 2>/dev/null)
