import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// Time, system identity, randomness, statistics.
extension Syscalls {
    /// The wall clock at boot: QEMU's RTC base under icount is fixed
    /// (2024-01-01); until the CMOS clock is read this is that date, so
    /// runs are reproducible.
    static let bootEpochSeconds: Int64 = 1_704_067_200

    static func registerInformationCalls() {
        register(.clockGettime) { c throws(Errno) in
            let clock = ClockID(argument: c.a0)
            guard clock.isKnownStaticClock || clock.isPerTaskCPUClock else { throw .invalidArgument }
            try writeTime(clock, to: c.a1)
            return 0
        }
        register(.clockGetres) { c throws(Errno) in
            let clock = ClockID(argument: c.a0)
            guard clock.isKnownStaticClock || clock.isPerTaskCPUClock else { throw .invalidArgument }
            if c.a1 != 0 { try UserMode.writeBytes(LinuxTimespec(seconds: 0, nanoseconds: 1).encoded, to: c.a1) }
            return 0
        }
        register(.gettimeofday) { c throws(Errno) in
            if c.a0 != 0 {
                let time = now(.realtime)
                try UserMode.write((time.seconds, time.nanoseconds / 1000), to: c.a0)
            }
            return 0
        }
        register(.time) { c throws(Errno) in
            let seconds = now(.realtime).seconds
            if c.a0 != 0 { try UserMode.write(seconds, to: c.a0) }
            return seconds
        }
        register(.uname) { c throws(Errno) in
            try UserMode.writeBytes(UtsName().encoded, to: c.a0)
            return 0
        }
        register(.sysinfo) { c throws(Errno) in
            var info = SystemInfo()
            info.uptime = Int64(Clock.nanosecondsSinceBoot() / 1_000_000_000)
            let statistics = PhysicalMemory.statistics
            info.totalRAM = UInt64(statistics.totalFrames) * 4096
            info.freeRAM = UInt64(statistics.freeFrames) * 4096
            info.processCount = UInt16(truncatingIfNeeded: Process.all.count)
            info.memoryUnit = 1
            try UserMode.writeBytes(info.encoded, to: c.a0)
            return 0
        }
        register(.getrandom) { c throws(Errno) in
            guard c.a2 & ~UInt64(0x7) == 0 else { throw .invalidArgument }
            // At most 32 MiB per call (Linux's cap), produced 256 bytes at a
            // time: the kernel never allocates what a program asks for.
            let count = Int(min(c.a1, 1 << 25))
            guard count == 0 || UserMode.isUserRange(c.a0, UInt64(count)) else { throw .badAddress }
            var chunk = [UInt8](repeating: 0, count: 256)
            var done = 0
            while done < count {
                let size = min(256, count - done)
                Entropy.fill(&chunk)
                let landed = UserMode.writeBytesPartially(Array(chunk[0..<size]), to: c.a0 + UInt64(done))
                done += landed
                if landed < size {
                    if done == 0 { throw .badAddress }
                    break
                }
            }
            return Int64(done)
        }
        register(.times) { c throws(Errno) in
            let ticks = Int64(Clock.nanosecondsSinceBoot() / 10_000_000)
            if c.a0 != 0 { try UserMode.writeBytes([UInt8](repeating: 0, count: 32), to: c.a0) }
            return ticks
        }
        register(.getrusage) { c throws(Errno) in
            guard c.a0 == 0 || c.a0 == UInt64(bitPattern: -1) || c.a0 == UInt64(bitPattern: -2) else { throw .invalidArgument }
            try UserMode.writeBytes([UInt8](repeating: 0, count: 144), to: c.a1)
            return 0
        }
        register(.getcpu) { c throws(Errno) in
            if c.a0 != 0 { try UserMode.write(UInt32(SMP.currentIndex), to: c.a0) }
            if c.a1 != 0 { try UserMode.write(UInt32(0), to: c.a1) }
            return 0
        }
        register(.schedGetaffinity) { c throws(Errno) in
            guard c.a1 >= 8 else { throw .invalidArgument }
            let mask: UInt64 = SMP.count >= 64 ? ~0 : (1 << UInt64(SMP.count)) - 1
            try UserMode.write(mask, to: c.a2)
            return 8
        }
    }

    /// clock_gettime's answer (also its fast path's): the time on `clock`
    /// as a Linux timespec (seconds, nanoseconds; 8 bytes each) at `address`.
    static func writeTime(_ clock: ClockID, to address: UInt64) throws(Errno) {
        let time = now(clock)
        try UserMode.write((time.seconds, time.nanoseconds), to: address)
    }

    /// The time on `clock` (CPU-time clocks report time since boot).
    static func now(_ clock: ClockID) -> LinuxTimespec {
        let nanoseconds = Int64(Clock.nanosecondsSinceBoot())
        let base: Int64 = (clock == .realtime || clock == .realtimeCoarse || clock == .tai) ? bootEpochSeconds : 0
        return LinuxTimespec(seconds: base + nanoseconds / 1_000_000_000, nanoseconds: nanoseconds % 1_000_000_000)
    }
}
