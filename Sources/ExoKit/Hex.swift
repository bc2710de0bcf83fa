/// Fixed-width hexadecimal text for register dumps and addresses.
///
/// Register dumps must line up and must not allocate much inside a fault
/// handler, so this writes into a caller-supplied sink one ASCII byte at a time.
public enum Hex {
    /// The ASCII digits of `value` as exactly `digits` lowercase hex digits
    /// (most significant first), passed one at a time to `emit`.
    @inlinable
    public static func write(_ value: UInt64, digits: Int = 16, to emit: (UInt8) -> Void) {
        precondition(digits > 0 && digits <= 16)
        var shift = (digits - 1) * 4
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 0xf
            emit(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
            shift -= 4
        }
    }

    /// `value` as `0x` followed by exactly `digits` hex digits.
    public static func string(_ value: UInt64, digits: Int = 16) -> String {
        var bytes: [UInt8] = [0x30, 0x78]
        bytes.reserveCapacity(digits + 2)
        write(value, digits: digits) { bytes.append($0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
