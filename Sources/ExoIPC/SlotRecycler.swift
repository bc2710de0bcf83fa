/// The recycling rule of the generation-tagged tables (`HandleTable`,
/// `TransferTable`), whose names are a slot index plus the slot's
/// generation: freed slots are reused last in, first out; new ones are
/// added while the table is under its limit; and a slot's generation moves
/// on each time it is freed (cycling through 1 ..< limit, never 0), so a
/// name goes stale when its slot is freed.
struct SlotRecycler {
    private var freeSlots: [Int] = []
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// The slot for a new entry in a table of `count` slots: a freed one,
    /// or `count` itself (the caller appends it); `.tableFull` at the limit.
    mutating func slot(amongst count: Int) throws(IPCError) -> Int {
        if let reused = freeSlots.popLast() { return reused }
        guard count < limit else { throw .tableFull }
        return count
    }

    /// `index` is free again; returns the generation its next entry gets.
    mutating func free<Generation: FixedWidthInteger & UnsignedInteger>(
        _ index: Int, generation: Generation, generationLimit: Generation) -> Generation {
        freeSlots.append(index)
        return generation % (generationLimit - 1) + 1
    }

    /// Every slot is gone (the table was emptied).
    mutating func removeAll() { freeSlots.removeAll() }
}
