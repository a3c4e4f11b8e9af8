#!/bin/sh
# Profiles a release build of rc for its code layout (docs/performance.md, "Code layout").
# usage: packaging/link/profile.sh RC MAP LAYOUT [--prefix=PATH=@NAME@]...  (`make layout`; the prefixes go to layout.py)
# Runs the daemon under callgrind on the policies a node commonly has (a time zone, a deny window, a rule, two
# detectors), a few passes each: on a local lock with nothing to do, then with a reboot due (dry run), then both
# again on an etcd lock (a local etcd on loopback, started here). Then writes to LAYOUT the linker script that
# puts the code those runs executed side by side, the local lock's first.
# KEEP=1 keeps the profiles and logs (the directory is printed).
set -eu
rc=$1 map=$2 layout=$3
shift 3
here=$(dirname "$0")
. "$here/../../scripts/local-etcd.sh"
dir=$(mktemp -d)
ETCD_PID=""
cleanup() {
  [ -z "$ETCD_PID" ] || kill "$ETCD_PID" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "profile.sh: kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
# valgrind cannot read the DWARF of this binary; the profile needs only its symbols, at the same addresses.
objcopy --strip-debug "$rc" "$dir/rc"

profile() { # NAME FLAG PATHS LOCK: the flag file set or clear, paths relative or absolute, lock local or etcd
  mkdir -p "$dir/$1"
  [ "$2" = set ] && : > "$dir/$1/flag"
  cat > "$dir/$1/policy.rcl" <<POLICY
policy "profile" {}
dry_run true
detector "apt" debian
detector "flag" file "$dir/$1/flag"
timezone "Europe/Berlin"
window deny "weekend" Sat 00:00 .. Sat 00:01
$(if [ "$4" = etcd ]; then echo "lock etcd { endpoints [\"$ETCD_ENDPOINT\"]  key \"/rc-profile\" }"; else echo "lock local { path \"$dir/$1/lock\" }"; fi)
rule "quorum" { deny when cluster.healthy < max(1, 50% of cluster.size) }
cluster { check_interval 1s }
POLICY
  policy="$dir/$1/policy.rcl" state="$dir/$1/state"
  [ "$3" = relative ] && policy=policy.rcl state=state
  (cd "$dir/$1" && exec valgrind --tool=callgrind --dump-instr=yes --compress-pos=no \
    --callgrind-out-file="$dir/$1.callgrind" \
    "$dir/rc" run "$policy" --state-dir "$state" --node-name profile >/dev/null 2>"$dir/$1/log") &
  pid=$!
  # Three passes, then a graceful stop.
  i=0
  while [ "$(grep -c "decision:" "$dir/$1/log" 2>/dev/null || true)" -lt 3 ]; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 $pid 2>/dev/null; then
      echo "profile.sh: the profiled daemon did not reach three passes:" >&2
      cat "$dir/$1/log" >&2
      exit 1
    fi
    sleep 0.1
  done
  kill -TERM $pid
  wait $pid || { echo "profile.sh: the profiled daemon did not stop cleanly:" >&2; cat "$dir/$1/log" >&2; exit 1; }
}
profile idle clear relative local
profile due set absolute local

start_local_etcd "$dir"
profile etcd-idle clear relative etcd
profile etcd-due set absolute etcd
kill "$ETCD_PID"; wait "$ETCD_PID" 2>/dev/null || true
ETCD_PID=""

python3 "$here/layout.py" "$map" "$dir/rc" "$layout" \
  "$dir/idle.callgrind" "$dir/due.callgrind" "$dir/etcd-idle.callgrind" "$dir/etcd-due.callgrind" "$@"
