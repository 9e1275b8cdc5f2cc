#!/usr/bin/env bash
# Builds the x86-kvm test assets: Debian's current x86-64 kernel (the image package
# linux-image-amd64 depends on), busybox-static, and one initramfs holding busybox,
# an /init script and the virtio modules of that same kernel.
#
#   scripts/kvm-assets.sh [OUTDIR]      (default: target/kvm-assets)
#
# Outputs OUTDIR/vmlinuz, OUTDIR/initrd.gz and OUTDIR/VERSION. Idempotent: when
# OUTDIR/initrd.gz exists and is newer than this script, nothing is done. Needs
# apt-get (run as root; `apt-get update` is run if the package lists are empty),
# dpkg-deb, cpio, xz and zstd (installed if missing), gzip.
#
# /init selects what to do from the kernel command line's `mimic.test=NAME`:
#   marker  (default) print MIMIC-INIT-OK and power off
#   cmd     run the shell command in `mimic.cmd=` (underscores become spaces, or use
#           mimic.cmd64=<base64>), print its output between markers, power off
#   nproc   print "MIMIC-NPROC <n>" from /proc/cpuinfo, power off
#   diskw   write the test pattern to /dev/vda, sync, power off
#   diskr   print the sha256 of the pattern region read back from /dev/vda, power off
#   shell   an interactive shell on the console (poweroff -f to leave)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$root/target/kvm-assets}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ -s "$out/initrd.gz" ] && [ -s "$out/vmlinuz" ] && [ "$out/initrd.gz" -nt "$0" ]; then
  echo "kvm-assets: up to date in $out ($(cat "$out/VERSION" 2>/dev/null))"
  exit 0
fi

need_pkgs=""
command -v cpio >/dev/null || need_pkgs="$need_pkgs cpio"
command -v xz >/dev/null || need_pkgs="$need_pkgs xz-utils"
command -v zstd >/dev/null || need_pkgs="$need_pkgs zstd"
if [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial)" ]; then
  apt-get update -qq
fi
if [ -n "$need_pkgs" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_pkgs >/dev/null
fi

# The versioned image package that the linux-image-amd64 metapackage points at.
img_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
if [ -z "$img_pkg" ]; then
  apt-get update -qq
  img_pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
fi
[ -n "$img_pkg" ] || { echo "kvm-assets: cannot resolve linux-image-amd64's image package" >&2; exit 1; }
kver=${img_pkg#linux-image-}
echo "kvm-assets: kernel package $img_pkg"

work="$out/work"
rm -rf "$work"
mkdir -p "$work/debs" "$work/kernel" "$work/busybox" "$work/root"
(
  cd "$work/debs"
  # The unsigned image package is what carries the modules on some releases; the
  # signed one is what linux-image-amd64 depends on. Both contain /boot/vmlinuz-*.
  apt-get download "$img_pkg" "busybox-static:amd64" 2>&1 | grep -v -e unsandboxed -e "^$" || true
)
dpkg-deb -x "$work"/debs/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/debs/busybox-static_*.deb "$work/busybox"

moddir="$work/kernel/lib/modules/$kver"
[ -d "$moddir" ] || moddir=$(ls -d "$work"/kernel/lib/modules/* | head -1)

# Debian's package ships no modules.dep (depmod makes it at install time), so the
# dependencies come from each module's own .modinfo "depends=" field. Modules wanted
# and their dependencies are collected deepest first: the insmod order.
modfile() { # NAME -> path of its .ko[.xz|.zst|.gz] (names treat - and _ alike)
  local n=$1
  find "$moddir" \( -name "$n.ko*" -o -name "${n//_/-}.ko*" -o -name "${n//-/_}.ko*" \) | head -1
}
modcat() { # PATH -> uncompressed module on stdout
  case "$1" in
    *.ko.xz) xz -dc "$1" ;;
    *.ko.zst) zstd -qdc "$1" ;;
    *.ko.gz) gzip -dc "$1" ;;
    *) cat "$1" ;;
  esac
}
declare -A seen=()
order=()
resolve() {
  local name=$1 path deps d
  path=$(modfile "$name")
  [ -n "$path" ] || { grep -q "/$name.ko" "$moddir/modules.builtin" 2>/dev/null && return 0; echo "kvm-assets: module $name not found" >&2; exit 1; }
  [ -n "${seen[$path]:-}" ] && return 0
  seen[$path]=1
  deps=$(modcat "$path" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
  for d in $deps; do
    resolve "$d"
  done
  order+=("$path")
}
for m in virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  resolve "$m"
done

r="$work/root"
mkdir -p "$r"/{bin,sbin,dev,proc,sys,tmp,mnt,lib/modules}
cp "$work/busybox/bin/busybox" "$r/bin/busybox"
: >"$r/lib/modules/load-order"
for p in "${order[@]}"; do
  base=$(basename "$p")
  base=${base%%.ko*}.ko
  modcat "$p" >"$r/lib/modules/$base"
  echo "$base" >>"$r/lib/modules/load-order"
done
echo "kvm-assets: modules: $(tr '\n' ' ' <"$r/lib/modules/load-order")"

cp "$here/kvm-init.sh" "$r/init"
chmod 755 "$r/init"
(cd "$r" && find . -print0 | sort -z | cpio --null -o -H newc --owner=0:0 --quiet) | gzip -9 >"$out/initrd.gz.tmp"

cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.gz.tmp" "$out/initrd.gz"
echo "$kver" >"$out/VERSION"
rm -rf "$work"
echo "kvm-assets: built $out/vmlinuz ($kver) and $out/initrd.gz"
