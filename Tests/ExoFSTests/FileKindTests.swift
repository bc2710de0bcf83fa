import ExoABI
import Testing

@testable import ExoFS

@Suite("File kinds")
struct FileKindTests {
    @Test func modeBitsAreLinuxs() {
        #expect(FileKind.directory.rawValue == 0o040000)
        #expect(FileKind.regular.rawValue == 0o100000)
        #expect(FileKind.symbolicLink.rawValue == 0o120000)
        #expect(FileKind.characterDevice.rawValue == 0o020000)
        #expect(FileKind.blockDevice.rawValue == 0o060000)
        #expect(FileKind.fifo.rawValue == 0o010000)
        #expect(FileKind.socket.rawValue == 0o140000)
    }

    @Test func kindComesFromTheModesTypeBits() {
        #expect(FileKind(mode: 0o100755) == .regular)
        #expect(FileKind(mode: 0o040700) == .directory)
        #expect(FileKind(mode: 0o120777) == .symbolicLink)
        #expect(FileKind(mode: 0o020600) == .characterDevice)
        #expect(FileKind(mode: 0o000644) == nil)
        #expect(FileKind(mode: 0o170644) == nil)
    }

    @Test func direntTypesAreLinuxs() {
        #expect(FileKind.regular.direntType == .regular && DirentType.regular.rawValue == 8)
        #expect(FileKind.directory.direntType == .directory && DirentType.directory.rawValue == 4)
        #expect(FileKind.symbolicLink.direntType.rawValue == 10)
        #expect(FileKind.characterDevice.direntType.rawValue == 2)
        #expect(FileKind.blockDevice.direntType.rawValue == 6)
        #expect(FileKind.fifo.direntType.rawValue == 1)
        #expect(FileKind.socket.direntType.rawValue == 12)
    }
}
