# snapkeep build.
#   make          bin/snapkeep (and the bin/backup-now link)
#   make test     a second build under ASan+UBSan, then every test (tests/run.sh)
#   make demo     a real backup of a sample SQLite database to ./demo, listed, restored, checked
#   make bench    benchmarks (not part of make test)
# Missing Debian packages are installed first (scripts/deps.sh).

CC       ?= cc
PKGS     := libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(WARN) $(PKG_CFLAGS) -g
LIBS     := -lsqlite3 -lzstd -lssl -lcrypto -lcurl -lconfig -ljansson -lzip -lpq -lexpat -lpthread -lm

# Debt being paid: -Wno-format-truncation hides truncated names and keys. These files are built
# with the warning on (a truncation there is either checked or made visible); add files as they are fixed.
TRUNC_CHECKED := agent/job agent/jobs agent/naming agent/runner agent/state uploader/local
$(foreach f,$(TRUNC_CHECKED),$(eval build/release/$(f).o build/asan/$(f).o: WARN_EXTRA := -Wformat-truncation))

SRC      := $(sort $(wildcard agent/*.c uploader/*.c engines/*/*.c))
LIB_SRC  := $(filter-out agent/main.c,$(SRC))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))

REL := build/release
ASN := build/asan
REL_CFLAGS := $(CFLAGS_BASE) -O2
ASN_CFLAGS := $(CFLAGS_BASE) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

.PHONY: all test demo bench clean deps deps-test print-libs print-cflags
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

# release build
$(REL)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(REL_CFLAGS) $(WARN_EXTRA) -MMD -MP -c $< -o $@
$(REL)/libsnapkeep.a: $(LIB_SRC:%.c=$(REL)/%.o)
	@ar rcs $@ $^
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
	@ar rcs $@ $^
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

test: bin/snapkeep bin/backup-now $(ASN)/snapkeep $(ASN)/backup-now $(TEST_BINS)
	@SK_BIN=$(CURDIR)/$(ASN)/snapkeep SK_TOOLS=$(CURDIR)/$(ASN)/tools SK_UNIT=$(CURDIR)/$(ASN)/tests \
	  tests/run.sh

demo: all deps-test
	@scripts/demo.sh

bench: all deps-test
	@bench/run.sh

clean:
	rm -rf build bin demo

-include $(shell find $(REL) $(ASN) -name '*.d' -type f 2>/dev/null)
