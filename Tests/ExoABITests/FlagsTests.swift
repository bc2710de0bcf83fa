import ExoKit
import Testing
@testable import ExoABI

@Suite("Linux flag words")
struct FlagsTests {
    @Test func openFlagsHaveTheirOctalValues() {
        #expect(OpenFlags.create.rawValue == 0o100)
        #expect(OpenFlags.exclusive.rawValue == 0o200)
        #expect(OpenFlags.truncate.rawValue == 0o1000)
        #expect(OpenFlags.append.rawValue == 0o2000)
        #expect(OpenFlags.nonBlocking.rawValue == 0o4000)
        #expect(OpenFlags.directory.rawValue == 0o200000)
        #expect(OpenFlags.noFollow.rawValue == 0o400000)
        #expect(OpenFlags.closeOnExec.rawValue == 0o2000000)
        #expect(OpenFlags.path.rawValue == 0o10000000)
        #expect(OpenFlags.sync.rawValue == 0o4010000)
        #expect(OpenFlags.temporaryFile.rawValue == 0o20200000)
        #expect(DirectoryDescriptor.currentWorkingDirectory == -100)
        #expect(DirectoryDescriptor.number(fromArgument: UInt64(bitPattern: -100)) == -100)
        #expect(DirectoryDescriptor.number(fromArgument: 0xffff_ff9c) == -100)
    }

    @Test func openFlagsAccessModeAndUnknownBits() throws {
        // What musl passes for fopen("r"): O_RDONLY|O_LARGEFILE|O_CLOEXEC.
        let musl = OpenFlags(rawValue: 0o2100000)
        #expect(musl.accessMode == .readOnly)
        #expect(try musl.validated() == musl)
        #expect(OpenFlags(rawValue: 1).accessMode == .writeOnly)
        #expect(OpenFlags(rawValue: 2).accessMode?.allowsReading == true)
        #expect(OpenFlags(rawValue: 3).accessMode == nil)
        let hostile = OpenFlags(rawValue: 0o40000000 | 0o2)
        #expect(hostile.unknownBits == 0o40000000)
        #expect(throws: Errno.invalidArgument) { try hostile.validated() }
        // Only the low 32 bits of the register count.
        #expect(OpenFlags(argument: 0xdead_beef_0000_0042) == [.readWrite, .create])
        #expect(OpenFlags.settableByFcntl.contains(.nonBlocking))
        #expect(!OpenFlags.settableByFcntl.contains(.closeOnExec))
    }

    @Test func atFlagsValidateAgainstEachCallsSubset() throws {
        #expect(AtFlags.symlinkNoFollow.rawValue == 0x100)
        #expect(AtFlags.removeDirectory.rawValue == 0x200)
        #expect(AtFlags.emptyPath.rawValue == 0x1000)
        #expect(try AtFlags([.emptyPath, .symlinkNoFollow]).validated(allowing: AtFlags.forStat).rawValue == 0x1100)
        #expect(throws: Errno.invalidArgument) { try AtFlags.removeDirectory.validated(allowing: AtFlags.forStat) }
        #expect(throws: Errno.invalidArgument) { try AtFlags(rawValue: 0x1).validated() }
    }

    @Test func memoryFlagsMatchLinux() throws {
        #expect(MemoryProtection([.read, .write, .execute]).rawValue == 7)
        #expect(MapFlags.shared.rawValue == 1 && MapFlags.private.rawValue == 2)
        #expect(MapFlags.fixed.rawValue == 0x10 && MapFlags.anonymous.rawValue == 0x20)
        #expect(MapFlags.growsDown.rawValue == 0x100 && MapFlags.noReserve.rawValue == 0x4000)
        #expect(MapFlags.populate.rawValue == 0x8000 && MapFlags.stack.rawValue == 0x20000)
        #expect(MapFlags.fixedNoReplace.rawValue == 0x100000)
        let anonymous = MapFlags([.private, .anonymous])
        #expect(anonymous.sharing == .private)
        #expect(try anonymous.validated() == anonymous)
        #expect(MapFlags.anonymous.sharing == nil)
        #expect(MapFlags(rawValue: 0x4).sharing == nil)
        #expect(MapFlags(rawValue: 0x202).unknownBits == 0x200)
        #expect(throws: Errno.invalidArgument) { try MemoryProtection(rawValue: 0x8).validated() }
        #expect(MemoryProtection.growsDown.unknownBits != 0)  // mmap refuses it
        #expect(MemoryProtection.knownForMprotect.contains(.growsDown))
        #expect(throws: Errno.invalidArgument) { try RemapFlags.fixed.validatedForRemap() }
        #expect(try RemapFlags([.mayMove, .fixed]).validatedForRemap() == [.mayMove, .fixed])
    }

    @Test func cloneFlagsAndTheirRules() throws {
        #expect(CloneFlags.virtualMemory.rawValue == 0x100)
        #expect(CloneFlags.vfork.rawValue == 0x4000)
        #expect(CloneFlags.thread.rawValue == 0x10000)
        #expect(CloneFlags.setTLS.rawValue == 0x80000)
        #expect(CloneFlags.parentSetTID.rawValue == 0x100000)
        #expect(CloneFlags.childClearTID.rawValue == 0x200000)
        #expect(CloneFlags.childSetTID.rawValue == 0x1000000)
        // musl's pthread_create.
        let thread = CloneFlags(rawValue: 0x7d0f00)
        #expect(try thread.validatedForClone() == thread)
        #expect(thread.exitSignal == 0)
        // fork() is clone(SIGCHLD).
        let fork = CloneFlags(rawValue: 17)
        #expect(fork.exitSignal == 17 && fork.options.isEmpty)
        #expect(CloneFlags(options: [.virtualMemory, .vfork], exitSignal: 17).rawValue == 0x4111)
        #expect(throws: Errno.invalidArgument) { try CloneFlags([.virtualMemory, .thread]).validatedForClone() }
        #expect(throws: Errno.invalidArgument) { try CloneFlags.signalHandlers.validatedForClone() }
        #expect(throws: Errno.invalidArgument) { try CloneFlags(rawValue: 65).validatedForClone() }
        #expect(throws: Errno.invalidArgument) { try CloneFlags.clearSignalHandlers.validatedForClone() }
        #expect(throws: Errno.invalidArgument) {
            try CloneFlags([.fileSystem, .newMountNamespace]).validatedForClone()
        }
        #expect(throws: Errno.invalidArgument) { try CloneFlags(rawValue: 1 << 40).validatedForClone() }
    }

    @Test func waitOptionsAndStatusEncoding() {
        #expect(WaitOptions.noHang.rawValue == 1 && WaitOptions.untraced.rawValue == 2)
        #expect(WaitOptions.continued.rawValue == 8 && WaitOptions.all.rawValue == 0x4000_0000)
        #expect(WaitOptions.exited.unknownBits == 4)  // waitid-only
        #expect(WaitOptions.knownForWaitid.contains(.exited))

        let exited = WaitStatus.exited(code: 3)
        #expect(exited.rawValue == 0x300)
        #expect(exited.isExited && exited.exitCode == 3 && !exited.isSignaled)
        #expect(WaitStatus.exited(code: 256 + 7).exitCode == 7)
        let killed = WaitStatus.signaled(.segmentationViolation, coreDumped: true)
        #expect(killed.rawValue == 0x8b)
        #expect(killed.isSignaled && killed.terminatingSignal == 11 && killed.coreDumped && !killed.isExited)
        #expect(WaitStatus.signaled(.kill).rawValue == 9)
        let stopped = WaitStatus.stopped(.terminalStop)
        #expect(stopped.rawValue == 0x147f && stopped.isStopped && stopped.stopSignal == 20)
        #expect(!stopped.isSignaled)
        #expect(WaitStatus.continued.isContinued && !WaitStatus.continued.isExited)
    }

    @Test func commandNumbers() {
        #expect(FcntlCommand.duplicate.rawValue == 0)
        #expect(FcntlCommand.getDescriptorFlags.rawValue == 1)
        #expect(FcntlCommand.setDescriptorFlags.rawValue == 2)
        #expect(FcntlCommand.getStatusFlags.rawValue == 3)
        #expect(FcntlCommand.setStatusFlags.rawValue == 4)
        #expect(FcntlCommand.duplicateCloseOnExec.rawValue == 1030)
        #expect(FileDescriptorFlags.closeOnExec.rawValue == 1)
        #expect(IoctlRequest.getTermios.rawValue == 0x5401)
        #expect(IoctlRequest.setTermios.rawValue == 0x5402)
        #expect(IoctlRequest.getWindowSize.rawValue == 0x5413)
        #expect(IoctlRequest.getForegroundGroup.rawValue == 0x540F)
        #expect(IoctlRequest.setForegroundGroup.rawValue == 0x5410)
        #expect(IoctlRequest.bytesReadable.rawValue == 0x541B)
        #expect(IoctlRequest(argument: 0xffff_ffff_0000_5401) == .getTermios)
        #expect(ArchPrctlCode.setGSBase.rawValue == 0x1001)
        #expect(ArchPrctlCode.setFSBase.rawValue == 0x1002)
        #expect(ArchPrctlCode.getFSBase.rawValue == 0x1003)
        #expect(ArchPrctlCode.getGSBase.rawValue == 0x1004)
        #expect(ClockID.realtime.rawValue == 0 && ClockID.monotonic.rawValue == 1)
        #expect(ClockID.monotonicRaw.rawValue == 4 && ClockID.bootTime.rawValue == 7)
        #expect(ClockID.monotonicCoarse.rawValue == 6 && ClockID.processCPUTime.rawValue == 2)
        #expect(ClockID.bootTime.isKnownStaticClock && !ClockID(rawValue: 10).isKnownStaticClock)
        #expect(ClockID(argument: UInt64(bitPattern: -6)).isPerTaskCPUClock)
        #expect(SeekWhence(argument: 2) == .end)
        #expect(SeekWhence(argument: 5) == nil)
        #expect(SeekWhence(argument: 1 << 32) == .start)  // unsigned int: low 32 bits
        #expect(throws: Errno.invalidArgument) { try AccessCheck(rawValue: 8).validated() }
    }

    @Test func futexOperationsDecodeAndRefuseLikeLinux() throws {
        let privateWait = FutexOperation(argument: 128)
        #expect(privateWait.isPrivate && privateWait.command == .wait)
        #expect(try FutexOperation(.waitBitset, realtimeClock: true).validatedCommand() == .waitBitset)
        #expect(FutexOperation(.wake).rawValue == 129)
        #expect(FutexOperation(.wakeBitset, isPrivate: false).rawValue == 10)
        #expect(throws: Errno.notImplemented) { try FutexOperation(rawValue: 256).validatedCommand() }
        #expect(throws: Errno.notImplemented) { try FutexOperation(rawValue: 99).validatedCommand() }
        #expect(throws: Errno.notImplemented) { try FutexOperation(rawValue: 0x200).validatedCommand() }
    }

    @Test func getRandomFlags() throws {
        #expect(try GetRandomFlags.nonBlocking.validatedForGetRandom() == .nonBlocking)
        #expect(throws: Errno.invalidArgument) { try GetRandomFlags([.insecure, .random]).validatedForGetRandom() }
        #expect(throws: Errno.invalidArgument) { try GetRandomFlags(rawValue: 8).validatedForGetRandom() }
    }
}
