#!/bin/sh
# The short package checks (`make package-check`, part of `make test`; packaging/README.md, "Tests").
# usage: packaging/test/check-packages.sh DIST VERSION
set -eu
dist=$1 version=$2
here=$(cd "$(dirname "$0")" && pwd)
packaging=$(dirname "$here")
deb=$dist/rc_${version}_amd64.deb
rpm=$dist/rc-${version}-1.x86_64.rpm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

(cd "$dist" && sha256sum --quiet -c SHA256SUMS) && pass "SHA256SUMS" || fail "SHA256SUMS does not match the packages"

# What both packages hold (the zsh completion's directory differs).
expected="/usr/bin/rc /etc/rc/policy.rcl /etc/rc/labels /etc/rc/policy.d /var/lib/rc
/usr/lib/systemd/system/rc.service /usr/lib/tmpfiles.d/rc.conf /usr/share/bash-completion/completions/rc
/usr/share/fish/vendor_completions.d/rc.fish /usr/share/doc/rc/README.md /usr/share/doc/rc/packaging.md"
# A man page for the tool and each of its verbs, as its help lists them.
for verb in $(sed -n '/^SUBCOMMANDS:/,/^$/p' <<HELP | awk 'NR > 1 && /^  [a-z]/ {print $1}'
$("$packaging/../.build/package/stage/usr/bin/rc" --help)
HELP
); do expected="$expected /usr/share/man/man1/rc.$verb.1.gz"; done
expected="$expected /usr/share/man/man1/rc.1.gz"
for dashboard in "$packaging"/grafana/*.json; do
  [ -f "$dashboard" ] && expected="$expected /usr/share/rc/grafana/$(basename "$dashboard")"
done

dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\.||; s|/$||' > "$work/deb.list"
for path in $expected /usr/share/zsh/vendor-completions/_rc; do
  grep -qxF "$path" "$work/deb.list" || fail ".deb lacks $path"
done
if [ ! -f "$(ls "$packaging"/grafana/*.json 2>/dev/null | head -1)" ] && grep -q '^/usr/share/rc' "$work/deb.list"; then
  fail ".deb has /usr/share/rc without a dashboard in packaging/grafana"
fi
dpkg-deb -I "$deb" > "$work/deb.info"
grep -qx " Package: rc" "$work/deb.info" || fail ".deb is not named rc"
grep -qx " Version: $version-1" "$work/deb.info" || fail ".deb version is not $version-1"
grep -qx " Architecture: amd64" "$work/deb.info" || fail ".deb is not amd64"
grep -q "^ Depends: .*libc6 (>= 2.31)" "$work/deb.info" || fail ".deb does not depend on libc6 (>= 2.31)"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles > "$work/conffiles"
printf '/etc/rc/labels\n/etc/rc/policy.rcl\n' | cmp -s - "$(sort "$work/conffiles" > "$work/c" && echo "$work/c")" ||
  fail ".deb configuration files are not policy.rcl and labels: $(tr '\n' ' ' < "$work/conffiles")"
[ "$failures" -eq 0 ] && pass ".deb contents and metadata ($(wc -l < "$work/deb.list") entries)"

before=$failures
rpm -qpl "$rpm" > "$work/rpm.list"
for path in $expected /usr/share/zsh/site-functions/_rc; do
  grep -qxF "$path" "$work/rpm.list" || fail ".rpm lacks $path"
done
rpm -qpi "$rpm" > "$work/rpm.info"
grep -q "^Name *: rc$" "$work/rpm.info" || fail ".rpm is not named rc"
grep -q "^Version *: $version$" "$work/rpm.info" || fail ".rpm version is not $version"
grep -q "^Release *: 1$" "$work/rpm.info" || fail ".rpm release is not 1"
grep -q "^Architecture *: x86_64$" "$work/rpm.info" || fail ".rpm is not x86_64"
[ "$(rpm -qpc "$rpm" | sort | tr '\n' ' ')" = "/etc/rc/labels /etc/rc/policy.rcl " ] || fail ".rpm configuration files are not policy.rcl and labels"
rpm -qp --scripts "$rpm" | grep -q "systemctl try-restart rc.service" || fail ".rpm scripts do not restart a running rc on upgrade"
rpm -qp --scripts "$rpm" | grep -q "systemctl enable\|systemctl start" && fail ".rpm scripts enable or start rc"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst ./prerm ./postrm | grep -q "systemctl enable\|systemctl start" && fail ".deb scripts enable or start rc"
[ "$failures" -eq "$before" ] && pass ".rpm contents and metadata ($(wc -l < "$work/rpm.list") entries)"

# The installed trees.
mkdir -p "$work/deb" "$work/rpm"
dpkg-deb -x "$deb" "$work/deb"
(cd "$work/rpm" && rpm2cpio "$OLDPWD/$rpm" | cpio -idm --quiet)
"$here/check-binary.sh" "$work/deb/usr/bin/rc" || fail "the packaged binary's glibc baseline"
cmp -s "$work/deb/usr/bin/rc" "$work/rpm/usr/bin/rc" || fail "the .deb and .rpm hold different binaries"
for tree in deb rpm; do
  rc="$work/$tree/usr/bin/rc"
  "$rc" check --strict "$work/$tree/etc/rc/policy.rcl" >/dev/null || fail "the $tree default policy does not check"
  "$rc" test "$work/$tree/etc/rc/policy.rcl" >/dev/null || fail "the $tree default policy's tests fail"
  grep -qx 'dry_run true' "$work/$tree/etc/rc/policy.rcl" || fail "the $tree default policy is not a dry run"
  grep -qx 'lock local' "$work/$tree/etc/rc/policy.rcl" || fail "the $tree default policy's lock is not local"
  grep -v '^#' "$work/$tree/etc/rc/labels" | grep -q . && fail "the $tree labels file is not empty"
  # The labels file as shipped is one rc reads (a bad line would exit 2).
  code=0
  "$rc" status --skip-health --skip-lock --labels-file "$work/$tree/etc/rc/labels" --state-dir "$work/state-$tree" \
    --node-name check "$work/$tree/etc/rc/policy.rcl" >/dev/null 2>&1 || code=$?
  case $code in 1|2|64) fail "rc status refuses the $tree labels file or policy (exit $code)" ;; esac
done
grep -q '^detector "apt" debian' "$work/deb/etc/rc/policy.rcl" || fail "the .deb policy lacks the Debian detector"
grep -q '^detector "dnf" rhel' "$work/rpm/etc/rc/policy.rcl" || fail "the .rpm policy lacks the RHEL detector"
for shell in bash zsh fish; do
  "$work/deb/usr/bin/rc" --generate-completion-script $shell | grep -q "run" || fail "no $shell completion"
done
bash -n "$work/deb/usr/share/bash-completion/completions/rc" || fail "the bash completion does not parse"
zcat "$work/deb/usr/share/man/man1/rc.run.1.gz" | grep -q "^\.Nm" || fail "rc.run.1 is not a man page"
[ "$failures" -eq 0 ] && pass "packaged binary, default policies, labels, completions and man pages"

# The unit, verified against the staged tree (with systemd's own units and /bin/kill beside it).
root=$work/verify
mkdir -p "$root"
cp -a "$work/deb/." "$root/"
cp -an /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
mkdir -p "$root/bin" && cp /bin/kill "$root/bin/kill"
if out=$(MANPATH="$root/usr/share/man" systemd-analyze verify --root="$root" rc.service 2>&1) && [ -z "$out" ]; then
  pass "systemd-analyze verify rc.service"
else
  fail "systemd-analyze verify rc.service: $out"
fi
security=$(systemd-analyze security --offline=true --threshold=40 "$root/usr/lib/systemd/system/rc.service" 2>&1) ||
  fail "systemd-analyze security: exposure above 4.0"
exposure=$(printf '%s\n' "$security" | sed -n 's/.*Overall exposure level for rc.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] && echo "ok: systemd-analyze security --offline=true: exposure $exposure (at most 4.0)" || fail "no exposure figure"

# Type=notify: rc run says READY=1, then pings the watchdog every half WATCHDOG_USEC.
python3 - "$work/deb/usr/bin/rc" "$work" <<'PY' && pass "rc run: READY=1, then WATCHDOG=1 pings, and a clean stop" || fail "rc run's systemd notifications"
import os, signal, socket, subprocess, sys, time
rc, work = sys.argv[1], sys.argv[2]
path = os.path.join(work, "notify")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(5)
with open(os.path.join(work, "notify.rcl"), "w") as f:
    f.write('policy "notify" {}\ndry_run true\ndetector "flag" file "%s/flag"\nlock local { path "%s/lock" }\n' % (work, work))
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="300000")
p = subprocess.Popen([rc, "run", os.path.join(work, "notify.rcl"), "--state-dir", os.path.join(work, "notify-state"),
                      "--node-name", "notify"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
messages, start = [], time.monotonic()
try:
    while time.monotonic() - start < 1.5:
        messages.append(s.recv(4096).decode())
except socket.timeout:
    pass
p.send_signal(signal.SIGTERM)
code = p.wait(timeout=20)
watchdogs = messages.count("WATCHDOG=1")
print("   messages in 1.5 s: READY=1 first: %s, WATCHDOG=1: %d, exit on SIGTERM: %d" % (messages[:1] == ["READY=1"], watchdogs, code))
sys.exit(0 if messages[:1] == ["READY=1"] and 3 <= watchdogs <= 16 and code == 0 else 1)
PY

if [ "$failures" -ne 0 ]; then
  echo "package-check: $failures failed" >&2
  exit 1
fi
echo "package-check: all passed"
