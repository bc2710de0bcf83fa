// swift-tools-version: 6.1
//
// Exo's pure-logic modules. Each compiles for the host (tested by `swift test`)
// and, unchanged, for `x86_64-unknown-none-elf` in Embedded Swift, where the
// Makefile links them into the kernel. Nothing here touches hardware: what a
// module needs from the machine it takes as a generic parameter.
import PackageDescription

let package = Package(
    name: "Exo",
    products: [
        .library(name: "ExoKit", targets: ["ExoKit"]),
        .library(name: "ExoBoot", targets: ["ExoBoot"]),
        .library(name: "ExoX86", targets: ["ExoX86"]),
        .library(name: "ExoMemory", targets: ["ExoMemory"]),
        .library(name: "ExoSched", targets: ["ExoSched"]),
        .library(name: "ExoABI", targets: ["ExoABI"]),
        .library(name: "ExoFS", targets: ["ExoFS"]),
        .library(name: "ExoIPC", targets: ["ExoIPC"]),
        .executable(name: "ExoAllocBench", targets: ["ExoAllocBench"]),
    ],
    targets: [
        // Typed errors, bit manipulation, number formatting, statistics.
        .target(name: "ExoKit"),
        // Multiboot 1/2 boot information and the kernel command line.
        .target(name: "ExoBoot", dependencies: ["ExoKit"]),
        // x86_64 hardware structures as typed values: segment and gate
        // descriptors, the TSS, exception vectors, RFLAGS, page-fault codes.
        .target(name: "ExoX86", dependencies: ["ExoKit"]),
        // Physical frames (buddy), page-table model, kernel virtual ranges,
        // and the hybrid heap (magazines, slabs, pages).
        .target(name: "ExoMemory", dependencies: ["ExoKit", "ExoX86"]),
        // Scheduling policy: Hot/Normal/Cold run queues from a burst EMA,
        // aging, SMP balancing, and a simulator comparing it to round robin.
        .target(name: "ExoSched", dependencies: ["ExoKit"]),
        // The Linux x86_64 user ABI: syscall numbers, structure layouts,
        // signals, ELF images, the initial process stack, cpio archives.
        .target(name: "ExoABI", dependencies: ["ExoKit"]),
        // File trees: the in-memory tree the initial ramdisk unpacks into.
        .target(name: "ExoFS", dependencies: ["ExoKit", "ExoABI"]),
        // Fusion Rings: the shared-memory ring protocol (64-byte slots, 56
        // bytes inline), capability handle tables, in-flight transfers.
        .target(name: "ExoIPC", dependencies: ["ExoKit"]),
        // Host-only: the heap core against the C library's malloc/free
        // (tools/alloc_bench.py swaps in jemalloc, mimalloc, tcmalloc).
        .executableTarget(name: "ExoAllocBench", dependencies: ["ExoKit", "ExoMemory"]),
        .testTarget(name: "ExoKitTests", dependencies: ["ExoKit"]),
        .testTarget(name: "ExoBootTests", dependencies: ["ExoBoot"]),
        .testTarget(name: "ExoX86Tests", dependencies: ["ExoX86"]),
        .testTarget(name: "ExoMemoryTests", dependencies: ["ExoMemory"]),
        .testTarget(name: "ExoSchedTests", dependencies: ["ExoSched"]),
        .testTarget(name: "ExoABITests", dependencies: ["ExoABI"], exclude: ["Fixtures/initrd-small.cpio"]),
        .testTarget(name: "ExoFSTests", dependencies: ["ExoFS", "ExoABI"]),
        .testTarget(name: "ExoIPCTests", dependencies: ["ExoIPC", "ExoKit"]),
    ]
)
