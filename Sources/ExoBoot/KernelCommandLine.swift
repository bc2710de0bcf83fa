/// The kernel command line split into words, Linux style.
///
/// Words are separated by spaces, tabs or newlines. Double quotes group
/// text containing spaces into one word and are removed
/// (`init="/bin/sh -x"` is the word `init=/bin/sh -x`); an unclosed quote
/// runs to the end of the line. Single quotes do the same, as in a shell
/// (Linux itself knows only double quotes), so that
/// `-- sh -c 'echo hi | cat'` gives init the three words a shell would;
/// inside one kind of quote the other is an ordinary character. A standalone `--` ends the kernel's words:
/// everything after it is for init. With QEMU's multiboot1 loader the first
/// word is the kernel file name, which is just a word without `=`.
///
/// Comparisons are done on UTF-8 bytes, so no Unicode tables are needed in
/// the kernel.
public struct KernelCommandLine: Sendable {
    /// The kernel's words (those before a standalone `--`), quotes removed.
    public var words: [String]
    /// The words after a standalone `--`, passed on to init.
    public var initArguments: [String]

    /// Splits `text` into words.
    public init(_ text: String) {
        let all = Self.split(text)
        if let separator = all.firstIndex(where: { Self.equal($0, "--") }) {
            words = Array(all[..<separator])
            initArguments = Array(all[(separator + 1)...])
        } else {
            words = all
            initArguments = []
        }
    }

    /// The value of the last `key=value` word whose key is `key`, or nil.
    ///
    /// The value is everything after the first `=`, so `a=b=c` gives `b=c`
    /// for key `a`. A bare word `key` has no value.
    public func value(of key: String) -> String? {
        // Later words override earlier ones, as in Linux, so that a boot
        // menu can append to a default line.
        for word in words.reversed() {
            let bytes = word.utf8
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
            if bytes[..<equals].elementsEqual(key.utf8) {
                return String(decoding: bytes[bytes.index(after: equals)...], as: UTF8.self)
            }
        }
        return nil
    }

    /// Whether the bare word `flag` (without `=`) appears, e.g. `quiet`.
    public func contains(flag: String) -> Bool {
        words.contains { Self.equal($0, flag) }
    }

    /// Byte-wise string equality.
    private static func equal(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.elementsEqual(rhs.utf8)
    }

    /// Whether `byte` separates words outside quotes.
    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
            || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    /// `text` split at unquoted whitespace, with the quotes removed.
    private static func split(_ text: String) -> [String] {
        var result: [String] = []
        var current: [UInt8] = []
        // Distinguishes `""` (an empty word) from no word at all.
        var inWord = false
        var openQuote: UInt8? = nil
        for byte in text.utf8 {
            if let quote = openQuote {
                if byte == quote { openQuote = nil } else { current.append(byte) }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                openQuote = byte
                inWord = true
            } else if isSeparator(byte) {
                if inWord { result.append(String(decoding: current, as: UTF8.self)) }
                current.removeAll(keepingCapacity: true)
                inWord = false
            } else {
                current.append(byte)
                inWord = true
            }
        }
        if inWord { result.append(String(decoding: current, as: UTF8.self)) }
        return result
    }
}
