# hostpulse -- build, test and packaging entry points.
# SPDX-License-Identifier: Apache-2.0
#
#   make run     build dependencies only, build, run the agent in the
#                foreground (etc/dev.conf: JSON lines on stdout)
#   make check   every dependency (brokers, databases, linters), build,
#                every test (unit, integration, sanitizers)
#
# Variants build into build/$(VARIANT): release (default), asan, tsan.

VARIANT ?= release
BUILD   := build/$(VARIANT)
# pkg-config packages of the agent itself; each sink module adds its own.
PKGS    := json-c libconfig yajl
# Debian packages `make run` needs: a compiler and the -dev libraries of
# the agent, its sink modules and hostpulse-web (`all` builds them all).
BUILD_DEPS := build-essential pkg-config libjson-c-dev libconfig-dev libsensors-dev \
           librabbitmq-dev librdkafka-dev libmicrohttpd-dev libcurl4-openssl-dev zlib1g-dev \
           libmariadb-dev libmosquitto-dev libsqlite3-dev libyajl-dev
# Debian packages for building, testing, fuzzing, benchmarking, packaging
# (`make deps`, `make check`): a superset of BUILD_DEPS. libprotobuf-c1: collectd-core
# only suggests it, and its write_prometheus.so needs it (bench footprint).
DEPS    := build-essential pkg-config libjson-c-dev libconfig-dev librabbitmq-dev \
           librdkafka-dev libmicrohttpd-dev libsensors-dev libcurl4-openssl-dev zlib1g-dev libmariadb-dev \
           libcmocka-dev clang libclang-rt-14-dev clang-format cppcheck \
           python3 python3-jsonschema python3-prometheus-client rabbitmq-server mariadb-server mariadb-client \
           kcat openssl lm-sensors util-linux procps iproute2 python3-fusepy \
           debhelper dpkg-dev fakeroot lintian systemd adduser collectd-core libprotobuf-c1 git \
           mosquitto mosquitto-clients libmosquitto-dev python3-pika \
           maven default-jdk-headless libsqlite3-dev libyajl-dev sqlite3 libjs-chart.js \
           chromium python3-websocket amqp-tools jq

CC      ?= cc
OPT     ?= -O2
SAN_release :=
SAN_asan    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_tsan    := -fsanitize=thread
SAN     := $(SAN_$(VARIANT))

# Sink modules: shared objects loaded only when a configuration names the
# sink (transport/registry.c), so a host maps a client library only if it
# uses it. A sink is transport/sinks/NAME.c or a folder transport/sinks/NAME/;
# it is a module when one of its files names the pkg-config packages it links
# in a line "hp-module-pkgs: PKG ..." (in its banner comment). Nothing here
# names a sink: adding one needs no Makefile edit.
SINK_DIR   := transport/sinks
MOD_FILES  := $(shell grep -l 'hp-module-pkgs:' $(SINK_DIR)/*.c $(SINK_DIR)/*/*.c 2>/dev/null)
mod_name    = $(if $(filter $(SINK_DIR)/,$(dir $(1))),$(basename $(notdir $(1))),$(notdir $(patsubst %/,%,$(dir $(1)))))
MODULES    := $(sort $(foreach f,$(MOD_FILES),$(call mod_name,$(f))))
mod_srcs    = $(or $(wildcard $(SINK_DIR)/$(1)/*.c),$(SINK_DIR)/$(1).c)
mod_pkgs    = $(shell sed -n 's/.*hp-module-pkgs: *\([-a-z0-9_. ]*\).*/\1/p' $(call mod_srcs,$(1)))
$(foreach m,$(MODULES),$(eval MODULE_$(m)_SRCS := $(call mod_srcs,$(m))))
$(foreach m,$(MODULES),$(eval MODULE_$(m)_PKGS := $(call mod_pkgs,$(m))))
MOD_SRCS  := $(foreach m,$(MODULES),$(MODULE_$(m)_SRCS))
MOD_PKGS  := $(foreach m,$(MODULES),$(MODULE_$(m)_PKGS))
MOD_OBJS  := $(MOD_SRCS:%.c=$(BUILD)/%.o)
MOD_LIBS  := $(MODULES:%=$(BUILD)/modules/%.so)
MODULEDIR ?= $(PREFIX)/lib/hostpulse/modules

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(MOD_PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  ?= $(OPT) -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. $(PKG_CFLAGS) $(SAN) -MMD -MP
override LDFLAGS += $(SAN)
LDLIBS  += $(PKG_LIBS) -lsensors -lpthread -lm
# Programs that link every sink's object directly (tests, benchmarks).
ALL_LDLIBS := $(LDLIBS) $(shell pkg-config --libs $(MOD_PKGS) 2>/dev/null)

SRCS      := $(wildcard lib/*.c agent/*.c reporters/*.c transport/*.c $(SINK_DIR)/*.c $(SINK_DIR)/*/*.c)
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
CORE_OBJS := $(filter-out $(MOD_OBJS),$(OBJS))
LIB_OBJS  := $(filter-out $(BUILD)/agent/main.o,$(OBJS))
# hostpulse-web: every web/*.c (no Makefile edit per file) on the shared
# base lib/, linked with its own client and server libraries.
WEB_PKGS  := json-c yajl libconfig sqlite3 librabbitmq rdkafka libmosquitto libmicrohttpd
WEB_SRCS  := $(wildcard web/*.c)
WEB_OBJS  := $(WEB_SRCS:%.c=$(BUILD)/%.o) $(filter $(BUILD)/lib/%,$(OBJS))
WEB_LDLIBS = $(shell pkg-config --libs $(WEB_PKGS) 2>/dev/null) -lcrypt -lpthread -lm
$(WEB_SRCS:%.c=$(BUILD)/%.o): PKG_CFLAGS += $(shell pkg-config --cflags $(WEB_PKGS) 2>/dev/null)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:%.c=$(BUILD)/%)
BENCH_SRCS  := $(wildcard bench/*.c)
BENCH_BINS  := $(BENCH_SRCS:%.c=$(BUILD)/%)

PREFIX  ?= /usr
DESTDIR ?=
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/hostpulse
DOCDIR  ?= $(PREFIX)/share/doc/hostpulse

.PHONY: FORCE pkgs all run check test unit asan tsan deps deps-build servers bench deb install install-web clean format format-check lint cppcheck includes fuzz test-bins

all: $(BUILD)/hostpulse $(MOD_LIBS) $(BUILD)/hostpulse-web
ifeq ($(VARIANT),release)
all: hostpulse hostpulse-web
# A link, so that the agent finds build/release/modules beside its target.
hostpulse: $(BUILD)/hostpulse
	ln -sf $< $@
hostpulse-web: $(BUILD)/hostpulse-web
	ln -sf $< $@
endif

$(BUILD)/hostpulse-web: $(WEB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(WEB_LDLIBS)

# The agent exports its hp_* functions for the modules to call back.
$(BUILD)/hostpulse: $(CORE_OBJS)
	$(CC) $(LDFLAGS) -Wl,--export-dynamic-symbol='hp_*' -o $@ $^ $(LDLIBS)

define module_rule
$(BUILD)/modules/$(1).so: $(MODULE_$(1)_SRCS:%.c=$(BUILD)/%.o)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -shared -o $$@ $$^ $$(shell pkg-config --libs $(MODULE_$(1)_PKGS))
endef
$(foreach m,$(MODULES),$(eval $(call module_rule,$(m))))

# Module objects are position-independent; the same objects also link
# straight into the tests and benchmarks.
$(MOD_OBJS): PIC := -fPIC
$(BUILD)/transport/registry.o: MODDEF := -DHP_MODULE_DIR='"$(MODULEDIR)"'

# Every object depends on how it was compiled: a change of CC, CFLAGS,
# MODULEDIR or of which sources are modules (-fPIC) rewrites this file and
# rebuilds the objects, instead of linking stale ones.
BUILD_FLAGS := $(CC) $(CFLAGS) $(MODULEDIR) pic: $(MOD_SRCS)
$(BUILD)/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@
FORCE:

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PIC) $(MODDEF) -c -o $@ $<

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(ALL_LDLIBS) -lcmocka

# Tests and helpers of hostpulse-web (test_web*.c, web_*.c) link its objects
# (all but main) instead of the agent's.
WEB_TEST_OBJS = $(filter-out $(BUILD)/web/main.o,$(WEB_OBJS))
$(BUILD)/tests/unit/test_web%: tests/unit/test_web%.c $(WEB_TEST_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(WEB_TEST_OBJS) $(WEB_LDLIBS) -lcmocka

$(BUILD)/tests/helpers/web_%: tests/helpers/web_%.c $(WEB_TEST_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(WEB_TEST_OBJS) $(WEB_LDLIBS)

$(BUILD)/bench/web_%: bench/web_%.c $(WEB_TEST_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(WEB_TEST_OBJS) $(WEB_LDLIBS)

$(BUILD)/tests/helpers/%: tests/helpers/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(ALL_LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(ALL_LDLIBS)

test-bins: $(BUILD)/hostpulse $(MOD_LIBS) $(BUILD)/hostpulse-web $(UNIT_BINS) $(HELPER_BINS)

# The agent in the foreground with the development config (stdout sink).
run: deps-build all
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

bench: all $(BENCH_BINS) test-bins
	bench/run --build $(BUILD) $(BENCH_ARGS)

# Every pkg-config package the agent and its modules use (tests/fuzz/run).
pkgs:
	@echo $(PKGS) $(MOD_PKGS)

deps:
	@scripts/deps.sh $(BUILD_DEPS) $(DEPS)
	@tests/servers/fetch

deps-build:
	@scripts/deps.sh $(BUILD_DEPS)

# The real Kafka broker and OpenSearch node the sink tests run against:
# jars from Maven Central, versions pinned in tests/servers/pom.xml, cached
# in build/servers (no network once there).
servers:
	@tests/servers/fetch

# Everything a host needs: the agent, its configuration (/etc/hostpulse,
# with conf.d/ for fragments), both init systems' files, man pages, the
# message schema and templates (/usr/share/hostpulse), and documentation
# with the example configs (/usr/share/doc/hostpulse). The Debian package
# uses this target (debian/rules); ownership and modes that need the
# hostpulse user are set by its postinst.
install: all
	install -D -m 0755 $(BUILD)/hostpulse $(DESTDIR)$(PREFIX)/sbin/hostpulse
	install -d $(DESTDIR)$(MODULEDIR)
	install -m 0644 $(MOD_LIBS) $(DESTDIR)$(MODULEDIR)/
	install -D -m 0644 etc/hostpulse.conf $(DESTDIR)$(SYSCONFDIR)/hostpulse/hostpulse.conf
	install -D -m 0644 init/conf.d.README $(DESTDIR)$(SYSCONFDIR)/hostpulse/conf.d/README
	install -D -m 0644 init/hostpulse.default $(DESTDIR)$(SYSCONFDIR)/default/hostpulse
	install -D -m 0755 init/hostpulse.init $(DESTDIR)$(SYSCONFDIR)/init.d/hostpulse
	install -D -m 0644 init/hostpulse.service $(DESTDIR)$(UNITDIR)/hostpulse.service
	install -D -m 0644 docs/hostpulse.8 $(DESTDIR)$(MANDIR)/man8/hostpulse.8
	install -D -m 0644 docs/hostpulse.conf.5 $(DESTDIR)$(MANDIR)/man5/hostpulse.conf.5
	install -d $(DESTDIR)$(DATADIR)/schema $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 docs/schema/*.json $(DESTDIR)$(DATADIR)/schema/
	$(if $(wildcard etc/*.json etc/*.sql),install -m 0644 $(wildcard etc/*.json etc/*.sql) $(DESTDIR)$(DATADIR)/)
	install -m 0644 $(filter-out etc/hostpulse.conf etc/web.conf,$(wildcard etc/*.conf)) $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 README.md $(filter-out docs/web.md,$(wildcard docs/*.md)) $(DESTDIR)$(DOCDIR)/
	$(MAKE) --no-print-directory install-web

# hostpulse-web (the second binary package): the program, its pages (the
# charts library itself comes from Debian's libjs-chart.js), configuration,
# both init systems' files, man page and documentation.
WEBDATADIR ?= $(PREFIX)/share/hostpulse-web
WEBDOCDIR  ?= $(PREFIX)/share/doc/hostpulse-web
install-web: $(BUILD)/hostpulse-web
	install -D -m 0755 $(BUILD)/hostpulse-web $(DESTDIR)$(PREFIX)/sbin/hostpulse-web
	install -d $(DESTDIR)$(WEBDATADIR)/static
	install -m 0644 $(wildcard web/static/*) $(DESTDIR)$(WEBDATADIR)/static/
	install -D -m 0644 etc/web.conf $(DESTDIR)$(SYSCONFDIR)/hostpulse/web.conf
	install -D -m 0644 init/hostpulse-web.default $(DESTDIR)$(SYSCONFDIR)/default/hostpulse-web
	install -D -m 0755 init/hostpulse-web.init $(DESTDIR)$(SYSCONFDIR)/init.d/hostpulse-web
	install -D -m 0644 init/hostpulse-web.service $(DESTDIR)$(UNITDIR)/hostpulse-web.service
	install -D -m 0644 docs/hostpulse-web.8 $(DESTDIR)$(MANDIR)/man8/hostpulse-web.8
	install -D -m 0644 docs/web.md $(DESTDIR)$(WEBDOCDIR)/web.md
	$(if $(wildcard docs/images/web-*.png),install -D -m 0644 $(wildcard docs/images/web-*.png) -t $(DESTDIR)$(WEBDOCDIR)/images/)

deb:
	scripts/build-deb.sh

FORMAT_FILES := $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

lint: format-check cppcheck includes

# The include graph points one way and has no cycle (tests/check_includes).
includes:
	tests/check_includes

cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --std=c11 -I. -D_GNU_SOURCE --suppress=missingIncludeSystem \
	  lib agent reporters transport web

clean:
	rm -rf build hostpulse hostpulse-web

-include $(OBJS:.o=.d) $(WEB_SRCS:%.c=$(BUILD)/%.d)
