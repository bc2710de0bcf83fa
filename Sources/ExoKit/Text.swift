/// String searching without Foundation (Embedded Swift has no
/// `String.contains(String)`): byte-wise on UTF-8, which is exact for
/// the ASCII command lines, symbol names and log text the kernel handles.
public enum Text {
    /// Whether `needle`'s UTF-8 bytes occur contiguously in `haystack`'s.
    public static func contains(_ haystack: String, _ needle: String) -> Bool {
        let text = Array(haystack.utf8), pattern = Array(needle.utf8)
        if pattern.isEmpty { return true }
        if pattern.count > text.count { return false }
        for start in 0...(text.count - pattern.count) where text[start] == pattern[0] {
            if text[start..<(start + pattern.count)].elementsEqual(pattern) { return true }
        }
        return false
    }
}
