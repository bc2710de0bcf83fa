/// The payload of a `.grant` slot: which in-flight grant, and its size.
/// 16 bytes, little-endian: id (UInt32), reserved (UInt32), length (UInt64).
public struct GrantDescriptor: Equatable, Sendable {
    public static let size = 16
    public let id: UInt32
    public let length: UInt64

    public init(id: UInt32, length: UInt64) {
        self.id = id
        self.length = length
    }

    public func encode(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.size)
        buffer.storeBytes(of: id.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: 0, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// Decodes a received payload; `.corrupt` if it is not one.
    public static func decode(_ payload: UnsafeRawBufferPointer) throws(IPCError) -> GrantDescriptor {
        guard payload.count == size else { throw .corrupt }
        return GrantDescriptor(id: UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                               length: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }
}

/// Objects in flight between processes through a ring: page grants and
/// handles. The sender's side parks the object here under a fresh id and
/// puts the id in a slot; the receiver redeems the id (once) for the
/// object. Each entry remembers its ring and its sender, so a redeemer must
/// name the right ring, and a dying sender's entries can be withdrawn.
///
/// Ids are never reused while live (a 32-bit counter, skipping live ids
/// and 0), so a stale id cannot redeem a newer transfer.
public struct TransferTable<Item> {
    public struct Entry {
        public let ring: ObjectIdentifier
        public let sender: Int32
        public var item: Item
    }

    private var entries: [UInt32: Entry] = [:]
    /// Ids withdrawn because their sender died, still unredeemed: redeeming
    /// one says `.peerGone` (once) rather than "no such transfer".
    private var orphans: [UInt32: ObjectIdentifier] = [:]
    private var nextID: UInt32 = 1
    public let limit: Int

    public init(limit: Int = 4096) { self.limit = limit }

    public var count: Int { entries.count }

    /// Parks `item`, sent by process `sender` on `ring`; returns its id.
    public mutating func park(_ item: Item, ring: ObjectIdentifier, sender: Int32) throws(IPCError) -> UInt32 {
        guard entries.count < limit else { throw .tableFull }
        while nextID == 0 || entries[nextID] != nil || orphans[nextID] != nil { nextID &+= 1 }
        let id = nextID
        nextID &+= 1
        entries[id] = Entry(ring: ring, sender: sender, item: item)
        return id
    }

    /// Takes the item parked under `id` on `ring`; `.invalidHandle` if
    /// there is none (never parked, already redeemed, withdrawn) or it
    /// travels on another ring.
    public mutating func redeem(_ id: UInt32, ring: ObjectIdentifier) throws(IPCError) -> Entry {
        guard let entry = entries[id], entry.ring == ring else {
            if orphans[id] == ring {
                orphans[id] = nil
                throw .peerGone
            }
            throw .invalidHandle
        }
        entries[id] = nil
        return entry
    }

    /// Whether `id` is still parked (not yet redeemed or withdrawn).
    public func isParked(_ id: UInt32) -> Bool { entries[id] != nil }

    /// Removes and returns every entry matching `predicate` (a dying
    /// sender's, or a closed ring's).
    /// With `orphaning`, the ids are remembered so that their receiver
    /// learns the sender is gone; without (the ring itself is gone), they
    /// are forgotten, with every orphan of that ring.
    public mutating func withdraw(orphaning: Bool = true, where predicate: (Entry) -> Bool) -> [Entry] {
        var removed: [Entry] = []
        for (id, entry) in entries where predicate(entry) {
            removed.append(entry)
            entries[id] = nil
            if orphaning { orphans[id] = entry.ring }
        }
        return removed
    }

    /// Forgets the orphans of `ring` (its last receiver closed it).
    public mutating func forgetOrphans(of ring: ObjectIdentifier) {
        for (id, owner) in orphans where owner == ring { orphans[id] = nil }
    }
}
