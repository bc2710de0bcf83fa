import ExoKit
import Glibc
import Synchronization



/// Keeps a value observable: the optimizer may not delete the allocations
/// whose addresses fed it (LLVM removes a malloc/free pair whose pointer
/// never escapes).
nonisolated(unsafe) var benchmarkSink: UInt = 0
@inline(never)
func blackHole(_ value: UInt) { benchmarkSink ^= value }

/// Writes `byte` to the first byte of `pointer`, as a user of fresh memory
/// would. A relaxed atomic store is a plain `mov` on x86_64 that the
/// optimizer must keep; a plain store right before `free` is dead to LLVM
/// and would be deleted for malloc (it knows free) but not for Exo.
@inline(__always)
func touch(_ pointer: UnsafeMutableRawPointer, _ byte: UInt8) {
    pointer.assumingMemoryBound(to: Atomic<UInt8>.self).pointee.store(byte, ordering: .relaxed)
}

/// Nanoseconds on CLOCK_MONOTONIC.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// pair64: `p = malloc(64); p[0] = byte; free(p)`, `iterations` times.
/// One op = one malloc + free pair.
@inline(never)
func pair64<A: BenchAllocator>(_ allocator: A, iterations: Int) {
    var digest: UInt = 0
    for index in 0..<iterations {
        let pointer = allocator.allocate(64, cache: 0)
        touch(pointer, UInt8(truncatingIfNeeded: index))
        digest &+= UInt(bitPattern: pointer)
        allocator.free(pointer, cache: 0)
    }
    blackHole(digest)
}

/// random: a live set of `slots.count` (a power of two) objects; each
/// iteration frees a random slot's object and puts a new one of 16-256
/// bytes there. One op = one free + malloc.
struct RandomLiveSet<A: BenchAllocator> {
    static var slotCount: Int { 8192 }
    let allocator: A
    let slots: UnsafeMutablePointer<UnsafeMutableRawPointer>
    var random = SplitMix64(seed: 0x5EED_A110C)

    init(_ allocator: A) {
        self.allocator = allocator
        slots = .allocate(capacity: Self.slotCount)
        for slot in 0..<Self.slotCount {
            slots[slot] = allocator.allocate(Self.size(random.next()), cache: 0)
        }
    }

    @inline(__always)
    static func size(_ bits: UInt64) -> Int { 16 + Int((bits &>> 32) % 241) }

    @inline(never)
    mutating func run(iterations: Int) {
        var digest: UInt = 0
        for _ in 0..<iterations {
            let bits = random.next()
            let slot = Int(bits & UInt64(Self.slotCount - 1))
            allocator.free(slots[slot], cache: 0)
            let pointer = allocator.allocate(Self.size(bits), cache: 0)
            touch(pointer, UInt8(truncatingIfNeeded: bits))
            digest &+= UInt(bitPattern: pointer)
            slots[slot] = pointer
        }
        blackHole(digest)
    }

    func freeAll() {
        for slot in 0..<Self.slotCount { allocator.free(slots[slot], cache: 0) }
        slots.deallocate()
    }
}

/// A single-producer single-consumer ring of object addresses. Head and
/// tail are free-running counters on their own cache lines; each side
/// keeps a private copy of the other's counter and rereads it only when
/// the ring looks full (producer) or empty (consumer).
struct PointerRing {
    static let capacity = 1024
    private let counters: UnsafeMutableRawPointer
    private let slots: UnsafeMutablePointer<UInt>
    /// Written by the consumer.
    var head: UnsafeMutablePointer<Atomic<Int>> { counters.assumingMemoryBound(to: Atomic<Int>.self) }
    /// Written by the producer.
    var tail: UnsafeMutablePointer<Atomic<Int>> { (counters + 128).assumingMemoryBound(to: Atomic<Int>.self) }
    /// Set by the starter; the producer waits for it.
    var go: UnsafeMutablePointer<Atomic<Int>> { (counters + 256).assumingMemoryBound(to: Atomic<Int>.self) }

    init() {
        counters = .allocate(byteCount: 384, alignment: 128)
        for offset in [0, 128, 256] {
            (counters + offset).bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        }
        slots = .allocate(capacity: Self.capacity)
    }

    func deallocate() {
        counters.deallocate()
        slots.deallocate()
    }

    @inline(__always)
    func slot(_ counter: Int) -> UnsafeMutablePointer<UInt> { slots + (counter & (Self.capacity - 1)) }
}

/// A thread running `body`, joined by `join()`.
struct BenchThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
    private var thread = pthread_t()

    init(_ body: @escaping () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed")
    }

    func join() { pthread_join(thread, nil) }
}

/// prodcons: a producer thread (cache 0) allocates `count` objects of
/// 64-256 bytes and passes them through a PointerRing to the consumer, the
/// calling thread (cache 1), which frees them: every free is cross-thread.
/// Returns the nanoseconds from releasing the producer to the last free.
func producerConsumer<A: BenchAllocator>(_ allocator: A, count: Int) -> UInt64 {
    let ring = PointerRing()
    defer { ring.deallocate() }
    let producer = BenchThread {
        produce(allocator, ring: ring, count: count)
    }
    let start = monotonicNanoseconds()
    ring.go.pointee.store(1, ordering: .releasing)
    consume(allocator, ring: ring, count: count)
    let end = monotonicNanoseconds()
    producer.join()
    return end - start
}

/// Spins briefly, then yields the CPU on every poll: with two cores and
/// other processes about, a side that spins while the other is preempted
/// would burn whole time slices.
@inline(__always)
func backOff(_ polls: inout Int) {
    polls &+= 1
    if polls > 64 { sched_yield() }
}

@inline(never)
func produce<A: BenchAllocator>(_ allocator: A, ring: PointerRing, count: Int) {
    while ring.go.pointee.load(ordering: .acquiring) == 0 { sched_yield() }
    var random = SplitMix64(seed: 0xC0FF_EE00)
    var seenHead = 0
    for tail in 0..<count {
        let bits = random.next()
        let pointer = allocator.allocate(64 + Int((bits &>> 32) % 193), cache: 0)
        touch(pointer, UInt8(truncatingIfNeeded: bits))
        var polls = 0
        while tail &- seenHead == PointerRing.capacity {
            seenHead = ring.head.pointee.load(ordering: .acquiring)
            backOff(&polls)
        }
        ring.slot(tail).pointee = UInt(bitPattern: pointer)
        ring.tail.pointee.store(tail &+ 1, ordering: .releasing)
    }
}

@inline(never)
func consume<A: BenchAllocator>(_ allocator: A, ring: PointerRing, count: Int) {
    var seenTail = 0
    var digest: UInt = 0
    for head in 0..<count {
        var polls = 0
        while head == seenTail {
            seenTail = ring.tail.pointee.load(ordering: .acquiring)
            backOff(&polls)
        }
        let address = ring.slot(head).pointee
        digest &+= address
        let pointer = UnsafeMutableRawPointer(bitPattern: address).unsafelyUnwrapped
        digest &+= UInt(pointer.load(as: UInt8.self))
        allocator.free(pointer, cache: 1)
        ring.head.pointee.store(head &+ 1, ordering: .releasing)
    }
    blackHole(digest)
}
