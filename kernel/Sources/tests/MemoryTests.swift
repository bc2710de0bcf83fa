import CExoArch
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// Frames, the kernel address space, kernel virtual ranges, the heap and
/// the TLB, on the real machine (`exo.test=memory`).
enum MemoryTests {
    static let suite = KernelTestSuite(name: "memory", tests: [
        KernelTest(name: "frames_are_aligned_and_return_coalesced", body: framesRoundTrip),
        KernelTest(name: "frame_exhaustion_is_a_typed_error_and_recovers", body: frameExhaustion),
        KernelTest(name: "image_sections_have_their_permissions", body: imagePermissions),
        KernelTest(name: "direct_map_covers_ram_and_null_page_is_unmapped", body: directMap),
        KernelTest(name: "executing_a_data_page_faults", body: noExecute),
        KernelTest(name: "writing_rodata_faults", body: rodataIsReadOnly),
        KernelTest(name: "writing_text_faults", body: textIsReadOnly),
        KernelTest(name: "map_translate_unmap", body: mapTranslateUnmap),
        KernelTest(name: "remap_with_shootdown_is_visible", body: shootdown),
        KernelTest(name: "concurrent_shootdowns_from_every_cpu_complete", body: concurrentShootdowns),
        KernelTest(name: "device_mapping_is_uncached", body: deviceMapping),
        KernelTest(name: "kernel_stack_overflow_hits_its_guard_page", body: stackOverflow),
        KernelTest(name: "cpu_protections_match_the_cpu_model", body: protections),
        KernelTest(name: "heap_detects_double_free_and_foreign_pointers", body: heapChecks),
        KernelTest(name: "heap_survives_100k_random_operations", body: heapStress),
        KernelTest(name: "heap_exhaustion_is_a_typed_error_and_recovers", body: heapExhaustion),
        KernelTest(name: "numa_frames_come_from_the_preferred_nodes_srat_range", body: numaPlacement),
        KernelTest(name: "numa_exhausted_node_falls_back_to_the_nearest", body: numaFallback),
        KernelTest(name: "numa_each_cpu_allocates_on_its_own_node", body: numaCPUPreference),
    ])

    static func framesRoundTrip(_ t: TestContext) {
        var blocks: [(UInt64, Int)] = []
        blocks.reserveCapacity(BuddyAllocator.maxOrder + 1)     // before the snapshot: it may take frames
        _ = PhysicalMemory.statistics == PhysicalMemory.statistics
        let before = PhysicalMemory.statistics
        for order in 0...BuddyAllocator.maxOrder {
            guard let block = try? PhysicalMemory.allocate(order: order) else { return t.expect(false, "order \(order) allocates") }
            t.expect(block % (4096 << UInt64(order)) == 0, "order \(order) block is naturally aligned")
            t.expect(!KernelLayout.imagePhysicalRange.overlaps(block..<(block + (4096 << UInt64(order)))), "block avoids the image")
            t.expect(block >= PhysicalMemory.lowMemoryLimit, "block above 1 MiB")
            blocks.append((block, order))
        }
        for (block, order) in blocks { t.expect((try? PhysicalMemory.free(block, order: order)) != nil, "free order \(order)") }
        t.expect(PhysicalMemory.statistics == before, "free lists back to their initial state")
        t.expect(PhysicalMemory.verify() == nil, "allocator consistent")
        let (block, _) = blocks[0]
        do {
            try PhysicalMemory.free(block, order: 0)
            t.expect(false, "double free of a frame is refused")
        } catch {
            t.expectEqual(error, .doubleFree(block), "double free reported as such")
        }
    }

    static func frameExhaustion(_ t: TestContext) {
        // Warm up what the checks below allocate (statistics arrays), so the
        // heap does not take fresh spans from the frames under test.
        var blocks: [(UInt64, Int)] = []
        blocks.reserveCapacity(PhysicalMemory.statistics.freeBlocks.reduce(0, +) + 64)
        _ = PhysicalMemory.statistics == PhysicalMemory.statistics
        let before = PhysicalMemory.statistics
        var order = BuddyAllocator.maxOrder
        var sawError: MemoryError? = nil
        while order >= 0 {
            do {
                blocks.append((try PhysicalMemory.allocate(order: order), order))
            } catch {
                sawError = error
                order -= 1
            }
        }
        t.expectEqual(sawError, .outOfMemory, "exhaustion is .outOfMemory")
        t.expectEqual(PhysicalMemory.statistics.freeFrames, 0, "every frame was handed out")
        for (block, order) in blocks { _ = try? PhysicalMemory.free(block, order: order) }
        let after = PhysicalMemory.statistics
        t.expect(after == before, "all frames back, fully coalesced: free \(after.freeFrames) vs \(before.freeFrames), blocks \(after.freeBlocks) vs \(before.freeBlocks)")
    }

    static func imagePermissions(_ t: TestContext) {
        guard KernelAddressSpace.features.noExecute else { return }
        let text = KernelAddressSpace.translate(KernelLayout.textStart)?.flags ?? []
        t.expect(text.contains(.present) && !text.contains(.writable) && !text.contains(.noExecute), "text is R X")
        let rodata = KernelAddressSpace.translate(__rodata_start_address())?.flags ?? []
        t.expect(rodata.contains(.present) && !rodata.contains(.writable) && rodata.contains(.noExecute), "rodata is R NX")
        let data = KernelAddressSpace.translate(__data_start_address())?.flags ?? []
        t.expect(data.contains([.present, .writable, .noExecute]), "data is RW NX")
        let bss = KernelAddressSpace.translate(__bss_start_address())?.flags ?? []
        t.expect(bss.contains([.present, .writable, .noExecute]), "bss is RW NX")
        for stack in KernelStacks.all {
            if let guardPage = stack.guardPage {
                t.expect(KernelAddressSpace.translate(guardPage) == nil, "\(stack.name) guard page unmapped")
            }
        }
    }

    static func directMap(_ t: TestContext) {
        let last = PhysicalMemory.top - KernelLayout.pageSize
        t.expectEqual(KernelAddressSpace.translate(KernelLayout.virtual(physical: last))?.physicalAddress, last, "last RAM page mapped")
        t.expectEqual(KernelAddressSpace.translate(KernelLayout.virtual(physical: 0x1234))?.physicalAddress, 0x1234, "low memory mapped")
        t.expect(KernelAddressSpace.translate(0) == nil, "null page unmapped")
        t.expect(KernelAddressSpace.translate(0x40_0000) == nil, "user half unmapped (0x400000)")
        t.expectEqual(CPU.cr3 & ~0xFFF, KernelAddressSpace.root, "CR3 holds the Swift-built tables")
    }

    static func noExecute(_ t: TestContext) {
        guard KernelAddressSpace.features.noExecute else { return t.expect(true, "no NX on this CPU model") }
        guard let page = try? KernelHeap.allocate(size: 4096, alignment: 4096) else { return t.expect(false, "allocate a page") }
        defer { KernelHeap.free(page) }
        page.storeBytes(of: 0xC3, as: UInt8.self)            // ret
        Traps.lastRecovered = nil
        let address = UInt64(UInt(bitPattern: page))
        let result = exo_probe_call(address)
        let record = Traps.lastRecovered
        t.expectEqual(record?.vector, 14, "#PF, not a return")
        t.expectEqual(record?.cr2, address, "CR2 is the data page")
        t.expect(record.map { PageFaultErrorCode(rawValue: $0.errorCode).contains([.instructionFetch, .present]) } ?? false,
                 "error code: instruction fetch from a present page")
        t.expectEqual(result, 0xdead, "resumed through the fixup")
    }

    static func rodataIsReadOnly(_ t: TestContext) {
        Traps.lastRecovered = nil
        let target = __rodata_start_address() + 64
        exo_probe_write(target, 0)
        t.expectEqual(Traps.lastRecovered?.vector, 14, "#PF")
        t.expectEqual(Traps.lastRecovered?.cr2, target, "CR2 is the rodata address")
        t.expect(Traps.lastRecovered.map { PageFaultErrorCode(rawValue: $0.errorCode).contains([.write, .present]) } ?? false,
                 "error code: write to a present page")
    }

    static func textIsReadOnly(_ t: TestContext) {
        Traps.lastRecovered = nil
        let target = exo_probe_read_fault_address()
        exo_probe_write(target, 0)
        t.expectEqual(Traps.lastRecovered?.vector, 14, "writing code faults even in ring 0 (CR0.WP)")
        t.expectEqual(Traps.lastRecovered?.cr2, target, "CR2 is the code address")
        t.expectEqual(Traps.lastRecovered?.rip, exo_probe_write_fault_address(), "RIP is the store")
    }

    static func mapTranslateUnmap(_ t: TestContext) {
        guard let stack = try? KernelVirtualMemory.allocateStack(pages: 2, name: "test mapping") else { return t.expect(false, "allocate") }
        let page = stack.bottom
        let translation = KernelAddressSpace.translate(page + 0x123)
        t.expect(translation != nil, "mapped")
        t.expectEqual(translation?.size, .small, "4 KiB page")
        t.expectEqual(translation.map { $0.physicalAddress & 0xFFF }, 0x123, "offset carried into the physical address")
        exo_probe_write(page, 0x1122_3344)
        t.expectEqual(exo_probe_read(page), 0x1122_3344, "read back through the mapping")
        if let physical = translation?.physicalAddress {
            let viaDirectMap = UnsafePointer<UInt64>(bitPattern: UInt(KernelLayout.virtual(physical: physical - 0x123)))!.pointee
            t.expectEqual(viaDirectMap, 0x1122_3344, "same bytes through the direct map")
        }
        t.expect((try? KernelVirtualMemory.freeStack(stack)) != nil, "unmap and free")
        Traps.lastRecovered = nil
        _ = exo_probe_read(page)
        t.expectEqual(Traps.lastRecovered?.vector, 14, "access after unmap faults")
        t.expect(KernelAddressSpace.translate(page) == nil, "translation gone")
    }

    static func shootdown(_ t: TestContext) {
        guard let stack = try? KernelVirtualMemory.allocateStack(pages: 1, name: "test remap"),
              let second = try? PhysicalMemory.allocateZeroedFrame() else { return t.expect(false, "allocate") }
        let page = stack.bottom
        exo_probe_write(page, 0xAAAA)
        t.expectEqual(exo_probe_read(page), 0xAAAA, "first frame visible")   // now cached in the TLB
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(KernelLayout.virtual(physical: second)))!.pointee = 0xBBBB
        let before = TLB.shootdownCount
        guard let first = try? KernelAddressSpace.unmap(virtual: page) else { return t.expect(false, "unmap") }
        t.expect((try? KernelAddressSpace.map(virtual: page, physical: second, flags: KernelAddressSpace.kernelDataFlags)) != nil, "remap")
        t.expectEqual(exo_probe_read(page), 0xBBBB, "the new frame is visible after the shootdown")
        t.expect(TLB.shootdownCount > before, "the unmap went through the shootdown interface")
        _ = try? PhysicalMemory.free(first, order: 0)
        _ = try? KernelVirtualMemory.freeStack(stack)
    }

    /// One thread per CPU shoots down at once, each while holding a lock
    /// of its own with interrupts off, as munmap does under its address
    /// space's lock in two processes (or KernelAddressSpace.unmap beside
    /// a user munmap). The CPU that loses the race for the shootdown lock
    /// spins with interrupts off and must still acknowledge the winner's
    /// request; before TLB.answerPendingRequest ran in spin loops, both
    /// waited for each other forever.
    static func concurrentShootdowns(_ t: TestContext) {
        final class Worker { let lock = KernelSpinLock(); var rounds = 0 }
        let rounds = 2000
        let before = TLB.remoteRequests
        let page = exo_boot_percpu_address() & ~(KernelLayout.pageSize - 1)    // any kernel page: a flush is harmless
        var workers: [(ThreadID, Worker)] = []
        for cpu in 0..<SMP.count {
            let worker = Worker()
            guard let thread = try? Threads.spawn(name: "shootdown storm", pinnedTo: CPUID(cpu), {
                for _ in 0..<rounds {
                    worker.lock.withLock { TLB.shootdown(page..<(page + KernelLayout.pageSize)) }
                    worker.rounds += 1
                }
            }) else { return t.expect(false, "spawn on CPU \(cpu)") }
            workers.append((thread, worker))
        }
        for (thread, worker) in workers {
            Threads.join(thread)
            t.expectEqual(worker.rounds, rounds, "every shootdown finished")
        }
        if SMP.count > 1 { t.expect(TLB.remoteRequests >= before + UInt64(rounds), "the shootdowns went to the other CPUs") }
    }

    static func deviceMapping(_ t: TestContext) {
        // The local APIC's registers (always at this address on QEMU's PC).
        guard let registers = try? KernelVirtualMemory.mapDevice(physical: 0xFEE0_0030, size: 4) else { return t.expect(false, "map") }
        let flags = KernelAddressSpace.translate(registers)?.flags ?? []
        t.expect(flags.contains([.present, .writable, .cacheDisable, .writeThrough]), "uncached, write-through")
        t.expectEqual(registers & 0xFFF, 0x030, "offset within the page kept")
        let version = exo_mmio_read32(registers)
        t.expect(version & 0xFF >= 0x10, "the APIC version register reads as an integrated APIC (\(version & 0xFF))")
        t.expect((try? KernelVirtualMemory.unmapDevice(virtual: registers, size: 4)) != nil, "unmap")
    }

    static func stackOverflow(_ t: TestContext) {
        guard let stack = try? KernelVirtualMemory.allocateStack(pages: 2, name: "overflow test stack") else { return t.expect(false, "allocate") }
        Traps.lastRecovered = nil
        let result = CPU.withInterruptsDisabled { exo_stack_overflow_probe(stack.top) }
        t.expectEqual(result, 1, "resumed on the original stack")
        t.expectEqual(Traps.lastRecovered?.vector, 8, "the #PF became a #DF, handled on its IST stack")
        let cr2 = Traps.lastRecovered?.cr2 ?? 0
        t.expect(cr2 >= stack.guardPage && cr2 < stack.bottom, "CR2 in the guard page below the stack")
        t.expect(KernelStacks.guarded(by: cr2)?.top == stack.top, "the report names this stack")
        _ = try? KernelVirtualMemory.freeStack(stack)
    }

    static func protections(_ t: TestContext) {
        let leaf7 = CPU.cpuid(0).eax >= 7 ? CPU.cpuid(7).ebx : 0
        t.expectEqual(CPU.cr4 & KernelAddressSpace.cr4SMEP != 0, leaf7 & (1 << 7) != 0, "SMEP on iff the CPU has it")
        t.expectEqual(CPU.cr4 & KernelAddressSpace.cr4SMAP != 0, leaf7 & (1 << 20) != 0, "SMAP on iff the CPU has it")
        t.expect(CPU.cr0 & CPU.CR0.writeProtect != 0, "CR0.WP on")
        t.expectEqual(CPU.read(.efer) & KernelAddressSpace.eferNoExecuteEnable != 0, KernelAddressSpace.features.noExecute, "EFER.NXE on iff NX exists")
        t.expectEqual(TLB.pcidEnabled, TLB.cpuHasPCID, "PCID on iff the CPU has it")
    }

    static func heapChecks(_ t: TestContext) {
        guard let block = try? KernelHeap.allocate(size: 64, alignment: 16) else { return t.expect(false, "allocate") }
        t.expect((try? KernelHeap.tryFree(block)) != nil, "first free")
        do { try KernelHeap.tryFree(block); t.expect(false, "double free refused") } catch {
            t.expectEqual(error, .doubleFree(UInt64(UInt(bitPattern: block))), "reported as a double free")
        }
        let foreign = UnsafeMutableRawPointer(bitPattern: UInt(KernelLayout.textStart))!
        do { try KernelHeap.tryFree(foreign); t.expect(false, "foreign pointer refused") } catch {
            t.expectEqual(error, .notAllocated(KernelLayout.textStart), "reported as not allocated")
        }
        guard let object = try? KernelHeap.allocate(size: 96, alignment: 16) else { return t.expect(false, "allocate") }
        do { try KernelHeap.tryFree(object + 8); t.expect(false, "interior pointer refused") } catch {
            t.expectEqual(error, .notAllocated(UInt64(UInt(bitPattern: object + 8))), "reported as not allocated")
        }
        KernelHeap.free(object)
        let problem = KernelHeap.verify()
        t.expect(problem == nil, "heap consistent after refused frees: \(problem ?? "")")
    }

    static func heapStress(_ t: TestContext) {
        var random = SplitMix64(seed: 0x5EED)
        var live: [(UnsafeMutableRawPointer, Int)] = []
        live.reserveCapacity(2048)                  // before the baseline: it stays allocated
        let baseline = KernelHeap.statistics().bytesInUse
        var failures = 0
        for _ in 0..<100_000 {
            if live.isEmpty || (live.count < 2000 && random.next() & 1 == 0) {
                let size = random.next() % 32 == 0 ? Int(random.next() % 16384) + 1 : Int(random.next() % 1024) + 1
                guard let block = try? KernelHeap.allocate(size: size, alignment: 16) else { failures += 1; continue }
                block.storeBytes(of: UInt8(truncatingIfNeeded: size), as: UInt8.self)
                live.append((block, size))
            } else {
                let index = Int(random.next() % UInt64(live.count))
                let (block, size) = live[index]
                if block.load(as: UInt8.self) != UInt8(truncatingIfNeeded: size) { failures += 1 }
                live[index] = live[live.count - 1]
                live.removeLast()
                KernelHeap.free(block)
            }
        }
        t.expectEqual(failures, 0, "every allocation succeeded and kept its contents")
        let problem = KernelHeap.verify()
        t.expect(problem == nil, "full heap check passes with \(live.count) blocks live: \(problem ?? "")")
        for (block, _) in live { KernelHeap.free(block) }
        t.expect(KernelHeap.verify() == nil, "full heap check passes after freeing everything")
        t.expectEqual(KernelHeap.statistics().bytesInUse, baseline, "bytes in use back to the baseline")
    }

    static func heapExhaustion(_ t: TestContext) {
        var blocks: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(Int(PhysicalMemory.top >> 20) + 16)   // before the snapshots
        _ = try? KernelHeap.drain()
        _ = PhysicalMemory.statistics == PhysicalMemory.statistics
        let framesBefore = PhysicalMemory.statistics
        let heapBefore = KernelHeap.statistics()
        var sawError: MemoryError? = nil
        while sawError == nil {
            do { blocks.append(try KernelHeap.allocate(size: 1 << 20, alignment: 16)) } catch { sawError = error }
        }
        t.expectEqual(sawError, .outOfMemory, "exhaustion is .outOfMemory")
        t.expect(blocks.count > 16, "\(blocks.count) MiB allocated before exhaustion")
        for block in blocks { KernelHeap.free(block) }
        _ = try? KernelHeap.drain()
        let heapAfter = KernelHeap.statistics()
        // Where freed objects wait (magazine or span) may differ; what users
        // hold and what the heap holds from the frame allocator may not.
        t.expect(heapAfter.bytesInUse == heapBefore.bytesInUse && heapAfter.objectsInUse == heapBefore.objectsInUse
                 && heapAfter.largeBlocks == heapBefore.largeBlocks && heapAfter.pagesHeld == heapBefore.pagesHeld, "heap counts back to their initial state: in use \(heapAfter.bytesInUse) vs \(heapBefore.bytesInUse), pages \(heapAfter.pagesHeld) vs \(heapBefore.pagesHeld)")
        t.expect(PhysicalMemory.statistics == framesBefore, "frame allocator back to its initial state")
    }

    // MARK: - NUMA (checked against the SRAT itself, not the allocator's zones)

    /// The SRAT's memory ranges of `node`, or nil without SRAT.
    static func sratRanges(of node: Int) -> [Range<UInt64>]? {
        Firmware.memoryNodes.map { numa in numa.ranges.filter { $0.node == node }.map { $0.span } }
    }

    /// On a single-node machine: what one node means (everything on node 0,
    /// other nodes refused). Returns true when that was all there was to test.
    static func checkSingleNode(_ t: TestContext, test: String) -> Bool {
        guard PhysicalMemory.nodeCount == 1 else { return false }
        Log.info("memory.\(test): one NUMA node (no SRAT, or its layout was refused); checking single-node behaviour")
        _ = PhysicalMemory.statistics == PhysicalMemory.statistics
        t.expectEqual(PhysicalMemory.zones.count, 1, "one zone")
        t.expectEqual(PhysicalMemory.freeFrames(node: 0), PhysicalMemory.statistics.freeFrames, "node 0 holds every free frame")
        guard let frame = try? PhysicalMemory.allocate(order: 0, preferredNode: 0) else {
            t.expect(false, "allocate on node 0")
            return true
        }
        t.expectEqual(PhysicalMemory.node(of: frame), 0, "frame on node 0")
        t.expect((try? PhysicalMemory.free(frame, order: 0)) != nil, "free it")
        do {
            _ = try PhysicalMemory.allocate(order: 0, preferredNode: 1)
            t.expect(false, "node 1 does not exist")
        } catch {
            t.expectEqual(error, .invalidRequest, "a node that does not exist is an invalid request")
        }
        return true
    }

    static func numaPlacement(_ t: TestContext) {
        if checkSingleNode(t, test: "numa_frames_come_from_the_preferred_nodes_srat_range") { return }
        var total = 0
        for node in 0..<PhysicalMemory.nodeCount {
            total += PhysicalMemory.freeFrames(node: node)
            guard let ranges = sratRanges(of: node), !ranges.isEmpty else { continue }  // a CPU-only node
            for order in [0, 9] {
                guard let block = try? PhysicalMemory.allocate(order: order, preferredNode: node) else {
                    t.expect(false, "node \(node) order \(order) allocates")
                    continue
                }
                let end = block + (4096 << UInt64(order))
                t.expect(ranges.contains { $0.lowerBound <= block && end <= $0.upperBound },
                         "order \(order) block \(Hex.string(block)) lies in one of node \(node)'s SRAT ranges")
                t.expectEqual(PhysicalMemory.node(of: block), node, "node(of:) names node \(node)")
                t.expect((try? PhysicalMemory.free(block, order: order)) != nil, "free the node \(node) block")
            }
        }
        t.expectEqual(total, PhysicalMemory.statistics.freeFrames, "per-node free frames add up to the total")
        t.expect(PhysicalMemory.verify() == nil, "every node's allocator consistent")
    }

    /// Takes every frame of the last node (node 1 on the two-node run),
    /// largest blocks first, then checks the next allocation preferring it
    /// falls back to node 0, and gives everything back.
    static func numaFallback(_ t: TestContext) {
        if checkSingleNode(t, test: "numa_exhausted_node_falls_back_to_the_nearest") { return }
        let node = PhysicalMemory.nodeCount - 1
        var blocks: [(UInt64, Int)] = []
        blocks.reserveCapacity(PhysicalMemory.statistics(node: node).freeBlocks.reduce(0, +) + 64)
        _ = PhysicalMemory.statistics == PhysicalMemory.statistics
        let before = PhysicalMemory.statistics
        let nodeBefore = PhysicalMemory.freeFrames(node: node)
        guard nodeBefore > 0 else { return t.expect(true, "node \(node) has no memory to exhaust") }
        // A block from elsewhere means the node has none of this order left.
        var order = BuddyAllocator.maxOrder
        while order >= 0 {
            guard let block = try? PhysicalMemory.allocate(order: order, preferredNode: node) else {
                return t.expect(false, "order \(order) allocates somewhere")
            }
            if PhysicalMemory.node(of: block) == node {
                blocks.append((block, order))
            } else {
                _ = try? PhysicalMemory.free(block, order: order)
                order -= 1
            }
        }
        t.expectEqual(PhysicalMemory.freeFrames(node: node), 0, "node \(node) exhausted")
        if let fallback = try? PhysicalMemory.allocate(order: 0, preferredNode: node) {
            let nearest = Firmware.memoryNodes.map { numa in
                (0..<numa.nodeCount).filter { $0 != node }.min { a, b in
                    let (da, db) = (numa.distances[node * numa.nodeCount + a], numa.distances[node * numa.nodeCount + b])
                    return da != db ? da < db : a < b
                }
            } ?? nil
            t.expectEqual(PhysicalMemory.node(of: fallback), nearest, "fallback frame \(Hex.string(fallback)) is on the nearest node")
            if node == 1 { t.expectEqual(PhysicalMemory.node(of: fallback), 0, "two nodes: node 1 falls back to node 0") }
            _ = try? PhysicalMemory.free(fallback, order: 0)
        } else {
            t.expect(false, "an exhausted node still gets frames from another")
        }
        for (block, order) in blocks { _ = try? PhysicalMemory.free(block, order: order) }
        t.expectEqual(PhysicalMemory.freeFrames(node: node), nodeBefore, "node \(node) got every frame back")
        t.expect(PhysicalMemory.statistics == before, "all frames back, fully coalesced")
        t.expect(PhysicalMemory.verify() == nil, "every node's allocator consistent")
    }

    /// A thread pinned to each CPU allocates with the default (no node
    /// given): the frame is on that CPU's node.
    static func numaCPUPreference(_ t: TestContext) {
        if checkSingleNode(t, test: "numa_each_cpu_allocates_on_its_own_node") { return }
        final class Result { var frame: UInt64? = nil }
        let topology = Firmware.topology(cpuAPICIDs: (0..<SMP.count).map { SMP.cpus[$0].apicID })
        for cpu in 0..<SMP.count {
            let result = Result()
            guard let thread = try? Threads.spawn(name: "numa-alloc", pinnedTo: CPUID(cpu), {
                result.frame = try? PhysicalMemory.allocate(order: 0)
            }) else { return t.expect(false, "spawn on CPU \(cpu)") }
            Threads.join(thread)
            guard let frame = result.frame else { t.expect(false, "CPU \(cpu) allocates"); continue }
            let node = topology.node(of: CPUID(cpu)).index
            t.expectEqual(PhysicalMemory.node(of: frame), node, "CPU \(cpu)'s frame is on its node \(node)")
            _ = try? PhysicalMemory.free(frame, order: 0)
        }
    }
}
