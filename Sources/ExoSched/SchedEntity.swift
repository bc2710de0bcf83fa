/// The scheduler's state for one thread: its class and burst history, where
/// it is (queued, running, neither), and its run-queue links.
///
/// The kernel keeps one per thread in a `SchedEntityTable` indexed by
/// `ThreadID`; run queues link entities through `next`/`prev` (intrusive
/// lists), so enqueueing never allocates and removal from the middle is O(1).
///
/// Only the run queues change the scheduling fields (class, burst, links,
/// location); the kernel sets `homeNode` freely and the pinning through
/// `SchedEntityTable.pin(_:to:)`, which refuses while the thread is queued
/// (the queue counts pinned threads).
///
/// Locking (kernel side): a queued entity's links and fields belong to the
/// run queue it is on and change only under that queue's lock; a running
/// entity's to its CPU; a detached one to whoever detached it.
public struct SchedEntity: Sendable {
    /// Where the thread is: detached, queued on a CPU or running on one.
    ///
    /// One 32-bit word, `cpu << 2 | kind`, not an enum with a payload
    /// (which Swift lays out as the CPU plus a tag byte): the switch path
    /// tests and sets it with one instruction each. CPUs are numbered
    /// below 2^30 (`RunQueue.init` checks its own).
    public struct Location: Equatable, Sendable {
        public enum Kind: UInt32, Sendable {
            /// Not runnable, or runnable and handed around by the kernel
            /// (being created, woken, migrated).
            case detached
            /// Waiting on a CPU's run queue.
            case queued
            /// Running on a CPU.
            case running
        }

        private let raw: UInt32

        public static let detached = Location(raw: 0)
        /// Waiting on `cpu`'s run queue.
        public static func queued(_ cpu: CPUID) -> Location { Location(kind: .queued, cpu: cpu) }
        /// Running on `cpu`.
        public static func running(_ cpu: CPUID) -> Location { Location(kind: .running, cpu: cpu) }

        private init(raw: UInt32) { self.raw = raw }
        private init(kind: Kind, cpu: CPUID) { raw = cpu.rawValue << 2 | kind.rawValue }
        /// The largest CPU number a location can hold.
        public static let maximumCPU = CPUID(rawValue: (1 << 30) - 1)

        @inline(__always)
        public var kind: Kind { Kind(rawValue: raw & 3).unsafelyUnwrapped }
        /// The CPU it is queued or running on (meaningless when detached).
        @inline(__always)
        public var cpu: CPUID { CPUID(rawValue: raw >> 2) }
    }

    /// The class that decides its queue and slice; updated when it is
    /// switched out.
    public internal(set) var schedClass: SchedClass
    /// Predicts its next burst from past ones.
    public internal(set) var predictor: BurstPredictor
    /// CPU time since it last blocked (the burst in progress).
    public internal(set) var currentBurst: Nanoseconds = 0
    /// When it started waiting on its queue (meaningful while queued).
    /// Nondecreasing from head to tail of each queue.
    public internal(set) var waitingSince: Nanoseconds = 0
    /// Total CPU time it has had (from dispatch to switch-out, so it
    /// includes the kernel's switch cost).
    public internal(set) var runtime: Nanoseconds = 0
    /// The CPU it last ran on (cache affinity for wakeup placement).
    public internal(set) var lastCPU: CPUID? {
        get { lastCPUNumber == Self.noCPU ? nil : CPUID(rawValue: lastCPUNumber) }
        set { lastCPUNumber = newValue?.rawValue ?? Self.noCPU }
    }
    /// `lastCPU` without an optional's tag byte (one store on the switch
    /// path); `noCPU` for none.
    var lastCPUNumber = SchedEntity.noCPU
    static let noCPU = UInt32.max
    /// The CPU it may exclusively run on, if any (per-CPU kernel threads,
    /// `sched_setaffinity` to one CPU). Never migrated, never stolen. Set
    /// with `SchedEntityTable.pin(_:to:)`.
    public internal(set) var pinnedCPU: CPUID?
    /// The node whose memory it mostly uses; the balancer keeps it there
    /// when it can.
    public var homeNode: NUMANode
    /// When the balancer last moved it (`nil`: never), for its cooldown.
    public internal(set) var lastMigration: Nanoseconds?
    public internal(set) var location: Location = .detached
    /// Bursts were recorded (by `RunQueue.tryHandOff`) since `schedClass` was
    /// last derived from the predictor; `enqueue` re-derives it.
    public internal(set) var classIsStale = false

    /// Neighbours on its run queue (`ThreadID.endOfList` at the ends).
    var next: UInt32 = ThreadID.endOfList
    var prev: UInt32 = ThreadID.endOfList

    /// A new thread predicting `parameters.initialPrediction`, in the class
    /// that prediction gives (Hot with the standard parameters).
    public init(parameters: SchedulerParameters, homeNode: NUMANode = NUMANode(0), pinnedCPU: CPUID? = nil) {
        self.schedClass = parameters.classifier.classify(parameters.initialPrediction, current: .normal)
        self.predictor = BurstPredictor(initialPrediction: parameters.initialPrediction)
        self.homeNode = homeNode
        self.pinnedCPU = pinnedCPU
    }

    /// The entity of a thread forked from this one: the same burst history
    /// and class (a child of an interactive shell is presumed interactive,
    /// and does not jump ahead of its parent the way a brand-new Hot
    /// thread would), the same home node and pinning; nothing else.
    public func forked() -> SchedEntity {
        var child = self
        child.currentBurst = 0
        child.waitingSince = 0
        child.runtime = 0
        child.lastMigration = nil
        child.location = .detached
        child.next = ThreadID.endOfList
        child.prev = ThreadID.endOfList
        return child
    }

    /// Is it pinned, and to somewhere other than `cpu`?
    public func isPinned(elsewhereThan cpu: CPUID) -> Bool {
        if let pinned = pinnedCPU { return pinned != cpu }
        return false
    }

}

/// The caller's storage of scheduling entities, one per thread.
///
/// The kernel implements it over its thread table (e.g. a struct wrapping a
/// pointer, with a nonmutating setter, so per-CPU queues can share it under
/// their own locks); host code uses `SchedEntityArray`. Run-queue methods
/// take it `inout` as a generic parameter, so calls are specialised and
/// never go through an existential.
public protocol SchedEntityTable {
    /// The entity of `thread`. Precondition: `thread` is in the table.
    subscript(thread: ThreadID) -> SchedEntity { get set }
}

extension SchedEntityTable {
    /// Pins `thread` to `cpu` (`nil`: lets it run anywhere).
    ///
    /// Throws `queued` if it is on a run queue (whose count of pinned
    /// threads would go stale): remove it, pin it, enqueue it on the right
    /// CPU. A running thread may be re-pinned; the kernel then preempts it if
    /// it is on the wrong CPU.
    public mutating func pin(_ thread: ThreadID, to cpu: CPUID?) throws(SchedError) {
        if self[thread].location.kind == .queued { throw .queued(thread) }
        self[thread].pinnedCPU = cpu
    }
}

/// A fixed-capacity entity table in a Swift Array, allocated once.
public struct SchedEntityArray: SchedEntityTable, Sendable {
    private var storage: [SchedEntity]

    /// `capacity` new entities (threads 0..<capacity), built with `parameters`.
    public init(capacity: Int, parameters: SchedulerParameters) {
        storage = Array(repeating: SchedEntity(parameters: parameters), count: capacity)
    }

    /// The number of threads it holds; never changes.
    public var capacity: Int { storage.count }

    public subscript(thread: ThreadID) -> SchedEntity {
        get { storage[thread.index] }
        _modify { yield &storage[thread.index] }
        set { storage[thread.index] = newValue }
    }
}

/// A FIFO of threads linked through their entities' `next`/`prev`.
///
/// Invariants: `count` is the number of threads reachable from `head`;
/// `head` and `tail` are both `endOfList` exactly when `count == 0`;
/// links are consistent both ways. Every operation is O(1) and touches at
/// most three entities.
struct ThreadList: Equatable, Sendable {
    private(set) var head = ThreadID.endOfList
    private(set) var tail = ThreadID.endOfList
    private(set) var count: UInt32 = 0

    var isEmpty: Bool { count == 0 }
    var first: ThreadID? { head == ThreadID.endOfList ? nil : ThreadID(rawValue: head) }
    var last: ThreadID? { tail == ThreadID.endOfList ? nil : ThreadID(rawValue: tail) }

    /// Links `thread` at the tail. Precondition: it is on no list.
    mutating func append<Table: SchedEntityTable>(_ thread: ThreadID, entities: inout Table) {
        entities[thread].prev = tail
        entities[thread].next = ThreadID.endOfList
        if tail == ThreadID.endOfList {
            head = thread.rawValue
        } else {
            entities[ThreadID(rawValue: tail)].next = thread.rawValue
        }
        tail = thread.rawValue
        count += 1
    }

    /// Unlinks `thread`. Precondition: it is on this list.
    mutating func remove<Table: SchedEntityTable>(_ thread: ThreadID, entities: inout Table) {
        let next = entities[thread].next
        let prev = entities[thread].prev
        if prev == ThreadID.endOfList { head = next } else { entities[ThreadID(rawValue: prev)].next = next }
        if next == ThreadID.endOfList { tail = prev } else { entities[ThreadID(rawValue: next)].prev = prev }
        entities[thread].next = ThreadID.endOfList
        entities[thread].prev = ThreadID.endOfList
        count -= 1
    }

    /// Unlinks and returns the head, if any.
    mutating func popFirst<Table: SchedEntityTable>(entities: inout Table) -> ThreadID? {
        guard let thread = first else { return nil }
        remove(thread, entities: &entities)
        return thread
    }

    /// The thread after `thread` on this list.
    func successor<Table: SchedEntityTable>(of thread: ThreadID, entities: Table) -> ThreadID? {
        let next = entities[thread].next
        return next == ThreadID.endOfList ? nil : ThreadID(rawValue: next)
    }
}
