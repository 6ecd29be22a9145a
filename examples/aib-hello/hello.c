/* The sample program of archive-in-a-box's demo: prints one known line. */
#include <stdio.h>

int main(void)
{
    puts("Hello from archive-in-a-box: built in a throwaway container, installed with apt.");
    return 0;
}
