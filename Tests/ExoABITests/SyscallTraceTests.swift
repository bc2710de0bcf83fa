import Testing
@testable import ExoABI

@Suite("System call trace")
struct SyscallTraceTests {
    /// A fake user memory holding two strings.
    static func readString(_ address: UInt64) -> String? {
        switch address {
        case 0x1000: "/etc/passwd"
        case 0x2000: "/nope"
        default: nil
        }
    }

    @Test func writeShowsDescriptorPointerAndCount() {
        let line = SyscallTrace.format(number: .write, arguments: SyscallArguments(1, 0x7ffd_1000, 12), result: 12)
        #expect(line == "write(1, 0x7ffd1000, 12) = 12")
    }

    @Test func errorsPrintNegatedErrnoWithItsName() {
        let line = SyscallTrace.format(number: .open, arguments: SyscallArguments(0x2000, 0, 0),
                                       result: -2, readString: Self.readString)
        #expect(line == "open(\"/nope\", O_RDONLY, 0) = -2 ENOENT")
        // An errno ExoKit has no name for still prints its number.
        let unnamed = SyscallTrace.format(number: .close, arguments: SyscallArguments(3), result: -95)
        #expect(unnamed == "close(3) = -95")
    }

    @Test func openatNamesTheDirectoryAndFlags() {
        let flags = OpenFlags([.closeOnExec, .largeFile]).rawValue
        let line = SyscallTrace.format(
            number: .openat,
            arguments: SyscallArguments(UInt64(bitPattern: -100), 0x1000, UInt64(flags), 0o644),
            result: 3, readString: Self.readString)
        #expect(line == "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_LARGEFILE|O_CLOEXEC, 0644) = 3")
    }

    @Test func unreadableStringFallsBackToTheAddress() {
        let line = SyscallTrace.format(number: .chdir, arguments: SyscallArguments(0xdead_0000), result: -14)
        #expect(line == "chdir(0xdead0000) = -14 EFAULT")
    }

    @Test func mmapPrintsProtectionMapFlagsAndAnAddressResult() {
        let line = SyscallTrace.format(
            number: .mmap,
            arguments: SyscallArguments(0, 4096, 3, 0x22, UInt64(bitPattern: -1), 0),
            result: 0x7f00_0000_0000)
        #expect(line == "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0) = 0x7f0000000000")
        let none = SyscallTrace.formatArgument(0, as: .protection)
        #expect(none == "PROT_NONE")
        let odd = SyscallTrace.formatArgument(0x200, as: .mapFlags)
        #expect(odd == "0x0|0x200")
    }

    @Test func signalsAndCallsThatDoNotReturn() {
        #expect(SyscallTrace.format(number: .kill, arguments: SyscallArguments(42, 15), result: 0)
            == "kill(42, SIGTERM) = 0")
        #expect(SyscallTrace.format(number: .exitGroup, arguments: SyscallArguments(0), result: nil)
            == "exit_group(0) = ?")
        #expect(SyscallTrace.formatArgument(99, as: .signal) == "99")
        #expect(SyscallTrace.formatArgument(35, as: .signal) == "SIGRTMIN+3")
    }

    @Test func unknownCallsGetSixHexArguments() {
        let line = SyscallTrace.format(number: SyscallNumber(rawValue: 420),
                                       arguments: SyscallArguments(1, 2), result: -38)
        #expect(line == "syscall_420(0x1, 0x2, 0x0, 0x0, 0x0, 0x0) = -38 ENOSYS")
        let unsigned = SyscallTrace.format(number: .mseal, arguments: SyscallArguments(0x1000, 0x2000),
                                           result: 0)
        #expect(unsigned == "mseal(0x1000, 0x2000, 0x0, 0x0, 0x0, 0x0) = 0")
    }

    @Test func argumentsTruncateToTheirCType() {
        // An int argument reads only the low 32 bits, like the kernel.
        #expect(SyscallTrace.formatArgument(0xffff_ffff_ffff_ffff, as: .int) == "-1")
        #expect(SyscallTrace.formatArgument(0x1_0000_0005, as: .fileDescriptor) == "5")
        #expect(SyscallTrace.formatArgument(UInt64(bitPattern: -5000), as: .long) == "-5000")
        #expect(SyscallTrace.formatArgument(0, as: .mode) == "0")
        #expect(SyscallTrace.formatArgument(0o755, as: .mode) == "0755")
        // Negative results outside the errno range are plain numbers.
        #expect(SyscallTrace.format(number: .lseek, arguments: SyscallArguments(3, 0, 1), result: -5000)
            == "lseek(3, 0, 1) = -5000")
    }

    @Test func stringsAreEscapedAndCut() {
        #expect(SyscallTrace.quoted("a\"b\\c\nd\te\u{1}") == "\"a\\\"b\\\\c\\nd\\te\\x01\"")
        let long = String(repeating: "x", count: 40)
        #expect(SyscallTrace.quoted(long) == "\"" + String(repeating: "x", count: 32) + "\"...")
        #expect(SyscallTrace.quoted(String(repeating: "y", count: 32)) == "\"" + String(repeating: "y", count: 32) + "\"")
    }

    @Test func everySignatureUsesKnownLettersAndAtMostSixArguments() {
        var withSignature = 0
        for number in 0...SyscallNumber.max {
            guard let signature = SyscallNumber(rawValue: number).signature else { continue }
            withSignature += 1
            #expect(SyscallNumber(rawValue: number).isAssigned)
            #expect(signature.argumentCount <= 6)
            signature.code.withUTF8Buffer { letters in
                for letter in letters { #expect(SyscallArgumentKind(code: letter) != nil, "\(number)") }
            }
        }
        #expect(withSignature >= 60)
        #expect(SyscallNumber.read.signature?.argumentCount == 3)
        #expect(SyscallNumber.getpid.signature?.argumentCount == 0)
    }
}
