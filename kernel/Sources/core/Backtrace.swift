import CExoArch

/// Kernel stacks known to the backtrace walker and the fault reporter.
///
/// Walking frame pointers is only safe while each saved RBP points into
/// the same stack, so the walker checks every frame against these bounds
/// before reading it: a corrupt chain ends the backtrace, not the report.
enum KernelStacks {
    struct Stack {
        let name: StaticString
        let guardPage: UInt64?
        let bottom: UInt64
        let top: UInt64
    }

    /// Stacks allocated after boot (kernel threads, tests), in allocation order.
    nonisolated(unsafe) private(set) static var dynamic: [Stack] = []

    static let lock = KernelSpinLock()
    static func register(_ stack: Stack) { lock.withLock { dynamic.append(stack) } }
    static func unregister(top: UInt64) { lock.withLock { dynamic.removeAll { $0.top == top } } }

    static var all: [Stack] {
        var stacks = dynamic + [Stack(name: "boot stack", guardPage: boot_stack_guard_page_address(),
                            bottom: boot_stack_bottom_address(), top: boot_stack_top_address())]
        let names: [StaticString] = ["double-fault IST stack", "NMI IST stack", "machine-check IST stack"]
        for (index, slot) in [DescriptorTables.InterruptStack.doubleFault, .nonMaskableInterrupt, .machineCheck].enumerated() {
            let top = DescriptorTables.interruptStackTop(slot)
            stacks.append(Stack(name: names[index], guardPage: DescriptorTables.interruptStackGuard(slot),
                                bottom: top - DescriptorTables.istStackSize, top: top))
        }
        return stacks
    }

    static func containing(_ address: UInt64) -> Stack? {
        all.first { address >= $0.bottom && address < $0.top }
    }

    /// The stack whose guard page holds `address`.
    static func guarded(by address: UInt64) -> Stack? {
        all.first { stack in
            guard let page = stack.guardPage else { return false }
            return address >= page && address < page + KernelLayout.pageSize
        }
    }
}

enum Backtrace {
    static let maximumDepth = 32

    /// Return addresses, innermost first, starting with `rip` and walking
    /// the frame-pointer chain from `rbp` (Swift and C code keep frame pointers).
    static func collect(rip: UInt64, rbp: UInt64) -> [UInt64] {
        var addresses = [rip]
        var frame = rbp
        guard let stack = KernelStacks.containing(frame) else { return addresses }
        while addresses.count < maximumDepth {
            // [rbp] = caller's rbp, [rbp + 8] = return address.
            guard frame & 7 == 0, frame >= stack.bottom, frame + 16 <= stack.top else { break }
            let saved = UnsafePointer<UInt64>(bitPattern: UInt(frame))!
            let returnAddress = saved[1]
            if returnAddress == 0 { break }
            addresses.append(returnAddress)
            let next = saved[0]
            if next <= frame { break }          // stacks grow down: callers are above
            frame = next
        }
        return addresses
    }

    /// Prints `  #n 0x… name+0xoff` lines.
    static func print(_ addresses: [UInt64]) {
        Console.write("backtrace:\n")
        for (depth, address) in addresses.enumerated() {
            Console.write("  #")
            Console.writeDecimal(UInt64(depth))
            Console.write(" ")
            Console.writeHex(address)
            // Return addresses point after the call; name the call itself.
            if let match = KernelSymbols.lookup(depth == 0 ? address : address - 1) {
                Console.write(" ")
                Console.write(bytes: match.name)
                Console.write("+")
                Console.writeHex(depth == 0 ? match.offset : match.offset + 1, digits: 4)
            }
            Console.write("\n")
        }
    }
}
