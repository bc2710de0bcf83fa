/// The page size user programs see (AT_PAGESZ, mmap granularity).
public enum UserPage {
    /// 4 KiB: x86_64's base page, the only size the user ABI exposes.
    public static let size: UInt64 = 4096
}
