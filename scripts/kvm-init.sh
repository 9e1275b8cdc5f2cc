#!/bin/busybox sh
# /init of the x86-kvm test initramfs (built by scripts/kvm-assets.sh).
# Picks a test from the kernel command line's mimic.test=NAME (see kvm-assets.sh).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null || mdev -s

# mimic's exit port (0xf4, as qemu's isa-debug-exit): writing byte N ends mimic
# with status N. Kernels without ACPI cannot power the machine off any other way.
mimic_exit() {
  sync
  printf "\\$(printf '%03o' "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
  # Not under mimic (or /dev/port missing): fall back to the kernel's poweroff.
  poweroff -f
}

for m in $(cat /lib/modules/load-order); do
  insmod "/lib/modules/$m" || echo "MIMIC-INIT: insmod $m failed"
done

test=marker
cmd=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    mimic.test=*) test=${arg#mimic.test=} ;;
    mimic.cmd=*) cmd=$(echo "${arg#mimic.cmd=}" | tr _ ' ') ;;
    mimic.cmd64=*) cmd=$(echo "${arg#mimic.cmd64=}" | base64 -d) ;;
  esac
done

# The disk test pattern: 4096 lines of 32 bytes (128 KiB) at offset 0.
pattern() {
  i=0
  while [ $i -lt 4096 ]; do
    printf 'mimic-disk-line-%06d-01234567\n' $i
    i=$((i + 1))
  done
}

echo "MIMIC-INIT-OK"
case "$test" in
  marker) ;;
  cmd)
    echo "MIMIC-CMD-BEGIN"
    sh -c "$cmd"
    echo "MIMIC-CMD-END status=$?"
    ;;
  nproc)
    echo "MIMIC-NPROC $(grep -c ^processor /proc/cpuinfo)"
    ;;
  diskw)
    # The pattern at offset 0, then a tar archive of three files at 1 MiB.
    pattern | dd of=/dev/vda bs=4096 conv=notrunc 2>/dev/null
    mkdir -p /tmp/files/sub
    echo "hello from the guest" >/tmp/files/hello.txt
    pattern | head -n 100 >/tmp/files/sub/lines.txt
    printf 'tail\n' >/tmp/files/sub/tail.txt
    (cd /tmp/files && tar cf - hello.txt sub) | dd of=/dev/vda bs=4096 seek=256 conv=notrunc 2>/dev/null
    sync
    echo "MIMIC-DISKW-DONE"
    ;;
  diskr)
    echo "MIMIC-DISKR-PATTERN $(dd if=/dev/vda bs=4096 count=32 2>/dev/null | sha256sum | cut -d' ' -f1)"
    echo "MIMIC-DISKR-EXPECT $(pattern | sha256sum | cut -d' ' -f1)"
    mkdir -p /tmp/x && cd /tmp/x && dd if=/dev/vda bs=4096 skip=256 2>/dev/null | tar xf - 2>/dev/null
    echo "MIMIC-DISKR-HELLO $(cat /tmp/x/hello.txt)"
    echo "MIMIC-DISKR-LINES $(wc -l </tmp/x/sub/lines.txt)"
    ;;
  shell)
    echo "MIMIC-SHELL (exit the shell to power off)"
    setsid cttyhack sh
    ;;
  *) echo "MIMIC-INIT: unknown mimic.test=$test" ;;
esac
mimic_exit 0
