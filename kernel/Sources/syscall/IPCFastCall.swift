import CExoArch
import ExoABI
import ExoIPC
import ExoKit
import ExoSched

/// fring_call's (and fring_grant_call's) fast path: one call/reply round
/// of a Fusion Ring as a single routine, checks then commit, for the
/// common case: both handles valid with their rights, a message of at most
/// 56 bytes (or a grant), a reply buffer in user space, nothing pending for
/// the caller, a free slot. A failed check returns nil before anything changed, and the
/// general path (`IPC.call`, through the table) runs the call from the
/// start and reports the error.
///
/// Against the general path it leaves out the table's dispatch, reference
/// counting (the process and its rings are borrowed from tables the
/// scheduler lock guards, and the lock is held from the lookups to the
/// switch), the buffers behind closures, and separate lock visits: one
/// visit looks up both rings, puts the message, takes the waiting receiver
/// and hands it the CPU; the reply's handoff brings the lock back across
/// the switch, and the same visit takes the reply off its ring.
///
/// A receiver parked here is an ordinary blocked thread on the reply
/// ring's wait queue: a signal, a close or the general path can wake it,
/// and it then finds no reply and finishes in the general receive, which
/// reports EINTR, EPIPE or EBADF like any blocking receive.
enum IPCFastCall {
    private static let inlineCapacity = UInt64(RingLayout.inlineCapacity)

    static func call(_ frame: UnsafeMutablePointer<TrapFrame>) -> Int64? {
        let sendRaw = frame.pointee.rdi, buffer = frame.pointee.rsi, length = frame.pointee.rdx
        let replyRaw = frame.pointee.r10, replyBuffer = frame.pointee.r8, replyCapacity = frame.pointee.r9
        // The message buffer checked as 56 bytes (a shorter message near the
        // top of user space takes the general path), the reply buffer as its
        // capacity, up to 56 bytes: a longer reply stays on its ring
        // (EMSGSIZE), as in the general receive. One bound each.
        let lastStart = UserMode.userEnd - inlineCapacity
        let capacity = min(replyCapacity, inlineCapacity)
        guard length <= inlineCapacity, sendRaw | replyRaw <= UInt64(Int32.max),
              buffer >= UserMode.userBase, buffer <= lastStart,
              replyBuffer >= UserMode.userBase, replyBuffer <= UserMode.userEnd - capacity else { return nil }
        // Zeroed: all 56 bytes reach the slot, where a peer that maps the
        // ring can read them. Copied in with interrupts on, before any
        // lock, so a fault is resolved like any other (or refuses the fast
        // path: EFAULT comes from the general one).
        var message: FusionRing.InlinePayload = (0, 0, 0, 0, 0, 0, 0)
        if length > 0 {
            let copied = withUnsafeMutableBytes(of: &message) { (bytes: UnsafeMutableRawBufferPointer) -> Bool in
                UserMode.copyChecked(bytes.baseAddress, UnsafeRawPointer(bitPattern: UInt(buffer)), length: Int(length))
            }
            guard copied else { return nil }
        }
        let sendName = Handle(rawValue: Int32(sendRaw)), replyName = Handle(rawValue: Int32(replyRaw))

        CPU.disableInterrupts()
        Scheduler.lock.acquire()
        let sent = withCallRings(sendName, requiring: .send, thenWaitOn: replyName) { sendRing in
            do throws(IPCError) { try sendRing.ring.send(inline: &message, length: Int(length)) } catch {
                return false            // full or corrupt: the general path waits or reports
            }
            return true
        }
        guard sent else {
            Scheduler.lock.release()
            CPU.enableInterrupts()
            return nil
        }
        return finish(&message, capacity: capacity, replyName: replyName, replyRaw: replyRaw,
                      replyBuffer: replyBuffer, replyCapacity: replyCapacity)
    }

    /// fring_grant_call's fast path: the same round as `call`, with a grant
    /// descriptor as the message. The pages are pinned first, under the
    /// address space's lock only (a fault there is resolved like any);
    /// then, in the one scheduler-lock visit, the grant is parked and its
    /// descriptor put. A failed check gives the pages back and the general
    /// path (`IPC.grantCall`) runs the call and reports the error.
    static func grantCall(_ frame: UnsafeMutablePointer<TrapFrame>) -> Int64? {
        let sendRaw = frame.pointee.rdi, address = frame.pointee.rsi, length = frame.pointee.rdx
        let replyRaw = frame.pointee.r10, replyBuffer = frame.pointee.r8, replyCapacity = frame.pointee.r9
        let capacity = min(replyCapacity, inlineCapacity)
        guard sendRaw | replyRaw <= UInt64(Int32.max),
              replyBuffer >= UserMode.userBase, replyBuffer <= UserMode.userEnd - capacity,
              let borrowed = Threads.borrowedProcess(of: Scheduler.current) else { return nil }
        let (space, pid) = borrowed._withUnsafeGuaranteedRef { ($0.space, $0.pid) }
        guard let space, let grant = try? IPC.pinnedGrant(address: address, length: length, moving: false, in: space)
        else { return nil }
        let sendName = Handle(rawValue: Int32(sendRaw)), replyName = Handle(rawValue: Int32(replyRaw))
        var message: FusionRing.InlinePayload = (0, 0, 0, 0, 0, 0, 0)

        CPU.disableInterrupts()
        Scheduler.lock.acquire()
        let sent = withCallRings(sendName, requiring: [.send, .grant], thenWaitOn: replyName) { sendRing in
            let ringID = ObjectIdentifier(sendRing)
            guard let id = try? IPC.grants.park(grant, ring: ringID, sender: pid) else { return false }
            withUnsafeMutableBytes(of: &message) { GrantDescriptor(id: id, length: length).encode(into: $0) }
            do throws(IPCError) {
                try sendRing.ring.send(inline: &message, length: GrantDescriptor.size, type: .grant)
            } catch {
                _ = try? IPC.grants.redeem(id, ring: ringID)     // not sent: unparked
                return false
            }
            return true
        }
        guard sent else {
            Scheduler.lock.release()
            CPU.enableInterrupts()
            grant.release()
            return nil
        }
        return finish(&message, capacity: capacity, replyName: replyName, replyRaw: replyRaw,
                      replyBuffer: replyBuffer, replyCapacity: replyCapacity)
    }

    /// The end of a call's round, entered with the lock held once the
    /// caller is woken: the reply taken (lock held), then, after the lock,
    /// a grant mapped if the reply ring maps them, and the reply copied
    /// out; without a reply, the general blocking receive decides.
    @inline(__always)
    private static func finish(_ message: UnsafeMutablePointer<FusionRing.InlinePayload>, capacity: UInt64,
                               replyName: Handle, replyRaw: UInt64, replyBuffer: UInt64,
                               replyCapacity: UInt64) -> Int64 {
        let received = takeReply(into: message, capacity: Int(capacity), from: replyName)
        let mapping = mappingRing
        mappingRing = nil
        Scheduler.lock.release()
        CPU.enableInterrupts()
        if let mapping {
            // A ring that maps grants: its window changes outside the lock.
            do throws(Errno) {
                try IPC.mapOrRevokeGrant(type: MessageType(rawValue: UInt8(truncatingIfNeeded: received >> 16)),
                                         length: Int(received & 0xFFFF),
                                         payload: UnsafeMutableRawBufferPointer(start: message, count: 56),
                                         from: mapping.takeUnretainedValue(), process: Process.current)
                mapping.release()
            } catch {
                mapping.release()
                return Int64(error.syscallReturnValue)
            }
        }
        if received >= 0 {
            let replyLength = Int(received & 0xFFFF)
            let copied = replyLength == 0
                || UserMode.copyChecked(UnsafeMutableRawPointer(bitPattern: UInt(replyBuffer)),
                                        UnsafeRawPointer(message), length: replyLength)
            return copied ? received : Int64(Errno.badAddress.syscallReturnValue)
        }
        guard received == noReply else { return received }
        // No reply yet (a signal, a close, or a wakeup meant for others):
        // the general blocking receive decides.
        do {
            return try IPC.receive(replyRaw, buffer: replyBuffer, capacity: replyCapacity, flags: .block)
        } catch {
            return Int64(error.syscallReturnValue)
        }
    }

    /// `takeReply`'s answer when the general receive must decide.
    private static let noReply = Int64.min

    /// A ring that maps grants, retained, from `take` to the caller's
    /// window change after the lock: set and taken under the scheduler
    /// lock, so one variable serves every CPU.
    nonisolated(unsafe) private static var mappingRing: Unmanaged<KernelRing>? = nil

    /// The commit's first half, lock held: checks, then `put` puts the
    /// message onto `sendName`'s ring, and the caller sleeps on
    /// `replyName`'s while the CPU goes straight to a receiver that waits
    /// for the message. Returns with the lock held, once the caller is
    /// woken; false if a check or `put` failed and nothing changed.
    @inline(__always)
    private static func withCallRings(_ sendName: Handle, requiring rights: Rights, thenWaitOn replyName: Handle,
                                      put: (KernelRing) -> Bool) -> Bool {
        let me = Scheduler.current
        guard let process = Threads.borrowedProcess(of: me), SignalDelivery.nothingPending() else { return false }
        return process._withUnsafeGuaranteedRef { process -> Bool in
            guard let sendRing = process.rings.borrow(sendName, requiring: rights),
                  let replyRing = process.rings.borrow(replyName, requiring: .receive) else { return false }
            return sendRing._withUnsafeGuaranteedRef { sendRing -> Bool in
                replyRing._withUnsafeGuaranteedRef { replyRing -> Bool in
                    // Like the general path: EPIPE without a receiver, and
                    // no sleep for a reply nobody can send.
                    guard sendRing.receiveEnds > 0, replyRing.sendEnds > 0, put(sendRing) else { return false }
                    // Point of no return: the message is on the ring.
                    sendRing.passToReceiver(andWaitOn: replyRing)
                    return true
                }
            }
        }
    }

    /// The commit's second half, lock held, after the caller woke (and
    /// left the queue): the reply off its ring, as fring_recv's result
    /// (type << 16 | length, or a negative errno), or `noReply` when there is
    /// none yet; a ring that maps grants is left in `mappingRing`. The ring
    /// is the one the waker handed over when the switch to us was direct;
    /// else it is looked up again, since while the caller slept another of
    /// its threads may have closed the handle.
    @inline(__always)
    private static func takeReply(into message: UnsafeMutablePointer<FusionRing.InlinePayload>, capacity: Int,
                                  from replyName: Handle) -> Int64 {
        let handoff = Threads.handoffs + Scheduler.current.index
        if handoff.pointee.atSwitch &+ 1 == Scheduler.switches, let handed = handoff.pointee.ring {
            handoff.pointee.ring = nil
            return Unmanaged<KernelRing>.fromOpaque(handed)._withUnsafeGuaranteedRef {
                take(into: message, capacity: capacity, from: $0)
            }
        }
        guard let process = Threads.borrowedProcess(of: Scheduler.current) else { return noReply }
        return process._withUnsafeGuaranteedRef { process -> Int64 in
            guard let replyRing = process.rings.borrow(replyName, requiring: .receive) else { return noReply }
            return replyRing._withUnsafeGuaranteedRef { take(into: message, capacity: capacity, from: $0) }
        }
    }

    @inline(__always)
    private static func take(into message: UnsafeMutablePointer<FusionRing.InlinePayload>, capacity: Int,
                             from replyRing: KernelRing) -> Int64 {
        do throws(IPCError) {
            let received = try replyRing.ring.receive(inline: message, capacity: capacity)
            if replyRing.ring.takeWaiter(.sender) { replyRing.senders.wakeAll() }
            if replyRing.mapsGrants { mappingRing = Unmanaged.passRetained(replyRing) }
            return Int64(received.type.rawValue) << 16 | Int64(received.length)
        } catch {
            return error == .empty ? noReply : Int64(error.errno.syscallReturnValue)
        }
    }

    /// fring_wake_wait's fast path (from syscall.S, interrupts off
    /// throughout), for the case a call/reply through the mapped rings
    /// lives in: one receiver sleeps on `wake`'s ring, `wait`'s is empty
    /// with a sender left, nothing is pending for the caller, and the CPU
    /// may go to that receiver lazily (`Scheduler.mayHandOffLazily`).
    /// Checks, then commit, in one lock visit; nil (nothing changed) sends
    /// the call to `wakeWait`, which handles every case. Once woken, like
    /// `wakeWait`, it returns whether a signal came meanwhile (then the
    /// call answers EINTR and its end delivers the signal).
    ///
    /// Against `wakeWait` it leaves out what a sole waiter and a lazy
    /// switch make moot: the waker's fence and exchange on the receiver's
    /// wait word (the receiver is known and woken whatever the word says),
    /// the walk of the queue for others, the run queue's checks (made
    /// before the commit).
    @inline(__always)
    static func wakeWaitDirectly(wake wakeRaw: UInt64, wait waitRaw: UInt64) -> Bool? {
        let me = Scheduler.current
        guard wakeRaw | waitRaw <= UInt64(Int32.max), let process = Threads.borrowedProcess(of: me),
              SignalDelivery.nothingPending(for: me) else { return nil }
        let wakeName = Handle(rawValue: Int32(wakeRaw)), waitName = Handle(rawValue: Int32(waitRaw))
        Scheduler.lock.acquire()
        let switched = process._withUnsafeGuaranteedRef { process -> Bool in
            guard let wakeRing = process.rings.borrow(wakeName, requiring: .send),
                  let waitRing = process.rings.borrow(waitName, requiring: .receive) else { return false }
            return wakeRing._withUnsafeGuaranteedRef { wakeRing -> Bool in
                waitRing._withUnsafeGuaranteedRef { waitRing -> Bool in
                    guard waitRing.sendEnds > 0, let receiver = wakeRing.receivers.soleWaiter,
                          Scheduler.mayHandOffLazily(to: receiver),
                          waitRing.ring.prepareToWait(.receiver) else { return false }
                    // Commit: the receiver off its queue, answered; the
                    // caller on `wait`'s; the CPU to the receiver.
                    wakeRing.receivers.takeSole(receiver)
                    wakeRing.ring.clearWaiter(.receiver)
                    waitRing.receivers.enqueue(me)
                    Threads.handoffs[receiver.index] = Threads.Handoff(
                        ring: UnsafeRawPointer(Unmanaged.passUnretained(wakeRing).toOpaque()),
                        atSwitch: Scheduler.switches)
                    Scheduler.handOffLazily(from: me, to: receiver)
                    return true
                }
            }
        }
        guard switched else {
            Scheduler.lock.release()
            return nil
        }
        // Woken: `wait`'s ring is not touched again (see passToReceiver).
        WaitQueue.leave(me)
        Scheduler.lock.release()
        return !SignalDelivery.nothingPending(for: me)
    }

    /// fring_wake_wait: the call/reply step for programs that put their
    /// messages in the mapped rings themselves. The CPU goes straight to a
    /// receiver sleeping on `wake`'s ring (`passToReceiver`, as fring_call)
    /// and the caller sleeps on `wait`'s until it may hold a message. No
    /// message is copied, so nothing is ever left half done: it returns on
    /// any wakeup (the caller's loop re-checks its ring, as after a futex
    /// wait), with EINTR for a signal, EPIPE when `wait` is empty with no
    /// sender left. One implementation for the table and the fast entry.
    ///
    /// The rings are borrowed, not retained: the lock is held from the
    /// lookups to the sleep, and after it nothing touches them
    /// (`passToReceiver` leaves the queue through the caller's record).
    static func wakeWait(wake wakeRaw: UInt64, wait waitRaw: UInt64) throws(Errno) {
        guard wakeRaw | waitRaw <= UInt64(Int32.max) else { throw .badFileDescriptor }
        let wakeName = Handle(rawValue: Int32(wakeRaw)), waitName = Handle(rawValue: Int32(waitRaw))
        let interrupted = !SignalDelivery.nothingPending()
        CPU.disableInterrupts()
        Scheduler.lock.acquire()
        // (An optional chain here would flatten "no process" into "no failure".)
        let borrowedProcess = Threads.borrowedProcess(of: Scheduler.current)
        let failure: Errno? = borrowedProcess == nil ? .badFileDescriptor
            : borrowedProcess.unsafelyUnwrapped._withUnsafeGuaranteedRef { process -> Errno? in
            guard let wakeRing = process.rings.borrow(wakeName, requiring: .send),
                  let waitRing = process.rings.borrow(waitName, requiring: .receive) else {
                // Which error (the lookups retain, but only here).
                do throws(IPCError) {
                    _ = try process.rings.lookup(wakeName, requiring: .send)
                    _ = try process.rings.lookup(waitName, requiring: .receive)
                } catch { return error.errno }
                return .badFileDescriptor
            }
            return wakeRing._withUnsafeGuaranteedRef { wakeRing -> Errno? in
                waitRing._withUnsafeGuaranteedRef { waitRing -> Errno? in
                    let noSender = waitRing.sendEnds == 0 && !waitRing.ring.hasMessage
                    wakeRing.passToReceiver(andWaitOn: waitRing, mayWait: !interrupted && !noSender)
                    return interrupted ? .interrupted : noSender ? .brokenPipe : nil
                }
            }
        }
        Scheduler.lock.release()
        CPU.enableInterrupts()
        if let failure { throw failure }
        if !SignalDelivery.nothingPending() { throw .interrupted }
    }
}
