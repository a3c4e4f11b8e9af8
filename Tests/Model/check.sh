#!/usr/bin/env bash
# Checks the model of the etcd semaphore (Tests/Model/semaphore.pml) with Spin: mutual exclusion with 1 and 2
# slots under any number of faults, progress under weak fairness with a bounded number of faults, and that the
# variants without the checks do break mutual exclusion (or progress), so that a check that proves nothing
# cannot pass. One line per run; exits non-zero on any unexpected outcome.
#
#   Tests/Model/check.sh       the runs, two at a time (or as many as there are processors)
#   Tests/Model/check.sh -v    also prints the trail of every run that fails, one line per step
set -u

verbose=0
[ "${1:-}" = "-v" ] && verbose=1
here=$(cd "$(dirname "$0")" && pwd)
model=$here/semaphore.pml
for tool in spin gcc; do
    command -v $tool >/dev/null || { echo "check.sh: $tool is missing (make deps installs it)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# job NAME "SPIN FLAGS" "GCC FLAGS" RUN...  where RUN is "LABEL|PAN FLAGS|EXPECT" and EXPECT is
#   pass        no error, and the search was complete
#   rebooting   an assertion violated: more than SLOTS nodes rebooting
#   cycle       an acceptance cycle (the ltl formula does not hold)
job() {
    local name=$1 sflags=$2 cflags=$3 d=$tmp/$1
    shift 3
    mkdir -p "$d" && cp "$model" "$d/"
    cd "$d" || return
    local t0
    t0=$(now)
    if ! spin $sflags -a semaphore.pml >build.txt 2>&1 || ! gcc $cflags -w -o pan pan.c >>build.txt 2>&1; then
        { echo "FAIL  $name: the model does not build"; sed 's/^/      /' build.txt; } >result
        echo 1 >status
        return
    fi
    local build status=0 run label pflags expect
    build=$(since "$t0")
    : >result
    for run in "$@"; do
        IFS='|' read -r label pflags expect <<<"$run"
        rm -f semaphore.pml.trail
        t0=$(now)
        ./pan $pflags >pan.txt 2>&1
        local took states depth errors outcome ok=0 detail="" trail="" steps="" lines
        took=$(since "$t0")
        states=$(awk '/states, stored/ { print $1; exit }' pan.txt)
        depth=$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' pan.txt | head -1)
        errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.txt | head -1)
        if [ -f semaphore.pml.trail ]; then
            trail=$(spin $sflags -T -t semaphore.pml 2>&1)
            steps=$(sed -n 's/.*trail ends after \([0-9]*\) steps.*/\1/p' <<<"$trail")
        fi
        case $expect in
        pass)
            if [ "$errors" = 0 ] && ! grep -q "max search depth too small" pan.txt; then
                ok=1
                outcome="holds"
            else
                outcome="FAILS"
            fi
            ;;
        rebooting)
            outcome="violated as expected"
            if [ "${errors:-0}" -gt 0 ] && grep -q "assertion violated" <<<"$trail" \
                && grep -A1 "assertion violated" <<<"$trail" | grep -q "REBOOT"; then
                ok=1
                detail=", trail of $steps steps: more than SLOTS rebooting"
            else
                outcome="NOT violated"
            fi
            ;;
        cycle)
            outcome="violated as expected"
            if [ "${errors:-0}" -gt 0 ] && grep -q "acceptance cycle" pan.txt \
                && grep -q "START OF CYCLE" <<<"$trail"; then
                ok=1
                detail=", trail of $steps steps ending in a cycle"
            else
                outcome="NOT violated"
            fi
            ;;
        esac
        if [ $ok = 1 ]; then printf 'ok    '; else printf 'FAIL  '; status=1; fi
        printf '%-52s %-20s %9s states, depth %6s, %5s s (build %s s)%s\n' \
            "$name $label" "$outcome" "${states:-?}" "${depth:-?}" "$took" "$build" "$detail"
        if [ -n "$trail" ] && { [ $ok = 0 ] || [ $verbose = 1 ]; }; then
            # The narration (the model's printf) of the steps, the last 40 of a long trail.
            grep -E '^(n[0-9]|a |<<<<<|spin: text of failed)' <<<"$trail" >steps.txt
            lines=$(wc -l <steps.txt)
            [ "$lines" -gt 40 ] && echo "      ... $((lines - 40)) steps before these"
            tail -n 40 steps.txt | sed 's/^/      /'
            [ $ok = 0 ] && echo "      again: spin $sflags -a semaphore.pml; gcc $cflags -o pan pan.c;" \
                "./pan $pflags; spin $sflags -T -t semaphore.pml"
        fi
        if [ $ok = 0 ] && [ -z "$trail" ]; then sed 's/^/      /' pan.txt; fi
    done >>result
    echo $status >status
}

# Mutual exclusion: exhaustive, any number of crashes and slow-node expiries at any moment. The longest runs
# first; an optimised pan pays for its longer build only on the larger state spaces.
safety="-m1000000"
# Progress: acceptance cycles under weak fairness, each node needing one reboot, at most FAULTS faults.
live="-m1000000 -a -f"
# The variants expected to fail: a search bounded in depth (complete within it: -DREACH), for a short trail.
short="-m20"
longer="-m25"
jobs=(
    "safety-2|-DSLOTS=2|-O2 -DSAFETY|mutual exclusion|$safety|pass"
    "liveness-1|-DSLOTS=1 -DLIVE -DFAULTS=2|-O2|waiter, FAULTS=2|$live -N waiter|pass|done, FAULTS=2|$live -N done|pass"
    "liveness-2|-DSLOTS=2 -DLIVE -DFAULTS=1|-O2|waiter, FAULTS=1|$live -N waiter|pass|done, FAULTS=1|$live -N done|pass"
    "safety-1|-DSLOTS=1|-O1 -DSAFETY|mutual exclusion|$safety|pass"
    "no-recheck-1|-DSLOTS=1 -DBUGGY_NO_RECHECK|-O0 -DSAFETY -DREACH|mutual exclusion|$short|rebooting"
    "no-recheck-2|-DSLOTS=2 -DBUGGY_NO_RECHECK|-O1 -DSAFETY -DREACH|mutual exclusion|$longer|rebooting"
    "no-reread-1|-DSLOTS=1 -DBUGGY_NO_REREAD|-O0 -DSAFETY -DREACH|mutual exclusion|$short|rebooting"
    "release-1|-DSLOTS=1 -DBUGGY_RELEASE -DONLY_REBOOTING|-O1 -DSAFETY -DREACH|mutual exclusion|$longer|rebooting"
    "early-cancel-1|-DSLOTS=1 -DLIVE -DFAULTS=0 -DBUGGY_EARLY_CANCEL|-O0|done, FAULTS=0|$live -N done|cycle"
)

parallel=$(nproc 2>/dev/null || echo 2)
[ "$parallel" -lt 2 ] && parallel=2
start=$(now)
names=()
for spec in "${jobs[@]}"; do
    IFS='|' read -r name sflags cflags rest <<<"$spec"
    IFS='|' read -r -a fields <<<"$rest"
    runs=()
    for ((k = 0; k < ${#fields[@]}; k += 3)); do runs+=("${fields[k]}|${fields[k + 1]}|${fields[k + 2]}"); done
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n; done
    (job "$name" "$sflags" "$cflags" "${runs[@]}") &
    names+=("$name")
done
wait

failed=0
for name in "${names[@]}"; do
    cat "$tmp/$name/result"
    [ "$(cat "$tmp/$name/status" 2>/dev/null)" = 0 ] || failed=1
done
if [ $failed = 0 ]; then
    echo "model: every run as expected ($(since "$start") s)"
else
    echo "model: unexpected outcomes ($(since "$start") s)"
fi
exit $failed
