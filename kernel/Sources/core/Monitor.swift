/// The interactive console of a normal boot: a line editor on COM1 with a
/// few commands, until the shell of the user-mode work replaces it.
///
/// Input is interrupt-driven: IRQ 4 moves received bytes into a small
/// ring, and the idle loop sleeps in `hlt` until one arrives.
enum Monitor {
    private static let capacity = 256
    nonisolated(unsafe) private static var ring = [UInt8](repeating: 0, count: capacity)
    nonisolated(unsafe) private static var head = 0   // next write (interrupt side)
    nonisolated(unsafe) private static var tail = 0   // next read (idle loop)

    static func run() -> Never {
        let vector = IOAPIC.enable(isaIRQ: 4, destination: LocalAPIC.id)
        Interrupts.register(vector: vector) { receive() }
        Serial16550.com1.drainReceiver()
        Serial16550.com1.enableReceiveInterrupt()
        Console.write("Type 'help' for commands.\n")
        var line: [UInt8] = []
        prompt()
        while true {
            guard let byte = nextByte() else {
                CPU.waitForInterrupt()
                continue
            }
            switch byte {
            case 0x0D, 0x0A:
                Console.write("\n")
                execute(String(decoding: line, as: UTF8.self))
                line.removeAll()
                prompt()
            case 0x08, 0x7F:
                if !line.isEmpty {
                    line.removeLast()
                    Console.write("\u{8} \u{8}")
                }
            case 0x20...0x7E where line.count < 200:
                line.append(byte)
                Console.write(byte: byte)
            default:
                break
            }
        }
    }

    /// IRQ 4 handler (interrupts off): drain the UART into the ring.
    private static func receive() {
        while let byte = Serial16550.com1.readByte() {
            let next = (head + 1) % capacity
            if next == tail { continue }        // full: drop, never block in an interrupt
            ring[head] = byte
            head = next
        }
    }

    private static func nextByte() -> UInt8? {
        CPU.disableInterrupts()
        defer { CPU.enableInterrupts() }
        guard tail != head else { return nil }
        let byte = ring[tail]
        tail = (tail + 1) % capacity
        return byte
    }

    private static func prompt() { Console.write("exo> ") }

    private static func execute(_ command: String) {
        let words = command.split(separator: " ").map(String.init)
        guard let verb = words.first else { return }
        switch verb {
        case "help":
            Console.write("""
            help            this list
            info            boot information summary
            uptime          time since boot
            heap            early heap statistics
            test [suites]   run in-kernel tests (default: all)
            bench [names]   run benchmarks (default: all)
            panic           stop the kernel with a panic report
            halt            stop (ends QEMU when isa-debug-exit is present)

            """)
        case "info":
            if let info = BootState.info { BootReport.print(info) }
        case "uptime":
            Console.write("\(Clock.microsecondsSinceBoot() / 1000) ms since kmain\n")
        case "heap":
            Console.write("early heap: \(EarlyHeap.bytesInUse) bytes in \(EarlyHeap.allocationCount) blocks\n")
        case "test":
            CPU.disableInterrupts()
            _ = KernelTests.run(selection: words.count > 1 ? words[1] : "all")
            CPU.enableInterrupts()
        case "bench":
            CPU.disableInterrupts()
            _ = Benchmarks.run(selection: words.count > 1 ? words[1] : "all")
            CPU.enableInterrupts()
        case "panic":
            panic("panic requested at the console")
        case "halt":
            Console.write("exo: halting\n")
            DebugExit.exit(.success)
        default:
            Console.write("unknown command '\(verb)'; try 'help'\n")
        }
    }
}
