/* hello.c - the smallest user program: one write, exit 0. Other tests exec it
 * and compare its output, so the text is part of the test contract. */
#include <unistd.h>

int main(void)
{
    static const char text[] = "hello from user space\n";
    return write(1, text, sizeof text - 1) == sizeof text - 1 ? 0 : 1;
}
