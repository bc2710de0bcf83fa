/// Ends a QEMU run with a status the host can read.
///
/// With `-device isa-debug-exit,iobase=0xf4,iosize=0x04`, writing v to port
/// 0xF4 makes QEMU exit with status (v << 1) | 1: 0x10 -> 33 (success),
/// 0x11 -> 35 (failure). Status 0 (a triple fault with -no-reboot) is never
/// success to the runners. Without the device the write is ignored and the
/// CPU halts, so a person at the console sees the result and nothing else.
enum DebugExit {
    enum Outcome: UInt32 {
        case success = 0x10
        case failure = 0x11
    }

    static func exit(_ outcome: Outcome) -> Never {
        CPU.disableInterrupts()
        PortIO.write32(0xF4, outcome.rawValue)
        CPU.haltForever()
    }
}
