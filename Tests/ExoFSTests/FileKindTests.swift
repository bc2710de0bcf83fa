import Testing
@testable import ExoFS

@Suite("File kinds")
struct FileKindTests {
    @Test func modeBitsAreLinuxs() {
        #expect(FileKind.directory.rawValue == 0o040000)
        #expect(FileKind.regular.rawValue == 0o100000)
    }
}
