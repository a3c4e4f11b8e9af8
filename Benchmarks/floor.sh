#!/bin/bash
# The idle-memory floor of rc's stack: builds the programs of Benchmarks/Floor (release, linked as rc is), runs
# each for FLOOR_SECONDS (default 60) next to `rc run` left idle (Benchmarks/idle.sh), the HTTP ones against a
# local etcd, and prints the resident memory of each. `make floor` passes rc's RELEASE_FLAGS; run by hand, it
# builds with the static Swift runtime and the default linker.
set -eu
rc="${1:-.build/release/rc}"
seconds="${FLOOR_SECONDS:-60}"
here=$(cd "$(dirname "$0")" && pwd)
flags="${RELEASE_FLAGS:--c release --static-swift-stdlib}"
swift build --package-path "$here/Floor" $flags
bin=$(swift build --package-path "$here/Floor" $flags --show-bin-path)
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
. "$here/../scripts/local-etcd.sh"
start_local_etcd "$dir"
pids+=("$ETCD_PID")
programs=(floor-stdlib floor-essentials floor-timezone floor-jsonserialization floor-foundation floor-http floor-http-foundation)
for p in "${programs[@]}"; do
  "$bin/$p" "$ETCD_ENDPOINT" >"$dir/$p.log" 2>&1 &
  pids+=($!)
done
IDLE_SECONDS="$seconds" "$here/idle.sh" "$rc" &
idle=$!
sleep "$seconds"
for i in "${!programs[@]}"; do
  pid=${pids[$((i + 1))]}
  awk -v p="${programs[$i]}" '/^VmRSS/ {rss = $2} /^RssAnon/ {anon = $2} END {
    printf "%-24s RSS %5.1f MB (private %.1f MB)\n", p, rss / 1024, anon / 1024 }' "/proc/$pid/status"
done
wait "$idle"
