import Synchronization

/// A test-and-test-and-set spin lock whose word lives in memory the heap
/// owns (the heap is a plain struct of pointers, so its locks cannot be
/// stored properties).
///
/// In the kernel, callers keep interrupts off while holding it (an
/// interrupt handler that allocates would otherwise spin on its own CPU's
/// lock forever). Lock order inside the heap: a size class's lock, then the
/// page-source lock; never the reverse.
@usableFromInline
struct SpinLock {
    @usableFromInline let word: UnsafeMutablePointer<Atomic<UInt32>>

    /// Binds and initialises the lock word at `storage` (4 bytes, aligned).
    init(initializingAt storage: UnsafeMutableRawPointer) {
        word = storage.bindMemory(to: Atomic<UInt32>.self, capacity: 1)
        word.initialize(to: Atomic(0))
    }

    init(existingAt storage: UnsafeMutableRawPointer) {
        word = storage.assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    @usableFromInline
    func lock() {
        while true {
            if word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged { return }
            // Spin on a plain load so the cache line stays shared while held.
            while word.pointee.load(ordering: .relaxed) != 0 {}
        }
    }

    @usableFromInline
    func unlock() {
        word.pointee.store(0, ordering: .releasing)
    }

    @inline(__always) @usableFromInline
    func withLock<R>(_ body: () -> R) -> R {
        lock()
        defer { unlock() }
        return body()
    }
}
