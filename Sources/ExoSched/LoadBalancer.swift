/// Which NUMA node each CPU is on and how far apart nodes are, as ACPI's
/// SRAT and SLIT describe them (distance 10 = local; 20 = twice as slow).
///
/// Invariants: at least one CPU; nodes numbered densely from 0, the highest
/// used by some CPU; a `nodeCount²` distance matrix whose diagonal is 10 and
/// whose other entries are at least 10.
public struct CPUTopology: Equatable, Sendable {
    /// SLIT's distance from a node to itself.
    public static let localDistance: UInt32 = 10

    private let cpuNodes: [NUMANode]
    private let distances: [UInt8]
    /// Number of NUMA nodes.
    public let nodeCount: Int

    /// CPU i is on `cpuNodes[i]`; `nodeDistances[a * nodeCount + b]` is the
    /// SLIT distance from node a to node b. Throws `invalidTopology` if the
    /// invariants above do not hold.
    public init(cpuNodes: [NUMANode], nodeDistances: [UInt8]) throws(SchedError) {
        guard !cpuNodes.isEmpty else { throw .invalidTopology }
        var highest = 0
        for node in cpuNodes { highest = max(highest, node.index) }
        let nodeCount = highest + 1
        guard nodeDistances.count == nodeCount * nodeCount else { throw .invalidTopology }
        for a in 0..<nodeCount {
            for b in 0..<nodeCount {
                let distance = UInt32(nodeDistances[a * nodeCount + b])
                if a == b ? distance != Self.localDistance : distance < Self.localDistance {
                    throw .invalidTopology
                }
            }
        }
        self.cpuNodes = cpuNodes
        self.distances = nodeDistances
        self.nodeCount = nodeCount
    }

    /// `cpuCount` CPUs on one node.
    public static func uniform(cpuCount: Int) -> CPUTopology {
        precondition(cpuCount > 0, "a machine has at least one CPU")
        return try! CPUTopology(cpuNodes: Array(repeating: NUMANode(0), count: cpuCount),
                                nodeDistances: [UInt8(localDistance)])
    }

    /// `nodes` nodes of `cpusPerNode` CPUs each (CPUs numbered node by node),
    /// every pair of nodes `remoteDistance` apart.
    public static func symmetric(nodes: Int, cpusPerNode: Int, remoteDistance: UInt8 = 20) throws(SchedError) -> CPUTopology {
        guard nodes > 0, cpusPerNode > 0 else { throw .invalidTopology }
        var cpuNodes: [NUMANode] = []
        for node in 0..<nodes {
            for _ in 0..<cpusPerNode { cpuNodes.append(NUMANode(node)) }
        }
        var distances: [UInt8] = []
        for a in 0..<nodes {
            for b in 0..<nodes { distances.append(a == b ? UInt8(localDistance) : remoteDistance) }
        }
        return try CPUTopology(cpuNodes: cpuNodes, nodeDistances: distances)
    }

    public var cpuCount: Int { cpuNodes.count }

    public func node(of cpu: CPUID) -> NUMANode { cpuNodes[cpu.index] }

    /// SLIT distance between two nodes.
    public func distance(from a: NUMANode, to b: NUMANode) -> UInt32 {
        UInt32(distances[a.index * nodeCount + b.index])
    }

    /// SLIT distance between the nodes of two CPUs.
    public func distance(from a: CPUID, to b: CPUID) -> UInt32 {
        distance(from: node(of: a), to: node(of: b))
    }
}

/// The SMP policy: where a waking thread goes, where an idle CPU steals
/// from, and when a busy CPU should pull work from a busier one. It reads
/// per-CPU `CPULoad` snapshots and never touches a queue itself, except in
/// `steal`/`pull`, which the kernel calls with both queues locked (lock the
/// lower CPU number first).
///
/// No ping-pong, by construction:
/// - A pull moves a thread of weight w from A to B only when
///   `load(A) − load(B) ≥ 2w`, so afterwards `load(B) ≤ load(A)`: the
///   reverse move is never justified by the same figures, and the imbalance
///   shrinks with every move.
/// - A moved thread is not pulled again within `migrationCooldown`, which
///   covers decisions taken on stale snapshots.
/// - An idle CPU steals only a *waiting* thread (never the running one), so
///   the victim keeps running and two idle CPUs cannot trade a thread back
///   and forth.
/// - Across nodes it takes more: `remoteStealMinimum` waiting threads for a
///   steal, and an imbalance scaled by the SLIT distance for a pull.
public struct LoadBalancer: Sendable {
    public let topology: CPUTopology
    /// Smallest weighted-load difference between two CPUs of one node that
    /// makes `pullSource` suggest a move (across nodes: times distance/10).
    public var imbalanceThreshold: UInt32
    /// An idle CPU steals from another node only if the victim has at least
    /// this many movable waiting threads.
    public var remoteStealMinimum: UInt32
    /// A thread the balancer moved is not pulled again for this long.
    public var migrationCooldown: Nanoseconds

    public init(topology: CPUTopology, imbalanceThreshold: UInt32 = 2, remoteStealMinimum: UInt32 = 2,
                migrationCooldown: Nanoseconds = 20_000_000) {
        self.topology = topology
        self.imbalanceThreshold = imbalanceThreshold
        self.remoteStealMinimum = remoteStealMinimum
        self.migrationCooldown = migrationCooldown
    }

    /// A suggested move of one waiting thread.
    public struct Migration: Equatable, Sendable {
        public var source: CPUID
        public var target: CPUID
        /// The heaviest thread (by load weight) whose move still reduces the
        /// imbalance: half the load difference.
        public var maximumWeight: UInt32
    }

    /// The CPU a waking thread should be enqueued on.
    ///
    /// Its pinned CPU if pinned; else its last CPU if that is idle and on
    /// its home node (warm cache, local memory); else an idle CPU of its home
    /// node; else its last CPU (the cache may still be warm, and a Hot thread
    /// preempts there anyway); a never-run thread goes to the least-loaded
    /// CPU of its home node (of the machine, if the node has no CPUs).
    /// Precondition: `loads` has one entry per CPU.
    public func placement(forWaking entity: SchedEntity, loads: [CPULoad]) -> CPUID {
        precondition(loads.count == topology.cpuCount, "one load figure per CPU")
        if let pinned = entity.pinnedCPU { return pinned }
        let home = entity.homeNode
        if let last = entity.lastCPU, loads[last.index].isIdle, topology.node(of: last) == home { return last }
        var leastLoadedAtHome: CPUID?
        var leastLoaded = CPUID(0)
        for index in 0..<loads.count {
            let cpu = CPUID(index)
            if loads[index].weighted < loads[leastLoaded.index].weighted { leastLoaded = cpu }
            guard topology.node(of: cpu) == home else { continue }
            if loads[index].isIdle { return cpu }
            if leastLoadedAtHome.map({ loads[index].weighted < loads[$0.index].weighted }) ?? true {
                leastLoadedAtHome = cpu
            }
        }
        if let last = entity.lastCPU { return last }
        return leastLoadedAtHome ?? leastLoaded
    }

    /// The CPU an idle `thief` should steal a waiting thread from, if any:
    /// the nearest CPU with a movable waiting thread (across nodes, with at
    /// least `remoteStealMinimum`), the most loaded among equally near ones,
    /// the lowest-numbered among equals.
    public func stealSource(for thief: CPUID, loads: [CPULoad]) -> CPUID? {
        precondition(loads.count == topology.cpuCount, "one load figure per CPU")
        var best: CPUID?
        var bestDistance = UInt32.max
        var bestWeight: UInt32 = 0
        for index in 0..<loads.count where index != thief.index {
            let victim = CPUID(index)
            let load = loads[index]
            guard load.migratable > 0 else { continue }
            let distance = topology.distance(from: thief, to: victim)
            if distance > CPUTopology.localDistance, load.migratable < remoteStealMinimum { continue }
            if distance < bestDistance || (distance == bestDistance && load.weighted > bestWeight) {
                best = victim
                bestDistance = distance
                bestWeight = load.weighted
            }
        }
        return best
    }

    /// Periodic balancing, run by each CPU for itself: the CPU `target`
    /// should pull a thread from, if the imbalance is worth a move.
    ///
    /// Looks for the source with the largest distance-scaled surplus
    /// `(load(source) − load(target)) · 10 / distance`, among those with a
    /// movable waiting thread and a surplus of at least
    /// `max(2, imbalanceThreshold · distance / 10)` (2: the smallest
    /// difference a weight-1 move can reduce).
    public func pullSource(for target: CPUID, loads: [CPULoad]) -> Migration? {
        precondition(loads.count == topology.cpuCount, "one load figure per CPU")
        let targetLoad = loads[target.index].weighted
        var best: Migration?
        var bestScore: UInt64 = 0
        for index in 0..<loads.count where index != target.index {
            let source = CPUID(index)
            let load = loads[index]
            guard load.migratable > 0, load.weighted > targetLoad else { continue }
            let surplus = load.weighted - targetLoad
            let distance = topology.distance(from: source, to: target)
            let required = max(2, UInt64(imbalanceThreshold) * UInt64(distance) / UInt64(CPUTopology.localDistance))
            guard UInt64(surplus) >= required else { continue }
            let score = UInt64(surplus) * UInt64(CPUTopology.localDistance) / UInt64(distance)
            if score > bestScore {
                bestScore = score
                best = Migration(source: source, target: target, maximumWeight: surplus / 2)
            }
        }
        return best
    }

    /// Moves one waiting thread from `victim` to the idle `thief`'s queue
    /// (the thief then `pickNext`s it). Ignores the cooldown: an idle CPU
    /// next to a waiting thread is worse than any cache cost. Returns the
    /// thread moved, `nil` if the victim has none to give.
    /// Caller holds both queue locks.
    public func steal<Queue: SchedulingQueue, Table: SchedEntityTable>(
        from victim: inout Queue, to thief: inout Queue, now: Nanoseconds, entities: inout Table
    ) throws(SchedError) -> ThreadID? {
        try move(from: &victim, to: &thief, maximumWeight: .max, cooldown: 0, now: now, entities: &entities)
    }

    /// Carries out a `pullSource` suggestion: moves the preferred thread no
    /// heavier than `migration.maximumWeight` and outside its cooldown.
    /// Returns the thread moved, `nil` if none qualifies.
    /// Caller holds both queue locks.
    public func pull<Queue: SchedulingQueue, Table: SchedEntityTable>(
        _ migration: Migration, from source: inout Queue, to target: inout Queue, now: Nanoseconds,
        entities: inout Table
    ) throws(SchedError) -> ThreadID? {
        precondition(source.cpu == migration.source && target.cpu == migration.target, "queues do not match the migration")
        return try move(from: &source, to: &target, maximumWeight: migration.maximumWeight,
                        cooldown: migrationCooldown, now: now, entities: &entities)
    }

    private func move<Queue: SchedulingQueue, Table: SchedEntityTable>(
        from source: inout Queue, to target: inout Queue, maximumWeight: UInt32, cooldown: Nanoseconds,
        now: Nanoseconds, entities: inout Table
    ) throws(SchedError) -> ThreadID? {
        guard let thread = source.migrationCandidate(toNode: topology.node(of: target.cpu), now: now,
                                                     cooldown: cooldown, maximumWeight: maximumWeight,
                                                     entities: entities)
        else { return nil }
        let waitingSince = entities[thread].waitingSince
        try source.remove(thread, entities: &entities)
        entities[thread].lastMigration = now
        try target.enqueue(thread, waitingSince: waitingSince, entities: &entities)
        return thread
    }
}
