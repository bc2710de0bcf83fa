import ExoKit
import Testing
@testable import ExoABI

/// Reads a built stack back the way a program's start code does: through
/// RSP and the pointers it finds there, never through the builder's records.
struct DecodedStack {
    let argc: UInt64
    let arguments: [[UInt8]]
    let environment: [[UInt8]]
    let auxiliaryVector: [(key: UInt64, value: UInt64)]
    /// Address just past the AT_NULL pair.
    let vectorEnd: UInt64

    let stack: InitialStack
    let top: UInt64

    init(_ stack: InitialStack, top: UInt64) {
        self.stack = stack
        self.top = top
        func word(_ address: UInt64) -> UInt64 {
            let offset = Int(address - stack.stackPointer)
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(stack.bytes[offset + index]) << (8 * UInt64(index)) }
            return value
        }
        func string(_ address: UInt64) -> [UInt8] {
            var offset = Int(address - stack.stackPointer)
            var result: [UInt8] = []
            while stack.bytes[offset] != 0 { result.append(stack.bytes[offset]); offset += 1 }
            return result
        }
        var slot = stack.stackPointer
        argc = word(slot)
        slot += 8
        var arguments: [[UInt8]] = []
        while word(slot) != 0 { arguments.append(string(word(slot))); slot += 8 }
        slot += 8
        var environment: [[UInt8]] = []
        while word(slot) != 0 { environment.append(string(word(slot))); slot += 8 }
        slot += 8
        var auxiliaryVector: [(key: UInt64, value: UInt64)] = []
        while word(slot) != AuxKey.null.rawValue {
            auxiliaryVector.append((word(slot), word(slot + 8)))
            slot += 16
        }
        vectorEnd = slot + 16
        self.arguments = arguments
        self.environment = environment
        self.auxiliaryVector = auxiliaryVector
        self.wordAt = word
        self.stringAt = string
    }

    let wordAt: (UInt64) -> UInt64
    let stringAt: (UInt64) -> [UInt8]

    func value(of key: AuxKey) -> UInt64? { auxiliaryVector.first { $0.key == key.rawValue }?.value }

    func bytes(at address: UInt64, count: Int) -> [UInt8] {
        let offset = Int(address - stack.stackPointer)
        return Array(stack.bytes[offset..<offset + count])
    }
}

@Suite("Initial process stack")
struct InitialStackTests {
    static let top: UInt64 = 0x7fff_ffff_f000
    static let random: [UInt8] = Array(0xa0...0xaf)
    static let slashX: [UInt8] = Array("/x".utf8)

    /// The standard vector for the test static-PIE.
    static func standardVector() throws -> [AuxEntry] {
        let plan = try ELFBuilder.positionIndependent.parse().loadPlan()
        return AuxVector.standard(plan: plan, hardwareCapabilities: 0x178b_fbff)
    }

    @Test func decodesBackToTheInputs() throws {
        let auxv = try Self.standardVector()
        let stack = try InitialStack(
            stackTop: Self.top, arguments: ["/bin/sh", "-c", "echo hi"],
            environment: ["PATH=/bin", "HOME=/", "TERM=vt100"], auxiliaryVector: auxv,
            randomBytes: Self.random, executableName: "/bin/sh")
        let decoded = DecodedStack(stack, top: Self.top)

        #expect(stack.stackPointer % 16 == 0)
        #expect(UInt64(stack.bytes.count) == Self.top - stack.stackPointer)
        #expect(decoded.argc == 3)
        #expect(decoded.arguments == [Array("/bin/sh".utf8), Array("-c".utf8), Array("echo hi".utf8)])
        #expect(decoded.environment == [Array("PATH=/bin".utf8), Array("HOME=/".utf8), Array("TERM=vt100".utf8)])
        #expect(decoded.auxiliaryVector.map(\.key) == auxv.map(\.key.rawValue))

        let random = try #require(decoded.value(of: .random))
        #expect(random == stack.randomBytesAddress)
        #expect(decoded.bytes(at: random, count: 16) == Self.random)
        let platform = try #require(decoded.value(of: .platform))
        #expect(decoded.stringAt(platform) == Array("x86_64".utf8))
        let executable = try #require(decoded.value(of: .executableFileName))
        #expect(decoded.stringAt(executable) == Array("/bin/sh".utf8))
        #expect(stack.argumentAddresses[0] == decoded.wordAt(stack.stackPointer + 8))
    }

    @Test func layoutMatchesLinuxCreateElfTables() throws {
        // Worked by hand from fs/binfmt_elf.c and fs/exec.c:
        //   0x10000 - 8 (end marker)       = 0xfff8
        //   "/a\0" (AT_EXECFN)              → 0xfff5
        //   "a\0" (argv[0])                 → 0xfff3
        //   align down to 16                → 0xfff0
        //   "x86_64\0" (AT_PLATFORM)        → 0xffe9
        //   16 random bytes (AT_RANDOM)     → 0xffd9
        //   8 words (argc, argv, NULL, NULL, AT_PAGESZ pair, AT_NULL pair)
        //                                   → 0xff99, aligned down → 0xff90
        let stack = try InitialStack(
            stackTop: 0x10000, arguments: ["a"], environment: [],
            auxiliaryVector: [AuxEntry(.pageSize, 4096)], randomBytes: Self.random, executableName: "/a")
        #expect(stack.stackPointer == 0xff90)
        #expect(stack.executableNameAddress == 0xfff5)
        #expect(stack.argumentAddresses == [0xfff3])
        #expect(stack.platformAddress == 0xffe9)
        #expect(stack.randomBytesAddress == 0xffd9)
        #expect(stack.bytes.count == 0x70)
        let decoded = DecodedStack(stack, top: 0x10000)
        #expect(decoded.vectorEnd == 0xffd0)   // padding lies between the vector and AT_RANDOM
        #expect(stack.bytes.suffix(8) == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(decoded.stringAt(0xfff3) == [UInt8(ascii: "a")])
    }

    @Test func pointerBlockIsAlwaysSixteenByteAligned() throws {
        var random = SplitMix64(seed: 16)
        for _ in 0..<200 {
            let arguments = (0..<random.below(6)).map { _ in [UInt8](repeating: 0x61, count: 1 + random.below(20)) }
            let environment = (0..<random.below(6)).map { _ in [UInt8](repeating: 0x65, count: 1 + random.below(20)) }
            let auxv = (0..<random.below(5)).map { _ in AuxEntry(.ignore, random.next()) }
            let stack = try InitialStack(
                stackTop: Self.top, arguments: arguments, environment: environment, auxiliaryVector: auxv,
                randomBytes: Self.random, executableName: [UInt8](repeating: 0x78, count: 1 + random.below(9)))
            #expect(stack.stackPointer % 16 == 0)
            let decoded = DecodedStack(stack, top: Self.top)
            #expect(decoded.arguments == arguments)
            #expect(decoded.environment == environment)
            #expect(decoded.auxiliaryVector.count == auxv.count)
            // Between the vector and the random bytes: less than 16 bytes of padding.
            #expect(decoded.vectorEnd <= stack.randomBytesAddress)
            #expect(stack.randomBytesAddress - decoded.vectorEnd < 16)
        }
    }

    @Test func stringsAreContiguousArgvFirstThenEnvThenExecfn() throws {
        let stack = try InitialStack(
            stackTop: Self.top, arguments: ["ab", "c"], environment: ["X=1"], auxiliaryVector: [],
            randomBytes: Self.random, executableName: "/x")
        #expect(stack.argumentAddresses[1] == stack.argumentAddresses[0] + 3)
        #expect(stack.environmentAddresses[0] == stack.argumentAddresses[1] + 2)
        #expect(stack.executableNameAddress == stack.environmentAddresses[0] + 4)
        #expect(stack.executableNameAddress + 3 == Self.top - 8)
    }

    @Test func emptyArgumentsStillTerminateEveryList() throws {
        let stack = try InitialStack(
            stackTop: Self.top, arguments: [], environment: [], auxiliaryVector: [],
            randomBytes: Self.random, platform: nil, executableName: "")
        let decoded = DecodedStack(stack, top: Self.top)
        #expect(decoded.argc == 0)
        #expect(decoded.arguments.isEmpty)
        #expect(decoded.environment.isEmpty)
        #expect(decoded.auxiliaryVector.isEmpty)
        #expect(stack.platformAddress == nil)
    }

    @Test func builderFillsInTheAddressesOnlyItKnows() throws {
        let stack = try InitialStack(
            stackTop: Self.top, arguments: ["p"], environment: [],
            auxiliaryVector: [AuxEntry(.random, 0xdead), AuxEntry(.executableFileName, 0xbeef),
                              AuxEntry(.platform, 0xf00d), AuxEntry(.userID, 1000)],
            randomBytes: Self.random, executableName: "/p")
        #expect(stack.auxiliaryVector == [
            AuxEntry(.random, stack.randomBytesAddress), AuxEntry(.executableFileName, stack.executableNameAddress),
            AuxEntry(.platform, stack.platformAddress!), AuxEntry(.userID, 1000),
        ])
        // Without a platform string, AT_PLATFORM is left out.
        let bare = try InitialStack(
            stackTop: Self.top, arguments: ["p"], environment: [],
            auxiliaryVector: [AuxEntry(.platform, 0), AuxEntry(.userID, 1000)],
            randomBytes: Self.random, platform: nil, executableName: "/p")
        #expect(bare.auxiliaryVector == [AuxEntry(.userID, 1000)])
        #expect(DecodedStack(bare, top: Self.top).auxiliaryVector.count == 1)
    }

    @Test func stringAndByteInitializersAgree() throws {
        let fromStrings = try InitialStack(
            stackTop: Self.top, arguments: ["héllo"], environment: ["A=b"], auxiliaryVector: [],
            randomBytes: Self.random, executableName: "/h")
        let fromBytes = try InitialStack(
            stackTop: Self.top, arguments: [Array("héllo".utf8)], environment: [Array("A=b".utf8)],
            auxiliaryVector: [], randomBytes: Self.random, executableName: Array("/h".utf8))
        #expect(fromStrings.bytes == fromBytes.bytes)
        #expect(fromStrings.stackPointer == fromBytes.stackPointer)
    }

    // MARK: Limits and bad input

    @Test func argumentBytesBeyondTheLimitAreE2BIG() throws {
        // Each string costs its bytes, its NUL and its 8-byte pointer.
        let limit = 2 * (10 + 1 + 8)
        let ten = [UInt8](repeating: 0x41, count: 10)
        let fits = try InitialStack(
            stackTop: Self.top, arguments: [ten], environment: [ten], auxiliaryVector: [],
            randomBytes: Self.random, executableName: Self.slashX, argumentLimit: limit)
        #expect(DecodedStack(fits, top: Self.top).argc == 1)
        #expect(throws: Errno.argumentListTooLong) {
            try InitialStack(stackTop: Self.top, arguments: [ten], environment: [ten + [0x41]],
                             auxiliaryVector: [], randomBytes: Self.random, executableName: Self.slashX,
                             argumentLimit: limit)
        }
        #expect(throws: Errno.argumentListTooLong) {
            try InitialStack(stackTop: Self.top, arguments: [[UInt8](repeating: 0x41, count: 128 * 1024)],
                             environment: [], auxiliaryVector: [], randomBytes: Self.random,
                             executableName: Self.slashX)
        }
        // Many empty strings count too (their pointers and NULs).
        let manyEmpty = [[UInt8]](repeating: [], count: InitialStack.defaultArgumentLimit / 9 + 1)
        #expect(throws: Errno.argumentListTooLong) {
            try InitialStack(stackTop: Self.top, arguments: manyEmpty, environment: [],
                             auxiliaryVector: [], randomBytes: Self.random, executableName: Self.slashX)
        }
    }

    @Test func stackThatDoesNotFitBelowTheTopIsE2BIG() {
        #expect(throws: Errno.argumentListTooLong) {
            // Needs 0x60 bytes; RSP would land in the null page.
            try InitialStack(stackTop: 0x1040, arguments: ["a"], environment: [], auxiliaryVector: [],
                             randomBytes: Self.random, executableName: "/a")
        }
        #expect(throws: Errno.argumentListTooLong) {
            try InitialStack(stackTop: 0x10, arguments: [String](), environment: [], auxiliaryVector: [],
                             randomBytes: Self.random, executableName: "")
        }
    }

    @Test func embeddedNulIsRefused() {
        #expect(throws: Errno.invalidArgument) {
            try InitialStack(stackTop: Self.top, arguments: [[0x61, 0, 0x62]], environment: [],
                             auxiliaryVector: [], randomBytes: Self.random, executableName: Array("/a".utf8))
        }
        #expect(throws: Errno.invalidArgument) {
            try InitialStack(stackTop: Self.top, arguments: [], environment: [[0]],
                             auxiliaryVector: [], randomBytes: Self.random, executableName: Array("/a".utf8))
        }
        #expect(throws: Errno.invalidArgument) {
            try InitialStack(stackTop: Self.top, arguments: [[UInt8]](), environment: [],
                             auxiliaryVector: [], randomBytes: Self.random, executableName: [0x2f, 0])
        }
    }
}

@Suite("Auxiliary vector")
struct AuxVectorTests {
    @Test func keysHaveLinuxValues() {
        let expected: [(AuxKey, UInt64)] = [
            (.null, 0), (.ignore, 1), (.executableFileDescriptor, 2), (.programHeaders, 3),
            (.programHeaderEntrySize, 4), (.programHeaderCount, 5), (.pageSize, 6), (.interpreterBase, 7),
            (.flags, 8), (.entry, 9), (.notELF, 10), (.userID, 11), (.effectiveUserID, 12), (.groupID, 13),
            (.effectiveGroupID, 14), (.platform, 15), (.hardwareCapabilities, 16), (.clockTicks, 17),
            (.secure, 23), (.random, 25), (.hardwareCapabilities2, 26), (.executableFileName, 31),
            (.systemInfoELFHeader, 33), (.minimumSignalStackSize, 51),
        ]
        for (key, value) in expected { #expect(key.rawValue == value) }
    }

    @Test func standardVectorDescribesTheImageInLinuxOrder() throws {
        let plan = try ELFBuilder.executable.parse().loadPlan()
        let auxv = AuxVector.standard(plan: plan, hardwareCapabilities: 0x178b_fbff)
        #expect(auxv == [
            AuxEntry(.hardwareCapabilities, 0x178b_fbff), AuxEntry(.pageSize, 4096), AuxEntry(.clockTicks, 100),
            AuxEntry(.programHeaders, 0x400040), AuxEntry(.programHeaderEntrySize, 56),
            AuxEntry(.programHeaderCount, 4), AuxEntry(.interpreterBase, 0), AuxEntry(.flags, 0),
            AuxEntry(.entry, 0x401010), AuxEntry(.userID, 0), AuxEntry(.effectiveUserID, 0),
            AuxEntry(.groupID, 0), AuxEntry(.effectiveGroupID, 0), AuxEntry(.secure, 0),
            AuxEntry(.random, 0), AuxEntry(.executableFileName, 0), AuxEntry(.platform, 0),
        ])
    }

    @Test func optionalEntriesAppearOnlyWhenGiven() throws {
        let plan = try ELFBuilder.positionIndependent.parse().loadPlan()
        let auxv = AuxVector.standard(plan: plan, hardwareCapabilities: 1, hardwareCapabilities2: 2,
                                      vdsoAddress: 0x7fff_f000_0000, minimumSignalStackSize: 2048)
        #expect(auxv.prefix(2) == [AuxEntry(.systemInfoELFHeader, 0x7fff_f000_0000),
                                   AuxEntry(.minimumSignalStackSize, 2048)])
        let keys = auxv.map(\.key)
        #expect(keys.firstIndex(of: .hardwareCapabilities2)! == keys.firstIndex(of: .random)! + 1)
        #expect(auxv.first { $0.key == .entry }?.value == ELFLoadPlan.defaultPIEBase + 0x1074)
        #expect(auxv.first { $0.key == .programHeaders }?.value == ELFLoadPlan.defaultPIEBase + 0x40)
    }

    @Test func secureWhenRealAndEffectiveIdsDiffer() throws {
        let plan = try ELFBuilder.executable.parse().loadPlan()
        func secure(_ auxv: [AuxEntry]) -> UInt64? { auxv.first { $0.key == .secure }?.value }
        #expect(secure(AuxVector.standard(plan: plan, userID: 1000, effectiveUserID: 1000,
                                          groupID: 100, effectiveGroupID: 100, hardwareCapabilities: 0)) == 0)
        #expect(secure(AuxVector.standard(plan: plan, userID: 1000, effectiveUserID: 0,
                                          hardwareCapabilities: 0)) == 1)
        #expect(secure(AuxVector.standard(plan: plan, groupID: 100, effectiveGroupID: 0,
                                          hardwareCapabilities: 0)) == 1)
    }

    @Test func realBinaryStackDecodes() throws {
        let plan = try ELFImage(bytes: ELFFixtures.muslStatic).loadPlan()
        let auxv = AuxVector.standard(plan: plan, hardwareCapabilities: 0)
        let stack = try InitialStack(stackTop: 0x7fff_ffff_f000, arguments: ["hello", "x"],
                                     environment: ["PATH=/bin"], auxiliaryVector: auxv,
                                     randomBytes: InitialStackTests.random, executableName: "/bin/hello")
        let decoded = DecodedStack(stack, top: 0x7fff_ffff_f000)
        #expect(decoded.value(of: .programHeaders) == 0x400040)
        #expect(decoded.value(of: .entry) == 0x401054)
        #expect(decoded.value(of: .programHeaderCount) == 7)
        #expect(decoded.auxiliaryVector.count == auxv.count)
    }
}
