/// A 16550-compatible UART on an I/O port base (COM1 = 0x3F8).
///
/// Register map (offsets from the base; DLAB is bit 7 of LCR):
/// 0 THR/RBR (DLAB=0) or divisor low; 1 IER or divisor high; 2 FCR (write)
/// / IIR (read); 3 LCR; 4 MCR; 5 LSR.
struct Serial16550 {
    let base: UInt16

    static let com1 = Serial16550(base: 0x3F8)

    private enum Register: UInt16 {
        case data = 0, interruptEnable = 1, fifoControl = 2, lineControl = 3, modemControl = 4, lineStatus = 5
    }
    private enum LineStatus {
        static let dataReady: UInt8 = 1 << 0
        static let transmitterEmpty: UInt8 = 1 << 5
    }
    private enum ModemControl {
        static let dataTerminalReady: UInt8 = 1 << 0
        static let requestToSend: UInt8 = 1 << 1
        /// OUT2 gates the UART's interrupt line onto the PIC on PCs.
        static let out2: UInt8 = 1 << 3
        static let loopback: UInt8 = 1 << 4
    }

    private func read(_ register: Register) -> UInt8 { PortIO.read8(base + register.rawValue) }
    private func write(_ register: Register, _ value: UInt8) { PortIO.write8(base + register.rawValue, value) }

    /// 115200 baud, 8 data bits, no parity, one stop bit, FIFOs on and
    /// cleared, interrupts off.
    func initialize() {
        write(.interruptEnable, 0)
        write(.lineControl, 0x80)            // DLAB on: next two writes set the divisor
        write(.data, 1)                      // 115200 / 1
        write(.interruptEnable, 0)
        write(.lineControl, 0x03)            // 8N1, DLAB off
        write(.fifoControl, 0xC7)            // enable, clear both FIFOs, 14-byte threshold
        write(.modemControl, ModemControl.dataTerminalReady | ModemControl.requestToSend | ModemControl.out2)
    }

    /// Sends one byte, waiting for room in the transmitter.
    func write(byte: UInt8) {
        var spins = 0
        // A bounded wait: with no UART present LSR reads 0xFF (ready), and a
        // wedged one must not hang a panic report forever.
        while read(.lineStatus) & LineStatus.transmitterEmpty == 0 && spins < 100_000 {
            spins += 1
        }
        write(.data, byte)
    }

    /// The next received byte, or nil when none is waiting (polled).
    func readByte() -> UInt8? {
        read(.lineStatus) & LineStatus.dataReady != 0 ? read(.data) : nil
    }

    /// Asks the UART to interrupt when a byte arrives.
    func enableReceiveInterrupt() {
        write(.interruptEnable, 0x01)
    }

    /// Discards anything waiting in the receive FIFO.
    func drainReceiver() {
        while readByte() != nil {}
    }

    /// Sends `bytes` through the UART's internal loopback (nothing reaches the
    /// wire) and returns what came back, or nil if a byte never arrived.
    /// Restores normal operation afterwards.
    func loopbackRoundTrip(_ bytes: [UInt8]) -> [UInt8]? {
        let savedInterrupts = read(.interruptEnable)
        write(.interruptEnable, 0)
        write(.modemControl, ModemControl.loopback | ModemControl.requestToSend | ModemControl.dataTerminalReady)
        drainReceiver()
        var received: [UInt8] = []
        received.reserveCapacity(bytes.count)
        for byte in bytes {
            write(byte: byte)
            var spins = 0
            var echoed: UInt8? = nil
            while echoed == nil && spins < 100_000 {
                echoed = readByte()
                spins += 1
            }
            guard let value = echoed else { break }
            received.append(value)
        }
        write(.modemControl, ModemControl.dataTerminalReady | ModemControl.requestToSend | ModemControl.out2)
        write(.interruptEnable, savedInterrupts)
        return received.count == bytes.count ? received : nil
    }

    /// Whether a UART answers at this base: the scratch register (offset 7)
    /// keeps what is written to it.
    func isPresent() -> Bool {
        PortIO.write8(base + 7, 0x5A)
        return PortIO.read8(base + 7) == 0x5A
    }
}
