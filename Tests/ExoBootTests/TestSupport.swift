import ExoKit
@testable import ExoBoot

/// Little-endian byte image builder for boot-information fixtures.
struct ByteImage {
    var bytes: [UInt8] = []

    var count: Int { bytes.count }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { append(UInt64(value), width: 2) }
    mutating func u32(_ value: UInt32) { append(UInt64(value), width: 4) }
    mutating func u64(_ value: UInt64) { append(value, width: 8) }
    mutating func raw(_ more: [UInt8]) { bytes += more }
    /// `text` as UTF-8 plus a NUL.
    mutating func cString(_ text: String) { bytes += Array(text.utf8) + [0] }
    mutating func zeros(_ count: Int) { bytes += [UInt8](repeating: 0, count: count) }
    mutating func pad(toMultipleOf alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    /// Overwrites the little-endian `UInt32` at `offset`.
    mutating func set32(_ value: UInt32, at offset: Int) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }
    mutating func set64(_ value: UInt64, at offset: Int) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }
    mutating func setBytes(_ more: [UInt8], at offset: Int) {
        for (index, byte) in more.enumerated() { bytes[offset + index] = byte }
    }

    private mutating func append(_ value: UInt64, width: Int) {
        for index in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}

/// Byte arrays placed at physical addresses; everything else is unreadable.
struct FakePhysicalMemory: PhysicalMemoryReader {
    private(set) var regions: [(base: UInt64, bytes: [UInt8])] = []

    mutating func map(_ bytes: [UInt8], at base: UInt64) {
        regions.append((base, bytes))
    }

    func byte(at address: UInt64) -> UInt8? {
        for region in regions where address >= region.base {
            let offset = address - region.base
            if offset < UInt64(region.bytes.count) { return region.bytes[Int(offset)] }
        }
        return nil
    }
}



/// Whether `map` satisfies the sanitizer's output invariants: sorted,
/// disjoint, no empty regions, no touching regions of one kind.
func isSanitized(_ map: [MemoryRegion]) -> Bool {
    for region in map where region.length == 0 || region.base.addingReportingOverflow(region.length).overflow {
        return false
    }
    for (left, right) in zip(map, map.dropFirst()) {
        if left.end > right.base { return false }
        if left.end == right.base && left.kind == right.kind { return false }
    }
    return true
}

// MARK: - Multiboot1 fixture (what QEMU's -kernel loader hands over)

/// A multiboot1 information structure and the memory it points into, laid
/// out inside one 4 KiB page at 0x9000 as QEMU does (info at 0x9500).
struct Multiboot1Fixture {
    static let pageBase: UInt64 = 0x9000
    static let infoAddress: UInt64 = 0x9500
    static let commandLineAddress: UInt64 = 0x9600
    static let bootloaderNameAddress: UInt64 = 0x9700
    static let modulesAddress: UInt64 = 0x9780
    static let memoryMapAddress: UInt64 = 0x9800
    static let moduleNamesAddress: UInt64 = 0x9c00

    /// 128 MiB guest: QEMU's usual e820 map.
    static let qemuMap: [(base: UInt64, length: UInt64, type: UInt32)] = [
        (0x0, 0x9_fc00, 1),
        (0x9_fc00, 0x400, 2),
        (0xf_0000, 0x1_0000, 2),
        (0x10_0000, 0x7ee_0000, 1),
        (0x7fe_0000, 0x2_0000, 2),
        (0xfffc_0000, 0x4_0000, 2),
    ]

    var flags: UInt32 = 0x24f  // mem, boot device, cmdline, mods, mmap, loader name
    var memLowerKiB: UInt32 = 639
    var memUpperKiB: UInt32 = 130_944
    var commandLine = "build/exo.elf exo.test=all"
    var bootloaderName = "qemu"
    var modules: [(start: UInt32, end: UInt32, name: String)] = []
    var memoryMap: [(base: UInt64, length: UInt64, type: UInt32)] = qemuMap
    /// Each mmap entry's leading `size` field (20 in every real loader).
    var entrySizeField: UInt32 = 20

    /// The page of bytes; tests may patch it further before mapping.
    func page() -> ByteImage {
        var page = ByteImage()
        page.zeros(0x1000)
        let info = Int(Self.infoAddress - Self.pageBase)
        page.set32(flags, at: info + 0)
        page.set32(memLowerKiB, at: info + 4)
        page.set32(memUpperKiB, at: info + 8)
        page.set32(0x8000_ffff, at: info + 12)  // boot device: first hard disk
        page.set32(UInt32(Self.commandLineAddress), at: info + 16)
        page.setBytes(Array(commandLine.utf8) + [0], at: Int(Self.commandLineAddress - Self.pageBase))
        page.set32(UInt32(modules.count), at: info + 20)
        page.set32(UInt32(Self.modulesAddress), at: info + 24)
        var nameOffset = Int(Self.moduleNamesAddress - Self.pageBase)
        for (index, module) in modules.enumerated() {
            let entry = Int(Self.modulesAddress - Self.pageBase) + 16 * index
            page.set32(module.start, at: entry)
            page.set32(module.end, at: entry + 4)
            page.set32(UInt32(Self.pageBase) + UInt32(nameOffset), at: entry + 8)
            page.setBytes(Array(module.name.utf8) + [0], at: nameOffset)
            nameOffset += module.name.utf8.count + 1
        }
        var map = ByteImage()
        for entry in memoryMap {
            map.u32(entrySizeField)
            map.u64(entry.base)
            map.u64(entry.length)
            map.u32(entry.type)
        }
        page.setBytes(map.bytes, at: Int(Self.memoryMapAddress - Self.pageBase))
        page.set32(UInt32(map.count), at: info + 44)
        page.set32(UInt32(Self.memoryMapAddress), at: info + 48)
        page.set32(UInt32(Self.bootloaderNameAddress), at: info + 64)
        page.setBytes(Array(bootloaderName.utf8) + [0],
                      at: Int(Self.bootloaderNameAddress - Self.pageBase))
        return page
    }

    func memory() -> FakePhysicalMemory {
        var memory = FakePhysicalMemory()
        memory.map(page().bytes, at: Self.pageBase)
        return memory
    }

    /// Memory holding `page` in place of the generated one.
    static func memory(page: ByteImage) -> FakePhysicalMemory {
        var memory = FakePhysicalMemory()
        memory.map(page.bytes, at: pageBase)
        return memory
    }
}

// MARK: - Multiboot2 fixture (what GRUB hands over)

/// Builds a multiboot2 information structure tag by tag.
struct Multiboot2Builder {
    var image = ByteImage()

    init() {
        image.u32(0)  // total_size, patched by finish()
        image.u32(0)  // reserved
    }

    /// Appends a tag whose size field is `declaredSize` (default: header
    /// plus payload), then pads to 8 bytes.
    mutating func tag(_ type: UInt32, _ payload: [UInt8] = [], declaredSize: UInt32? = nil) {
        image.u32(type)
        image.u32(declaredSize ?? UInt32(8 + payload.count))
        image.raw(payload)
        image.pad(toMultipleOf: 8)
    }

    mutating func end() { tag(0) }

    /// The finished bytes, with total_size set to the real length unless
    /// `totalSize` overrides it.
    func finish(totalSize: UInt32? = nil) -> [UInt8] {
        var image = self.image
        image.set32(totalSize ?? UInt32(image.count), at: 0)
        return image.bytes
    }
}

/// Payload builders for the tags GRUB emits.
enum Multiboot2Payload {
    static func string(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

    static func module(start: UInt32, end: UInt32, name: String) -> [UInt8] {
        var payload = ByteImage()
        payload.u32(start)
        payload.u32(end)
        payload.cString(name)
        return payload.bytes
    }

    static func basicMemory(lowerKiB: UInt32, upperKiB: UInt32) -> [UInt8] {
        var payload = ByteImage()
        payload.u32(lowerKiB)
        payload.u32(upperKiB)
        return payload.bytes
    }

    static func memoryMap(_ entries: [(base: UInt64, length: UInt64, type: UInt32)],
                          entrySize: UInt32 = 24) -> [UInt8] {
        var payload = ByteImage()
        payload.u32(entrySize)
        payload.u32(0)  // entry_version
        for entry in entries {
            let start = payload.count
            payload.u64(entry.base)
            payload.u64(entry.length)
            payload.u32(entry.type)
            while payload.count - start < Int(entrySize) { payload.u8(0) }
        }
        return payload.bytes
    }

    static func framebuffer(_ framebuffer: Framebuffer) -> [UInt8] {
        var payload = ByteImage()
        payload.u64(framebuffer.address)
        payload.u32(framebuffer.pitch)
        payload.u32(framebuffer.width)
        payload.u32(framebuffer.height)
        payload.u8(framebuffer.bitsPerPixel)
        payload.u8(framebuffer.type)
        payload.u16(0)  // reserved
        return payload.bytes
    }

    /// An ACPI 1.0 RSDP as SeaBIOS builds it, with a valid checksum.
    static let bochsRSDP: [UInt8] = {
        var rsdp = ByteImage()
        rsdp.raw(Array("RSD PTR ".utf8))
        rsdp.u8(0)  // checksum, fixed below
        rsdp.raw(Array("BOCHS ".utf8))
        rsdp.u8(0)  // revision: ACPI 1.0
        rsdp.u32(0x07fe_2268)  // RSDT address
        let sum = rsdp.bytes.reduce(UInt8(0)) { $0 &+ $1 }
        rsdp.bytes[8] = 0 &- sum
        return rsdp.bytes
    }()
}

/// What GRUB 2.06 (Debian 12) passes to a multiboot2 kernel on a 128 MiB
/// QEMU guest booted from an ISO, with one module and a text console.
enum GrubFixture {
    static let infoAddress: UInt64 = 0x10_c000
    static let textConsole = Framebuffer(address: 0xb_8000, pitch: 160, width: 80, height: 25,
                                         bitsPerPixel: 16, type: 2)

    static func builder(withEnd: Bool = true) -> Multiboot2Builder {
        var builder = Multiboot2Builder()
        builder.tag(1, Multiboot2Payload.string("exo.test=all console=ttyS0"))
        builder.tag(2, Multiboot2Payload.string("GRUB 2.06-13+deb12u1"))
        builder.tag(3, Multiboot2Payload.module(start: 0x10_d000, end: 0x2a_1400,
                                                name: "/boot/initrd.cpio"))
        builder.tag(4, Multiboot2Payload.basicMemory(lowerKiB: 639, upperKiB: 129_920))
        var bootDevice = ByteImage()  // tag 5: skipped by the parser
        bootDevice.u32(0xe0)
        bootDevice.u32(0xffff_ffff)
        bootDevice.u32(0xffff_ffff)
        builder.tag(5, bootDevice.bytes)
        builder.tag(6, Multiboot2Payload.memoryMap(Multiboot1Fixture.qemuMap))
        builder.tag(8, Multiboot2Payload.framebuffer(textConsole))
        builder.tag(14, Multiboot2Payload.bochsRSDP)
        var loadBase = ByteImage()  // tag 21: skipped, and 12 bytes so it needs padding
        loadBase.u32(0x10_0000)
        builder.tag(21, loadBase.bytes)
        if withEnd { builder.end() }
        return builder
    }

    static func memory(_ bytes: [UInt8], at address: UInt64 = infoAddress) -> FakePhysicalMemory {
        var memory = FakePhysicalMemory()
        memory.map(bytes, at: address)
        return memory
    }
}

/// The shared seeded generator, visible to every file of this test module.
typealias SplitMix64 = ExoKit.SplitMix64
