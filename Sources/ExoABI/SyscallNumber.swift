/// A Linux x86_64 system call number, as user space puts it in RAX before
/// `syscall`.
///
/// The numbers are the x86_64 ABI's (Linux `arch/x86/entry/syscalls/syscall_64.tbl`,
/// the `common` and `64` rows): 0...334 and 424...462. 335...423 are unused
/// on x86_64 (other architectures' 32-bit time calls), and 512 and up belong to
/// the x32 ABI, which Exo does not run. Unmodified static binaries hard-code
/// these numbers, so they can never change; each member's doc names the Linux
/// call and its man-page summary.
///
/// The members and the name table in `SyscallNames.swift` were generated
/// together from `<asm/unistd_64.h>` (Linux 6.1) plus the 451...462 rows of
/// Linux 6.10's table; `SyscallNumberTests` spot-checks numbers against the
/// table independently.
public struct SyscallNumber: RawRepresentable, Hashable, Sendable {
    /// The value of RAX at `syscall`.
    public let rawValue: UInt64

    /// Wraps any RAX value; use `name` or `isAssigned` to ask whether Linux
    /// assigns it.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The highest number assigned on x86_64 (`mseal`).
    public static let max: UInt64 = 462

    /// How many numbers are assigned: 0...334 and 424...462.
    public static let count = 335 + 39

    /// The size a dispatch table indexed by number needs (`max + 1`).
    public static let tableSize = Int(max) + 1

    /// Whether Linux x86_64 assigns this number to a system call.
    public var isAssigned: Bool {
        rawValue <= 334 || (424...SyscallNumber.max).contains(rawValue)
    }

    /// `read` (0): read from a file descriptor.
    public static let read = SyscallNumber(rawValue: 0)
    /// `write` (1): write to a file descriptor.
    public static let write = SyscallNumber(rawValue: 1)
    /// `open` (2): open and possibly create a file.
    public static let open = SyscallNumber(rawValue: 2)
    /// `close` (3): close a file descriptor.
    public static let close = SyscallNumber(rawValue: 3)
    /// `stat` (4): get file status.
    public static let stat = SyscallNumber(rawValue: 4)
    /// `fstat` (5): get file status.
    public static let fstat = SyscallNumber(rawValue: 5)
    /// `lstat` (6): get file status.
    public static let lstat = SyscallNumber(rawValue: 6)
    /// `poll` (7): wait for some event on a file descriptor.
    public static let poll = SyscallNumber(rawValue: 7)
    /// `lseek` (8): reposition read/write file offset.
    public static let lseek = SyscallNumber(rawValue: 8)
    /// `mmap` (9): map or unmap files or devices into memory.
    public static let mmap = SyscallNumber(rawValue: 9)
    /// `mprotect` (10): set protection on a region of memory.
    public static let mprotect = SyscallNumber(rawValue: 10)
    /// `munmap` (11): map or unmap files or devices into memory.
    public static let munmap = SyscallNumber(rawValue: 11)
    /// `brk` (12): change data segment size.
    public static let brk = SyscallNumber(rawValue: 12)
    /// `rt_sigaction` (13): examine and change a signal action.
    public static let rtSigaction = SyscallNumber(rawValue: 13)
    /// `rt_sigprocmask` (14): examine and change blocked signals.
    public static let rtSigprocmask = SyscallNumber(rawValue: 14)
    /// `rt_sigreturn` (15): return from signal handler and cleanup stack frame.
    public static let rtSigreturn = SyscallNumber(rawValue: 15)
    /// `ioctl` (16): control device.
    public static let ioctl = SyscallNumber(rawValue: 16)
    /// `pread64` (17): read from or write to a file descriptor at a given offset.
    public static let pread64 = SyscallNumber(rawValue: 17)
    /// `pwrite64` (18): read from or write to a file descriptor at a given offset.
    public static let pwrite64 = SyscallNumber(rawValue: 18)
    /// `readv` (19): read or write data into multiple buffers.
    public static let readv = SyscallNumber(rawValue: 19)
    /// `writev` (20): read or write data into multiple buffers.
    public static let writev = SyscallNumber(rawValue: 20)
    /// `access` (21): check user's permissions for a file.
    public static let access = SyscallNumber(rawValue: 21)
    /// `pipe` (22): create pipe.
    public static let pipe = SyscallNumber(rawValue: 22)
    /// `select` (23): synchronous I/O multiplexing.
    public static let select = SyscallNumber(rawValue: 23)
    /// `sched_yield` (24): yield the processor.
    public static let schedYield = SyscallNumber(rawValue: 24)
    /// `mremap` (25): remap a virtual memory address.
    public static let mremap = SyscallNumber(rawValue: 25)
    /// `msync` (26): synchronize a file with a memory map.
    public static let msync = SyscallNumber(rawValue: 26)
    /// `mincore` (27): determine whether pages are resident in memory.
    public static let mincore = SyscallNumber(rawValue: 27)
    /// `madvise` (28): give advice about use of memory.
    public static let madvise = SyscallNumber(rawValue: 28)
    /// `shmget` (29): allocates a System V shared memory segment.
    public static let shmget = SyscallNumber(rawValue: 29)
    /// `shmat` (30): System V shared memory operations.
    public static let shmat = SyscallNumber(rawValue: 30)
    /// `shmctl` (31): System V shared memory control.
    public static let shmctl = SyscallNumber(rawValue: 31)
    /// `dup` (32): duplicate a file descriptor.
    public static let dup = SyscallNumber(rawValue: 32)
    /// `dup2` (33): duplicate a file descriptor.
    public static let dup2 = SyscallNumber(rawValue: 33)
    /// `pause` (34): wait for signal.
    public static let pause = SyscallNumber(rawValue: 34)
    /// `nanosleep` (35): high-resolution sleep.
    public static let nanosleep = SyscallNumber(rawValue: 35)
    /// `getitimer` (36): get or set value of an interval timer.
    public static let getitimer = SyscallNumber(rawValue: 36)
    /// `alarm` (37): set an alarm clock for delivery of a signal.
    public static let alarm = SyscallNumber(rawValue: 37)
    /// `setitimer` (38): get or set value of an interval timer.
    public static let setitimer = SyscallNumber(rawValue: 38)
    /// `getpid` (39): get process identification.
    public static let getpid = SyscallNumber(rawValue: 39)
    /// `sendfile` (40): transfer data between file descriptors.
    public static let sendfile = SyscallNumber(rawValue: 40)
    /// `socket` (41): create an endpoint for communication.
    public static let socket = SyscallNumber(rawValue: 41)
    /// `connect` (42): initiate a connection on a socket.
    public static let connect = SyscallNumber(rawValue: 42)
    /// `accept` (43): accept a connection on a socket.
    public static let accept = SyscallNumber(rawValue: 43)
    /// `sendto` (44): send a message on a socket.
    public static let sendto = SyscallNumber(rawValue: 44)
    /// `recvfrom` (45): receive a message from a socket.
    public static let recvfrom = SyscallNumber(rawValue: 45)
    /// `sendmsg` (46): send a message on a socket.
    public static let sendmsg = SyscallNumber(rawValue: 46)
    /// `recvmsg` (47): receive a message from a socket.
    public static let recvmsg = SyscallNumber(rawValue: 47)
    /// `shutdown` (48): shut down part of a full-duplex connection.
    public static let shutdown = SyscallNumber(rawValue: 48)
    /// `bind` (49): bind a name to a socket.
    public static let bind = SyscallNumber(rawValue: 49)
    /// `listen` (50): listen for connections on a socket.
    public static let listen = SyscallNumber(rawValue: 50)
    /// `getsockname` (51): get socket name.
    public static let getsockname = SyscallNumber(rawValue: 51)
    /// `getpeername` (52): get name of connected peer socket.
    public static let getpeername = SyscallNumber(rawValue: 52)
    /// `socketpair` (53): create a pair of connected sockets.
    public static let socketpair = SyscallNumber(rawValue: 53)
    /// `setsockopt` (54): get and set options on sockets.
    public static let setsockopt = SyscallNumber(rawValue: 54)
    /// `getsockopt` (55): get and set options on sockets.
    public static let getsockopt = SyscallNumber(rawValue: 55)
    /// `clone` (56): create a child process.
    public static let clone = SyscallNumber(rawValue: 56)
    /// `fork` (57): create a child process.
    public static let fork = SyscallNumber(rawValue: 57)
    /// `vfork` (58): create a child process and block parent.
    public static let vfork = SyscallNumber(rawValue: 58)
    /// `execve` (59): execute program.
    public static let execve = SyscallNumber(rawValue: 59)
    /// `exit` (60): terminate the calling process.
    public static let exit = SyscallNumber(rawValue: 60)
    /// `wait4` (61): wait for process to change state, BSD style.
    public static let wait4 = SyscallNumber(rawValue: 61)
    /// `kill` (62): send signal to a process.
    public static let kill = SyscallNumber(rawValue: 62)
    /// `uname` (63): get name and information about current kernel.
    public static let uname = SyscallNumber(rawValue: 63)
    /// `semget` (64): get a System V semaphore set identifier.
    public static let semget = SyscallNumber(rawValue: 64)
    /// `semop` (65): System V semaphore operations.
    public static let semop = SyscallNumber(rawValue: 65)
    /// `semctl` (66): System V semaphore control operations.
    public static let semctl = SyscallNumber(rawValue: 66)
    /// `shmdt` (67): System V shared memory operations.
    public static let shmdt = SyscallNumber(rawValue: 67)
    /// `msgget` (68): get a System V message queue identifier.
    public static let msgget = SyscallNumber(rawValue: 68)
    /// `msgsnd` (69): System V message queue operations.
    public static let msgsnd = SyscallNumber(rawValue: 69)
    /// `msgrcv` (70): System V message queue operations.
    public static let msgrcv = SyscallNumber(rawValue: 70)
    /// `msgctl` (71): System V message control operations.
    public static let msgctl = SyscallNumber(rawValue: 71)
    /// `fcntl` (72): manipulate file descriptor.
    public static let fcntl = SyscallNumber(rawValue: 72)
    /// `flock` (73): apply or remove an advisory lock on an open file.
    public static let flock = SyscallNumber(rawValue: 73)
    /// `fsync` (74): synchronize a file's in-core state with storage device.
    public static let fsync = SyscallNumber(rawValue: 74)
    /// `fdatasync` (75): synchronize a file's in-core state with storage device.
    public static let fdatasync = SyscallNumber(rawValue: 75)
    /// `truncate` (76): truncate a file to a specified length.
    public static let truncate = SyscallNumber(rawValue: 76)
    /// `ftruncate` (77): truncate a file to a specified length.
    public static let ftruncate = SyscallNumber(rawValue: 77)
    /// `getdents` (78): get directory entries.
    public static let getdents = SyscallNumber(rawValue: 78)
    /// `getcwd` (79): get current working directory.
    public static let getcwd = SyscallNumber(rawValue: 79)
    /// `chdir` (80): change working directory.
    public static let chdir = SyscallNumber(rawValue: 80)
    /// `fchdir` (81): change working directory.
    public static let fchdir = SyscallNumber(rawValue: 81)
    /// `rename` (82): change the name or location of a file.
    public static let rename = SyscallNumber(rawValue: 82)
    /// `mkdir` (83): create a directory.
    public static let mkdir = SyscallNumber(rawValue: 83)
    /// `rmdir` (84): delete a directory.
    public static let rmdir = SyscallNumber(rawValue: 84)
    /// `creat` (85): open and possibly create a file.
    public static let creat = SyscallNumber(rawValue: 85)
    /// `link` (86): make a new name for a file.
    public static let link = SyscallNumber(rawValue: 86)
    /// `unlink` (87): delete a name and possibly the file it refers to.
    public static let unlink = SyscallNumber(rawValue: 87)
    /// `symlink` (88): make a new name for a file.
    public static let symlink = SyscallNumber(rawValue: 88)
    /// `readlink` (89): read value of a symbolic link.
    public static let readlink = SyscallNumber(rawValue: 89)
    /// `chmod` (90): change permissions of a file.
    public static let chmod = SyscallNumber(rawValue: 90)
    /// `fchmod` (91): change permissions of a file.
    public static let fchmod = SyscallNumber(rawValue: 91)
    /// `chown` (92): change ownership of a file.
    public static let chown = SyscallNumber(rawValue: 92)
    /// `fchown` (93): change ownership of a file.
    public static let fchown = SyscallNumber(rawValue: 93)
    /// `lchown` (94): change ownership of a file.
    public static let lchown = SyscallNumber(rawValue: 94)
    /// `umask` (95): set file mode creation mask.
    public static let umask = SyscallNumber(rawValue: 95)
    /// `gettimeofday` (96): get / set time.
    public static let gettimeofday = SyscallNumber(rawValue: 96)
    /// `getrlimit` (97): get/set resource limits.
    public static let getrlimit = SyscallNumber(rawValue: 97)
    /// `getrusage` (98): get resource usage.
    public static let getrusage = SyscallNumber(rawValue: 98)
    /// `sysinfo` (99): return system information.
    public static let sysinfo = SyscallNumber(rawValue: 99)
    /// `times` (100): get process times.
    public static let times = SyscallNumber(rawValue: 100)
    /// `ptrace` (101): process trace.
    public static let ptrace = SyscallNumber(rawValue: 101)
    /// `getuid` (102): get user identity.
    public static let getuid = SyscallNumber(rawValue: 102)
    /// `syslog` (103): read and/or clear kernel message ring buffer; set console_loglevel.
    public static let syslog = SyscallNumber(rawValue: 103)
    /// `getgid` (104): get group identity.
    public static let getgid = SyscallNumber(rawValue: 104)
    /// `setuid` (105): set user identity.
    public static let setuid = SyscallNumber(rawValue: 105)
    /// `setgid` (106): set group identity.
    public static let setgid = SyscallNumber(rawValue: 106)
    /// `geteuid` (107): get user identity.
    public static let geteuid = SyscallNumber(rawValue: 107)
    /// `getegid` (108): get group identity.
    public static let getegid = SyscallNumber(rawValue: 108)
    /// `setpgid` (109): set/get process group.
    public static let setpgid = SyscallNumber(rawValue: 109)
    /// `getppid` (110): get process identification.
    public static let getppid = SyscallNumber(rawValue: 110)
    /// `getpgrp` (111): set/get process group.
    public static let getpgrp = SyscallNumber(rawValue: 111)
    /// `setsid` (112): creates a session and sets the process group ID.
    public static let setsid = SyscallNumber(rawValue: 112)
    /// `setreuid` (113): set real and/or effective user or group ID.
    public static let setreuid = SyscallNumber(rawValue: 113)
    /// `setregid` (114): set real and/or effective user or group ID.
    public static let setregid = SyscallNumber(rawValue: 114)
    /// `getgroups` (115): get/set list of supplementary group IDs.
    public static let getgroups = SyscallNumber(rawValue: 115)
    /// `setgroups` (116): get/set list of supplementary group IDs.
    public static let setgroups = SyscallNumber(rawValue: 116)
    /// `setresuid` (117): set real, effective, and saved user or group ID.
    public static let setresuid = SyscallNumber(rawValue: 117)
    /// `getresuid` (118): get real, effective, and saved user/group IDs.
    public static let getresuid = SyscallNumber(rawValue: 118)
    /// `setresgid` (119): set real, effective, and saved user or group ID.
    public static let setresgid = SyscallNumber(rawValue: 119)
    /// `getresgid` (120): get real, effective, and saved user/group IDs.
    public static let getresgid = SyscallNumber(rawValue: 120)
    /// `getpgid` (121): set/get process group.
    public static let getpgid = SyscallNumber(rawValue: 121)
    /// `setfsuid` (122): set user identity used for filesystem checks.
    public static let setfsuid = SyscallNumber(rawValue: 122)
    /// `setfsgid` (123): set group identity used for filesystem checks.
    public static let setfsgid = SyscallNumber(rawValue: 123)
    /// `getsid` (124): get session ID.
    public static let getsid = SyscallNumber(rawValue: 124)
    /// `capget` (125): set/get capabilities of thread(s).
    public static let capget = SyscallNumber(rawValue: 125)
    /// `capset` (126): set/get capabilities of thread(s).
    public static let capset = SyscallNumber(rawValue: 126)
    /// `rt_sigpending` (127): examine pending signals.
    public static let rtSigpending = SyscallNumber(rawValue: 127)
    /// `rt_sigtimedwait` (128): synchronously wait for queued signals.
    public static let rtSigtimedwait = SyscallNumber(rawValue: 128)
    /// `rt_sigqueueinfo` (129): queue a signal and data.
    public static let rtSigqueueinfo = SyscallNumber(rawValue: 129)
    /// `rt_sigsuspend` (130): wait for a signal.
    public static let rtSigsuspend = SyscallNumber(rawValue: 130)
    /// `sigaltstack` (131): set and/or get signal stack context.
    public static let sigaltstack = SyscallNumber(rawValue: 131)
    /// `utime` (132): change file last access and modification times.
    public static let utime = SyscallNumber(rawValue: 132)
    /// `mknod` (133): create a special or ordinary file.
    public static let mknod = SyscallNumber(rawValue: 133)
    /// `uselib` (134): load shared library.
    public static let uselib = SyscallNumber(rawValue: 134)
    /// `personality` (135): set the process execution domain.
    public static let personality = SyscallNumber(rawValue: 135)
    /// `ustat` (136): get filesystem statistics.
    public static let ustat = SyscallNumber(rawValue: 136)
    /// `statfs` (137): get filesystem statistics.
    public static let statfs = SyscallNumber(rawValue: 137)
    /// `fstatfs` (138): get filesystem statistics.
    public static let fstatfs = SyscallNumber(rawValue: 138)
    /// `sysfs` (139): get filesystem type information.
    public static let sysfs = SyscallNumber(rawValue: 139)
    /// `getpriority` (140): get/set program scheduling priority.
    public static let getpriority = SyscallNumber(rawValue: 140)
    /// `setpriority` (141): get/set program scheduling priority.
    public static let setpriority = SyscallNumber(rawValue: 141)
    /// `sched_setparam` (142): set and get scheduling parameters.
    public static let schedSetparam = SyscallNumber(rawValue: 142)
    /// `sched_getparam` (143): set and get scheduling parameters.
    public static let schedGetparam = SyscallNumber(rawValue: 143)
    /// `sched_setscheduler` (144): set and get scheduling policy/parameters.
    public static let schedSetscheduler = SyscallNumber(rawValue: 144)
    /// `sched_getscheduler` (145): set and get scheduling policy/parameters.
    public static let schedGetscheduler = SyscallNumber(rawValue: 145)
    /// `sched_get_priority_max` (146): get static priority range.
    public static let schedGetPriorityMax = SyscallNumber(rawValue: 146)
    /// `sched_get_priority_min` (147): get static priority range.
    public static let schedGetPriorityMin = SyscallNumber(rawValue: 147)
    /// `sched_rr_get_interval` (148): get the SCHED_RR interval for the named process.
    public static let schedRrGetInterval = SyscallNumber(rawValue: 148)
    /// `mlock` (149): lock and unlock memory.
    public static let mlock = SyscallNumber(rawValue: 149)
    /// `munlock` (150): lock and unlock memory.
    public static let munlock = SyscallNumber(rawValue: 150)
    /// `mlockall` (151): lock and unlock memory.
    public static let mlockall = SyscallNumber(rawValue: 151)
    /// `munlockall` (152): lock and unlock memory.
    public static let munlockall = SyscallNumber(rawValue: 152)
    /// `vhangup` (153): virtually hangup the current terminal.
    public static let vhangup = SyscallNumber(rawValue: 153)
    /// `modify_ldt` (154): get or set a per-process LDT entry.
    public static let modifyLdt = SyscallNumber(rawValue: 154)
    /// `pivot_root` (155): change the root mount.
    public static let pivotRoot = SyscallNumber(rawValue: 155)
    /// `_sysctl` (156): read/write system parameters.
    public static let sysctl = SyscallNumber(rawValue: 156)
    /// `prctl` (157): operations on a process or thread.
    public static let prctl = SyscallNumber(rawValue: 157)
    /// `arch_prctl` (158): set architecture-specific thread state.
    public static let archPrctl = SyscallNumber(rawValue: 158)
    /// `adjtimex` (159): tune kernel clock.
    public static let adjtimex = SyscallNumber(rawValue: 159)
    /// `setrlimit` (160): get/set resource limits.
    public static let setrlimit = SyscallNumber(rawValue: 160)
    /// `chroot` (161): change root directory.
    public static let chroot = SyscallNumber(rawValue: 161)
    /// `sync` (162): commit filesystem caches to disk.
    public static let sync = SyscallNumber(rawValue: 162)
    /// `acct` (163): switch process accounting on or off.
    public static let acct = SyscallNumber(rawValue: 163)
    /// `settimeofday` (164): get / set time.
    public static let settimeofday = SyscallNumber(rawValue: 164)
    /// `mount` (165): mount filesystem.
    public static let mount = SyscallNumber(rawValue: 165)
    /// `umount2` (166): unmount filesystem.
    public static let umount2 = SyscallNumber(rawValue: 166)
    /// `swapon` (167): start/stop swapping to file/device.
    public static let swapon = SyscallNumber(rawValue: 167)
    /// `swapoff` (168): start/stop swapping to file/device.
    public static let swapoff = SyscallNumber(rawValue: 168)
    /// `reboot` (169): reboot or enable/disable Ctrl-Alt-Del.
    public static let reboot = SyscallNumber(rawValue: 169)
    /// `sethostname` (170): get/set hostname.
    public static let sethostname = SyscallNumber(rawValue: 170)
    /// `setdomainname` (171): get/set NIS domain name.
    public static let setdomainname = SyscallNumber(rawValue: 171)
    /// `iopl` (172): change I/O privilege level.
    public static let iopl = SyscallNumber(rawValue: 172)
    /// `ioperm` (173): set port input/output permissions.
    public static let ioperm = SyscallNumber(rawValue: 173)
    /// `create_module` (174): create a loadable module entry.
    public static let createModule = SyscallNumber(rawValue: 174)
    /// `init_module` (175): load a kernel module.
    public static let initModule = SyscallNumber(rawValue: 175)
    /// `delete_module` (176): unload a kernel module.
    public static let deleteModule = SyscallNumber(rawValue: 176)
    /// `get_kernel_syms` (177): retrieve exported kernel and module symbols.
    public static let getKernelSyms = SyscallNumber(rawValue: 177)
    /// `query_module` (178): query the kernel for various bits pertaining to modules.
    public static let queryModule = SyscallNumber(rawValue: 178)
    /// `quotactl` (179): manipulate disk quotas.
    public static let quotactl = SyscallNumber(rawValue: 179)
    /// `nfsservctl` (180): syscall interface to kernel nfs daemon.
    public static let nfsservctl = SyscallNumber(rawValue: 180)
    /// `getpmsg` (181): unimplemented system calls.
    public static let getpmsg = SyscallNumber(rawValue: 181)
    /// `putpmsg` (182): unimplemented system calls.
    public static let putpmsg = SyscallNumber(rawValue: 182)
    /// `afs_syscall` (183): unimplemented system calls.
    public static let afsSyscall = SyscallNumber(rawValue: 183)
    /// `tuxcall` (184): unimplemented system calls.
    public static let tuxcall = SyscallNumber(rawValue: 184)
    /// `security` (185): unimplemented system calls.
    public static let security = SyscallNumber(rawValue: 185)
    /// `gettid` (186): get thread identification.
    public static let gettid = SyscallNumber(rawValue: 186)
    /// `readahead` (187): initiate file readahead into page cache.
    public static let readahead = SyscallNumber(rawValue: 187)
    /// `setxattr` (188): set an extended attribute value.
    public static let setxattr = SyscallNumber(rawValue: 188)
    /// `lsetxattr` (189): set an extended attribute value.
    public static let lsetxattr = SyscallNumber(rawValue: 189)
    /// `fsetxattr` (190): set an extended attribute value.
    public static let fsetxattr = SyscallNumber(rawValue: 190)
    /// `getxattr` (191): retrieve an extended attribute value.
    public static let getxattr = SyscallNumber(rawValue: 191)
    /// `lgetxattr` (192): retrieve an extended attribute value.
    public static let lgetxattr = SyscallNumber(rawValue: 192)
    /// `fgetxattr` (193): retrieve an extended attribute value.
    public static let fgetxattr = SyscallNumber(rawValue: 193)
    /// `listxattr` (194): list extended attribute names.
    public static let listxattr = SyscallNumber(rawValue: 194)
    /// `llistxattr` (195): list extended attribute names.
    public static let llistxattr = SyscallNumber(rawValue: 195)
    /// `flistxattr` (196): list extended attribute names.
    public static let flistxattr = SyscallNumber(rawValue: 196)
    /// `removexattr` (197): remove an extended attribute.
    public static let removexattr = SyscallNumber(rawValue: 197)
    /// `lremovexattr` (198): remove an extended attribute.
    public static let lremovexattr = SyscallNumber(rawValue: 198)
    /// `fremovexattr` (199): remove an extended attribute.
    public static let fremovexattr = SyscallNumber(rawValue: 199)
    /// `tkill` (200): send a signal to a thread.
    public static let tkill = SyscallNumber(rawValue: 200)
    /// `time` (201): get time in seconds.
    public static let time = SyscallNumber(rawValue: 201)
    /// `futex` (202): fast user-space locking.
    public static let futex = SyscallNumber(rawValue: 202)
    /// `sched_setaffinity` (203): set and get a thread's CPU affinity mask.
    public static let schedSetaffinity = SyscallNumber(rawValue: 203)
    /// `sched_getaffinity` (204): set and get a thread's CPU affinity mask.
    public static let schedGetaffinity = SyscallNumber(rawValue: 204)
    /// `set_thread_area` (205): manipulate thread-local storage information.
    public static let setThreadArea = SyscallNumber(rawValue: 205)
    /// `io_setup` (206): create an asynchronous I/O context.
    public static let ioSetup = SyscallNumber(rawValue: 206)
    /// `io_destroy` (207): destroy an asynchronous I/O context.
    public static let ioDestroy = SyscallNumber(rawValue: 207)
    /// `io_getevents` (208): read asynchronous I/O events from the completion queue.
    public static let ioGetevents = SyscallNumber(rawValue: 208)
    /// `io_submit` (209): submit asynchronous I/O blocks for processing.
    public static let ioSubmit = SyscallNumber(rawValue: 209)
    /// `io_cancel` (210): cancel an outstanding asynchronous I/O operation.
    public static let ioCancel = SyscallNumber(rawValue: 210)
    /// `get_thread_area` (211): manipulate thread-local storage information.
    public static let getThreadArea = SyscallNumber(rawValue: 211)
    /// `lookup_dcookie` (212): return a directory entry's path.
    public static let lookupDcookie = SyscallNumber(rawValue: 212)
    /// `epoll_create` (213): open an epoll file descriptor.
    public static let epollCreate = SyscallNumber(rawValue: 213)
    /// `epoll_ctl_old` (214): never implemented on x86_64; kept so the number is not reused.
    public static let epollCtlOld = SyscallNumber(rawValue: 214)
    /// `epoll_wait_old` (215): never implemented on x86_64; kept so the number is not reused.
    public static let epollWaitOld = SyscallNumber(rawValue: 215)
    /// `remap_file_pages` (216): create a nonlinear file mapping.
    public static let remapFilePages = SyscallNumber(rawValue: 216)
    /// `getdents64` (217): get directory entries.
    public static let getdents64 = SyscallNumber(rawValue: 217)
    /// `set_tid_address` (218): set pointer to thread ID.
    public static let setTidAddress = SyscallNumber(rawValue: 218)
    /// `restart_syscall` (219): restart a system call after interruption by a stop signal.
    public static let restartSyscall = SyscallNumber(rawValue: 219)
    /// `semtimedop` (220): System V semaphore operations.
    public static let semtimedop = SyscallNumber(rawValue: 220)
    /// `fadvise64` (221): predeclare an access pattern for file data.
    public static let fadvise64 = SyscallNumber(rawValue: 221)
    /// `timer_create` (222): create a POSIX per-process timer.
    public static let timerCreate = SyscallNumber(rawValue: 222)
    /// `timer_settime` (223): arm/disarm and fetch state of POSIX per-process timer.
    public static let timerSettime = SyscallNumber(rawValue: 223)
    /// `timer_gettime` (224): arm/disarm and fetch state of POSIX per-process timer.
    public static let timerGettime = SyscallNumber(rawValue: 224)
    /// `timer_getoverrun` (225): get overrun count for a POSIX per-process timer.
    public static let timerGetoverrun = SyscallNumber(rawValue: 225)
    /// `timer_delete` (226): delete a POSIX per-process timer.
    public static let timerDelete = SyscallNumber(rawValue: 226)
    /// `clock_settime` (227): clock and time functions.
    public static let clockSettime = SyscallNumber(rawValue: 227)
    /// `clock_gettime` (228): clock and time functions.
    public static let clockGettime = SyscallNumber(rawValue: 228)
    /// `clock_getres` (229): clock and time functions.
    public static let clockGetres = SyscallNumber(rawValue: 229)
    /// `clock_nanosleep` (230): high-resolution sleep with specifiable clock.
    public static let clockNanosleep = SyscallNumber(rawValue: 230)
    /// `exit_group` (231): exit all threads in a process.
    public static let exitGroup = SyscallNumber(rawValue: 231)
    /// `epoll_wait` (232): wait for an I/O event on an epoll file descriptor.
    public static let epollWait = SyscallNumber(rawValue: 232)
    /// `epoll_ctl` (233): control interface for an epoll file descriptor.
    public static let epollCtl = SyscallNumber(rawValue: 233)
    /// `tgkill` (234): send a signal to a thread.
    public static let tgkill = SyscallNumber(rawValue: 234)
    /// `utimes` (235): change file last access and modification times.
    public static let utimes = SyscallNumber(rawValue: 235)
    /// `vserver` (236): unimplemented system calls.
    public static let vserver = SyscallNumber(rawValue: 236)
    /// `mbind` (237): set memory policy for a memory range.
    public static let mbind = SyscallNumber(rawValue: 237)
    /// `set_mempolicy` (238): set default NUMA memory policy for a thread and its children.
    public static let setMempolicy = SyscallNumber(rawValue: 238)
    /// `get_mempolicy` (239): retrieve NUMA memory policy for a thread.
    public static let getMempolicy = SyscallNumber(rawValue: 239)
    /// `mq_open` (240): open a message queue.
    public static let mqOpen = SyscallNumber(rawValue: 240)
    /// `mq_unlink` (241): remove a message queue.
    public static let mqUnlink = SyscallNumber(rawValue: 241)
    /// `mq_timedsend` (242): send a message to a message queue.
    public static let mqTimedsend = SyscallNumber(rawValue: 242)
    /// `mq_timedreceive` (243): receive a message from a message queue.
    public static let mqTimedreceive = SyscallNumber(rawValue: 243)
    /// `mq_notify` (244): register for notification when a message is available.
    public static let mqNotify = SyscallNumber(rawValue: 244)
    /// `mq_getsetattr` (245): get/set message queue attributes.
    public static let mqGetsetattr = SyscallNumber(rawValue: 245)
    /// `kexec_load` (246): load a new kernel for later execution.
    public static let kexecLoad = SyscallNumber(rawValue: 246)
    /// `waitid` (247): wait for process to change state.
    public static let waitid = SyscallNumber(rawValue: 247)
    /// `add_key` (248): add a key to the kernel's key management facility.
    public static let addKey = SyscallNumber(rawValue: 248)
    /// `request_key` (249): request a key from the kernel's key management facility.
    public static let requestKey = SyscallNumber(rawValue: 249)
    /// `keyctl` (250): manipulate the kernel's key management facility.
    public static let keyctl = SyscallNumber(rawValue: 250)
    /// `ioprio_set` (251): get/set I/O scheduling class and priority.
    public static let ioprioSet = SyscallNumber(rawValue: 251)
    /// `ioprio_get` (252): get/set I/O scheduling class and priority.
    public static let ioprioGet = SyscallNumber(rawValue: 252)
    /// `inotify_init` (253): initialize an inotify instance.
    public static let inotifyInit = SyscallNumber(rawValue: 253)
    /// `inotify_add_watch` (254): add a watch to an initialized inotify instance.
    public static let inotifyAddWatch = SyscallNumber(rawValue: 254)
    /// `inotify_rm_watch` (255): remove an existing watch from an inotify instance.
    public static let inotifyRmWatch = SyscallNumber(rawValue: 255)
    /// `migrate_pages` (256): move all pages in a process to another set of nodes.
    public static let migratePages = SyscallNumber(rawValue: 256)
    /// `openat` (257): open and possibly create a file.
    public static let openat = SyscallNumber(rawValue: 257)
    /// `mkdirat` (258): create a directory.
    public static let mkdirat = SyscallNumber(rawValue: 258)
    /// `mknodat` (259): create a special or ordinary file.
    public static let mknodat = SyscallNumber(rawValue: 259)
    /// `fchownat` (260): change ownership of a file.
    public static let fchownat = SyscallNumber(rawValue: 260)
    /// `futimesat` (261): change timestamps of a file relative to a directory file descriptor.
    public static let futimesat = SyscallNumber(rawValue: 261)
    /// `newfstatat` (262): get file status.
    public static let newfstatat = SyscallNumber(rawValue: 262)
    /// `unlinkat` (263): delete a name and possibly the file it refers to.
    public static let unlinkat = SyscallNumber(rawValue: 263)
    /// `renameat` (264): change the name or location of a file.
    public static let renameat = SyscallNumber(rawValue: 264)
    /// `linkat` (265): make a new name for a file.
    public static let linkat = SyscallNumber(rawValue: 265)
    /// `symlinkat` (266): make a new name for a file.
    public static let symlinkat = SyscallNumber(rawValue: 266)
    /// `readlinkat` (267): read value of a symbolic link.
    public static let readlinkat = SyscallNumber(rawValue: 267)
    /// `fchmodat` (268): change permissions of a file.
    public static let fchmodat = SyscallNumber(rawValue: 268)
    /// `faccessat` (269): check user's permissions for a file.
    public static let faccessat = SyscallNumber(rawValue: 269)
    /// `pselect6` (270): synchronous I/O multiplexing.
    public static let pselect6 = SyscallNumber(rawValue: 270)
    /// `ppoll` (271): wait for some event on a file descriptor.
    public static let ppoll = SyscallNumber(rawValue: 271)
    /// `unshare` (272): disassociate parts of the process execution context.
    public static let unshare = SyscallNumber(rawValue: 272)
    /// `set_robust_list` (273): get/set list of robust futexes.
    public static let setRobustList = SyscallNumber(rawValue: 273)
    /// `get_robust_list` (274): get/set list of robust futexes.
    public static let getRobustList = SyscallNumber(rawValue: 274)
    /// `splice` (275): splice data to/from a pipe.
    public static let splice = SyscallNumber(rawValue: 275)
    /// `tee` (276): duplicating pipe content.
    public static let tee = SyscallNumber(rawValue: 276)
    /// `sync_file_range` (277): sync a file segment with disk.
    public static let syncFileRange = SyscallNumber(rawValue: 277)
    /// `vmsplice` (278): splice user pages to/from a pipe.
    public static let vmsplice = SyscallNumber(rawValue: 278)
    /// `move_pages` (279): move individual pages of a process to another node.
    public static let movePages = SyscallNumber(rawValue: 279)
    /// `utimensat` (280): change file timestamps with nanosecond precision.
    public static let utimensat = SyscallNumber(rawValue: 280)
    /// `epoll_pwait` (281): wait for an I/O event on an epoll file descriptor.
    public static let epollPwait = SyscallNumber(rawValue: 281)
    /// `signalfd` (282): create a file descriptor for accepting signals.
    public static let signalfd = SyscallNumber(rawValue: 282)
    /// `timerfd_create` (283): timers that notify via file descriptors.
    public static let timerfdCreate = SyscallNumber(rawValue: 283)
    /// `eventfd` (284): create a file descriptor for event notification.
    public static let eventfd = SyscallNumber(rawValue: 284)
    /// `fallocate` (285): manipulate file space.
    public static let fallocate = SyscallNumber(rawValue: 285)
    /// `timerfd_settime` (286): timers that notify via file descriptors.
    public static let timerfdSettime = SyscallNumber(rawValue: 286)
    /// `timerfd_gettime` (287): timers that notify via file descriptors.
    public static let timerfdGettime = SyscallNumber(rawValue: 287)
    /// `accept4` (288): accept a connection on a socket.
    public static let accept4 = SyscallNumber(rawValue: 288)
    /// `signalfd4` (289): create a file descriptor for accepting signals.
    public static let signalfd4 = SyscallNumber(rawValue: 289)
    /// `eventfd2` (290): create a file descriptor for event notification.
    public static let eventfd2 = SyscallNumber(rawValue: 290)
    /// `epoll_create1` (291): open an epoll file descriptor.
    public static let epollCreate1 = SyscallNumber(rawValue: 291)
    /// `dup3` (292): duplicate a file descriptor.
    public static let dup3 = SyscallNumber(rawValue: 292)
    /// `pipe2` (293): create pipe.
    public static let pipe2 = SyscallNumber(rawValue: 293)
    /// `inotify_init1` (294): initialize an inotify instance.
    public static let inotifyInit1 = SyscallNumber(rawValue: 294)
    /// `preadv` (295): read or write data into multiple buffers.
    public static let preadv = SyscallNumber(rawValue: 295)
    /// `pwritev` (296): read or write data into multiple buffers.
    public static let pwritev = SyscallNumber(rawValue: 296)
    /// `rt_tgsigqueueinfo` (297): queue a signal and data.
    public static let rtTgsigqueueinfo = SyscallNumber(rawValue: 297)
    /// `perf_event_open` (298): set up performance monitoring.
    public static let perfEventOpen = SyscallNumber(rawValue: 298)
    /// `recvmmsg` (299): receive multiple messages on a socket.
    public static let recvmmsg = SyscallNumber(rawValue: 299)
    /// `fanotify_init` (300): create and initialize fanotify group.
    public static let fanotifyInit = SyscallNumber(rawValue: 300)
    /// `fanotify_mark` (301): add, remove, or modify an fanotify mark on a filesystem object.
    public static let fanotifyMark = SyscallNumber(rawValue: 301)
    /// `prlimit64` (302): get/set resource limits.
    public static let prlimit64 = SyscallNumber(rawValue: 302)
    /// `name_to_handle_at` (303): obtain handle for a pathname and open file via a handle.
    public static let nameToHandleAt = SyscallNumber(rawValue: 303)
    /// `open_by_handle_at` (304): obtain handle for a pathname and open file via a handle.
    public static let openByHandleAt = SyscallNumber(rawValue: 304)
    /// `clock_adjtime` (305): tune kernel clock.
    public static let clockAdjtime = SyscallNumber(rawValue: 305)
    /// `syncfs` (306): commit filesystem caches to disk.
    public static let syncfs = SyscallNumber(rawValue: 306)
    /// `sendmmsg` (307): send multiple messages on a socket.
    public static let sendmmsg = SyscallNumber(rawValue: 307)
    /// `setns` (308): reassociate thread with a namespace.
    public static let setns = SyscallNumber(rawValue: 308)
    /// `getcpu` (309): determine CPU and NUMA node on which the calling thread is running.
    public static let getcpu = SyscallNumber(rawValue: 309)
    /// `process_vm_readv` (310): transfer data between process address spaces.
    public static let processVmReadv = SyscallNumber(rawValue: 310)
    /// `process_vm_writev` (311): transfer data between process address spaces.
    public static let processVmWritev = SyscallNumber(rawValue: 311)
    /// `kcmp` (312): compare two processes to determine if they share a kernel resource.
    public static let kcmp = SyscallNumber(rawValue: 312)
    /// `finit_module` (313): load a kernel module.
    public static let finitModule = SyscallNumber(rawValue: 313)
    /// `sched_setattr` (314): set and get scheduling policy and attributes.
    public static let schedSetattr = SyscallNumber(rawValue: 314)
    /// `sched_getattr` (315): set and get scheduling policy and attributes.
    public static let schedGetattr = SyscallNumber(rawValue: 315)
    /// `renameat2` (316): change the name or location of a file.
    public static let renameat2 = SyscallNumber(rawValue: 316)
    /// `seccomp` (317): operate on Secure Computing state of the process.
    public static let seccomp = SyscallNumber(rawValue: 317)
    /// `getrandom` (318): obtain a series of random bytes.
    public static let getrandom = SyscallNumber(rawValue: 318)
    /// `memfd_create` (319): create an anonymous file.
    public static let memfdCreate = SyscallNumber(rawValue: 319)
    /// `kexec_file_load` (320): load a new kernel for later execution.
    public static let kexecFileLoad = SyscallNumber(rawValue: 320)
    /// `bpf` (321): perform a command on an extended BPF map or program.
    public static let bpf = SyscallNumber(rawValue: 321)
    /// `execveat` (322): execute program relative to a directory file descriptor.
    public static let execveat = SyscallNumber(rawValue: 322)
    /// `userfaultfd` (323): create a file descriptor for handling page faults in user space.
    public static let userfaultfd = SyscallNumber(rawValue: 323)
    /// `membarrier` (324): issue memory barriers on a set of threads.
    public static let membarrier = SyscallNumber(rawValue: 324)
    /// `mlock2` (325): lock and unlock memory.
    public static let mlock2 = SyscallNumber(rawValue: 325)
    /// `copy_file_range` (326): Copy a range of data from one file to another.
    public static let copyFileRange = SyscallNumber(rawValue: 326)
    /// `preadv2` (327): read or write data into multiple buffers.
    public static let preadv2 = SyscallNumber(rawValue: 327)
    /// `pwritev2` (328): read or write data into multiple buffers.
    public static let pwritev2 = SyscallNumber(rawValue: 328)
    /// `pkey_mprotect` (329): set protection on a region of memory.
    public static let pkeyMprotect = SyscallNumber(rawValue: 329)
    /// `pkey_alloc` (330): allocate or free a protection key.
    public static let pkeyAlloc = SyscallNumber(rawValue: 330)
    /// `pkey_free` (331): allocate or free a protection key.
    public static let pkeyFree = SyscallNumber(rawValue: 331)
    /// `statx` (332): get file status (extended).
    public static let statx = SyscallNumber(rawValue: 332)
    /// `io_pgetevents` (333): read asynchronous I/O events with a signal mask.
    public static let ioPgetevents = SyscallNumber(rawValue: 333)
    /// `rseq` (334): register a restartable-sequences area for the calling thread.
    public static let rseq = SyscallNumber(rawValue: 334)
    /// `pidfd_send_signal` (424): send a signal to a process specified by a file descriptor.
    public static let pidfdSendSignal = SyscallNumber(rawValue: 424)
    /// `io_uring_setup` (425): create an io_uring submission and completion queue pair.
    public static let ioUringSetup = SyscallNumber(rawValue: 425)
    /// `io_uring_enter` (426): submit and wait for io_uring requests.
    public static let ioUringEnter = SyscallNumber(rawValue: 426)
    /// `io_uring_register` (427): register files or buffers with an io_uring instance.
    public static let ioUringRegister = SyscallNumber(rawValue: 427)
    /// `open_tree` (428): pick or clone a mount object as a file descriptor.
    public static let openTree = SyscallNumber(rawValue: 428)
    /// `move_mount` (429): move a mount from one place to another.
    public static let moveMount = SyscallNumber(rawValue: 429)
    /// `fsopen` (430): open a file system context for configuring a new mount.
    public static let fsopen = SyscallNumber(rawValue: 430)
    /// `fsconfig` (431): configure a file system context.
    public static let fsconfig = SyscallNumber(rawValue: 431)
    /// `fsmount` (432): create a mount object from a configured file system context.
    public static let fsmount = SyscallNumber(rawValue: 432)
    /// `fspick` (433): select an existing mount for reconfiguration.
    public static let fspick = SyscallNumber(rawValue: 433)
    /// `pidfd_open` (434): obtain a file descriptor that refers to a process.
    public static let pidfdOpen = SyscallNumber(rawValue: 434)
    /// `clone3` (435): create a child process.
    public static let clone3 = SyscallNumber(rawValue: 435)
    /// `close_range` (436): close all file descriptors in a given range.
    public static let closeRange = SyscallNumber(rawValue: 436)
    /// `openat2` (437): open and possibly create a file (extended).
    public static let openat2 = SyscallNumber(rawValue: 437)
    /// `pidfd_getfd` (438): obtain a duplicate of another process's file descriptor.
    public static let pidfdGetfd = SyscallNumber(rawValue: 438)
    /// `faccessat2` (439): check user's permissions for a file.
    public static let faccessat2 = SyscallNumber(rawValue: 439)
    /// `process_madvise` (440): give advice about use of memory to a process.
    public static let processMadvise = SyscallNumber(rawValue: 440)
    /// `epoll_pwait2` (441): wait for an I/O event on an epoll file descriptor.
    public static let epollPwait2 = SyscallNumber(rawValue: 441)
    /// `mount_setattr` (442): change properties of a mount or mount tree.
    public static let mountSetattr = SyscallNumber(rawValue: 442)
    /// `quotactl_fd` (443): manipulate disk quotas of the file system holding a file descriptor.
    public static let quotactlFd = SyscallNumber(rawValue: 443)
    /// `landlock_create_ruleset` (444): create a new Landlock ruleset.
    public static let landlockCreateRuleset = SyscallNumber(rawValue: 444)
    /// `landlock_add_rule` (445): add a new Landlock rule to a ruleset.
    public static let landlockAddRule = SyscallNumber(rawValue: 445)
    /// `landlock_restrict_self` (446): enforce a Landlock ruleset.
    public static let landlockRestrictSelf = SyscallNumber(rawValue: 446)
    /// `memfd_secret` (447): create an anonymous RAM-based file to access secret memory regions.
    public static let memfdSecret = SyscallNumber(rawValue: 447)
    /// `process_mrelease` (448): release the memory of a dying process.
    public static let processMrelease = SyscallNumber(rawValue: 448)
    /// `futex_waitv` (449): wait on any of several futexes.
    public static let futexWaitv = SyscallNumber(rawValue: 449)
    /// `set_mempolicy_home_node` (450): set the home NUMA node for a memory range.
    public static let setMempolicyHomeNode = SyscallNumber(rawValue: 450)
    /// `cachestat` (451): query page cache statistics of a file range.
    public static let cachestat = SyscallNumber(rawValue: 451)
    /// `fchmodat2` (452): change permissions of a file, with flags.
    public static let fchmodat2 = SyscallNumber(rawValue: 452)
    /// `map_shadow_stack` (453): allocate a shadow stack mapping.
    public static let mapShadowStack = SyscallNumber(rawValue: 453)
    /// `futex_wake` (454): wake waiters on a futex (futex2 interface).
    public static let futexWake = SyscallNumber(rawValue: 454)
    /// `futex_wait` (455): wait on a futex (futex2 interface).
    public static let futexWait = SyscallNumber(rawValue: 455)
    /// `futex_requeue` (456): requeue waiters from one futex to another (futex2 interface).
    public static let futexRequeue = SyscallNumber(rawValue: 456)
    /// `statmount` (457): get information about a mount.
    public static let statmount = SyscallNumber(rawValue: 457)
    /// `listmount` (458): list the mounts below a mount.
    public static let listmount = SyscallNumber(rawValue: 458)
    /// `lsm_get_self_attr` (459): read a Linux security module attribute of the calling task.
    public static let lsmGetSelfAttr = SyscallNumber(rawValue: 459)
    /// `lsm_set_self_attr` (460): set a Linux security module attribute of the calling task.
    public static let lsmSetSelfAttr = SyscallNumber(rawValue: 460)
    /// `lsm_list_modules` (461): list the active Linux security modules.
    public static let lsmListModules = SyscallNumber(rawValue: 461)
    /// `mseal` (462): seal a memory range against further changes.
    public static let mseal = SyscallNumber(rawValue: 462)
}
