import CExoArch
import ExoABI
import ExoIPC
import ExoKit
import ExoSched

/// The fast paths of the Fusion Ring calls that hand the CPU straight to a
/// peer: fring_call, fring_grant_call, fring_wake_wait and
/// fring_grant_wake_wait, entered from
/// syscall.S's lean frame (the return state and the registers C may
/// clobber; see there) with interrupts off. Each is one routine, checks
/// then commit, for the case a call/reply lives in: both handles valid with
/// their rights, nothing pending for the caller, exactly one receiver
/// sleeping on the ring the call goes to, the CPU free to go to it lazily
/// (`Scheduler.mayHandOffLazily`), a free slot, and for the calls a
/// message of at most 56 bytes (or a grant) and a reply buffer in user
/// space. A failed check answers `.declined` before anything changed, and
/// syscall.S runs the call down the general path (through the table),
/// which handles every case and reports the errors.
///
/// Against the general path they leave out the table's dispatch, reference
/// counting (the process and its rings are borrowed from tables the
/// scheduler lock guards, and the lock is held from the lookups to the
/// switch), the buffers behind closures, separate lock visits, and what a
/// sole waiter and a lazy switch make moot: the fence and exchange on the
/// receiver's wait word (it is known, and woken whatever the word says),
/// the walk of the queue for other waiters, the run queue's bookkeeping.
/// One lock visit looks up both rings, puts the message, takes the waiting
/// receiver and hands it the CPU; the reply's handoff brings the lock back
/// across the switch, and the same visit takes the reply off its ring.
///
/// A caller parked here is an ordinary blocked thread on the reply ring's
/// wait queue: a signal, a close or the general path can wake it, and it
/// then finds no reply and finishes in the general receive, which reports
/// EINTR, EPIPE or EBADF like any blocking receive. Interrupts are turned
/// on only around what can fault or block: the copies from and to user
/// memory, the pinning of a grant, a window's mapping, the general receive.
enum IPCFastCall {
    /// How a fast path leaves, in its answer to syscall.S
    /// (`exo_fast_answer`, with the call's result).
    enum Outcome: UInt64 {
        /// Done: SYSRET returns the result.
        case done = 0
        /// Done, but the end of the call must go the general way (a
        /// signal to deliver): syscall.S completes the frame, result in
        /// its RAX, first.
        case finishSlowly = 1
        /// Nothing changed: the general path runs the call.
        case declined = 2
    }

    private static let declined = exo_fast_answer(result: 0, outcome: Outcome.declined.rawValue)

    private static let inlineCapacity = UInt64(RingLayout.inlineCapacity)

    /// fring_call: `length` bytes at `buffer` (at most 56) onto the
    /// send ring, the CPU to its waiting receiver, the caller asleep on
    /// the reply ring (handle in R10) until the reply comes.
    @inline(__always)
    static func call(send sendRaw: UInt64, buffer: UInt64, length: UInt64, replyBuffer: UInt64,
                     replyCapacity: UInt64, frame: UnsafeMutablePointer<TrapFrame>) -> exo_fast_answer {
        let replyRaw = frame.pointee.r10
        // The message buffer checked as 56 bytes (a shorter message near the
        // top of user space takes the general path), the reply buffer as its
        // capacity, up to 56 bytes: a longer reply stays on its ring
        // (EMSGSIZE), as in the general receive. One bound each.
        let capacity = min(replyCapacity, inlineCapacity)
        guard length <= inlineCapacity, sendRaw | replyRaw <= UInt64(Int32.max),
              buffer >= UserMode.userBase, buffer <= UserMode.userEnd - inlineCapacity,
              replyBuffer >= UserMode.userBase, replyBuffer <= UserMode.userEnd - capacity else { return declined }
        // Zeroed: all 56 bytes reach the slot, where a peer that maps the
        // ring can read them. Copied in before the lock, with interrupts
        // on, so that a fault is resolved like any other (or declines: the
        // general path reports EFAULT).
        var message: FusionRing.InlinePayload = (0, 0, 0, 0, 0, 0, 0)
        if length > 0 {
            CPU.enableInterrupts()
            let copied = withUnsafeMutableBytes(of: &message) { (bytes: UnsafeMutableRawBufferPointer) -> Bool in
                UserMode.copyChecked(bytes.baseAddress, UnsafeRawPointer(bitPattern: UInt(buffer)), length: Int(length))
            }
            CPU.disableInterrupts()
            guard copied else { return declined }
        }
        let me = Scheduler.current
        let replyName = Handle(rawValue: Int32(replyRaw))
        Scheduler.lock.acquire()
        let sent = callRings(me, Handle(rawValue: Int32(sendRaw)), requiring: .send, thenWaitOn: replyName) { sendRing in
            do throws(IPCError) { try sendRing.ring.send(inline: &message, length: Int(length)) } catch {
                return false            // full or corrupt: the general path waits or reports
            }
            return true
        }
        guard sent else {
            Scheduler.lock.release()
            return declined
        }
        return finish(me, &message, capacity: capacity, replyName: replyName, replyRaw: replyRaw,
                      replyBuffer: replyBuffer, replyCapacity: replyCapacity)
    }

    /// fring_grant_call: the same round as `call`, with a grant of
    /// [address, address + length) as the message (`grantRound`).
    @inline(__always)
    static func grantCall(send sendRaw: UInt64, address: UInt64, length: UInt64, replyBuffer: UInt64,
                          replyCapacity: UInt64, frame: UnsafeMutablePointer<TrapFrame>) -> exo_fast_answer {
        let replyRaw = frame.pointee.r10
        let capacity = min(replyCapacity, inlineCapacity)
        let me = Scheduler.current
        guard replyBuffer >= UserMode.userBase, replyBuffer <= UserMode.userEnd - capacity else { return declined }
        var message: FusionRing.InlinePayload = (0, 0, 0, 0, 0, 0, 0)
        guard grantRound(me, send: sendRaw, address: address, length: length, thenWaitOn: replyRaw,
                         message: &message) else { return declined }
        return finish(me, &message, capacity: capacity, replyName: Handle(rawValue: Int32(replyRaw)),
                      replyRaw: replyRaw, replyBuffer: replyBuffer, replyCapacity: replyCapacity)
    }

    /// fring_grant_wake_wait: `grantRound`, then as fring_wake_wait: 0
    /// once woken (EINTR if a signal it can take came meanwhile); the
    /// caller takes the reply from its mapped ring.
    @inline(__always)
    static func grantWakeWait(wake wakeRaw: UInt64, address: UInt64, length: UInt64,
                              frame: UnsafeMutablePointer<TrapFrame>) -> exo_fast_answer {
        let me = Scheduler.current
        var message: FusionRing.InlinePayload = (0, 0, 0, 0, 0, 0, 0)
        guard grantRound(me, send: wakeRaw, address: address, length: length, thenWaitOn: frame.pointee.r10,
                         message: &message) else { return declined }
        Scheduler.lock.release()
        return answer(0, me, onSignal: Int64(Errno.interrupted.syscallReturnValue))
    }

    /// The round of fring_grant_call and fring_grant_wake_wait: a grant of
    /// [address, address + length) onto `sendRaw`'s ring, the CPU to its
    /// waiting receiver, the caller asleep on `waitRaw`'s ring; returns
    /// with the lock held once woken (as `callRings`), or false with
    /// nothing changed. First as map-at-send (`IPC.deliverGrant`): one
    /// scheduler-lock visit puts the pages straight into the waiting
    /// receiver's window, nothing pinned or parked. When that cannot be (no
    /// window yet, a page to fault in, a lock busy), the pages are pinned,
    /// with interrupts on, under the address space's lock only (a fault
    /// there is resolved like any); then, in a second visit, the grant is
    /// parked and its descriptor put. A declined round gives the pages back.
    @inline(__always)
    private static func grantRound(_ me: ThreadID, send sendRaw: UInt64, address: UInt64, length: UInt64,
                                   thenWaitOn waitRaw: UInt64,
                                   message: UnsafeMutablePointer<FusionRing.InlinePayload>) -> Bool {
        guard sendRaw | waitRaw <= UInt64(Int32.max), let borrowed = Threads.borrowedProcess(of: me) else {
            return false
        }
        // The caller's space, borrowed: it stays while the caller runs a
        // system call (an exec in another thread ends this one first).
        let (borrowedSpace, pid) = borrowed._withUnsafeGuaranteedRef {
            ($0.space.map { Unmanaged.passUnretained($0) }, $0.pid)
        }
        guard let sender = borrowedSpace else { return false }
        let sendName = Handle(rawValue: Int32(sendRaw)), waitName = Handle(rawValue: Int32(waitRaw))
        Scheduler.lock.acquire()
        let delivered = callRings(me, sendName, requiring: [.send, .grant], thenWaitOn: waitName) { sendRing in
            sender._withUnsafeGuaranteedRef {
                IPC.deliverGrant(from: $0, address: address, length: length, on: sendRing)
            }
        }
        if delivered { return true }
        Scheduler.lock.release()
        CPU.enableInterrupts()
        let pinned = sender._withUnsafeGuaranteedRef {
            try? IPC.pinnedGrant(address: address, length: length, moving: false, in: $0)
        }
        CPU.disableInterrupts()
        guard let grant = pinned else { return false }
        Scheduler.lock.acquire()
        let sent = callRings(me, sendName, requiring: [.send, .grant], thenWaitOn: waitName) { sendRing in
            let ringID = ObjectIdentifier(sendRing)
            guard let id = try? IPC.grants.park(grant, ring: ringID, sender: pid) else { return false }
            withUnsafeMutableBytes(of: &message.pointee) { GrantDescriptor(id: id, length: length).encode(into: $0) }
            do throws(IPCError) {
                try sendRing.ring.send(inline: message, length: GrantDescriptor.size, type: .grant)
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
            CPU.disableInterrupts()
            return false
        }
        return true
    }

    /// fring_wake_wait: the CPU to the receiver sleeping on `wake`'s ring
    /// (where the caller put a request itself), the caller asleep on
    /// `wait`'s until it may hold a message. Answers 0 once woken, like
    /// the general `IPC.wakeWait` (EINTR if a signal it can take came
    /// meanwhile).
    @inline(__always)
    static func wakeWait(wake wakeRaw: UInt64, wait waitRaw: UInt64) -> exo_fast_answer {
        guard wakeRaw | waitRaw <= UInt64(Int32.max) else { return declined }
        let me = Scheduler.current
        Scheduler.lock.acquire()
        guard callRings(me, Handle(rawValue: Int32(wakeRaw)), requiring: .send,
                        thenWaitOn: Handle(rawValue: Int32(waitRaw)), put: { _ in true }) else {
            Scheduler.lock.release()
            return declined
        }
        // Woken: `wait`'s ring is not touched again (see passToReceiver).
        Scheduler.lock.release()
        return answer(0, me, onSignal: Int64(Errno.interrupted.syscallReturnValue))
    }

    /// The commit, lock held: checks, then `put` puts the message onto
    /// `sendName`'s ring, the caller is queued on `replyName`'s, and the
    /// CPU goes to the receiver waiting on the send ring. Returns with the
    /// lock held, once the caller is woken and off the queue; false if a
    /// check or `put` failed and nothing changed. The pending-signal check
    /// is under the lock, as signals are posted, so none can slip in
    /// between it and the sleep.
    @inline(__always)
    private static func callRings(_ me: ThreadID, _ sendName: Handle, requiring rights: Rights,
                                  thenWaitOn replyName: Handle, put: (KernelRing) -> Bool) -> Bool {
        guard let process = Threads.borrowedProcess(of: me), SignalDelivery.nothingPending(for: me) else { return false }
        return process._withUnsafeGuaranteedRef { process -> Bool in
            guard let (sendRing, replyRing) = ringPair(sendName, requiring: rights, replyName, of: process) else {
                return false
            }
            return sendRing._withUnsafeGuaranteedRef { sendRing -> Bool in
                replyRing._withUnsafeGuaranteedRef { replyRing -> Bool in
                    // Like the general path: EPIPE without a receiver, and
                    // no sleep for a reply nobody can send.
                    guard sendRing.receiveEnds > 0, replyRing.sendEnds > 0,
                          let receiver = sendRing.receivers.soleWaiter, replyRing.receivers.isEmpty,
                          Scheduler.mayHandOffLazily(to: receiver),
                          replyRing.ring.prepareToWait(.receiver) else { return false }
                    guard put(sendRing) else {
                        replyRing.ring.clearWaiter(.receiver)      // withdrawn: nothing changed
                        return false
                    }
                    // Point of no return: the receiver off its queue and
                    // answered, the caller on the reply ring's, the CPU to
                    // the receiver.
                    sendRing.receivers.takeSole(receiver)
                    sendRing.ring.clearWaiter(.receiver)
                    replyRing.receivers.enqueueIntoEmpty(me)
                    Scheduler.handOffLazily(from: me, to: receiver)
                    WaitQueue.leave(me)
                    return true
                }
            }
        }
    }

    /// The rings behind a call's two handles, `sendName` with `rights`
    /// (`.send`, or `.send` and `.grant`) and `replyName` with `.receive`,
    /// not retained (lock held): the process's memo of its last pair while
    /// the handle table has not changed since (`HandleTable.version`),
    /// else the table's answer, remembered. Nil if either check fails.
    @inline(__always)
    private static func ringPair(_ sendName: Handle, requiring rights: Rights, _ replyName: Handle,
                                 of process: Process) -> (Unmanaged<KernelRing>, Unmanaged<KernelRing>)? {
        assert(rights == .send || rights == [.send, .grant], "a call's send rights")
        // Both names are positive Int32s (checked by the callers): 31 bits each.
        let key = UInt64(UInt32(bitPattern: sendName.rawValue)) | UInt64(UInt32(bitPattern: replyName.rawValue)) << 31
            | (rights.contains(.grant) ? 1 << 62 : 0)
        if process.ringPair.key == key, process.ringPair.version == process.rings.version {
            // Both set: a memo with a table's version was stored below.
            return (process.ringPair.send.unsafelyUnwrapped, process.ringPair.reply.unsafelyUnwrapped)
        }
        guard let send = process.rings.borrow(sendName, requiring: rights),
              let reply = process.rings.borrow(replyName, requiring: .receive) else { return nil }
        process.ringPair = RingPairMemo(key: key, version: process.rings.version, send: send, reply: reply)
        return (send, reply)
    }

    /// The end of a call's round, lock held, the caller woken: the reply
    /// off its ring, then, after the lock, copied out (the common case,
    /// inline) or, off the common path, a grant mapped or the general
    /// blocking receive.
    @inline(__always)
    private static func finish(_ me: ThreadID, _ message: UnsafeMutablePointer<FusionRing.InlinePayload>,
                               capacity: UInt64, replyName: Handle, replyRaw: UInt64, replyBuffer: UInt64,
                               replyCapacity: UInt64) -> exo_fast_answer {
        let received = takeReply(me, into: message, capacity: Int(capacity), from: replyName)
        let mapping = mappingRing
        mappingRing = nil
        Scheduler.lock.release()
        guard mapping == nil, received >= 0 else {
            return finishUncommonly(me, message, received: received, mapping: mapping, replyRaw: replyRaw,
                                    replyBuffer: replyBuffer, replyCapacity: replyCapacity)
        }
        let replyLength = Int(received & 0xFFFF)
        var copied = true
        if replyLength > 0 {
            CPU.enableInterrupts()
            copied = UserMode.copyChecked(UnsafeMutableRawPointer(bitPattern: UInt(replyBuffer)),
                                          UnsafeRawPointer(message), length: replyLength)
            CPU.disableInterrupts()
        }
        return answer(copied ? received : Int64(Errno.badAddress.syscallReturnValue), me)
    }

    /// `finish` for a reply ring that maps grants, or when there is no
    /// reply yet (a signal, a close, or a wakeup meant for others: the
    /// general blocking receive decides). Interrupts on for the work.
    @inline(never)
    private static func finishUncommonly(_ me: ThreadID, _ message: UnsafeMutablePointer<FusionRing.InlinePayload>,
                                         received: Int64, mapping: Unmanaged<KernelRing>?, replyRaw: UInt64,
                                         replyBuffer: UInt64, replyCapacity: UInt64) -> exo_fast_answer {
        CPU.enableInterrupts()
        let result = finishWithInterruptsOn(message, received: received, mapping: mapping, replyRaw: replyRaw,
                                            replyBuffer: replyBuffer, replyCapacity: replyCapacity)
        CPU.disableInterrupts()
        return answer(result, me)
    }

    private static func finishWithInterruptsOn(_ message: UnsafeMutablePointer<FusionRing.InlinePayload>,
                                               received: Int64, mapping: Unmanaged<KernelRing>?, replyRaw: UInt64,
                                               replyBuffer: UInt64, replyCapacity: UInt64) -> Int64 {
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
        do {
            return try IPC.receive(replyRaw, buffer: replyBuffer, capacity: replyCapacity, flags: .block)
        } catch {
            return Int64(error.syscallReturnValue)
        }
    }

    /// The call's answer: its result, and whether SYSRET may return it at
    /// once; a signal that came meanwhile (posted under the lock, which
    /// woke the caller) is delivered by the general end, and if it is one
    /// the caller can take the call answers `onSignal` if given
    /// (fring_wake_wait's EINTR, as the general path).
    @inline(__always)
    private static func answer(_ result: Int64, _ me: ThreadID, onSignal: Int64? = nil) -> exo_fast_answer {
        guard SignalDelivery.nothingPending(for: me) else {
            let deliverable = Threads.borrowedUser(of: me)?._withUnsafeGuaranteedRef { $0.hasDeliverableSignal } == true
            return exo_fast_answer(result: deliverable ? onSignal ?? result : result,
                                   outcome: Outcome.finishSlowly.rawValue)
        }
        return exo_fast_answer(result: result, outcome: Outcome.done.rawValue)
    }

    /// `takeReply`'s answer when the general receive must decide.
    private static let noReply = Int64.min

    /// A ring that maps grants, retained, from `take` to the caller's
    /// window change after the lock: set and taken under the scheduler
    /// lock, so one variable serves every CPU.
    nonisolated(unsafe) private static var mappingRing: Unmanaged<KernelRing>? = nil

    /// The commit's second half, lock held, after the caller woke (and
    /// left the queue): the reply off its ring, as fring_recv's result
    /// (type << 16 | length, or a negative errno), or `noReply` when there is
    /// none yet; a ring that maps grants is left in `mappingRing`. The ring
    /// is the process's remembered one (`ringPair`) if the handle table has
    /// not changed since; else it is looked up again, since while the
    /// caller slept another of its threads may have closed the handle.
    @inline(__always)
    private static func takeReply(_ me: ThreadID, into message: UnsafeMutablePointer<FusionRing.InlinePayload>,
                                  capacity: Int, from replyName: Handle) -> Int64 {
        guard let process = Threads.borrowedProcess(of: me) else { return noReply }
        return process._withUnsafeGuaranteedRef { process -> Int64 in
            let memo = process.ringPair
            if memo.version == process.rings.version,
               UInt32(truncatingIfNeeded: memo.key >> 31) & 0x7FFF_FFFF == UInt32(bitPattern: replyName.rawValue) {
                return memo.reply.unsafelyUnwrapped._withUnsafeGuaranteedRef {
                    take(into: message, capacity: capacity, from: $0)
                }
            }
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
}

/// `Process.ringPair`: the last pair of rings a fast call named, under
/// `key` (both handles and the send rights wanted), valid while the
/// process's handle table is at `version`. The rings are not retained:
/// the table holds them while its version stands.
struct RingPairMemo {
    var key: UInt64 = 0                 // 0: no pair (handles are positive)
    var version: UInt64 = 0
    var send: Unmanaged<KernelRing>? = nil
    var reply: Unmanaged<KernelRing>? = nil
}
