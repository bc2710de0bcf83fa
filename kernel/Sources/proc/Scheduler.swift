import CExoArch
import ExoKit
import ExoMemory

/// Picks which thread runs, switches to it, and keeps time: slices,
/// preemption from the local APIC timer, sleeping threads.
///
/// Rules: every function here runs with interrupts off (asserted on
/// entry). The timer is one-shot, armed after every decision for the
/// nearest event: the running thread's slice end (only when another thread
/// waits) or the earliest sleeper's deadline. With nothing to do the CPU
/// runs the idle thread, which halts until an interrupt.
enum Scheduler {
    nonisolated(unsafe) private(set) static var current: ThreadID = 0
    nonisolated(unsafe) private(set) static var idle: ThreadID = 0
    nonisolated(unsafe) private(set) static var running = false
    nonisolated(unsafe) static var queue = ReadyQueue()
    /// Sleeping threads, soonest deadline first.
    nonisolated(unsafe) private static var sleepers: [ThreadID] = []
    nonisolated(unsafe) private static var sliceEnd: UInt64 = 0
    /// When the one-shot timer will fire (UInt64.max: not armed). A later
    /// event never re-arms it: the early interrupt re-evaluates instead,
    /// which keeps APIC writes off the yield and wakeup paths.
    nonisolated(unsafe) private static var programmedDeadline = UInt64.max
    nonisolated(unsafe) private(set) static var switches: UInt64 = 0
    nonisolated(unsafe) private(set) static var preemptions: UInt64 = 0
    nonisolated(unsafe) private(set) static var timerInterrupts: UInt64 = 0

    /// Starts scheduling on this CPU: creates the idle thread and takes
    /// over the APIC timer. The caller (thread 0) keeps running.
    static func start() throws(MemoryError) {
        Interrupts.register(vector: Interrupts.timer) { timerInterrupt() }
        idle = try Threads.spawn(name: "idle") {
            while true { CPU.waitForInterrupt() }
        }
        CPU.withInterruptsDisabled {
            queue.remove(idle)                   // idle runs only when nothing else can
            Threads.table[Int(idle)].state = .ready
            Threads.table[0].runStart = Clock.nanosecondsSinceBoot()
            running = true
            armTimer(now: Clock.nanosecondsSinceBoot())
        }
    }

    // MARK: State changes (interrupts off)

    /// Puts a new or woken thread on the run queue.
    static func makeReady(_ thread: ThreadID) {
        precondition(!CPU.interruptsEnabled, "scheduler state changes need interrupts off")
        Threads.table[Int(thread)].state = .ready
        queue.enqueue(thread, now: Clock.nanosecondsSinceBoot())
        if running && queue.shouldPreempt(running: current, now: Clock.nanosecondsSinceBoot()) {
            armTimer(now: Clock.nanosecondsSinceBoot(), preemptSoon: true)
        }
    }

    /// Wakes a blocked or sleeping thread (no effect on others).
    static func wake(_ thread: ThreadID) {
        let state = Threads.table[Int(thread)].state
        guard state == .blocked || state == .sleeping else { return }
        if state == .sleeping { sleepers.removeAll { $0 == thread } }
        makeReady(thread)
    }

    /// Blocks the calling thread until `wake`. The caller has recorded it
    /// somewhere a waker will find it.
    static func block() {
        precondition(!CPU.interruptsEnabled, "block needs interrupts off")
        Threads.table[Int(current)].state = .blocked
        reschedule()
    }

    /// Gives up the CPU; the caller stays runnable.
    static func yield() {
        CPU.withInterruptsDisabled { reschedule() }
    }

    /// Sleeps at least `nanoseconds` (on the monotonic clock).
    static func sleep(nanoseconds: UInt64) {
        CPU.withInterruptsDisabled {
            let deadline = Clock.nanosecondsSinceBoot() + nanoseconds
            Threads.table[Int(current)].state = .sleeping
            Threads.table[Int(current)].wakeDeadline = deadline
            let index = sleepers.firstIndex { Threads.table[Int($0)].wakeDeadline > deadline } ?? sleepers.count
            sleepers.insert(current, at: index)
            reschedule()
        }
    }

    // MARK: The switch

    /// Chooses the next thread and switches to it. The calling thread has
    /// set its own state: `.running` means it stays runnable (yield or
    /// preemption) and goes back on the queue.
    static func reschedule() {
        precondition(!CPU.interruptsEnabled, "reschedule needs interrupts off")
        let now = Clock.nanosecondsSinceBoot()
        let previous = current
        let burst = now - Threads.table[Int(previous)].runStart
        Threads.table[Int(previous)].totalRuntime += burst
        queue.account(previous, burst: burst, blocked: Threads.table[Int(previous)].state != .running)
        if Threads.table[Int(previous)].state == .running && previous != idle {
            Threads.table[Int(previous)].state = .ready
            queue.enqueue(previous, now: now)
        }
        let next = queue.pickNext(now: now) ?? idle
        Threads.table[Int(next)].state = .running
        Threads.table[Int(next)].runStart = now
        sliceEnd = now + queue.timeSlice(for: next)
        armTimer(now: now)
        guard next != previous else { return }
        current = next
        switches &+= 1
        Threads.table[Int(next)].switchesIn &+= 1
        // Eager FPU switch (see Threads), then the register window.
        exo_fxsave(Threads.table[Int(previous)].fpuArea)
        exo_fxrstor(Threads.table[Int(next)].fpuArea)
        withUnsafeMutablePointer(to: &Threads.table[Int(previous)].savedStackPointer) { save in
            exo_switch_context(save, Threads.table[Int(next)].savedStackPointer)
        }
    }

    /// Called by a new thread on its first run, before it enables
    /// interrupts (its predecessor's reschedule never returns to finish).
    static func threadStarted() {}

    // MARK: Time

    /// The local APIC timer fired (interrupts off, EOI already sent).
    private static func timerInterrupt() {
        timerInterrupts &+= 1
        programmedDeadline = UInt64.max
        let now = Clock.nanosecondsSinceBoot()
        while let first = sleepers.first, Threads.table[Int(first)].wakeDeadline <= now {
            sleepers.removeFirst()
            makeReady(first)
        }
        if current == idle || (now >= sliceEnd && !queue.isEmpty) || queue.shouldPreempt(running: current, now: now) {
            if current != idle { preemptions &+= 1 }
            reschedule()
        } else {
            armTimer(now: now)
        }
    }

    /// Programs the one-shot timer for the nearest event.
    private static func armTimer(now: UInt64, preemptSoon: Bool = false) {
        var next = UInt64.max
        if preemptSoon { next = now }
        if !queue.isEmpty && current != idle { next = min(next, sliceEnd) }
        if let first = sleepers.first { next = min(next, Threads.table[Int(first)].wakeDeadline) }
        // Nothing due: leave an armed timer alone (its interrupt finds
        // nothing to do and stops). An earlier event than the one armed:
        // re-arm. A later one: the armed interrupt comes first and re-arms.
        guard next != UInt64.max, next < programmedDeadline || programmedDeadline <= now else { return }
        programmedDeadline = next
        LocalAPIC.armOneShot(nanoseconds: max(next > now ? next - now : 0, 1_000))
    }
}
