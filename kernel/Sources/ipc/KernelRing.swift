import Synchronization
import ExoIPC
import ExoKit
import ExoSched
import ExoMemory

/// A Fusion Ring the kernel owns: zeroed pages (which processes map shared
/// with `fring_map`, each mapping holding its own frame references), the
/// `FusionRing` view of them through the direct map, and wait queues for
/// receivers and senders that sleep in the kernel.
///
/// Ends: how many open handles, in all processes, carry the send and the
/// receive right. When no receive end is left a sender gets EPIPE; when no
/// send end is left a receiver gets EPIPE once the ring is empty (like a
/// pipe). The counts and the queues are guarded by the scheduler lock.
final class KernelRing {
    let physical: UInt64
    let pageCount: Int
    let ring: FusionRing
    // `let`: a queue is reached through the ring without a retain of its own.
    let receivers = WaitQueue()
    let senders = WaitQueue()
    private(set) var sendEnds = 0
    private(set) var receiveEnds = 0

    static let pageSize = 4096

    /// Who pays for the pages (nil: a kernel ring, unbounded).
    let quota: RingQuota?
    /// `RingFlags.mapsGrants`, kept here: the header's copy is the
    /// processes' to scribble on.
    let mapsGrants: Bool
    /// Never reused, unlike the object's address: names the ring where a
    /// record outlives it (a process's grant window for the ring).
    let serial = KernelRing.serials.add(1, ordering: .relaxed).newValue
    private static let serials = Atomic<UInt64>(0)

    init(capacity: Int, flags: RingFlags, quota: RingQuota? = nil) throws(Errno) {
        guard capacity >= RingLayout.minimumCapacity, capacity <= RingLayout.maximumCapacity,
              capacity & (capacity - 1) == 0, flags.isSubset(of: .all) else { throw .invalidArgument }
        let pages = (RingLayout.bytes(capacity: capacity) + Self.pageSize - 1) / Self.pageSize
        try quota?.reserve(pages)
        self.quota = quota
        mapsGrants = flags.contains(.mapsGrants)
        var order = 0
        while 1 << order < pages { order += 1 }
        // Contiguous, so the kernel sees one range through the direct map;
        // split, so each page is referenced and freed on its own.
        do {
            physical = try PhysicalMemory.allocate(order: order)
            try PhysicalMemory.split(physical, order: order)
        } catch {
            quota?.release(pages)
            throw .outOfMemory
        }
        for page in pages..<(1 << order) { try? PhysicalMemory.free(physical + UInt64(page * Self.pageSize), order: 0) }
        pageCount = pages
        let base = UnsafeMutableRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: physical)))!
        base.initializeMemory(as: UInt8.self, repeating: 0, count: pages * Self.pageSize)  // no stale kernel bytes reach user space
        for page in 0..<pages { FrameReferences.adopt(physical + UInt64(page * Self.pageSize)) }
        // Claims by compare-and-swap whatever the flags: the kernel's sends
        // come from system calls on any CPU and from several threads and
        // processes holding send handles, and must never share a slot.
        do {
            ring = try FusionRing.format(at: base, length: pages * Self.pageSize, capacity: capacity, flags: flags)
                .withAtomicClaims()
        } catch {
            for page in 0..<pages { FrameReferences.release(physical + UInt64(page * Self.pageSize)) }
            quota?.release(pages)
            throw .invalidArgument
        }
    }

    deinit {
        for page in 0..<pageCount { FrameReferences.release(physical + UInt64(page * Self.pageSize)) }
        quota?.release(pageCount)
    }

    var frames: [UInt64] { (0..<pageCount).map { physical + UInt64($0 * Self.pageSize) } }

    /// A handle with `rights` was opened (scheduler lock held).
    func openEnd(_ rights: Rights) {
        if rights.contains(.send) { sendEnds += 1 }
        if rights.contains(.receive) { receiveEnds += 1 }
    }

    /// A handle with `rights` was closed: sleepers re-check (they may now
    /// see EPIPE). When the last receive end goes (handles in flight count
    /// as open ends, so none can come back), what was parked on the ring
    /// for a receiver is withdrawn: the grants' frames and the handles in
    /// flight are released now, not when their senders exit. Scheduler lock
    /// held.
    func closeEnd(_ rights: Rights) {
        if rights.contains(.send) { sendEnds -= 1 }
        if rights.contains(.receive) {
            receiveEnds -= 1
            if receiveEnds == 0 { IPC.withdrawTransfers(parkedOn: self) }
        }
        receivers.wakeAll()
        senders.wakeAll()
    }
}

// MARK: Messages

/// Moving messages, for system calls on behalf of a user thread (`caller`)
/// and for kernel threads (`caller` nil, always blocking). Waiting is under
/// the scheduler lock with the ring's futex-like announcement, so a wakeup
/// between the check and the sleep cannot be lost.
extension KernelRing {
    /// Puts `payload` (at most 56 bytes) in a slot; with `block`, sleeps
    /// while the ring is full. Does not wake receivers: `wakeReceivers`
    /// does, or a call/reply hands the CPU over instead.
    func put(_ payload: UnsafeRawBufferPointer, type: MessageType, block: Bool, caller: UserThread?) throws(Errno) {
        // Like a pipe with no reader: nobody could ever take it. (Read
        // without the lock: a close racing with this send is ordered either
        // way, and the wait below re-checks under the lock.)
        if caller != nil && receiveEnds == 0 { throw .brokenPipe }
        while true {
            do throws(IPCError) {
                try ring.send(payload, type: type)
                return
            } catch {
                guard error == .full else { throw error.errno }
            }
            guard block else { throw .tryAgain }
            try waitForRoom(caller: caller)
        }
    }

    /// Takes the oldest message into `buffer` and wakes a sender waiting
    /// for room; with `block`, sleeps while the ring is empty.
    func take(into buffer: UnsafeMutableRawBufferPointer, block: Bool, caller: UserThread?) throws(Errno) -> FusionRing.Received {
        while true {
            do throws(IPCError) {
                let received = try ring.receive(into: buffer)
                if ring.takeWaiter(.sender) { Scheduler.withLock { senders.wakeAll() } }
                return received
            } catch {
                guard error == .empty else { throw error.errno }
            }
            guard block else { throw .tryAgain }
            try waitForMessage(caller: caller)
        }
    }

    /// Sleeps until the ring may hold a message. For a user thread: EPIPE
    /// once no sender is left and the ring is empty, EINTR on a signal.
    func waitForMessage(caller: UserThread?) throws(Errno) {
        try Scheduler.withLockThrowing { () throws(Errno) in
            if let caller {
                if sendEnds == 0 && !ring.hasMessage { throw .brokenPipe }
                if caller.hasDeliverableSignal { throw .interrupted }
            }
            if ring.prepareToWait(.receiver) { receivers.wait() }
        }
    }

    /// Sleeps until the ring may have a free slot. For a user thread: EPIPE
    /// once no receiver is left, EINTR on a signal.
    func waitForRoom(caller: UserThread?) throws(Errno) {
        try Scheduler.withLockThrowing { () throws(Errno) in
            if let caller {
                if receiveEnds == 0 { throw .brokenPipe }
                if caller.hasDeliverableSignal { throw .interrupted }
            }
            if ring.prepareToWait(.sender) { senders.wait() }
        }
    }

    /// Wakes receivers if one announced it sleeps (after a put).
    func wakeReceivers() {
        if ring.takeWaiter(.receiver) { Scheduler.withLock { receivers.wakeAll() } }
    }

    /// The call/reply step after a put (lock held): the CPU goes straight
    /// to a receiver sleeping on this ring (`Scheduler.handOff`, no trip
    /// through the run queues) while the caller sleeps on `reply`. Without
    /// `mayWait` (a signal is waiting for the caller), or if `reply`
    /// already holds a message, the receiver is only woken and the caller
    /// does not sleep.
    ///
    /// Returns, lock held, once the caller is woken and off `reply`'s
    /// queue, possibly without a reply (a signal, a close): the caller
    /// then receives through a reference to `reply` it holds or looks up
    /// again. `reply` itself is not touched after the sleep, because while
    /// the caller slept the ring's last handle may have closed (which
    /// empties its queues): the caller leaves the queue through its own
    /// record (`WaitQueue.leaveCurrentQueue`).
    @inline(__always)
    func passToReceiver(andWaitOn reply: KernelRing, mayWait: Bool = true) {
        assert(Scheduler.lock.isHeldHere, "passToReceiver needs the scheduler lock")
        let waiter = ring.takeWaiter(.receiver) ? receivers.takeFirst() : nil
        if waiter != nil { receivers.wakeAll() }          // any others re-check
        guard mayWait, reply.ring.prepareToWait(.receiver) else {
            if let waiter { Scheduler.wake(waiter) }
            return
        }
        reply.receivers.enqueueCurrent()
        if let waiter {
            Scheduler.handOff(to: waiter)
        } else {
            Scheduler.block()
        }
        WaitQueue.leaveCurrentQueue()
    }

    // Kernel threads: the blocking API.

    func send(_ payload: UnsafeRawBufferPointer, type: MessageType = .data) throws(Errno) {
        try put(payload, type: type, block: true, caller: nil)
        wakeReceivers()
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> FusionRing.Received {
        try take(into: buffer, block: true, caller: nil)
    }

    /// Sends `request` and waits for the reply on `reply`: the CPU goes
    /// straight to a kernel thread waiting on this ring, as fring_call's.
    func call(_ request: UnsafeRawBufferPointer, reply: KernelRing,
              into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> FusionRing.Received {
        try put(request, type: .data, block: true, caller: nil)
        Scheduler.withLock { passToReceiver(andWaitOn: reply) }
        return try reply.take(into: buffer, block: true, caller: nil)
    }
}

/// A bound on the ring pages one process creates, counted from creation
/// until the ring itself goes (its last handle, anywhere, closed). Like
/// Linux's cap on pipe buffers per user: ENOMEM past it.
final class RingQuota {
    /// Four of the largest rings (32,768 slots: 2 MiB + a header page each)
    /// and 64 pages for small ones besides.
    static let pagesPerProcess = 4 * ((RingLayout.bytes(capacity: RingLayout.maximumCapacity) + 4095) / 4096) + 64
    let limitPages: Int
    /// Atomic, no lock: a ring's deinit (which releases) can run wherever
    /// its last reference drops, scheduler lock held or not.
    private let used = Atomic<Int>(0)

    init(limitPages: Int) { self.limitPages = limitPages }

    func reserve(_ pages: Int) throws(Errno) {
        if used.add(pages, ordering: .relaxed).newValue > limitPages {
            used.subtract(pages, ordering: .relaxed)
            throw .outOfMemory
        }
    }

    func release(_ pages: Int) {
        used.subtract(pages, ordering: .relaxed)
    }
}
