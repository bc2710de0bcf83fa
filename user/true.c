/* true.c - exits 0 at once: the execve benchmark's target, so the figure is
 * the cost of exec itself plus musl's minimal start-up. */
int main(void)
{
    return 0;
}
