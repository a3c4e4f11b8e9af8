/// The policy `rc run` and `rc status` use when none is given, and the one packages install: it detects, decides
/// and reports, and never reboots until the operator turns `dry_run` off. A test keeps it identical to
/// `policies/defaults/default.rcl`.
enum DefaultPolicy {
    static let path = "<embedded default policy>"
    static let text = #"""
# The policy rc runs when it is given no other: it watches the reboot flags
# that package managers leave (none of these detectors fails where the flag's
# distribution is not installed), keeps a local lock and only says what it
# would do (dry run). Add `detector "dnf" rhel` on RHEL-like hosts.
policy "default" {
  description "safe defaults: detect, decide and report; never reboot until dry_run is turned off"
}

dry_run true

detector "apt" debian  # /var/run/reboot-required
detector "flag" file "/run/reboot-needed"  # SUSE, and any tool that sets it

lock local
kill_switch file "/etc/rc/disable"
reboot command ["/sbin/shutdown", "-r", "+1", "rc: coordinated reboot of ${node.name}"]

cluster {
  check_interval 5m
  backoff        10s .. 5m
}

test "dry run still decides" {
  given { detector "apt" fired }
  expect reboot
}

test "the kill switch holds it" {
  given { detector "flag" fired  kill_switch true }
  expect blocked by kill_switch
}

test "nothing to do" {
  given { detector "apt" clear }
  expect no_reboot
}
"""#
}
