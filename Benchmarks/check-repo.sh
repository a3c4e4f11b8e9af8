#!/bin/sh
# Times `rc check` on a generated repository of policy files (docs/performance.md, "rc check on a repository").
# Usage: Benchmarks/check-repo.sh RC_BINARY [FILES] [PER_DIRECTORY]
set -eu
rc=$1; files=${2:-1000}; per=${3:-1000}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
i=0
while [ $i -lt "$files" ]; do
  d="$dir/group-$((i / per))"; mkdir -p "$d"
  cat > "$d/host-$i.rcl" <<POLICY
# Generated policy $i.
policy "host-$i" {
  applies_to node.name == "host-$i"
}

detector "apt" debian
detector "dnf" command ["/usr/bin/needs-restarting", "-r"] {
  reboot_when exit == 1
  ok_when     exit == 0
  timeout     30s
}

timezone "Europe/Berlin"
window allow "nights" Mon..Fri 0$((i % 4)):00 .. 05:00
window deny "backups" daily 03:00 .. 03:30

health "services" script ["/usr/bin/systemctl", "is-system-running"] { run pre_lock, post_boot }

lock local
kill_switch file "/etc/rc/disable"

rule "quorum" { deny when cluster.healthy < $((i % 5 + 2)) }
rule "soak" { deny when node.labels["tier"] == "canary" and node.uptime < 24h }
rule "cool down" { deny when now - cluster.last_reboot < $((i % 50 + 10))m }

test "reboots" {
  given { now 2026-11-24T04:30:00+01:00  detector "apt" fired  node.name "host-$i"  cluster.size 10  cluster.healthy 10 }
  expect reboot
}

test "quorum" {
  given { now 2026-11-24T04:30:00+01:00  detector "dnf" fired  cluster.size 10  cluster.healthy 1 }
  expect blocked by rule "quorum"
}
POLICY
  i=$((i + 1))
done
/usr/bin/time -f "rc check: %e s wall, %M KB max RSS" "$rc" check --fail-level info "$dir" | tail -n 1
