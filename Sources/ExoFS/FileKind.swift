/// What a node in a file tree is, with the S_IF* bits Linux's `st_mode` uses.
public enum FileKind: UInt32, Sendable {
    case regular = 0o100000
    case directory = 0o040000
    case symbolicLink = 0o120000
    case characterDevice = 0o020000
    case fifo = 0o010000
}
