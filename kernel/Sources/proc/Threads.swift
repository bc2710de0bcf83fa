import CExoArch
import ExoKit
import ExoMemory
import ExoSched

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
/// slot). Every spawned thread must be joined. Thread state is guarded by
/// the scheduler lock.
enum Threads {
    enum State: UInt8 { case free, ready, running, blocked, sleeping, exited }

    struct Record {
        var state: State = .free
        /// Set whenever the user thread may have something for its return
        /// to ring 3 (a signal posted to it or its process, an order to
        /// exit, a mask to restore): `SignalDelivery.nothingPending` looks
        /// no further while it is clear. Set by every writer of those, and
        /// cleared only once they are quiet, all under the scheduler lock
        /// (`SignalDelivery.markAttention`), so it is never clear while
        /// something is pending; it may stay set after (a signal the
        /// process's other thread took), which costs one full check.
        var signalAttention = false
        var name: StaticString = "free"
        var savedStackPointer: UInt64 = 0
        var stack: KernelVirtualMemory.Stack? = nil
        var fpuArea: UnsafeMutableRawPointer? = nil
        var entry: (() -> Void)? = nil
        /// The thread blocked in `join` on this one (one joiner, as with
        /// pthread_join; no array, so a join never allocates).
        var joiner: ThreadID? = nil
        /// For sleeping threads: the Clock nanosecond deadline.
        var wakeDeadline: UInt64 = 0
        /// The page-table root of the user half it runs (0: a kernel-only
        /// thread, which runs on the kernel's own tables).
        var addressSpaceRoot: UInt64 = 0
        /// The user FS base (thread pointer), loaded when it is switched in.
        var userFSBase: UInt64 = 0
        /// The process it belongs to (nil for kernel threads).
        var process: Process? = nil
        /// The user thread it runs (nil for kernel threads).
        var user: UserThread? = nil
        /// getpid's and gettid's answers for a user thread, copied into the
        /// per-CPU record when it is switched in (the SYSCALL fast path):
        /// plain copies of `process.pid` and `user.id`, so the switch
        /// touches no object.
        var userProcessID: Int32 = 0
        var userThreadID: Int32 = 0
        /// Links of the WaitQueue this thread waits on (`waitQueue`, not
        /// retained; nil when on none): see WaitQueue.
        var waitNext: UInt32 = WaitLinks.none
        var waitPrev: UInt32 = WaitLinks.none
        var waitQueue: UnsafeMutableRawPointer? = nil
    }

    /// Loads what the CPU needs to run `next` besides its registers: for a
    /// thread with a user half, its kernel stack for entries from ring 3,
    /// its FS base and its page tables; for a kernel thread, the kernel's
    /// tables (so no CPU keeps a dying process's tables loaded).
    /// Interrupts off, on the switch path.
    @inline(__always)
    static func loadMachineContext(of next: UnsafeMutablePointer<Record>) {
        let root = next.pointee.addressSpaceRoot
        let cpu = SMP.current
        if root != 0 {
            UserMode.setKernelStack(top: next.pointee.stack.unsafelyUnwrapped.top, on: cpu)
            cpu.pointee.userProcessID = next.pointee.userProcessID
            cpu.pointee.userThreadID = next.pointee.userThreadID
            if cpu.pointee.loadedFSBase != next.pointee.userFSBase { loadFSBase(next.pointee.userFSBase, on: cpu) }
            if cpu.pointee.loadedRoot != root { loadRoot(root, on: cpu) }
        } else if cpu.pointee.loadedRoot != KernelAddressSpace.root {
            loadRoot(KernelAddressSpace.root, on: cpu)
        }
    }

    /// Loads `root` into CR3 and notes it in the per-CPU record, which the
    /// switch compares against. Interrupts off.
    static func loadRoot(_ root: UInt64, on cpu: UnsafeMutablePointer<SMP.PerCPU> = SMP.current) {
        CPU.cr3 = root
        cpu.pointee.loadedRoot = root
    }

    /// Loads `base` into the FS base MSR (the user thread pointer) and
    /// notes it in the per-CPU record, which the switch compares against.
    /// Every write of the MSR goes through here. Interrupts off.
    static func loadFSBase(_ base: UInt64, on cpu: UnsafeMutablePointer<SMP.PerCPU> = SMP.current) {
        CPU.write(UserMode.fsBaseMSR, base)
        cpu.pointee.loadedFSBase = base
    }

    /// `thread`'s user thread without a retain, for the hot checks at
    /// every system call's end: valid while `thread` runs (its record holds
    /// the reference), so only for the calling thread.
    @inline(__always)
    static func borrowedUser(of thread: ThreadID) -> Unmanaged<UserThread>? {
        UnsafeRawPointer(table + thread.index)
            .load(fromByteOffset: MemoryLayout<Record>.offset(of: \.user)!, as: Unmanaged<UserThread>?.self)
    }

    /// `thread`'s process without a retain, under the same rule as
    /// `borrowedUser`: for the calling thread; or, under the scheduler
    /// lock, for a thread on a wait queue (its record keeps the reference
    /// until the slot is reused, which needs the thread ended, and it
    /// leaves its queue under that lock first: map-at-send's receiver).
    @inline(__always)
    static func borrowedProcess(of thread: ThreadID) -> Unmanaged<Process>? {
        UnsafeRawPointer(table + thread.index)
            .load(fromByteOffset: MemoryLayout<Record>.offset(of: \.process)!, as: Unmanaged<Process>?.self)
    }

    /// After a non-main thread's execve took the PID as its TID: the
    /// fast path's copy follows, here and, if it runs, in this CPU's record.
    static func setUserThreadID(of thread: ThreadID, to id: Int32) {
        table[thread.index].userThreadID = id
        if thread == Scheduler.current { SMP.current.pointee.userThreadID = id }
    }

    static let capacity = 4096
    static let stackPages = 4
    static let fpuAreaSize = 512

    nonisolated(unsafe) private(set) static var table: UnsafeMutablePointer<Record> = UnsafeMutablePointer(bitPattern: 8)!
    nonisolated(unsafe) private static var freeSlots: [ThreadID] = []
    /// Stacks and FPU areas of reaped threads, kept for the next spawns:
    /// mapping and zeroing four fresh pages costs far more than the rest of
    /// a spawn, and a heap round trip for the FPU area is a fifth of it.
    nonisolated(unsafe) private static var stackPool: [(stack: KernelVirtualMemory.Stack, fpu: UnsafeMutableRawPointer)] = []
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
        freeSlots = (1..<capacity).reversed().map { ThreadID($0) }
        let clean = try KernelHeap.allocate(size: fpuAreaSize, alignment: 64)
        exo_fxsave(clean)
        cleanFPUState = clean
        table[0] = Record(state: .running, name: "kmain", fpuArea: try newFPUArea())
        live = 1
        try Scheduler.initialize(entityCapacity: capacity)
    }

    private static func newFPUArea() throws(MemoryError) -> UnsafeMutableRawPointer {
        let area = try KernelHeap.allocate(size: fpuAreaSize, alignment: 64)
        area.copyMemory(from: cleanFPUState!, byteCount: fpuAreaSize)
        return area
    }

    private static func takeSlot() throws(MemoryError) -> ThreadID {
        try Scheduler.withLockThrowing { () throws(MemoryError) -> ThreadID in
            guard let slot = freeSlots.popLast() else { throw .outOfMemory }
            return slot
        }
    }

    /// Creates a thread that runs `entry`, then exits, and makes it ready;
    /// with `pinnedTo`, it only ever runs on that CPU.
    static func spawn(name: StaticString, pinnedTo cpu: CPUID? = nil,
                      _ entry: @escaping () -> Void) throws(MemoryError) -> ThreadID {
        try create(name: name, entry: entry) { slot in
            live += 1
            spawned &+= 1
            Scheduler.entities[slot] = SchedEntity(parameters: Scheduler.parameters, pinnedCPU: cpu)
            Scheduler.makeReady(slot)
        }
    }

    /// A thread of a user process: runs `entry` (which enters ring 3 and
    /// never comes back) with the process's page tables loaded on every
    /// switch to it. `thread` joins `process` before it can run.
    static func spawnUser(name: StaticString, process: Process, thread: UserThread, addressSpaceRoot: UInt64,
                          fsBase: UInt64, forkedFrom parent: ThreadID? = nil,
                          _ entry: @escaping () -> Void) throws(MemoryError) -> ThreadID {
        try create(name: name, entry: entry) { slot in
            table[slot.index].addressSpaceRoot = addressSpaceRoot
            table[slot.index].userFSBase = fsBase
            table[slot.index].process = process
            table[slot.index].user = thread
            table[slot.index].userProcessID = process.pid
            table[slot.index].userThreadID = thread.id
            process.adoptLocked(thread, running: slot)
            live += 1
            spawned &+= 1
            Scheduler.entities[slot] = parent.map { Scheduler.entities[$0].forked() } ?? SchedEntity(parameters: Scheduler.parameters)
            Scheduler.makeReady(slot)
        }
    }

    /// A CPU's idle thread: created like any other but never queued; the
    /// scheduler runs it when the CPU's queue is empty.
    static func spawnIdle(name: StaticString) throws(MemoryError) -> ThreadID {
        try create(name: name, entry: { while true { CPU.waitForInterrupt() } }) { slot in
            table[slot.index].state = .ready
        }
    }

    /// Records the calling context (an AP's boot stack) as a running thread.
    static func adoptCurrentContext(name: StaticString) throws(MemoryError) -> ThreadID {
        let slot = try takeSlot()
        let fpu = try newFPUArea()
        Scheduler.withLock {
            table[slot.index] = Record(state: .running, name: name, fpuArea: fpu)
        }
        return slot
    }

    /// A thread slot with a stack and FPU area (pooled when possible), its
    /// initial frame prepared; `publish` runs under the scheduler lock once
    /// the record is in the table.
    private static func create(name: StaticString, entry: @escaping () -> Void,
                               publish: (ThreadID) -> Void) throws(MemoryError) -> ThreadID {
        let (slot, pooled) = try Scheduler.withLockThrowing { () throws(MemoryError) in
            guard let slot = freeSlots.popLast() else { throw MemoryError.outOfMemory }
            return (slot, stackPool.popLast())
        }
        let stack: KernelVirtualMemory.Stack
        let fpu: UnsafeMutableRawPointer
        if let pooled {
            (stack, fpu) = pooled
            fpu.copyMemory(from: cleanFPUState!, byteCount: fpuAreaSize)  // nothing of the last owner's state
        } else {
            do throws(MemoryError) {
                stack = try KernelVirtualMemory.allocateStack(pages: stackPages, name: "thread stack")
                do throws(MemoryError) { fpu = try newFPUArea() } catch {
                    try? KernelVirtualMemory.freeStack(stack)
                    throw error
                }
            } catch {
                Scheduler.withLock { freeSlots.append(slot) }
                throw error
            }
        }
        let top = prepareStack(top: stack.top, thread: slot)
        Scheduler.withLock {
            // Field by field: the record is 112 bytes and lives in place.
            table[slot.index].state = .blocked
            table[slot.index].name = name
            table[slot.index].savedStackPointer = top
            table[slot.index].stack = stack
            table[slot.index].fpuArea = fpu
            table[slot.index].entry = entry
            table[slot.index].wakeDeadline = 0
            table[slot.index].addressSpaceRoot = 0
            table[slot.index].userFSBase = 0
            table[slot.index].process = nil
            table[slot.index].user = nil
            publish(slot)
        }
        return slot
    }

    /// The initial frame a switch to the thread returns through (the
    /// contract in exo_arch.h): the resume address, the trampoline, then
    /// the slot of the saved rbp, which carries the thread id to it.
    private static func prepareStack(top: UInt64, thread: ThreadID) -> UInt64 {
        let frame = UnsafeMutablePointer<UInt64>(bitPattern: UInt(top - 2 * 8))!
        frame[0] = exo_thread_trampoline_address() // resume address
        frame[1] = UInt64(thread.rawValue)         // the trampoline's argument
        return top - 2 * 8
    }

    /// Ends the calling thread; wakes its joiner. Never returns.
    static func exit() -> Never {
        CPU.disableInterrupts()
        Scheduler.lock.acquire()
        let me = Scheduler.current
        precondition(me.index != 0, "the boot thread does not exit")
        table[me.index].state = .exited
        if let joiner = table[me.index].joiner {
            table[me.index].joiner = nil
            Scheduler.wake(joiner)
        }
        live -= 1
        Scheduler.reschedule()
        fatalError("an exited thread was scheduled again")
    }

    /// Waits until `thread` has exited, then frees its stack, FPU area and
    /// slot.
    static func join(_ thread: ThreadID) {
        let leftover: (stack: KernelVirtualMemory.Stack?, fpu: UnsafeMutableRawPointer?) = Scheduler.withLock {
            precondition(thread != Scheduler.current, "a thread cannot join itself")
            // A loop: a signal posted to the joiner wakes it early.
            while table[thread.index].state != .exited {
                precondition(table[thread.index].state != .free, "joining a thread that was never spawned or already joined")
                precondition(table[thread.index].joiner == nil || table[thread.index].joiner == Scheduler.current,
                             "a thread has one joiner")
                table[thread.index].joiner = Scheduler.current
                Scheduler.block()
            }
            let stack = table[thread.index].stack, fpu = table[thread.index].fpuArea
            table[thread.index] = Record()
            freeSlots.append(thread)
            if let stack, let fpu, stackPool.count < stackPoolLimit {
                stackPool.append((stack, fpu))
                return (nil, nil)
            }
            return (stack, fpu)
        }
        if let fpu = leftover.fpu { KernelHeap.free(fpu) }
        if let stack = leftover.stack {
            do { try KernelVirtualMemory.freeStack(stack) } catch { panic("freeing a thread stack: \(error.description)") }
        }
    }
}

/// Entry from exo_thread_trampoline on the new thread's stack: interrupts
/// off and the scheduler lock held, handed over by the switch.
@_cdecl("exo_thread_entry")
func exoThreadEntry(_ thread: UInt64) -> Never {
    Scheduler.threadStarted()
    CPU.enableInterrupts()
    let entry = Threads.table[Int(thread)].entry
    entry?()
    Threads.exit()
}
