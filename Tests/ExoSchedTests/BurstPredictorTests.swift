import Testing
@testable import ExoSched

@Suite("Burst predictor (EMA, α = 1/4, fixed point)")
struct BurstPredictorTests {
    @Test func stepResponseMatchesAlphaOneQuarterExactly() {
        // From 0 toward 1000 ns: 250, 437.5, 578.125, 683.59375, 762.6953125
        // (1000 · (1 − 0.75^k)), exact in 1/256 ns for the first five steps.
        var predictor = BurstPredictor(initialPrediction: 0)
        var fixed: [UInt64] = []
        for _ in 0..<5 {
            predictor.record(burst: 1000)
            fixed.append(predictor.fixedPoint)
        }
        #expect(fixed == [64_000, 112_000, 148_000, 175_000, 195_250])
        #expect(predictor.predicted == 762)
    }

    @Test func stepDownIsTheMirrorImage() {
        var predictor = BurstPredictor(initialPrediction: 1000)
        predictor.record(burst: 0)
        #expect(predictor.fixedPoint == 192_000)  // 750 ns
        predictor.record(burst: 0)
        #expect(predictor.fixedPoint == 144_000)  // 562.5 ns
    }

    @Test func convergesExactlyToAConstantBurst() {
        for (start, burst) in [(0, 2_000_000), (10 * ms, 150 * us), (1, 1), (5 * ms, 5 * ms + 1)] as [(Nanoseconds, Nanoseconds)] {
            var predictor = BurstPredictor(initialPrediction: start)
            var steps = 0
            while predictor.fixedPoint != burst << BurstPredictor.fractionBits {
                predictor.record(burst: burst)
                steps += 1
                #expect(steps < 200, "no convergence from \(start) to \(burst)")
                if steps >= 200 { break }
            }
            #expect(predictor.predicted == burst)
        }
    }

    @Test func smallDifferencesStillMoveThePrediction() {
        // Integer-nanosecond EMA would stall at 1000: (1003 − 1000) / 4 == 0.
        var predictor = BurstPredictor(initialPrediction: 1000)
        var previous = predictor.fixedPoint
        for _ in 0..<40 {
            predictor.record(burst: 1003)
            #expect(predictor.fixedPoint > previous || predictor.predicted == 1003)
            previous = predictor.fixedPoint
        }
        #expect(predictor.predicted == 1003)
    }

    @Test func neverOvershootsTheSample() {
        var random = SimulationRandom(seed: 7)
        var predictor = BurstPredictor(initialPrediction: 3 * ms)
        for _ in 0..<1000 {
            let before = predictor.fixedPoint
            let sample = random.next(in: 0...(20 * ms))
            predictor.record(burst: sample)
            let target = sample << BurstPredictor.fractionBits
            #expect(predictor.fixedPoint >= min(before, target) && predictor.fixedPoint <= max(before, target))
        }
    }

    @Test func hugeSamplesAreClampedWithoutOverflow() {
        var predictor = BurstPredictor(initialPrediction: .max)
        #expect(predictor.predicted == BurstPredictor.maximumSample)
        predictor.record(burst: .max)
        #expect(predictor.predicted == BurstPredictor.maximumSample)
    }
}

@Suite("Classification with hysteresis")
struct ClassifierTests {
    let classifier = BurstClassifier.standard

    @Test func fromNormalTheEnterThresholdsDecide() {
        #expect(classifier.classify(499 * us, current: .normal) == .hot)
        #expect(classifier.classify(500 * us, current: .normal) == .normal)
        #expect(classifier.classify(5 * ms, current: .normal) == .normal)
        #expect(classifier.classify(5 * ms + 1, current: .normal) == .cold)
    }

    @Test func hysteresisKeepsAClassInsideItsBand() {
        #expect(classifier.classify(700 * us, current: .hot) == .hot)
        #expect(classifier.classify(750 * us, current: .hot) == .normal)
        #expect(classifier.classify(6 * ms, current: .hot) == .cold)
        #expect(classifier.classify(3600 * us, current: .cold) == .cold)
        #expect(classifier.classify(3500 * us, current: .cold) == .normal)
        #expect(classifier.classify(100 * us, current: .cold) == .hot)
    }

    @Test func contradictoryThresholdsAreRefused() {
        #expect(throws: SchedError.invalidParameters) {
            try BurstClassifier(hotEnter: 2 * ms, hotExit: 1 * ms, coldExit: 3 * ms, coldEnter: 5 * ms)
        }
        #expect(throws: SchedError.invalidParameters) {
            try BurstClassifier(hotEnter: 1 * ms, hotExit: 4 * ms, coldExit: 3 * ms, coldEnter: 5 * ms)
        }
        #expect(throws: SchedError.invalidParameters) {
            try BurstClassifier(hotEnter: 0, hotExit: 1, coldExit: 2, coldEnter: 3)
        }
        var parameters = SchedulerParameters.standard
        #expect(throws: Never.self) { try parameters.validate() }
        parameters.burstSampleCap = 4 * ms  // below coldEnter: history alone could never make a thread Cold
        #expect(throws: SchedError.invalidParameters) { try parameters.validate() }
    }
}

@Suite("Classes from burst traces")
struct ClassTraceTests {
    @Test func aCPUBoundThreadThatBlocksBecomesColdWithinFourBursts() throws {
        var harness = QueueHarness(threads: 1)
        // 8 ms bursts separated by I/O: from the new thread's 250 µs the
        // prediction goes 2.19 → 3.64 → 4.73 → 5.55 ms, past 5 ms at the
        // fourth. (Preempted on the way, it is Cold sooner: next test.)
        var classes: [SchedClass] = []
        for _ in 0..<6 { classes.append(try harness.burst(0, 8 * ms)) }
        #expect(classes == [.normal, .normal, .normal, .cold, .cold, .cold])
        #expect(harness.entities[0].predictor.predicted > 5 * ms)
    }

    @Test func aHogThatNeverBlocksBecomesColdFromItsOngoingBurst() throws {
        var harness = QueueHarness(threads: 2)
        try harness.enqueue(0)
        try harness.enqueue(1)
        var hogClasses: [SchedClass] = []
        // Two threads that never block take turns.
        for _ in 0..<10 {
            let picked = harness.pick()
            _ = try #require(picked)
            let slice = harness.queue.preemptionDeadline! - harness.now
            let ran = try harness.run(for: slice, then: .preempted)
            if ran == 0 { hogClasses.append(harness.entities[0].schedClass) }
        }
        // Hot (1 ms slice): 1 ms of burst makes it Normal; one 4 ms Normal
        // slice later, 5 ms, still Normal (Cold is *above* 5 ms); 9 ms: Cold.
        #expect(hogClasses == [.normal, .normal, .cold, .cold, .cold])
        #expect(harness.entities[0].currentBurst >= 5 * ms)
    }

    @Test func aNewThreadStartsHotAndKeepsItOnlyWithShortBursts() throws {
        var harness = QueueHarness(threads: 2)
        #expect(harness.entities[0].schedClass == .hot)
        var interactive: [SchedClass] = []
        var medium: [SchedClass] = []
        for _ in 0..<5 {
            interactive.append(try harness.burst(0, 100 * us))
            medium.append(try harness.burst(1, 2 * ms))
        }
        #expect(interactive == [.hot, .hot, .hot, .hot, .hot])
        // 250 µs → 687 µs (inside the Hot band) → 1.02 ms: Normal.
        #expect(medium == [.hot, .normal, .normal, .normal, .normal])
    }

    @Test func aNormalThreadTurningInteractiveBecomesHotWithinThreeBursts() throws {
        var harness = QueueHarness(threads: 1)
        for _ in 0..<10 { _ = try harness.burst(0, 1 * ms) }
        #expect(harness.entities[0].schedClass == .normal)
        var classes: [SchedClass] = []
        for _ in 0..<4 { classes.append(try harness.burst(0, 100 * us)) }
        // ~1 ms → 775 → 606 → 480 µs.
        #expect(classes == [.normal, .normal, .hot, .hot])
    }

    @Test func aThreadThatChangesBehaviourIsReclassified() throws {
        var harness = QueueHarness(threads: 1)
        for _ in 0..<10 { _ = try harness.burst(0, 50 * ms) }
        #expect(harness.entities[0].schedClass == .cold)
        // Turns interactive: leaves Cold after 4 bursts (the 10 ms sample cap
        // bounds how long a long history lingers), Hot by the 11th.
        var classes: [SchedClass] = []
        for _ in 0..<12 { classes.append(try harness.burst(0, 100 * us)) }
        let firstNotCold = try #require(classes.firstIndex { $0 != .cold })
        let firstHot = try #require(classes.firstIndex { $0 == .hot })
        #expect(firstNotCold + 1 <= 4)
        #expect(firstHot + 1 <= 11)
        // And back: one 1 ms Hot slice used up makes it Normal, more than
        // 5 ms of CPU without blocking Cold.
        #expect(try harness.burst(0, 1 * ms, then: .preempted) == .normal)
        #expect(try harness.burst(0, 4 * ms + 1, then: .preempted) == .cold)
    }

    @Test func burstsJitteringAroundAThresholdDoNotFlap() throws {
        var harness = QueueHarness(threads: 1)
        var random = SimulationRandom(seed: 42)
        var changes = 0
        var previous = harness.entities[0].schedClass
        // Bursts uniformly 350–650 µs: mean 500 µs, right on the Hot threshold.
        for _ in 0..<500 {
            let schedClass = try harness.burst(0, random.next(in: (350 * us)...(650 * us)))
            if schedClass != previous { changes += 1 }
            previous = schedClass
        }
        #expect(changes <= 2)
    }
}
