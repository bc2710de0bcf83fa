import ExoKit

/// The simulator's seeded generator: ExoKit's SplitMix64, so simulations
/// replay exactly on every machine, plus draws from a range.
public struct SimulationRandom: Sendable {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { generator.next() }

    /// A value in `range` (modulo bias is negligible for these spans).
    public mutating func next(in range: ClosedRange<UInt64>) -> UInt64 {
        let span = range.upperBound - range.lowerBound
        return span == .max ? next() : range.lowerBound + next() % (span + 1)
    }
}

/// One synthetic thread: it alternates CPU bursts and sleeps, each drawn
/// uniformly from its range.
public struct SimulatedThread: Sendable {
    public enum Kind: Sendable {
        /// Its wakeup-to-run latency is what the comparison reports.
        case interactive
        case cpuBound
    }

    public var kind: Kind
    public var burst: ClosedRange<Nanoseconds>
    public var sleep: ClosedRange<Nanoseconds>
    public var homeNode: NUMANode

    /// Precondition: bursts are at least 1 ns.
    public init(kind: Kind, burst: ClosedRange<Nanoseconds>, sleep: ClosedRange<Nanoseconds>,
                homeNode: NUMANode = NUMANode(0)) {
        precondition(burst.lowerBound > 0, "a burst takes some CPU time")
        self.kind = kind
        self.burst = burst
        self.sleep = sleep
        self.homeNode = homeNode
    }

    /// An editor or shell: 50–400 µs of CPU per event, 2–20 ms between events.
    public static func interactive(homeNode: NUMANode = NUMANode(0)) -> SimulatedThread {
        SimulatedThread(kind: .interactive, burst: 50_000...400_000, sleep: 2_000_000...20_000_000, homeNode: homeNode)
    }

    /// A compiler or a number cruncher: 50–150 ms of CPU, then 0.5–2 ms of I/O.
    public static func cpuBound(homeNode: NUMANode = NUMANode(0)) -> SimulatedThread {
        SimulatedThread(kind: .cpuBound, burst: 50_000_000...150_000_000, sleep: 500_000...2_000_000, homeNode: homeNode)
    }
}

/// Order statistics of latency samples (nearest-rank percentiles).
public struct LatencySummary: Equatable, Sendable {
    public var count: Int
    public var median: Nanoseconds
    /// The smallest sample ≥ 99% of all samples.
    public var p99: Nanoseconds
    public var maximum: Nanoseconds

    /// Summarises `samples` (all zero if there are none).
    public init(samples: [Nanoseconds]) {
        count = samples.count
        guard !samples.isEmpty else {
            median = 0; p99 = 0; maximum = 0
            return
        }
        let sorted = samples.sorted()
        median = sorted[(sorted.count - 1) / 2]
        p99 = sorted[(sorted.count * 99 + 99) / 100 - 1]
        maximum = sorted[sorted.count - 1]
    }
}

/// What a simulation measured.
public struct SimulationReport: Sendable {
    public var duration: Nanoseconds
    /// From a thread's wakeup to its first instruction (dispatch plus the
    /// switch cost), over interactive threads.
    public var interactiveWakeupLatency: LatencySummary
    /// Useful CPU time (bursts, not switch cost) over CPU time available, ‰.
    public var utilisationPermille: UInt64
    public var contextSwitches: UInt64
    /// Useful CPU time each thread got.
    public var work: [Nanoseconds]
    /// Sum of `work` over CPU-bound threads.
    public var cpuBoundWork: Nanoseconds
}

/// A discrete-event simulation of threads on CPUs driven by a
/// `SchedulingQueue` policy, exactly as the kernel drives it: enqueue on
/// wakeup then check preemption, a one-shot timer at `preemptionDeadline`,
/// `switchOut` + `pickNext` to reschedule, an idle CPU steals, and every
/// `balanceInterval` each CPU may pull. Deterministic for a given seed.
///
/// The machine model is deliberately simple: each dispatch costs
/// `switchCost` of CPU time before the thread makes progress; wakeups,
/// steals and timers are otherwise free and instantaneous.
public struct SchedulerSimulator<Queue: SchedulingQueue> {
    public var queues: [Queue]
    public var threads: [SimulatedThread]
    public var parameters: SchedulerParameters
    /// Needed with more than one CPU.
    public var balancer: LoadBalancer?
    public var switchCost: Nanoseconds
    public var balanceInterval: Nanoseconds
    public var seed: UInt64

    /// `queues[i]` must be CPU i's. `parameters` builds the threads' entities
    /// (the queues carry their own policy parameters).
    public init(queues: [Queue], threads: [SimulatedThread], parameters: SchedulerParameters = .standard,
                balancer: LoadBalancer? = nil, switchCost: Nanoseconds = 2_000,
                balanceInterval: Nanoseconds = 4_000_000, seed: UInt64) {
        precondition(!queues.isEmpty, "at least one CPU")
        for index in 0..<queues.count { precondition(queues[index].cpu == CPUID(index), "queues[i] must be CPU i's") }
        precondition(queues.count == 1 || balancer?.topology.cpuCount == queues.count,
                     "several CPUs need a balancer over their topology")
        self.queues = queues
        self.threads = threads
        self.parameters = parameters
        self.balancer = balancer
        self.switchCost = switchCost
        self.balanceInterval = balanceInterval
        self.seed = seed
    }

    /// Runs `duration` of virtual time. Every thread starts asleep and wakes
    /// within the first millisecond. Throws only if a queue refuses an
    /// operation (a policy bug).
    public func run(for duration: Nanoseconds) throws(SchedError) -> SimulationReport {
        let cpuCount = queues.count
        let threadCount = threads.count
        var queues = self.queues
        var entities = SchedEntityArray(capacity: threadCount, parameters: parameters)
        var random = SimulationRandom(seed: seed)
        var remaining = [Nanoseconds](repeating: 0, count: threadCount)
        var wakeAt = [Nanoseconds?](repeating: nil, count: threadCount)
        var wokeAt = [Nanoseconds?](repeating: nil, count: threadCount)
        var work = [Nanoseconds](repeating: 0, count: threadCount)
        var overhead = [Nanoseconds](repeating: 0, count: cpuCount)
        var deadline = [Nanoseconds?](repeating: nil, count: cpuCount)
        var latencies: [Nanoseconds] = []
        var switches: UInt64 = 0
        var nextBalance = balanceInterval
        var now: Nanoseconds = 0
        for index in 0..<threadCount {
            entities[ThreadID(index)].homeNode = threads[index].homeNode
            wakeAt[index] = random.next(in: 0...1_000_000)
        }

        func loads() -> [CPULoad] {
            var result: [CPULoad] = []
            for queue in queues { result.append(queue.load) }
            return result
        }
        /// After `cpu`'s queue changed: preempt now, or re-arm its timer.
        func checkPreemption(_ cpu: Int) throws(SchedError) {
            guard queues[cpu].current != nil else { return }
            if queues[cpu].shouldPreempt(now: now) {
                try queues[cpu].switchOut(now: now, reason: .preempted, entities: &entities)
                overhead[cpu] = 0
                deadline[cpu] = nil
            } else {
                deadline[cpu] = queues[cpu].preemptionDeadline.flatMap { $0 > now ? $0 : nil }
            }
        }

        while true {
            // The next event: a wakeup, a burst's end, a timer, balancing.
            var next = duration
            for index in 0..<threadCount { if let time = wakeAt[index] { next = min(next, time) } }
            for cpu in 0..<cpuCount {
                guard let thread = queues[cpu].current else { continue }
                next = min(next, now + overhead[cpu] + remaining[thread.index])
                if let time = deadline[cpu] { next = min(next, max(time, now)) }
            }
            if balancer != nil, cpuCount > 1 { next = min(next, nextBalance) }

            // Running threads progress (switch cost first).
            let step = next - now
            for cpu in 0..<cpuCount {
                guard let thread = queues[cpu].current else { continue }
                let switching = min(overhead[cpu], step)
                overhead[cpu] -= switching
                let progress = min(remaining[thread.index], step - switching)
                remaining[thread.index] -= progress
                work[thread.index] += progress
            }
            now = next
            if now >= duration { break }

            // Bursts that ended: the thread blocks and sleeps.
            for cpu in 0..<cpuCount {
                guard let thread = queues[cpu].current, overhead[cpu] == 0, remaining[thread.index] == 0 else { continue }
                try queues[cpu].switchOut(now: now, reason: .blocked, entities: &entities)
                deadline[cpu] = nil
                wakeAt[thread.index] = now + random.next(in: threads[thread.index].sleep)
            }
            // Timers.
            for cpu in 0..<cpuCount {
                if let time = deadline[cpu], time <= now { try checkPreemption(cpu) }
            }
            // Wakeups.
            for index in 0..<threadCount {
                guard let time = wakeAt[index], time <= now else { continue }
                let thread = ThreadID(index)
                wakeAt[index] = nil
                wokeAt[index] = now
                remaining[index] = random.next(in: threads[index].burst)
                let cpu = cpuCount == 1 ? 0 : balancer!.placement(forWaking: entities[thread], loads: loads()).index
                try queues[cpu].enqueue(thread, now: now, entities: &entities)
                try checkPreemption(cpu)
            }
            // Periodic pulls.
            if let balancer, cpuCount > 1, now >= nextBalance {
                nextBalance += balanceInterval
                for target in 0..<cpuCount {
                    guard let migration = balancer.pullSource(for: CPUID(target), loads: loads()) else { continue }
                    var source = queues[migration.source.index]
                    var destination = queues[target]
                    _ = try balancer.pull(migration, from: &source, to: &destination, now: now, entities: &entities)
                    queues[migration.source.index] = source
                    queues[target] = destination
                    try checkPreemption(target)
                }
            }
            // Idle CPUs dispatch, stealing if their queue is empty.
            for cpu in 0..<cpuCount where queues[cpu].current == nil {
                var picked = queues[cpu].pickNext(now: now, entities: &entities)
                if picked == nil, let balancer, cpuCount > 1,
                   let victimCPU = balancer.stealSource(for: CPUID(cpu), loads: loads()) {
                    var victim = queues[victimCPU.index]
                    var thief = queues[cpu]
                    _ = try balancer.steal(from: &victim, to: &thief, now: now, entities: &entities)
                    queues[victimCPU.index] = victim
                    queues[cpu] = thief
                    picked = queues[cpu].pickNext(now: now, entities: &entities)
                }
                guard let thread = picked else { continue }
                switches += 1
                overhead[cpu] = switchCost
                deadline[cpu] = queues[cpu].preemptionDeadline
                if let woke = wokeAt[thread.index] {
                    // It runs its first instruction after the switch.
                    if threads[thread.index].kind == .interactive { latencies.append(now - woke + switchCost) }
                    wokeAt[thread.index] = nil
                }
            }
        }

        var totalWork: Nanoseconds = 0
        var cpuBoundWork: Nanoseconds = 0
        for index in 0..<threadCount {
            totalWork += work[index]
            if threads[index].kind == .cpuBound { cpuBoundWork += work[index] }
        }
        return SimulationReport(duration: duration,
                                interactiveWakeupLatency: LatencySummary(samples: latencies),
                                utilisationPermille: totalWork * 1000 / (UInt64(cpuCount) * max(duration, 1)),
                                contextSwitches: switches, work: work, cpuBoundWork: cpuBoundWork)
    }
}
