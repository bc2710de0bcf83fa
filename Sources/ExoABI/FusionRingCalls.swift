/// Exo's own system calls: Fusion Ring IPC (ExoIPC). Numbers 400...417 lie in
/// 335...423, which x86_64 Linux never assigns (those are other
/// architectures' 32-bit time calls), so a program can probe for Exo: Linux
/// answers ENOSYS. user/include/fring.h has the C side.
extension SyscallNumber {
    /// fring_create(capacity, flags) → handle with every right.
    public static let fringCreate = SyscallNumber(rawValue: 400)
    /// fring_map(handle) → user address of the ring's shared pages.
    public static let fringMap = SyscallNumber(rawValue: 401)
    /// fring_send(handle, buffer, length, flags) → 0.
    public static let fringSend = SyscallNumber(rawValue: 402)
    /// fring_recv(handle, buffer, capacity, flags) → type << 16 | length.
    public static let fringReceive = SyscallNumber(rawValue: 403)
    /// fring_call(handle, buffer, length, reply_handle, reply_buffer, reply_capacity)
    /// → like fring_recv on the reply ring; the CPU goes straight to a
    /// receiver waiting on `handle`.
    public static let fringCall = SyscallNumber(rawValue: 404)
    /// fring_wait(handle, side): sleep until a message (side 0) or a free
    /// slot (side 1); for programs that use the mapped ring directly.
    public static let fringWait = SyscallNumber(rawValue: 405)
    /// fring_wake(handle, side): wake those sleeping in fring_wait.
    public static let fringWake = SyscallNumber(rawValue: 406)
    /// fring_dup(handle, rights) → a new handle with fewer rights.
    public static let fringDuplicate = SyscallNumber(rawValue: 407)
    /// fring_close(handle).
    public static let fringClose = SyscallNumber(rawValue: 408)
    /// fring_grant(handle, address, length, flags): sends the pages under
    /// [address, address + length) zero-copy (a `.grant` slot).
    public static let fringGrant = SyscallNumber(rawValue: 409)
    /// fring_grant_map(handle, grant_id) → the granted bytes' address,
    /// mapped read-only in the caller (munmap releases them).
    public static let fringGrantMap = SyscallNumber(rawValue: 410)
    /// fring_send_handle(handle, other, rights): passes a copy of `other`
    /// (with `rights`, a subset) over the ring (a `.handle` slot).
    public static let fringSendHandle = SyscallNumber(rawValue: 411)
    /// fring_accept_handle(handle, transfer_id) → the new handle.
    public static let fringAcceptHandle = SyscallNumber(rawValue: 412)
    /// fring_send_batch(handle, messages, count, flags) → how many went:
    /// `count` (at most `FusionRingBatch.limit`) descriptors of 16 bytes
    /// {address, length}, each message at most 56 bytes, sent in order;
    /// receivers are woken once for the batch.
    public static let fringSendBatch = SyscallNumber(rawValue: 413)
    /// fring_recv_batch(handle, records, count, flags) → how many came:
    /// up to `count` messages, each into a 64-byte record shaped like a
    /// slot (length u16, type u8, flags u8, 4 reserved, 56 payload bytes).
    public static let fringReceiveBatch = SyscallNumber(rawValue: 414)
    /// fring_wake_wait(wake_handle, wait_handle) → 0: for programs that
    /// move messages through the mapped rings, the call/reply step in one
    /// call: the CPU goes straight to a receiver sleeping on `wake_handle`'s
    /// ring (a request was just put there), and the caller sleeps until
    /// `wait_handle`'s ring may hold a message (the reply). Like a futex
    /// wait it may return early; the caller re-checks its ring.
    public static let fringWakeWait = SyscallNumber(rawValue: 415)
    /// fring_grant_call(handle, address, length, reply_handle, reply_buffer,
    /// reply_capacity) → like fring_call: the request is a shared,
    /// read-only grant of [address, address + length) (as fring_grant),
    /// the CPU goes straight to a receiver waiting on `handle`, and the
    /// caller waits for the reply.
    public static let fringGrantCall = SyscallNumber(rawValue: 416)
    /// fring_grant_wake_wait(handle, address, length, wait_handle) → 0:
    /// fring_wake_wait with a grant as the request, for programs that take
    /// their replies from the mapped rings: [address, address + length)
    /// goes onto `handle`'s ring as fring_grant would put it (shared,
    /// read-only), the CPU to a receiver sleeping there, and the caller
    /// sleeps until `wait_handle`'s ring may hold a message.
    public static let fringGrantWakeWait = SyscallNumber(rawValue: 417)

    /// The Exo call's name, for traces.
    public var exoName: StaticString? {
        switch rawValue {
        case 400: "fring_create"
        case 401: "fring_map"
        case 402: "fring_send"
        case 403: "fring_recv"
        case 404: "fring_call"
        case 405: "fring_wait"
        case 406: "fring_wake"
        case 407: "fring_dup"
        case 408: "fring_close"
        case 409: "fring_grant"
        case 410: "fring_grant_map"
        case 411: "fring_send_handle"
        case 412: "fring_accept_handle"
        case 413: "fring_send_batch"
        case 414: "fring_recv_batch"
        case 415: "fring_wake_wait"
        case 416: "fring_grant_call"
        case 417: "fring_grant_wake_wait"
        default: nil
        }
    }
}

/// fring_send / fring_recv flags.
public struct FusionRingCallFlags: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// Wait for room (send) or a message (receive) instead of EAGAIN.
    public static let block = FusionRingCallFlags(rawValue: 1)
    /// fring_grant: move the pages instead of sharing them: they leave the
    /// sender's address space, and the receiver maps them writable and
    /// private (page-aligned buffers only).
    public static let move = FusionRingCallFlags(rawValue: 2)
}

/// The shapes fring_send_batch and fring_recv_batch exchange with user
/// memory.
public enum FusionRingBatch {
    /// Most messages one batch call moves (a bound on the kernel's work per
    /// call, like IOV_MAX; larger counts are EINVAL).
    public static let limit: UInt64 = 64
    /// A send descriptor: the message's address and length, 8 bytes each.
    public static let descriptorSize: UInt64 = 16
    /// A receive record: 8-byte header (length, type, flags, reserved)
    /// then up to 56 payload bytes.
    public static let recordSize: UInt64 = 64
    public static let recordHeaderSize = 8
}
