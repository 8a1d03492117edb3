# hostpulse -- build, test and packaging entry points.
#
#   make run     deps, build, run the agent in the foreground (stdout sink)
#   make check   deps, build, every test (unit, integration, sanitizers)
#
# Variants build into build/$(VARIANT): release (default), asan, tsan.

VARIANT ?= release
BUILD   := build/$(VARIANT)
PKGS    := json-c libconfig librabbitmq rdkafka libcurl libmariadb libsystemd zlib
# Debian packages for building, testing, fuzzing, benchmarking, packaging.
DEPS    := build-essential pkg-config libjson-c-dev libconfig-dev librabbitmq-dev \
           librdkafka-dev libsensors-dev libcurl4-openssl-dev zlib1g-dev libmariadb-dev libsystemd-dev \
           libcmocka-dev clang libclang-rt-14-dev clang-format cppcheck \
           python3 python3-jsonschema rabbitmq-server mariadb-server mariadb-client \
           kcat openssl lm-sensors util-linux procps iproute2 \
           debhelper dpkg-dev fakeroot lintian systemd collectd-core

CC      ?= cc
OPT     ?= -O2
SAN_release :=
SAN_asan    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_tsan    := -fsanitize=thread
SAN     := $(SAN_$(VARIANT))
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  ?= $(OPT) -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. $(PKG_CFLAGS) $(SAN) -MMD -MP
override LDFLAGS += $(SAN)
LDLIBS  += $(PKG_LIBS) -lsensors -lpthread -lm

SRCS      := $(wildcard agent/*.c reporters/*.c transport/*.c)
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS  := $(filter-out $(BUILD)/agent/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:%.c=$(BUILD)/%)
BENCH_SRCS  := $(wildcard bench/*.c)
BENCH_BINS  := $(BENCH_SRCS:%.c=$(BUILD)/%)

PREFIX  ?= /usr
DESTDIR ?=

.PHONY: all run check test unit asan tsan deps bench deb install clean format lint fuzz test-bins

all: $(BUILD)/hostpulse
ifeq ($(VARIANT),release)
all: hostpulse
hostpulse: $(BUILD)/hostpulse
	cp $< $@
endif

$(BUILD)/hostpulse: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

$(BUILD)/tests/helpers/%: tests/helpers/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

test-bins: $(BUILD)/hostpulse $(UNIT_BINS) $(HELPER_BINS)

# The agent in the foreground with the development config (stdout sink).
run: deps all
	./hostpulse -c etc/dev.conf

# Every test: unit + integration (release), then the sanitizer passes, then
# one summary line. See tests/check.
check: deps
	tests/check

# One pass against the current VARIANT.
test unit: test-bins
	tests/run --build $(BUILD) --label $(VARIANT)

asan:
	$(MAKE) VARIANT=asan test-bins
	tests/run --build build/asan --label asan

tsan:
	$(MAKE) VARIANT=tsan test-bins
	tests/run --build build/tsan --label tsan

bench: all $(BENCH_BINS)
	bench/run --build $(BUILD) $(BENCH_ARGS)

deps:
	@scripts/deps.sh $(DEPS)

install: all
	install -D -m 0755 hostpulse $(DESTDIR)$(PREFIX)/sbin/hostpulse

deb:
	scripts/build-deb.sh

format:
	clang-format -i $(SRCS) $(wildcard agent/*.h reporters/*.h transport/*.h tests/unit/*.c tests/helpers/*.c bench/*.c)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --std=c11 -I. -D_GNU_SOURCE --suppress=missingIncludeSystem \
	  agent reporters transport

clean:
	rm -rf build hostpulse

-include $(OBJS:.o=.d)
