import Testing
@testable import ExoSched

/// 4 CPU-bound threads and 2 interactive ones sharing one CPU.
private let oneCPUWorkload: [SimulatedThread] = [
    .cpuBound(), .cpuBound(), .cpuBound(), .cpuBound(), .interactive(), .interactive(),
]

private func describe(_ name: String, _ report: SimulationReport) -> String {
    let latency = report.interactiveWakeupLatency
    return "\(name): interactive wakeup latency median \(latency.median / us) µs, p99 \(latency.p99 / us) µs, "
        + "max \(latency.maximum / us) µs over \(latency.count) wakeups; utilisation \(report.utilisationPermille)‰; "
        + "CPU-bound work \(report.cpuBoundWork / ms) ms; switches \(report.contextSwitches)"
}

@Suite("Simulator: EMA classes vs round robin")
struct SimulatorTests {
    @Test func emaQueuesCutInteractiveLatencyAgainstRoundRobinOnOneCPU() throws {
        let duration = 10_000 * ms
        let ema = try SchedulerSimulator(queues: [RunQueue(cpu: 0)], threads: oneCPUWorkload, seed: 1).run(for: duration)
        let roundRobin = try SchedulerSimulator(queues: [RoundRobinQueue(cpu: 0, timeSlice: 4 * ms)],
                                                threads: oneCPUWorkload, seed: 1).run(for: duration)
        print(describe("EMA Hot/Normal/Cold", ema))
        print(describe("round robin 4 ms", roundRobin))
        #expect(ema.interactiveWakeupLatency.count > 500)
        // An order of magnitude at the tail, not a rounding difference.
        #expect(ema.interactiveWakeupLatency.p99 * 10 < roundRobin.interactiveWakeupLatency.p99)
        #expect(ema.interactiveWakeupLatency.median <= roundRobin.interactiveWakeupLatency.median)
        // The CPU never idles under either; CPU-bound throughput within 5%.
        // The EMA queues give it slightly less because the interactive
        // threads, served at once, complete twice as many wakeup cycles and
        // so do twice as much work in the same 10 s.
        #expect(ema.utilisationPermille >= 990 && roundRobin.utilisationPermille >= 990)
        let (low, high) = (min(ema.cpuBoundWork, roundRobin.cpuBoundWork), max(ema.cpuBoundWork, roundRobin.cpuBoundWork))
        #expect((high - low) * 20 <= high)
        let interactiveWork = { (report: SimulationReport) in report.work[4] + report.work[5] }
        #expect(interactiveWork(ema) > interactiveWork(roundRobin) * 3 / 2)
        // And the four CPU-bound threads share fairly under both (within 10%).
        for report in [ema, roundRobin] {
            let shares = report.work[0..<4]
            #expect((shares.max()! - shares.min()!) * 10 <= shares.max()!)
        }
    }

    @Test func sameSeedSameReport() throws {
        let first = try SchedulerSimulator(queues: [RunQueue(cpu: 0)], threads: oneCPUWorkload, seed: 9).run(for: 2_000 * ms)
        let second = try SchedulerSimulator(queues: [RunQueue(cpu: 0)], threads: oneCPUWorkload, seed: 9).run(for: 2_000 * ms)
        let other = try SchedulerSimulator(queues: [RunQueue(cpu: 0)], threads: oneCPUWorkload, seed: 10).run(for: 2_000 * ms)
        #expect(first.work == second.work && first.interactiveWakeupLatency == second.interactiveWakeupLatency)
        #expect(first.contextSwitches == second.contextSwitches)
        #expect(first.work != other.work)
    }

    @Test func fourCPUsOnTwoNodesStayBusyAndResponsive() throws {
        let topology = try CPUTopology.symmetric(nodes: 2, cpusPerNode: 2)
        var threads: [SimulatedThread] = []
        for index in 0..<8 { threads.append(.cpuBound(homeNode: NUMANode(index % 2))) }
        for index in 0..<4 { threads.append(.interactive(homeNode: NUMANode(index % 2))) }
        let queues = (0..<4).map { RunQueue(cpu: CPUID($0)) }
        let report = try SchedulerSimulator(queues: queues, threads: threads, balancer: LoadBalancer(topology: topology),
                                            seed: 5).run(for: 5_000 * ms)
        let rrQueues = (0..<4).map { RoundRobinQueue(cpu: CPUID($0)) }
        let baseline = try SchedulerSimulator(queues: rrQueues, threads: threads, balancer: LoadBalancer(topology: topology),
                                              seed: 5).run(for: 5_000 * ms)
        print(describe("4 CPUs, EMA", report))
        print(describe("4 CPUs, round robin", baseline))
        #expect(report.utilisationPermille >= 980)
        #expect(report.interactiveWakeupLatency.p99 * 10 < baseline.interactiveWakeupLatency.p99)
        let shares = report.work[0..<8]
        #expect((shares.max()! - shares.min()!) * 5 <= shares.max()!)
    }
}
