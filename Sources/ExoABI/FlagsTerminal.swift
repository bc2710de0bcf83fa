/// An `ioctl` request number.
///
/// Linux declares the parameter `unsigned int cmd`, so only the low 32 bits
/// of the register count: glibc passes `unsigned long` and sign-extends
/// some requests, which must still match. The terminal requests are the
/// x86_64 values from `asm-generic/ioctls.h`.
public struct IoctlRequest: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The request from `ioctl`'s second argument register.
    public init(argument: UInt64) { rawValue = UInt32(truncatingIfNeeded: argument) }

    /// `TCGETS` (0x5401): read the kernel `termios` (36 bytes; see `Termios`).
    public static let getTermios = IoctlRequest(rawValue: 0x5401)
    /// `TCSETS` (0x5402): set `termios` now.
    public static let setTermios = IoctlRequest(rawValue: 0x5402)
    /// `TCSETSW` (0x5403): set `termios` after output drains.
    public static let setTermiosDrain = IoctlRequest(rawValue: 0x5403)
    /// `TCSETSF` (0x5404): drain output, discard pending input, then set.
    public static let setTermiosFlush = IoctlRequest(rawValue: 0x5404)
    /// `TCSBRK` (0x5409): `tcdrain`/`tcsendbreak`.
    public static let sendBreak = IoctlRequest(rawValue: 0x5409)
    /// `TCXONC` (0x540A): `tcflow`.
    public static let flowControl = IoctlRequest(rawValue: 0x540A)
    /// `TCFLSH` (0x540B): `tcflush`.
    public static let flush = IoctlRequest(rawValue: 0x540B)
    /// `TIOCSCTTY` (0x540E): make this the controlling terminal.
    public static let setControllingTerminal = IoctlRequest(rawValue: 0x540E)
    /// `TIOCGPGRP` (0x540F): read the foreground process group.
    public static let getForegroundGroup = IoctlRequest(rawValue: 0x540F)
    /// `TIOCSPGRP` (0x5410): set the foreground process group.
    public static let setForegroundGroup = IoctlRequest(rawValue: 0x5410)
    /// `TIOCOUTQ` (0x5411): bytes waiting in the output queue.
    public static let outputQueueSize = IoctlRequest(rawValue: 0x5411)
    /// `TIOCGWINSZ` (0x5413): read the window size (`WindowSize`).
    public static let getWindowSize = IoctlRequest(rawValue: 0x5413)
    /// `TIOCSWINSZ` (0x5414): set the window size (sends SIGWINCH).
    public static let setWindowSize = IoctlRequest(rawValue: 0x5414)
    /// `FIONREAD` (0x541B, also `TIOCINQ`): bytes ready to read.
    public static let bytesReadable = IoctlRequest(rawValue: 0x541B)
    /// `FIONBIO` (0x5421): set or clear O_NONBLOCK from an `int`.
    public static let setNonBlocking = IoctlRequest(rawValue: 0x5421)
    /// `TIOCNOTTY` (0x5422): give up the controlling terminal.
    public static let releaseControllingTerminal = IoctlRequest(rawValue: 0x5422)
    /// `TIOCGSID` (0x5429): the session that owns the terminal.
    public static let getSession = IoctlRequest(rawValue: 0x5429)
    /// `FIONCLEX` (0x5450): clear FD_CLOEXEC.
    public static let clearCloseOnExec = IoctlRequest(rawValue: 0x5450)
    /// `FIOCLEX` (0x5451): set FD_CLOEXEC.
    public static let setCloseOnExec = IoctlRequest(rawValue: 0x5451)
    /// `FIOASYNC` (0x5452): set or clear O_ASYNC.
    public static let setAsync = IoctlRequest(rawValue: 0x5452)
    /// `TIOCGPTN` (0x80045430): the number of a pseudo-terminal's slave.
    public static let getPseudoTerminalNumber = IoctlRequest(rawValue: 0x8004_5430)
    /// `TIOCSPTLCK` (0x40045431): lock or unlock a pseudo-terminal slave.
    public static let setPseudoTerminalLock = IoctlRequest(rawValue: 0x4004_5431)
}
