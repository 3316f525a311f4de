#ifndef SKIFF_SIGRELAY_H
#define SKIFF_SIGRELAY_H
/* relay_install makes fd (a non-blocking pipe) receive one byte, the
 * signal number, for each delivery of sig. Returns 0 or an errno. */
int relay_install(int fd, int sig);
#endif
