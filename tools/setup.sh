#!/usr/bin/env bash
# tools/setup.sh - idempotent host setup for building and testing Exo.
#
# Usage: tools/setup.sh
#
# Called by every make target, so it must be fast when nothing is missing:
#   * checks each required Debian package with dpkg-query and, only if some are
#     missing, runs `apt-get update` once and installs just the missing ones
#     (through sudo when not root);
#   * checks that the Swift toolchain (swift, swiftc) and clang / ld.lld exist,
#     on PATH or in /opt/swift/usr/bin; exits 1 with a clear message otherwise.
#
# Prints one line summarising what it did, e.g. "setup: all packages present".

set -euo pipefail

PACKAGES=(qemu-system-x86 xorriso mtools grub-pc-bin grub-common python3 musl-tools busybox-static cpio)
SWIFT_BIN=/opt/swift/usr/bin

die() {
    echo "setup: error: $*" >&2
    exit 1
}

# is_installed PKG: true when dpkg reports the package fully installed.
is_installed() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [[ "$status" == "install ok installed" ]]
}

# find_tool NAME: succeeds when NAME is on PATH or in $SWIFT_BIN.
find_tool() {
    command -v "$1" >/dev/null 2>&1 || [[ -x "$SWIFT_BIN/$1" ]]
}

install_missing_packages() {
    command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found (this setup expects Debian/Ubuntu)"

    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        is_installed "$pkg" || missing+=("$pkg")
    done

    if ((${#missing[@]} == 0)); then
        echo "setup: all packages present"
        return
    fi

    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "not root and sudo not found; install: ${missing[*]}"
        sudo=(sudo)
    fi

    echo "setup: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
        || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install failed for: ${missing[*]}"

    for pkg in "${missing[@]}"; do
        is_installed "$pkg" || die "package $pkg still not installed after apt-get install"
    done
    echo "setup: installed ${missing[*]}"
}

check_toolchain() {
    local tool
    for tool in swift swiftc; do
        find_tool "$tool" || die "Swift toolchain not found: '$tool' is neither on PATH nor in $SWIFT_BIN" \
            "(install a Swift 6.x toolchain with the Embedded stdlib into /opt/swift)"
    done
    for tool in clang ld.lld; do
        find_tool "$tool" || die "'$tool' is neither on PATH nor in $SWIFT_BIN (it ships with the Swift toolchain)"
    done
}

install_missing_packages
check_toolchain
