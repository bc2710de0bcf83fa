/// Read access to physical memory, one byte at a time.
///
/// The kernel implements this over its direct map of RAM; host tests
/// implement it over byte arrays placed at fake physical addresses. The boot
/// information parsers only ever read through this protocol, so a corrupt
/// pointer handed over by a boot loader becomes a typed error
/// (`BootInfoError.unreadable`) instead of a page fault.
public protocol PhysicalMemoryReader {
    /// The byte at physical `address`, or nil when that address is not readable.
    func byte(at address: UInt64) -> UInt8?
}

// Bounds- and overflow-checked reads shared by both multiboot parsers. Every
// multi-byte value is little-endian, as on x86. Each address is computed with
// overflow checks: boot-loader pointers are untrusted input, and a wrapped
// address would read the wrong memory silently.
extension PhysicalMemoryReader {
    /// `base + offset`, or `.addressOverflow` when the sum does not fit.
    func address(_ base: UInt64, plus offset: UInt64) throws(BootInfoError) -> UInt64 {
        let (sum, overflow) = base.addingReportingOverflow(offset)
        if overflow { throw .addressOverflow(base: base, offset: offset) }
        return sum
    }

    /// The byte at `address`, or `.unreadable`.
    func readByte(at address: UInt64) throws(BootInfoError) -> UInt8 {
        guard let value = byte(at: address) else { throw .unreadable(address: address) }
        return value
    }

    /// The little-endian integer of type `T` starting at `address`.
    func readLittleEndian<T: FixedWidthInteger & UnsignedInteger>(
        _ type: T.Type, at address: UInt64
    ) throws(BootInfoError) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size {
            let byteAddress = try self.address(address, plus: UInt64(index))
            let byte = try readByte(at: byteAddress)
            value |= T(truncatingIfNeeded: byte) << (8 * index)
        }
        return value
    }

    /// The little-endian `UInt16` at `address`.
    func readUInt16(at address: UInt64) throws(BootInfoError) -> UInt16 {
        try readLittleEndian(UInt16.self, at: address)
    }

    /// The little-endian `UInt32` at `address`.
    func readUInt32(at address: UInt64) throws(BootInfoError) -> UInt32 {
        try readLittleEndian(UInt32.self, at: address)
    }

    /// The little-endian `UInt64` at `address`.
    func readUInt64(at address: UInt64) throws(BootInfoError) -> UInt64 {
        try readLittleEndian(UInt64.self, at: address)
    }

    /// `count` consecutive bytes starting at `address`.
    func readBytes(at address: UInt64, count: Int) throws(BootInfoError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for index in 0..<count {
            bytes.append(try readByte(at: try self.address(address, plus: UInt64(index))))
        }
        return bytes
    }

    /// The NUL-terminated string starting at `address`, decoded as UTF-8
    /// (invalid sequences become U+FFFD rather than failing the boot).
    ///
    /// Throws `.unterminatedString` when no NUL appears within the first
    /// `maxLength + 1` bytes: the limit keeps a garbage pointer from making
    /// the kernel walk memory until it faults. A negative `maxLength` means
    /// there is no room even for the NUL.
    func readCString(at address: UInt64, maxLength: Int) throws(BootInfoError) -> String {
        guard maxLength >= 0 else { throw .unterminatedString(address: address) }
        var bytes: [UInt8] = []
        for index in 0..<(maxLength + 1) {
            let byte = try readByte(at: try self.address(address, plus: UInt64(index)))
            if byte == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        throw .unterminatedString(address: address)
    }
}
