import Testing
@testable import ExoSched

@Suite("Run queue: order, removal, errors, preemption")
struct RunQueueTests {
    @Test func eachClassIsFIFO() throws {
        var harness = QueueHarness(threads: 6)
        for thread in [3, 1, 5, 0, 4, 2] as [ThreadID] { try harness.enqueue(thread) }
        #expect(try harness.drain() == [3, 1, 5, 0, 4, 2])
    }

    @Test func hotBeforeNormalBeforeCold() throws {
        var harness = QueueHarness(threads: 6)
        let classes: [SchedClass] = [.cold, .normal, .hot, .cold, .hot, .normal]
        for (index, schedClass) in classes.enumerated() {
            harness.set(ThreadID(index), to: schedClass)
            try harness.enqueue(ThreadID(index))
        }
        #expect(harness.queue.count(of: .hot) == 2 && harness.queue.count(of: .cold) == 2)
        #expect(try harness.drain() == [2, 4, 1, 5, 0, 3])
    }

    @Test func removeFromHeadMiddleAndTailKeepsTheRestInOrder() throws {
        var harness = QueueHarness(threads: 6)
        for index in 0..<6 { try harness.enqueue(ThreadID(index)) }
        for thread in [2, 0, 5] as [ThreadID] {
            try harness.queue.remove(thread, entities: &harness.entities)
            #expect(harness.entities[thread].location == .detached)
            #expect(harness.queue.verify(entities: harness.entities) == nil)
        }
        #expect(harness.queue.queued(.hot, entities: harness.entities) == [1, 3, 4])  // new threads start Hot
        #expect(harness.queue.count == 3)
        try harness.enqueue(0)  // a removed thread can come back, at the tail
        #expect(try harness.drain() == [1, 3, 4, 0])
        #expect(harness.queue.count == 0)
    }

    @Test func misuseIsReportedNotCorrupting() throws {
        var harness = QueueHarness(threads: 3)
        try harness.enqueue(0)
        #expect(throws: SchedError.alreadyQueued(0)) { try harness.enqueue(0) }
        #expect(throws: SchedError.notQueued(1)) { try harness.queue.remove(1, entities: &harness.entities) }
        #expect(throws: SchedError.cpuIdle(0)) {
            try harness.queue.switchOut(now: 0, reason: .blocked, entities: &harness.entities)
        }
        #expect(harness.pick() == 0)
        #expect(throws: SchedError.alreadyRunning(0)) { try harness.enqueue(0) }
        #expect(throws: SchedError.cpuBusy(0)) {
            try harness.queue.beginRunning(1, now: 0, entities: &harness.entities)
        }
        try harness.entities.pin(2, to: 1)
        #expect(throws: SchedError.pinnedElsewhere(2)) { try harness.enqueue(2) }
        try harness.entities.pin(2, to: 0)
        try harness.enqueue(2)
        #expect(throws: SchedError.queued(2)) { try harness.entities.pin(2, to: nil) }
        #expect(SchedError.alreadyQueued(0).errno == .busy)
        // Nothing above disturbed the queue.
        #expect(harness.queue.count == 1 && harness.queue.load.migratable == 0)
        #expect(harness.queue.current == 0)
    }

    @Test func verifyCatchesABrokenQueue() throws {
        var harness = QueueHarness(threads: 3)
        for index in 0..<3 { try harness.enqueue(ThreadID(index)) }
        #expect(harness.queue.verify(entities: harness.entities) == nil)
        harness.entities[1].schedClass = .cold  // behind the queue's back
        #expect(harness.queue.verify(entities: harness.entities) != nil)
    }

    @Test func queuesOwnNoMemoryAndNeverGrow() throws {
        // Plain values: no references, so enqueue/dequeue cannot allocate;
        // the links live in the fixed-capacity entity table.
        #expect(_isPOD(RunQueue.self))
        #expect(_isPOD(RoundRobinQueue.self))
        #expect(_isPOD(SchedEntity.self))
        #expect(MemoryLayout<SchedEntity>.stride <= 112)
        var harness = QueueHarness(threads: 64)
        var random = SimulationRandom(seed: 3)
        for _ in 0..<20_000 {
            let thread = ThreadID(Int(random.next(in: 0...63)))
            switch harness.entities[thread].location.kind {
            case .detached: try harness.enqueue(thread)
            case .queued: try harness.queue.remove(thread, entities: &harness.entities)
            case .running: try harness.run(for: 10 * us, then: .blocked)
            }
            if harness.queue.current == nil, random.next(in: 0...3) == 0 { _ = harness.pick() }
            if random.next(in: 0...99) == 0 {  // now and then, check and move everything's class
                #expect(harness.queue.verify(entities: harness.entities) == nil)
                harness.now += 1 * ms
                for index in 0..<64 where harness.entities[ThreadID(index)].location == .detached {
                    harness.set(ThreadID(index), to: SchedClass(rawValue: UInt8(random.next(in: 0...2)))!)
                }
            }
            harness.now += 1 * us
        }
        #expect(harness.queue.verify(entities: harness.entities) == nil)
        #expect(harness.entities.capacity == 64)
        var queued = 0
        for index in 0..<64 { if harness.entities[ThreadID(index)].location.kind == .queued { queued += 1 } }
        #expect(queued == harness.queue.count)
    }

    @Test func timeSlicesFollowTheClass() throws {
        var harness = QueueHarness(threads: 3)
        for (index, schedClass) in [SchedClass.hot, .normal, .cold].enumerated() {
            harness.set(ThreadID(index), to: schedClass)
            try harness.queue.beginRunning(ThreadID(index), now: harness.now, entities: &harness.entities)
            #expect(harness.queue.preemptionDeadline == harness.now + harness.queue.parameters.timeSlice(for: schedClass))
            try harness.run(for: 1, then: .blocked)
        }
        let slices = SchedulerParameters.standard.timeSlices
        #expect(slices.hot == 1 * ms && slices.normal == 4 * ms && slices.cold == 10 * ms)
    }

    @Test func sliceExpiryPreemptsOnlyWhenSomeoneWaits() throws {
        var harness = QueueHarness(threads: 2)
        harness.set(0, to: .normal)
        harness.set(1, to: .normal)
        try harness.enqueue(0)
        #expect(harness.queue.shouldPreempt(now: 0))  // idle CPU with work
        _ = harness.pick()
        #expect(!harness.queue.shouldPreempt(now: 100 * ms))  // alone: runs on
        try harness.enqueue(1)
        #expect(!harness.queue.shouldPreempt(now: 4 * ms - 1))
        #expect(harness.queue.shouldPreempt(now: 4 * ms))
        harness.now = 4 * ms
        #expect(try harness.queue.switchOut(now: harness.now, reason: .preempted, entities: &harness.entities) == 0)
        #expect(harness.pick() == 1)  // the preempted one went to the tail
        #expect(harness.queue.queued(.normal, entities: harness.entities) == [0])
    }

    @Test func aWakingHotThreadPreemptsNormalAndColdButNotHot() throws {
        for running in [SchedClass.hot, .normal, .cold] {
            var harness = QueueHarness(threads: 2)
            harness.set(0, to: running)
            harness.set(1, to: .hot)
            try harness.queue.beginRunning(0, now: 0, entities: &harness.entities)
            harness.now = 100 * us
            try harness.enqueue(1)
            #expect(harness.queue.shouldPreempt(now: harness.now) == (running != .hot))
        }
        // A waking Normal thread does not preempt a Cold one.
        var harness = QueueHarness(threads: 2)
        harness.set(0, to: .cold)
        harness.set(1, to: .normal)
        try harness.queue.beginRunning(0, now: 0, entities: &harness.entities)
        try harness.enqueue(1)
        #expect(!harness.queue.shouldPreempt(now: 1 * ms))
    }

    @Test func wakeupPreemptionWaitsForTheGranularity() throws {
        var parameters = SchedulerParameters.standard
        parameters.wakeupPreemptionGranularity = 500 * us
        var harness = QueueHarness(threads: 2, parameters: parameters)
        harness.set(0, to: .cold)
        harness.set(1, to: .hot)
        try harness.queue.beginRunning(0, now: 0, entities: &harness.entities)
        #expect(harness.queue.preemptionDeadline == 10 * ms)
        try harness.enqueue(1)
        #expect(harness.queue.preemptionDeadline == 500 * us)  // re-arm the timer here
        #expect(!harness.queue.shouldPreempt(now: 499 * us))
        #expect(harness.queue.shouldPreempt(now: 500 * us))
    }

    @Test func yieldKeepsTheBurstGoingAndQueuesAtTheTail() throws {
        var harness = QueueHarness(threads: 2)
        try harness.enqueue(0)
        try harness.enqueue(1)
        _ = harness.pick()
        try harness.run(for: 300 * us, then: .yielded)
        #expect(harness.entities[0].currentBurst == 300 * us)
        #expect(harness.entities[0].location == .queued(0))
        #expect(harness.queue.queued(.hot, entities: harness.entities) == [1, 0])
        #expect(harness.entities[0].runtime == 300 * us)
    }

    @Test func aThreadRepinnedWhileRunningIsLeftForTheKernelToMove() throws {
        var harness = QueueHarness(threads: 1)
        try harness.enqueue(0)
        _ = harness.pick()
        try harness.entities.pin(0, to: 3)
        try harness.run(for: 1 * ms, then: .preempted)
        #expect(harness.entities[0].location == .detached)
        #expect(harness.queue.count == 0)
    }
}

@Suite("Round-robin baseline")
struct RoundRobinQueueTests {
    @Test func oneFIFOAndOneSliceWhateverTheClass() throws {
        var harness = QueueHarness(queue: RoundRobinQueue(cpu: 0, timeSlice: 4 * ms), threads: 3)
        harness.entities[1].schedClass = .hot
        harness.entities[2].schedClass = .cold
        for index in 0..<3 { try harness.enqueue(ThreadID(index)) }
        #expect(harness.pick() == 0)
        #expect(harness.queue.preemptionDeadline == 4 * ms)
        // No wakeup preemption: only the slice's end.
        #expect(!harness.queue.shouldPreempt(now: 4 * ms - 1))
        #expect(harness.queue.shouldPreempt(now: 4 * ms))
        try harness.run(for: 4 * ms, then: .preempted)
        #expect(try harness.drain() == [1, 2, 0])
        #expect(harness.entities[1].schedClass == .hot)  // untouched by the baseline
    }
}

@Suite("Round-robin parameters")
struct RoundRobinParameterTests {
    @Test func everyBurstStaysNormal() {
        let classifier = SchedulerParameters.roundRobin.classifier
        for burst: Nanoseconds in [1, 100, 250_000, 5_000_000, 10_000_000] {  // measured bursts are never 0
            #expect(classifier.classify(burst, current: .normal) == .normal)
        }
        let slices = SchedulerParameters.roundRobin.timeSlices
        #expect(slices.hot == slices.normal && slices.normal == slices.cold)
    }
}
