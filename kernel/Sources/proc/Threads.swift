import CExoArch
import ExoKit
import ExoMemory

/// A kernel thread's slot number in the thread table.
typealias ThreadID = UInt32

/// Kernel threads: creation, exit, join, and the per-thread state the
/// scheduler switches.
///
/// FPU/SSE policy: eager. Every switch saves the outgoing thread's x87/SSE
/// state with `fxsave` and loads the incoming one's with `fxrstor` (512
/// bytes each, in a per-thread area). Kernel code is compiled without SSE
/// but does use x87 (Swift's Dictionary growth), and user threads will use
/// SSE freely, so lazy switching (CR0.TS and #NM) would save little and
/// adds a fault path; under icount the pair costs two guest instructions.
///
/// Lifetime: a thread's stack cannot be freed while it runs on it, so an
/// exited thread stays a zombie until `join` reaps it (stack, FPU area and
/// slot). Every spawned thread must be joined.
enum Threads {
    enum State: UInt8 { case free, ready, running, blocked, sleeping, exited }

    struct Record {
        var state: State = .free
        var name: StaticString = "free"
        var savedStackPointer: UInt64 = 0
        var stack: KernelVirtualMemory.Stack? = nil
        var fpuArea: UnsafeMutableRawPointer? = nil
        var entry: (() -> Void)? = nil
        /// Threads blocked in `join` on this one.
        var joiners: [ThreadID] = []
        /// For sleeping threads: the Clock nanosecond deadline.
        var wakeDeadline: UInt64 = 0
        /// Clock nanoseconds when this thread last started running.
        var runStart: UInt64 = 0
        var totalRuntime: UInt64 = 0
        var switchesIn: UInt64 = 0
    }

    static let capacity = 4096
    static let stackPages = 4
    static let fpuAreaSize = 512

    nonisolated(unsafe) private(set) static var table: UnsafeMutablePointer<Record> = UnsafeMutablePointer(bitPattern: 8)!
    nonisolated(unsafe) private static var freeSlots: [ThreadID] = []
    /// Stacks of reaped threads, kept for the next spawns: mapping and
    /// zeroing four fresh pages costs far more than the rest of a spawn.
    nonisolated(unsafe) private static var stackPool: [KernelVirtualMemory.Stack] = []
    static let stackPoolLimit = 64
    nonisolated(unsafe) private(set) static var live = 0
    nonisolated(unsafe) private(set) static var spawned: UInt64 = 0
    /// The FPU state right after `fninit`, copied into every new thread.
    nonisolated(unsafe) private static var cleanFPUState: UnsafeMutableRawPointer? = nil

    /// Sets up the table and adopts the running boot context as thread 0
    /// ("kmain"), which keeps the boot stack.
    static func initialize() throws(MemoryError) {
        let records = UnsafeMutablePointer<Record>.allocate(capacity: capacity)
        records.initialize(repeating: Record(), count: capacity)
        table = records
        freeSlots = (1..<UInt32(capacity)).reversed().map { $0 }
        let clean = try KernelHeap.allocate(size: fpuAreaSize, alignment: 64)
        exo_fxsave(clean)
        cleanFPUState = clean
        table[0] = Record(state: .running, name: "kmain", fpuArea: try newFPUArea())
        live = 1
    }

    private static func newFPUArea() throws(MemoryError) -> UnsafeMutableRawPointer {
        let area = try KernelHeap.allocate(size: fpuAreaSize, alignment: 64)
        area.copyMemory(from: cleanFPUState!, byteCount: fpuAreaSize)
        return area
    }

    /// Creates a ready thread that runs `entry`, then exits.
    static func spawn(name: StaticString, _ entry: @escaping () -> Void) throws(MemoryError) -> ThreadID {
        let slot = try CPU.withInterruptsDisabled { () throws(MemoryError) -> ThreadID in
            guard let slot = freeSlots.popLast() else { throw .outOfMemory }
            return slot
        }
        let stack: KernelVirtualMemory.Stack
        let fpu: UnsafeMutableRawPointer
        do {
            if let pooled = CPU.withInterruptsDisabled({ stackPool.popLast() }) {
                stack = pooled
            } else {
                stack = try KernelVirtualMemory.allocateStack(pages: stackPages, name: "thread stack")
            }
            fpu = try newFPUArea()
        } catch {
            CPU.withInterruptsDisabled { freeSlots.append(slot) }
            throw error
        }
        table[Int(slot)] = Record(state: .ready, name: name, savedStackPointer: prepareStack(top: stack.top, thread: slot),
                                  stack: stack, fpuArea: fpu, entry: entry)
        CPU.withInterruptsDisabled {
            live += 1
            spawned &+= 1
            Scheduler.makeReady(slot)
        }
        return slot
    }

    /// The initial frame exo_switch_context pops: r15 r14 r13 r12 rbx rbp,
    /// then the return address (the trampoline). r12 carries the thread id.
    private static func prepareStack(top: UInt64, thread: ThreadID) -> UInt64 {
        let frame = UnsafeMutablePointer<UInt64>(bitPattern: UInt(top - 7 * 8))!
        frame[0] = 0                               // r15
        frame[1] = 0                               // r14
        frame[2] = 0                               // r13
        frame[3] = UInt64(thread)                  // r12: the trampoline's argument
        frame[4] = 0                               // rbx
        frame[5] = 0                               // rbp
        frame[6] = exo_thread_trampoline_address() // return address
        return top - 7 * 8
    }

    /// Ends the calling thread; wakes its joiners. Never returns.
    static func exit() -> Never {
        CPU.disableInterrupts()
        let me = Scheduler.current
        precondition(me != 0, "the boot thread does not exit")
        table[Int(me)].state = .exited
        table[Int(me)].entry = nil
        for joiner in table[Int(me)].joiners { Scheduler.wake(joiner) }
        table[Int(me)].joiners = []
        live -= 1
        Scheduler.reschedule()
        fatalError("an exited thread was scheduled again")
    }

    /// Waits until `thread` has exited, then frees its stack, FPU area and
    /// slot.
    static func join(_ thread: ThreadID) {
        CPU.withInterruptsDisabled {
            precondition(thread != Scheduler.current, "a thread cannot join itself")
            while table[Int(thread)].state != .exited {
                precondition(table[Int(thread)].state != .free, "joining a thread that was never spawned or already joined")
                table[Int(thread)].joiners.append(Scheduler.current)
                Scheduler.block()
            }
            reap(thread)
        }
    }

    private static func reap(_ thread: ThreadID) {
        var record = table[Int(thread)]
        table[Int(thread)] = Record()
        freeSlots.append(thread)
        if let fpu = record.fpuArea { KernelHeap.free(fpu) }
        if let stack = record.stack {
            if stackPool.count < stackPoolLimit {
                stackPool.append(stack)
            } else {
                do { try KernelVirtualMemory.freeStack(stack) } catch { panic("freeing a thread stack: \(error.description)") }
            }
        }
        record.stack = nil
    }
}

/// Entry from exo_thread_trampoline on the new thread's stack, interrupts
/// still off from the switch that started it.
@_cdecl("exo_thread_entry")
func exoThreadEntry(_ thread: UInt64) -> Never {
    Scheduler.threadStarted()
    CPU.enableInterrupts()
    let entry = Threads.table[Int(thread)].entry
    entry?()
    Threads.exit()
}
