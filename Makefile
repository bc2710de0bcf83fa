# Exo: build the kernel image, boot it, test it, measure it.
#
#   make run     set up the machine, build, boot Exo in QEMU (serial on this terminal)
#   make test    set up, run `swift test` and the in-QEMU suites; ends "N passed, M failed"
#   make iso     build/exo.iso (GRUB, multiboot2)
#   make bench   in-kernel benchmarks under -icount (guest instructions)
#   make debug   boot halted, QEMU gdb stub on :1234, gdb with symbols attached
#   make boottime  wall time to the banner and guest instructions to kmain

SHELL := /bin/bash
TOOLCHAIN ?= /opt/swift/usr/bin
export PATH := $(TOOLCHAIN):$(PATH)

BUILD  := build
KBUILD := $(BUILD)/kernel
MODULES := $(KBUILD)/modules
ARCH   := kernel/arch/x86_64
QEMU   := qemu-system-x86_64
QEMU_BASE := -accel tcg -m 256M -no-reboot -display none -serial stdio \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04
ICOUNT := -icount shift=0,sleep=off -rtc base=2024-01-01T00:00:00,clock=vm

# Embedded Swift for the bare machine. No SSE in kernel code (the FPU/SSE
# state then only matters at user context switches); no red zone (interrupts
# push onto the interrupted stack); frame pointers kept for backtraces.
SWIFT_FLAGS := -target x86_64-unknown-none-elf -enable-experimental-feature Embedded \
    -wmo -parse-as-library -Osize -g -swift-version 5 \
    -Xcc -mno-red-zone -Xcc -mcmodel=small -Xcc -ffreestanding -Xcc -mno-sse -Xcc -mno-sse2 \
    -Xfrontend -function-sections -Xfrontend -disable-stack-protector
C_FLAGS := --target=x86_64-unknown-none-elf -ffreestanding -fno-builtin -nostdlib -mno-red-zone \
    -fpie -mgeneral-regs-only -fno-omit-frame-pointer -O2 -g -Wall -Werror
ASM_FLAGS := --target=x86_64-unknown-none-elf -g -I $(ARCH)
LD_FLAGS := -T $(ARCH)/linker.ld -nostdlib -static -z max-page-size=4096 --gc-sections
# String comparison (==) normalizes Unicode: its tables come from the
# embedded stdlib; --gc-sections keeps only what is referenced.
SWIFT_LIBS := $(TOOLCHAIN)/../lib/swift/embedded/x86_64-unknown-none-elf/libswiftUnicodeDataTables.a

# Pure modules in dependency order, and what each imports.
PURE_MODULES := ExoKit ExoX86 ExoBoot ExoMemory ExoSched ExoABI ExoFS ExoIPC
KERNEL_SOURCES := $(shell find kernel/Sources -name '*.swift' | sort)
ASM_OBJECTS := $(KBUILD)/boot.o $(KBUILD)/traps.o $(KBUILD)/probes.o $(KBUILD)/switch.o $(KBUILD)/trampoline.o $(KBUILD)/syscall.o
C_OBJECTS := $(KBUILD)/runtime.o
PURE_OBJECTS := $(PURE_MODULES:%=$(KBUILD)/%.o)
OBJECTS := $(ASM_OBJECTS) $(C_OBJECTS) $(PURE_OBJECTS) $(KBUILD)/ExoKernel.o

.PHONY: all kernel iso run test bench allocbench debug boottime setup clean user fuzz
all: kernel

setup:
	@tools/setup.sh

kernel: $(BUILD)/exo.elf

$(KBUILD)/%.o: $(ARCH)/%.S $(ARCH)/layout.h $(ARCH)/frame.h
	@mkdir -p $(KBUILD)
	clang $(ASM_FLAGS) -c $< -o $@

$(KBUILD)/runtime.o: kernel/runtime/runtime.c
	@mkdir -p $(KBUILD)
	clang $(C_FLAGS) -c $< -o $@

# One object + swiftmodule per pure module, built from the same sources
# SwiftPM tests on the host.
define pure_module
$(KBUILD)/$(1).o: $(shell find Sources/$(1) -name '*.swift') $(2:%=$(KBUILD)/%.o)
	@mkdir -p $(MODULES)
	swiftc $(SWIFT_FLAGS) -module-name $(1) -I $(MODULES) \
	    -emit-module -emit-module-path $(MODULES)/$(1).swiftmodule \
	    -c $(shell find Sources/$(1) -name '*.swift' | sort) -o $$@
	@touch $$@   # swiftc leaves an unchanged object's timestamp alone
endef
$(eval $(call pure_module,ExoKit,))
$(eval $(call pure_module,ExoX86,ExoKit))
$(eval $(call pure_module,ExoBoot,ExoKit))
$(eval $(call pure_module,ExoMemory,ExoKit ExoX86))
$(eval $(call pure_module,ExoSched,ExoKit))
$(eval $(call pure_module,ExoABI,ExoKit))
$(eval $(call pure_module,ExoFS,ExoKit ExoABI))
$(eval $(call pure_module,ExoIPC,ExoKit))

$(KBUILD)/ExoKernel.o: $(KERNEL_SOURCES) $(PURE_OBJECTS) kernel/include/exo_arch.h
	swiftc $(SWIFT_FLAGS) -module-name ExoKernel -I $(MODULES) -I kernel/include \
	    -c $(KERNEL_SOURCES) -o $@
	@touch $@

# Two links: the first gives the addresses the symbol table records; the
# second adds the table in .ksyms, which the linker script places after
# everything it describes. The final check proves no code address moved.
$(BUILD)/exo.elf: $(OBJECTS) $(ARCH)/linker.ld $(ARCH)/ksyms.S tools/gen_ksyms.py
	ld.lld $(LD_FLAGS) $(OBJECTS) $(SWIFT_LIBS) -o $(KBUILD)/exo-pass1.elf
	tools/gen_ksyms.py $(KBUILD)/exo-pass1.elf $(KBUILD)/ksyms.bin
	clang $(ASM_FLAGS) -DKSYMS_BLOB='"$(KBUILD)/ksyms.bin"' -c $(ARCH)/ksyms.S -o $(KBUILD)/ksyms.o
	ld.lld $(LD_FLAGS) $(OBJECTS) $(KBUILD)/ksyms.o $(SWIFT_LIBS) -o $@.tmp
	tools/gen_ksyms.py $@.tmp $(KBUILD)/ksyms-final.bin
	cmp -s $(KBUILD)/ksyms.bin $(KBUILD)/ksyms-final.bin || { echo "symbol addresses moved between link passes"; exit 1; }
	@if llvm-objdump -d $@.tmp | grep -q '%xmm'; then echo "SSE register use in kernel code"; exit 1; fi
	mv $@.tmp $@

iso: $(BUILD)/exo.iso
$(BUILD)/exo.iso: $(BUILD)/exo.elf tools/grub.cfg
	@mkdir -p $(BUILD)/iso/boot/grub
	cp $(BUILD)/exo.elf $(BUILD)/iso/boot/exo.elf
	cp tools/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(BUILD)/iso 2>$(BUILD)/grub-mkrescue.log || { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# User programs (musl-gcc -static) and the ramdisks that carry them, with
# Debian's busybox-static: build/user/{tests,bench,fuzz}.cpio.
user: setup
	@$(MAKE) --no-print-directory -C user

# Boots to busybox's shell on the serial console (serial multiplexed with the
# QEMU monitor: Ctrl-A X quits). `exit` ends init, and QEMU with it.
run: setup kernel user
	@$(QEMU) $(subst -serial stdio,-serial mon:stdio,$(QEMU_BASE)) -kernel $(BUILD)/exo.elf \
	    -initrd $(BUILD)/user/tests.cpio -append "init=/bin/sh $(APPEND)"; \
	status=$$?; [ $$status -eq 0 ] || [ $$status -eq 33 ] || { echo "qemu exit status $$status"; exit $$status; }

# 10^5 hostile system calls from user space (user/fuzz.c); the kernel must stay up.
fuzz: setup kernel user
	timeout 1800 $(QEMU) $(QEMU_BASE) -kernel $(BUILD)/exo.elf -initrd $(BUILD)/user/fuzz.cpio \
	    -append "init=/init -- 1 100000" | tee $(BUILD)/fuzz.log; test $${PIPESTATUS[0]} -eq 33

test: setup
	@tools/run_tests.sh

# Three runs of the in-kernel benchmarks under icount, each twice (figures
# must match): everything on one CPU; the cross-CPU wakeup on two; and the
# interactive-latency benchmark with the round-robin baseline policy.
bench: setup kernel
	tools/bench.py --kernel $(BUILD)/exo.elf --runs 2 --markdown-out $(BUILD)/bench.md
	tools/bench.py --kernel $(BUILD)/exo.elf --runs 2 --filter wakeup_cross_cpu,ctx_switch \
	    --qemu-arg=-smp --qemu-arg=2 --markdown-out $(BUILD)/bench-smp2.md
	tools/bench.py --kernel $(BUILD)/exo.elf --runs 2 --filter interactive_latency,interactive_latency_p99 \
	    --append exo.sched=rr --markdown-out $(BUILD)/bench-rr.md

# Host-native allocator comparison (wall time: not part of CI).
allocbench:
	@mkdir -p $(BUILD)
	tools/alloc_bench.py --runs 5 --instructions --markdown-out $(BUILD)/alloc-bench.md

boottime: setup kernel
	tools/boottime.py --kernel $(BUILD)/exo.elf --runs 9
	tools/boottime.py --kernel $(BUILD)/exo.elf --runs 3 --icount

debug: setup kernel
	$(QEMU) $(QEMU_BASE) -kernel $(BUILD)/exo.elf -append "$(APPEND)" -s -S & \
	gdb -q $(BUILD)/exo.elf -ex 'target remote 127.0.0.1:1234' -ex 'break kmain' -ex 'continue'; \
	kill %1 2>/dev/null || true

clean:
	rm -rf $(BUILD)
