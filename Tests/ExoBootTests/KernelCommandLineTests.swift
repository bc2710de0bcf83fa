import Testing
import ExoBoot

@Suite("Kernel command line")
struct KernelCommandLineTests {
    @Test func keyValueWordsAreFoundAndTheLastOccurrenceWins() {
        let line = KernelCommandLine("exo.test=all console=ttyS0 exo.test=smoke")
        #expect(line.value(of: "exo.test") == "smoke")
        #expect(line.value(of: "console") == "ttyS0")
        #expect(line.value(of: "exo") == nil)
        #expect(line.value(of: "missing") == nil)
    }

    @Test func valueKeepsEverythingAfterTheFirstEqualsSign() {
        let line = KernelCommandLine("root=PARTUUID=1234-5678 empty=")
        #expect(line.value(of: "root") == "PARTUUID=1234-5678")
        #expect(line.value(of: "empty") == "")
    }

    @Test func bareWordsAreFlagsButKeyValueWordsAreNot() {
        let line = KernelCommandLine("quiet debug=1 nosmp")
        #expect(line.contains(flag: "quiet"))
        #expect(line.contains(flag: "nosmp"))
        #expect(!line.contains(flag: "debug"))
        #expect(!line.contains(flag: "quie"))
        #expect(line.value(of: "quiet") == nil)
    }

    @Test func quotesGroupSpacesAndAreStripped() {
        let line = KernelCommandLine(#"init="/bin/sh -x" "msg=hello world" x"#)
        #expect(line.words == ["init=/bin/sh -x", "msg=hello world", "x"])
        #expect(line.value(of: "init") == "/bin/sh -x")
        #expect(line.value(of: "msg") == "hello world")
    }

    @Test func unclosedQuoteRunsToTheEndOfTheLine() {
        let line = KernelCommandLine(#"a=1 b="two three"#)
        #expect(line.words == ["a=1", "b=two three"])
    }

    @Test func wordsAfterDoubleDashGoToInit() {
        let line = KernelCommandLine("exo.test=all -- --verbose quiet")
        #expect(line.words == ["exo.test=all"])
        #expect(line.initArguments == ["--verbose", "quiet"])
        #expect(!line.contains(flag: "quiet"))  // it belongs to init, not the kernel
    }

    @Test func tabsAndRunsOfSpacesSeparateWords() {
        let line = KernelCommandLine("  a\tb \t  c  \n")
        #expect(line.words == ["a", "b", "c"])
    }

    @Test func emptyLineHasNoWords() {
        let line = KernelCommandLine("")
        #expect(line.words.isEmpty)
        #expect(line.initArguments.isEmpty)
        #expect(line.value(of: "") == nil)
    }

    @Test func qemuKernelFileNameIsJustAnotherWord() {
        let line = KernelCommandLine("build/exo.elf exo.test=all")
        #expect(line.words == ["build/exo.elf", "exo.test=all"])
        #expect(line.value(of: "exo.test") == "all")
        #expect(line.value(of: "build/exo.elf") == nil)
    }

    @Test func singleQuotesGroupInitArgumentsLikeAShell() {
        let line = KernelCommandLine("exo.elf init=/bin/busybox -- sh -c 'echo hi | cat' \"it's\" 'say \"x\"'")
        #expect(line.value(of: "init") == "/bin/busybox")
        #expect(line.initArguments == ["sh", "-c", "echo hi | cat", "it's", "say \"x\""])
    }
}
