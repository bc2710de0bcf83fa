import Synchronization

/// A view of a Fusion Ring in shared memory: a bounded queue of 64-byte
/// slots between producers and one consumer (layout: `RingLayout`).
///
/// Protocol (a bounded queue with per-slot sequence numbers, after Vyukov):
/// slot i starts with sequence i. A producer at position p may fill slot
/// p mod capacity when its sequence is p: it claims p (a plain store of the
/// tail with one producer, a compare-and-swap with several), writes the
/// header and payload, then publishes by storing sequence p + 1 (release).
/// The consumer at position p reads the slot when its sequence is p + 1
/// (acquire), copies the message out, and frees the slot for the next lap
/// by storing sequence p + capacity (release). So:
///
/// - a slot is written by exactly one producer between claim and publish,
///   and read by the consumer only after publish: no torn messages;
/// - sequence = p        free for position p
///   sequence = p + 1    holds position p's message
///   anything else       another lap (full, empty, or a racing producer);
/// - the comparison is on the low 32 bits with wrapping arithmetic, so the
///   64-bit positions and 32-bit sequences may wrap (capacity ≪ 2^31).
///
/// The peer may be hostile: it shares the memory and can write anything
/// at any time. So the view never re-reads the ring's header after
/// `attach` (capacity and flags are kept here), indexes slots modulo its
/// own capacity, and checks each slot header before trusting it. A
/// scribbling peer can make its own messages wrong, never make this side
/// read or write outside the ring.
///
/// Waiting (futex-like): a receiver that found the ring empty announces
/// itself in `receiverWaiting` and re-checks before it sleeps; a sender
/// that published checks the word after a full fence and wakes the
/// receiver if set. The same pair of words serves senders waiting for
/// space. `FusionRing` decides *whether* to sleep or wake; sleeping and
/// waking are the kernel's.
public struct FusionRing: @unchecked Sendable {
    /// A slot's 56 payload bytes as words (`send(inline:)`, `receive(inline:)`).
    public typealias InlinePayload = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    public let flags: RingFlags
    private let mask: UInt64
    /// Claims slots (producers) and messages (consumers) by
    /// compare-and-swap, whatever the ring's flags: set on the kernel's own
    /// view (`withAtomicClaims`), whose sends and receives come from system
    /// calls on any CPU, which must never share a slot or a message.
    public private(set) var claimsAtomically: Bool

    private init(base: UnsafeMutableRawPointer, capacity: Int, flags: RingFlags) {
        self.base = base
        self.capacity = capacity
        self.flags = flags
        self.mask = UInt64(capacity - 1)
        self.claimsAtomically = flags.contains(.multiProducer)
    }

    /// This view, claiming slots atomically whatever the ring's flags say.
    public func withAtomicClaims() -> FusionRing {
        var view = self
        view.claimsAtomically = true
        return view
    }

    /// Lays out a new empty ring in `length` bytes at `base` (zeroed or
    /// not) and returns a view of it.
    /// `startPosition` (normally 0) lets tests begin near the counters'
    /// wrap-around.
    public static func format(at base: UnsafeMutableRawPointer, length: Int, capacity: Int,
                              flags: RingFlags = [], startPosition: UInt64 = 0) throws(IPCError) -> FusionRing {
        guard capacity >= RingLayout.minimumCapacity, capacity <= RingLayout.maximumCapacity,
              capacity & (capacity - 1) == 0, RingLayout.bytes(capacity: capacity) <= length,
              flags.isSubset(of: .all) else { throw .invalidParameters }
        base.initializeMemory(as: UInt8.self, repeating: 0, count: RingLayout.slotsOffset)
        base.storeBytes(of: RingLayout.version, toByteOffset: RingLayout.versionOffset, as: UInt16.self)
        base.storeBytes(of: UInt32(capacity), toByteOffset: RingLayout.capacityOffset, as: UInt32.self)
        base.storeBytes(of: flags.rawValue, toByteOffset: RingLayout.flagsOffset, as: UInt32.self)
        base.storeBytes(of: UInt32(capacity - 1), toByteOffset: RingLayout.slotMaskOffset, as: UInt32.self)
        let ring = FusionRing(base: base, capacity: capacity, flags: flags)
        ring.word64(at: RingLayout.tailOffset).pointee.store(startPosition, ordering: .relaxed)
        ring.word64(at: RingLayout.headOffset).pointee.store(startPosition, ordering: .relaxed)
        for index in 0..<UInt64(capacity) {
            let position = startPosition &+ index
            ring.sequence(ofSlot: position).pointee.store(UInt32(truncatingIfNeeded: position), ordering: .relaxed)
        }
        // The magic last: a ring is valid once it is fully laid out.
        ring.word32(at: RingLayout.magicOffset).pointee.store(RingLayout.magic, ordering: .releasing)
        return ring
    }

    /// A view of a ring another party laid out in the `length` bytes at
    /// `base`; refused with `.corrupt` unless its header is valid.
    public static func attach(at base: UnsafeMutableRawPointer, length: Int) throws(IPCError) -> FusionRing {
        guard length >= RingLayout.slotsOffset else { throw .corrupt }
        let magic = base.advanced(by: RingLayout.magicOffset).assumingMemoryBound(to: Atomic<UInt32>.self)
            .pointee.load(ordering: .acquiring)
        let version = base.load(fromByteOffset: RingLayout.versionOffset, as: UInt16.self)
        let capacity = Int(base.load(fromByteOffset: RingLayout.capacityOffset, as: UInt32.self))
        let flags = RingFlags(rawValue: base.load(fromByteOffset: RingLayout.flagsOffset, as: UInt32.self))
        guard magic == RingLayout.magic, version == RingLayout.version,
              capacity >= RingLayout.minimumCapacity, capacity <= RingLayout.maximumCapacity,
              capacity & (capacity - 1) == 0, RingLayout.bytes(capacity: capacity) <= length,
              flags.isSubset(of: .all) else { throw .corrupt }
        return FusionRing(base: base, capacity: capacity, flags: flags)
    }

    // MARK: Sending

    /// Copies `payload` (at most 56 bytes) into the next free slot.
    /// Throws `.full` when no slot is free (nothing written).
    @inline(__always)
    public func send(_ payload: UnsafeRawBufferPointer, type: MessageType = .data,
                     messageFlags: UInt8 = 0) throws(IPCError) {
        guard payload.count <= RingLayout.inlineCapacity else { throw .messageTooLarge(payload.count) }
        let position = try claim()
        let slot = slotAddress(position)
        slot.storeBytes(of: UInt16(payload.count), toByteOffset: RingLayout.lengthOffset, as: UInt16.self)
        slot.storeBytes(of: type.rawValue, toByteOffset: RingLayout.typeOffset, as: UInt8.self)
        slot.storeBytes(of: messageFlags, toByteOffset: RingLayout.messageFlagsOffset, as: UInt8.self)
        if let source = payload.baseAddress, payload.count > 0 {
            (slot + RingLayout.headerSize).copyMemory(from: source, byteCount: payload.count)
        }
        sequence(ofSlot: position).pointee.store(UInt32(truncatingIfNeeded: position &+ 1), ordering: .releasing)
    }

    /// `send` for a payload whose first `length` bytes are in a whole
    /// 56-byte buffer: all 56 bytes are copied, a fixed copy the compiler
    /// unrolls into seven moves instead of a length-dependent memmove. The
    /// bytes past `length` reach the slot too (where a peer mapping the
    /// ring can read them), so the caller owns them: zeroed, or its own.
    @inline(__always)
    public func send(inline payload: UnsafePointer<InlinePayload>, length: Int,
                     type: MessageType = .data) throws(IPCError) {
        guard length <= RingLayout.inlineCapacity else { throw .messageTooLarge(length) }
        let position = try claim()
        let slot = slotAddress(position)
        slot.storeBytes(of: UInt16(length), toByteOffset: RingLayout.lengthOffset, as: UInt16.self)
        slot.storeBytes(of: type.rawValue, toByteOffset: RingLayout.typeOffset, as: UInt8.self)
        slot.storeBytes(of: 0, toByteOffset: RingLayout.messageFlagsOffset, as: UInt8.self)
        Self.copyInline(from: UnsafeRawPointer(payload), to: slot + RingLayout.headerSize)
        sequence(ofSlot: position).pointee.store(UInt32(truncatingIfNeeded: position &+ 1), ordering: .releasing)
    }

    /// Sends as many of `payloads` as fit, in order; returns how many went.
    /// One wake decision covers the batch (`receiverNeedsWake` once after).
    public func send(batch payloads: [UnsafeRawBufferPointer], type: MessageType = .data) throws(IPCError) -> Int {
        var sent = 0
        for payload in payloads {
            do throws(IPCError) { try send(payload, type: type) } catch {
                if error == .full { break }
                throw error
            }
            sent += 1
        }
        return sent
    }

    /// Claims the next position for this producer, or throws `.full`.
    @inline(__always)
    private func claim() throws(IPCError) -> UInt64 {
        let tail = word64(at: RingLayout.tailOffset)
        var position = tail.pointee.load(ordering: .relaxed)
        // Bounded: honest producers each take a slot per lost race, so a
        // ring that keeps us looping longer than that is being scribbled on.
        for _ in 0..<(capacity &* 4 &+ 64) {
            let state = Int32(bitPattern: sequence(ofSlot: position).pointee.load(ordering: .acquiring)
                &- UInt32(truncatingIfNeeded: position))
            if state == 0 {
                if !claimsAtomically {
                    tail.pointee.store(position &+ 1, ordering: .relaxed)
                    return position
                }
                let (exchanged, current) = tail.pointee.compareExchange(expected: position, desired: position &+ 1,
                                                               ordering: .relaxed)
                if exchanged { return position }
                position = current
            } else if state < 0 {
                throw .full                   // the slot still holds last lap's message
            } else {
                // Another producer claimed `position` (its claim precedes its
                // publish, so the tail has moved on). If it has not, the
                // slot's sequence is not one our protocol writes.
                let reloaded = tail.pointee.load(ordering: .relaxed)
                if reloaded == position || !claimsAtomically { throw .corrupt }
                position = reloaded
            }
        }
        throw .corrupt
    }

    // MARK: Receiving (one consumer)

    /// A message taken off the ring.
    public struct Received: Equatable, Sendable {
        public let type: MessageType
        public let length: Int
        public let flags: UInt8
    }

    /// Copies the oldest message into `buffer` and frees its slot. Throws
    /// `.empty` when there is none, `.bufferTooSmall` (nothing consumed) if
    /// it does not fit, `.corrupt` (slot consumed) for an impossible header.
    @inline(__always)
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Received {
        try take(fitting: buffer.count) { (payload: UnsafeRawPointer, length: Int) in
            if let destination = buffer.baseAddress, length > 0 {
                destination.copyMemory(from: payload, byteCount: length)
            }
        }
    }

    /// `receive` into a whole 56-byte buffer: all 56 payload bytes of the
    /// slot are copied (a fixed copy, as in `send(inline:)`); the message
    /// is the first `length` of them.
    /// A message longer than `capacity` stays (`.bufferTooSmall`), as in
    /// `receive(into:)`.
    @inline(__always)
    public func receive(inline payload: UnsafeMutablePointer<InlinePayload>,
                        capacity: Int = RingLayout.inlineCapacity) throws(IPCError) -> Received {
        try take(fitting: capacity) { (source: UnsafeRawPointer, _: Int) in
            Self.copyInline(from: source, to: UnsafeMutableRawPointer(payload))
        }
    }

    /// 56 bytes as seven word moves, written out: a whole-tuple load
    /// spills through the stack, copyMemory calls memmove, and a loop is
    /// not unrolled at -Osize.
    @inline(__always)
    static func copyInline(from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: source.load(fromByteOffset: 0, as: UInt64.self), toByteOffset: 0, as: UInt64.self)
        destination.storeBytes(of: source.load(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
        destination.storeBytes(of: source.load(fromByteOffset: 16, as: UInt64.self), toByteOffset: 16, as: UInt64.self)
        destination.storeBytes(of: source.load(fromByteOffset: 24, as: UInt64.self), toByteOffset: 24, as: UInt64.self)
        destination.storeBytes(of: source.load(fromByteOffset: 32, as: UInt64.self), toByteOffset: 32, as: UInt64.self)
        destination.storeBytes(of: source.load(fromByteOffset: 40, as: UInt64.self), toByteOffset: 40, as: UInt64.self)
        destination.storeBytes(of: source.load(fromByteOffset: 48, as: UInt64.self), toByteOffset: 48, as: UInt64.self)
    }

    /// The consumer's side of the protocol: finds the oldest message, hands
    /// its payload to `copy`, frees the slot. With `claimsAtomically` the
    /// head is claimed by compare-and-swap before the copy, so consumers
    /// racing in the kernel never take one message twice; otherwise the
    /// single consumer advances it with the release. Bounded like `claim`.
    @inline(__always)
    private func take(fitting capacity: Int,
                      _ copy: (UnsafeRawPointer, Int) -> Void) throws(IPCError) -> Received {
        let head = word64(at: RingLayout.headOffset)
        var position = head.pointee.load(ordering: .relaxed)
        for _ in 0..<(self.capacity &* 4 &+ 64) {
            let state = Int32(bitPattern: sequence(ofSlot: position).pointee.load(ordering: .acquiring)
                &- UInt32(truncatingIfNeeded: position &+ 1))
            guard state == 0 else {
                // A racing consumer may have taken `position` already.
                if claimsAtomically {
                    let reloaded = head.pointee.load(ordering: .relaxed)
                    if reloaded != position { position = reloaded; continue }
                }
                if state < 0 { throw .empty }
                throw .corrupt                // only a scribbling peer moves a slot ahead of us
            }
            let slot = slotAddress(position)
            let length = Int(slot.load(fromByteOffset: RingLayout.lengthOffset, as: UInt16.self))
            let rawType = slot.load(fromByteOffset: RingLayout.typeOffset, as: UInt8.self)
            let messageFlags = slot.load(fromByteOffset: RingLayout.messageFlagsOffset, as: UInt8.self)
            let type = MessageType(rawValue: rawType)
            let valid = length <= RingLayout.inlineCapacity && type != nil
            if valid && length > capacity { throw .bufferTooSmall(needed: length) }
            if claimsAtomically {
                let (exchanged, current) = head.pointee.compareExchange(expected: position, desired: position &+ 1,
                                                                        ordering: .relaxed)
                if !exchanged { position = current; continue }
            }
            guard valid, let type else {
                release(position, head: head)
                throw .corrupt
            }
            copy(slot + RingLayout.headerSize, length)
            release(position, head: head)
            return Received(type: type, length: length, flags: messageFlags)
        }
        throw .corrupt
    }

    /// Frees `position`'s slot for the producers' next lap (and advances
    /// the head, unless a claim did).
    @inline(__always)
    private func release(_ position: UInt64, head: UnsafeMutablePointer<Atomic<UInt64>>) {
        if !claimsAtomically { head.pointee.store(position &+ 1, ordering: .relaxed) }
        sequence(ofSlot: position).pointee.store(UInt32(truncatingIfNeeded: position &+ UInt64(capacity)),
                                         ordering: .releasing)
    }

    /// Whether a message is waiting (a hint: it may change at once).
    @inline(__always)
    public var hasMessage: Bool {
        let position = word64(at: RingLayout.headOffset).pointee.load(ordering: .relaxed)
        return sequence(ofSlot: position).pointee.load(ordering: .acquiring) == UInt32(truncatingIfNeeded: position &+ 1)
    }

    /// Messages waiting (a hint, from the two counters).
    public var count: Int {
        let tail = word64(at: RingLayout.tailOffset).pointee.load(ordering: .acquiring)
        let head = word64(at: RingLayout.headOffset).pointee.load(ordering: .acquiring)
        return Int(min(tail &- head, UInt64(capacity)))
    }

    // MARK: Waiting

    public enum Side: Sendable { case receiver, sender }

    /// Announces that `side` is about to sleep; returns whether it still
    /// should (the ring is still empty for a receiver, full for a sender).
    /// If not, the announcement is withdrawn.
    @inline(__always)
    public func prepareToWait(_ side: Side) -> Bool {
        let word = waitWord(side)
        _ = word.pointee.exchange(1, ordering: .sequentiallyConsistent)   // a full fence
        let stillBlocked = side == .receiver ? !hasMessage : isFull
        if !stillBlocked { word.pointee.store(0, ordering: .relaxed) }
        return stillBlocked
    }

    /// After sending (receiver) or receiving (sender): whether the other
    /// side announced it sleeps, in which case it must be woken. Clears the
    /// announcement, so one wake answers one wait.
    @inline(__always)
    public func takeWaiter(_ side: Side) -> Bool {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let word = waitWord(side)
        guard word.pointee.load(ordering: .relaxed) != 0 else { return false }
        return word.pointee.exchange(0, ordering: .acquiringAndReleasing) != 0
    }

    /// Clears `side`'s announcement without looking at it, for a waker
    /// that already knows the sleeper (it holds it, off its wait queue,
    /// under the lock sleepers announce under) and wakes it whatever the
    /// word says: no fence is needed, since no check follows.
    @inline(__always)
    public func clearWaiter(_ side: Side) {
        waitWord(side).pointee.store(0, ordering: .relaxed)
    }

    /// The address of `side`'s wait word (what a futex sleeps on).
    public func waitWordAddress(_ side: Side) -> UnsafeMutableRawPointer {
        base + (side == .receiver ? RingLayout.receiverWaitingOffset : RingLayout.senderWaitingOffset)
    }

    /// Whether the tail's slot still holds an unconsumed message (a hint).
    @inline(__always)
    public var isFull: Bool {
        let position = word64(at: RingLayout.tailOffset).pointee.load(ordering: .relaxed)
        let state = Int32(bitPattern: sequence(ofSlot: position).pointee.load(ordering: .acquiring)
            &- UInt32(truncatingIfNeeded: position))
        return state < 0
    }

    // MARK: Memory

    @inline(__always)
    private func slotAddress(_ position: UInt64) -> UnsafeMutableRawPointer {
        base + RingLayout.slotsOffset + Int(truncatingIfNeeded: position & mask) &* RingLayout.slotSize   // mask < capacity: no overflow
    }

    @inline(__always)
    private func sequence(ofSlot position: UInt64) -> UnsafeMutablePointer<Atomic<UInt32>> {
        slotAddress(position).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    @inline(__always)
    private func word64(at offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    @inline(__always)
    private func word32(at offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    @inline(__always)
    private func waitWord(_ side: Side) -> UnsafeMutablePointer<Atomic<UInt32>> {
        word32(at: side == .receiver ? RingLayout.receiverWaitingOffset : RingLayout.senderWaitingOffset)
    }
}
