import ExoKit
import Testing

@testable import ExoABI

/// Overwrites header field `index` (0 = ino … 12 = check) of the entry at
/// `header` with eight hex digits.
func setField(_ archive: inout [UInt8], header: Int, index: Int, to value: UInt32) {
    let digits = Array("0123456789ABCDEF".utf8)
    for position in 0..<8 {
        archive[header + 6 + 8 * index + position] = digits[Int((value >> UInt32(28 - 4 * position)) & 0xF)]
    }
}

/// Field indices in a newc header.
enum Field {
    static let fileSize = 6
    static let nameSize = 11
}

/// Reads `archive` to its end or first error: the entries before it and the error.
func readAll(_ archive: [UInt8]) -> (entries: [CpioEntry], error: CpioError?) {
    var reader = CpioReader(archive)
    var entries: [CpioEntry] = []
    do {
        while let entry = try reader.next() { entries.append(entry) }
    } catch {
        return (entries, error)
    }
    return (entries, nil)
}

@Suite("cpio corruption")
struct CpioCorruptionTests {
    let fixture = initrdSmall()

    @Test func everyTruncationIsAnErrorOrAValidPrefix() throws {
        let complete = try CpioArchive.entries(in: fixture)
        // Cutting inside the trailer's name may leave the last real entry
        // intact; cutting in the trailer's padding or after is harmless.
        let nameEnd = initrdSmallTrailer.lowerBound + CpioArchive.headerSize + CpioArchive.trailerName.count + 1
        for cut in 0..<fixture.count {
            let (entries, error) = readAll(Array(fixture[0..<cut]))
            #expect(entries == Array(complete.prefix(entries.count)), "cut at \(cut)")
            if cut < nameEnd {
                #expect(error != nil, "cut at \(cut) must be refused")
            } else {
                #expect(error == nil && entries == complete, "cut at \(cut) is the whole archive")
            }
            for entry in entries { #expect(entry.dataRange.upperBound <= cut) }
        }
    }

    @Test func truncationErrorsSayWhatIsMissing() {
        // bin/hello's header is at 228, its name at 338, its data at 348..<386.
        #expect(readAll(Array(fixture[0..<228])).error == .missingTrailer(offset: 228))
        #expect(readAll(Array(fixture[0..<300])).error == .truncatedHeader(offset: 228))
        #expect(readAll(Array(fixture[0..<231])).error == .truncatedHeader(offset: 228))
        #expect(readAll(Array(fixture[0..<340])).error == .truncatedName(offset: 228))
        // bin's name ends at 226; its padding to 228 is part of the entry.
        #expect(readAll(Array(fixture[0..<227])).error == .truncatedName(offset: 112))
        #expect(readAll(Array(fixture[0..<360])).error == .truncatedData(offset: 228))
    }

    @Test func randomByteFlipsAreRefusedOrReadSafely() {
        var random = SplitMix64(seed: 0x0C70_0701)
        for _ in 0..<3000 {
            var archive = fixture
            for _ in 0..<(1 + random.below(4)) {
                archive[random.below(initrdSmallTrailer.upperBound)] ^= UInt8(1 + random.below(255))
            }
            let (entries, _) = readAll(archive)
            for entry in entries {
                #expect(!entry.name.isEmpty && !entry.name.contains(0))
                #expect(entry.dataRange.lowerBound >= entry.headerOffset + CpioArchive.headerSize)
                #expect(entry.dataRange.upperBound <= archive.count)
            }
        }
    }

    @Test func randomGarbageNeverCrashes() {
        var random = SplitMix64(seed: 42)
        for length in 0..<400 {
            var garbage = random.bytes(length)
            // Half of them start like a real header, to get past the magic.
            if length >= 6 && random.below(2) == 0 { garbage.replaceSubrange(0..<6, with: CpioArchive.magic) }
            _ = readAll(garbage)
        }
    }

    @Test func badHexDigitIsReportedWhereItIs() {
        var archive = fixture
        archive[112 + 6 + 8 * Field.fileSize + 3] = UInt8(ascii: "g")
        let (entries, error) = readAll(archive)
        #expect(entries.count == 1)
        #expect(error == .badHexDigit(offset: 112 + 6 + 8 * Field.fileSize + 3))
        archive = fixture
        archive[112 + 109] = UInt8(ascii: " ")  // the check field's last digit
        #expect(readAll(archive).error == .badHexDigit(offset: 221))
    }

    @Test func badMagicInALaterEntry() {
        var archive = fixture
        archive[228] = UInt8(ascii: "1")
        let (entries, error) = readAll(archive)
        #expect(entries.count == 2)
        #expect(error == .badMagic(offset: 228))
    }

    @Test func nameSizesThatLieAreRefused() {
        var archive = fixture
        setField(&archive, header: 0, index: Field.nameSize, to: 0)
        #expect(readAll(archive).error == .nameNotTerminated(offset: 0))
        setField(&archive, header: 0, index: Field.nameSize, to: 1)
        #expect(readAll(archive).error == .nameNotTerminated(offset: 0))  // "." is no NUL
        archive[CpioArchive.headerSize] = 0
        #expect(readAll(archive).error == .emptyName(offset: 0))
        setField(&archive, header: 0, index: Field.nameSize, to: 4097)
        #expect(readAll(archive).error == .nameTooLong(offset: 0))
        setField(&archive, header: 0, index: Field.nameSize, to: 0xFFFF_FFFF)
        #expect(readAll(archive).error == .nameTooLong(offset: 0))
        // "." with namesize 3 takes the padding NUL and the next header's "0".
        setField(&archive, header: 0, index: Field.nameSize, to: 3)
        #expect(readAll(archive).error == .nameNotTerminated(offset: 0))
        // bin's namesize covering the next NUL too: an interior NUL.
        archive = fixture
        setField(&archive, header: 112, index: Field.nameSize, to: 5)
        #expect(readAll(archive).error == .nameNotTerminated(offset: 112))
        // A namesize running past the end of a short archive.
        archive = Array(fixture[0..<240])
        setField(&archive, header: 112, index: Field.nameSize, to: 4000)
        #expect(readAll(archive).error == .truncatedName(offset: 112))
    }

    @Test func fileSizesThatLieAreRefused() {
        var archive = fixture
        setField(&archive, header: 228, index: Field.fileSize, to: 0xFFFF_FFFF)
        #expect(readAll(archive).error == .truncatedData(offset: 228))
        archive = fixture
        setField(&archive, header: 1488, index: Field.fileSize, to: 2048 - 1620 + 1)
        #expect(readAll(archive).error == .truncatedData(offset: 1488))
        // A larger size that still fits reads on into the next header as
        // data, and the archive then fails where a header should be.
        archive = fixture
        setField(&archive, header: 228, index: Field.fileSize, to: 41)
        #expect(readAll(archive).error != nil)
    }

    @Test func garbageAfterTheTrailerIsRefused() {
        var archive = fixture
        archive[1800] = UInt8(ascii: "x")
        #expect(readAll(archive).error == .badMagic(offset: 1800))
        archive = fixture
        archive.replaceSubrange(1748..<1752, with: Array("0707".utf8))
        archive.removeSubrange(1752...)
        #expect(readAll(archive).error == .truncatedHeader(offset: 1748))
        #expect(readAll(archive).entries.count == initrdSmallNames.count)
    }

    @Test func errorsAreSticky() {
        var archive = fixture
        archive[228] = 0
        var reader = CpioReader(archive)
        #expect(throws: Never.self) { _ = try reader.next() }
        #expect(throws: Never.self) { _ = try reader.next() }
        #expect(throws: CpioError.badMagic(offset: 228)) { _ = try reader.next() }
        #expect(throws: CpioError.badMagic(offset: 228)) { _ = try reader.next() }
    }

    @Test func wholeArchiveConvenienceGivesNothingOnError() {
        var archive = fixture
        archive[1500] = UInt8(ascii: "z")
        #expect(throws: CpioError.self) { try CpioArchive.entries(in: archive) }
    }
}
