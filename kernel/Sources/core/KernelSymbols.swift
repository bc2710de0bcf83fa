import CExoArch

/// The kernel's own symbol table, for naming addresses in backtraces.
///
/// tools/gen_ksyms.py writes it after a first link; the second link places
/// it in section .ksyms (after all code, so code addresses do not move).
/// Format (little-endian): "EXOSYMS1", u64 count, count x {u64 address,
/// u32 name offset, u32 name length} sorted by address, then the names.
/// An empty or malformed table just means addresses print without names.
enum KernelSymbols {
    struct Match {
        let name: UnsafeBufferPointer<UInt8>
        let offset: UInt64
    }

    private static let magic: UInt64 = 0x3153_4D59_534F_5845   // "EXOSYMS1"
    private static let entrySize = 16

    /// The table's bytes, or nil when there is none or its header is wrong.
    private static var table: UnsafeRawBufferPointer? {
        let start = __ksyms_start_address()
        let end = __ksyms_end_address()
        guard end >= start + 16 else { return nil }
        // Safety: the linker script bounds .ksyms with these two symbols.
        let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(start)), count: Int(truncatingIfNeeded: end &- start))
        guard bytes.load(as: UInt64.self) == magic else { return nil }
        let count = bytes.load(fromByteOffset: 8, as: UInt64.self)
        guard count <= UInt64(bytes.count - 16) / UInt64(entrySize) else { return nil }
        return bytes
    }

    static var count: Int {
        guard let table else { return 0 }
        return Int(table.load(fromByteOffset: 8, as: UInt64.self))
    }

    /// The symbol containing `address` (the last one at or below it, if the
    /// address is in kernel text), or nil.
    static func lookup(_ address: UInt64) -> Match? {
        guard KernelLayout.isText(address), let table else { return nil }
        let count = Int(table.load(fromByteOffset: 8, as: UInt64.self))
        let stringsStart = 16 + count * entrySize
        func entryAddress(_ index: Int) -> UInt64 {
            table.load(fromByteOffset: 16 + index * entrySize, as: UInt64.self)
        }
        // Binary search for the last entry with address <= target.
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if entryAddress(middle) <= address { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return nil }
        let index = low - 1
        let nameOffset = Int(table.load(fromByteOffset: 16 + index * entrySize + 8, as: UInt32.self))
        let nameLength = Int(table.load(fromByteOffset: 16 + index * entrySize + 12, as: UInt32.self))
        guard stringsStart + nameOffset + nameLength <= table.count else { return nil }
        let name = UnsafeBufferPointer(start: table.baseAddress!.advanced(by: stringsStart + nameOffset)
            .assumingMemoryBound(to: UInt8.self), count: nameLength)
        return Match(name: name, offset: address - entryAddress(index))
    }

    /// The name of the symbol at `address` as a String (tests use this).
    static func name(containing address: UInt64) -> String? {
        guard let match = lookup(address) else { return nil }
        return String(decoding: match.name, as: UTF8.self)
    }
}
