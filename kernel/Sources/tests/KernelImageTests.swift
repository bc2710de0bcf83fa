import ExoMemory
import CExoArch
import ExoKit

/// The kernel image itself: its layout, its symbol table and backtraces,
/// and the runtime services Swift needs (heap, hashing, x87 `ceil`).
enum KernelImageTests {
    static let suite = KernelTestSuite(name: "kernel", tests: [
        KernelTest(name: "image_is_linked_where_the_layout_says", body: layout),
        KernelTest(name: "symbol_table_names_kernel_functions", body: symbols),
        KernelTest(name: "backtrace_walks_nested_frames", body: backtrace),
        KernelTest(name: "heap_honours_alignment_and_returns_memory", body: heap),
        KernelTest(name: "dictionary_growth_uses_ceil_correctly", body: dictionary),
    ])

    static func layout(_ t: TestContext) {
        t.expectEqual(KernelLayout.imageStart, KernelLayout.kernelBase + KernelLayout.imagePhysicalLoad, "image at KERNEL_BASE + 1 MiB")
        let sections = [KernelLayout.textStart, __rodata_start_address(), __data_start_address(), __bss_start_address()]
        t.expect(zip(sections, sections.dropFirst()).allSatisfy { $0 < $1 }, "text < rodata < data < bss")
        t.expect(sections.allSatisfy { $0 & 0xFFF == 0 }, "each section starts on a page")
        t.expect(KernelLayout.isText(exo_probe_read_fault_address()), "probe code is in text")
        t.expect(KernelLayout.imageEnd < KernelLayout.kernelBase + KernelLayout.bootDirectMapSize, "image inside the boot map")
    }

    static func symbols(_ t: TestContext) {
        t.expect(KernelSymbols.count > 100, "symbol table loaded (\(KernelSymbols.count) entries)")
        let probe = exo_probe_read_fault_address()
        t.expectEqual(KernelSymbols.name(containing: probe), "exo_probe_read_fault", "label name found")
        let inside = KernelSymbols.lookup(exo_probe_int3_next_address() + 2)
        t.expectEqual(inside?.offset, 2, "offset within symbol")
        t.expect(KernelSymbols.lookup(0x1000) == nil, "no symbol outside text")
    }

    @inline(never)
    static func nestedFrames(depth: Int) -> [UInt64] {
        if depth == 0 {
            var frame = TrapFrame()
            exo_capture_registers(&frame)
            return Backtrace.collect(rip: frame.rip, rbp: frame.rbp)
        }
        let result = nestedFrames(depth: depth - 1)
        return result.isEmpty ? [] : result   // keeps the recursion from becoming a tail call
    }

    static func backtrace(_ t: TestContext) {
        let addresses = nestedFrames(depth: 3)
        t.expect(addresses.count >= 5, "at least the nested frames (\(addresses.count))")
        let names = addresses.map { KernelSymbols.name(containing: $0 - 1) ?? "?" }
        let nested = names.filter { Text.contains($0, "nestedFrames") }.count
        t.expect(nested >= 4, "four nestedFrames frames named (got \(nested))")
        t.expect(names.contains { Text.contains($0, "kmain") }, "the walk reaches kmain")
    }

    static func heap(_ t: TestContext) {
        var blocks: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(8)                 // before the baseline: the list itself stays allocated
        let baseline = KernelHeap.statistics().bytesInUse
        for (size, alignment) in [(1, 1), (24, 8), (64, 64), (100, 16), (4096, 4096), (5000, 4096), (3, 256)] {
            var block: UnsafeMutableRawPointer? = nil
            t.expectEqual(posixMemalign(&block, alignment, size), 0, "allocates \(size)")
            guard let block else { continue }
            t.expect(UInt(bitPattern: block) % UInt(alignment) == 0, "\(size) bytes aligned to \(alignment)")
            block.initializeMemory(as: UInt8.self, repeating: 0xA5, count: size)
            blocks.append(block)
        }
        var unaligned: UnsafeMutableRawPointer? = nil
        t.expectEqual(posixMemalign(&unaligned, 3, 8), 22, "non-power-of-two alignment is EINVAL")
        for block in blocks { exoHeapFree(block) }
        t.expectEqual(KernelHeap.statistics().bytesInUse, baseline, "every byte returned")
        var array: [Int] = []
        for value in 0..<10_000 { array.append(value) }
        t.expectEqual(array.reduce(0, +), 49_995_000, "a growing array keeps its contents")
    }

    static func dictionary(_ t: TestContext) {
        t.expectEqual(ceil(1.25), 2.0, "ceil(1.25)")
        t.expectEqual(ceil(-1.5), -1.0, "ceil(-1.5)")
        t.expectEqual(ceil(7.0), 7.0, "ceil(7)")
        var squares: [Int: Int] = [:]
        for key in 0..<2000 { squares[key] = key * key }
        t.expectEqual(squares.count, 2000, "2000 keys")
        t.expectEqual(squares[1999], 1999 * 1999, "lookup after growth")
        var seen = Set<Int>()
        for key in squares.keys { seen.insert(key) }
        t.expectEqual(seen.count, 2000, "every key iterated once")
    }
}
