/// Symbols the Embedded Swift runtime expects from its platform.

/// `print` writes through `putchar`: to the console.
@_cdecl("putchar")
func putchar(_ character: CInt) -> CInt {
    Console.write(byte: UInt8(truncatingIfNeeded: character))
    return character
}

/// Seeds Swift's hashing (Dictionary and Set). From RDRAND when the CPU has
/// it; otherwise from TSC readings mixed by SplitMix64, which is not
/// cryptographic (the boot log says which source is in use).
@_cdecl("arc4random_buf")
func arc4randomBuf(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
    var state = CPU.timestamp()
    var offset = 0
    while offset < count {
        let value: UInt64
        if let random = CPU.hardwareRandom() {
            value = random
        } else {
            state = state &+ 0x9E37_79B9_7F4A_7C15 &+ CPU.timestamp()
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            value = z ^ (z >> 31)
        }
        let chunk = min(8, count - offset)
        withUnsafeBytes(of: value) { bytes in
            (buffer + offset).copyMemory(from: bytes.baseAddress!, byteCount: chunk)
        }
        offset += chunk
    }
}

/// Dictionary growth rounds capacities with `ceil`. Written in Swift so
/// caller and callee agree on how a Double is passed: the kernel is built
/// without SSE, where a C `ceil` would return in xmm0 (notes/toolchain.md).
@_cdecl("ceil")
func ceil(_ x: Double) -> Double {
    // NaN, infinities and anything of magnitude >= 2^52 are already integral.
    guard x.isFinite, x.magnitude < 4_503_599_627_370_496.0 else { return x }
    let truncated = Double(Int64(x))
    return truncated < x ? truncated + 1 : truncated
}
