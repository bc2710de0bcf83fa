import Foundation
import ExoKit
import Testing
@testable import ExoIPC

/// Ring memory owned by a test: page-aligned, like the kernel's.
final class RingMemory: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let length: Int

    init(capacity: Int) {
        length = RingLayout.bytes(capacity: capacity)
        base = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 4096)
        base.initializeMemory(as: UInt8.self, repeating: 0xA5, count: length)   // not zeroed on purpose
    }

    deinit { base.deallocate() }
}

func send(_ ring: FusionRing, _ bytes: [UInt8], type: MessageType = .data) throws {
    try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in try ring.send(raw, type: type) }
}

func receive(_ ring: FusionRing, capacity: Int = 56) throws -> (FusionRing.Received, [UInt8]) {
    var buffer = [UInt8](repeating: 0, count: capacity)
    let received = try buffer.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) throws in
        try ring.receive(into: raw)
    }
    return (received, Array(buffer[0..<received.length]))
}

@Suite("Fusion Ring: layout, send/receive, full/empty, wrap-around")
struct FusionRingTests {
    @Test func layoutIsSixtyFourByteSlotsWithFiftySixInline() {
        #expect(RingLayout.slotSize == 64)
        #expect(RingLayout.inlineCapacity == 56)
        #expect(RingLayout.slotsOffset % 64 == 0)
        #expect(RingLayout.tailOffset / 64 != RingLayout.headOffset / 64)   // own cache lines
        #expect(RingLayout.bytes(capacity: 64) == 256 + 64 * 64)
    }

    @Test func formatWritesTheSlotMaskForUserCode() throws {
        let memory = RingMemory(capacity: 16)
        _ = try FusionRing.format(at: memory.base, length: memory.length, capacity: 16)
        #expect(memory.base.load(fromByteOffset: RingLayout.slotMaskOffset, as: UInt32.self) == 15)
        #expect(memory.base.load(fromByteOffset: RingLayout.capacityOffset, as: UInt32.self) == 16)
    }

    @Test func messagesComeOutInOrderWithTypeAndLength() throws {
        let memory = RingMemory(capacity: 8)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 8)
        try send(ring, [])
        try send(ring, [1, 2, 3])
        try send(ring, Array(0..<56), type: .grant)
        #expect(ring.count == 3)
        let (first, firstBytes) = try receive(ring)
        #expect(first == FusionRing.Received(type: .data, length: 0, flags: 0) && firstBytes.isEmpty)
        let (second, secondBytes) = try receive(ring)
        #expect(second.length == 3 && secondBytes == [1, 2, 3])
        let (third, thirdBytes) = try receive(ring)
        #expect(third.type == .grant && thirdBytes == Array(0..<56))
        #expect(throws: IPCError.empty) { try receive(ring) }
    }

    @Test func oversizedPayloadIsRefusedAndNothingIsWritten() throws {
        let memory = RingMemory(capacity: 4)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 4)
        #expect(throws: IPCError.messageTooLarge(57)) { try send(ring, Array(repeating: 0, count: 57)) }
        #expect(ring.count == 0 && !ring.hasMessage)
    }

    @Test func fullRingRefusesAndRecoversAfterAReceive() throws {
        let memory = RingMemory(capacity: 4)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 4)
        for value in 0..<4 { try send(ring, [UInt8(value)]) }
        #expect(ring.isFull)
        #expect(throws: IPCError.full) { try send(ring, [9]) }
        #expect(try receive(ring).1 == [0])
        try send(ring, [4])
        var seen: [UInt8] = []
        for _ in 0..<4 { seen += try receive(ring).1 }
        #expect(seen == [1, 2, 3, 4])
    }

    @Test func smallBufferLeavesTheMessageInPlace() throws {
        let memory = RingMemory(capacity: 4)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 4)
        try send(ring, Array(repeating: 7, count: 20))
        #expect(throws: IPCError.bufferTooSmall(needed: 20)) { try receive(ring, capacity: 8) }
        #expect(try receive(ring, capacity: 20).1 == Array(repeating: 7, count: 20))
    }

    /// Positions start just below the 32-bit sequence wrap and the 64-bit
    /// counter wrap; thousands of laps go through both.
    @Test(arguments: [UInt64(UInt32.max) - 5, UInt64.max - 5, 0])
    func countersWrapWithoutLosingOrder(start: UInt64) throws {
        let memory = RingMemory(capacity: 4)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 4, startPosition: start)
        var next: UInt32 = 0
        var expected: UInt32 = 0
        for round in 0..<2_000 {
            let burst = round % 5          // 0...4: empty, partial and full rings
            for _ in 0..<burst {
                do {
                    try withUnsafeBytes(of: next) { (raw: UnsafeRawBufferPointer) throws in try ring.send(raw) }
                    next &+= 1
                } catch {
                    #expect(error as? IPCError == .full)
                }
            }
            while true {
                var value: UInt32 = 0
                do {
                    _ = try withUnsafeMutableBytes(of: &value) { (raw: UnsafeMutableRawBufferPointer) throws in
                        try ring.receive(into: raw)
                    }
                } catch {
                    #expect(error as? IPCError == .empty)
                    break
                }
                #expect(value == expected)
                expected &+= 1
            }
        }
        #expect(expected == next && expected > 3_000)
    }

    /// One thread applies a random mix of operations; a plain array is the
    /// model every result is checked against.
    @Test(arguments: [1, 2, 3, 4])
    func randomOperationsMatchAFIFOModel(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let capacity = 1 << Int(random.next() % 4 + 1)
        let memory = RingMemory(capacity: capacity)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: capacity,
                                         flags: random.next() % 2 == 0 ? [] : .multiProducer)
        var model: [[UInt8]] = []
        for _ in 0..<5_000 {
            if random.next() % 2 == 0 {
                let message = (0..<Int(random.next() % 57)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                do {
                    try send(ring, message)
                    model.append(message)
                } catch {
                    #expect(error as? IPCError == .full && model.count == capacity)
                }
            } else {
                do {
                    let (_, bytes) = try receive(ring)
                    #expect(bytes == model.removeFirst())
                } catch {
                    #expect(error as? IPCError == .empty && model.isEmpty)
                }
            }
            #expect(ring.count == model.count)
        }
    }
}

@Suite("Fusion Ring: concurrency, batches, waiting")
struct FusionRingConcurrencyTests {
    /// Four producers on a multi-producer ring and one consumer, on real
    /// threads: every message arrives once, each producer's in order, and
    /// the checksums match.
    @Test func multipleProducersOneConsumer() throws {
        let memory = RingMemory(capacity: 16)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 16, flags: .multiProducer)
        let producers = 4, perProducer = 20_000
        final class Tally: @unchecked Sendable { var sums = [UInt64](repeating: 0, count: 4); var ok = true }
        let sent = Tally(), received = Tally()
        @Sendable func work(_ worker: Int) {
            if worker == producers {
                var nextFrom = [UInt32](repeating: 0, count: producers)
                var got = 0
                while got < producers * perProducer {
                    var message = (producer: UInt32(0), index: UInt32(0), value: UInt64(0))
                    let result = try? withUnsafeMutableBytes(of: &message) { (raw: UnsafeMutableRawBufferPointer) throws in
                        try ring.receive(into: raw)
                    }
                    guard result != nil else { continue }
                    let p = Int(message.producer)
                    if message.index != nextFrom[p] { received.ok = false }
                    nextFrom[p] = message.index &+ 1
                    received.sums[p] &+= message.value
                    got += 1
                }
            } else {
                var random = SplitMix64(seed: UInt64(worker) + 100)
                for index in 0..<perProducer {
                    var message = (producer: UInt32(worker), index: UInt32(index), value: random.next())
                    sent.sums[worker] &+= message.value
                    while (try? withUnsafeBytes(of: &message) { (raw: UnsafeRawBufferPointer) throws in
                        try ring.send(raw)
                    }) == nil {}
                }
            }
        }
        // Real threads, not a pool: a pool as wide as the machine could run
        // only spinning producers and never start the consumer.
        let done = DispatchGroup()
        for worker in 0...producers {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                work(worker)
            }
        }
        done.wait()
        #expect(received.ok)
        #expect(received.sums == sent.sums)
        #expect(ring.count == 0)
    }

    /// The kernel's view (`withAtomicClaims`) of a ring formatted single-
    /// producer: two producers and two consumers on real threads, as system
    /// calls on several CPUs would be. Every message is taken exactly once
    /// (no slot shared by two producers, no message by two consumers).
    @Test func atomicClaimsLetSeveralProducersAndConsumersShareARing() throws {
        let memory = RingMemory(capacity: 8)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 8).withAtomicClaims()
        let producers = 2, consumers = 2, perProducer = 20_000
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var seen = [Int](repeating: 0, count: 2 * 20_000)
            var taken = 0
        }
        let tally = Tally()
        @Sendable func work(_ worker: Int) {
            if worker < producers {
                for index in 0..<perProducer {
                    var message = UInt64(worker * perProducer + index)
                    while (try? withUnsafeBytes(of: &message) { (raw: UnsafeRawBufferPointer) throws in
                        try ring.send(raw)
                    }) == nil {}
                }
                return
            }
            while true {
                var payload: FusionRing.InlinePayload = (0, 0, 0, 0, 0, 0, 0)
                if let received = try? ring.receive(inline: &payload) {
                    #expect(received.length == 8)
                    tally.lock.lock()
                    tally.seen[Int(payload.0)] += 1
                    tally.taken += 1
                    tally.lock.unlock()
                }
                tally.lock.lock()
                let finished = tally.taken == producers * perProducer
                tally.lock.unlock()
                if finished { return }
            }
        }
        let done = DispatchGroup()
        for worker in 0..<(producers + consumers) {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                work(worker)
            }
        }
        done.wait()
        #expect(tally.seen.allSatisfy { $0 == 1 })
        #expect(ring.count == 0)
    }

    /// The fixed-size pair the kernel's fast path uses: all 56 bytes go
    /// through the slot, the message is the first `length`.
    @Test func inlineSendAndReceiveCopyWholeSlots() throws {
        let memory = RingMemory(capacity: 4)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 4)
        var out: FusionRing.InlinePayload = (1, 2, 3, 4, 5, 6, 7)
        try ring.send(inline: &out, length: 11, type: .data)
        #expect(throws: IPCError.messageTooLarge(57)) { try ring.send(inline: &out, length: 57) }
        var back: FusionRing.InlinePayload = (0, 0, 0, 0, 0, 0, 0)
        let received = try ring.receive(inline: &back)
        #expect(received == FusionRing.Received(type: .data, length: 11, flags: 0))
        #expect(withUnsafeBytes(of: &back) { Array($0) } == withUnsafeBytes(of: &out) { Array($0) })
        #expect(throws: IPCError.empty) { try ring.receive(inline: &back) }
        // Interoperates with the byte-wise calls.
        try send(ring, [9, 8, 7])
        #expect(try ring.receive(inline: &back).length == 3)
        #expect(back.0 & 0xFF_FFFF == 0x07_0809)
        // A capacity below the message: refused, and the message stays.
        try ring.send(inline: &out, length: 24, type: .grant)
        #expect(throws: IPCError.bufferTooSmall(needed: 24)) { try ring.receive(inline: &back, capacity: 8) }
        #expect(try ring.receive(inline: &back, capacity: 24) == FusionRing.Received(type: .grant, length: 24, flags: 0))
    }

    @Test func batchSendStopsAtFullAndReportsHowMany() throws {
        let memory = RingMemory(capacity: 8)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 8)
        let messages = (0..<12).map { [UInt8($0)] }
        let sent = try messages.withUnsafeBufferPointer { buffers in
            var raws: [UnsafeRawBufferPointer] = []
            for message in buffers { message.withUnsafeBytes { raws.append(UnsafeRawBufferPointer(rebasing: $0[...])) } }
            return try ring.send(batch: raws)
        }
        #expect(sent == 8)
        for value in 0..<8 { #expect(try receive(ring).1 == [UInt8(value)]) }
    }

    @Test func waitAnnouncementsAreConsumedOncePerWait() throws {
        let memory = RingMemory(capacity: 4)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 4)
        #expect(!ring.takeWaiter(.receiver))             // nobody waits
        #expect(ring.prepareToWait(.receiver))           // empty: sleep
        try send(ring, [1])
        #expect(ring.takeWaiter(.receiver))              // the sender must wake it
        #expect(!ring.takeWaiter(.receiver))             // once
        #expect(!ring.prepareToWait(.receiver))          // a message is there: do not sleep
        #expect(!ring.takeWaiter(.receiver))             // and the announcement was withdrawn
        for value in 0..<3 { try send(ring, [UInt8(value)]) }
        #expect(ring.prepareToWait(.sender))             // full: a sender sleeps
        _ = try receive(ring)
        #expect(ring.takeWaiter(.sender))
    }
}

@Suite("Fusion Ring: hostile memory")
struct FusionRingHostileTests {
    @Test func attachRefusesBadHeaders() throws {
        let memory = RingMemory(capacity: 8)
        _ = try FusionRing.format(at: memory.base, length: memory.length, capacity: 8)
        #expect(try FusionRing.attach(at: memory.base, length: memory.length).capacity == 8)
        #expect(throws: IPCError.corrupt) { try FusionRing.attach(at: memory.base, length: memory.length - 1) }
        #expect(throws: IPCError.corrupt) { try FusionRing.attach(at: memory.base, length: 100) }
        for (offset, value) in [(RingLayout.magicOffset, UInt32(0xDEAD_BEEF)), (RingLayout.capacityOffset, 6),
                                (RingLayout.capacityOffset, 1 << 20), (RingLayout.capacityOffset, 0),
                                (RingLayout.flagsOffset, 0x80)] {
            let saved = memory.base.load(fromByteOffset: offset, as: UInt32.self)
            memory.base.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
            #expect(throws: IPCError.corrupt) { try FusionRing.attach(at: memory.base, length: memory.length) }
            memory.base.storeBytes(of: saved, toByteOffset: offset, as: UInt32.self)
        }
    }

    @Test func formatRefusesBadParameters() {
        let memory = RingMemory(capacity: 8)
        for capacity in [0, 1, 3, 12, 16] {
            #expect(throws: IPCError.invalidParameters) {
                try FusionRing.format(at: memory.base, length: memory.length, capacity: capacity)
            }
        }
    }

    @Test func impossibleSlotHeaderIsReportedAndSkipped() throws {
        let memory = RingMemory(capacity: 4)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 4)
        try send(ring, [1, 2])
        try send(ring, [3])
        // The peer rewrites the first slot's length to 200 and the second's type.
        memory.base.storeBytes(of: UInt16(200), toByteOffset: RingLayout.slotsOffset + RingLayout.lengthOffset, as: UInt16.self)
        memory.base.storeBytes(of: UInt8(99), toByteOffset: RingLayout.slotsOffset + 64 + RingLayout.typeOffset, as: UInt8.self)
        #expect(throws: IPCError.corrupt) { try receive(ring) }
        #expect(throws: IPCError.corrupt) { try receive(ring) }
        #expect(throws: IPCError.empty) { try receive(ring) }
    }

    /// Random garbage over the whole ring, then every operation: each
    /// returns or throws; none reads or writes outside the ring (the
    /// allocation is exactly the ring's size, so the address sanitizer or
    /// a crash would show it).
    @Test(arguments: [11, 12, 13])
    func garbageNeverEscapesTheRing(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let memory = RingMemory(capacity: 8)
        let ring = try FusionRing.format(at: memory.base, length: memory.length, capacity: 8, flags: .multiProducer)
        for _ in 0..<2_000 {
            let offset = Int(random.next() % UInt64(memory.length))
            memory.base.storeBytes(of: UInt8(truncatingIfNeeded: random.next()), toByteOffset: offset, as: UInt8.self)
            if random.next() % 4 == 0 {
                memory.base.storeBytes(of: random.next(), toByteOffset: RingLayout.tailOffset, as: UInt64.self)
            }
            _ = try? send(ring, [1, 2, 3])
            _ = try? receive(ring)
            _ = ring.count
            _ = ring.isFull
        }
    }
}
