import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// Ring 3: the SYSCALL MSRs, the per-thread kernel stack the CPU enters on,
/// the first entry to user mode, and the only routines that touch user
/// memory.
///
/// User space is `[userBase, userEnd)` in every address space (DESIGN.md);
/// every pointer a program passes is checked against it before any access,
/// and the access itself runs in syscall.S's copy routines, whose faults the
/// trap handler first tries to resolve (demand paging, copy-on-write) and
/// otherwise turns into `EFAULT`. With SMAP on, those routines are the only
/// code that opens user access (STAC/CLAC).
enum UserMode {
    /// The lowest user address: the null page never maps.
    static let userBase: UInt64 = UserSpace.start
    /// One past the highest user address: the kernel half starts here.
    static let userEnd: UInt64 = UserSpace.end

    static let starMSR = CPU.MSR(rawValue: 0xC000_0081)
    static let lstarMSR = CPU.MSR(rawValue: 0xC000_0082)
    static let fmaskMSR = CPU.MSR(rawValue: 0xC000_0084)
    static let fsBaseMSR = CPU.MSR(rawValue: 0xC000_0100)
    static let kernelGSBaseMSR = CPU.MSR(rawValue: 0xC000_0102)
    static let eferSyscallEnable: UInt64 = 1 << 0

    /// RFLAGS bits SYSCALL clears: IF (the entry runs with interrupts off
    /// until it is on the kernel stack), TF, DF (the ABI wants it clear in
    /// the kernel), AC (no user access outside the copy routines), NT.
    static let syscallFlagMask: UInt64 = (1 << 9) | (1 << 8) | (1 << 10) | (1 << 18) | (1 << 14)
    /// The RFLAGS a new user thread starts with: IF and the always-one bit.
    static let initialUserFlags: UInt64 = (1 << 9) | (1 << 1)
    /// The bits user code may change through sigreturn or ptrace-like paths:
    /// arithmetic flags, TF, DF, OF, AC, ID.
    static let userModifiableFlags: UInt64 = 0x0000_0000_0025_4DD5

    /// SYSCALL's target and selectors on this CPU. Every CPU runs this.
    static func initializeCPU() {
        CPU.write(starMSR, GDTLayout.starValue)
        CPU.write(lstarMSR, exo_syscall_entry_address())
        CPU.write(fmaskMSR, syscallFlagMask)
        CPU.write(kernelGSBaseMSR, 0)          // the user's GS base until a program sets one
        CPU.write(.efer, CPU.read(.efer) | eferSyscallEnable)
    }

    /// Makes `top` the stack this CPU enters the kernel on from ring 3:
    /// SYSCALL's (the per-CPU record) and interrupts' (TSS.rsp0).
    /// Interrupts off.
    @inline(__always)
    static func setKernelStack(top: UInt64, on cpu: UnsafeMutablePointer<SMP.PerCPU> = SMP.current) {
        cpu.pointee.kernelStackTop = top
        cpu.pointee.taskState.unsafelyUnwrapped.pointee.rsp0 = top
    }

    /// A user-mode frame at `entry` with stack `stack` and all other
    /// registers zero.
    static func initialFrame(entry: UInt64, stack: UInt64) -> TrapFrame {
        var frame = TrapFrame()
        frame.rip = entry
        frame.rsp = stack
        frame.cs = UInt64(GDTLayout.userCode.rawValue)
        frame.ss = UInt64(GDTLayout.userData.rawValue)
        frame.rflags = initialUserFlags
        return frame
    }

    /// Returns to ring 3 through a copy of `frame` in this function's own
    /// stack frame; entries from ring 3 start again at `top`, the thread's
    /// kernel stack being empty in user mode.
    ///
    /// Not through a copy at the top of the stack: the new thread's first
    /// frames (trampoline, entry, the closure holding `frame`) lie there,
    /// and copying onto them overwrote the source while reading it (a
    /// forked child once started with a kernel return address in a
    /// callee-saved register, which musl's fork used as `&set`).
    static func enter(_ frame: TrapFrame, kernelStackTop top: UInt64) -> Never {
        CPU.disableInterrupts()
        setKernelStack(top: top)
        var exit = frame
        exo_enter_user(&exit)
    }

    /// Whether a frame may leave by SYSRET: RCX and R11 must hold RIP and
    /// RFLAGS (SYSRET reloads them from there), RIP must be a user address
    /// (SYSRET to a non-canonical RIP faults in ring 0 on the user's stack),
    /// and no flag outside the user-modifiable set may be on.
    @inline(__always)
    static func canReturnBySysret(_ frame: TrapFrame) -> Bool {
        frame.rcx == frame.rip && frame.r11 == frame.rflags && frame.rip < userEnd
            && frame.rflags & ~(userModifiableFlags | (1 << 9) | (1 << 1)) == 0
    }

    // MARK: User memory

    /// Whether `[address, address + length)` lies inside user space.
    @inline(__always)
    static func isUserRange(_ address: UInt64, _ length: UInt64) -> Bool {
        address >= userBase && length <= userEnd && address <= userEnd - length
    }

    /// Copies `length` bytes from user `source` into kernel `destination`.
    static func copyIn(_ destination: UnsafeMutableRawPointer, from source: UInt64, length: Int) throws(Errno) {
        guard length > 0 else { return }
        guard isUserRange(source, UInt64(length)),
              copyChecked(destination, UnsafeRawPointer(bitPattern: UInt(source)), length: length) else {
            throw .badAddress
        }
    }

    /// Copies `length` bytes from kernel `source` to user `destination`.
    static func copyOut(_ destination: UInt64, from source: UnsafeRawPointer, length: Int) throws(Errno) {
        guard length > 0 else { return }
        guard isUserRange(destination, UInt64(length)),
              copyChecked(UnsafeMutableRawPointer(bitPattern: UInt(destination)), source, length: length) else {
            throw .badAddress
        }
    }

    /// The copy under `copyIn` and `copyOut`, for a caller that has
    /// checked that the user side lies in user space (the fast paths,
    /// inline): whether every byte went.
    @inline(__always)
    static func copyChecked(_ destination: UnsafeMutableRawPointer?, _ source: UnsafeRawPointer?, length: Int) -> Bool {
        let failed = KernelAddressSpace.features.supervisorModeAccessPrevention
            ? exo_copy_user_smap(destination, source, UInt64(length))
            : exo_copy_user(destination, source, UInt64(length))
        return failed == 0
    }

    /// Reads a user array of bytes.
    static func readBytes(at address: UInt64, count: Int) throws(Errno) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        guard isUserRange(address, UInt64(count)) else { throw .badAddress }
        let smap = KernelAddressSpace.features.supervisorModeAccessPrevention
        let failed = bytes.withUnsafeMutableBytes { buffer in
            smap ? exo_copy_user_smap(buffer.baseAddress!, UnsafeRawPointer(bitPattern: UInt(address)), UInt64(count))
                 : exo_copy_user(buffer.baseAddress!, UnsafeRawPointer(bitPattern: UInt(address)), UInt64(count))
        }
        if failed != 0 { throw .badAddress }
        return bytes
    }

    /// Writes bytes to user memory.
    static func writeBytes(_ bytes: [UInt8], to address: UInt64) throws(Errno) {
        guard !bytes.isEmpty else { return }
        guard isUserRange(address, UInt64(bytes.count)) else { throw .badAddress }
        let smap = KernelAddressSpace.features.supervisorModeAccessPrevention
        let failed = bytes.withUnsafeBytes { buffer in
            smap ? exo_copy_user_smap(UnsafeMutableRawPointer(bitPattern: UInt(address)), buffer.baseAddress!, UInt64(buffer.count))
                 : exo_copy_user(UnsafeMutableRawPointer(bitPattern: UInt(address)), buffer.baseAddress!, UInt64(buffer.count))
        }
        if failed != 0 { throw .badAddress }
    }

    /// Writes as much of `bytes` as user memory takes, page by page, and
    /// returns how many bytes landed (read(2) into a buffer that runs into
    /// an unmapped page keeps what fits, as on Linux).
    static func writeBytesPartially(_ bytes: [UInt8], to address: UInt64) -> Int {
        guard isUserRange(address, UInt64(bytes.count)) else { return 0 }
        var done = 0
        while done < bytes.count {
            let here = address + UInt64(done)
            let chunk = min(bytes.count - done, Int(4096 - here % 4096))
            let failed = bytes.withUnsafeBytes { buffer in
                exo_copy_user_smap_if(UnsafeMutableRawPointer(bitPattern: UInt(here)), buffer.baseAddress! + done, UInt64(chunk))
            }
            if failed != 0 { break }
            done += chunk
        }
        return done
    }

    /// The copy routine for this CPU (with STAC/CLAC when SMAP is on).
    @inline(__always)
    private static func exo_copy_user_smap_if(_ to: UnsafeMutableRawPointer?, _ from: UnsafeRawPointer?, _ count: UInt64) -> UInt64 {
        KernelAddressSpace.features.supervisorModeAccessPrevention ? exo_copy_user_smap(to, from, count) : exo_copy_user(to, from, count)
    }

    /// Reads a trivial value (integers, fixed C structs) from user memory.
    static func read<T>(_ type: T.Type, at address: UInt64) throws(Errno) -> T {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        defer { storage.deallocate() }
        try copyIn(storage, from: address, length: MemoryLayout<T>.size)
        return storage.load(as: T.self)
    }

    /// Writes a trivial value to user memory, from a copy on the stack
    /// (no heap round trip: clock_gettime's fast path uses this).
    static func write<T>(_ value: T, to address: UInt64) throws(Errno) {
        var copy = value
        let failure = withUnsafeBytes(of: &copy) { (bytes: UnsafeRawBufferPointer) -> Errno? in
            do throws(Errno) {
                try copyOut(address, from: bytes.baseAddress!, length: MemoryLayout<T>.size)
                return nil
            } catch { return error }
        }
        if let failure { throw failure }
    }

    /// A NUL-terminated user string of at most `limit` bytes (without the
    /// NUL): `ENAMETOOLONG` beyond it, `EFAULT` on a bad pointer.
    static func readString(at address: UInt64, limit: Int = 4096) throws(Errno) -> [UInt8] {
        guard address >= userBase && address < userEnd else { throw .badAddress }
        // Never let the copy run past the end of user space.
        let maximum = min(UInt64(limit) + 1, userEnd - address)
        var buffer = [UInt8](repeating: 0, count: Int(maximum))
        let smap = KernelAddressSpace.features.supervisorModeAccessPrevention
        let length = buffer.withUnsafeMutableBufferPointer { out in
            let destination = UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: CChar.self)
            let source = UnsafePointer<CChar>(bitPattern: UInt(address))
            return smap ? exo_copy_string_user_smap(destination, source, maximum)
                        : exo_copy_string_user(destination, source, maximum)
        }
        if length < 0 { throw .badAddress }
        if UInt64(length) >= maximum {
            throw maximum <= UInt64(limit) ? .badAddress : .nameTooLong
        }
        buffer.removeSubrange(Int(length)...)
        return buffer
    }
}
