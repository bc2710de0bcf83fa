import Testing
@testable import ExoABI

@Suite("User page")
struct UserPageTests {
    @Test func pageIsFourKiB() { #expect(UserPage.size == 4096) }
}
