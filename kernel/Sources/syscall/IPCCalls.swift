import ExoABI
import ExoIPC
import ExoKit
import ExoSched

/// Fusion Ring system calls (numbers in ExoABI's FusionRingCalls.swift).
/// Every call names a ring by a handle in the caller's own table and is
/// refused unless the handle carries the right it needs: send, receive,
/// transfer. Programs that map the ring can also move messages in user
/// space and use the kernel only to sleep and wake (fring_wait/fring_wake).
extension Syscalls {
    static func registerIPCCalls() {
        register(.fringCreate) { c throws(Errno) in try IPC.create(capacity: c.a0, flags: c.a1) }
        register(.fringMap) { c throws(Errno) in try IPC.map(c.a0) }
        register(.fringSend) { c throws(Errno) in
            try IPC.send(c.a0, buffer: c.a1, length: c.a2, flags: FusionRingCallFlags(rawValue: c.a3))
            return 0
        }
        register(.fringReceive) { c throws(Errno) in
            try IPC.receive(c.a0, buffer: c.a1, capacity: c.a2, flags: FusionRingCallFlags(rawValue: c.a3))
        }
        register(.fringCall) { c throws(Errno) in
            try IPC.call(c.a0, buffer: c.a1, length: c.a2, reply: c.a3, replyBuffer: c.a4, replyCapacity: c.a5)
        }
        register(.fringWait) { c throws(Errno) in try IPC.wait(c.a0, side: c.a1); return 0 }
        register(.fringWake) { c throws(Errno) in try IPC.wake(c.a0, side: c.a1); return 0 }
        register(.fringWakeWait) { c throws(Errno) in try IPC.wakeWait(wake: c.a0, wait: c.a1); return 0 }
        register(.fringDuplicate) { c throws(Errno) in try IPC.duplicate(c.a0, rights: c.a1) }
        register(.fringClose) { c throws(Errno) in try IPC.close(c.a0); return 0 }
        register(.fringGrant) { c throws(Errno) in
            try IPC.grant(c.a0, address: c.a1, length: c.a2, flags: FusionRingCallFlags(rawValue: c.a3))
        }
        register(.fringGrantMap) { c throws(Errno) in try IPC.mapGrant(c.a0, id: c.a1) }
        register(.fringGrantWakeWait) { c throws(Errno) in
            try IPC.grantWakeWait(c.a0, address: c.a1, length: c.a2, wait: c.a3)
            return 0
        }
        register(.fringGrantCall) { c throws(Errno) in
            try IPC.grantCall(c.a0, address: c.a1, length: c.a2, reply: c.a3, replyBuffer: c.a4, replyCapacity: c.a5)
        }
        register(.fringSendHandle) { c throws(Errno) in try IPC.sendHandle(c.a0, other: c.a1, rights: c.a2) }
        register(.fringAcceptHandle) { c throws(Errno) in try IPC.acceptHandle(c.a0, id: c.a1) }
        register(.fringSendBatch) { c throws(Errno) in
            try IPC.sendBatch(c.a0, descriptors: c.a1, count: c.a2, flags: FusionRingCallFlags(rawValue: c.a3))
        }
        register(.fringReceiveBatch) { c throws(Errno) in
            try IPC.receiveBatch(c.a0, records: c.a1, count: c.a2, flags: FusionRingCallFlags(rawValue: c.a3))
        }
    }
}

enum IPC {
    private static func handle(_ raw: UInt64) throws(Errno) -> Handle {
        guard raw <= UInt64(Int32.max) else { throw .badFileDescriptor }
        return Handle(rawValue: Int32(raw))
    }

    /// The ring behind `raw` in the caller's table, if the handle has `rights`.
    private static func ring(_ raw: UInt64, requiring rights: Rights,
                             of process: Process = Process.current) throws(Errno) -> KernelRing {
        let name = try handle(raw)
        do throws(IPCError) {
            return try Scheduler.withLockThrowing { () throws(IPCError) -> KernelRing in
                try process.rings.lookup(name, requiring: rights)
            }
        } catch { throw error.errno }
    }

    /// Two rings in one visit to the caller's table (call/reply).
    private static func rings(_ first: UInt64, requiring firstRights: Rights, and second: UInt64,
                              requiring secondRights: Rights,
                              of process: Process) throws(Errno) -> (KernelRing, KernelRing) {
        let firstName = try handle(first), secondName = try handle(second)
        do throws(IPCError) {
            return try Scheduler.withLockThrowing { () throws(IPCError) -> (KernelRing, KernelRing) in
                (try process.rings.lookup(firstName, requiring: firstRights),
                 try process.rings.lookup(secondName, requiring: secondRights))
            }
        } catch { throw error.errno }
    }

    static func create(capacity: UInt64, flags: UInt64) throws(Errno) -> Int64 {
        guard capacity <= UInt64(RingLayout.maximumCapacity), flags <= UInt64(RingFlags.all.rawValue) else {
            throw .invalidArgument
        }
        let process = Process.current
        let ring = try KernelRing(capacity: Int(capacity), flags: RingFlags(rawValue: UInt32(flags)),
                                  quota: process.ringQuota)
        do throws(IPCError) {
            return try Scheduler.withLockThrowing { () throws(IPCError) -> Int64 in
                let name = try process.rings.insert(ring, rights: .all)
                ring.openEnd(.all)
                return Int64(name.rawValue)
            }
        } catch { throw error.errno }
    }

    static func map(_ raw: UInt64) throws(Errno) -> Int64 {
        let ring = try ring(raw, requiring: [])
        let process = Process.current
        guard let space = process.space else { throw .badAddress }
        let start = try space.lock.withLock { () throws(Errno) -> UInt64 in try space.mapShared(frames: ring.frames) }
        return Int64(start)
    }

    static func duplicate(_ raw: UInt64, rights: UInt64) throws(Errno) -> Int64 {
        guard rights <= UInt64(Rights.all.rawValue) else { throw .invalidArgument }
        let process = Process.current
        let name = try handle(raw)
        do throws(IPCError) {
            return try Scheduler.withLockThrowing { () throws(IPCError) -> Int64 in
                let wanted = Rights(rawValue: UInt32(rights))
                let copy = try process.rings.duplicate(name, rights: wanted)
                try process.rings.lookup(copy, requiring: []).openEnd(wanted)
                return Int64(copy.rawValue)
            }
        } catch { throw error.errno }
    }

    static func close(_ raw: UInt64) throws(Errno) {
        let process = Process.current
        let name = try handle(raw)
        do throws(IPCError) {
            try Scheduler.withLockThrowing { () throws(IPCError) in
                let rights = try process.rings.entry(name).rights
                try process.rings.remove(name).closeEnd(rights)
            }
        } catch { throw error.errno }
    }

    // MARK: Messages

    /// Sends up to 56 bytes from user memory; with `.block`, waits for room.
    static func send(_ raw: UInt64, buffer: UInt64, length: UInt64, flags: FusionRingCallFlags) throws(Errno) {
        let thread = UserThread.current
        let ring = try ring(raw, requiring: .send, of: thread.process)
        try send(on: ring, buffer: buffer, length: length, block: flags.contains(.block), thread: thread)
        ring.wakeReceivers()
    }

    private static func send(on ring: KernelRing, buffer: UInt64, length: UInt64, block: Bool,
                             thread: UserThread) throws(Errno) {
        guard length <= UInt64(RingLayout.inlineCapacity) else { throw .messageTooLong }
        try InlineMessage.withBuffer { (raw: UnsafeMutableRawBufferPointer) throws(Errno) in
            try UserMode.copyIn(raw.baseAddress!, from: buffer, length: Int(length))
            try ring.put(UnsafeRawBufferPointer(rebasing: raw[0..<Int(length)]), type: .data, block: block, caller: thread)
        }
    }

    /// Takes one message into user memory: returns type << 16 | length.
    static func receive(_ raw: UInt64, buffer: UInt64, capacity: UInt64, flags: FusionRingCallFlags) throws(Errno) -> Int64 {
        let thread = UserThread.current
        let ring = try ring(raw, requiring: .receive, of: thread.process)
        return try receive(on: ring, buffer: buffer, capacity: capacity, block: flags.contains(.block), thread: thread)
    }

    private static func receive(on ring: KernelRing, buffer: UInt64, capacity: UInt64, block: Bool,
                                thread: UserThread) throws(Errno) -> Int64 {
        return try InlineMessage.withBuffer { (raw: UnsafeMutableRawBufferPointer) throws(Errno) -> Int64 in
            let received = try ring.take(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<Int(min(capacity, 56))]),
                                         block: block, caller: thread)
            if ring.mapsGrants {
                try mapOrRevokeGrant(type: received.type, length: received.length, payload: raw, from: ring,
                                     process: thread.process)
            }
            try UserMode.copyOut(buffer, from: raw.baseAddress!, length: received.length)
            return Int64(received.type.rawValue) << 16 | Int64(received.length)
        }
    }

    /// Send, then wait for the reply on `reply`: when a receiver sleeps on
    /// the first ring, the CPU goes to it directly (Scheduler.handOff), the
    /// call/reply path with no trip through the run queues.
    static func call(_ raw: UInt64, buffer: UInt64, length: UInt64, reply replyRaw: UInt64,
                     replyBuffer: UInt64, replyCapacity: UInt64) throws(Errno) -> Int64 {
        let thread = UserThread.current
        let (ring, reply) = try rings(raw, requiring: .send, and: replyRaw, requiring: .receive, of: thread.process)
        try send(on: ring, buffer: buffer, length: length, block: true, thread: thread)
        Scheduler.withLock { ring.passToReceiver(andWaitOn: reply, mayWait: !thread.hasDeliverableSignal) }
        return try receive(on: reply, buffer: replyBuffer, capacity: replyCapacity, block: true, thread: thread)
    }

    /// fring_wake_wait: the call/reply step for programs that put their
    /// messages in the mapped rings themselves. The CPU goes straight to a
    /// receiver sleeping on `wake`'s ring (`passToReceiver`, as fring_call)
    /// and the caller sleeps on `wait`'s until it may hold a message. No
    /// message is copied, so nothing is ever left half done: it returns on
    /// any wakeup (the caller's loop re-checks its ring, as after a futex
    /// wait), with EINTR for a signal it can take, EPIPE when `wait` is
    /// empty with no sender left. The general path: IPCFastCall.wakeWait
    /// takes the common case first. The signal check is under the lock,
    /// where signals are posted, so none slips in before the sleep.
    static func wakeWait(wake wakeRaw: UInt64, wait waitRaw: UInt64) throws(Errno) {
        let thread = UserThread.current
        let (wakeRing, waitRing) = try rings(wakeRaw, requiring: .send, and: waitRaw, requiring: .receive,
                                             of: thread.process)
        try handOver(to: wakeRing, thenWaitOn: waitRing, thread: thread)
    }

    /// fring_grant_wake_wait: fring_wake_wait with a grant as the request
    /// (the zero-copy twin, as fring_grant_call is fring_call's): the
    /// grant goes onto `raw`'s ring as fring_grant without flags puts it
    /// (errors then: nothing was sent), then the hand-over and the sleep of
    /// fring_wake_wait. The general path: IPCFastCall.grantWakeWait takes
    /// the common case first (and maps the grant at send).
    static func grantWakeWait(_ raw: UInt64, address: UInt64, length: UInt64, wait waitRaw: UInt64) throws(Errno) {
        let thread = UserThread.current
        let (ring, waitRing) = try rings(raw, requiring: [.send, .grant], and: waitRaw, requiring: .receive,
                                         of: thread.process)
        try sendCallGrant(on: ring, address: address, length: length, thread: thread)
        try handOver(to: ring, thenWaitOn: waitRing, thread: thread)
    }

    /// fring_wake_wait's step after its lookups: the CPU to `wakeRing`'s
    /// receiver, the caller asleep on `waitRing` (see `wakeWait`).
    private static func handOver(to wakeRing: KernelRing, thenWaitOn waitRing: KernelRing,
                                 thread: UserThread) throws(Errno) {
        let failure: Errno? = Scheduler.withLock {
            let interrupted = thread.hasDeliverableSignal
            let noSender = waitRing.sendEnds == 0 && !waitRing.ring.hasMessage
            wakeRing.passToReceiver(andWaitOn: waitRing, mayWait: !interrupted && !noSender)
            return interrupted ? .interrupted : noSender ? .brokenPipe : nil
        }
        if let failure { throw failure }
        if thread.hasDeliverableSignal { throw .interrupted }
    }

    /// fring_grant_call: a grant as the request of a call/reply (the
    /// zero-copy fring_call). Shared and read-only, like fring_grant
    /// without flags; the CPU goes straight to a receiver waiting on the
    /// ring, which, on a ring that maps grants, finds the pages mapped.
    static func grantCall(_ raw: UInt64, address: UInt64, length: UInt64, reply replyRaw: UInt64,
                          replyBuffer: UInt64, replyCapacity: UInt64) throws(Errno) -> Int64 {
        let thread = UserThread.current
        let (ring, reply) = try rings(raw, requiring: [.send, .grant], and: replyRaw, requiring: .receive,
                                      of: thread.process)
        try sendCallGrant(on: ring, address: address, length: length, thread: thread)
        Scheduler.withLock { ring.passToReceiver(andWaitOn: reply, mayWait: !thread.hasDeliverableSignal) }
        return try receive(on: reply, buffer: replyBuffer, capacity: replyCapacity, block: true, thread: thread)
    }

    /// On a ring that maps grants (`RingFlags.mapsGrants`), after a take:
    /// the caller's grant window for the ring gives up the grant it held,
    /// and a grant just taken is redeemed and mapped there, its address
    /// written into the descriptor the caller receives. A moved grant is
    /// mapped writable and private on its own, as fring_grant_map would. A
    /// grant delivered at send (`GrantDescriptor.deliveredID`) is already
    /// in the window: its range is only checked (EBADMSG if it is not the
    /// window's). EPIPE when the grant's sender died first (its grants were
    /// withdrawn).
    static func mapOrRevokeGrant(type: MessageType?, length: Int, payload: UnsafeMutableRawBufferPointer,
                                 from ring: KernelRing, process: Process) throws(Errno) {
        guard let space = process.space else { return }
        let ringID = ObjectIdentifier(ring)
        let window = ring.serial
        guard type == .grant, length == GrantDescriptor.size else {
            space.lock.withLock { space.revokeGrantWindow(for: window) }
            return
        }
        let grant: Grant
        do throws(IPCError) {
            let descriptor = try GrantDescriptor.decode(UnsafeRawBufferPointer(rebasing: payload[0..<GrantDescriptor.size]))
            if descriptor.id == GrantDescriptor.deliveredID {
                // Mapped at send into this window (`deliverGrant`); a peer
                // that maps the ring could write such a slot itself, so the
                // range must be the window's.
                let held = space.lock.withLock {
                    space.grantWindow(for: window, holds: descriptor.address, length: descriptor.length)
                }
                guard held else { throw .corrupt }
                return
            }
            grant = try Scheduler.withLockThrowing { () throws(IPCError) -> Grant in
                try grants.redeem(descriptor.id, ring: ringID).item
            }
        } catch {
            space.lock.withLock { space.revokeGrantWindow(for: window) }
            throw error.errno
        }
        defer { grant.release() }                    // the mapping holds its own references
        let start = try space.lock.withLock { () throws(Errno) -> UInt64 in
            if grant.moved {
                space.revokeGrantWindow(for: window)
                return try space.mapShared(frames: grant.frames, writable: true, isPrivate: true)
            }
            return try space.mapGrantWindow(frames: grant.frames, for: window)
        }
        payload.storeBytes(of: (start + grant.offset).littleEndian, toByteOffset: GrantDescriptor.addressOffset,
                           as: UInt64.self)
    }

    // MARK: Batches

    /// A batch call's checks: at most `FusionRingBatch.limit` elements, the
    /// handle with `rights`, the user array in user space. Nil for an empty
    /// batch (which does nothing, after the handle was checked).
    private static func batchRing(_ raw: UInt64, requiring rights: Rights, array: UInt64, count: UInt64,
                                  elementSize: UInt64) throws(Errno) -> (UserThread, KernelRing)? {
        guard count <= FusionRingBatch.limit else { throw .invalidArgument }
        let thread = UserThread.current
        let ring = try ring(raw, requiring: rights, of: thread.process)
        guard count > 0 else { return nil }
        guard UserMode.isUserRange(array, count * elementSize) else { throw .badAddress }
        return (thread, ring)
    }

    /// fring_send_batch: the messages described at `descriptors`, in order,
    /// woken for once. Blocking, it waits for room as often as needed (having
    /// woken the receivers first, so they drain what is already there);
    /// non-blocking, it stops at a full ring. Like writev on a pipe, an error
    /// after some messages went reports how many went; the first message's
    /// error is the call's.
    static func sendBatch(_ raw: UInt64, descriptors: UInt64, count: UInt64, flags: FusionRingCallFlags) throws(Errno) -> Int64 {
        guard let (thread, ring) = try batchRing(raw, requiring: .send, array: descriptors, count: count,
                                                 elementSize: FusionRingBatch.descriptorSize) else { return 0 }
        var sent: Int64 = 0
        defer { if sent > 0 { ring.wakeReceivers() } }
        for index in 0..<count {
            var descriptor = (address: UInt64(0), length: UInt64(0))
            do throws(Errno) {
                try withUnsafeMutableBytes(of: &descriptor) { (raw: UnsafeMutableRawBufferPointer) throws(Errno) in
                    try UserMode.copyIn(raw.baseAddress!, from: descriptors + index * FusionRingBatch.descriptorSize,
                                        length: Int(FusionRingBatch.descriptorSize))
                }
                do throws(Errno) {
                    try send(on: ring, buffer: descriptor.address, length: descriptor.length, block: false, thread: thread)
                } catch {
                    guard error == .tryAgain, flags.contains(.block) else { throw error }
                    ring.wakeReceivers()
                    try send(on: ring, buffer: descriptor.address, length: descriptor.length, block: true, thread: thread)
                }
            } catch {
                if sent > 0 { return sent }
                throw error
            }
            sent += 1
        }
        return sent
    }

    /// fring_recv_batch: up to `count` messages into 64-byte records at
    /// `records`; blocking, it waits for the first one only. Each record is
    /// written with zeros before its message is taken, so an unwritable
    /// record fails with EFAULT before a message is lost.
    static func receiveBatch(_ raw: UInt64, records: UInt64, count: UInt64, flags: FusionRingCallFlags) throws(Errno) -> Int64 {
        guard let (thread, ring) = try batchRing(raw, requiring: .receive, array: records, count: count,
                                                 elementSize: FusionRingBatch.recordSize) else { return 0 }
        var received: Int64 = 0
        while UInt64(received) < count {
            let target = records + UInt64(received) * FusionRingBatch.recordSize
            var record = (header: UInt64(0), payload: InlineMessage())
            do throws(Errno) {
                try withUnsafeMutableBytes(of: &record) { (bytes: UnsafeMutableRawBufferPointer) throws(Errno) in
                    try UserMode.copyOut(target, from: bytes.baseAddress!, length: Int(FusionRingBatch.recordSize))
                    let payload = UnsafeMutableRawBufferPointer(rebasing: bytes[FusionRingBatch.recordHeaderSize...])
                    let message = try ring.take(into: payload, block: flags.contains(.block) && received == 0,
                                                caller: thread)
                    bytes.storeBytes(of: UInt16(message.length), toByteOffset: 0, as: UInt16.self)
                    bytes.storeBytes(of: message.type.rawValue, toByteOffset: 2, as: UInt8.self)
                    bytes.storeBytes(of: message.flags, toByteOffset: 3, as: UInt8.self)
                    try UserMode.copyOut(target, from: bytes.baseAddress!,
                                         length: FusionRingBatch.recordHeaderSize + message.length)
                }
            } catch {
                if received > 0 { break }
                throw error
            }
            received += 1
        }
        return received
    }

    // MARK: User-space rings

    static func wait(_ raw: UInt64, side: UInt64) throws(Errno) {
        guard side <= 1 else { throw .invalidArgument }
        let ring = try ring(raw, requiring: side == 0 ? .receive : .send)
        let thread = UserThread.current
        if side == 0 { try ring.waitForMessage(caller: thread) } else { try ring.waitForRoom(caller: thread) }
    }

    static func wake(_ raw: UInt64, side: UInt64) throws(Errno) {
        guard side <= 1 else { throw .invalidArgument }
        let ring = try ring(raw, requiring: side == 0 ? .send : .receive)
        Scheduler.withLock {
            if side == 0 { ring.receivers.wakeAll() } else { ring.senders.wakeAll() }
        }
    }
}

// MARK: Zero-copy grants and handles in flight

extension IPC {
    /// A grant in flight: the sender's frames (one reference each, held by
    /// the grant) and where the bytes start and end in them.
    struct Grant {
        let frames: [UInt64]
        let offset: UInt64
        let length: UInt64
        /// Moved, not shared: the sender no longer maps the pages, and the
        /// receiver maps them writable and private.
        var moved = false

        func release() { for frame in frames { FrameReferences.release(frame) } }
    }

    /// A capability in flight: counted as an open end of its ring while it
    /// travels, so a sender closing its own copy does not end the ring.
    struct HandleInFlight {
        let ring: KernelRing
        let rights: Rights
    }

    /// Guarded by the scheduler lock.
    nonisolated(unsafe) static var grants = TransferTable<Grant>()
    nonisolated(unsafe) static var handlesInFlight = TransferTable<HandleInFlight>()

    /// Largest zero-copy grant: 64 MiB.
    static let maximumGrant: UInt64 = 64 << 20
    /// Largest grant delivered at send (`deliverGrant`): 64 KiB.
    static let deliveryPageLimit: UInt64 = 16

    /// fring_grant: the pages under the buffer are shared with the
    /// receiver, never copied; the slot carries a `GrantDescriptor`.
    /// Returns the grant's id.
    static func grant(_ raw: UInt64, address: UInt64, length: UInt64, flags: FusionRingCallFlags) throws(Errno) -> Int64 {
        let thread = UserThread.current
        let ring = try ring(raw, requiring: [.send, .grant], of: thread.process)
        let id = try sendGrant(on: ring, address: address, length: length, flags: flags, thread: thread)
        ring.wakeReceivers()
        return id
    }

    /// The request of fring_grant_call and fring_grant_wake_wait: delivered
    /// at send when it can be (`deliverGrant`), as their fast paths do,
    /// else sent as fring_grant without flags (blocking for room).
    private static func sendCallGrant(on ring: KernelRing, address: UInt64, length: UInt64,
                                      thread: UserThread) throws(Errno) {
        if ring.mapsGrants, let space = thread.process.space,
           Scheduler.withLock({ deliverGrant(from: space, address: address, length: length, on: ring) }) {
            return
        }
        _ = try sendGrant(on: ring, address: address, length: length, flags: .block, thread: thread)
    }

    /// fring_grant's work, without the wakeup (a call hands the CPU over
    /// instead): the pages pinned, the grant parked, its descriptor put on
    /// the ring. Returns the grant's id.
    private static func sendGrant(on ring: KernelRing, address: UInt64, length: UInt64, flags: FusionRingCallFlags,
                                  thread: UserThread) throws(Errno) -> Int64 {
        let process = thread.process
        let moving = flags.contains(.move)
        guard let space = process.space else { throw .badAddress }
        let grant = try pinnedGrant(address: address, length: length, moving: moving, in: space)
        let id: UInt32
        do throws(IPCError) {
            id = try Scheduler.withLockThrowing { () throws(IPCError) -> UInt32 in
                try grants.park(grant, ring: ObjectIdentifier(ring), sender: process.pid)
            }
        } catch {
            grant.release()
            throw error.errno
        }
        var payload = (UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &payload) { GrantDescriptor(id: id, length: length).encode(into: $0) }
        do throws(Errno) {
            try withUnsafeBytes(of: &payload) { (raw: UnsafeRawBufferPointer) throws(Errno) in
                try ring.put(raw, type: .grant, block: flags.contains(.block), caller: thread)
            }
        } catch {
            if let parked = try? Scheduler.withLockThrowing({ () throws(IPCError) in
                try grants.redeem(id, ring: ObjectIdentifier(ring))
            }) { parked.item.release() }
            throw error
        }
        // Sent: a moved buffer leaves the sender (the grant's references
        // keep its frames; unmapping drops the sender's own).
        if moving { space.lock.withLock { space.removeRange(address..<address + length) } }   // whole pages
        return Int64(id)
    }

    /// Map-at-send, scheduler lock held: a grant of `[address, address +
    /// length)` to a ring that maps grants, whose one waiting
    /// receiver is asleep on it with the ring empty, goes straight into
    /// that receiver's window for the ring, as its receive would have
    /// mapped it (`UserAddressSpace.deliverGrant`: in place, read from the
    /// sender's tables, nothing pinned or parked), and its descriptor (id
    /// `GrantDescriptor.deliveredID`, the address) onto the ring. The space
    /// locks come after the scheduler lock (the documented order), taken
    /// only if free, the receiver's first. False, with nothing changed,
    /// when it cannot be; the caller then pins and parks as for any ring.
    ///
    /// An empty ring: every earlier message there was taken, so the
    /// window's last grant had its receive, and no grant queued behind
    /// this one can replace it before it is taken (delivery needs an empty
    /// ring again). At most `deliveryPageLimit` pages: the page tables are
    /// read with the scheduler lock held, so a larger grant is pinned and
    /// parked instead (its walk with interrupts on).
    static func deliverGrant(from sender: UserAddressSpace, address: UInt64, length: UInt64,
                             on ring: KernelRing) -> Bool {
        // Arguments fring_grant would refuse are left to it (the caller
        // sends them that way and reports its error).
        guard length > 0, length <= maximumGrant, UserMode.isUserRange(address, length) else { return false }
        let start = address & ~(UserAddressSpace.pageSize - 1)
        let end = (address + length + UserAddressSpace.pageSize - 1) & ~(UserAddressSpace.pageSize - 1)
        guard end - start <= deliveryPageLimit * UserAddressSpace.pageSize, ring.mapsGrants, !ring.ring.hasMessage,
              let receiver = ring.receivers.soleWaiter,
              let process = Threads.borrowedProcess(of: receiver) else { return false }
        // Borrowed: under this lock a process with a thread on a ring's wait
        // queue keeps its space (exec swaps it only after its other threads
        // ended, exit drops it only after all were joined, and a thread
        // leaves its queue under this lock first).
        guard let borrowed = process._withUnsafeGuaranteedRef({ $0.space.map { Unmanaged.passUnretained($0) } }) else {
            return false
        }
        let window = borrowed._withUnsafeGuaranteedRef { space -> UInt64? in
            guard space.lock.tryAcquire() else { return nil }
            defer { space.lock.release() }
            if space === sender { return space.deliverGrant(from: sender, start, end, for: ring.serial) }
            guard sender.lock.tryAcquire() else { return nil }
            defer { sender.lock.release() }
            return space.deliverGrant(from: sender, start, end, for: ring.serial)
        }
        guard let window else { return false }
        var payload: FusionRing.InlinePayload = (0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &payload) {
            GrantDescriptor(id: GrantDescriptor.deliveredID, length: length, address: window + address - start)
                .encode(into: $0)
        }
        // The ring was empty, so this fails only if a peer that maps it
        // scribbled on it: the window then shows pages this caller was
        // granting it anyway, and the caller sends them again.
        do throws(IPCError) {
            try ring.ring.send(inline: &payload, length: GrantDescriptor.size, type: .grant)
        } catch { return false }
        return true
    }

    /// A grant of `[address, address + length)` in `space`: the arguments
    /// checked (EINVAL, EFAULT) and the pages under it pinned (each frame
    /// one more reference, held by the grant). For fring_grant and both
    /// paths of fring_grant_call.
    static func pinnedGrant(address: UInt64, length: UInt64, moving: Bool,
                            in space: UserAddressSpace) throws(Errno) -> Grant {
        guard length > 0, length <= maximumGrant else { throw .invalidArgument }
        // A move takes whole pages: part of a page would take its
        // neighbours' bytes away from the sender too.
        guard !moving || (address | length) & 4095 == 0 else { throw .invalidArgument }
        guard UserMode.isUserRange(address, length) else { throw .badAddress }
        let start = address & ~UInt64(4095)
        let end = (address + length + 4095) & ~UInt64(4095)
        let frames = try space.lock.withLock { () throws(Errno) -> [UInt64] in try space.pinFrames(start, end) }
        return Grant(frames: frames, offset: address - start, length: length, moved: moving)
    }

    /// fring_grant_map: the receiver maps a grant it took off `raw`'s ring,
    /// read-only (moved grants: writable, private; on a ring that maps
    /// grants, in its window); returns the address of its first byte. Once
    /// only; EPIPE if the sender died first (its grants were withdrawn).
    static func mapGrant(_ raw: UInt64, id: UInt64) throws(Errno) -> Int64 {
        let thread = UserThread.current
        let process = thread.process
        let ring = try ring(raw, requiring: .receive, of: process)
        guard id <= UInt64(UInt32.max), let space = process.space else { throw .badFileDescriptor }
        let grant: Grant
        do throws(IPCError) {
            grant = try Scheduler.withLockThrowing { () throws(IPCError) -> Grant in
                try grants.redeem(UInt32(id), ring: ObjectIdentifier(ring)).item
            }
        } catch { throw error.errno }
        defer { grant.release() }                    // the mapping holds its own references
        let start = try space.lock.withLock { () throws(Errno) -> UInt64 in
            // A ring that maps grants keeps them in its window, where the
            // next grant (delivered at send or mapped here) takes the place.
            if ring.mapsGrants && !grant.moved {
                return try space.mapGrantWindow(frames: grant.frames, for: ring.serial)
            }
            return try space.mapShared(frames: grant.frames, writable: grant.moved, isPrivate: grant.moved)
        }
        return Int64(start + grant.offset)
    }

    /// fring_send_handle: a copy of `other` with `rights` travels over the
    /// ring; `other` must carry `.transfer` and every right passed on.
    static func sendHandle(_ raw: UInt64, other: UInt64, rights: UInt64) throws(Errno) -> Int64 {
        let thread = UserThread.current
        let process = thread.process
        let ring = try ring(raw, requiring: .send, of: process)
        guard rights <= UInt64(Rights.all.rawValue) else { throw .invalidArgument }
        let passed = Rights(rawValue: UInt32(rights))
        let name = try handle(other)
        let id: UInt32
        do throws(IPCError) {
            id = try Scheduler.withLockThrowing { () throws(IPCError) -> UInt32 in
                let (object, held) = try process.rings.entry(name)
                guard held.contains(.transfer), held.isSuperset(of: passed) else { throw .insufficientRights }
                let id = try handlesInFlight.park(HandleInFlight(ring: object, rights: passed),
                                                  ring: ObjectIdentifier(ring), sender: process.pid)
                object.openEnd(passed)
                return id
            }
        } catch { throw error.errno }
        var payload = id
        do throws(Errno) {
            try withUnsafeBytes(of: &payload) { (raw: UnsafeRawBufferPointer) throws(Errno) in
                try ring.put(raw, type: .handle, block: true, caller: thread)
            }
        } catch {
            Scheduler.withLock {
                if let parked = try? handlesInFlight.redeem(id, ring: ObjectIdentifier(ring)) {
                    parked.item.ring.closeEnd(parked.item.rights)
                }
            }
            throw error
        }
        ring.wakeReceivers()
        return Int64(id)
    }

    /// fring_accept_handle: the receiver turns a handle message into a
    /// handle in its own table.
    static func acceptHandle(_ raw: UInt64, id: UInt64) throws(Errno) -> Int64 {
        let process = Process.current
        let ring = try ring(raw, requiring: .receive, of: process)
        guard id <= UInt64(UInt32.max) else { throw .badFileDescriptor }
        do throws(IPCError) {
            return try Scheduler.withLockThrowing { () throws(IPCError) -> Int64 in
                let inFlight = try handlesInFlight.redeem(UInt32(id), ring: ObjectIdentifier(ring)).item
                do throws(IPCError) {
                    return Int64(try process.rings.insert(inFlight.ring, rights: inFlight.rights).rawValue)
                } catch {
                    inFlight.ring.closeEnd(inFlight.rights)
                    throw error
                }
            }
        } catch { throw error.errno }
    }

    /// `ring`'s last receive end closed: nothing parked on it can be
    /// redeemed any more. Its grants release their frames and its handles
    /// in flight their ends (which may end other rings in turn); their ids
    /// are forgotten, orphans included. Scheduler lock held.
    static func withdrawTransfers(parkedOn ring: KernelRing) {
        let id = ObjectIdentifier(ring)
        for entry in grants.withdraw(orphaning: false, where: { $0.ring == id }) { entry.item.release() }
        grants.forgetOrphans(of: id)
        let handles = handlesInFlight.withdraw(orphaning: false, where: { $0.ring == id })
        handlesInFlight.forgetOrphans(of: id)
        for entry in handles { entry.item.ring.closeEnd(entry.item.rights) }
    }

    /// A process's last thread is leaving: its grants nobody mapped yet
    /// are withdrawn (their receivers will get EPIPE). Scheduler lock held.
    static func withdrawGrants(of pid: Int32) {
        for entry in grants.withdraw(where: { $0.sender == pid }) { entry.item.release() }
    }
}

/// 56 bytes of stack for one inline payload on its way to or from a slot.
struct InlineMessage {
    var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)

    /// 56 bytes of stack, not zeroed: for a payload that only its first
    /// `length` bytes (written before they are read) ever leave.
    @inline(__always)
    static func withBuffer<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try withUnsafeTemporaryAllocation(byteCount: RingLayout.inlineCapacity, alignment: 8) {
            (raw: UnsafeMutableRawBufferPointer) throws(E) -> R in try body(raw)
        }
    }
}
