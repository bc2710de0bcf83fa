/// Every tunable of the scheduling policy, in one value the kernel can build
/// from its command line and check once (`validate()`).
///
/// Defaults (`standard`) and why:
/// - Classes: Hot below 500 µs predicted burst, Cold above 5 ms (see
///   `BurstClassifier.standard` for the hysteresis band).
/// - Slices Hot 1 ms, Normal 4 ms, Cold 10 ms. Hot threads rarely use a whole
///   slice; when one does, it is not Hot any more, and the short slice caps
///   how long a misclassified thread holds the head of the line. Cold threads
///   run less often but longer: fewer switches for CPU-bound work.
/// - Starvation bounds Normal 10 ms, Cold 20 ms: a class that has had a
///   thread waiting and none running for that long is served next,
///   whatever else is queued (see `RunQueue.pickNext`).
/// - A new thread starts Hot, predicting 250 µs (as a multilevel feedback
///   queue places new jobs at the top): it has no history, and an interactive
///   thread classed Normal would wait behind Cold slices until it had proved
///   itself (in the simulator that cost new interactive threads 10-15 ms per
///   wakeup for their first second). A CPU hog pays for the optimism with one
///   1 ms Hot slice: the ongoing-burst rule then makes it Normal, and Cold
///   after 5 ms of CPU.
/// - Burst samples are capped at 10 ms (2 × coldEnter): enough to push a
///   new thread past the Cold threshold in three samples, small enough that a
///   thread that ran for seconds and turns interactive leaves Cold after four
///   short bursts instead of dozens.
public struct SchedulerParameters: Equatable, Sendable {
    public var classifier: BurstClassifier
    /// The prediction a new thread starts with; its class is what this
    /// prediction classifies as from Normal.
    public var initialPrediction: Nanoseconds
    /// Bursts longer than this are recorded as this.
    public var burstSampleCap: Nanoseconds
    /// How long a thread of each class runs before a waiting thread may take
    /// the CPU.
    public var timeSlices: PerClass<Nanoseconds>
    /// How long the Normal (Cold) class may have waiting threads and none
    /// running before its oldest thread is served ahead of the other classes.
    public var normalStarvationBound: Nanoseconds
    public var coldStarvationBound: Nanoseconds
    /// A waking Hot thread preempts a Normal/Cold one only after that one has
    /// run this long in its slice (0: at once).
    public var wakeupPreemptionGranularity: Nanoseconds
    /// What one thread of each class adds to its CPU's load figure: roughly
    /// its share of CPU demand, so the balancer spreads CPU-bound threads and
    /// does not chase mostly-sleeping interactive ones.
    public var loadWeights: PerClass<UInt32>

    public init(classifier: BurstClassifier = .standard,
                initialPrediction: Nanoseconds = 250_000,
                burstSampleCap: Nanoseconds = 10_000_000,
                timeSlices: PerClass<Nanoseconds> = PerClass(hot: 1_000_000, normal: 4_000_000, cold: 10_000_000),
                normalStarvationBound: Nanoseconds = 10_000_000,
                coldStarvationBound: Nanoseconds = 20_000_000,
                wakeupPreemptionGranularity: Nanoseconds = 0,
                loadWeights: PerClass<UInt32> = PerClass(hot: 1, normal: 2, cold: 4)) {
        self.classifier = classifier
        self.initialPrediction = initialPrediction
        self.burstSampleCap = burstSampleCap
        self.timeSlices = timeSlices
        self.normalStarvationBound = normalStarvationBound
        self.coldStarvationBound = coldStarvationBound
        self.wakeupPreemptionGranularity = wakeupPreemptionGranularity
        self.loadWeights = loadWeights
    }

    /// The defaults described above.
    public static let standard = SchedulerParameters()

    /// The baseline the EMA classes are measured against, run by the same
    /// `RunQueue`: every thread is Normal forever (no burst can be below 1 ns
    /// or above 2^40 ns), so there is one FIFO with one 4 ms slice, no
    /// wakeup preemption and no aging: plain round robin. The kernel
    /// selects it with `exo.sched=rr`.
    public static let roundRobin = SchedulerParameters(
        classifier: try! BurstClassifier(hotEnter: 1, hotExit: 1, coldExit: BurstPredictor.maximumSample,
                                         coldEnter: BurstPredictor.maximumSample),
        timeSlices: PerClass(hot: 4_000_000, normal: 4_000_000, cold: 4_000_000))

    /// Throws `invalidParameters` unless every slice and bound is positive,
    /// the sample cap is above the Cold threshold (or no burst could ever
    /// make a thread Cold through its history) and no load weight is zero.
    public func validate() throws(SchedError) {
        guard timeSlices.hot > 0, timeSlices.normal > 0, timeSlices.cold > 0,
              normalStarvationBound > 0, coldStarvationBound > 0,
              burstSampleCap > classifier.coldEnter, burstSampleCap <= BurstPredictor.maximumSample,
              loadWeights.hot > 0, loadWeights.normal > 0, loadWeights.cold > 0
        else { throw .invalidParameters }
    }

    /// The slice a thread of `schedClass` gets each time it is dispatched.
    public func timeSlice(for schedClass: SchedClass) -> Nanoseconds {
        timeSlices[schedClass]
    }
}
