/// Summary statistics for benchmark samples.
public enum Statistics {
    /// The median of `samples` (the lower middle element for an even count),
    /// or `nil` when there are none. The input is untouched.
    ///
    /// Benchmarks report medians rather than means because a single
    /// interrupt or cache miss in one iteration would drag a mean upward.
    public static func median(_ samples: [UInt64]) -> UInt64? {
        if samples.isEmpty { return nil }
        let sorted = samples.sorted()
        return sorted[(sorted.count - 1) / 2]
    }
}
