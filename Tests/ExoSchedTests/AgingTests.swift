import Testing
@testable import ExoSched

/// Drives one CPU for `duration` of virtual time with Hot threads that are
/// always runnable (each runs `hotBurst`, blocks and wakes at once), Normal
/// threads doing the same with 2 ms bursts, and Cold threads that never
/// block; records every Normal and Cold thread's longest wait between runs,
/// its dispatches and CPU time, and checks that no thread changes class.
private struct StarvationRun {
    var maximumWait: [ThreadID: Nanoseconds] = [:]
    var dispatches: [ThreadID: Int] = [:]
    var cpuTime: [ThreadID: Nanoseconds] = [:]
    var agedDispatches: UInt64 = 0
    var hotLatencyMaximum: Nanoseconds = 0

    init(hotThreads: Int, normal: Int, cold: Int, hotBurst: Nanoseconds, duration: Nanoseconds) throws {
        let total = hotThreads + normal + cold
        var harness = QueueHarness(threads: total)
        var classes: [SchedClass] = []
        for index in 0..<total {
            let thread = ThreadID(index)
            classes.append(index < hotThreads ? .hot : index < hotThreads + normal ? .normal : .cold)
            harness.set(thread, to: classes[index])
            // Long histories: their classes stay put for the whole run.
            harness.entities[thread].predictor = BurstPredictor(
                initialPrediction: index < hotThreads ? hotBurst : index < hotThreads + normal ? 2 * ms : 10 * ms)
            try harness.enqueue(thread)
        }
        var queuedAt: [ThreadID: Nanoseconds] = [:]
        for index in 0..<total { queuedAt[ThreadID(index)] = 0 }
        while harness.now < duration {
            let picked = harness.pick()
            let thread = try #require(picked)
            let waited = harness.now - queuedAt[thread]!
            let schedClass = classes[thread.index]
            if schedClass == .hot {
                hotLatencyMaximum = max(hotLatencyMaximum, waited)
            } else {
                maximumWait[thread] = max(maximumWait[thread, default: 0], waited)
                dispatches[thread, default: 0] += 1
            }
            let slice = harness.queue.preemptionDeadline! - harness.now
            let ran = schedClass == .hot ? hotBurst : schedClass == .normal ? min(2 * ms, slice) : slice
            cpuTime[thread, default: 0] += ran
            try harness.run(for: ran, then: schedClass == .cold ? .preempted : .blocked)
            if schedClass != .cold { try harness.enqueue(thread) }
            queuedAt[thread] = harness.now
            #expect(harness.entities[thread].schedClass == schedClass)
        }
        agedDispatches = harness.queue.agedDispatches
    }
}

@Suite("Aging: Cold and Normal never starve")
struct AgingTests {
    @Test func aColdThreadRunsWithinItsBoundUnderAContinuousSupplyOfHotThreads() throws {
        // 3 Hot threads always runnable: without aging the Cold one never runs.
        let run = try StarvationRun(hotThreads: 3, normal: 0, cold: 1, hotBurst: 200 * us, duration: 10_000 * ms)
        let cold: ThreadID = 3
        let bound = SchedulerParameters.standard.coldStarvationBound
        // Within its bound plus the Hot burst that was running when it fell due.
        #expect(run.maximumWait[cold]! <= bound + 200 * us)
        // It got a full slice every ~30 ms (20 ms starved + 10 ms run):
        // about a third of the CPU, over 300 times in 10 s.
        #expect(run.dispatches[cold]! >= 300)
        #expect(run.cpuTime[cold]! >= 3_000 * ms)
    }

    @Test func normalAndColdBothProgressUnderHotSaturation() throws {
        let run = try StarvationRun(hotThreads: 2, normal: 2, cold: 2, hotBurst: 300 * us, duration: 10_000 * ms)
        let parameters = SchedulerParameters.standard
        for index in 2..<6 {
            let thread = ThreadID(index)
            #expect(run.dispatches[thread, default: 0] >= 100, "thread \(index) starved")
        }
        // A class is served within its bound plus at most the slice running
        // then and the other class's aged slice; two threads per class take
        // turns, so each thread within two such rounds.
        let normalBound = 2 * (parameters.normalStarvationBound + parameters.timeSlices.cold + parameters.timeSlices.normal)
        let coldBound = 2 * (parameters.coldStarvationBound + parameters.timeSlices.cold + parameters.timeSlices.normal)
        #expect(run.maximumWait[2]! <= normalBound && run.maximumWait[3]! <= normalBound)
        #expect(run.maximumWait[4]! <= coldBound && run.maximumWait[5]! <= coldBound)
        // And Hot threads still get the CPU between aged slices.
        #expect(run.hotLatencyMaximum <= parameters.timeSlices.cold + parameters.timeSlices.normal + 1 * ms)
    }

    @Test func roundRobinWithinAClassIsNotStarvation() throws {
        // Four Cold threads alone wait 30 ms between slices, beyond the 20 ms
        // bound, yet the class runs all the time: no aged dispatch, so each
        // stays open to wakeup preemption.
        let run = try StarvationRun(hotThreads: 0, normal: 0, cold: 4, hotBurst: 0, duration: 2_000 * ms)
        #expect(run.agedDispatches == 0)
        #expect(run.maximumWait[0]! == 30 * ms)
    }

    @Test func anAgedThreadKeepsItsSliceAgainstWakeups() throws {
        var harness = QueueHarness(threads: 3)
        harness.set(0, to: .hot)
        harness.set(1, to: .hot)
        harness.set(2, to: .cold)
        try harness.enqueue(2)
        try harness.enqueue(0)
        // A Hot thread keeps the CPU until the Cold class is 20 ms overdue.
        var picked = harness.pick()
        while picked == 0 {
            try harness.run(for: 500 * us, then: .blocked)
            try harness.enqueue(0)
            picked = harness.pick()
        }
        #expect(picked == 2)
        #expect(harness.now >= 20 * ms && harness.now <= 20 * ms + 500 * us)
        #expect(harness.queue.agedDispatches == 1)
        try harness.enqueue(1)  // a Hot wakeup
        #expect(!harness.queue.shouldPreempt(now: harness.now + 9 * ms))
        #expect(harness.queue.shouldPreempt(now: harness.now + 10 * ms))
    }
}
