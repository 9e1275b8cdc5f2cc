#!/bin/sh
# Fetch Debian's busybox-static for a dpkg architecture (arm64 by default, or
# ppc64el) and extract the static binary to target/guest/busybox/<dir>/busybox
# (<dir>: aarch64 for arm64, the dpkg name otherwise).  Idempotent; prints the
# path last.  Adds the dpkg architecture if needed (as tests/guest/sysroot.sh
# does for arm64).
#
#   tests/guest/busybox.sh [DPKG_ARCH]
set -eu

arch=${1:-arm64}
root=$(cd "$(dirname "$0")/../.." && pwd)
case $arch in
    arm64) sub=aarch64 ;;
    *) sub=$arch ;;
esac
dir="$root/target/guest/busybox/$sub"
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
if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    as_root dpkg --add-architecture "$arch"
    as_root apt-get update -qq
elif ! apt-cache show "busybox-static:$arch" >/dev/null 2>&1; then
    as_root apt-get update -qq
fi

tmp="$root/target/guest/busybox/.dl.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q "busybox-static:$arch" >"$tmp/log" 2>&1) || {
    cat "$tmp/log" >&2
    echo "busybox.sh: error: apt-get download busybox-static:$arch failed" >&2
    exit 1
}
deb=$(ls "$tmp"/busybox-static_*_"$arch".deb | head -n1)
dpkg-deb -x "$deb" "$tmp/x"
mkdir -p "$dir"
cp "$tmp/x/bin/busybox" "$out.new"
chmod +x "$out.new"
mv "$out.new" "$out"
basename "$deb" >"$dir/.version"
echo "$out"
