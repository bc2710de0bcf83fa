import CExoArch
import Synchronization

/// An interrupt-safe spin lock for kernel data shared between CPUs.
///
/// `lock()` turns interrupts off before spinning and `unlock()` restores
/// the state `lock()` found, so an interrupt handler on this CPU can never
/// spin on a lock its own CPU holds. Lock order where two are held:
/// scheduler, then frames / address space / virtual ranges / console.
final class KernelSpinLock {
    private let word = Atomic<Bool>(false)
    private var interruptsWereEnabled = false
    private(set) var holder: Int = -1

    @inline(__always)
    func lock() {
        let enabled = CPU.interruptsEnabled
        CPU.disableInterrupts()
        while true {
            if word.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { break }
            // Wait with interrupts on if the caller had them on, and answer
            // TLB shootdowns either way: the holder may be waiting for this
            // CPU's acknowledgement (TLB.enableRemoteShootdown).
            if enabled { CPU.enableInterrupts() }
            while word.load(ordering: .relaxed) {
                TLB.answerPendingRequest()
                exo_pause()
            }
            CPU.disableInterrupts()
        }
        interruptsWereEnabled = enabled
        holder = SMP.currentIndex
    }

    @inline(__always)
    func unlock() {
        let enable = interruptsWereEnabled
        holder = -1
        word.store(false, ordering: .releasing)
        if enable { CPU.enableInterrupts() }
    }

    /// Takes the lock without touching the interrupt flag: for callers that
    /// already run with interrupts off and may release it on another
    /// thread (the scheduler's lock handoff).
    @inline(__always)
    func acquire() {
        assert(!CPU.interruptsEnabled, "acquire needs interrupts off")
        while true {
            if word.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { break }
            while word.load(ordering: .relaxed) {
                TLB.answerPendingRequest()      // see TLB.enableRemoteShootdown
                exo_pause()
            }
        }
        holder = SMP.currentIndex
    }

    /// Takes the lock if it is free, without spinning or touching the
    /// interrupt flag (interrupts off): for a holder of the scheduler lock
    /// that may do without (map-at-send, `IPC.deliverGrant`, declines instead).
    @inline(__always)
    func tryAcquire() -> Bool {
        assert(!CPU.interruptsEnabled, "tryAcquire needs interrupts off")
        guard word.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        holder = SMP.currentIndex
        return true
    }

    @inline(__always)
    func release() {
        holder = -1
        word.store(false, ordering: .releasing)
    }

    /// Whether this CPU holds the lock (for preconditions).
    @inline(__always)
    var isHeldHere: Bool { word.load(ordering: .relaxed) && holder == SMP.currentIndex }

    @inline(__always)
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
