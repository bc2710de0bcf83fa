import CExoArch
import ExoSched
import Synchronization
import ExoMemory
import ExoKit

/// In-kernel microbenchmarks, selected with `exo.bench=<name>[,<name>]|all`.
///
/// Each prints one line: `bench <name> <median> guest-instructions` plus
/// `key=value` details. Under QEMU `-icount shift=0` the TSC advances once
/// per guest instruction, so medians are instruction counts, identical on
/// every run. Each sample is one rdtsc-bracketed operation; the median
/// rdtsc-pair overhead is measured first and subtracted from the others.
enum Benchmarks {
    static let iterations = 1001
    static let warmup = 16

    static let all: [(name: StaticString, run: (UInt64) -> UInt64)] = [
        ("rdtsc_overhead", { _ in measureRdtscOverhead() }),
        ("empty_call", { overhead in measure(overhead) { exo_empty_function() } }),
        ("exception_roundtrip", { overhead in measure(overhead) { exo_int3() } }),
        ("heap_alloc_free_64", { overhead in
            let heap = KernelHeap.core
            return measure(overhead) { try! heap.free(try! heap.allocate(size: 64, cache: KernelHeap.cacheIndex), cache: KernelHeap.cacheIndex) }
        }),
        ("heap_alloc_64", { overhead in measureHeapHalf(overhead, timeAllocation: true) }),
        ("heap_free_64", { overhead in measureHeapHalf(overhead, timeAllocation: false) }),
        ("frame_alloc_free", { overhead in
            measure(overhead) { try! PhysicalMemory.free(try! PhysicalMemory.allocate(order: 0), order: 0) }
        }),
        ("ctx_switch", { overhead in measureContextSwitch(overhead) }),
        ("yield_switch", { overhead in measureYieldSwitch(overhead) }),
        ("ipc_call_kernel", { overhead in measureKernelRingCall(overhead) }),
        ("thread_spawn_join", { overhead in
            measure(overhead) { Threads.join(try! Threads.spawn(name: "bench", {})) }
        }),
        ("interactive_latency", { _ in measureInteractiveLatency(percentile: 50) }),
        ("interactive_latency_p99", { _ in measureInteractiveLatency(percentile: 99) }),
        ("wakeup_cross_cpu", { overhead in measureCrossCPUWakeup(overhead) }),
        ("map_unmap_4k", { overhead in
            let frame = try! PhysicalMemory.allocateZeroedFrame()
            let page = KernelVirtualMemory.region.upperBound - 2 * KernelLayout.pageSize
            let flags = KernelAddressSpace.kernelDataFlags
            defer { try! PhysicalMemory.free(frame, order: 0) }
            return measure(overhead) {
                try! KernelAddressSpace.map(virtual: page, physical: frame, flags: flags)
                _ = try! KernelAddressSpace.unmap(virtual: page)
            }
        }),
    ]

    static func run(selection: String) -> Bool {
        let wanted = selection.split(separator: ",").map(String.init)
        let unknown = wanted.filter { name in name != "all" && !all.contains { $0.name.description == name } }
        if !unknown.isEmpty {
            Log.error("bench: unknown benchmark(s) \(unknown); known: \(all.map { $0.name.description })")
            return false
        }
        Traps.logBreakpoints = false
        defer { Traps.logBreakpoints = true }
        let overhead = measureRdtscOverhead()
        for benchmark in all where wanted.contains("all") || wanted.contains(benchmark.name.description) {
            if benchmark.name.description == "wakeup_cross_cpu" && SMP.count < 2 {
                Console.write("bench: wakeup_cross_cpu skipped (needs two CPUs: -smp 2)\n")
                continue
            }
            let median = benchmark.run(overhead)
            let details = benchmark.name.description == "rdtsc_overhead" ? "" : " overhead=\(overhead)"
            Console.write("bench \(benchmark.name.description) \(median) guest-instructions iterations=\(iterations)\(details)\n")
        }
        return true
    }

    /// Median instructions between two back-to-back timestamp reads.
    static func measureRdtscOverhead() -> UInt64 {
        var samples: [UInt64] = []
        samples.reserveCapacity(iterations)
        for index in 0..<(iterations + warmup) {
            let start = CPU.timestamp()
            let end = CPU.timestamp()
            if index >= warmup { samples.append(end &- start) }
        }
        return Statistics.median(samples) ?? 0
    }

    /// One-way thread-to-thread switch on one CPU, the direct way: the
    /// measuring thread hands the CPU to a partner blocked waiting for it,
    /// which hands it straight back (`Scheduler.handOff`: burst accounting,
    /// states, FPU and register switch; no queue). Each sample is two
    /// switches; half is reported.
    static func measureContextSwitch(_ overhead: UInt64) -> UInt64 {
        final class Shared { var stop = false; var main = ThreadID(0) }
        let shared = Shared()
        shared.main = Scheduler.current
        let partner = try! Threads.spawn(name: "bench-partner", pinnedTo: CPUID(SMP.currentIndex)) {
            Scheduler.withLock {
                while !shared.stop { Scheduler.handOff(to: shared.main) }
                Scheduler.wake(shared.main)
            }
        }
        // The partner runs once and hands back: from then on it is blocked
        // waiting, and each handOff below is a direct switch.
        // The lock stays held across the samples, as on the partner's
        // side: a sample is the two switches and nothing else.
        let roundTrip = Scheduler.withLock {
            Scheduler.block()
            return measure(overhead) { Scheduler.handOff(to: partner) }
        }
        shared.stop = true
        Scheduler.withLock { Scheduler.handOff(to: partner) }
        Threads.join(partner)
        return roundTrip / 2
    }

    /// Fusion Ring call/reply between two kernel threads on this CPU, 56
    /// bytes each way, halved: the rings and the direct handoff of
    /// `KernelRing.call` without the system-call boundary (the user
    /// benchmark's ipc_call_copy_56 is the same between processes).
    static func measureKernelRingCall(_ overhead: UInt64) -> UInt64 {
        guard let requests = try? KernelRing(capacity: 4, flags: []),
              let replies = try? KernelRing(capacity: 4, flags: []) else { return 0 }
        final class Flag { var stop = false }
        let flag = Flag()
        let partner = try! Threads.spawn(name: "bench-ring", pinnedTo: CPUID(SMP.currentIndex)) {
            var message = InlineMessage()
            withUnsafeMutableBytes(of: &message) { (buffer: UnsafeMutableRawBufferPointer) in
                _ = try? requests.receive(into: buffer)
                while !flag.stop {
                    _ = try? replies.call(UnsafeRawBufferPointer(buffer), reply: requests, into: buffer)
                }
            }
        }
        var message = InlineMessage()
        let roundTrip = withUnsafeMutableBytes(of: &message) { (buffer: UnsafeMutableRawBufferPointer) -> UInt64 in
            let request = UnsafeRawBufferPointer(buffer)
            let result = measure(overhead) { _ = try? requests.call(request, reply: replies, into: buffer) }
            flag.stop = true
            try? requests.send(request)                  // the partner sees `stop` and ends
            return result
        }
        Threads.join(partner)
        return roundTrip / 2
    }

    /// The same ping-pong through `Scheduler.yield`: the full policy path
    /// (switch-out accounting, run-queue insert and pick, timer re-arm).
    static func measureYieldSwitch(_ overhead: UInt64) -> UInt64 {
        final class Flag { var stop = false }
        let flag = Flag()
        let partner = try! Threads.spawn(name: "bench-partner", pinnedTo: CPUID(SMP.currentIndex)) {
            while !flag.stop { Scheduler.yield() }
        }
        Scheduler.yield()                            // let the partner start
        let roundTrip = measure(overhead) { Scheduler.yield() }
        flag.stop = true
        Threads.join(partner)
        return roundTrip / 2
    }

    /// How late an interactive thread wakes beside CPU-bound ones: three
    /// spinners and one thread that sleeps 1 ms, 200 times, all pinned to
    /// CPU 0. Lateness (wakeup to running, in clock nanoseconds: under
    /// icount one per guest instruction) at the given percentile. Run it
    /// with `exo.sched=rr` for the round-robin baseline.
    static func measureInteractiveLatency(percentile: Int) -> UInt64 {
        final class Shared { let stop = Atomic<Bool>(false); var lateness: [UInt64] = [] }
        let shared = Shared()
        shared.lateness.reserveCapacity(200)
        var spinners: [ThreadID] = []
        for _ in 0..<3 {
            spinners.append(try! Threads.spawn(name: "bench-spinner", pinnedTo: CPUID(0)) {
                while !shared.stop.load(ordering: .relaxed) { exo_pause() }
            })
        }
        let interactive = try! Threads.spawn(name: "bench-interactive", pinnedTo: CPUID(0)) {
            for _ in 0..<200 {
                let deadline = Clock.nanosecondsSinceBoot() + 1_000_000
                Scheduler.sleep(nanoseconds: 1_000_000)
                shared.lateness.append(Clock.nanosecondsSinceBoot() - deadline)
            }
        }
        Threads.join(interactive)
        shared.stop.store(true, ordering: .relaxed)
        for spinner in spinners { Threads.join(spinner) }
        let sorted = shared.lateness.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, sorted.count * percentile / 100)]
    }

    /// A thread on CPU 0 posts a semaphore a thread blocked on CPU 1 waits
    /// for: guest instructions from the post to the waiter running (an IPI,
    /// the idle CPU's reschedule, the switch). Needs two CPUs.
    static func measureCrossCPUWakeup(_ overhead: UInt64) -> UInt64 {
        final class Shared {
            let go = KernelSemaphore(), back = KernelSemaphore()
            let postedAt = Atomic<UInt64>(0)
            var samples: [UInt64] = []
        }
        let shared = Shared()
        shared.samples.reserveCapacity(iterations)
        let waiter = try! Threads.spawn(name: "bench-waiter", pinnedTo: CPUID(1)) {
            for _ in 0..<(iterations + warmup) {
                shared.go.wait()
                shared.samples.append(CPU.timestamp() &- shared.postedAt.load(ordering: .acquiring))
                shared.back.signal()
            }
        }
        let poster = try! Threads.spawn(name: "bench-poster", pinnedTo: CPUID(0)) {
            for _ in 0..<(iterations + warmup) {
                shared.postedAt.store(CPU.timestamp(), ordering: .releasing)
                shared.go.signal()
                shared.back.wait()
            }
        }
        Threads.join(poster)
        Threads.join(waiter)
        let median = Statistics.median(Array(shared.samples.dropFirst(warmup))) ?? 0
        return median > overhead ? median - overhead : 0
    }

    /// Median cost of only the allocation or only the free of a 64-byte
    /// object (the other half runs outside the timed window).
    static func measureHeapHalf(_ overhead: UInt64, timeAllocation: Bool) -> UInt64 {
        let heap = KernelHeap.core
        let cache = KernelHeap.cacheIndex
        var samples: [UInt64] = []
        samples.reserveCapacity(iterations)
        for index in 0..<(iterations + warmup) {
            let start: UInt64, end: UInt64
            if timeAllocation {
                start = CPU.timestamp()
                let block = try! heap.allocate(size: 64, cache: cache)
                end = CPU.timestamp()
                try! heap.free(block, cache: cache)
            } else {
                let block = try! heap.allocate(size: 64, cache: cache)
                start = CPU.timestamp()
                try! heap.free(block, cache: cache)
                end = CPU.timestamp()
            }
            if index >= warmup { samples.append(end &- start) }
        }
        let median = Statistics.median(samples) ?? 0
        return median > overhead ? median - overhead : 0
    }

    /// Median cost of `operation`, minus the timestamp overhead.
    @inline(__always)
    static func measure(_ overhead: UInt64, _ operation: () -> Void) -> UInt64 {
        var samples: [UInt64] = []
        samples.reserveCapacity(iterations)
        for index in 0..<(iterations + warmup) {
            let start = CPU.timestamp()
            operation()
            let end = CPU.timestamp()
            if index >= warmup { samples.append(end &- start) }
        }
        let median = Statistics.median(samples) ?? 0
        return median > overhead ? median - overhead : 0
    }
}
