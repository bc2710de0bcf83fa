import ExoKit

/// `struct winsize` (8 bytes): rows, columns, x pixels, y pixels, each
/// 16-bit, for `TIOCGWINSZ`/`TIOCSWINSZ`.
public struct WindowSize: LinuxABIStruct, Equatable, Sendable {
    /// `ws_row` (0).
    public var rows: UInt16
    /// `ws_col` (2).
    public var columns: UInt16
    /// `ws_xpixel` (4): usually 0.
    public var pixelWidth: UInt16
    /// `ws_ypixel` (6): usually 0.
    public var pixelHeight: UInt16

    /// 8 bytes.
    public static let byteSize = 8
    /// What a serial console reports: 24 × 80, the VT100 screen.
    public static let serialConsole = WindowSize(rows: 24, columns: 80)

    /// A size.
    public init(rows: UInt16, columns: UInt16, pixelWidth: UInt16 = 0, pixelHeight: UInt16 = 0) {
        self.rows = rows
        self.columns = columns
        self.pixelWidth = pixelWidth
        self.pixelHeight = pixelHeight
    }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(rows, into: &bytes, at: offset)
        LinuxLayout.store(columns, into: &bytes, at: offset + 2)
        LinuxLayout.store(pixelWidth, into: &bytes, at: offset + 4)
        LinuxLayout.store(pixelHeight, into: &bytes, at: offset + 6)
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        rows = LinuxLayout.load(UInt16.self, from: bytes, at: offset)
        columns = LinuxLayout.load(UInt16.self, from: bytes, at: offset + 2)
        pixelWidth = LinuxLayout.load(UInt16.self, from: bytes, at: offset + 4)
        pixelHeight = LinuxLayout.load(UInt16.self, from: bytes, at: offset + 6)
    }
}

/// `c_iflag`: input processing (Linux `asm-generic/termbits.h`).
public struct TermiosInputFlags: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `IGNBRK`: ignore BREAK.
    public static let ignoreBreak = TermiosInputFlags(rawValue: 0x1)
    /// `BRKINT`: BREAK sends SIGINT.
    public static let breakInterrupt = TermiosInputFlags(rawValue: 0x2)
    /// `IGNPAR`: ignore parity errors.
    public static let ignoreParityErrors = TermiosInputFlags(rawValue: 0x4)
    /// `ISTRIP`: strip the eighth bit.
    public static let stripHighBit = TermiosInputFlags(rawValue: 0x20)
    /// `INLCR`: NL becomes CR.
    public static let mapNLToCR = TermiosInputFlags(rawValue: 0x40)
    /// `IGNCR`: drop CR.
    public static let ignoreCR = TermiosInputFlags(rawValue: 0x80)
    /// `ICRNL`: CR becomes NL (the Enter key on a serial line sends CR).
    public static let mapCRToNL = TermiosInputFlags(rawValue: 0x100)
    /// `IXON`: ^S/^Q stop and start output.
    public static let outputFlowControl = TermiosInputFlags(rawValue: 0x400)
    /// `IXANY`: any character restarts output.
    public static let restartOnAny = TermiosInputFlags(rawValue: 0x800)
    /// `IXOFF`: send ^S/^Q when the input queue fills.
    public static let inputFlowControl = TermiosInputFlags(rawValue: 0x1000)
    /// `IMAXBEL`: ring the bell when the input queue is full.
    public static let bellOnFullQueue = TermiosInputFlags(rawValue: 0x2000)
    /// `IUTF8`: input is UTF-8 (erase removes whole characters).
    public static let utf8 = TermiosInputFlags(rawValue: 0x4000)
}

/// `c_oflag`: output processing.
public struct TermiosOutputFlags: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `OPOST`: process output at all.
    public static let postProcess = TermiosOutputFlags(rawValue: 0x1)
    /// `ONLCR`: NL is sent as CR NL (so `printf("\n")` returns the carriage).
    public static let mapNLToCRNL = TermiosOutputFlags(rawValue: 0x4)
    /// `OCRNL`: CR is sent as NL.
    public static let mapCRToNL = TermiosOutputFlags(rawValue: 0x8)
    /// `ONOCR`: no CR in column 0.
    public static let noCRAtColumnZero = TermiosOutputFlags(rawValue: 0x10)
    /// `ONLRET`: NL also returns the carriage.
    public static let newlineReturns = TermiosOutputFlags(rawValue: 0x20)
}

/// `c_cflag`: line control. The baud rate is a field (`CBAUD`), not flags.
public struct TermiosControlFlags: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `B38400` (0o17): the speed code Linux's default console reports.
    public static let baud38400 = TermiosControlFlags(rawValue: 0o17)
    /// `CS8` (0o60): eight data bits (the `CSIZE` field).
    public static let characterSize8 = TermiosControlFlags(rawValue: 0o60)
    /// `CSTOPB`: two stop bits.
    public static let twoStopBits = TermiosControlFlags(rawValue: 0o100)
    /// `CREAD`: the receiver is enabled.
    public static let enableReceiver = TermiosControlFlags(rawValue: 0o200)
    /// `PARENB`: parity on.
    public static let parityEnable = TermiosControlFlags(rawValue: 0o400)
    /// `PARODD`: odd parity.
    public static let oddParity = TermiosControlFlags(rawValue: 0o1000)
    /// `HUPCL`: hang up on last close.
    public static let hangupOnClose = TermiosControlFlags(rawValue: 0o2000)
    /// `CLOCAL`: ignore modem control lines.
    public static let local = TermiosControlFlags(rawValue: 0o4000)
    /// `CBAUD` (0o10017): the speed field.
    public static let baudMask: UInt32 = 0o10017
}

/// `c_lflag`: line discipline.
public struct TermiosLocalFlags: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// `ISIG`: INTR/QUIT/SUSP characters send signals.
    public static let signals = TermiosLocalFlags(rawValue: 0x1)
    /// `ICANON`: line-by-line input with editing.
    public static let canonical = TermiosLocalFlags(rawValue: 0x2)
    /// `ECHO`: echo input.
    public static let echo = TermiosLocalFlags(rawValue: 0x8)
    /// `ECHOE`: ERASE erases the previous character on screen.
    public static let echoErase = TermiosLocalFlags(rawValue: 0x10)
    /// `ECHOK`: KILL erases the line (or echoes NL).
    public static let echoKill = TermiosLocalFlags(rawValue: 0x20)
    /// `ECHONL`: echo NL even without ECHO.
    public static let echoNewline = TermiosLocalFlags(rawValue: 0x40)
    /// `NOFLSH`: do not flush queues on signals.
    public static let noFlush = TermiosLocalFlags(rawValue: 0x80)
    /// `TOSTOP`: background writes send SIGTTOU.
    public static let stopBackgroundOutput = TermiosLocalFlags(rawValue: 0x100)
    /// `ECHOCTL`: echo control characters as ^X.
    public static let echoControl = TermiosLocalFlags(rawValue: 0x200)
    /// `ECHOPRT`: hard-copy erase echo.
    public static let echoPrint = TermiosLocalFlags(rawValue: 0x400)
    /// `ECHOKE`: KILL erases each character of the line.
    public static let echoKillErase = TermiosLocalFlags(rawValue: 0x800)
    /// `IEXTEN`: implementation-defined input processing (LNEXT, WERASE...).
    public static let extended = TermiosLocalFlags(rawValue: 0x8000)
}

/// Indices into `c_cc`.
public enum ControlCharacter {
    /// `VINTR` (0): sends SIGINT (^C).
    public static let interrupt = 0
    /// `VQUIT` (1): sends SIGQUIT (^\).
    public static let quit = 1
    /// `VERASE` (2): erase a character (DEL).
    public static let erase = 2
    /// `VKILL` (3): erase the line (^U).
    public static let kill = 3
    /// `VEOF` (4): end of file (^D).
    public static let endOfFile = 4
    /// `VTIME` (5): non-canonical read timeout, tenths of a second.
    public static let time = 5
    /// `VMIN` (6): non-canonical read minimum byte count.
    public static let minimum = 6
    /// `VSWTC` (7): unused on Linux.
    public static let switchCharacter = 7
    /// `VSTART` (8): restart output (^Q).
    public static let start = 8
    /// `VSTOP` (9): stop output (^S).
    public static let stop = 9
    /// `VSUSP` (10): sends SIGTSTP (^Z).
    public static let suspend = 10
    /// `VEOL` (11): extra end-of-line character.
    public static let endOfLine = 11
    /// `VREPRINT` (12): reprint the line (^R).
    public static let reprint = 12
    /// `VDISCARD` (13): discard output (^O).
    public static let discard = 13
    /// `VWERASE` (14): erase a word (^W).
    public static let wordErase = 14
    /// `VLNEXT` (15): take the next character literally (^V).
    public static let literalNext = 15
    /// `VEOL2` (16): second extra end-of-line character.
    public static let endOfLine2 = 16
    /// `NCCS` in the kernel structure: 19 slots.
    public static let count = 19
}

/// The kernel's `struct termios` for `TCGETS`/`TCSETS*` (36 bytes):
/// `c_iflag` 0, `c_oflag` 4, `c_cflag` 8, `c_lflag` 12 (all 32-bit),
/// `c_line` 16, `c_cc[19]` 17...35.
///
/// This is not glibc's `struct termios` (60 bytes, with speeds and 32
/// control characters): libc translates. The first 36 bytes agree.
public struct Termios: LinuxABIStruct, Equatable, Sendable {
    /// `c_iflag`.
    public var inputFlags: TermiosInputFlags
    /// `c_oflag`.
    public var outputFlags: TermiosOutputFlags
    /// `c_cflag`.
    public var controlFlags: TermiosControlFlags
    /// `c_lflag`.
    public var localFlags: TermiosLocalFlags
    /// `c_line`: the line discipline (0, N_TTY).
    public var lineDiscipline: UInt8
    /// `c_cc`, indexed by `ControlCharacter`; always 19 entries.
    public var controlCharacters: [UInt8]

    /// 36 bytes.
    public static let byteSize = 36

    /// Linux's `tty_std_termios`: what a freshly opened terminal has, and
    /// what shells and line editors expect to find (cooked mode, echo,
    /// CR→NL on input, NL→CR NL on output, ^C/^\/^Z signals).
    public static let standard = Termios(
        inputFlags: [.mapCRToNL, .outputFlowControl],
        outputFlags: [.postProcess, .mapNLToCRNL],
        controlFlags: [.baud38400, .characterSize8, .enableReceiver, .hangupOnClose],
        localFlags: [.signals, .canonical, .echo, .echoErase, .echoKill, .echoControl,
                     .echoKillErase, .extended],
        lineDiscipline: 0,
        // INIT_C_CC: ^C ^\ DEL ^U ^D, TIME 0, MIN 1, SWTC 0, ^Q ^S ^Z,
        // EOL 0, ^R ^O ^W ^V, EOL2 0.
        controlCharacters: [3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f,
                            0x17, 0x16, 0, 0, 0])

    /// A termios with the given fields. Precondition: 19 control characters.
    public init(inputFlags: TermiosInputFlags, outputFlags: TermiosOutputFlags,
                controlFlags: TermiosControlFlags, localFlags: TermiosLocalFlags,
                lineDiscipline: UInt8, controlCharacters: [UInt8]) {
        precondition(controlCharacters.count == ControlCharacter.count, "c_cc has 19 slots")
        self.inputFlags = inputFlags
        self.outputFlags = outputFlags
        self.controlFlags = controlFlags
        self.localFlags = localFlags
        self.lineDiscipline = lineDiscipline
        self.controlCharacters = controlCharacters
    }

    /// Whether input is line-buffered (`ICANON`); otherwise reads follow
    /// `VMIN`/`VTIME`.
    public var isCanonical: Bool { localFlags.contains(.canonical) }

    public func encode(into bytes: inout [UInt8], at offset: Int) {
        LinuxLayout.store(inputFlags.rawValue, into: &bytes, at: offset)
        LinuxLayout.store(outputFlags.rawValue, into: &bytes, at: offset + 4)
        LinuxLayout.store(controlFlags.rawValue, into: &bytes, at: offset + 8)
        LinuxLayout.store(localFlags.rawValue, into: &bytes, at: offset + 12)
        bytes[offset + 16] = lineDiscipline
        for index in 0..<ControlCharacter.count {
            bytes[offset + 17 + index] = controlCharacters[index]
        }
    }

    public init(decoding bytes: [UInt8], at offset: Int) throws(Errno) {
        try Self.checkBounds(bytes, at: offset)
        inputFlags = TermiosInputFlags(rawValue: LinuxLayout.load(UInt32.self, from: bytes, at: offset))
        outputFlags = TermiosOutputFlags(rawValue: LinuxLayout.load(UInt32.self, from: bytes, at: offset + 4))
        controlFlags = TermiosControlFlags(rawValue: LinuxLayout.load(UInt32.self, from: bytes, at: offset + 8))
        localFlags = TermiosLocalFlags(rawValue: LinuxLayout.load(UInt32.self, from: bytes, at: offset + 12))
        lineDiscipline = bytes[offset + 16]
        controlCharacters = Array(bytes[(offset + 17)..<(offset + 36)])
    }
}
