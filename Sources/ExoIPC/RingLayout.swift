/// The shared-memory layout of a Fusion Ring, byte for byte. Both ends map
/// the same pages (kernel threads see them through the direct map), and
/// user space reaches them from C (user/include/fring.h mirrors every
/// offset here).
///
///     0     control line: magic, version, capacity, flags, slot mask
///     64    tail: producers' next position (its own cache line)
///     128   head: the consumer's next position (its own cache line)
///     192   wait words: receiverWaiting, senderWaiting (futex-like)
///     256   slots: `capacity` × 64 bytes
///
/// A slot is one cache line: an 8-byte header, then up to 56 payload bytes.
///
///     0  sequence  UInt32   slot state (see FusionRing)
///     4  length    UInt16   payload bytes, ≤ 56
///     6  type      UInt8    MessageType
///     7  flags     UInt8    MessageFlags
///     8  payload   56 bytes
///
/// Positions are 64-bit counters that only grow; a slot's index is the
/// position modulo `capacity` (a power of two), and its sequence field holds
/// the low 32 bits of a position, compared with wrapping arithmetic, so
/// counters may wrap freely.
public enum RingLayout {
    public static let magic: UInt32 = 0x474E_5246        // "FRNG" little-endian
    public static let version: UInt16 = 1

    public static let magicOffset = 0
    public static let versionOffset = 4
    public static let capacityOffset = 8
    public static let flagsOffset = 12
    /// `capacity - 1`, for user code's slot arithmetic (a position's slot
    /// is `position & mask`). Written at creation; the kernel never reads
    /// it back (it keeps its own), so a peer that scribbles on it only
    /// misleads itself.
    public static let slotMaskOffset = 16
    public static let tailOffset = 64
    public static let headOffset = 128
    public static let receiverWaitingOffset = 192
    public static let senderWaitingOffset = 196
    public static let slotsOffset = 256

    public static let slotSize = 64
    public static let headerSize = 8
    /// The largest payload that travels inline in a slot.
    public static let inlineCapacity = slotSize - headerSize

    public static let sequenceOffset = 0
    public static let lengthOffset = 4
    public static let typeOffset = 6
    public static let messageFlagsOffset = 7

    /// Capacities are powers of two from 2 to 2^15 slots (2 MiB of slots):
    /// far below 2^31, which the wrapping sequence comparison needs, and a
    /// ring with its header fits the kernel's largest contiguous block
    /// (4 MiB; at 2^16 slots the header's page made it 4 MiB + 4 KiB, which
    /// no allocation could ever give).
    public static let minimumCapacity = 2
    public static let maximumCapacity = 1 << 15

    /// Bytes a ring of `capacity` slots occupies.
    public static func bytes(capacity: Int) -> Int { slotsOffset + capacity * slotSize }
}

/// Ring-wide options, fixed at creation.
public struct RingFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Several producers may send at once (they claim slots with a
    /// compare-and-swap on the tail); otherwise exactly one may.
    public static let multiProducer = RingFlags(rawValue: 1 << 0)

    /// Grants are mapped into the receiver as it takes them (fring_recv,
    /// fring_call): the descriptor it gets carries the address, and the
    /// mapping is revoked at its next receive on the ring. A kernel-side
    /// option: the kernel keeps its own copy, not the header's.
    public static let mapsGrants = RingFlags(rawValue: 1 << 1)

    public static let all: RingFlags = [.multiProducer, .mapsGrants]
}

/// What a slot carries.
public enum MessageType: UInt8, Sendable {
    /// Inline bytes: the payload is the message.
    case data = 1
    /// A zero-copy grant: the payload is a `GrantDescriptor`.
    case grant = 2
    /// A capability handed to the receiver: the payload is a `HandleTransfer`.
    case handle = 3
}
