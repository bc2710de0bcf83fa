import CExoArch
import ExoKit
import Synchronization

/// The kernel console: COM1, line-based, machine-readable.
///
/// Output translates "\n" to "\r\n" for terminals. The `write` overloads
/// never allocate, so crash reports can use them with a broken heap.
enum Console {
    /// Runs `body` as one unit of output: other output (kernel log lines,
    /// user writes to the console) comes before or after it, never inside.
    /// Interrupts are off throughout, so no other thread of this CPU runs
    /// in the middle; other CPUs are kept out by a lock, re-entrant on one
    /// CPU (a fault inside a log line still gets its report out). With one
    /// CPU online there is nobody else to exclude (and before the per-CPU
    /// records exist, no way to say who we are). A CPU that waits too long
    /// goes ahead anyway: a crash report must never wait for a CPU that
    /// died holding the lock.
    static func exclusive<R>(_ body: () -> R) -> R {
        let enabled = CPU.interruptsEnabled
        CPU.disableInterrupts()
        guard SMP.count > 1 else {
            defer { if enabled { CPU.enableInterrupts() } }
            return body()
        }
        let me = SMP.currentIndex
        var owned = false
        if outputLock.owner.load(ordering: .relaxed) != me {
            var spins = 0
            while !outputLock.owner.compareExchange(expected: -1, desired: me, ordering: .acquiring).exchanged {
                exo_pause()
                TLB.answerPendingRequest()
                spins += 1
                if spins == 100_000_000 { break }
            }
            owned = spins < 100_000_000
        }
        defer {
            if owned { outputLock.owner.store(-1, ordering: .releasing) }
            if enabled { CPU.enableInterrupts() }
        }
        return body()
    }

    private final class OutputLock {
        let owner = Atomic<Int>(-1)
    }
    private static let outputLock = OutputLock()

    static func write(byte: UInt8) {
        if byte == 0x0A { Serial16550.com1.write(byte: 0x0D) }
        Serial16550.com1.write(byte: byte)
    }

    static func write(_ text: StaticString) {
        text.withUTF8Buffer { for byte in $0 { write(byte: byte) } }
    }

    static func write(_ text: String) {
        var copy = text
        copy.withUTF8 { for byte in $0 { write(byte: byte) } }
    }

    static func write(bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes { write(byte: byte) }
    }

    /// `0x` and 16 hex digits.
    static func writeHex(_ value: UInt64, digits: Int = 16) {
        write("0x")
        Hex.write(value, digits: digits) { write(byte: $0) }
    }

    static func writeDecimal(_ value: UInt64) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = 0x30 + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest != 0
            while count > 0 {
                count -= 1
                write(byte: buffer[count])
            }
        }
    }
}

/// Kernel log lines: `[   seconds.micros] level: message`.
///
/// The timestamp is time since boot from the calibrated TSC (zero until the
/// calibration has run).
enum Log {
    enum Level: Int {
        case debug, info, warning, error
        var label: StaticString {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warn"
            case .error: "error"
            }
        }
    }

    nonisolated(unsafe) static var minimumLevel = Level.info

    static func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
    static func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    static func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    static func error(_ message: @autoclosure () -> String) { log(.error, message()) }

    static func log(_ level: Level, _ message: @autoclosure () -> String) {
        guard level.rawValue >= minimumLevel.rawValue else { return }
        let text = message()
        Console.exclusive {
            writeTimestamp()
            Console.write(level.label)
            Console.write(": ")
            Console.write(text)
            Console.write("\n")
        }
    }

    static func writeTimestamp() {
        let micros = Clock.microsecondsSinceBoot()
        let seconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        Console.write("[")
        var width: UInt64 = 10_000
        while width > 1 && seconds < width { Console.write(" "); width /= 10 }
        Console.writeDecimal(seconds)
        Console.write(".")
        var scale: UInt64 = 100_000
        while scale > 1 && fraction < scale { Console.write("0"); scale /= 10 }
        Console.writeDecimal(fraction)
        Console.write("] ")
    }
}
