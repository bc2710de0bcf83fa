import Testing
@testable import ExoSched

/// Two nodes of two CPUs: CPUs 0, 1 on node 0; CPUs 2, 3 on node 1.
private let twoNodes = try! CPUTopology.symmetric(nodes: 2, cpusPerNode: 2)

private func load(_ weighted: UInt32, queued: UInt32 = 0, migratable: UInt32? = nil, running: Bool = true) -> CPULoad {
    CPULoad(weighted: weighted, queued: queued, migratable: migratable ?? queued, isRunning: running)
}

/// Several CPUs' queues over one entity table.
private struct Machine {
    var queues: [RunQueue]
    var entities: SchedEntityArray
    var now: Nanoseconds = 0

    init(cpus: Int, threads: Int) {
        queues = (0..<cpus).map { RunQueue(cpu: CPUID($0)) }
        entities = SchedEntityArray(capacity: threads, parameters: .standard)
    }

    var loads: [CPULoad] { queues.map(\.load) }

    mutating func enqueue(_ thread: ThreadID, on cpu: Int, as schedClass: SchedClass, home: Int = 0) throws {
        entities[thread].schedClass = schedClass
        entities[thread].homeNode = NUMANode(home)
        try queues[cpu].enqueue(thread, now: now, entities: &entities)
    }

    /// Moves a thread from `source` to `target` with the balancer; the moved thread.
    mutating func move(_ balancer: LoadBalancer, from source: Int, to target: Int,
                       migration: LoadBalancer.Migration? = nil) throws -> ThreadID? {
        var from = queues[source]
        var to = queues[target]
        defer {
            queues[source] = from
            queues[target] = to
        }
        if let migration {
            return try balancer.pull(migration, from: &from, to: &to, now: now, entities: &entities)
        }
        return try balancer.steal(from: &from, to: &to, now: now, entities: &entities)
    }
}

@Suite("Topology")
struct TopologyTests {
    @Test func symmetricTopologyHasNodesAndDistances() {
        #expect(twoNodes.cpuCount == 4 && twoNodes.nodeCount == 2)
        #expect(twoNodes.node(of: 1) == NUMANode(0) && twoNodes.node(of: 2) == NUMANode(1))
        #expect(twoNodes.distance(from: 0, to: 1) == 10)
        #expect(twoNodes.distance(from: 1, to: 3) == 20)
        #expect(CPUTopology.uniform(cpuCount: 3).distance(from: 0, to: 2) == 10)
    }

    @Test func inconsistentTopologiesAreRefused() {
        let nodes = [NUMANode(0), NUMANode(1)]
        #expect(throws: SchedError.invalidTopology) { try CPUTopology(cpuNodes: [], nodeDistances: [10]) }
        #expect(throws: SchedError.invalidTopology) { try CPUTopology(cpuNodes: nodes, nodeDistances: [10, 20, 20]) }
        #expect(throws: SchedError.invalidTopology) { try CPUTopology(cpuNodes: nodes, nodeDistances: [10, 20, 20, 11]) }
        #expect(throws: SchedError.invalidTopology) { try CPUTopology(cpuNodes: nodes, nodeDistances: [10, 9, 9, 10]) }
        #expect(throws: Never.self) { try CPUTopology(cpuNodes: nodes, nodeDistances: [10, 21, 21, 10]) }
    }
}

@Suite("Load balancer")
struct LoadBalancerTests {
    let balancer = LoadBalancer(topology: twoNodes)

    @Test func anIdleCPUStealsFromItsOwnNodeFirst() {
        // CPU 1 (same node) has one waiting thread; CPU 2 (other node) many.
        var loads = [CPULoad.idle, load(3, queued: 1), load(20, queued: 5), load(4)]
        #expect(balancer.stealSource(for: 0, loads: loads) == 1)
        // Nothing movable on the node: cross to the busiest remote CPU...
        loads[1] = load(3, queued: 1, migratable: 0)
        #expect(balancer.stealSource(for: 0, loads: loads) == 2)
        // ...but only for at least `remoteStealMinimum` waiting threads.
        loads[2] = load(8, queued: 1)
        #expect(balancer.stealSource(for: 0, loads: loads) == nil)
        // Among equally near CPUs, the most loaded.
        #expect(balancer.stealSource(for: 3, loads: [load(9, queued: 2), .idle, load(4, queued: 1), .idle]) == 2)
        #expect(balancer.stealSource(for: 1, loads: [.idle, .idle, load(9, queued: 2), load(12, queued: 3)]) == 3)
    }

    @Test func pinnedThreadsAreNeverStolenOrPulled() throws {
        var machine = Machine(cpus: 2, threads: 4)
        for index in 0..<3 {
            try machine.entities.pin(ThreadID(index), to: 0)
            try machine.enqueue(ThreadID(index), on: 0, as: .cold)
        }
        #expect(machine.loads[0].queued == 3 && machine.loads[0].migratable == 0)
        let small = LoadBalancer(topology: .uniform(cpuCount: 2))
        #expect(small.stealSource(for: 1, loads: machine.loads) == nil)
        #expect(small.pullSource(for: 1, loads: machine.loads) == nil)
        #expect(try machine.move(small, from: 0, to: 1) == nil)  // even when asked directly
        // An unpinned one behind them is found and moved.
        try machine.enqueue(3, on: 0, as: .cold)
        #expect(small.stealSource(for: 1, loads: machine.loads) == 0)
        #expect(try machine.move(small, from: 0, to: 1) == 3)
        #expect(machine.queues[0].count == 3 && machine.queues[1].count == 1)
    }

    @Test func theMigrantIsSameNodeThenColdThenLongestWaiting() throws {
        var machine = Machine(cpus: 4, threads: 5)
        try machine.enqueue(0, on: 0, as: .hot, home: 1)
        try machine.enqueue(1, on: 0, as: .normal, home: 0)
        try machine.enqueue(2, on: 0, as: .cold, home: 1)
        try machine.enqueue(3, on: 0, as: .cold, home: 0)
        let queue = machine.queues[0]
        let entities = machine.entities
        func candidate(node: Int, maximumWeight: UInt32 = .max) -> ThreadID? {
            queue.migrationCandidate(toNode: NUMANode(node), now: 0, cooldown: 0, maximumWeight: maximumWeight, entities: entities)
        }
        #expect(candidate(node: 1) == 2)  // oldest Cold thread at home on node 1
        #expect(candidate(node: 0) == 3)  // a younger Cold thread, but at home on node 0
        #expect(candidate(node: 0, maximumWeight: 2) == 1)  // Cold too heavy: Normal
        #expect(candidate(node: 1, maximumWeight: 2) == 0)  // at home beats the heavier class
        #expect(candidate(node: 0, maximumWeight: 0) == nil)
    }

    @Test func aStolenThreadKeepsItsWaitAndCoolsDown() throws {
        var machine = Machine(cpus: 2, threads: 2)
        let small = LoadBalancer(topology: .uniform(cpuCount: 2))
        try machine.enqueue(0, on: 0, as: .cold)
        machine.now = 7 * ms
        #expect(try machine.move(small, from: 0, to: 1) == 0)
        #expect(machine.entities[0].location == .queued(1))
        #expect(machine.entities[0].waitingSince == 0)
        #expect(machine.entities[0].lastMigration == 7 * ms)
        // A periodic pull does not move it again within the cooldown; an
        // idle CPU's steal still may.
        let migration = LoadBalancer.Migration(source: 1, target: 0, maximumWeight: 4)
        machine.now += small.migrationCooldown - 1
        #expect(try machine.move(small, from: 1, to: 0, migration: migration) == nil)
        machine.now += 1
        #expect(try machine.move(small, from: 1, to: 0, migration: migration) == 0)
    }

    @Test func pullsNeedARealImbalanceAndMoreAcrossNodes() {
        // Balanced: nothing.
        #expect(balancer.pullSource(for: 0, loads: [load(4), load(4, queued: 1), load(4, queued: 1), load(4, queued: 1)]) == nil)
        // Surplus 3 on the same node: worth a move of weight ≤ 1.
        let local = balancer.pullSource(for: 0, loads: [load(2), load(5, queued: 2), .idle, .idle])
        #expect(local == LoadBalancer.Migration(source: 1, target: 0, maximumWeight: 1))
        // The same surplus across nodes (distance 20) is below 2 · 20/10.
        #expect(balancer.pullSource(for: 0, loads: [load(2), load(2), load(5, queued: 2), .idle]) == nil)
        #expect(balancer.pullSource(for: 0, loads: [load(2), load(2), load(6, queued: 2), .idle])?.source == 2)
        // Nearer beats larger when the scaled surplus says so: 4 local vs 6 remote (= 3 scaled).
        #expect(balancer.pullSource(for: 0, loads: [.idle, load(4, queued: 1), load(6, queued: 2), .idle])?.source == 1)
    }

    @Test func repeatedBalancingConvergesWithoutPingPong() throws {
        // 12 threads of mixed classes all start on CPU 0 of a 4-CPU node.
        var machine = Machine(cpus: 4, threads: 12)
        let classes: [SchedClass] = [.cold, .cold, .cold, .cold, .cold, .normal, .normal, .normal, .hot, .hot, .hot, .hot]
        for (index, schedClass) in classes.enumerated() { try machine.enqueue(ThreadID(index), on: 0, as: schedClass) }
        var balancer = LoadBalancer(topology: .uniform(cpuCount: 4))
        balancer.migrationCooldown = 0  // the weight rule alone must prevent ping-pong
        var moves: [(ThreadID, Int, Int)] = []
        var rounds = 0
        while rounds < 100 {
            rounds += 1
            var moved = false
            for target in 0..<4 {
                guard let migration = balancer.pullSource(for: CPUID(target), loads: machine.loads) else { continue }
                let before = machine.loads
                if let thread = try machine.move(balancer, from: migration.source.index, to: target, migration: migration) {
                    moves.append((thread, migration.source.index, target))
                    moved = true
                    // Each move shrinks the gap and never inverts it.
                    let after = machine.loads
                    #expect(after[target].weighted <= after[migration.source.index].weighted)
                    let gapBefore = before[migration.source.index].weighted - before[target].weighted
                    let gapAfter = after[migration.source.index].weighted - after[target].weighted
                    #expect(gapAfter < gapBefore)
                }
            }
            if !moved { break }
        }
        #expect(rounds < 100)
        for queue in machine.queues { #expect(queue.verify(entities: machine.entities) == nil) }
        // No thread ever went back where it came from.
        for (thread, source, target) in moves {
            #expect(!moves.contains { $0.0 == thread && $0.1 == target && $0.2 == source })
        }
        let weights = machine.loads.map(\.weighted)
        let total: UInt32 = 5 * 4 + 3 * 2 + 4 * 1  // 5 Cold, 3 Normal, 4 Hot
        #expect(weights.reduce(0, +) == total)
        #expect(weights.max()! - weights.min()! <= 2 * 4)
    }

    @Test func wakingThreadsGoWhereTheyRunBestOrWhereTheyArePinned() throws {
        var entity = SchedEntity(parameters: .standard, homeNode: NUMANode(1))
        let busy = load(4)
        // Never ran: least-loaded CPU of its home node.
        #expect(balancer.placement(forWaking: entity, loads: [.idle, busy, load(6), busy]) == 3)
        entity.lastCPU = 2
        // Last CPU idle and at home: there.
        #expect(balancer.placement(forWaking: entity, loads: [.idle, .idle, .idle, .idle]) == 2)
        // Last CPU busy: an idle CPU of the home node.
        #expect(balancer.placement(forWaking: entity, loads: [.idle, .idle, busy, .idle]) == 3)
        // Nothing idle at home: back to the last CPU (warm cache).
        #expect(balancer.placement(forWaking: entity, loads: [.idle, .idle, busy, busy]) == 2)
        entity.pinnedCPU = 0
        #expect(balancer.placement(forWaking: entity, loads: [busy, .idle, .idle, .idle]) == 0)
    }
}
