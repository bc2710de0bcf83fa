import Testing
@testable import ExoKit

@Suite("Alignment")
struct AlignmentTests {
    @Test func powersOfTwo() {
        #expect(Alignment.isPowerOfTwo(1))
        #expect(Alignment.isPowerOfTwo(4096))
        #expect(!Alignment.isPowerOfTwo(0))
        #expect(!Alignment.isPowerOfTwo(12))
    }

    @Test func roundsUpAndDown() {
        #expect(Alignment.alignDown(0x1fff, to: 0x1000) == 0x1000)
        #expect(Alignment.alignUp(0x1001, to: 0x1000) == 0x2000)
        #expect(Alignment.alignUp(0x1000, to: 0x1000) == 0x1000)
        #expect(Alignment.isAligned(0x20_0000, to: 0x20_0000))
        #expect(!Alignment.isAligned(0x20_1000, to: 0x20_0000))
    }

    @Test func alignUpReportsOverflowInsteadOfWrapping() {
        #expect(Alignment.alignUp(UInt64.max - 10, to: 4096) == nil)
    }
}

@Suite("Errno")
struct ErrnoTests {
    @Test func linuxNumbers() {
        #expect(Errno.badAddress.rawValue == 14)
        #expect(Errno.notImplemented.rawValue == 38)
        #expect(Errno.invalidArgument.syscallReturnValue == -22)
        #expect(Errno.badAddress.name.description == "EFAULT")
    }

    @Test func typedThrowsCarryTheValue() {
        func fails() throws(Errno) -> Int { throw .badFileDescriptor }
        #expect(throws: Errno.badFileDescriptor) { try fails() }
    }
}

@Suite("Hex and statistics")
struct FormattingTests {
    @Test func fixedWidthHex() {
        #expect(Hex.string(0x4000_0010_0000) == "0x0000400000100000")
        #expect(Hex.string(0xbeef, digits: 4) == "0xbeef")
        #expect(Hex.string(0x12345, digits: 4) == "0x2345")
    }

    @Test func medianOfOddAndEvenCounts() {
        #expect(Statistics.median([5, 1, 9]) == 5)
        #expect(Statistics.median([4, 1, 3, 2]) == 2)
        #expect(Statistics.median([]) == nil)
    }
}

@Suite("Text")
struct TextTests {
    @Test func findsSubstrings() {
        #expect(Text.contains("a exo.test=all b", "exo.test="))
        #expect(Text.contains("abc", ""))
        #expect(!Text.contains("ab", "abc"))
        #expect(!Text.contains("exo.tes", "exo.test"))
        #expect(Text.contains("static KernelImageTests.nestedFrames(depth:)", "nestedFrames"))
    }
}
