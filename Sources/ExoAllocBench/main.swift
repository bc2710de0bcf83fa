// ExoAllocBench: Exo's heap core (the same HybridHeap the kernel links)
// against the C library's malloc/free on the host, one workload per run.
//
//   ExoAllocBench --allocator exo|system --workload pair64|random|prodcons [--iterations N]
//
// prints one line:
//   result allocator=<name> workload=<w> ns_per_op=<x> ops=<n>
// `system` is glibc unless LD_PRELOAD puts another malloc in front of it;
// tools/alloc_bench.py does that for jemalloc, mimalloc and tcmalloc and
// names the allocator through EXO_BENCH_ALLOCATOR_NAME.
// One op is one malloc + free (pair64, random) or one object produced
// and freed on the other thread (prodcons). Exit status 2 on bad usage,
// 1 if Exo's heap check fails afterwards.
import ExoMemory
import Glibc

enum Workload: String, CaseIterable {
    case pair64, random, prodcons

    /// Sized so one timed run takes roughly 0.3-1 s on the development
    /// machine with any of the allocators.
    var defaultIterations: Int {
        switch self {
        case .pair64: 100_000_000
        case .random: 40_000_000
        case .prodcons: 10_000_000
        }
    }
}

/// Writes `line` and a newline to standard error.
func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
}

func usage(_ message: String) -> Never {
    printError("ExoAllocBench: \(message)")
    printError("usage: ExoAllocBench --allocator exo|system --workload \(Workload.allCases.map(\.rawValue).joined(separator: "|")) [--iterations N]")
    exit(2)
}

var allocatorName: String? = nil
var workload: Workload? = nil
var iterations: Int? = nil
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    guard let value = arguments.next() else { usage("\(argument) needs a value") }
    switch argument {
    case "--allocator":
        guard value == "exo" || value == "system" else { usage("unknown allocator \(value)") }
        allocatorName = value
    case "--workload":
        guard let chosen = Workload(rawValue: value) else { usage("unknown workload \(value)") }
        workload = chosen
    case "--iterations":
        guard let count = Int(value), count > 0 else { usage("bad iteration count \(value)") }
        iterations = count
    default:
        usage("unknown option \(argument)")
    }
}
guard let allocatorName, let workload else { usage("--allocator and --workload are required") }
let operations = iterations ?? workload.defaultIterations

/// Warms up (faults in pages, fills caches), then times `operations` ops.
func measure<A: BenchAllocator>(_ allocator: A) -> UInt64 {
    let warmUp = max(operations / 10, 1)
    switch workload {
    case .pair64:
        pair64(allocator, iterations: warmUp)
        let start = monotonicNanoseconds()
        pair64(allocator, iterations: operations)
        return monotonicNanoseconds() - start
    case .random:
        var live = RandomLiveSet(allocator)
        live.run(iterations: warmUp)
        let start = monotonicNanoseconds()
        live.run(iterations: operations)
        let elapsed = monotonicNanoseconds() - start
        live.freeAll()
        return elapsed
    case .prodcons:
        _ = producerConsumer(allocator, count: warmUp)
        return producerConsumer(allocator, count: operations)
    }
}

let elapsed: UInt64
var label = allocatorName
if allocatorName == "exo" {
    // 1 GiB of address space: far more than any workload holds live.
    let source = HostPageSource(windowBytes: 1 << 30)
    let heap = UnsafeMutablePointer<HostHeap>.allocate(capacity: 1)
    do {
        // Two caches: the main thread (and the producer) use 0, the
        // prodcons consumer 1. A fixed secret keeps runs identical.
        heap.initialize(to: try HostHeap(source: source, cacheCount: 2, secret: 0x5A5A_1234_9876_F00D))
    } catch {
        fatalError("heap: \(error.description)")
    }
    elapsed = measure(ExoAllocator(heap: heap))
    // Untimed: everything came back, and the heap's invariants hold.
    do {
        try heap.pointee.drain(cache: 0)
        try heap.pointee.drain(cache: 1)
    } catch {
        fatalError("drain: \(error.description)")
    }
    if let problem = heap.pointee.verify() {
        printError("ExoAllocBench: heap check failed: \(problem)")
        exit(1)
    }
    let statistics = heap.pointee.statistics()
    if statistics.bytesInUse != 0 {
        printError("ExoAllocBench: \(statistics.bytesInUse) bytes still in use after the workload")
        exit(1)
    }
} else {
    if let name = getenv("EXO_BENCH_ALLOCATOR_NAME") { label = String(cString: name) }
    elapsed = measure(SystemAllocator())
}

/// `value` with three decimals, without Foundation.
func decimal3(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}

print("result allocator=\(label) workload=\(workload.rawValue) ns_per_op=\(decimal3(Double(elapsed) / Double(operations))) ops=\(operations)")
