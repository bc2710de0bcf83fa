import ExoIPC
import ExoKit
import ExoSched

/// Fusion Rings between kernel threads (`exo.test=ipc`): the blocking
/// Swift API over the same rings and wait queues the system calls use.
enum IPCTests {
    static let suite = KernelTestSuite(name: "ipc", tests: [
        KernelTest(name: "kernel_threads_exchange_messages_in_order", body: exchange),
        KernelTest(name: "oversized_message_is_refused", body: oversized),
        KernelTest(name: "call_reply_between_kernel_threads", body: callReply),
        KernelTest(name: "last_receiver_closing_withdraws_parked_transfers", body: lastReceiverWithdraws),
    ])

    /// Grants and handles parked on a ring for a receiver are released when
    /// its last receive end closes, not when their sender exits: the
    /// granted frame's reference and the passed ring's end come back.
    static func lastReceiverWithdraws(_ t: TestContext) {
        guard let carrier = try? KernelRing(capacity: 4, flags: []),
              let passed = try? KernelRing(capacity: 4, flags: []),
              let frame = try? PhysicalMemory.allocateZeroedFrame() else { return t.expect(false, "rings and a frame") }
        FrameReferences.adopt(frame)
        _ = FrameReferences.retain(frame)                    // the grant's own reference
        let (grantID, handleID): (UInt32?, UInt32?) = Scheduler.withLock {
            carrier.openEnd([.send, .receive])
            passed.openEnd(.all)
            passed.openEnd(.send)                            // the copy in flight
            let grant = try? IPC.grants.park(IPC.Grant(frames: [frame], offset: 0, length: 4096),
                                             ring: ObjectIdentifier(carrier), sender: 0)
            let handle = try? IPC.handlesInFlight.park(IPC.HandleInFlight(ring: passed, rights: .send),
                                                       ring: ObjectIdentifier(carrier), sender: 0)
            return (grant, handle)
        }
        guard let grantID, let handleID else { return t.expect(false, "transfers parked") }
        t.expectEqual(FrameReferences.count(frame), 2, "the grant holds a reference")
        Scheduler.withLock { carrier.closeEnd(.send) }
        t.expect(Scheduler.withLock { IPC.grants.isParked(grantID) }, "a send end closing leaves them parked")
        Scheduler.withLock { carrier.closeEnd(.receive) }
        t.expect(!Scheduler.withLock { IPC.grants.isParked(grantID) }, "the grant is withdrawn")
        t.expect(!Scheduler.withLock { IPC.handlesInFlight.isParked(handleID) }, "the handle in flight is withdrawn")
        t.expectEqual(FrameReferences.count(frame), 1, "the grant's frame reference is released")
        t.expectEqual(passed.sendEnds, 1, "the passed ring's in-flight end is closed")
        let redeemed = Scheduler.withLock { () -> Bool in (try? IPC.grants.redeem(grantID, ring: ObjectIdentifier(carrier))) != nil }
        t.expect(!redeemed, "a withdrawn grant cannot be redeemed")
        Scheduler.withLock { passed.closeEnd(.all) }
        FrameReferences.release(frame)                       // frees it
    }

    /// KernelRing.call: 1,000 requests, each answered with its value plus
    /// one by a server thread that replies and waits in one call; the
    /// client sees every answer in order.
    static func callReply(_ t: TestContext) {
        guard let requests = try? KernelRing(capacity: 4, flags: []),
              let replies = try? KernelRing(capacity: 4, flags: []) else { return t.expect(false, "rings created") }
        let count: UInt64 = 1_000
        let server = try? Threads.spawn(name: "ipc-server") {
            var value: UInt64 = 0
            withUnsafeMutableBytes(of: &value) { (buffer: UnsafeMutableRawBufferPointer) in
                guard (try? requests.receive(into: buffer)) != nil else { return }
                while true {
                    let received = buffer.load(as: UInt64.self)
                    buffer.storeBytes(of: received &+ 1, as: UInt64.self)
                    if received == count { return }
                    guard (try? replies.call(UnsafeRawBufferPointer(buffer), reply: requests, into: buffer)) != nil
                    else { return }
                }
            }
        }
        guard let server else { return t.expect(false, "server spawned") }
        var inOrder = true
        for request in 0..<count {
            var value = request
            let length = withUnsafeMutableBytes(of: &value) { (buffer: UnsafeMutableRawBufferPointer) -> Int in
                (try? requests.call(UnsafeRawBufferPointer(buffer), reply: replies, into: buffer))?.length ?? -1
            }
            if length != 8 || value != request + 1 { inOrder = false }
        }
        var last = count
        withUnsafeBytes(of: &last) { _ = try? requests.send($0) }       // ends the server
        Threads.join(server)
        t.expect(inOrder, "every reply is its request plus one, in order")
    }

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
