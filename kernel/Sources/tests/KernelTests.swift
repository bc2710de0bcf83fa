/// The in-kernel test harness.
///
/// `exo.test=<suite>[,<suite>.<test>...]` or `exo.test=all` runs tests and prints,
/// one line each, in the format tools/ktest.py reads:
/// ```
/// ktest: pass <suite>.<test>
/// ktest: fail <suite>.<test>: <first failed expectation>
/// ktest: done passed=<N> failed=<M>
/// ```
/// A test is a function taking a `TestContext`; it passes when none of
/// its `expect` calls failed.
final class TestContext {
    private(set) var failures: [String] = []

    func expect(_ condition: Bool, _ what: @autoclosure () -> String) {
        if !condition { failures.append(what()) }
    }

    func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String) {
        if actual != expected { failures.append(what()) }
    }
}

struct KernelTest {
    let name: StaticString
    let body: (TestContext) -> Void
}

struct KernelTestSuite {
    let name: StaticString
    let tests: [KernelTest]
}

enum KernelTests {
    static var suites: [KernelTestSuite] {
        [CPUTests.suite, BootInfoTests.suite, SerialTests.suite, KernelImageTests.suite, ClockTests.suite,
         MemoryTests.suite, SchedulerTests.suite, IPCTests.suite]
    }

    /// Runs the selected suites; returns whether every test passed (and at
    /// least one ran: a selection naming no suite is a failure, not a pass).
    static func run(selection: String) -> Bool {
        let wanted = selection.split(separator: ",").map(String.init)
        var passed = 0, failed = 0
        // A selection is "all", a suite name, or "suite.test".
        func selected(_ suite: KernelTestSuite, _ test: KernelTest) -> Bool {
            wanted.contains("all") || wanted.contains(suite.name.description)
                || wanted.contains("\(suite.name.description).\(test.name.description)")
        }
        for name in wanted where name != "all"
            && !suites.contains(where: { suite in suite.tests.contains { selected(suite, $0) && (name == suite.name.description || name == "\(suite.name.description).\($0.name.description)") } }) {
            Console.write("ktest: fail \(name).unknown: no suite or test named \(name)\n")
            failed += 1
        }
        for suite in suites {
            for test in suite.tests where selected(suite, test) {
                let context = TestContext()
                test.body(context)
                let id = "\(suite.name.description).\(test.name.description)"
                if let first = context.failures.first {
                    Console.write("ktest: fail \(id): \(first)\n")
                    failed += 1
                } else {
                    Console.write("ktest: pass \(id)\n")
                    passed += 1
                }
            }
        }
        Console.write("ktest: done passed=\(passed) failed=\(failed)\n")
        return failed == 0 && passed > 0
    }
}
