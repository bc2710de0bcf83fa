/// Exo's user half of every address space, `[start, end)` (DESIGN.md's
/// memory map): the one definition the ELF loader, the signal-frame
/// builder and the kernel's user-memory checks share. The null page stays
/// unmapped; `end` is 2^46, far below the non-canonical hole, so a user
/// address never has bit 47 set (the SYSCALL fast path relies on it).
public enum UserSpace {
    public static let start: UInt64 = 0x1000
    public static let end: UInt64 = 0x0000_4000_0000_0000
}
