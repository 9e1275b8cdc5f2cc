#!/usr/bin/env bash
# Boots the test kernel to the init marker RUNS times (default 5) and reports per run
# mimic's set-up time before the first vCPU entry, the wall time to the marker
# MIMIC-INIT-OK, and mimic's peak RSS (/usr/bin/time -v).
#
#   scripts/kvm-boot-bench.sh [RUNS]
#   env: MIMIC (binary; default target/release/mimic, built if missing),
#        ASSETS (default target/kvm-assets), TIMEOUT seconds per run (default 60),
#        MEM (default 256M), SMP (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
assets=${ASSETS:-target/kvm-assets}
mimic=${MIMIC:-target/release/mimic}
timeout_s=${TIMEOUT:-60}
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
[ -s "$assets/vmlinuz" ] || bash scripts/kvm-assets.sh "$assets"
[ -x "$mimic" ] || cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-4s %12s %14s %12s %s\n' run setup_ms marker_ms rss_kib outcome
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  set +e
  /usr/bin/time -v -o "$tmp/time" timeout "$timeout_s" "$mimic" boot --machine x86-kvm \
    --kernel "$assets/vmlinuz" --initrd "$assets/initrd.gz" --mem "${MEM:-256M}" --smp "${SMP:-1}" \
    --append "mimic.test=marker quiet" --stats --marker MIMIC-INIT-OK </dev/null >"$tmp/out" 2>"$tmp/err"
  rc=$?
  set -e
  setup=$(sed -n 's/.*setup_ms=\([0-9.]*\).*/\1/p' "$tmp/err" | head -1)
  marker=$(sed -n 's/.*marker_ms=\([0-9.-]*\).*/\1/p' "$tmp/err" | head -1)
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time")
  case $rc in
    0) outcome="powered off" ;;
    124) outcome="timeout after ${timeout_s}s (marker not reached)"; marker=- ;;
    *) outcome="exit $rc: $(grep -v stats "$tmp/err" | head -1)" ;;
  esac
  printf '%-4s %12s %14s %12s %s\n' "$i" "${setup:--}" "${marker:--}" "${rss:--}" "$outcome"
done
