import ExoKit

/// Why a ring or handle operation did not happen.
public enum IPCError: Error, Equatable, Sendable {
    /// No free slot (send) or no message (receive): try again or wait.
    case full
    case empty
    /// The payload does not fit in a slot's 56 bytes.
    case messageTooLarge(Int)
    /// The receive buffer is smaller than the message; nothing consumed.
    case bufferTooSmall(needed: Int)
    /// The shared memory does not hold a valid ring (bad magic, version,
    /// capacity or size), or a slot holds an impossible header: the peer
    /// wrote garbage.
    case corrupt
    /// Creation parameters out of range.
    case invalidParameters
    /// No live object behind the handle (never issued, closed, or reused).
    case invalidHandle
    /// The handle lacks a right the operation needs.
    case insufficientRights
    /// The handle table is full.
    case tableFull
    /// The other end is gone (its process died, or it closed the ring).
    case peerGone

    /// The error a system call reports.
    public var errno: Errno {
        switch self {
        case .full, .empty: .tryAgain
        case .messageTooLarge: .messageTooLong
        case .bufferTooSmall: .messageTooLong
        case .corrupt: .badMessage
        case .invalidParameters: .invalidArgument
        case .invalidHandle: .badFileDescriptor
        case .insufficientRights: .notPermitted
        case .tableFull: .tooManyOpenFiles
        case .peerGone: .brokenPipe
        }
    }
}
