/*
 * The C library symbols the Swift runtime and compiler-generated code call.
 *
 * Built freestanding with -mgeneral-regs-only: no SSE in the kernel (see
 * notes/toolchain.md). `free` lives here because Swift warns on defining
 * that reserved name; it forwards to the Swift heap.
 */
#include <stddef.h>
#include <stdint.h>

/* Bulk in 8-byte units, then the tail in bytes: an eighth of the
 * iterations of a plain `rep stosb`/`movsb` (which is what a guest
 * instruction count charges for). */
void *memset(void *dest, int value, size_t count) {
    void *d = dest;
    size_t words = count / 8, tail = count % 8;
    uint64_t pattern = (uint8_t)value * 0x0101010101010101ull;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(tail) : "a"(value) : "memory");
    return dest;
}

void *memcpy(void *restrict dest, const void *restrict src, size_t count) {
    void *d = dest;
    size_t words = count / 8, tail = count % 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(words) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(tail) : : "memory");
    return dest;
}

void *memmove(void *dest, const void *src, size_t count) {
    unsigned char *d = dest;
    const unsigned char *s = src;
    if (d == s || count == 0) return dest;
    if (d < s || d >= s + count) return memcpy(dest, src, count);
    /* Overlapping with dest above src: copy backwards. */
    d += count - 1;
    s += count - 1;
    __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(count) : : "memory");
    return dest;
}

int memcmp(const void *a, const void *b, size_t count) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < count; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

void exo_heap_free(void *pointer);   /* mm/EarlyHeap.swift */

void free(void *pointer) {
    exo_heap_free(pointer);
}
