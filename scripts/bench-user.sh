#!/bin/bash
# User-mode speed: the compute set in benches/guest/*.c, built for the guest
# (static, -O2; aarch64 unless --arch) and natively (-O2), run under mimic, qemu-<arch>-static and
# natively in the same run.  Prints, per workload, the median wall time of
# each, the mimic/qemu speedup (qemu time / mimic time, >1 is faster than
# qemu), mimic as a fraction of native speed, mimic's peak RSS
# (/usr/bin/time %M), whether mimic's output equals qemu's; then the
# geomeans, and start-up: busybox `true`, median of 20, mimic vs qemu.
#
#   scripts/bench-user.sh [--arch aarch64|ppc64le|ppc64|ppc] [--reps N] [--only a,b]
#                         [--quick] [--json FILE] [--tsv FILE] [--mimic PATH]
#                         [--no-startup]
#
# --quick divides every workload's size by about 10 (a smoke run).  mimic is
# $MIMIC, --mimic PATH, or target/release/mimic (built with
# `cargo build --release` when missing).  Sizes: BENCH_ARG_<name>=... overrides
# a workload's argument.  Needs the guest's cross gcc (aarch64-linux-gnu-gcc,
# powerpc64le-linux-gnu-gcc, ...), gcc, qemu-<arch>-static; busybox for start-up
# comes from tests/guest/busybox.sh (Debian has none for big-endian ppc64 or ppc).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
reps=3 only= quick=0 json= tsv= startup=1 mimic=${MIMIC:-} arch=aarch64
while [ $# -gt 0 ]; do
    case $1 in
    --arch) arch=$2; shift ;;
    --reps) reps=$2; shift ;;
    --only) only=$2; shift ;;
    --quick) quick=1 ;;
    --json) json=$2; shift ;;
    --tsv) tsv=$2; shift ;;
    --mimic) mimic=$2; shift ;;
    --no-startup) startup=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench-user.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "bench-user.sh: error: $*" >&2; exit 1; }
case $arch in
aarch64) triple=aarch64-linux-gnu qemu=qemu-aarch64-static dpkg_arch=arm64 ;;
ppc64le) triple=powerpc64le-linux-gnu qemu=qemu-ppc64le-static dpkg_arch=ppc64el ;;
ppc64) triple=powerpc64-linux-gnu qemu=qemu-ppc64-static dpkg_arch= ;;
ppc) triple=powerpc-linux-gnu qemu=qemu-ppc-static dpkg_arch= ;;
*) die "unknown --arch $arch (aarch64, ppc64le, ppc64, ppc)" ;;
esac
for t in $triple-gcc gcc $qemu; do
    command -v $t >/dev/null || die "$t not found"
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
if [ -z "$mimic" ]; then
    mimic=$root/target/release/mimic
    if [ ! -x "$mimic" ]; then
        echo "building mimic (release)..." >&2
        (cd "$root" && cargo build --release -q) || die "cargo build --release failed"
    fi
fi
[ -x "$mimic" ] || die "no mimic binary at $mimic"

# Workloads and their default arguments (full size, ~1-3 s natively).
names=(sha256 nbody qsort interp matmul)
declare -A arg=([sha256]=150 [nbody]=8000000 [qsort]=4 [interp]=500000 [matmul]=600)
declare -A quickarg=([sha256]=10 [nbody]=500000 [qsort]=1 [interp]=80000 [matmul]=240)
for n in "${names[@]}"; do
    [ $quick = 1 ] && arg[$n]=${quickarg[$n]}
    v=BENCH_ARG_$n
    [ -n "${!v:-}" ] && arg[$n]=${!v}
done
if [ -n "$only" ]; then
    IFS=, read -r -a names <<<"$only"
fi

out=$root/target/bench-guest
mkdir -p "$out/$arch" "$out/native" "$out/runs"
for n in "${names[@]}"; do
    src=$root/benches/guest/$n.c
    [ -f "$src" ] || die "no workload $src"
    if [ ! -x "$out/$arch/$n" ] || [ "$src" -nt "$out/$arch/$n" ]; then
        $triple-gcc -O2 -static -o "$out/$arch/$n" "$src" -lm
    fi
    if [ ! -x "$out/native/$n" ] || [ "$src" -nt "$out/native/$n" ]; then
        gcc -O2 -o "$out/native/$n" "$src" -lm
    fi
done

now() { date +%s%N; }
# run_one LABEL CMD... : one timed run; sets $secs, $rss_kb, $rc; output in $out/runs/LABEL.out
run_one() {
    local label=$1; shift
    local t0 t1
    t0=$(now)
    set +e
    /usr/bin/time -f %M -o "$out/runs/$label.rss" "$@" >"$out/runs/$label.out" 2>"$out/runs/$label.err"
    rc=$?
    set -e
    t1=$(now)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b - a) / 1e9}')
    rss_kb=$(tail -n1 "$out/runs/$label.rss" | tr -dc 0-9)
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.4f\n", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A T RSS OK
rows=()
for n in "${names[@]}"; do
    for emu in native qemu mimic; do
        times=() rsss=() status=ok
        for ((r = 1; r <= reps; r++)); do
            case $emu in
            native) run_one "$n.$emu.$r" "$out/native/$n" ${arg[$n]} ;;
            qemu) run_one "$n.$emu.$r" $qemu "$out/$arch/$n" ${arg[$n]} ;;
            mimic) run_one "$n.$emu.$r" "$mimic" run "$out/$arch/$n" ${arg[$n]} ;;
            esac
            [ $rc = 0 ] || status="exit $rc"
            times+=("$secs") rsss+=("$rss_kb")
            echo "  $n $emu run $r: ${secs}s rss ${rss_kb}KB${rc:+ rc=$rc}" >&2
        done
        T[$n.$emu]=$(median "${times[@]}")
        RSS[$n.$emu]=$(median "${rsss[@]}" | cut -d. -f1)
        OK[$n.$emu]=$status
    done
    if [ "${OK[$n.mimic]}" != ok ]; then
        OK[$n]="mimic failed (${OK[$n.mimic]}): $(head -c 200 "$out/runs/$n.mimic.1.err" | head -n1)"
    elif ! cmp -s "$out/runs/$n.qemu.1.out" "$out/runs/$n.mimic.1.out"; then
        OK[$n]="OUTPUT DIFFERS from qemu"
    else
        OK[$n]=ok
    fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
geo() { awk '{s += log($1); n++} END {if (n) printf "%.3f", exp(s / n); else print "n/a"}'; }

printf '\n%-8s %9s %9s %9s %9s %9s %10s  %s\n' workload native_s qemu_s mimic_s vs_qemu vs_native mimic_rss check
speedups=() natives=()
tsvrows=$'workload\targ\tnative_s\tqemu_s\tmimic_s\tspeedup_vs_qemu\tfraction_of_native\tmimic_peak_rss_kb\tcheck'
jrows=()
for n in "${names[@]}"; do
    tn=${T[$n.native]} tq=${T[$n.qemu]} tm=${T[$n.mimic]}
    if [ "${OK[$n]}" = ok ]; then
        sq=$(ratio "$tq" "$tm") sn=$(ratio "$tn" "$tm")
        speedups+=("$sq") natives+=("$sn")
    else
        sq=n/a sn=n/a
    fi
    printf '%-8s %9.3f %9.3f %9.3f %9s %9s %8sKB  %s\n' "$n" "$tn" "$tq" "$tm" "$sq" "$sn" "${RSS[$n.mimic]}" "${OK[$n]}"
    tsvrows+=$'\n'"$n	${arg[$n]}	$tn	$tq	$tm	$sq	$sn	${RSS[$n.mimic]}	${OK[$n]}"
    jq_num() { [ "$1" = n/a ] && echo null || echo "$1"; }
    jrows+=("{\"workload\":\"$n\",\"arg\":\"${arg[$n]}\",\"native_s\":$tn,\"qemu_s\":$tq,\"mimic_s\":$tm,\"speedup_vs_qemu\":$(jq_num $sq),\"fraction_of_native\":$(jq_num $sn),\"mimic_peak_rss_kb\":${RSS[$n.mimic]:-null},\"check\":\"${OK[$n]//\"/\'}\"}")
done
gq=$(printf '%s\n' "${speedups[@]}" | grep -v '^$' | geo)
gn=$(printf '%s\n' "${natives[@]}" | grep -v '^$' | geo)
echo
echo "geomean speedup vs qemu: ${gq}x   (bar: >= 2x, every workload > 1x; goal 3x)"
echo "geomean fraction of native: ${gn}   (goal >= 0.5)"

st_mimic=null st_qemu=null st_ratio=null
if [ $startup = 1 ] && [ -n "$dpkg_arch" ]; then
    bb=$("$root/tests/guest/busybox.sh" $dpkg_arch 2>/dev/null | tail -n1) || bb=
    if [ -n "$bb" ] && [ -x "$bb" ]; then
        tq=() tm=()
        for ((r = 1; r <= 20; r++)); do
            run_one startup.qemu $qemu "$bb" true; tq+=("$secs")
            run_one startup.mimic "$mimic" run "$bb" true
            [ $rc = 0 ] || echo "  busybox true under mimic: exit $rc" >&2
            tm+=("$secs")
        done
        st_qemu=$(median "${tq[@]}") st_mimic=$(median "${tm[@]}")
        st_ratio=$(ratio "$st_mimic" "$st_qemu")
        echo "start-up (busybox true, median of 20): qemu ${st_qemu}s, mimic ${st_mimic}s, mimic/qemu ${st_ratio} (bar: <= 1.5)"
    else
        echo "start-up: skipped (no busybox; run tests/guest/busybox.sh)"
    fi
fi

if [ -n "$tsv" ]; then
    printf '%s\n' "$tsvrows" >"$tsv"
    printf 'startup\ttrue\t\t%s\t%s\t%s\t\t\tmimic/qemu wall time\n' "$st_qemu" "$st_mimic" "$st_ratio" >>"$tsv"
    echo "wrote $tsv"
fi
if [ -n "$json" ]; then
    {
        printf '{"schema":"mimic-bench-user/1","arch":"%s","reps":%s,"quick":%s,"workloads":[' "$arch" "$reps" "$quick"
        (IFS=,; printf '%s' "${jrows[*]}")
        printf '],"geomean_speedup_vs_qemu":%s,"geomean_fraction_of_native":%s,' "${gq/n\/a/null}" "${gn/n\/a/null}"
        printf '"startup":{"qemu_s":%s,"mimic_s":%s,"mimic_over_qemu":%s}}\n' "$st_qemu" "$st_mimic" "$st_ratio"
    } >"$json"
    echo "wrote $json"
fi
