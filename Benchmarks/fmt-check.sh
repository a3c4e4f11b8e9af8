#!/bin/sh
# `rc fmt --check` on a policy of which 8,000 lines change (docs/performance.md, "rc fmt --check").
# Usage: Benchmarks/fmt-check.sh RC_BINARY [CHANGED_LINES]
# Writes the policy to a temporary directory, then reports the run's wall time and peak RSS (/usr/bin/time -v) for
# two layouts: every changed line between two unchanged ones (8,000 hunks), and one block of changed lines.
set -eu
rc=$1
lines=${2:-8000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

head='policy "bench" {}
detector "apt" debian'
# Each rule is written with extra spaces, so the formatter rewrites every rule line and keeps each comment.
{
  echo "$head"
  i=0
  while [ $i -lt "$lines" ]; do
    echo "# rule $i"
    echo "rule \"r$i\" {  deny when   cluster.healthy <  $i }"
    i=$((i + 1))
  done
} > "$dir/interleaved.rcl"
{
  echo "$head"
  i=0
  while [ $i -lt "$lines" ]; do
    echo "rule \"r$i\" {  deny when   cluster.healthy <  $i }"
    i=$((i + 1))
  done
} > "$dir/block.rcl"

for layout in interleaved block; do
  status=0
  /usr/bin/time -v "$rc" fmt --check "$dir/$layout.rcl" > "$dir/$layout.diff" 2> "$dir/$layout.time" || status=$?
  # --check exits 1 when the file would change, which it must here.
  [ $status -eq 1 ] || { echo "rc fmt --check exited $status on $layout.rcl" >&2; cat "$dir/$layout.time" >&2; exit 1; }
  changed=$(grep -c '^-rule' "$dir/$layout.diff")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/$layout.time")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/$layout.time")
  echo "fmt --check, $layout: $changed changed lines, wall $wall, peak RSS $((rss / 1024)) MB"
done
