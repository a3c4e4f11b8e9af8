#!/bin/sh
# Checks that a release binary runs on glibc 2.31 (packaging/README.md, "glibc 2.31"): no dynamic symbol bound to a
# glibc version newer than GLIBC_2.31, no DT_RELR (packed relative relocations need glibc 2.36), and no shared
# library beyond the ones the packages depend on. Prints the newest glibc version it binds.
# usage: packaging/test/check-binary.sh RC
set -eu
rc=$1
symbols=$(objdump -T "$rc")
too_new=$(printf '%s\n' "$symbols" | awk '
  { for (i = 1; i <= NF; i++) if ($i ~ /^\(?GLIBC_[0-9.]+\)?$/) { v = $i; gsub(/[()]|GLIBC_/, "", v); split(v, p, ".")
      if (p[1] > 2 || (p[1] == 2 && p[2] > 31)) print $NF " (GLIBC_" v ")" } }')
if [ -n "$too_new" ]; then
  echo "check-binary.sh: $rc binds glibc symbols newer than 2.31 (make glibc-compat, packaging/link/glibc-compat.c):" >&2
  printf '%s\n' "$too_new" >&2
  exit 1
fi
if readelf -d "$rc" | grep -q '(RELR)'; then
  echo "check-binary.sh: $rc has DT_RELR relocations, which need glibc 2.36" >&2
  exit 1
fi
unexpected=$(readelf -d "$rc" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
  grep -vxE 'libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|libz\.so\.1|libgcc_s\.so\.1|libpcre2-8\.so\.0|ld-linux-x86-64\.so\.2' || true)
if [ -n "$unexpected" ]; then
  echo "check-binary.sh: $rc needs libraries the packages do not depend on: $unexpected" >&2
  exit 1
fi
newest=$(printf '%s\n' "$symbols" | grep -o 'GLIBC_[0-9.]*' | sort -t. -k2,2n -k3,3n -u | tail -1)
echo "check-binary.sh: $(basename "$rc"): glibc baseline $newest, no DT_RELR"
