import ExoKit
import Testing
@testable import ExoIPC

final class Object {
    let name: String
    init(_ name: String) { self.name = name }
}

@Suite("Capabilities: handle tables with rights")
struct HandleTableTests {
    @Test func lookupChecksRights() throws {
        var table = HandleTable<Object>()
        let ring = Object("ring")
        let handle = try table.insert(ring, rights: [.send])
        #expect(handle.rawValue > 0)
        #expect(try table.lookup(handle, requiring: .send) === ring)
        #expect(throws: IPCError.insufficientRights) { try table.lookup(handle, requiring: .receive) }
        #expect(throws: IPCError.insufficientRights) { try table.lookup(handle, requiring: [.send, .grant]) }
        #expect(IPCError.insufficientRights.errno == .notPermitted)
    }

    @Test func versionChangesWithEveryInsertAndRemoval() throws {
        var table = HandleTable<Object>()
        var seen: Set<UInt64> = [table.version]
        let first = try table.insert(Object("a"), rights: .all)
        #expect(seen.insert(table.version).inserted)
        let copy = try table.duplicate(first, rights: .send)
        #expect(seen.insert(table.version).inserted)
        // Lookups and failed calls leave it.
        let before = table.version
        _ = try table.lookup(copy, requiring: .send)
        _ = table.borrow(first, requiring: .all)
        #expect(throws: IPCError.insufficientRights) { try table.duplicate(copy, rights: .all) }
        #expect(throws: IPCError.invalidHandle) { try table.remove(Handle(rawValue: 0x7FFF)) }
        #expect(table.version == before)
        try table.remove(copy)
        #expect(seen.insert(table.version).inserted)
        _ = table.removeAll()
        #expect(seen.insert(table.version).inserted)
        // A copy keeps the version until one of them changes; a new table
        // never shares one with another.
        var twin = table
        #expect(twin.version == table.version)
        _ = try twin.insert(Object("b"), rights: .all)
        #expect(seen.insert(twin.version).inserted)
        #expect(seen.insert(HandleTable<Object>().version).inserted)
    }

    @Test func closedHandlesStayDeadWhenTheSlotIsReused() throws {
        var table = HandleTable<Object>()
        let first = try table.insert(Object("a"), rights: .all)
        try table.remove(first)
        let second = try table.insert(Object("b"), rights: .all)
        #expect(second != first)
        #expect(throws: IPCError.invalidHandle) { try table.lookup(first, requiring: []) }
        #expect(try table.lookup(second, requiring: []).name == "b")
        #expect(throws: IPCError.invalidHandle) { try table.remove(first) }
        #expect(IPCError.invalidHandle.errno == .badFileDescriptor)
    }

    @Test func forgedHandlesAreRefused() throws {
        var table = HandleTable<Object>()
        _ = try table.insert(Object("a"), rights: .all)
        for raw: Int32 in [0, -1, 1, Int32.max, Int32.min, 1 << 16, 2 << 16 | 0, 1 << 16 | 5] {
            if raw == 1 << 16 { continue }           // the one live handle (index 0, generation 1)
            #expect(throws: IPCError.invalidHandle) { try table.lookup(Handle(rawValue: raw), requiring: []) }
        }
    }

    @Test func duplicatesOnlyLoseRights() throws {
        var table = HandleTable<Object>()
        let full = try table.insert(Object("r"), rights: [.send, .receive, .transfer])
        let sendOnly = try table.duplicate(full, rights: .send, requireTransfer: true)
        #expect(try table.entry(sendOnly).rights == .send)
        #expect(throws: IPCError.insufficientRights) { try table.duplicate(sendOnly, rights: [.send, .receive]) }
        #expect(throws: IPCError.insufficientRights) { try table.duplicate(sendOnly, rights: .send, requireTransfer: true) }
    }

    @Test func tableHasALimit() throws {
        var table = HandleTable<Object>(limit: 3)
        for index in 0..<3 { _ = try table.insert(Object("\(index)"), rights: []) }
        #expect(throws: IPCError.tableFull) { try table.insert(Object("x"), rights: []) }
        #expect(table.count == 3)
        #expect(table.removeAll().count == 3 && table.count == 0)
    }
}

@Suite("Transfers: grants and handles in flight")
struct TransferTableTests {
    @Test func redeemedOnceOnTheRightRingOnly() throws {
        var table = TransferTable<String>()
        let a = Object("a"), b = Object("b")             // alive, so the identifiers differ
        let ringA = ObjectIdentifier(a), ringB = ObjectIdentifier(b)
        let id = try table.park("pages", ring: ringA, sender: 7)
        #expect(id != 0 && table.isParked(id))
        #expect(throws: IPCError.invalidHandle) { try table.redeem(id, ring: ringB) }
        #expect(try table.redeem(id, ring: ringA).item == "pages")
        #expect(throws: IPCError.invalidHandle) { try table.redeem(id, ring: ringA) }
        withExtendedLifetime((a, b)) {}
    }

    @Test func aDyingSendersTransfersAreWithdrawn() throws {
        var table = TransferTable<Int>()
        let ring = ObjectIdentifier(Object("r"))
        let kept = try table.park(1, ring: ring, sender: 1)
        let lost = try table.park(2, ring: ring, sender: 2)
        let withdrawn = table.withdraw { $0.sender == 2 }
        #expect(withdrawn.map(\.item) == [2])
        #expect(table.isParked(kept) && !table.isParked(lost))
        #expect(throws: IPCError.peerGone) { try table.redeem(lost, ring: ring) }   // said once
        #expect(throws: IPCError.invalidHandle) { try table.redeem(lost, ring: ring) }
        #expect(IPCError.peerGone.errno == .brokenPipe)
    }

    /// Through every generation of a slot and its wrap, no id is the one a
    /// grant delivered at send carries instead (GrantDescriptor.deliveredID).
    @Test func noIdIsTheDeliveredMarker() throws {
        var table = TransferTable<Int>(limit: 1)
        let ring = ObjectIdentifier(Object("r"))
        var seen = Set<UInt32>()
        for round in 0..<(1 << 20) + 2 {
            let id = try table.park(round, ring: ring, sender: 1)
            #expect(id != GrantDescriptor.deliveredID)
            seen.insert(id)
            _ = try table.redeem(id, ring: ring)
        }
        #expect(seen.count == (1 << 20) - 1, "every generation of slot 0 but 0 itself, then a wrap")
    }

    /// Ids are slot and generation: a freed slot is reused under a new id,
    /// and the old id names nothing; orphans hold their slot until said.
    @Test func reusedSlotsGetNewIdsAndTheLimitHolds() throws {
        var table = TransferTable<Int>(limit: 2)
        let ring = ObjectIdentifier(Object("r"))
        let first = try table.park(1, ring: ring, sender: 1)
        _ = try table.redeem(first, ring: ring)
        let second = try table.park(2, ring: ring, sender: 1)
        #expect(second != first && second != 0)
        #expect(throws: IPCError.invalidHandle) { try table.redeem(first, ring: ring) }
        let third = try table.park(3, ring: ring, sender: 2)
        #expect(throws: IPCError.tableFull) { try table.park(4, ring: ring, sender: 1) }
        _ = table.withdraw { $0.sender == 2 }                     // `third` becomes an orphan
        #expect(table.count == 1)
        #expect(throws: IPCError.tableFull) { try table.park(4, ring: ring, sender: 1) }
        table.forgetOrphans(of: ring)
        #expect(throws: IPCError.invalidHandle) { try table.redeem(third, ring: ring) }
        let fourth = try table.park(4, ring: ring, sender: 1)
        #expect(try table.redeem(fourth, ring: ring).item == 4)
        #expect(try table.redeem(second, ring: ring).item == 2)
        #expect(table.count == 0)
        // Bogus ids: out of range, wrong generation, zero.
        for bogus: UInt32 in [0, 0xFFFF_FFFF, second ^ 0x1000] {
            #expect(throws: IPCError.invalidHandle) { try table.redeem(bogus, ring: ring) }
        }
    }

    @Test func grantDescriptorRoundTripsAndRejectsWrongSizes() throws {
        var bytes = [UInt8](repeating: 0, count: GrantDescriptor.size)
        bytes.withUnsafeMutableBytes { GrantDescriptor(id: 42, length: 65_536, address: 0x7000_0000).encode(into: $0) }
        let decoded = try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in try GrantDescriptor.decode(raw) }
        #expect(decoded == GrantDescriptor(id: 42, length: 65_536, address: 0x7000_0000))
        #expect(throws: IPCError.corrupt) {
            try bytes.dropLast().withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in try GrantDescriptor.decode(raw) }
        }
    }
}
