import ExoKit

/// The contents of a new process's stack, laid out as Linux's
/// `create_elf_tables` does for x86_64 (System V ABI §3.4.1):
///
/// ```
///   stackTop ──▶ ┌──────────────────────────────┐
///                │ 8 zero bytes                  │ end marker
///                │ execfn "\0"                   │ AT_EXECFN points here
///                │ envp strings "\0" …           │
///                │ argv strings "\0" …           │ argv[0] lowest
///                │ padding to 16                 │
///                │ platform "\0"                 │ AT_PLATFORM ("x86_64")
///                │ 16 random bytes               │ AT_RANDOM
///                │ padding so RSP is 16-aligned  │
///                │ auxv pairs …, AT_NULL, 0      │
///                │ NULL                          │
///                │ envp[0] … envp[envc-1]        │
///                │ NULL                          │
///                │ argv[0] … argv[argc-1]        │
///  stackPointer ▶│ argc                          │ RSP at entry, 16-aligned
///                └──────────────────────────────┘
/// ```
///
/// Linux also moves the stack down by a random amount (ASLR); this builder
/// does not: the caller can lower `stackTop` to get that.
public struct InitialStack: Sendable {
    /// Default cap on argument bytes: 128 KiB (Linux's limit for one string,
    /// and a quarter of what its default 8 MiB stack rlimit allows in total).
    public static let defaultArgumentLimit = 128 * 1024

    /// The bytes to write at `stackPointer ..< stackTop`: `bytes[0]` goes to
    /// `stackPointer`, `bytes.last` to `stackTop - 1`.
    public let bytes: [UInt8]
    /// RSP at the program's entry: 16-aligned, pointing at `argc`.
    public let stackPointer: UInt64
    /// Where each argv string is (the values of argv[i]).
    public let argumentAddresses: [UInt64]
    /// Where each envp string is (the values of envp[i]).
    public let environmentAddresses: [UInt64]
    /// Where the 16 random bytes are (AT_RANDOM).
    public let randomBytesAddress: UInt64
    /// Where the platform string is (AT_PLATFORM), if one was given.
    public let platformAddress: UInt64?
    /// Where the executed path is (AT_EXECFN).
    public let executableNameAddress: UInt64
    /// The auxiliary vector as written, addresses filled in, without the
    /// terminating AT_NULL.
    public let auxiliaryVector: [AuxEntry]

    /// Lays out the stack below `stackTop`.
    ///
    /// - Parameters:
    ///   - stackTop: the address just above the stack (16-byte aligned).
    ///   - arguments, environment: the strings, without NUL terminators.
    ///   - auxiliaryVector: the entries in order, without AT_NULL. Values of
    ///     `.random`, `.platform` and `.executableFileName` are replaced by
    ///     the addresses this builder chooses; `.platform` entries are
    ///     dropped when `platform` is nil.
    ///   - randomBytes: exactly 16 bytes for AT_RANDOM.
    ///   - platform: the AT_PLATFORM string, or nil for none.
    ///   - executableName: the path given to `execve` (AT_EXECFN).
    ///   - argumentLimit: the most bytes argv and envp may take: every
    ///     string with its NUL plus one 8-byte pointer each (as Linux counts).
    /// - Throws: `Errno.argumentListTooLong` (E2BIG) past `argumentLimit`, or
    ///   when the stack would not fit below `stackTop`;
    ///   `Errno.invalidArgument` when a string contains a NUL byte (it
    ///   would silently end early in the program).
    public init(
        stackTop: UInt64,
        arguments: [[UInt8]],
        environment: [[UInt8]],
        auxiliaryVector: [AuxEntry],
        randomBytes: [UInt8],
        platform: [UInt8]? = Array("x86_64".utf8),
        executableName: [UInt8],
        argumentLimit: Int = InitialStack.defaultArgumentLimit
    ) throws(Errno) {
        precondition(Alignment.isAligned(stackTop, to: 16), "stack top must be 16-byte aligned")
        precondition(randomBytes.count == 16, "AT_RANDOM needs exactly 16 bytes")
        precondition(!auxiliaryVector.contains { $0.key == .null }, "AT_NULL is written by the builder")

        // Bail-out checks first: limits and string contents.
        let pointerSize = 8
        var argumentBytes = 0
        for string in arguments + environment {
            if string.contains(0) { throw .invalidArgument }
            argumentBytes += string.count + 1 + pointerSize
            if argumentBytes > argumentLimit { throw .argumentListTooLong }
        }
        if executableName.contains(0) || platform?.contains(0) == true { throw .invalidArgument }
        // Everything fits below stackTop (so the arithmetic below cannot
        // wrap): strings, both paddings, random bytes and every vector word.
        let vectorWords = 1 + (arguments.count + 1) + (environment.count + 1) + 2 * (auxiliaryVector.count + 1)
        let worstCase = UInt64(8 + executableName.count + 1 + argumentBytes + 15 + (platform?.count ?? 0) + 1
            + 16 + vectorWords * pointerSize + 15)
        guard stackTop >= ELFLoadPlan.userSpaceStart, stackTop - ELFLoadPlan.userSpaceStart >= worstCase else {
            throw .argumentListTooLong
        }

        // Addresses, from the top down.
        var cursor = stackTop - 8
        cursor -= UInt64(executableName.count + 1)
        let executableNameAddress = cursor
        var environmentAddresses = [UInt64](repeating: 0, count: environment.count)
        for index in environment.indices.reversed() {
            cursor -= UInt64(environment[index].count + 1)
            environmentAddresses[index] = cursor
        }
        var argumentAddresses = [UInt64](repeating: 0, count: arguments.count)
        for index in arguments.indices.reversed() {
            cursor -= UInt64(arguments[index].count + 1)
            argumentAddresses[index] = cursor
        }
        cursor = Alignment.alignDown(cursor, to: 16)
        var platformAddress: UInt64? = nil
        if let platform {
            cursor -= UInt64(platform.count + 1)
            platformAddress = cursor
        }
        cursor -= 16
        let randomBytesAddress = cursor

        var resolved: [AuxEntry] = []
        resolved.reserveCapacity(auxiliaryVector.count)
        for var entry in auxiliaryVector {
            switch entry.key {
            case .random: entry.value = randomBytesAddress
            case .executableFileName: entry.value = executableNameAddress
            case .platform:
                guard let platformAddress else { continue }
                entry.value = platformAddress
            default: break
            }
            resolved.append(entry)
        }

        // argc, argv + NULL, envp + NULL, auxv + AT_NULL pair.
        let words = 1 + (arguments.count + 1) + (environment.count + 1) + 2 * (resolved.count + 1)
        let stackPointer = Alignment.alignDown(cursor - UInt64(words * pointerSize), to: 16)

        // Point of no return: fill in the bytes.
        var image = StackImage(base: stackPointer, size: Int(stackTop - stackPointer))
        image.copy(executableName, to: executableNameAddress)
        for (string, address) in zip(environment, environmentAddresses) { image.copy(string, to: address) }
        for (string, address) in zip(arguments, argumentAddresses) { image.copy(string, to: address) }
        if let platform, let platformAddress { image.copy(platform, to: platformAddress) }
        image.copy(randomBytes, to: randomBytesAddress)
        var slot = stackPointer
        image.store(UInt64(arguments.count), at: &slot)
        for address in argumentAddresses { image.store(address, at: &slot) }
        image.store(0, at: &slot)
        for address in environmentAddresses { image.store(address, at: &slot) }
        image.store(0, at: &slot)
        for entry in resolved {
            image.store(entry.key.rawValue, at: &slot)
            image.store(entry.value, at: &slot)
        }
        image.store(AuxKey.null.rawValue, at: &slot)
        image.store(0, at: &slot)

        self.bytes = image.bytes
        self.stackPointer = stackPointer
        self.argumentAddresses = argumentAddresses
        self.environmentAddresses = environmentAddresses
        self.randomBytesAddress = randomBytesAddress
        self.platformAddress = platformAddress
        self.executableNameAddress = executableNameAddress
        self.auxiliaryVector = resolved
    }

    /// The same, from Swift strings (their UTF-8 bytes).
    public init(
        stackTop: UInt64,
        arguments: [String],
        environment: [String],
        auxiliaryVector: [AuxEntry],
        randomBytes: [UInt8],
        platform: String? = "x86_64",
        executableName: String,
        argumentLimit: Int = InitialStack.defaultArgumentLimit
    ) throws(Errno) {
        try self.init(
            stackTop: stackTop, arguments: arguments.map { Array($0.utf8) },
            environment: environment.map { Array($0.utf8) }, auxiliaryVector: auxiliaryVector,
            randomBytes: randomBytes, platform: platform.map { Array($0.utf8) },
            executableName: Array(executableName.utf8), argumentLimit: argumentLimit)
    }
}

/// Zero-filled bytes standing for user memory `base ..< base + size`.
private struct StackImage {
    let base: UInt64
    var bytes: [UInt8]

    init(base: UInt64, size: Int) {
        self.base = base
        self.bytes = [UInt8](repeating: 0, count: size)
    }

    /// Writes `string` at `address`. A string's NUL terminator is already
    /// there: the image starts zeroed.
    mutating func copy(_ string: [UInt8], to address: UInt64) {
        let offset = Int(address - base)
        for (index, byte) in string.enumerated() { bytes[offset + index] = byte }
    }

    /// Writes a little-endian 64-bit word at `slot` and moves `slot` past it.
    mutating func store(_ value: UInt64, at slot: inout UInt64) {
        let offset = Int(slot - base)
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
        slot += 8
    }
}
