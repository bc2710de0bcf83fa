import ExoBoot
import ExoKit

/// The boot-information summary printed at every boot.
enum BootReport {
    static func print(_ info: BootInfo) {
        let loader = info.bootloaderName ?? "unknown loader"
        let protocolName = info.bootProtocol == .multiboot1 ? "multiboot1" : "multiboot2"
        Log.info("boot: \(protocolName) from \(loader); command line \"\(info.commandLine)\"")
        Log.info("memory: \(info.memoryMap.count) regions, \(info.totalAvailableBytes / 1024) KiB available" +
                 (info.memoryMapAnomalies > 0 ? ", \(info.memoryMapAnomalies) firmware map anomalies sanitized" : ""))
        for region in info.memoryMap {
            Log.info("  \(Hex.string(region.base)) - \(Hex.string(region.end))  \(kindName(region.kind))")
        }
        for module in info.modules {
            Log.info("module: \(Hex.string(module.start)) - \(Hex.string(module.end)) \(module.name)")
        }
        if let fb = info.framebuffer {
            Log.info("framebuffer: \(fb.width)x\(fb.height)x\(fb.bitsPerPixel) at \(Hex.string(fb.address)), pitch \(fb.pitch)")
        }
        let image = KernelLayout.imagePhysicalRange
        Log.info("kernel: image \(Hex.string(image.lowerBound)) - \(Hex.string(image.upperBound)) physical, linked at \(Hex.string(KernelLayout.imageStart)); \(KernelSymbols.count) symbols")
    }

    static func kindName(_ kind: MemoryKind) -> String {
        switch kind {
        case .available: "available"
        case .reserved: "reserved"
        case .acpiReclaimable: "ACPI reclaimable"
        case .acpiNVS: "ACPI NVS"
        case .defective: "defective"
        case .other(let type): "type \(type)"
        }
    }
}
