#!/bin/sh
# Provide an arm64 sysroot for dynamically linked guest programs: Debian's own
# libc6:arm64 plus its one dependency libgcc-s1:arm64 (glibc dlopens
# libgcc_s.so.1 to unwind in pthread_exit/pthread_cancel), extracted under
# target/sysroot/aarch64/ (usable as `-L DIR` for mimic and
# qemu-aarch64-static).  Idempotent; prints the sysroot path last.
#
#   tests/guest/sysroot.sh [--fallback]
#
# Main path: `apt-get download libc6:arm64` (adding the arm64 dpkg architecture
# and running `apt-get update` once if needed) + `dpkg-deb -x`.  With
# --fallback, or when the package cannot be had, the cross toolchain's
# /usr/aarch64-linux-gnu is printed instead (with a warning on stderr).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/sysroot/aarch64"
stamp="$out/.libc6-arm64"
cross=/usr/aarch64-linux-gnu

fallback() {
    if [ -e "$cross/lib/ld-linux-aarch64.so.1" ]; then
        echo "sysroot.sh: warning: $1; using the cross toolchain's $cross" >&2
        echo "$cross"
        exit 0
    fi
    echo "sysroot.sh: error: $1 (and no $cross fallback)" >&2
    exit 1
}

[ "${1:-}" = --fallback ] && fallback "fallback requested"

if [ -f "$stamp" ] && grep -q libgcc-s1 "$stamp" && [ -e "$out/lib/ld-linux-aarch64.so.1" ]; then
    echo "$out"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 ||
    fallback "apt-get/dpkg-deb not available"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

# Wait for the dpkg/apt locks (another apt-get may be running).
wait_apt() {
    i=0
    while command -v fuser >/dev/null 2>&1 &&
        fuser /var/lib/dpkg/lock-frontend /var/lib/apt/lists/lock >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -gt 300 ] && break
        sleep 1
    done
}

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    as_root dpkg --add-architecture arm64 || fallback "cannot add the arm64 dpkg architecture"
    wait_apt
    as_root apt-get update -qq || fallback "apt-get update failed"
elif ! apt-cache show libc6:arm64 >/dev/null 2>&1; then
    wait_apt
    as_root apt-get update -qq || fallback "apt-get update failed"
fi

tmp="$root/target/sysroot/.dl.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
# (apt warns about an unsandboxed download when run as root; keep its output
# for the failure case only.)
(cd "$tmp" && apt-get download -q libc6:arm64 libgcc-s1:arm64 >"$tmp/log" 2>&1) || {
    cat "$tmp/log" >&2
    fallback "apt-get download libc6:arm64 libgcc-s1:arm64 failed"
}
deb=$(ls "$tmp"/libc6_*_arm64.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || fallback "no libc6 arm64 .deb downloaded"

rm -rf "$out"
mkdir -p "$out"
for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$out"; done
# Debian's libc6 puts ld.so in /usr/lib/... with /lib a usrmerge symlink in
# the base-files package, not in libc6; give the sysroot the /lib paths that
# PT_INTERP (/lib/ld-linux-aarch64.so.1) and the default search path expect.
for d in lib lib64; do
    [ -e "$out/$d" ] || [ ! -d "$out/usr/$d" ] || ln -s "usr/$d" "$out/$d"
done
if [ ! -e "$out/lib/ld-linux-aarch64.so.1" ]; then
    ld=$(find "$out" -name 'ld-linux-aarch64.so.1' | head -n1)
    [ -n "$ld" ] || fallback "libc6:arm64 has no ld-linux-aarch64.so.1"
    mkdir -p "$out/lib"
    ln -sf "${ld#"$out"}" "$out/lib/ld-linux-aarch64.so.1"
fi
(cd "$tmp" && ls ./*.deb) >"$stamp"
echo "$out"
