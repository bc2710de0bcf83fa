import CExoArch
import ExoABI
import ExoIPC
import ExoKit
import ExoSched

/// fring_call's fast path: one call/reply round of a Fusion Ring as a
/// single routine, checks then commit, for the common case: both handles
/// valid with their rights, a message of at most 56 bytes, a reply buffer
/// that takes any inline message, nothing pending for the caller, a free
/// slot. A failed check returns nil before anything changed, and the
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
        // Both buffers checked as 56 bytes (a shorter message near the top
        // of user space takes the general path): one bound each.
        let lastStart = UserMode.userEnd - inlineCapacity
        guard length <= inlineCapacity, replyCapacity >= inlineCapacity, sendRaw | replyRaw <= UInt64(Int32.max),
              buffer >= UserMode.userBase, buffer <= lastStart,
              replyBuffer >= UserMode.userBase, replyBuffer <= lastStart else { return nil }
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
        guard send(&message, length: Int(length), on: sendName, thenWaitOn: replyName) else {
            Scheduler.lock.release()
            CPU.enableInterrupts()
            return nil
        }
        // Committed: the message is on its ring. Woken (lock held), the
        // caller takes the reply if it is there.
        let received = takeReply(into: &message, from: replyName)
        Scheduler.lock.release()
        CPU.enableInterrupts()
        switch received {
        case .success(let reply):
            let copied = reply.length == 0 || withUnsafeBytes(of: &message) { (bytes: UnsafeRawBufferPointer) -> Bool in
                UserMode.copyChecked(UnsafeMutableRawPointer(bitPattern: UInt(replyBuffer)), bytes.baseAddress,
                                     length: reply.length)
            }
            guard copied else { return Int64(Errno.badAddress.syscallReturnValue) }
            return Int64(reply.type.rawValue) << 16 | Int64(reply.length)
        case .failure(let error):
            return Int64(error.syscallReturnValue)
        case .none:
            // No reply yet (a signal, a close, or a wakeup meant for
            // others): the general blocking receive decides.
            do {
                return try IPC.receive(replyRaw, buffer: replyBuffer, capacity: replyCapacity, flags: .block)
            } catch {
                return Int64(error.syscallReturnValue)
            }
        }
    }

    /// The commit's first half, lock held: checks, then the message onto
    /// `sendName`'s ring and the caller asleep on `replyName`'s, the CPU
    /// handed straight to a receiver that waits for the message. Returns
    /// with the lock held, once the caller is woken; false if a check
    /// failed and nothing changed.
    @inline(__always)
    private static func send(_ message: UnsafeMutablePointer<FusionRing.InlinePayload>, length: Int,
                             on sendName: Handle, thenWaitOn replyName: Handle) -> Bool {
        let me = Scheduler.current
        guard let process = Threads.borrowedProcess(of: me), SignalDelivery.nothingPending() else { return false }
        return process._withUnsafeGuaranteedRef { process -> Bool in
            guard let sendRing = process.rings.borrow(sendName, requiring: .send),
                  let replyRing = process.rings.borrow(replyName, requiring: .receive) else { return false }
            return sendRing._withUnsafeGuaranteedRef { sendRing -> Bool in
                replyRing._withUnsafeGuaranteedRef { replyRing -> Bool in
                    // Like the general path: EPIPE without a receiver, and
                    // no sleep for a reply nobody can send.
                    // A reply ring that maps grants maps them in the general receive.
                    guard sendRing.receiveEnds > 0, replyRing.sendEnds > 0, !replyRing.mapsGrants else { return false }
                    do throws(IPCError) { try sendRing.ring.send(inline: message, length: length) } catch {
                        return false        // full or corrupt: the general path waits or reports
                    }
                    // Point of no return: the message is on the ring.
                    sendRing.passToReceiver(andWaitOn: replyRing)
                    return true
                }
            }
        }
    }

    /// The commit's second half, lock held, after the caller woke (and
    /// left the queue): the reply off its ring, looked up again, since
    /// while the caller slept another of its threads may have closed the
    /// handle. Nil when there is none yet.
    @inline(__always)
    private static func takeReply(into message: UnsafeMutablePointer<FusionRing.InlinePayload>,
                                  from replyName: Handle) -> Result<FusionRing.Received, Errno>? {
        let me = Scheduler.current
        guard let process = Threads.borrowedProcess(of: me) else { return nil }
        return process._withUnsafeGuaranteedRef { process -> Result<FusionRing.Received, Errno>? in
            guard let replyRing = process.rings.borrow(replyName, requiring: .receive) else { return nil }
            return replyRing._withUnsafeGuaranteedRef { replyRing -> Result<FusionRing.Received, Errno>? in
                do throws(IPCError) {
                    let received = try replyRing.ring.receive(inline: message)
                    if replyRing.ring.takeWaiter(.sender) { replyRing.senders.wakeAll() }
                    return .success(received)
                } catch {
                    return error == .empty ? nil : .failure(error.errno)
                }
            }
        }
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
