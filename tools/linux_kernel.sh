#!/usr/bin/env bash
# tools/linux_kernel.sh - the reference kernel: Debian's Linux 6.1, booted in
# the same QEMU machine Exo runs in, so user programs can be checked against
# real Linux before Exo runs them.
#
# Usage:
#   tools/linux_kernel.sh                 fetch once; print the vmlinuz path
#   tools/linux_kernel.sh boot CPIO [TIMEOUT] [-- INIT_ARGS...]
#                                         boot CPIO as the initramfs (init=/init,
#                                         INIT_ARGS after " -- " on the kernel
#                                         command line), serial console on stdout
#
# Fetching needs no root: `apt-get download` only writes the .deb into the
# current directory and `dpkg-deb -x` unpacks it anywhere. The exact package
# comes from what the linux-image-amd64 meta-package depends on, falling back to
# the newest linux-image-6.1.0-N-amd64 the package lists know about.
#
# Linux panics ("Attempted to kill init!") when /init exits; panic=-1 makes it
# reboot at once and -no-reboot turns that into QEMU exiting. The programs print
# their own closing line before exiting, which the callers parse.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LINUX_DIR=${LINUX_DIR:-$ROOT/build/linux}
VMLINUZ=$LINUX_DIR/vmlinuz

die() {
    echo "linux_kernel: error: $*" >&2
    exit 1
}

# package_name: the linux-image-6.1.0-N-amd64 package to fetch.
package_name() {
    local name
    name=$(apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n1)
    if [[ -z "$name" ]]; then
        name=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null \
            | awk '{print $1}' | sort -V | tail -n1)
    fi
    [[ -n "$name" ]] || die "no linux-image-6.1.0-*-amd64 package in the apt lists (run apt-get update)"
    echo "$name"
}

fetch() {
    [[ -s "$VMLINUZ" ]] && return
    local pkg work
    pkg=$(package_name)
    work=$(mktemp -d)
    trap 'rm -rf "$work"' RETURN
    echo "linux_kernel: fetching $pkg" >&2
    (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
    dpkg-deb -x "$work"/"$pkg"_*.deb "$work/root" || die "dpkg-deb -x failed"
    local image
    image=$(ls "$work"/root/boot/vmlinuz-* 2>/dev/null | head -n1)
    [[ -n "$image" ]] || die "$pkg holds no /boot/vmlinuz-*"
    mkdir -p "$LINUX_DIR"
    cp "$image" "$VMLINUZ.tmp"
    basename "$image" | sed 's/^vmlinuz-//' >"$LINUX_DIR/version"
    mv "$VMLINUZ.tmp" "$VMLINUZ"
}

boot() {
    local cpio=${1:?usage: linux_kernel.sh boot CPIO [TIMEOUT] [-- INIT_ARGS...]} limit=120
    shift
    if [[ $# -gt 0 && "$1" != "--" ]]; then
        limit=$1
        shift
    fi
    local append="console=ttyS0 quiet panic=-1 init=/init"
    if [[ $# -gt 0 && "$1" == "--" ]]; then
        shift
        append+=" -- $*"
    fi
    [[ -s "$cpio" ]] || die "no initramfs $cpio"
    fetch
    # Same machine and clock as Exo's runs: -icount makes the TSC count guest
    # instructions, so figures repeat exactly from run to run.
    timeout "$limit" qemu-system-x86_64 -accel tcg -m 256M -no-reboot -display none \
        -serial stdio -kernel "$VMLINUZ" -initrd "$cpio" \
        -append "$append" \
        -icount shift=0,sleep=off -rtc base=2024-01-01T00:00:00,clock=vm </dev/null
}

case "${1:-fetch}" in
    fetch) fetch; echo "$VMLINUZ" ;;
    boot) shift; boot "$@" ;;
    *) die "unknown command '$1' (fetch | boot CPIO [TIMEOUT] [-- INIT_ARGS...])" ;;
esac
