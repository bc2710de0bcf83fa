import ExoKit

/// A fixed-size structure of the Linux x86_64 user ABI, copied between
/// user memory and the kernel as exactly `byteSize` little-endian bytes.
///
/// Encoding never reads host memory layout: every field is written at the
/// offset Linux's C declaration gives it (tests pin the offsets), so the
/// same code is right on the host and in the kernel.
public protocol LinuxABIStruct {
    /// `sizeof` the C structure on x86_64.
    static var byteSize: Int { get }
    /// Writes the structure into `bytes[offset..<offset + byteSize]`.
    /// Precondition: the range lies inside `bytes`.
    func encode(into bytes: inout [UInt8], at offset: Int)
    /// Reads the structure from `bytes[offset..<offset + byteSize]`.
    /// Throws EFAULT when the range does not lie inside `bytes` (a short
    /// copy from user memory); value checks (EINVAL) are separate methods.
    init(decoding bytes: [UInt8], at offset: Int) throws(Errno)
}

extension LinuxABIStruct {
    /// The structure as `byteSize` bytes, ready to copy to user memory.
    public var encoded: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.byteSize)
        encode(into: &bytes, at: 0)
        return bytes
    }

    /// Reads the structure from the start of `bytes`.
    public init(decoding bytes: [UInt8]) throws(Errno) {
        try self.init(decoding: bytes, at: 0)
    }

    /// EFAULT unless `bytes[offset..<offset + byteSize]` exists.
    @inlinable
    public static func checkBounds(_ bytes: [UInt8], at offset: Int) throws(Errno) {
        guard offset >= 0, bytes.count >= byteSize, offset <= bytes.count - byteSize else {
            throw .badAddress
        }
    }
}

/// Little-endian field access at byte offsets, for the ABI encoders in
/// this module. Offsets are checked by the array (a wrong offset is a bug
/// in an encoder and traps); callers check untrusted lengths first.
enum LinuxLayout {
    /// Stores `value` at `bytes[offset...]`, least significant byte first.
    static func store<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
        var remaining = value
        for index in 0..<(T.bitWidth / 8) {
            bytes[offset + index] = UInt8(truncatingIfNeeded: remaining)
            remaining = remaining >> 8
        }
    }

    /// The `T` stored little-endian at `bytes[offset...]`.
    static func load<T: FixedWidthInteger>(_ type: T.Type, from bytes: [UInt8], at offset: Int) -> T {
        var value: T = 0
        for index in stride(from: T.bitWidth / 8 - 1, through: 0, by: -1) {
            value = (value << 8) | T(truncatingIfNeeded: bytes[offset + index])
        }
        return value
    }

    /// Writes `text`'s UTF-8 bytes into a `capacity`-byte C string field,
    /// truncated to leave room for the NUL, zero-filling the rest.
    static func storeCString(_ text: String, capacity: Int, into bytes: inout [UInt8], at offset: Int) {
        var index = 0
        for byte in text.utf8 where index < capacity - 1 {
            bytes[offset + index] = byte
            index += 1
        }
        while index < capacity {
            bytes[offset + index] = 0
            index += 1
        }
    }

    /// The C string in a `capacity`-byte field: up to the first NUL, or the
    /// whole field when it has none.
    static func loadCString(from bytes: [UInt8], at offset: Int, capacity: Int) -> String {
        var end = offset
        while end < offset + capacity && bytes[end] != 0 { end += 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }
}
