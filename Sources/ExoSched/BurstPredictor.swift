/// Predicts a thread's next CPU burst from the bursts it has had: an
/// exponential moving average with α = 1/4,
///
///     predicted ← predicted + (burst − predicted) / 4
///
/// A *burst* is the CPU time a thread uses between two waits (from waking to
/// blocking), summed over any preemptions in between; `RunQueue` measures it.
///
/// Fixed point, no floating point (the kernel runs without SSE): the state is
/// the prediction in units of 1/256 ns. The step is rounded away from zero, so
/// every sample with a different value moves the prediction by at least one
/// unit, and a constant burst is reached exactly instead of stalling up to
/// 3 units short (what plain `(b - p) / 4` in integer nanoseconds does).
///
/// Invariant: `0 ≤ fixedPoint ≤ maximumSample · 256`; the step never
/// overshoots the sample, so the prediction always lies between the previous
/// prediction and the sample.
public struct BurstPredictor: Equatable, Sendable {
    /// Fractional bits of `fixedPoint`.
    public static let fractionBits: UInt64 = 8
    /// Samples are clamped to 2^40 ns (about 18 minutes), far above any
    /// meaningful burst, so the fixed-point value cannot overflow.
    public static let maximumSample: Nanoseconds = 1 << 40

    /// The prediction in 1/256 ns.
    public private(set) var fixedPoint: UInt64

    /// A predictor whose first guess is `initialPrediction`.
    public init(initialPrediction: Nanoseconds) {
        fixedPoint = min(initialPrediction, Self.maximumSample) << Self.fractionBits
    }

    /// The predicted next burst, rounded down to whole nanoseconds.
    public var predicted: Nanoseconds { fixedPoint >> Self.fractionBits }

    /// Folds one measured burst into the prediction.
    @inline(__always)
    public mutating func record(burst: Nanoseconds) {
        record(sampleAtMostMaximum: min(burst, Self.maximumSample))
    }

    /// `record` for a sample the caller already clamped to at most
    /// `maximumSample` (RunQueue's cap, which `SchedulerParameters.validate`
    /// keeps below it): the switch path clamps once, not twice.
    /// Wrapping arithmetic is exact here: both values are below 2^48.
    @inline(__always)
    mutating func record(sampleAtMostMaximum sample: Nanoseconds) {
        let target = sample << Self.fractionBits
        if target > fixedPoint {
            fixedPoint &+= (target &- fixedPoint &+ 3) >> 2
        } else {
            fixedPoint &-= (fixedPoint &- target &+ 3) >> 2
        }
    }
}

/// Turns a burst estimate into a class, with hysteresis so that a thread
/// whose bursts sit near a threshold does not flap between classes (each
/// flap moves it between queues and changes its slice).
///
/// Entering a class needs the estimate beyond its *enter* threshold; leaving
/// it needs the estimate back beyond its *exit* threshold:
///
///     Hot    estimate < hotEnter        stays Hot while < hotExit
///     Cold   estimate > coldEnter       stays Cold while > coldExit
///     Normal otherwise
///
/// Invariant: `0 < hotEnter ≤ hotExit ≤ coldExit ≤ coldEnter`, so the two
/// bands never overlap and every estimate has exactly one class for each
/// current class.
public struct BurstClassifier: Equatable, Sendable {
    public let hotEnter: Nanoseconds
    public let hotExit: Nanoseconds
    public let coldExit: Nanoseconds
    public let coldEnter: Nanoseconds

    /// Explicit thresholds; throws `invalidParameters` unless
    /// `0 < hotEnter ≤ hotExit ≤ coldExit ≤ coldEnter`.
    public init(hotEnter: Nanoseconds, hotExit: Nanoseconds, coldExit: Nanoseconds, coldEnter: Nanoseconds) throws(SchedError) {
        guard hotEnter > 0, hotEnter <= hotExit, hotExit <= coldExit, coldExit <= coldEnter else {
            throw .invalidParameters
        }
        self.init(checked: hotEnter, hotExit: hotExit, coldExit: coldExit, coldEnter: coldEnter)
    }

    /// Thresholds already known to satisfy the invariant.
    private init(checked hotEnter: Nanoseconds, hotExit: Nanoseconds, coldExit: Nanoseconds, coldEnter: Nanoseconds) {
        self.hotEnter = hotEnter
        self.hotExit = hotExit
        self.coldExit = coldExit
        self.coldEnter = coldEnter
    }

    /// Hot below 500 µs (leaves Hot above 750 µs), Cold above 5 ms (leaves
    /// Cold below 3.5 ms).
    public static let standard = BurstClassifier(
        checked: 500_000, hotExit: 750_000, coldExit: 3_500_000, coldEnter: 5_000_000)

    /// The class for a thread of class `current` whose next burst is
    /// estimated at `estimate`.
    @inline(__always)
    public func classify(_ estimate: Nanoseconds, current: SchedClass) -> SchedClass {
        switch current {
        case .hot where estimate < hotExit: return .hot
        case .cold where estimate > coldExit: return .cold
        default: break
        }
        if estimate < hotEnter { return .hot }
        if estimate > coldEnter { return .cold }
        return .normal
    }
}
