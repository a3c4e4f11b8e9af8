#!/bin/sh
# The install test of `make package-test` (packaging/README.md, "Tests"): the .deb installed, run, upgraded,
# removed and purged with dpkg inside a root of the oldest Debian release the configured apt mirror serves, and
# the .rpm installed with `rpm --root`. Needs root (chroot, mount). The root is made once with debootstrap and
# kept in .build/pkgtest/<release>; each run works on a copy.
# usage: packaging/test/install-test.sh DIST VERSION NFPM GENERATE_MANUAL
set -eu
dist=$1 version=$2 nfpm=$3 genman=$4
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$(dirname "$here")")
deb=$dist/rc_${version}_amd64.deb
rpm=$dist/rc-${version}-1.x86_64.rpm
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# The configured Debian mirror, and the oldest release it serves of those rc supports or may.
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p; s/^deb \[*[^]]*\]* *\(http[^ ]*debian\)\/* .*/\1/p; s/^deb \(http[^ ]*debian\)\/* .*/\1/p' \
  /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || { echo "install-test.sh: no Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }
release=""
for candidate in stretch buster bullseye bookworm trixie; do
  if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=20)' "$mirror/dists/$candidate/Release" 2>/dev/null; then
    release=$candidate
    break
  fi
done
[ -n "$release" ] || { echo "install-test.sh: $mirror serves none of the releases tried" >&2; exit 1; }
cache=$top/.build/pkgtest/$release
if [ ! -f "$cache/.complete" ]; then
  echo "install-test.sh: debootstrap $release from $mirror into $cache (once)"
  rm -rf "$cache"
  mkdir -p "$top/.build/pkgtest"
  debootstrap --variant=minbase "$release" "$cache" "$mirror" > "$top/.build/pkgtest/debootstrap-$release.log" 2>&1 ||
    { echo "install-test.sh: debootstrap failed (.build/pkgtest/debootstrap-$release.log)" >&2; exit 1; }
  touch "$cache/.complete"
fi

work=$(mktemp -d)
root=$work/root
mounted=""
cleanup() {
  for m in $mounted; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cp -a "$cache" "$root"
mount -t proc proc "$root/proc" && mounted="$root/proc"   # the Swift runtime reads its arguments from /proc
in_root() { chroot "$root" "$@"; }
glibc=$(in_root ldd --version | head -1 | awk '{print $NF}')
echo "install-test.sh: Debian $release ($(cat "$root/etc/debian_version")), glibc $glibc"

# Install: the files are there, nothing is enabled or started.
cp "$deb" "$root/tmp/"
in_root dpkg -i "/tmp/$(basename "$deb")" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
for path in /usr/bin/rc /etc/rc/policy.rcl /etc/rc/labels /usr/lib/systemd/system/rc.service /usr/lib/tmpfiles.d/rc.conf; do
  [ -f "$root$path" ] || fail "installed: $path is missing"
done
for path in /etc/rc/policy.d /var/lib/rc /run/rc; do [ -d "$root$path" ] || fail "installed: $path is not a directory"; done
[ "$(stat -c %a "$root/var/lib/rc")" = 700 ] || fail "installed: /var/lib/rc is not mode 0700"
[ -e "$root/etc/systemd/system/multi-user.target.wants/rc.service" ] && fail "installed: rc.service is enabled"
[ "$failures" -eq 0 ] && pass "dpkg -i on $release: files in place, rc.service not enabled"

# The packaged binary on this glibc.
out=$(in_root rc version) && [ "$out" = "rc $version" ] && pass "rc version: $out" || fail "rc version printed '$out'"
in_root rc check /etc/rc/policy.rcl > "$work/check.log" 2>&1 && pass "rc check /etc/rc/policy.rcl: $(cat "$work/check.log")" ||
  { cat "$work/check.log"; fail "rc check /etc/rc/policy.rcl"; }
code=0
in_root rc run --once --dry-run --node-name pkgtest /etc/rc/policy.rcl > "$work/run.log" 2>&1 || code=$?
if [ "$code" -eq 0 ] && grep -q "^pkgtest: " "$work/run.log" && [ -f "$root/var/lib/rc/last-decision.json" ]; then
  pass "rc run --once --dry-run: $(grep '^pkgtest: ' "$work/run.log")"
else
  cat "$work/run.log"; fail "rc run --once --dry-run exited $code"
fi
# A program the daemon starts gets no descriptor of rc's beyond 0-2 and 3, the program itself
# (posix_spawn_file_actions_addclosefrom_np from glibc 2.34, its fallback before): rc is given descriptors 7 and 9
# without close-on-exec, and the detector fires if its shell sees any above 4 (4 is the directory it lists).
cat > "$root/tmp/spawn.rcl" <<'POLICY'
policy "spawn" {}
dry_run true
detector "descriptors" command ["/bin/sh", "-c", "cd /proc/self/fd && for fd in *; do [ $fd -le 4 ] || exit 1; done"] {
  reboot_when exit == 1
}
lock local
POLICY
code=0
in_root /bin/sh -c 'exec 7</dev/null 9</etc/hostname; exec rc run --once --dry-run --node-name pkgtest --state-dir /root/spawn-state /tmp/spawn.rcl' \
  > "$work/spawn.log" 2>&1 || code=$?
grep -q "^pkgtest: no reboot needed" "$work/spawn.log" && pass "a detector's program inherits none of rc's descriptors" ||
  { cat "$work/spawn.log"; fail "the descriptor detector (exit $code)"; }

# Upgrade to a higher version whose default policy changed, the operator's edit in place.
echo '# edited by the operator' >> "$root/etc/rc/policy.rcl"
next="$version+pkgtest1"
sed '1i # a newer default policy' "$top/policies/defaults/default.rcl" > "$work/default-next.rcl"
DEB_POLICY=$work/default-next.rcl "$top/packaging/package.sh" "$nfpm" "$top/.build/release/rc" "$genman" "$next" "$work/next" >/dev/null
cp "$work/next/rc_${next}_amd64.deb" "$root/tmp/"
in_root dpkg -i --force-confold "/tmp/rc_${next}_amd64.deb" > "$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "dpkg -i (upgrade)"; }
before=$failures
[ "$(in_root dpkg-query -W -f '${Version}' rc)" = "$next-1" ] || fail "upgraded: the version is not $next-1"
grep -qx '# edited by the operator' "$root/etc/rc/policy.rcl" || fail "upgraded: the operator's policy was replaced"
grep -qx '# a newer default policy' "$root/etc/rc/policy.rcl.dpkg-dist" 2>/dev/null || fail "upgraded: no new default as policy.rcl.dpkg-dist"
in_root rc check /etc/rc/policy.rcl >/dev/null 2>&1 || fail "upgraded: rc check /etc/rc/policy.rcl"
[ -f "$root/var/lib/rc/last-decision.json" ] || fail "upgraded: the state was lost"
[ "$failures" -eq "$before" ] && pass "upgrade to $next-1: the edited policy kept, the new default as policy.rcl.dpkg-dist"

# Remove: the binary goes, configuration and state stay.
before=$failures
in_root dpkg -r rc > "$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r"; }
[ -e "$root/usr/bin/rc" ] && fail "removed: /usr/bin/rc is still there"
[ -e "$root/usr/lib/systemd/system/rc.service" ] && fail "removed: rc.service is still there"
grep -qx '# edited by the operator' "$root/etc/rc/policy.rcl" 2>/dev/null || fail "removed: the policy is gone"
[ -f "$root/var/lib/rc/last-decision.json" ] || fail "removed: the state is gone"
[ "$(in_root dpkg-query -W -f '${Status}' rc)" = "deinstall ok config-files" ] || fail "removed: dpkg does not keep rc's configuration"
[ "$failures" -eq "$before" ] && pass "dpkg -r: binary and unit gone, /etc/rc and /var/lib/rc kept"

# Purge: everything goes.
before=$failures
in_root dpkg -P rc > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg -P"; }
for path in /etc/rc /var/lib/rc /run/rc; do [ -e "$root$path" ] && fail "purged: $path is still there"; done
in_root dpkg-query -W rc >/dev/null 2>&1 && [ -n "$(in_root dpkg-query -W -f '${Status}' rc 2>/dev/null | grep -v not-installed)" ] &&
  fail "purged: dpkg still knows rc"
[ "$failures" -eq "$before" ] && pass "dpkg -P: /etc/rc, /var/lib/rc and /run/rc gone"

# The .rpm, installed with rpm --root into a copy of the same root (its glibc and libraries), and run there.
rroot=$work/rpmroot
umount "$root/proc"; mounted=""
mv "$root" "$rroot"
mount -t proc proc "$rroot/proc" && mounted="$rroot/proc"
before=$failures
rpm --root "$rroot" --initdb
rpm --root "$rroot" -i --nodeps "$rpm" > "$work/rpm.log" 2>&1 || { cat "$work/rpm.log"; fail "rpm --root -i"; }
[ "$(rpm --root "$rroot" -q --qf '%{VERSION}-%{RELEASE}' rc)" = "$version-1" ] || fail "rpm: rc $version-1 is not installed"
for path in /usr/bin/rc /etc/rc/policy.rcl /etc/rc/labels /usr/lib/systemd/system/rc.service; do
  [ -f "$rroot$path" ] || fail "rpm: $path is missing"
done
[ -d "$rroot/var/lib/rc" ] && [ -d "$rroot/etc/rc/policy.d" ] || fail "rpm: the directories are missing"
out=$(chroot "$rroot" /usr/bin/rc version) && [ "$out" = "rc $version" ] || fail "rpm: rc version printed '$out'"
chroot "$rroot" /usr/bin/rc check /etc/rc/policy.rcl >/dev/null 2>&1 || fail "rpm: rc check /etc/rc/policy.rcl"
[ "$failures" -eq "$before" ] && pass "rpm --root -i: files in place, rc version: $out, rc check of the RPM policy"

if [ "$failures" -ne 0 ]; then
  echo "package-test: $failures failed" >&2
  exit 1
fi
echo "package-test: all passed (Debian $release, glibc $glibc)"
