import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// How many user mappings share each physical frame, for copy-on-write.
///
/// A frame mapped into one address space has count 1; fork maps it into
/// the child too (count 2, read-only in both); the first write copies it
/// (or, when the count is back to 1, just makes it writable again). The
/// last unmap frees the frame. Kernel frames never appear here.
///
/// One 16-bit count per frame of RAM, allocated on first use. Guarded by
/// its own lock (address spaces of different processes share frames).
enum FrameReferences {
    nonisolated(unsafe) private static var counts: UnsafeMutablePointer<UInt16>? = nil
    nonisolated(unsafe) private static var frameCount = 0
    static let lock = KernelSpinLock()

    private static func table() -> UnsafeMutablePointer<UInt16> {
        if let counts { return counts }
        frameCount = Int(PhysicalMemory.top / 4096)
        let table = UnsafeMutablePointer<UInt16>.allocate(capacity: frameCount)
        table.initialize(repeating: 0, count: frameCount)
        counts = table
        return table
    }

    /// A newly mapped frame: count 1.
    static func adopt(_ frame: UInt64) {
        lock.withLock { table()[Int(frame / 4096)] = 1 }
    }

    /// One more mapping of `frame` (fork). Returns the new count.
    @discardableResult
    static func retain(_ frame: UInt64) -> Int {
        lock.withLock {
            let slot = table() + Int(frame / 4096)
            precondition(slot.pointee < UInt16.max, "frame shared by 65535 mappings")
            slot.pointee += 1
            return Int(slot.pointee)
        }
    }

    /// One mapping fewer; frees the frame when it was the last.
    static func release(_ frame: UInt64) {
        let last = lock.withLock { () -> Bool in
            let slot = table() + Int(frame / 4096)
            precondition(slot.pointee > 0, "releasing an unreferenced frame")
            slot.pointee -= 1
            return slot.pointee == 0
        }
        if last {
            do { try PhysicalMemory.free(frame, order: 0) } catch {
                panic("user frame \(frame): \(error.description)")
            }
        }
    }

    /// The number of mappings of `frame`.
    static func count(_ frame: UInt64) -> Int {
        lock.withLock { Int(table()[Int(frame / 4096)]) }
    }
}
