#!/bin/sh
# Idle cost of the daemon: runs `rc run` (release build) on a policy with a 5 s check interval for
# IDLE_SECONDS (default 600), then prints its resident memory (VmRSS), its proportional share of it (PSS), its
# private memory (Private_Dirty of /proc/PID/smaps_rollup: heap, stacks, relocated data, what no other process can
# share and the kernel cannot drop), the clean pages only it maps (Private_Clean: mostly the binary's own code and
# read-only data, shared with any other rc process), and the CPU it used. Targets: VmRSS at most 15 MB, private
# at most 3 MB; IDLE_CHECK=1 fails above them.
set -eu
rc="${1:-.build/release/rc}"
seconds="${IDLE_SECONDS:-600}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/policy.rcl" <<POLICY
policy "idle" {}
detector "apt" debian
detector "flag" file "$dir/flag"
timezone "Europe/Berlin"
window deny "weekend" Fri 18:00 .. Mon 08:00
lock local { path "$dir/lock" }
rule "quorum" { deny when cluster.healthy < max(1, 50% of cluster.size) }
cluster { check_interval 5s }
POLICY
# Start as the daemon does at boot, with none of the binary in the page cache: how many pages fault-around maps
# around each touched one depends on what the cache holds and how the file was written (right after the linker
# wrote it, up to 2 MB more than after a copy or a boot).
sync "$rc"
dd if="$rc" iflag=nocache count=0 2>/dev/null || echo "idle.sh: could not drop the binary from the page cache" >&2
"$rc" run "$dir/policy.rcl" --state-dir "$dir/state" --node-name idle 2>"$dir/log" &
pid=$!
ticks=$(getconf CLK_TCK)
sleep 2
start_cpu=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep "$seconds"
end_cpu=$(awk '{print $14 + $15}' "/proc/$pid/stat")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
anon=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status")
pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
private=$(awk '/^Private_Dirty:/ {print $2}' "/proc/$pid/smaps_rollup")
clean=$(awk '/^Private_Clean:/ {print $2}' "/proc/$pid/smaps_rollup")
passes=$(grep -c "decision:" "$dir/log" || true)
kill -TERM "$pid"
wait "$pid" || true
awk -v c="$((end_cpu - start_cpu))" -v t="$ticks" -v s="$seconds" -v rss="$rss" -v hwm="$hwm" -v a="$anon" -v p="$passes" \
  -v pss="$pss" -v priv="$private" -v clean="$clean" 'BEGIN {
  printf "idle %d s, %d passes: VmRSS %.1f MB (peak %.1f MB), PSS %.1f MB, private %.1f MB (anonymous %.1f MB; clean pages only it maps %.1f MB), CPU %.3f %% (%.2f s)\n", s, p, rss / 1024, hwm / 1024, pss / 1024, priv / 1024, a / 1024, clean / 1024, 100 * c / t / s, c / t
}'
if [ -n "${IDLE_CHECK:-}" ] && { [ "$rss" -gt $((15 * 1024)) ] || [ "$private" -gt $((3 * 1024)) ]; }; then
  echo "idle.sh: above the targets (VmRSS 15 MB, private 3 MB)" >&2
  exit 1
fi
