#!/bin/sh
# Cross-build the guest test corpus: every tests/guest/*.c, at -O0 and -O2,
# static and dynamic, into OUTDIR as NAME-O0-static, NAME-O0-dynamic,
# NAME-O2-static, NAME-O2-dynamic; and NAME-O2-static-pie (static-pie loading)
# where the C library has rcrt1.o.
#
#   tests/guest/build.sh [TRIPLE [OUTDIR]]     (or TRIPLE=..., OUTDIR=..., CC=...)
#
# TRIPLE defaults to aarch64-linux-gnu, OUTDIR to target/guest/<TRIPLE>/, the
# compiler to <TRIPLE>-gcc.  Builds one file at a time and only when the
# source, a header next to it, or this script is newer than the output.
# A source may carry extra flags (given after the source, so libraries such as
# -latomic link) on lines of the form
#     /* cflags: FLAGS */              (every target)
#     /* cflags-<arch>: FLAGS */       (only when TRIPLE starts with <arch>)
# Exits 1 with one line on stderr if the compiler is missing; 2 if a build fails.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
triple=${1:-${TRIPLE:-aarch64-linux-gnu}}
outdir=${2:-${OUTDIR:-$root/target/guest/$triple}}
cc=${CC:-$triple-gcc}
arch=${triple%%-*}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build.sh: error: compiler '$cc' not found (apt-get install gcc-$triple)" >&2
    exit 1
fi
mkdir -p "$outdir"

# Newest of the headers and this script: a change to either rebuilds everything.
deps="$0"
for h in "$here"/*.h; do [ -e "$h" ] && deps="$deps $h"; done

newer_than() { # out dep... : true if out is missing or older than a dep
    out=$1; shift
    [ -e "$out" ] || return 0
    for d in "$@"; do [ "$d" -nt "$out" ] && return 0; done
    return 1
}

# static-pie needs the C library's rcrt1.o (Debian's ppc64el cross glibc has none).
case $("$cc" -print-file-name=rcrt1.o) in
    /*) pie=yes ;;
    *) pie=no ;;
esac

built=0 failed=0 total=0
for src in "$here"/*.c; do
    name=$(basename "$src" .c)
    extra=$(sed -n 's|^/\* cflags: \(.*\) \*/$|\1|p' "$src" | tr '\n' ' ')
    extra="$extra $(sed -n "s|^/\* cflags-$arch: \(.*\) \*/\$|\1|p" "$src" | tr '\n' ' ')"
    for opt in O0 O2; do
        for link in static dynamic static-pie; do
            [ $link = static-pie ] && [ $opt = O0 ] && continue
            [ $link = static-pie ] && [ $pie = no ] && continue
            total=$((total + 1))
            out="$outdir/$name-$opt-$link"
            # shellcheck disable=SC2086
            newer_than "$out" "$src" $deps || continue
            lflag=; [ $link = static ] && lflag=-static; [ $link = static-pie ] && lflag=-static-pie
            # shellcheck disable=SC2086
            if "$cc" -std=gnu11 -$opt -g -Wall -Wextra -Wno-unused-parameter \
                -I"$here" $lflag -pthread -o "$out.tmp" "$src" $extra -lm; then
                mv "$out.tmp" "$out"
                built=$((built + 1))
            else
                rm -f "$out.tmp"
                echo "build.sh: FAILED $name-$opt-$link" >&2
                failed=$((failed + 1))
            fi
        done
    done
done
echo "build.sh: $triple: $built built, $((total - built - failed)) up to date, $failed failed -> $outdir" >&2
[ $failed = 0 ] || exit 2
