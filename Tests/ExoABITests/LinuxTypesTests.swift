import ExoKit
import Testing
@testable import ExoABI

@Suite("Linux structure layouts")
struct LinuxTypesTests {
    @Test func sizesMatchX86_64() {
        #expect(LinuxTimespec.byteSize == 16)
        #expect(LinuxTimeval.byteSize == 16)
        #expect(UtsName.byteSize == 390)
        #expect(SystemInfo.byteSize == 112)
        #expect(ResourceLimit.byteSize == 16)
        #expect(IOVector.byteSize == 16)
        #expect(WindowSize.byteSize == 8)
        #expect(Termios.byteSize == 36)
        #expect(PollDescriptor.byteSize == 8)
        #expect(SignalStack.byteSize == 24)
        #expect(SigAction.byteSize == 32)
        #expect(SignalInfo.byteSize == 128)
        #expect(LinuxTimespec(seconds: 1).encoded.count == 16)
        #expect(SystemInfo().encoded.count == 112)
        #expect(Termios.standard.encoded.count == 36)
    }

    @Test func timespecRoundTripsAndValidates() throws {
        let time = LinuxTimespec(seconds: 0x1122_3344, nanoseconds: 999_999_999)
        let bytes = time.encoded
        #expect(bytes[0..<8].elementsEqual([0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0]))
        #expect(bytes[8..<16].elementsEqual([0xff, 0xc9, 0x9a, 0x3b, 0, 0, 0, 0]))
        #expect(try LinuxTimespec(decoding: bytes) == time)
        #expect(try time.validatedInterval() == time)
        #expect(throws: Errno.invalidArgument) { try LinuxTimespec(seconds: 1, nanoseconds: 1_000_000_000).validatedInterval() }
        #expect(throws: Errno.invalidArgument) { try LinuxTimespec(seconds: -1, nanoseconds: 0).validatedInterval() }
        #expect(throws: Errno.invalidArgument) { try LinuxTimespec(seconds: 0, nanoseconds: -1).validatedInterval() }
        #expect(throws: Errno.badAddress) { try LinuxTimespec(decoding: [UInt8](repeating: 0, count: 15)) }
        #expect(LinuxTimespec(seconds: 2, nanoseconds: 5).totalNanoseconds == 2_000_000_005)
        #expect(LinuxTimespec(seconds: .max, nanoseconds: 0).totalNanoseconds == nil)
        #expect(LinuxTimespec(totalNanoseconds: -1) == LinuxTimespec(seconds: -1, nanoseconds: 999_999_999))
        #expect(LinuxTimespec(totalNanoseconds: 3_000_000_001) == LinuxTimespec(seconds: 3, nanoseconds: 1))
    }

    @Test func timevalRoundTrips() throws {
        let time = LinuxTimeval(LinuxTimespec(seconds: 7, nanoseconds: 123_456_789))
        #expect(time == LinuxTimeval(seconds: 7, microseconds: 123_456))
        #expect(try LinuxTimeval(decoding: time.encoded) == time)
        #expect(throws: Errno.invalidArgument) { try LinuxTimeval(seconds: 0, microseconds: 1_000_000).validatedInterval() }
    }

    @Test func utsnameSaysLinuxInSixFields() {
        let bytes = UtsName(nodeName: "box").encoded
        #expect(bytes.count == 390)
        func field(_ index: Int) -> String {
            LinuxLayout.loadCString(from: bytes, at: index * 65, capacity: 65)
        }
        #expect(field(0) == "Linux")
        #expect(field(1) == "box")
        #expect(field(2) == "6.1.0-exo")
        #expect(field(4) == "x86_64")
        #expect(field(5) == "(none)")
        #expect(bytes[5] == 0 && bytes[64] == 0)
        // Over-long names are cut to 64 bytes and stay NUL-terminated.
        let long = UtsName(nodeName: String(repeating: "n", count: 100)).encoded
        #expect(long[65..<129].allSatisfy { $0 == UInt8(ascii: "n") })
        #expect(long[129] == 0)
        #expect(long[130] == UInt8(ascii: "6"))
    }

    @Test func sysinfoFieldsAtTheirOffsets() throws {
        var info = SystemInfo()
        info.uptime = 100
        info.loads = (1 << 16, 2 << 16, 3 << 16)
        info.totalRAM = 256 << 20
        info.freeRAM = 200 << 20
        info.processCount = 0x1234
        info.totalHigh = 0xaa
        info.memoryUnit = 1
        let bytes = info.encoded
        #expect(bytes[0] == 100)
        #expect(bytes[8..<16].elementsEqual([0, 0, 1, 0, 0, 0, 0, 0]))
        #expect(bytes[26] == 3)
        #expect(bytes[32..<40].elementsEqual([0, 0, 0, 0x10, 0, 0, 0, 0]))
        #expect(bytes[80] == 0x34 && bytes[81] == 0x12)
        #expect(bytes[82..<88].allSatisfy { $0 == 0 })
        #expect(bytes[88] == 0xaa)
        #expect(bytes[104] == 1)
        #expect(bytes[108..<112].allSatisfy { $0 == 0 })
        #expect(try SystemInfo(decoding: bytes) == info)
    }

    @Test func rlimitAndResources() throws {
        let limit = ResourceLimit(current: 1024, maximum: ResourceLimit.infinity)
        let bytes = limit.encoded
        #expect(bytes[0..<8].elementsEqual([0, 4, 0, 0, 0, 0, 0, 0]))
        #expect(bytes[8..<16].allSatisfy { $0 == 0xff })
        #expect(try ResourceLimit(decoding: bytes) == limit)
        #expect(throws: Errno.invalidArgument) { try ResourceLimit(current: 2, maximum: 1).validated() }
        #expect(ResourceLimitKind.stackSize.rawValue == 3)
        #expect(ResourceLimitKind.openFiles.rawValue == 7)
        #expect(ResourceLimitKind.addressSpace.rawValue == 9)
        #expect(ResourceLimitKind.realtimeTimeout.rawValue == 15)
        #expect(ResourceLimitKind.allCases.count == ResourceLimitKind.count)
        #expect(ResourceLimitKind(argument: 16) == nil)
        #expect(ResourceLimit.initial(for: .stackSize).current == 8 << 20)
        #expect(ResourceLimit.initial(for: .openFiles) == ResourceLimit(current: 1024, maximum: 4096))
        for kind in ResourceLimitKind.allCases {
            #expect(throws: Never.self) { try ResourceLimit.initial(for: kind).validated() }
        }
    }

    @Test func iovecArraysAreCheckedLikeReadv() throws {
        var bytes = [UInt8](repeating: 0, count: 32)
        IOVector(base: 0x1000, length: 10).encode(into: &bytes, at: 0)
        IOVector(base: 0x2000, length: 20).encode(into: &bytes, at: 16)
        #expect(bytes[8] == 10 && bytes[17] == 0x20)
        let vectors = try IOVector.decodeArray(bytes, count: 2)
        #expect(vectors == [IOVector(base: 0x1000, length: 10), IOVector(base: 0x2000, length: 20)])
        #expect(try IOVector.decodeArray([], count: 0).isEmpty)
        #expect(throws: Errno.badAddress) { try IOVector.decodeArray(bytes, count: 3) }
        #expect(throws: Errno.invalidArgument) { try IOVector.decodeArray(bytes, count: 1025) }
        #expect(throws: Errno.invalidArgument) { try IOVector.decodeArray(bytes, count: -1) }
        var huge = [UInt8](repeating: 0, count: 32)
        IOVector(base: 0x1000, length: UInt64(Int64.max)).encode(into: &huge, at: 0)
        IOVector(base: 0x2000, length: 1).encode(into: &huge, at: 16)
        #expect(throws: Errno.invalidArgument) { try IOVector.decodeArray(huge, count: 2) }
    }

    @Test func pollfdAndWinsizeLayouts() throws {
        let poll = PollDescriptor(fd: -1, events: [.input, .output], returnedEvents: .hangup)
        let bytes = poll.encoded
        #expect(bytes.elementsEqual([0xff, 0xff, 0xff, 0xff, 5, 0, 0x10, 0]))
        #expect(try PollDescriptor(decoding: bytes) == poll)
        #expect(PollEvents.readHangup.rawValue == 0x2000)
        #expect(PollEvents(rawValue: 0x8000).unknownBits == 0x8000)
        let size = WindowSize(rows: 24, columns: 80)
        #expect(size.encoded.elementsEqual([24, 0, 80, 0, 0, 0, 0, 0]))
        #expect(try WindowSize(decoding: size.encoded) == size)
        #expect(WindowSize.serialConsole == size)
    }

    @Test func termiosDefaultsAreLinuxsStandardTerminal() throws {
        let bytes = Termios.standard.encoded
        // c_iflag ICRNL|IXON, c_oflag OPOST|ONLCR, c_cflag B38400|CS8|CREAD|HUPCL,
        // c_lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN.
        #expect(bytes[0..<4].elementsEqual([0x00, 0x05, 0, 0]))
        #expect(bytes[4..<8].elementsEqual([0x05, 0, 0, 0]))
        #expect(bytes[8..<12].elementsEqual([0xbf, 0x04, 0, 0]))
        #expect(bytes[12..<16].elementsEqual([0x3b, 0x8a, 0, 0]))
        #expect(bytes[16] == 0)
        #expect(bytes[17 + ControlCharacter.interrupt] == 3)
        #expect(bytes[17 + ControlCharacter.quit] == 0x1c)
        #expect(bytes[17 + ControlCharacter.erase] == 0x7f)
        #expect(bytes[17 + ControlCharacter.endOfFile] == 4)
        #expect(bytes[17 + ControlCharacter.minimum] == 1)
        #expect(bytes[17 + ControlCharacter.suspend] == 0x1a)
        #expect(bytes[35] == 0)
        #expect(try Termios(decoding: bytes) == .standard)
        #expect(Termios.standard.isCanonical)
        var raw = Termios.standard
        raw.localFlags.remove([.canonical, .echo])
        #expect(try !Termios(decoding: raw.encoded).isCanonical)
        #expect(throws: Errno.badAddress) { try Termios(decoding: Array(bytes[0..<35])) }
    }

    @Test func decodingChecksBoundsWithoutOverflow() {
        let bytes = [UInt8](repeating: 0, count: 64)
        #expect(throws: Errno.badAddress) { try ResourceLimit(decoding: bytes, at: 49) }
        #expect(throws: Errno.badAddress) { try ResourceLimit(decoding: bytes, at: .max) }
        #expect(throws: Errno.badAddress) { try ResourceLimit(decoding: bytes, at: .min) }
        #expect(throws: Never.self) { try ResourceLimit(decoding: bytes, at: 48) }
    }
}
