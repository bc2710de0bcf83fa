import CExoArch
import Synchronization
import ExoBoot
import ExoKit
import ExoSched
import ExoMemory

/// Threads, the context switch, preemption, sleeping and blocking
/// primitives, on the real timer (`exo.test=sched`).
enum SchedulerTests {
    static let suite = KernelTestSuite(name: "sched", tests: [
        KernelTest(name: "spawned_thread_runs_and_joins", body: spawnJoin),
        KernelTest(name: "thousand_threads_created_and_exited", body: thousandThreads),
        KernelTest(name: "timer_preempts_cpu_bound_threads", body: preemption),
        KernelTest(name: "mutex_keeps_a_shared_counter_exact", body: mutexCounter),
        KernelTest(name: "semaphores_ping_pong", body: pingPong),
        KernelTest(name: "handoff_alternates_threads_directly", body: handOff),
        KernelTest(name: "lazy_handoff_owner_woken_plainly", body: lazyOwnerWoken),
        KernelTest(name: "sleep_wakes_on_time", body: sleepAccuracy),
        KernelTest(name: "apic_timer_agrees_with_the_tsc", body: timerAccuracy),
        KernelTest(name: "fpu_state_survives_preemption", body: fpuState),
        KernelTest(name: "kernel_stacks_have_guard_pages", body: stackGuards),
        KernelTest(name: "cpu_bound_drifts_cold_and_interactive_hot", body: classification),
        KernelTest(name: "cold_thread_is_not_starved_by_interactive_ones", body: noStarvation),
        KernelTest(name: "numa_topology_follows_the_srat", body: numaTopology),
    ])

    static func spawnJoin(_ t: TestContext) {
        final class Box { var value = 0 }
        let box = Box()
        guard let thread = try? Threads.spawn(name: "test", { box.value = 42 }) else { return t.expect(false, "spawn") }
        Threads.join(thread)
        t.expectEqual(box.value, 42, "the thread ran its closure before join returned")
    }

    /// Two threads pass the CPU back and forth with `handOff`: the trace
    /// strictly alternates, each handoff is a direct switch (the switch
    /// counter moves by exactly one), and a handoff to a thread that is not
    /// waiting degrades to wake + block instead of corrupting its state.
    static func handOff(_ t: TestContext) {
        final class Shared { var trace: [UInt8] = []; var main = ThreadID(0); var extraSwitches: UInt64 = 0 }
        let shared = Shared()
        shared.trace.reserveCapacity(64)
        shared.main = Scheduler.current
        let rounds = 20
        let partner = try? Threads.spawn(name: "handoff", pinnedTo: CPUID(SMP.currentIndex)) {
            waitUntilBlocked(shared.main)
            Scheduler.withLock {
                for _ in 0..<rounds {
                    shared.trace.append(1)
                    Scheduler.handOff(to: shared.main)
                }
                Scheduler.wake(shared.main)
            }
        }
        guard let partner else { return t.expect(false, "spawn") }
        Scheduler.withLock {
            Scheduler.block()                       // the partner's first turn
            for _ in 0..<(rounds - 1) {
                shared.trace.append(0)
                let before = Scheduler.switches
                Scheduler.handOff(to: partner)
                // Back here after exactly two direct switches (there and back).
                if Scheduler.switches - before != 2 { shared.extraSwitches += Scheduler.switches - before }
            }
            shared.trace.append(0)
            Scheduler.handOff(to: partner)          // its last turn: it wakes us and exits
        }
        Threads.join(partner)
        var alternates = shared.trace.count == 2 * rounds
        for (index, who) in shared.trace.enumerated() where who != UInt8(1 - index % 2) { alternates = false }
        t.expect(alternates, "turns alternate partner/main \(rounds) times each (trace of \(shared.trace.count))")
        t.expectEqual(shared.extraSwitches, 0, "each round trip was two direct switches")
        // A handoff to a thread that is running (not waiting) falls back.
        let sleeper = try? Threads.spawn(name: "handoff-fallback") { Scheduler.sleep(nanoseconds: 200_000) }
        guard let sleeper else { return t.expect(false, "spawn") }
        final class Flag { var woken = false }
        let flag = Flag()
        let waker = try? Threads.spawn(name: "handoff-waker") {
            Scheduler.sleep(nanoseconds: 1_000_000)
            Scheduler.withLock { flag.woken = true; Scheduler.wake(shared.main) }
        }
        // Ready or sleeping: not waiting for us. Checked in the same lock
        // visit as the waker's store, so a waker that ran first (a slow
        // host can delay this CPU past its 1 ms) is not a lost wakeup that
        // blocks this thread for good.
        Scheduler.withLock { if !flag.woken { Scheduler.handOff(to: sleeper) } }
        t.expect(flag.woken, "the fallback blocked the caller until the waker woke it")
        Threads.join(sleeper)
        if let waker { Threads.join(waker) }
    }

    /// A lazy handoff leaves the run queue recording the thread that
    /// handed off (the slice's owner) as running while it is blocked; a
    /// plain wakeup of that owner must settle the record before queueing
    /// it (else the queue refuses a thread it thinks runs), and the owner
    /// then runs again.
    static func lazyOwnerWoken(_ t: TestContext) {
        final class Shared { var main = ThreadID(0); var ownerRanAgain = false }
        let shared = Shared()
        shared.main = Scheduler.current
        let cpu = SMP.currentIndex
        let owner = try? Threads.spawn(name: "lazy-owner", pinnedTo: CPUID(cpu)) {
            waitUntilBlocked(shared.main)
            Scheduler.withLock {
                Scheduler.handOff(to: shared.main)  // lazily: the queue keeps recording this thread
                shared.ownerRanAgain = true         // back after main's plain wakeup
            }
        }
        guard let owner else { return t.expect(false, "spawn") }
        var recorded: ThreadID? = nil
        var queuedHere = 0
        Scheduler.withLock {
            Scheduler.block()                       // the owner runs and hands the CPU back
            recorded = Scheduler.recordedRunning(on: cpu)
            queuedHere = Scheduler.queuedCount(on: cpu)
            Scheduler.wake(owner)                   // settles the record, then queues the owner
        }
        Threads.join(owner)
        t.expect(recorded == owner || queuedHere > 0,
                 "with nobody queued the handoff was lazy (the queue recorded the owner while main ran)")
        t.expect(shared.ownerRanAgain, "the woken owner ran again")
    }

    /// For a thread about to hand off to `thread`: yields until `thread`
    /// has blocked. (A new thread may run before its spawner blocks: the
    /// spawner can be preempted on the way, and a handoff to a thread that
    /// is not waiting degrades to wake + block, which then leaves both
    /// asleep.)
    private static func waitUntilBlocked(_ thread: ThreadID) {
        while !Scheduler.withLock({ Threads.table[thread.index].state == .blocked }) { Scheduler.yield() }
    }

    static func thousandThreads(_ t: TestContext) {
        final class Counter { let value = Atomic<Int>(0) }         // threads run on every CPU
        let counter = Counter()
        let liveBefore = Threads.live
        var framesAfterFirstRound = 0
        var batch: [ThreadID] = []
        batch.reserveCapacity(100)
        for round in 0..<10 {
            for _ in 0..<100 {
                guard let thread = try? Threads.spawn(name: "many", { counter.value.add(1, ordering: .relaxed) }) else {
                    return t.expect(false, "spawn in round \(round)")
                }
                batch.append(thread)
            }
            for thread in batch { Threads.join(thread) }
            batch.removeAll(keepingCapacity: true)
            if round == 0 { framesAfterFirstRound = PhysicalMemory.statistics.freeFrames }
        }
        t.expectEqual(counter.value.load(ordering: .relaxed), 1000, "all 1000 threads ran")
        t.expectEqual(Threads.live, liveBefore, "all reaped")
        // The first round fills what the kernel keeps on purpose: the pool of
        // stacks for the next spawns, the page tables that mapped them, the
        // heap spans of FPU areas in each CPU's caches. After that, 900 more
        // threads must not keep anything: a leaked stack alone is 4 frames
        // per thread, 3,600 in all.
        let growth = framesAfterFirstRound - PhysicalMemory.statistics.freeFrames
        t.expect(growth < 32, "stack frames returned (\(growth) frames kept by rounds 2-10, 900 threads used \(900 * Threads.stackPages))")
    }

    static func preemption(_ t: TestContext) {
        final class Progress {
            let counters = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 32)
            let stop = Atomic<Bool>(false)                // atomic: the optimizer must re-read it
        }
        let progress = Progress()
        let before = Scheduler.preemptions
        // One more spinner than CPUs, and none ever yields: only the timer
        // can share a CPU between two of them.
        let spinners = min(SMP.count + 1, 32)
        var threads: [ThreadID] = []
        for index in 0..<spinners {
            (progress.counters + index).initialize(to: Atomic(0))
            if let thread = try? Threads.spawn(name: "spinner", {
                while !progress.stop.load(ordering: .relaxed) { progress.counters[index].add(1, ordering: .relaxed) }
            }) { threads.append(thread) }
        }
        Scheduler.sleep(nanoseconds: 50_000_000)
        progress.stop.store(true, ordering: .relaxed)
        for thread in threads { Threads.join(thread) }
        let stalled = (0..<spinners).filter { progress.counters[$0].load(ordering: .relaxed) == 0 }.count
        t.expectEqual(threads.count, spinners, "\(spinners) spinners")
        t.expectEqual(stalled, 0, "every spinner made progress")
        t.expect(Scheduler.preemptions > before, "the timer preempted a running thread")
    }

    static func mutexCounter(_ t: TestContext) {
        final class Shared { var counter = 0 }
        let shared = Shared()
        let mutex = KernelMutex()
        let perThread = 2000
        var threads: [ThreadID] = []
        for _ in 0..<4 {
            if let thread = try? Threads.spawn(name: "mutex", {
                for _ in 0..<perThread {
                    mutex.lock()
                    // Read, spin a little (so preemption lands inside), write.
                    let value = shared.counter
                    for _ in 0..<20 { exo_pause() }
                    shared.counter = value + 1
                    mutex.unlock()
                }
            }) { threads.append(thread) }
        }
        for thread in threads { Threads.join(thread) }
        t.expectEqual(threads.count, 4, "four threads")
        t.expectEqual(shared.counter, 4 * perThread, "no increment lost")
    }

    static func pingPong(_ t: TestContext) {
        let ping = KernelSemaphore(), pong = KernelSemaphore()
        final class Count { var value = 0 }
        let rounds = Count()
        guard let partner = try? Threads.spawn(name: "pong", {
            for _ in 0..<100 { ping.wait(); pong.signal() }
        }) else { return t.expect(false, "spawn") }
        for _ in 0..<100 { ping.signal(); pong.wait(); rounds.value += 1 }
        Threads.join(partner)
        t.expectEqual(rounds.value, 100, "100 round trips")
        t.expectEqual(ping.value + pong.value, 0, "semaphores balanced")
    }

    static func sleepAccuracy(_ t: TestContext) {
        for milliseconds in [1, 5, 20] as [UInt64] {
            let start = Clock.nanosecondsSinceBoot()
            Scheduler.sleep(nanoseconds: milliseconds * 1_000_000)
            let slept = Clock.nanosecondsSinceBoot() - start
            t.expect(slept >= milliseconds * 1_000_000, "\(milliseconds) ms sleep lasted at least that (\(slept) ns)")
            t.expect(slept < milliseconds * 1_000_000 + 3_000_000, "\(milliseconds) ms sleep woke within 3 ms (\(slept) ns)")
        }
    }

    static func timerAccuracy(_ t: TestContext) {
        // A one-shot of 10 ms on the APIC timer, timed with the TSC.
        let before = Scheduler.timerInterrupts
        let start = Clock.nanosecondsSinceBoot()
        Scheduler.sleep(nanoseconds: 10_000_000)
        let elapsed = Clock.nanosecondsSinceBoot() - start
        t.expect(Scheduler.timerInterrupts > before, "the wakeup came from the APIC timer")
        t.expect(elapsed > 9_000_000 && elapsed < 15_000_000, "10 ms on the APIC timer is \(elapsed) ns on the TSC")
        t.expect(LocalAPIC.timerTicksPerMillisecond > 0, "timer calibrated")
    }

    static func fpuState(_ t: TestContext) {
        final class Results { var a = 0.0, b = 0.0 }
        let results = Results()
        // x87 arithmetic (the kernel is built without SSE) in two threads
        // that the timer interleaves; a lost FPU switch corrupts the sums.
        func work(_ scale: Double) -> Double {
            var sum = 0.0
            for index in 0..<200_000 { sum += Double(index % 7) * scale }
            return sum
        }
        let first = try? Threads.spawn(name: "fpu-a") { results.a = work(0.5) }
        let second = try? Threads.spawn(name: "fpu-b") { results.b = work(0.25) }
        if let first { Threads.join(first) }
        if let second { Threads.join(second) }
        // Sum of (i % 7) for i < 200000: 28571 full cycles of 21, plus 0+1+2.
        let cycles = 200_000 / 7, rest = (0..<(200_000 % 7)).reduce(0, +)
        let exact = Double(cycles * 21 + rest)
        t.expectEqual(results.a, exact * 0.5, "thread A's x87 sum exact")
        t.expectEqual(results.b, exact * 0.25, "thread B's x87 sum exact")
    }

    static func stackGuards(_ t: TestContext) {
        guard let thread = try? Threads.spawn(name: "guarded", {}) else { return t.expect(false, "spawn") }
        let stack = Threads.table[thread.index].stack
        t.expect(stack != nil, "thread has a stack")
        if let stack {
            t.expect(KernelAddressSpace.translate(stack.guardPage) == nil, "page below the stack unmapped")
            t.expect(KernelAddressSpace.translate(stack.bottom) != nil, "stack mapped")
        }
        Threads.join(thread)
    }

    static func classification(_ t: TestContext) {
        final class Shared {
            let stop = Atomic<Bool>(false)
        }
        let shared = Shared()
        // One thread spins (long bursts), one wakes every millisecond for a
        // moment (short bursts), both on CPU 0 so they share it; the
        // scheduler's own EMA classes them.
        guard let spinner = try? Threads.spawn(name: "cpu-bound", pinnedTo: CPUID(0), {
            while !shared.stop.load(ordering: .relaxed) { exo_pause() }
        }), let sleeper = try? Threads.spawn(name: "interactive", pinnedTo: CPUID(0), {
            while !shared.stop.load(ordering: .relaxed) { Scheduler.sleep(nanoseconds: 1_000_000) }
        }) else { return t.expect(false, "spawn") }
        // Emulated CPUs can be descheduled by the host mid-burst, which
        // reads as a long burst; so sample the classes over time and ask for
        // a clear majority rather than one snapshot.
        Scheduler.sleep(nanoseconds: 30_000_000)
        var spinnerCold = 0, sleeperHot = 0
        let samples = 10
        for _ in 0..<samples {
            Scheduler.sleep(nanoseconds: 5_000_000)
            Scheduler.withLock {
                if Scheduler.schedClass(of: spinner) == .cold { spinnerCold += 1 }
                if Scheduler.schedClass(of: sleeper) == .hot { sleeperHot += 1 }
            }
        }
        shared.stop.store(true, ordering: .relaxed)
        Threads.join(spinner)
        Threads.join(sleeper)
        t.expect(spinnerCold >= 7, "the spinning thread is Cold in most samples (\(spinnerCold)/\(samples))")
        t.expect(sleeperHot >= 7, "the sleeping thread is Hot in most samples (\(sleeperHot)/\(samples))")
    }

    static func noStarvation(_ t: TestContext) {
        final class Shared {
            let stop = Atomic<Bool>(false)
            let coldProgress = Atomic<Int>(0)
        }
        let shared = Shared()
        // Per CPU: interactive threads that together always want the CPU,
        // plus one CPU-bound thread that must still get its share.
        var threads: [ThreadID] = []
        for _ in 0..<(3 * SMP.count) {
            if let thread = try? Threads.spawn(name: "busy-hot", {
                while !shared.stop.load(ordering: .relaxed) {
                    for _ in 0..<2_000 { exo_pause() }
                    Scheduler.yield()
                }
            }) { threads.append(thread) }
        }
        if let cold = try? Threads.spawn(name: "cold", {
            while !shared.stop.load(ordering: .relaxed) { shared.coldProgress.add(1, ordering: .relaxed) }
        }) { threads.append(cold) }
        Scheduler.sleep(nanoseconds: 60_000_000)
        let progress = shared.coldProgress.load(ordering: .relaxed)
        shared.stop.store(true, ordering: .relaxed)
        for thread in threads { Threads.join(thread) }
        t.expect(progress > 0, "the CPU-bound thread ran (\(progress) iterations in 60 ms)")
    }

    static func numaTopology(_ t: TestContext) {
        let topology = Scheduler.topology
        guard let srat = Firmware.tables?.srat else {
            return t.expectEqual(topology.nodeCount, 1, "no SRAT: one node")
        }
        let domains = srat.proximityDomains.sorted()
        t.expectEqual(topology.nodeCount, domains.count, "one node per proximity domain")
        for cpu in 0..<SMP.count {
            let apicID = SMP.cpus[cpu].apicID
            guard let domain = srat.processorAffinities.first(where: { $0.apicID == apicID })?.proximityDomain,
                  let node = domains.firstIndex(of: domain) else { continue }
            t.expectEqual(topology.node(of: CPUID(cpu)).index, node, "CPU \(cpu) on the node the SRAT gives")
        }
        if domains.count > 1 {
            t.expect(topology.distance(from: NUMANode(0), to: NUMANode(1)) > topology.distance(from: NUMANode(0), to: NUMANode(0)),
                     "remote nodes are farther than local (SLIT)")
        }
    }
}
