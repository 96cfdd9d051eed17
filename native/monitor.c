// ctnet-monitor EXIT_FILE COMMAND [ARG...]: what conmon is to Podman, for `ctnet run -d`. It runs
// COMMAND as its child and stays with it, so that when the child ends its exit status is written to
// EXIT_FILE (the code, or 128+signal when killed) for `ctnet ps -a` and `inspect`, long after the
// ctnet command that started it is gone.
//
// Whoever starts it reads one line on fd 3: "pid <child pid>" once COMMAND is exec'd, or
// "error <errno> <message>" when it could not be (a close-on-exec pipe tells the two apart).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_exit_file(const char *path, int code) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  char text[16];
  int n = snprintf(text, sizeof text, "%d\n", code);
  int ok = write(fd, text, n) == n;
  if (close(fd) != 0 || !ok) return -1;
  return rename(tmp, path);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ctnet-monitor EXIT_FILE COMMAND [ARG...]\n");
    return 2;
  }
  const char *exit_file = argv[1];
  FILE *report = fdopen(3, "w");
  if (!report) {
    fprintf(stderr, "ctnet-monitor: fd 3 is not open: %s\n", strerror(errno));
    return 2;
  }
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    fprintf(report, "error %d cannot create a pipe: %s\n", errno, strerror(errno));
    return 1;
  }
  pid_t child = fork();
  if (child < 0) {
    fprintf(report, "error %d cannot fork: %s\n", errno, strerror(errno));
    return 1;
  }
  if (child == 0) {
    fclose(report);
    close(exec_pipe[0]);
    execvp(argv[2], argv + 2);
    int err = errno;
    (void)!write(exec_pipe[1], &err, sizeof err);
    _exit(127);
  }
  close(exec_pipe[1]);
  int err = 0;
  ssize_t got;
  do got = read(exec_pipe[0], &err, sizeof err);
  while (got < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (got == (ssize_t)sizeof err) {
    waitpid(child, NULL, 0);
    fprintf(report, "error %d %s: %s\n", err, argv[2], strerror(err));
    return 1;
  }
  fprintf(report, "pid %d\n", (int)child);
  fclose(report);

  // The command's signals are its own business: the monitor outlives anything aimed at its group.
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return 1;
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (write_exit_file(exit_file, code) != 0) {
    fprintf(stderr, "ctnet-monitor: cannot write %s: %s\n", exit_file, strerror(errno));
    return 1;
  }
  return 0;
}
