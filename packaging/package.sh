#!/bin/sh
# Builds rc's .deb and .rpm with nFPM (packaging/README.md).
# usage: packaging/package.sh NFPM RC GENERATE_MANUAL VERSION OUT
# Stages the package tree in .build/package/stage (also what `make package-test` verifies the unit against),
# then writes OUT/rc_VERSION_amd64.deb, OUT/rc-VERSION-1.x86_64.rpm and OUT/SHA256SUMS.
# DEB_POLICY and RPM_POLICY replace the default /etc/rc/policy.rcl of each (the upgrade test gives a changed one).
# SOURCE_DATE_EPOCH (default: the last commit's time) is every file's time and the man pages' date, so the
# same binary and sources give the same packages.
set -eu
nfpm=$1 rc=$2 genman=$3 version=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
: "${SOURCE_DATE_EPOCH:=$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}"
export SOURCE_DATE_EPOCH
deb_policy=${DEB_POLICY:-$top/policies/defaults/default.rcl}
rpm_policy=${RPM_POLICY:-$here/config/rhel.rcl}
work=$top/.build/package
stage=$work/stage
rm -rf "$work"
mkdir -p "$stage" "$out"

put() { # MODE SOURCE DEST (DEST relative to the stage)
  mkdir -p "$(dirname "$stage/$3")"
  install -m "$1" "$2" "$stage/$3"
}
# The binary without its debug information and symbol table (the build's own stays as it is).
mkdir -p "$stage/usr/bin"
strip --strip-all -o "$stage/usr/bin/rc" "$rc"
chmod 0755 "$stage/usr/bin/rc"
put 0644 "$here/systemd/rc.service" usr/lib/systemd/system/rc.service
put 0644 "$here/systemd/tmpfiles.conf" usr/lib/tmpfiles.d/rc.conf
# Shell completions and a man page per verb, from the argument parser.
mkdir -p "$work/gen/man"
for shell in bash zsh fish; do "$stage/usr/bin/rc" --generate-completion-script "$shell" > "$work/gen/rc.$shell"; done
put 0644 "$work/gen/rc.bash" usr/share/bash-completion/completions/rc
put 0644 "$work/gen/rc.fish" usr/share/fish/vendor_completions.d/rc.fish
"$genman" "$stage/usr/bin/rc" --multi-page --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)" -o "$work/gen/man"
for page in "$work"/gen/man/*.1; do
  gzip -9 -n -c "$page" > "$page.gz"
  put 0644 "$page.gz" "usr/share/man/man1/$(basename "$page").gz"
done
for doc in "$top/README.md" "$top"/docs/*.md "$here/README.md"; do
  name=$(basename "$doc"); [ "$doc" = "$here/README.md" ] && name=packaging.md
  put 0644 "$doc" "usr/share/doc/rc/$name"
done
# A Grafana dashboard, when packaging/grafana has one.
for dashboard in "$here"/grafana/*.json; do
  [ -f "$dashboard" ] || continue
  put 0644 "$dashboard" "usr/share/rc/grafana/$(basename "$dashboard")"
done
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# nFPM's configuration: the staged tree, the configuration files (kept on upgrade), the empty directories, and
# the maintainer scripts of each format.
{
  cat <<YAML
name: rc
arch: amd64
platform: linux
version: "$version"
release: "1"
section: admin
priority: optional
maintainer: rc developers <rc-dev@localhost>
description: |-
  Reboot coordinator for Linux fleets.
  On every node, rc decides whether the node needs a reboot and whether it may reboot now, following a
  policy written in a small language: detectors, maintenance windows, health gates, cluster thresholds, a
  kill switch and a distributed lock on etcd. Installed, it runs nothing until rc.service is enabled, and
  its default policy only reports what it would do.
vendor: rc
depends:
  - libc6 (>= 2.31)
  - libgcc-s1
  - libpcre2-8-0
  - zlib1g
mtime: "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
contents:
YAML
  (cd "$stage" && find . -type f | LC_ALL=C sort) | while read -r file; do
    printf '  - src: %s\n    dst: %s\n    file_info: {mode: 0%s}\n' "$stage/${file#./}" "/${file#./}" "$(stat -c %a "$stage/$file")"
  done
  cat <<YAML
  - src: $top/.build/package/gen/rc.zsh
    dst: /usr/share/zsh/vendor-completions/_rc
    packager: deb
  - src: $top/.build/package/gen/rc.zsh
    dst: /usr/share/zsh/site-functions/_rc
    packager: rpm
  - src: $deb_policy
    dst: /etc/rc/policy.rcl
    type: config|noreplace
    packager: deb
    file_info: {mode: 0644}
  - src: $rpm_policy
    dst: /etc/rc/policy.rcl
    type: config|noreplace
    packager: rpm
    file_info: {mode: 0644}
  - src: $here/config/labels
    dst: /etc/rc/labels
    type: config|noreplace
    file_info: {mode: 0644}
  - dst: /etc/rc/policy.d
    type: dir
    file_info: {mode: 0755}
  - dst: /var/lib/rc
    type: dir
    file_info: {mode: 0700}
overrides:
  deb:
    scripts:
      postinstall: $here/scripts/deb/postinst
      preremove: $here/scripts/deb/prerm
      postremove: $here/scripts/deb/postrm
  rpm:
    depends:
      - glibc >= 2.31
      - libgcc
      - pcre2
      - zlib
    recommends:
      - dnf-utils
    scripts:
      postinstall: $here/scripts/rpm/post
      preremove: $here/scripts/rpm/preun
      postremove: $here/scripts/rpm/postun
rpm:
  group: System Environment/Daemons
YAML
} > "$work/nfpm.yaml"

deb=$out/rc_${version}_amd64.deb
rpm=$out/rc-${version}-1.x86_64.rpm
rm -f "$deb" "$rpm"
"$nfpm" package --config "$work/nfpm.yaml" --packager deb --target "$deb" >/dev/null
"$nfpm" package --config "$work/nfpm.yaml" --packager rpm --target "$rpm" >/dev/null
(cd "$out" && sha256sum "$(basename "$deb")" "$(basename "$rpm")" > SHA256SUMS)
ls -l "$deb" "$rpm" | awk '{printf "%s %.1f MB\n", $NF, $5 / 1048576}'
