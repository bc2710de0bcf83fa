import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// The serial console as a terminal (/dev/console, fds 0-2 of init).
///
/// Input arrives by IRQ 4 into a ring; readers sleep on a wait queue until
/// the line discipline has something for them. The discipline follows the
/// termios flags programs set (TCSETS): canonical mode collects a line with
/// echo and erase, and ^D at the start of a line is end of file; with
/// ICANON off (busybox's line editor) bytes go to the reader as they come,
/// echoed only if ECHO is on. Output maps "\n" to "\r\n" when OPOST|ONLCR
/// are set. ^C sends SIGINT to the processes reading the terminal (ISIG).
///
/// Locking: the scheduler lock guards the ring, the line and the waiters
/// (readers block with it held, and the interrupt handler takes it).
enum Terminal {
    private static let capacity = 1024
    nonisolated(unsafe) private static var ring = [UInt8](repeating: 0, count: capacity)
    nonisolated(unsafe) private static var head = 0
    nonisolated(unsafe) private static var tail = 0
    /// The line being edited in canonical mode.
    nonisolated(unsafe) private static var line: [UInt8] = []
    /// Completed input ready for readers (lines in canonical mode).
    nonisolated(unsafe) private static var ready: [UInt8] = []
    nonisolated(unsafe) private static var endOfFile = false
    nonisolated(unsafe) private static var readers = WaitQueue()
    nonisolated(unsafe) static var settings = Termios.standard
    nonisolated(unsafe) static var windowSize = WindowSize.serialConsole
    nonisolated(unsafe) private static var started = false
    /// The foreground process group (TIOCGPGRP/TIOCSPGRP).
    nonisolated(unsafe) static var foregroundGroup: Int32 = 1

    /// Takes over COM1's receive interrupt (from the monitor, if it ran).
    static func start() {
        guard !started else { return }
        started = true
        let vector = IOAPIC.enable(isaIRQ: 4, destination: LocalAPIC.id)
        Interrupts.register(vector: vector) { receive() }
        Serial16550.com1.drainReceiver()
        Serial16550.com1.enableReceiveInterrupt()
    }

    /// IRQ 4 (interrupts off): bytes into the discipline.
    private static func receive() {
        Scheduler.withLock {
            while let byte = Serial16550.com1.readByte() { discipline(byte) }
        }
    }

    /// Feeds one input byte (tests inject bytes here too). Scheduler lock held.
    static func discipline(_ input: UInt8) {
        var byte = input
        let local = settings.localFlags
        if settings.inputFlags.contains(.mapCRToNL) && byte == 0x0D { byte = 0x0A }
        if local.contains(.signals) && byte == 0x03 {
            line.removeAll()
            echo(StaticString("^C\n"))
            for process in Process.allLocked where process.state == .running && process.processGroup == foregroundGroup {
                process.postLocked(.interrupt)
            }
            readers.wakeAll()
            return
        }
        guard local.contains(.canonical) else {
            ready.append(byte)
            if local.contains(.echo) { output(byte) }
            readers.wakeAll()
            return
        }
        switch byte {
        case 0x04:                                       // ^D: end of file or push the line
            if line.isEmpty { endOfFile = true } else { ready.append(contentsOf: line); line.removeAll() }
            readers.wakeAll()
        case 0x7F, 0x08:
            if !line.isEmpty {
                line.removeLast()
                if local.contains(.echo) { echo(StaticString("\u{8} \u{8}")) }
            }
        case 0x0A:
            line.append(byte)
            if local.contains(.echo) { output(0x0A) }
            ready.append(contentsOf: line)
            line.removeAll()
            readers.wakeAll()
        default:
            guard line.count < 4095 else { return }
            line.append(byte)
            if local.contains(.echo) { output(byte) }
        }
    }

    private static func echo(_ text: StaticString) {
        text.withUTF8Buffer { for byte in $0 { output(byte) } }
    }

    /// One output byte through the output flags.
    static func output(_ byte: UInt8) {
        if byte == 0x0A && settings.outputFlags.contains([.postProcess, .mapNLToCRNL]) {
            Serial16550.com1.write(byte: 0x0D)
        }
        Serial16550.com1.write(byte: byte)
    }

    /// A write(2) to the console: whole, between other CPUs' lines, in
    /// pieces of up to 4 KiB (interrupts are off while one goes out).
    static func write(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        while start < bytes.count {
            let end = min(start + 4096, bytes.count)
            Console.exclusive { for byte in bytes[start..<end] { output(byte) } }
            start = end
        }
    }

    /// Blocks until input is ready; returns at most `count` bytes (a line
    /// at most in canonical mode); empty at end of file. EINTR when a
    /// signal arrives first.
    static func read(count: Int, nonBlocking: Bool) throws(Errno) -> [UInt8] {
        try Scheduler.withLockThrowing { () throws(Errno) -> [UInt8] in
            while ready.isEmpty && !endOfFile {
                if nonBlocking { throw .tryAgain }
                if UserThread.currentIfUser?.hasDeliverableSignal == true { throw .interrupted }
                readers.wait()
            }
            if ready.isEmpty {
                endOfFile = false                         // one EOF per ^D
                return []
            }
            var taken = min(count, ready.count)
            if settings.isCanonical, let newline = ready.firstIndex(of: 0x0A) {
                taken = min(taken, newline + 1)
            }
            let result = Array(ready[0..<taken])
            ready.removeFirst(taken)
            return result
        }
    }

    /// Bytes a read would return now (FIONREAD).
    static var pendingCount: Int { Scheduler.withLock { ready.count } }
}
