/// The run queue the scheduler asks. Placeholder until the Hot/Normal/Cold
/// policy from ExoSched is wired in: one FIFO, one 4 ms slice.
struct ReadyQueue {
    private var threads: [ThreadID] = []

    var isEmpty: Bool { threads.isEmpty }
    var count: Int { threads.count }

    mutating func enqueue(_ thread: ThreadID, now: UInt64) { threads.append(thread) }

    mutating func pickNext(now: UInt64) -> ThreadID? {
        threads.isEmpty ? nil : threads.removeFirst()
    }

    mutating func remove(_ thread: ThreadID) { threads.removeAll { $0 == thread } }

    mutating func account(_ thread: ThreadID, burst: UInt64, blocked: Bool) {}

    func timeSlice(for thread: ThreadID) -> UInt64 { 4_000_000 }

    func shouldPreempt(running: ThreadID, now: UInt64) -> Bool { false }
}
