/// The payload of a `.grant` slot: which in-flight grant, its size, and
/// where the receiver has it mapped. 24 bytes, little-endian: id (UInt32),
/// reserved (UInt32), length (UInt64), address (UInt64).
public struct GrantDescriptor: Equatable, Sendable {
    public static let size = 24
    /// Where `address` sits in the payload: the kernel writes it there when
    /// it maps the grant as the receiver takes it.
    public static let addressOffset = 16
    /// The id of a grant the kernel delivered at send: mapped into the
    /// window of the receiver that was waiting for it (address set), so
    /// nothing is parked to redeem. Transfer ids are never 0 (generations
    /// start at 1).
    public static let deliveredID: UInt32 = 0
    public let id: UInt32
    public let length: UInt64
    /// The first byte of the grant in the receiver, once mapped at receive
    /// (rings created with `mapsGrants`); 0 as sent, and for a grant the
    /// receiver maps itself (fring_grant_map).
    public let address: UInt64

    public init(id: UInt32, length: UInt64, address: UInt64 = 0) {
        self.id = id
        self.length = length
        self.address = address
    }

    public func encode(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.size)
        buffer.storeBytes(of: id.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: 0, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt64.self)
        buffer.storeBytes(of: address.littleEndian, toByteOffset: Self.addressOffset, as: UInt64.self)
    }

    /// Decodes a received payload; `.corrupt` if it is not one.
    public static func decode(_ payload: UnsafeRawBufferPointer) throws(IPCError) -> GrantDescriptor {
        guard payload.count == size else { throw .corrupt }
        return GrantDescriptor(id: UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                               length: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                               address: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: addressOffset,
                                                                                   as: UInt64.self)))
    }
}

/// Objects in flight between processes through a ring: page grants and
/// handles. The sender's side parks the object here under a fresh id and
/// puts the id in a slot; the receiver redeems the id (once) for the
/// object. Each entry remembers its ring and its sender, so a redeemer must
/// name the right ring, and a dying sender's entries can be withdrawn.
///
/// Storage: an array of slots, an id being the slot's index (low
/// `indexBits`) and its generation (the rest, never 0), so park and redeem
/// are one array access, no hashing. A slot's generation changes each
/// time it is freed, so a redeemed or withdrawn id does not name the next
/// transfer parked in its slot (until the generation wraps, after 2^20
/// reuses of one slot, and even then only on the same ring). An orphan
/// (withdrawn because its sender died, not yet redeemed) keeps its slot,
/// so its id keeps saying `.peerGone` until it is redeemed once or its
/// ring goes; orphans count against `limit` like parked entries.
public struct TransferTable<Item> {
    public struct Entry {
        public let ring: ObjectIdentifier
        public let sender: Int32
        public var item: Item
    }

    private enum State {
        case free
        case parked(Entry)
        case orphan(ring: ObjectIdentifier)
    }

    private struct Slot {
        var state: State
        var generation: UInt32
    }

    static var indexBits: UInt32 { 12 }
    private static var generationLimit: UInt32 { 1 << (32 - indexBits) }

    private var slots: [Slot] = []
    private var recycler: SlotRecycler
    public var limit: Int { recycler.limit }
    /// Parked entries (orphans not included).
    public private(set) var count = 0

    public init(limit: Int = 4096) {
        precondition(limit > 0 && limit <= 1 << Int(Self.indexBits))
        recycler = SlotRecycler(limit: limit)
    }

    private static func id(index: Int, generation: UInt32) -> UInt32 {
        generation << indexBits | UInt32(index)
    }

    /// The slot `id` names, if its generation is current.
    private func index(of id: UInt32) -> Int? {
        let index = Int(id & (1 << Self.indexBits - 1))
        guard index < slots.count, slots[index].generation == id >> Self.indexBits else { return nil }
        return index
    }

    private mutating func free(_ index: Int) {
        slots[index].state = .free
        slots[index].generation = recycler.free(index, generation: slots[index].generation,
                                                generationLimit: Self.generationLimit)
    }

    /// Parks `item`, sent by process `sender` on `ring`; returns its id.
    public mutating func park(_ item: Item, ring: ObjectIdentifier, sender: Int32) throws(IPCError) -> UInt32 {
        let index = try recycler.slot(amongst: slots.count)
        if index == slots.count { slots.append(Slot(state: .free, generation: 1)) }
        slots[index].state = .parked(Entry(ring: ring, sender: sender, item: item))
        count += 1
        return Self.id(index: index, generation: slots[index].generation)
    }

    /// Takes the item parked under `id` on `ring`; `.invalidHandle` if
    /// there is none (never parked, already redeemed, withdrawn) or it
    /// travels on another ring.
    public mutating func redeem(_ id: UInt32, ring: ObjectIdentifier) throws(IPCError) -> Entry {
        guard let index = index(of: id) else { throw .invalidHandle }
        switch slots[index].state {
        case .parked(let entry) where entry.ring == ring:
            free(index)
            count -= 1
            return entry
        case .orphan(let owner) where owner == ring:
            free(index)
            throw .peerGone
        default:
            throw .invalidHandle
        }
    }

    /// Whether `id` is still parked (not yet redeemed or withdrawn).
    public func isParked(_ id: UInt32) -> Bool {
        guard let index = index(of: id), case .parked = slots[index].state else { return false }
        return true
    }

    /// Removes and returns every entry matching `predicate` (a dying
    /// sender's, or a closed ring's).
    /// With `orphaning`, the ids are remembered so that their receiver
    /// learns the sender is gone; without (the ring itself is gone), they
    /// are forgotten, with every orphan of that ring.
    public mutating func withdraw(orphaning: Bool = true, where predicate: (Entry) -> Bool) -> [Entry] {
        var removed: [Entry] = []
        for index in slots.indices {
            guard case .parked(let entry) = slots[index].state, predicate(entry) else { continue }
            removed.append(entry)
            count -= 1
            if orphaning { slots[index].state = .orphan(ring: entry.ring) } else { free(index) }
        }
        return removed
    }

    /// Forgets the orphans of `ring` (its last receiver closed it).
    public mutating func forgetOrphans(of ring: ObjectIdentifier) {
        for index in slots.indices {
            if case .orphan(let owner) = slots[index].state, owner == ring { free(index) }
        }
    }
}
