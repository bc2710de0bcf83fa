import Testing
@testable import ExoSched

@Suite("Run queue: direct handoff")
struct HandOffTests {
    @Test func handOffSwitchesWithoutTouchingTheQueues() throws {
        var harness = QueueHarness(threads: 4)
        try harness.enqueue(2)
        #expect(harness.pick() == 2)
        try harness.enqueue(3)                       // a Hot thread waits
        let admitted1 = harness.queue.admitsHandOff(to: 1, now: harness.now, entities: harness.entities)
        #expect(admitted1)
        harness.now += 5 * us
        let out = harness.queue.tryHandOff(to: 1, now: harness.now, entities: &harness.entities)
        #expect(out == 2)
        #expect(harness.queue.current == 1)
        #expect(harness.entities[1].location == .running(0))
        #expect(harness.entities[2].location == .detached)
        #expect(harness.entities[2].runtime == 5 * us)
        #expect(harness.entities[2].currentBurst == 0)
        #expect(harness.queue.queued(.hot, entities: harness.entities) == [3])  // the waiter kept its place
        #expect(harness.queue.verify(entities: harness.entities) == nil)
    }

    @Test func handOffFeedsThePredictorLikeBlocking() throws {
        // Two threads with the same history: one blocks, one hands off.
        var blocking = QueueHarness(threads: 2)
        var handing = QueueHarness(threads: 3)
        for _ in 0..<12 {
            _ = try blocking.burst(0, 30 * ms)
            try handing.queue.beginRunning(0, now: handing.now, entities: &handing.entities)
            handing.now += 30 * ms
            handing.queue.tryHandOff(to: 1, now: handing.now, entities: &handing.entities)
            _ = try handing.queue.switchOut(now: handing.now, reason: .blocked, entities: &handing.entities)
        }
        #expect(handing.entities[0].predictor == blocking.entities[0].predictor)
        // The class follows the prediction where it is used: at the next
        // enqueue (a wakeup), not on the switch path.
        #expect(blocking.entities[0].schedClass == .cold)
        #expect(handing.entities[0].schedClass == .hot)
        try handing.queue.enqueue(0, waitingSince: handing.now, entities: &handing.entities)
        #expect(handing.entities[0].schedClass == blocking.entities[0].schedClass)
        #expect(handing.queue.queued(.cold, entities: handing.entities) == [0])
    }

    @Test func handOffWithNobodyQueuedLeavesAgingUnchanged() throws {
        // The same history, one queue handing off with empty lists (where
        // `lastRan` is skipped) and one blocking: a Cold thread queued
        // afterwards is served at the same moment by both.
        var handing = QueueHarness(threads: 3)
        var blocking = QueueHarness(threads: 3)
        handing.set(0, to: .cold)                    // the class whose lastRan is skipped
        blocking.set(0, to: .cold)
        try handing.queue.beginRunning(0, now: handing.now, entities: &handing.entities)
        try blocking.queue.beginRunning(0, now: blocking.now, entities: &blocking.entities)
        handing.now += 3 * ms; blocking.now += 3 * ms
        handing.queue.tryHandOff(to: 1, now: handing.now, entities: &handing.entities)
        _ = try blocking.queue.switchOut(now: blocking.now, reason: .blocked, entities: &blocking.entities)
        try blocking.queue.beginRunning(1, now: blocking.now, entities: &blocking.entities)
        for harness in [handing, blocking] {
            var harness = harness
            harness.set(2, to: .cold)
            try harness.enqueue(2)
            let bound = SchedulerParameters.standard.coldStarvationBound
            let early = harness.queue.admitsHandOff(to: 0, now: harness.now + bound - 1, entities: harness.entities)
            let late = harness.queue.admitsHandOff(to: 0, now: harness.now + bound + 1, entities: harness.entities)
            #expect(early && !late)
        }
    }

    @Test func refusedWhenSomeoneIsOwedTheCPU() throws {
        var harness = QueueHarness(threads: 5)
        try harness.enqueue(0)
        #expect(harness.pick() == 0)
        // No running thread on another queue: nothing to hand from.
        var idle = QueueHarness(threads: 2)
        let admitted2 = idle.queue.admitsHandOff(to: 1, now: 0, entities: idle.entities)
        #expect(!admitted2)
        _ = idle.pick()
        // A Hot thread waits: a Cold target would jump it.
        harness.set(1, to: .cold)
        try harness.enqueue(2)
        let admitted3 = harness.queue.admitsHandOff(to: 1, now: harness.now, entities: harness.entities)
        #expect(!admitted3)
        // A Cold thread waiting past its starvation bound is owed the CPU.
        var starving = QueueHarness(threads: 4)
        try starving.enqueue(0)
        #expect(starving.pick() == 0)
        starving.set(1, to: .cold)
        try starving.enqueue(1)
        let admitted4 = starving.queue.admitsHandOff(to: 2, now: starving.now, entities: starving.entities)
        #expect(admitted4)
        starving.now += SchedulerParameters.standard.coldStarvationBound + 1
        let admitted5 = starving.queue.admitsHandOff(to: 2, now: starving.now, entities: starving.entities)
        #expect(!admitted5)
        // Queued, running and pinned-elsewhere targets are refused.
        let admitted6 = starving.queue.admitsHandOff(to: 1, now: 0, entities: starving.entities)
        #expect(!admitted6)
        let admitted7 = starving.queue.admitsHandOff(to: 0, now: 0, entities: starving.entities)
        #expect(!admitted7)
        try starving.entities.pin(3, to: 1)
        let admitted8 = starving.queue.admitsHandOff(to: 3, now: 0, entities: starving.entities)
        #expect(!admitted8)
    }

    @Test func forkedEntityKeepsHistoryButNotPlace() throws {
        var harness = QueueHarness(threads: 3)
        for _ in 0..<12 { _ = try harness.burst(0, 30 * ms) }
        try harness.enqueue(0)
        let child = harness.entities[0].forked()
        #expect(child.schedClass == .cold && child.predictor == harness.entities[0].predictor)
        #expect(child.location == .detached && child.runtime == 0)
        harness.entities[1] = child
        try harness.enqueue(1)                       // links were reset: it queues cleanly
        #expect(harness.queue.verify(entities: harness.entities) == nil)
    }

    @Test func lazyHandOffIsAdmittedOnlyWhenNobodyWaits() throws {
        var harness = QueueHarness(threads: 5)
        try harness.enqueue(0)
        #expect(harness.pick() == 0)
        #expect(harness.queue.admitsLazyHandOff(to: 1, entities: harness.entities))   // detached
        #expect(harness.queue.admitsLazyHandOff(to: 0, entities: harness.entities))   // the slice's owner
        try harness.entities.pin(3, to: 1)
        #expect(!harness.queue.admitsLazyHandOff(to: 3, entities: harness.entities))  // pinned elsewhere
        try harness.enqueue(2)
        #expect(!harness.queue.admitsLazyHandOff(to: 1, entities: harness.entities))  // someone waits
        #expect(!harness.queue.admitsLazyHandOff(to: 2, entities: harness.entities))
        var idle = QueueHarness(threads: 2)
        #expect(!idle.queue.admitsLazyHandOff(to: 1, entities: idle.entities))        // no slice to lend
    }

    @Test func settleChargesTheSliceOwnerLikeAnEagerHandOff() throws {
        // The same history, one queue handing off eagerly, one lazily and
        // settled later: the records end the same.
        var eager = QueueHarness(threads: 3)
        var lazy = QueueHarness(threads: 3)
        try eager.queue.beginRunning(0, now: 0, entities: &eager.entities)
        try lazy.queue.beginRunning(0, now: 0, entities: &lazy.entities)
        eager.queue.tryHandOff(to: 1, now: 7 * us, entities: &eager.entities)
        // Lazily: thread 1 runs, the queue still records thread 0.
        #expect(lazy.queue.current == 0)
        lazy.queue.settle(running: 1, now: 7 * us, entities: &lazy.entities)
        #expect(lazy.queue.current == 1 && eager.queue.current == 1)
        #expect(lazy.entities[0].location == .detached && lazy.entities[1].location == .running(0))
        #expect(lazy.entities[0].runtime == eager.entities[0].runtime)
        #expect(lazy.entities[0].predictor == eager.entities[0].predictor)
        #expect(lazy.queue.verify(entities: lazy.entities) == nil)
        // Settling again for the recorded thread changes nothing.
        let before = lazy.entities[1].runtime
        lazy.queue.settle(running: 1, now: 9 * us, entities: &lazy.entities)
        #expect(lazy.queue.current == 1 && lazy.entities[1].runtime == before)
    }

    @Test func aChainOfLazyHandOffsChargesTheOwnerTheWholeChain() throws {
        var harness = QueueHarness(threads: 3)
        try harness.queue.beginRunning(0, now: 0, entities: &harness.entities)
        // 0 → 1 → 0 → 1 lazily (no queue calls), then settled with 1 running.
        harness.queue.settle(running: 1, now: 40 * us, entities: &harness.entities)
        #expect(harness.entities[0].runtime == 40 * us)
        #expect(harness.entities[0].currentBurst == 0)       // its burst went into the predictor
        #expect(harness.queue.current == 1)
        // A reply back to the recorded thread needs no settling at all.
        harness.queue.settle(running: 1, now: 50 * us, entities: &harness.entities)
        #expect(harness.queue.current == 1 && harness.entities[1].runtime == 0)
    }

    @Test func aLoneThreadsExpiredSliceIsRenewedAndCharged() throws {
        var harness = QueueHarness(threads: 2)
        try harness.queue.beginRunning(0, now: 0, entities: &harness.entities)
        let slice = SchedulerParameters.standard.timeSlice(for: harness.entities[0].schedClass)
        #expect(!harness.queue.renewSliceIfExpired(now: slice - 1, entities: &harness.entities))
        #expect(harness.queue.renewSliceIfExpired(now: slice + 5, entities: &harness.entities))
        #expect(harness.entities[0].runtime == slice + 5)
        #expect(harness.entities[0].currentBurst == slice + 5)
        let deadline = try #require(harness.queue.preemptionDeadline)
        #expect(deadline > slice + 5)                        // a slice ahead, not in the past
        // With a thread waiting the slice is not renewed: it is preempted.
        try harness.enqueue(1)
        #expect(!harness.queue.renewSliceIfExpired(now: 10 * slice, entities: &harness.entities))
        #expect(harness.queue.shouldPreempt(now: 10 * slice))
    }
}
