import ExoIPC
import ExoKit
import ExoSched

/// Fusion Rings between kernel threads (`exo.test=ipc`): the blocking
/// Swift API over the same rings and wait queues the system calls use.
enum IPCTests {
    static let suite = KernelTestSuite(name: "ipc", tests: [
        KernelTest(name: "kernel_threads_exchange_messages_in_order", body: exchange),
        KernelTest(name: "oversized_message_is_refused", body: oversized),
    ])

    /// 20,000 messages of 0-56 bytes from one kernel thread to another
    /// over a ring of 8 slots (so both sides sleep and wake), each with its
    /// index; the receiver checks order and a running checksum.
    static func exchange(_ t: TestContext) {
        guard let ring = try? KernelRing(capacity: 8, flags: []) else { return t.expect(false, "ring created") }
        final class Tally { var sent: UInt64 = 0; var received: UInt64 = 0; var inOrder = true }
        let tally = Tally()
        let count = 20_000
        let sender = try? Threads.spawn(name: "ipc-sender") {
            var random = SplitMix64(seed: 7)
            var message = [UInt8](repeating: 0, count: 56)
            for index in 0..<count {
                let length = 4 + Int(random.next() % 53)
                withUnsafeBytes(of: UInt32(index)) { for b in 0..<4 { message[b] = $0[b] } }
                for b in 4..<length { message[b] = UInt8(truncatingIfNeeded: random.next()) }
                for b in 0..<length { tally.sent = tally.sent &* 31 &+ UInt64(message[b]) }
                message.withUnsafeBytes { raw in
                    try? ring.send(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
                }
            }
        }
        guard let sender else { return t.expect(false, "sender spawned") }
        var buffer = [UInt8](repeating: 0, count: 56)
        for index in 0..<count {
            let received = buffer.withUnsafeMutableBytes { raw in try? ring.receive(into: raw) }
            guard let received, received.length >= 4 else { tally.inOrder = false; break }
            let stamp = UInt32(buffer[0]) | UInt32(buffer[1]) << 8 | UInt32(buffer[2]) << 16 | UInt32(buffer[3]) << 24
            if stamp != UInt32(index) { tally.inOrder = false; break }
            for b in 0..<received.length { tally.received = tally.received &* 31 &+ UInt64(buffer[b]) }
        }
        Threads.join(sender)
        t.expect(tally.inOrder, "messages arrive in order")
        t.expectEqual(tally.received, tally.sent, "checksums match")
    }

    static func oversized(_ t: TestContext) {
        guard let ring = try? KernelRing(capacity: 4, flags: []) else { return t.expect(false, "ring created") }
        let big = [UInt8](repeating: 1, count: 57)
        var refused = false
        big.withUnsafeBytes { raw in
            do throws(Errno) { try ring.send(raw) } catch { refused = error == .messageTooLong }
        }
        t.expect(refused, "57 bytes refused with EMSGSIZE")
        t.expect(!ring.ring.hasMessage, "nothing written")
    }
}
