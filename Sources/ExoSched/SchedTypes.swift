import ExoKit

/// A duration, or a point on the kernel's monotonic clock, in nanoseconds.
///
/// Plain integers on purpose: the kernel has no SSE, so every scheduler
/// quantity (bursts, slices, predictions) is integer or fixed point.
public typealias Nanoseconds = UInt64

/// A thread as the scheduler knows it: an index into the caller's
/// `SchedEntityTable`.
///
/// `UInt32.max` is reserved (it ends the intrusive run-queue links), so at
/// most 2^32 - 1 threads exist.
public struct ThreadID: RawRepresentable, Hashable, Comparable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        precondition(rawValue != ThreadID.endOfList, "ThreadID UInt32.max is reserved")
        self.rawValue = rawValue
    }

    /// A raw value from a source that only ever holds valid threads (the
    /// per-CPU record of the running thread), without the check.
    @inline(__always)
    public init(trustedRawValue rawValue: UInt32) {
        assert(rawValue != ThreadID.endOfList, "ThreadID UInt32.max is reserved")
        self.rawValue = rawValue
    }

    /// The thread at `index` in the entity table.
    public init(_ index: Int) {
        precondition(index >= 0 && index < Int(ThreadID.endOfList), "thread index out of range")
        self.rawValue = UInt32(truncatingIfNeeded: index)
    }

    /// This thread's slot in the entity table.
    public var index: Int { Int(rawValue) }

    public static func < (lhs: ThreadID, rhs: ThreadID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The raw link value that means "no thread" in `SchedEntity.next/prev`.
    static let endOfList = UInt32.max
}

/// A logical CPU, numbered from 0 densely (the kernel maps APIC IDs to these).
public struct CPUID: RawRepresentable, Hashable, Comparable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ index: Int) {
        precondition(index >= 0 && index <= Int(UInt32.max), "CPU index out of range")
        self.rawValue = UInt32(truncatingIfNeeded: index)
    }
    /// This CPU's position in per-CPU arrays.
    public var index: Int { Int(rawValue) }
    public static func < (lhs: CPUID, rhs: CPUID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A NUMA node (an ACPI SRAT proximity domain, renumbered densely from 0).
public struct NUMANode: RawRepresentable, Hashable, Comparable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ index: Int) {
        precondition(index >= 0 && index <= Int(UInt32.max), "node index out of range")
        self.rawValue = UInt32(truncatingIfNeeded: index)
    }
    public var index: Int { Int(rawValue) }
    public static func < (lhs: NUMANode, rhs: NUMANode) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How a thread uses the CPU, as predicted from its recent bursts; decides
/// its run-queue, its time slice and whether it preempts on wakeup.
public enum SchedClass: UInt8, CaseIterable, Sendable {
    /// Short bursts (interactive, IPC-bound): served first, short slices,
    /// preempts Normal and Cold threads when it wakes.
    case hot = 0
    /// Everything between.
    case normal = 1
    /// Long bursts (CPU-bound): served last, long slices so that CPU-bound
    /// work switches less; aging guarantees it still runs.
    case cold = 2
}

/// One value per scheduling class (slices, weights, queues...), without an
/// array: fixed size, no heap, usable in a run queue that must not allocate.
public struct PerClass<Value> {
    public var hot: Value
    public var normal: Value
    public var cold: Value

    public init(hot: Value, normal: Value, cold: Value) {
        self.hot = hot
        self.normal = normal
        self.cold = cold
    }

    public init(repeating value: Value) {
        self.init(hot: value, normal: value, cold: value)
    }

    public subscript(schedClass: SchedClass) -> Value {
        get {
            switch schedClass {
            case .hot: hot
            case .normal: normal
            case .cold: cold
            }
        }
        set {
            switch schedClass {
            case .hot: hot = newValue
            case .normal: normal = newValue
            case .cold: cold = newValue
            }
        }
    }
}

extension PerClass: Equatable where Value: Equatable {}
extension PerClass: Sendable where Value: Sendable {}

/// Why the running thread leaves its CPU. Decides whether its CPU burst ends
/// (and so feeds the predictor) and whether it goes back on the run queue.
public enum SwitchOutReason: Sendable {
    /// Its slice ran out or a more urgent thread woke: still runnable, goes
    /// to the tail of its class queue; the burst continues.
    case preempted
    /// It gave up the CPU but is still runnable (`sched_yield`): like
    /// `preempted`. The burst deliberately continues: a thread spinning on
    /// yield still wants the CPU, and ending its burst would make it Hot,
    /// i.e. let it jump ahead of everyone each time it yields.
    case yielded
    /// It waits for something (I/O, IPC, futex, sleep): the burst ends and
    /// updates the prediction; the kernel enqueues it again when it wakes.
    case blocked
    /// It is gone: accounting only.
    case exited
}

/// Why a scheduler operation was refused: each case is a kernel bug or a bad
/// configuration, reported instead of corrupting the queues.
public enum SchedError: Error, Equatable, Sendable {
    /// Enqueueing a thread that is already on a run queue.
    case alreadyQueued(ThreadID)
    /// Enqueueing, or starting, a thread that is running on some CPU.
    case alreadyRunning(ThreadID)
    /// Removing a thread that is not on this run queue.
    case notQueued(ThreadID)
    /// Starting a thread on a CPU that is already running one.
    case cpuBusy(CPUID)
    /// Switching out on a CPU that runs no thread.
    case cpuIdle(CPUID)
    /// Putting a thread pinned to another CPU on this one's queue.
    case pinnedElsewhere(ThreadID)
    /// Changing a queued thread's affinity (remove it first).
    case queued(ThreadID)
    /// Thresholds, slices or bounds that contradict each other.
    case invalidParameters
    /// A CPU/NUMA description that is inconsistent.
    case invalidTopology

    /// The Linux errno a system call reports for this error.
    public var errno: Errno {
        switch self {
        case .alreadyQueued, .alreadyRunning, .cpuBusy: .busy
        case .notQueued, .cpuIdle, .pinnedElsewhere, .queued, .invalidParameters, .invalidTopology: .invalidArgument
        }
    }
}

/// `later - earlier`, or 0 if the clocks disagree (a timestamp taken on
/// another CPU may be slightly ahead): never traps on underflow.
@inline(__always)
func elapsed(from earlier: Nanoseconds, to later: Nanoseconds) -> Nanoseconds {
    later >= earlier ? later - earlier : 0
}
