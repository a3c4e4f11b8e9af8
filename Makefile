# rc — reboot coordinator. `make run` and `make test` work on a fresh Debian machine.
SWIFT      ?= swift
DEBS       := libpcre2-dev libyaml-dev libssl-dev pkg-config etcd-server etcd-client util-linux openssl
RC_DEBUG   := .build/debug/rc
RC_RELEASE := .build/release/rc

.PHONY: deps build release run test test-unit test-policies bench idle floor clean

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

# A release build of rc with the Swift runtime and Foundation linked in, so the binary needs only libc,
# libstdc++ and libpcre2 on the host. Linked with the toolchain's lld, packed relative relocations (DT_RELR:
# glibc 2.36 or later; `make release RELR=` for older hosts) and no exported symbols: 3 MB less resident memory
# for the daemon (docs/performance.md).
RELR          ?= -Xlinker -z -Xlinker pack-relative-relocs
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker --no-export-dynamic $(RELR)
release: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product rc

# One pass of the daemon on the embedded default policy (local lock, dry run): it detects, decides and prints
# what it would do. `make run RUN_ARGS=` keeps it running (Ctrl-C stops it).
RUN_ARGS ?= --once
run: build
	$(RC_DEBUG) run --dry-run --state-dir .build/rc-state $(RUN_ARGS)

# The Swift Testing summary stays the last line of the output.
test: deps
	$(SWIFT) build --build-tests
	$(MAKE) test-policies
	$(SWIFT) test --skip-build --disable-xctest

test-policies:
	$(RC_DEBUG) check --strict policies/
	$(RC_DEBUG) fmt --check policies/
	$(RC_DEBUG) test --min-coverage 100 policies/

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
