import Synchronization

/// What a handle lets its holder do with the object behind it.
public struct Rights: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Put messages on a ring.
    public static let send = Rights(rawValue: 1 << 0)
    /// Take messages off a ring.
    public static let receive = Rights(rawValue: 1 << 1)
    /// Send zero-copy grants of one's own pages over a ring.
    public static let grant = Rights(rawValue: 1 << 2)
    /// Hand the handle (or a weaker copy) to another process.
    public static let transfer = Rights(rawValue: 1 << 3)

    public static let all: Rights = [.send, .receive, .grant, .transfer]
}

/// A process's name for a kernel object: an index into its handle table
/// plus the slot's generation, so a closed handle's number never silently
/// names the next object put in that slot. Always positive (fits a C int).
public struct Handle: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    static let indexBits: Int32 = 16
    static let generationLimit: UInt16 = 1 << 14

    init(index: Int, generation: UInt16) {
        rawValue = Int32(generation) << Handle.indexBits | Int32(index)
    }

    var index: Int { Int(rawValue & (1 << Handle.indexBits - 1)) }
    var generation: UInt16 { UInt16(truncatingIfNeeded: rawValue >> Handle.indexBits) }
}

/// The clock behind `HandleTable.version`: one for every table, so that no
/// two states of any tables share a number (a new table takes a fresh one
/// as well).
private let handleTableClock = Atomic<UInt64>(0)

/// A per-process capability table: handles to shared objects with rights,
/// checked on every use. The typed base the security work extends.
///
/// Invariants: a live entry's handle has the slot's current generation; a
/// slot's generation changes each time it is freed, so stale handles fail
/// with `.invalidHandle`; rights only shrink when a handle is copied.
public struct HandleTable<Object: AnyObject> {
    struct Entry {
        var object: Object?
        var rights: Rights
        var generation: UInt16
    }

    private var entries: [Entry] = []
    private var recycler: SlotRecycler
    public var limit: Int { recycler.limit }

    public init(limit: Int = 1024) {
        precondition(limit > 0 && limit <= 1 << Int(Handle.indexBits))
        recycler = SlotRecycler(limit: limit)
        version = HandleTable.tick()
    }

    /// Changes with every insert and removal, and differs between any two
    /// tables made separately (a copy keeps its original's until either
    /// changes): whatever a caller learnt from `borrow` (the object behind
    /// a handle, with its rights) still holds while the version is the one
    /// it saw, so it may skip the lookup (the IPC fast paths' ring pair).
    public private(set) var version: UInt64

    private static func tick() -> UInt64 {
        handleTableClock.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Live handles.
    public private(set) var count = 0

    /// Adds `object` with `rights`; throws `.tableFull` at the limit.
    public mutating func insert(_ object: Object, rights: Rights) throws(IPCError) -> Handle {
        let index = try recycler.slot(amongst: entries.count)
        if index == entries.count { entries.append(Entry(object: nil, rights: [], generation: 1)) }
        entries[index].object = object
        entries[index].rights = rights
        count += 1
        version = HandleTable.tick()
        return Handle(index: index, generation: entries[index].generation)
    }

    /// The object behind `handle` if the handle carries every right in
    /// `required`.
    public func lookup(_ handle: Handle, requiring required: Rights) throws(IPCError) -> Object {
        let (object, rights) = try entry(handle)
        guard rights.isSuperset(of: required) else { throw .insufficientRights }
        return object
    }

    /// `lookup` without a reference count: the object behind `handle`, not
    /// retained, or nil for any failure (the caller's slow path reports
    /// which). Valid only while the table keeps the entry: the caller holds
    /// whatever lock guards the table, and gives the object up before it
    /// lets go of that lock.
    @inline(__always)
    public func borrow(_ handle: Handle, requiring required: Rights) -> Unmanaged<Object>? {
        let index = handle.index
        guard handle.rawValue > 0, index < entries.count else { return nil }
        return entries.withUnsafeBufferPointer { (slots: UnsafeBufferPointer<Entry>) -> Unmanaged<Object>? in
            let slot = slots.baseAddress! + index
            guard slot.pointee.generation == handle.generation, slot.pointee.rights.isSuperset(of: required) else {
                return nil
            }
            // The reference's bits, read in place: copying `object` out
            // would retain it.
            let bits = UnsafeRawPointer(slot).load(fromByteOffset: MemoryLayout<Entry>.offset(of: \.object)!,
                                                   as: UnsafeRawPointer?.self)
            return bits.map { Unmanaged<Object>.fromOpaque($0) }
        }
    }

    /// The object and the handle's rights.
    public func entry(_ handle: Handle) throws(IPCError) -> (object: Object, rights: Rights) {
        let index = handle.index
        guard handle.rawValue > 0, index < entries.count, entries[index].generation == handle.generation,
              let object = entries[index].object else { throw .invalidHandle }
        return (object, entries[index].rights)
    }

    /// Closes `handle`, returning what it named.
    @discardableResult
    public mutating func remove(_ handle: Handle) throws(IPCError) -> Object {
        let (object, _) = try entry(handle)
        let index = handle.index
        entries[index].object = nil
        entries[index].rights = []
        entries[index].generation = recycler.free(index, generation: entries[index].generation,
                                                  generationLimit: Handle.generationLimit)
        count -= 1
        version = HandleTable.tick()
        return object
    }

    /// A second handle to the same object with `rights` (a subset of the
    /// original's, which must include `.transfer` when `requireTransfer`).
    public mutating func duplicate(_ handle: Handle, rights: Rights,
                                   requireTransfer: Bool = false) throws(IPCError) -> Handle {
        let (object, held) = try entry(handle)
        guard held.isSuperset(of: rights), !requireTransfer || held.contains(.transfer) else {
            throw .insufficientRights
        }
        return try insert(object, rights: rights)
    }

    /// Every live object with its rights (for fork, and for process death).
    public var live: [(handle: Handle, object: Object, rights: Rights)] {
        var result: [(handle: Handle, object: Object, rights: Rights)] = []
        for index in entries.indices {
            if let object = entries[index].object {
                result.append((Handle(index: index, generation: entries[index].generation), object,
                               entries[index].rights))
            }
        }
        return result
    }

    /// Closes everything, returning what was open.
    public mutating func removeAll() -> [Object] {
        let objects = live.map { $0.object }
        entries.removeAll()
        recycler.removeAll()
        count = 0
        version = HandleTable.tick()
        return objects
    }
}
