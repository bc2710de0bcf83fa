import ExoMemory
import Glibc

/// What a workload needs from an allocator. Workloads are generic over it
/// (specialised per allocator, no dynamic dispatch), and every allocator
/// behind it costs at least one real call per operation.
///
/// `cache` is the heap cache the calling thread owns; the C library's
/// allocators find their per-thread state themselves (TLS) and ignore it.
protocol BenchAllocator {
    func allocate(_ size: Int, cache: Int) -> UnsafeMutableRawPointer
    func free(_ pointer: UnsafeMutableRawPointer, cache: Int)
}

/// The C library's malloc/free: glibc's, or whichever allocator
/// LD_PRELOAD interposes (jemalloc, mimalloc, tcmalloc).
struct SystemAllocator: BenchAllocator {
    @inline(__always)
    func allocate(_ size: Int, cache: Int) -> UnsafeMutableRawPointer {
        guard let pointer = malloc(size) else { fatalError("malloc(\(size)) failed") }
        return pointer
    }

    @inline(__always)
    func free(_ pointer: UnsafeMutableRawPointer, cache: Int) {
        Glibc.free(pointer)
    }
}

typealias HostHeap = HybridHeap<HostPageSource>

/// Exo's heap core, called through `exoMalloc` / `exoFree`.
struct ExoAllocator: BenchAllocator {
    let heap: UnsafePointer<HostHeap>

    @inline(__always)
    func allocate(_ size: Int, cache: Int) -> UnsafeMutableRawPointer {
        exoMalloc(heap, size, cache: cache)
    }

    @inline(__always)
    func free(_ pointer: UnsafeMutableRawPointer, cache: Int) {
        exoFree(heap, pointer, cache: cache)
    }
}

// The two entry points are kept out of line so Exo pays a real call per
// operation, as malloc and free do through the PLT. The caller passes its
// cache index: on the host each thread owns one cache; in the kernel the
// allocator entry reads the current CPU's index from per-CPU data (a
// %gs-relative load with interrupts off), which this benchmark does not
// charge. The C allocators instead pay for finding their thread cache
// (a %fs-relative TLS access).

// Shaped like a C malloc: the fast path inline, the slow path a separate
// function it tail-calls, so the fast path saves no registers.
@inline(never)
func exoMalloc(_ heap: UnsafePointer<HostHeap>, _ size: Int, cache: Int) -> UnsafeMutableRawPointer {
    if let pointer = heap.pointee.allocateFromCache(size: size, cache: cache) { return pointer }
    return exoMallocSlow(heap, size, cache: cache)
}
@inline(never)
func exoMallocSlow(_ heap: UnsafePointer<HostHeap>, _ size: Int, cache: Int) -> UnsafeMutableRawPointer {
    do {
        return try heap.pointee.allocate(size: size, cache: cache)
    } catch {
        fatalError("exo allocate(\(size)): \(error.description)")
    }
}

@inline(never)
func exoFree(_ heap: UnsafePointer<HostHeap>, _ pointer: UnsafeMutableRawPointer, cache: Int) {
    if heap.pointee.freeToCache(pointer, cache: cache) { return }
    exoFreeSlow(heap, pointer, cache: cache)
}
@inline(never)
func exoFreeSlow(_ heap: UnsafePointer<HostHeap>, _ pointer: UnsafeMutableRawPointer, cache: Int) {
    do {
        try heap.pointee.free(pointer, cache: cache)
    } catch {
        fatalError("exo free: \(error.description)")
    }
}
