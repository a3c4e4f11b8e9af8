# rc — reboot coordinator. `make run` and `make test` work on a fresh Debian machine.
SWIFT      ?= swift
DEBS       := libpcre2-dev libyaml-dev libssl-dev pkg-config etcd-server etcd-client util-linux openssl e2fsprogs passwd spin gcc prometheus
RC_DEBUG   := .build/debug/rc
RC_RELEASE := .build/release/rc

.PHONY: deps build release run test test-unit test-policies model bench idle floor clean

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
# only libc, libm, libz, libgcc_s and libpcre2 on the host. Linked with the toolchain's lld, packed relative
# relocations (DT_RELR: glibc 2.36 or later; `make release RELR=` for older hosts) and no exported symbols. The
# code is laid out by a profile: compiled with one section per function, linked once, run under callgrind
# (packaging/link/profile.sh), then linked again with the code the daemon runs side by side
# (docs/performance.md, "Code layout").
RELR          ?= -Xlinker -z -Xlinker pack-relative-relocs
STATIC_CXX    := $(CURDIR)/.build/static-c++
RELEASE_BASE  := -c release --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic $(RELR) \
                 -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -L$(STATIC_CXX)
PRIVATE_LD    := $(CURDIR)/packaging/link/private-functions.ld
RELEASE_FLAGS := $(RELEASE_BASE) -Xlinker -T$(PRIVATE_LD)
RELEASE_DEBS  := valgrind binutils python3
release: deps
	@$(MAKE) --no-print-directory deps DEBS="$(RELEASE_DEBS)"
	@# The compiler does not rebuild objects when only the flags changed: start afresh when they did.
	@mkdir -p .build; echo '$(RELEASE_BASE)' | cmp -s - .build/release-flags || \
	  { [ -L .build/release ] && rm -rf "$$(readlink -f .build/release)"; echo '$(RELEASE_BASE)' > .build/release-flags; }
	@# -lstdc++ finds the archive first: a directory that holds only libstdc++.a, searched before the system's.
	@a=$$("$$(dirname "$$(readlink -f "$$(command -v $(SWIFT))")")/clang" -print-file-name=libstdc++.a); [ -f "$$a" ] || { echo "libstdc++.a not found (clang looked for it in GCC's directory; Debian: libstdc++-12-dev)" >&2; exit 1; }; \
	  mkdir -p $(STATIC_CXX) && ln -sf "$$a" $(STATIC_CXX)/libstdc++.a
	@# Both links remove the binary first: the package manager does not relink when only linker flags changed.
	rm -f .build/release/rc
	$(SWIFT) build $(RELEASE_FLAGS) -Xlinker -Map=$(CURDIR)/.build/rc.map --product rc
	packaging/link/profile.sh .build/release/rc .build/rc.map .build/rc-layout.ld
	rm .build/release/rc
	@# The layout first: the private functions the profile ran go to .text.hot, the others to .text.private.
	$(SWIFT) build $(RELEASE_BASE) -Xlinker -T$(CURDIR)/.build/rc-layout.ld -Xlinker -T$(PRIVATE_LD) --product rc
	@# The laid-out binary checks the repository's policies and runs their tests.
	.build/release/rc check --strict policies/ >/dev/null
	.build/release/rc test policies/ >/dev/null

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
	@# The short chaos runs by themselves (six daemons and etcd keep both cores busy), then everything else.
	$(SWIFT) test --skip-build --disable-xctest --filter ChaosTests
	$(SWIFT) test --skip-build --disable-xctest --skip ChaosTests

test-policies:
	$(RC_DEBUG) check --strict policies/
	$(RC_DEBUG) fmt --check policies/
	$(RC_DEBUG) test --min-coverage 100 policies/

# The model of the etcd semaphore, checked with Spin (docs/etcd.md, "The model").
model: deps
	Tests/Model/check.sh

# Resident memory and CPU of `rc run` left idle (IDLE_SECONDS, default 600) with a 5 s check interval.
idle: release
	Benchmarks/idle.sh .build/release/rc

# The same next to the smallest programs on rc's stack (Benchmarks/Floor; FLOOR_SECONDS, default 60).
floor: release
	RELEASE_FLAGS="$(RELEASE_FLAGS)" Benchmarks/floor.sh .build/release/rc

bench: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product rc-bench
	.build/release/rc-bench

clean:
	rm -rf .build

# The chaos suite (docs/reliability.md): six daemons on a real etcd under a seeded schedule of faults, seeds one
# after another through the four configurations for CHAOS_MINUTES (default 10), each judged by the checker.
# `make chaos RC_CHAOS_SEED=<seed>` replays one seed as printed.
CHAOS_MINUTES ?= 10
.PHONY: chaos
chaos: deps
	$(SWIFT) build --build-tests
	RC_CHAOS_MINUTES=$(CHAOS_MINUTES) timeout $$(( $(CHAOS_MINUTES) * 60 + 300 )) $(SWIFT) test --skip-build --disable-xctest --filter ChaosTests
