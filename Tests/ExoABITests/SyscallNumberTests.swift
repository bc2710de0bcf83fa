import Testing
@testable import ExoABI

@Suite("System call numbers")
struct SyscallNumberTests {
    /// Numbers typed in from Linux's syscall_64.tbl, independently of the
    /// generated table: the calls static musl/glibc programs make first.
    static let spotChecks: [(SyscallNumber, UInt64, String)] = [
        (.read, 0, "read"), (.write, 1, "write"), (.open, 2, "open"), (.close, 3, "close"),
        (.fstat, 5, "fstat"), (.poll, 7, "poll"), (.lseek, 8, "lseek"), (.mmap, 9, "mmap"),
        (.mprotect, 10, "mprotect"), (.munmap, 11, "munmap"), (.brk, 12, "brk"),
        (.rtSigaction, 13, "rt_sigaction"), (.rtSigprocmask, 14, "rt_sigprocmask"),
        (.rtSigreturn, 15, "rt_sigreturn"), (.ioctl, 16, "ioctl"), (.pread64, 17, "pread64"),
        (.writev, 20, "writev"), (.access, 21, "access"), (.pipe, 22, "pipe"),
        (.schedYield, 24, "sched_yield"), (.dup2, 33, "dup2"), (.nanosleep, 35, "nanosleep"),
        (.getpid, 39, "getpid"), (.socket, 41, "socket"), (.clone, 56, "clone"),
        (.fork, 57, "fork"), (.vfork, 58, "vfork"), (.execve, 59, "execve"), (.exit, 60, "exit"),
        (.wait4, 61, "wait4"), (.kill, 62, "kill"), (.uname, 63, "uname"), (.fcntl, 72, "fcntl"),
        (.getcwd, 79, "getcwd"), (.chdir, 80, "chdir"), (.getuid, 102, "getuid"),
        (.sigaltstack, 131, "sigaltstack"), (.sysctl, 156, "_sysctl"),
        (.archPrctl, 158, "arch_prctl"), (.gettid, 186, "gettid"), (.futex, 202, "futex"),
        (.getdents64, 217, "getdents64"), (.setTidAddress, 218, "set_tid_address"),
        (.clockGettime, 228, "clock_gettime"), (.exitGroup, 231, "exit_group"),
        (.tgkill, 234, "tgkill"), (.openat, 257, "openat"), (.newfstatat, 262, "newfstatat"),
        (.setRobustList, 273, "set_robust_list"), (.pipe2, 293, "pipe2"),
        (.prlimit64, 302, "prlimit64"), (.getrandom, 318, "getrandom"), (.statx, 332, "statx"),
        (.rseq, 334, "rseq"), (.pidfdSendSignal, 424, "pidfd_send_signal"),
        (.pidfdOpen, 434, "pidfd_open"), (.clone3, 435, "clone3"),
        (.closeRange, 436, "close_range"), (.faccessat2, 439, "faccessat2"),
        (.futexWaitv, 449, "futex_waitv"), (.mseal, 462, "mseal"),
    ]

    @Test func membersCarryLinuxNumbersAndNames() {
        for (member, number, name) in Self.spotChecks {
            #expect(member.rawValue == number, "\(name)")
            #expect(member.name?.description == name, "\(number)")
            #expect(member.isAssigned)
        }
    }

    @Test func everyAssignedNumberHasAUniqueName() {
        var seen = Set<String>()
        var named = 0
        for number in 0...SyscallNumber.max {
            let call = SyscallNumber(rawValue: number)
            let assigned = number <= 334 || number >= 424
            #expect(call.isAssigned == assigned, "\(number)")
            if let name = call.name {
                #expect(assigned, "\(number) should be unassigned but is \(name)")
                #expect(seen.insert(name.description).inserted, "\(name) appears twice")
                named += 1
            } else {
                #expect(!assigned, "\(number) has no name")
            }
        }
        #expect(named == SyscallNumber.count)
        #expect(SyscallNumber.count == 374)
        #expect(SyscallNumber.tableSize == 463)
    }

    @Test func numbersOutsideTheTableHaveNoName() {
        for number: UInt64 in [335, 400, 423, 463, 512, 547, 1 << 32, .max] {
            let call = SyscallNumber(rawValue: number)
            #expect(call.name == nil)
            #expect(!call.isAssigned)
        }
        #expect(SyscallNumber(rawValue: 420).displayName == "syscall_420")
        // Exo's own calls live in the unassigned 335...423 and have names.
        #expect(SyscallNumber.fringCreate.displayName == "fring_create" && SyscallNumber.fringCreate.name == nil)
        #expect(SyscallNumber.openat.displayName == "openat")
    }
}
