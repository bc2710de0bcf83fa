#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   1. `swift test`: every pure module's host suite (its own summary is printed);
#   2. the kernel image and ISO are built;
#   3. in-QEMU runs under TCG (tools/ktest.py): the in-kernel suites booted
#      with -kernel (multiboot1) and from the GRUB ISO (multiboot2), and the
#      runs that must fail cleanly (panic, corrupt boot information);
#   4. benchmark determinism: two icount runs must print identical figures.
# Ends with the line "N passed, M failed" (tools/test_summary.py).
set -u
cd "$(dirname "$0")/.."
export PATH="${TOOLCHAIN:-/opt/swift/usr/bin}:$PATH"

mkdir -p build/logs
rm -f build/ktest-summary.jsonl build/swift-tests*.xml

echo "== swift test (host suites)"
swift test --xunit-output build/swift-tests.xml 2>&1 | tee build/logs/swift-test.log
swift_status=${PIPESTATUS[0]}

echo "== building the kernel image and ISO"
build_ok=1
if ! make --no-print-directory kernel iso user > build/logs/build.log 2>&1; then
    build_ok=0
    tail -40 build/logs/build.log
fi

ktest() { tools/ktest.py --quiet --summary build/ktest-summary.jsonl "$@"; }

if [ "$build_ok" = 1 ]; then
    echo "== in-kernel suites, -kernel (multiboot1)"
    ktest --name kernel-mb1 --kernel build/exo.elf --append "exo.test=all" --expect-exit 33 --timeout 60
    echo "== in-kernel suites, GRUB ISO (multiboot2)"
    ktest --name iso-mb2 --iso build/exo.iso --append "exo.test=all" --expect-exit 33 --timeout 90 \
        --expect-text "boot: multiboot2 from GRUB"
    echo "== GRUB ISO with no command line under the test device: its default entry runs the suites"
    ktest --name iso-default --iso build/exo.iso --expect-exit 33 --timeout 90 \
        --expect-text "command line \"exo.test=all\""
    echo "== in-kernel suites, -smp 2, 1 GiB, -cpu max (SMEP, SMAP)"
    ktest --name kernel-max --kernel build/exo.elf --append "exo.test=all" --expect-exit 33 --timeout 90 \
        --qemu-arg=-smp --qemu-arg=2 --qemu-arg=-m --qemu-arg=1G --qemu-arg=-cpu --qemu-arg=max \
        --expect-text "smp: 2 CPUs online"
    echo "== in-kernel suites, -smp 4"
    ktest --name kernel-smp4 --kernel build/exo.elf --append "exo.test=all" --expect-exit 33 --timeout 300 \
        --qemu-arg=-smp --qemu-arg=4 --expect-text "smp: 4 CPUs online"
    echo "== in-kernel suites, two NUMA nodes (SRAT/SLIT)"
    ktest --name kernel-numa --kernel build/exo.elf --append "exo.test=all" --expect-exit 33 --timeout 300 \
        --qemu-arg=-smp --qemu-arg=4 --qemu-arg=-m --qemu-arg=512M \
        --qemu-arg=-object --qemu-arg=memory-backend-ram,id=m0,size=256M \
        --qemu-arg=-object --qemu-arg=memory-backend-ram,id=m1,size=256M \
        --qemu-arg=-numa --qemu-arg=node,nodeid=0,cpus=0-1,memdev=m0 \
        --qemu-arg=-numa --qemu-arg=node,nodeid=1,cpus=2-3,memdev=m1 \
        --qemu-arg=-numa --qemu-arg=dist,src=0,dst=1,val=20 \
        --expect-text "numa: 2 nodes: cpu0->node0 cpu1->node0 cpu2->node1 cpu3->node1" \
        --expect-text "numa: memory node0 0x0000000000000000-0x0000000010000000 node1 0x0000000010000000-" \
        --expect-text "numa: node0 " --expect-text " frames, node1 "
    echo "== a panic ends the run with status 35 and a report"
    ktest --name panic-report --kernel build/exo.elf --append "exo.debug=panic" --expect-exit 35 --timeout 30 \
        --expect-text "PANIC: deliberate panic" --expect-text "registers:" --expect-text "backtrace:" \
        --expect-text "kmain" --expect-text "exo: halted after a fatal error"
    echo "== corrupt boot information is refused: status 35, readable report"
    ktest --name corrupt-bootinfo-mb1 --kernel build/exo.elf --append "exo.debug=corrupt-bootinfo" \
        --expect-exit 35 --timeout 30 --expect-text "PANIC: boot information refused"
    ktest --name corrupt-bootinfo-mb2 --iso build/exo.iso --append "exo.debug=corrupt-bootinfo" \
        --expect-exit 35 --timeout 90 --expect-text "PANIC: boot information refused"
    echo "== an unhandled kernel fault is reported with its vector, registers and backtrace"
    ktest --name fatal-fault-report --kernel build/exo.elf --append "exo.debug=fault" --expect-exit 35 --timeout 30 \
        --expect-text "EXCEPTION 14 #PF page fault" --expect-text "null pointer dereference" \
        --expect-text "CR2=0x0000000000000008" --expect-text "backtrace:"
    echo "== a kernel stack overflow hits the guard page and is reported as such"
    ktest --name stack-overflow-report --kernel build/exo.elf --append "exo.debug=stack-overflow" \
        --expect-exit 35 --timeout 30 --expect-text "kernel stack overflow: boot stack ran into its guard page"
    echo "== user mode: static musl test programs, busybox and a short fuzz run as /init (user/runall.c)"
    ktest --name user-suite --kernel build/exo.elf --append "init=/init" --expect-exit 33 --timeout 400 \
        --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio --expect-text "exo: init exited with status 0"
    echo "== the same user suite on -smp 2 -cpu max and -smp 4 (cross-CPU TLB shootdowns, signals, pipes)"
    ktest --name user-suite-smp2 --kernel build/exo.elf --append "init=/init" --expect-exit 33 --timeout 400 \
        --qemu-arg=-smp --qemu-arg=2 --qemu-arg=-cpu --qemu-arg=max --qemu-arg=-m --qemu-arg=1G \
        --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio --expect-text "exo: init exited with status 0"
    ktest --name user-suite-smp4 --kernel build/exo.elf --append "init=/init" --expect-exit 33 --timeout 400 \
        --qemu-arg=-smp --qemu-arg=4 --qemu-arg=-m --qemu-arg=512M \
        --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio --expect-text "exo: init exited with status 0"
    echo "== the IPC suite with the system-call fast paths off: fring_call's general path must answer as its fast path does"
    ktest --name user-ipc-general-path --kernel build/exo.elf --append "init=/tests/ipc exo.syscall_fast_path=off" \
        --expect-exit 33 --timeout 300 --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio \
        --expect-text "exo: init exited with status 0"
    echo "== user threads on two CPUs at once (user/threads.c as init, -smp 2)"
    ktest --name user-threads-smp2 --kernel build/exo.elf --append "init=/tests/threads" --expect-exit 33 --timeout 120 \
        --qemu-arg=-smp --qemu-arg=2 --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio \
        --expect-text "smp: 2 CPUs online" --expect-text "exo: init exited with status 0"
    echo "== unmodified busybox: sh -c 'echo hi | cat' as init"
    ktest --name busybox-pipe --kernel build/exo.elf --append "init=/bin/busybox -- sh -c 'echo hi | cat'" \
        --expect-exit 33 --timeout 60 --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio \
        --expect-text "hi" --expect-text "exo: init exited with status 0"
    # pipefail: a stage killed by a signal fails the pipeline even when the
    # last cat still sees EOF and exits 0.
    echo "== 300 busybox pipelines in a row (fork, exec, wait and SIGCHLD racing; once a kernel panic)"
    ktest --name busybox-pipelines --kernel build/exo.elf \
        --append "init=/bin/busybox -- sh -c 'set -o pipefail; n=0; i=0; while [ \$i -lt 300 ]; do echo a | cat | cat > /dev/null || n=\$((n+1)); i=\$((i+1)); done; echo pipelines: \$n failed'" \
        --expect-exit 33 --timeout 120 --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio \
        --expect-text "pipelines: 0 failed"
    # The same on two CPUs: the shell takes SIGCHLD while its children exec
    # and exit on the other CPU, and threads migrate mid-system-call. It
    # caught Scheduler.current naming the wrong thread after a migration (a
    # fresh cat ran the shell's SIGCHLD handler and died of SIGSEGV, about
    # one pipeline in 400).
    echo "== 500 busybox pipelines on -smp 2 (signal delivery and \"current thread\" across CPU migrations)"
    ktest --name busybox-pipelines-smp2 --kernel build/exo.elf \
        --append "init=/bin/busybox -- sh -c 'set -o pipefail; n=0; i=0; while [ \$i -lt 500 ]; do echo a | cat | cat > /dev/null || n=\$((n+1)); i=\$((i+1)); done; echo pipelines: \$n failed'" \
        --expect-exit 33 --timeout 150 --qemu-arg=-smp --qemu-arg=2 --qemu-arg=-cpu --qemu-arg=max \
        --qemu-arg=-m --qemu-arg=1G --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio \
        --expect-text "smp: 2 CPUs online" --expect-text "pipelines: 0 failed"
    echo "== exo.trace=syscalls prints every call, fast-path ones (getpid) included"
    ktest --name syscall-trace --kernel build/exo.elf \
        --append "init=/bin/busybox exo.trace=syscalls -- sh -c 'echo hi | cat'" \
        --expect-exit 33 --timeout 60 --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio \
        --expect-text "[pid 1] getpid() = 1" --expect-text "write(1, " --expect-text "exo: init exited with status 0"
    echo "== a failing init ends QEMU with 35"
    ktest --name init-failure --kernel build/exo.elf --append "init=/bin/busybox -- sh -c 'exit 3'" \
        --expect-exit 35 --timeout 60 --qemu-arg=-initrd --qemu-arg=build/user/tests.cpio \
        --expect-text "exo: init exited with status 3"
    echo "== benchmarks are deterministic under icount"
    tools/bench.py --kernel build/exo.elf --runs 2 --summary build/ktest-summary.jsonl
fi

echo
tools/test_summary.py --xunit build/swift-tests-swift-testing.xml --xunit build/swift-tests.xml \
    --ktest build/ktest-summary.jsonl --swift-exit "$swift_status" --build-ok "$build_ok"
