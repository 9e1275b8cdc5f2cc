#!/bin/sh
# Fetch Debian's busybox-static for arm64 and extract the static binary to
# target/guest/busybox/aarch64/busybox.  Idempotent; prints the path last.
# Needs the arm64 dpkg architecture (tests/guest/sysroot.sh adds it).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/target/guest/busybox/aarch64"
out="$dir/busybox"

if [ -x "$out" ]; then
    echo "$out"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || {
    echo "busybox.sh: error: apt-get/dpkg-deb not available" >&2
    exit 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    as_root dpkg --add-architecture arm64
    as_root apt-get update -qq
elif ! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then
    as_root apt-get update -qq
fi

tmp="$root/target/guest/busybox/.dl.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q busybox-static:arm64 >"$tmp/log" 2>&1) || {
    cat "$tmp/log" >&2
    echo "busybox.sh: error: apt-get download busybox-static:arm64 failed" >&2
    exit 1
}
deb=$(ls "$tmp"/busybox-static_*_arm64.deb | head -n1)
dpkg-deb -x "$deb" "$tmp/x"
mkdir -p "$dir"
cp "$tmp/x/bin/busybox" "$out.new"
chmod +x "$out.new"
mv "$out.new" "$out"
basename "$deb" >"$dir/.version"
echo "$out"
