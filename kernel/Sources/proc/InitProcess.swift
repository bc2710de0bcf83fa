import CExoArch
import ExoABI
import ExoBoot
import ExoFS
import ExoKit
import ExoMemory
import ExoSched
import ExoX86

/// The first user process, as on Linux: the initial ramdisk (a newc cpio
/// boot module) is unpacked into the file tree, `init=` (default /init)
/// runs with the words after ` -- ` as its arguments, and when it exits
/// the machine stops: `exo: init exited with status N`, then QEMU ends
/// with 33 for status 0 and 35 otherwise (isa-debug-exit; without the
/// device the CPU halts).
enum InitProcess {
    static let defaultPath = "/init"

    static func run(initrd module: BootModule) -> Never {
        let length = Int(module.end - module.start)
        let start = UnsafeRawPointer(bitPattern: UInt(KernelLayout.virtual(physical: module.start)))!
        do {
            try FileSystem.unpack(archive: UnsafeRawBufferPointer(start: start, count: length))
        } catch {
            Log.error("initrd: refused (\(error.name.description)): not a valid newc cpio archive")
            DebugExit.exit(.failure)
        }
        Log.info("initrd: \(length) bytes unpacked")
        Terminal.start()
        let path = BootState.commandLine.value(of: "init") ?? defaultPath
        let arguments = [Array(path.utf8)] + BootState.commandLine.initArguments.map { Array($0.utf8) }
        let environment = [Array("HOME=/".utf8), Array("TERM=linux".utf8), Array("PATH=/sbin:/bin:/usr/sbin:/usr/bin".utf8)]
        Console.write("boot: ready at tsc=")
        Console.writeDecimal(CPU.timestamp())
        Console.write("\n")
        let process: Process
        do {
            process = try Process.spawnInitial(path: Array(path.utf8), arguments: arguments, environment: environment)
        } catch {
            Log.error("init: cannot run \(path): \(error.name.description)")
            DebugExit.exit(.failure)
        }
        let status = process.waitAsOrphan()
        let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        Console.write("exo: init exited with status \(code)\n")
        DebugExit.exit(code == 0 ? .success : .failure)
    }
}
