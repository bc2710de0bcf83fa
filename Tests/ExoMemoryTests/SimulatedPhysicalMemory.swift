import ExoX86
@testable import ExoMemory

/// A `PageTableMemory` for host tests: table pages are host allocations
/// standing in for physical pages at fake addresses 0x100000, 0x101000, ...
///
/// Addresses are never reused, so a mapper that touches a freed table page
/// (or one it never got) stops on a precondition instead of silently
/// reading a recycled page. A class, so a test can keep a reference and
/// inspect it while the mapper owns it too.
final class SimulatedPhysicalMemory: PageTableMemory {
    private var pages: [UInt64: UnsafeMutablePointer<PageTableEntry>] = [:]
    private var nextAddress: UInt64 = 0x10_0000

    /// When set, allocations fail with `.outOfMemory` once this many more
    /// have succeeded.
    var allocationsBeforeFailure: Int?

    /// Table pages currently handed out (including the root).
    var liveTablePages: Int { pages.count }
    /// Total allocations and frees, for tests that check nothing leaked.
    private(set) var allocationCount = 0
    private(set) var freeCount = 0

    init(allocationsBeforeFailure: Int? = nil) {
        self.allocationsBeforeFailure = allocationsBeforeFailure
    }

    deinit {
        for page in pages.values { page.deallocate() }
    }

    func entries(ofTableAt address: UInt64) -> UnsafeMutablePointer<PageTableEntry> {
        guard let page = pages[address] else {
            preconditionFailure("no live table page at \(String(address, radix: 16))")
        }
        return page
    }

    func allocateTablePage() throws(MemoryError) -> UInt64 {
        if let remaining = allocationsBeforeFailure {
            if remaining == 0 { throw .outOfMemory }
            allocationsBeforeFailure = remaining - 1
        }
        let page = UnsafeMutablePointer<PageTableEntry>.allocate(capacity: 512)
        page.initialize(repeating: .empty, count: 512)
        let address = nextAddress
        nextAddress += 0x1000
        pages[address] = page
        allocationCount += 1
        return address
    }

    func freeTablePage(_ address: UInt64) {
        guard let page = pages.removeValue(forKey: address) else {
            preconditionFailure("freeing \(String(address, radix: 16)), which is not a live table page")
        }
        // The mapper promises to free only empty tables.
        for index in 0..<512 {
            precondition(page[index] == .empty, "freed table page still has entry \(index)")
        }
        page.deallocate()
        freeCount += 1
    }

    /// Whether `address` is a live table page (for checking the mapper's root).
    func isTablePage(_ address: UInt64) -> Bool { pages[address] != nil }
}
