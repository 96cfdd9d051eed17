// The executable of one ctnet CNI plugin (bin/cni/<type>), compiled per build by scripts/build.mjs
// with the paths of node, start.cjs and the plugin's bundle. It gives the run to a warm node
// process when a ctnet plugin server listens in this network namespace (plugin-server/), else it
// becomes `node start.cjs <bundle>` itself, as the plain launcher did.
//
// Why: a node start is ~30-60 ms a process where a Go plugin runs whole in a few, and a chain of
// plugins pays it once per plugin. A server's worker has made that start ahead of time. It takes
// the run as this process would have run it: this process's stdin, stdout and stderr (passed as
// descriptors), arguments, environment, working directory and umask, and the exit status comes
// back here, so a runtime sees one plugin process either way.
//
// The hand-over, on the server's abstract socket (scoped to the network namespace, so a server
// only ever hears from processes of its own "host" namespace):
//   worker -> 'H' (hello: a worker has taken the connection, which a waiting worker does at once;
//             after 50 ms ($CTNET_PLUGIN_SERVER_WAIT_MS) without one, none is free, and this runs
//             node itself: waiting for a worker to start would be no quicker)
//   shim   -> "CTN1", payload length (u32), payload (NUL-separated: node, start.cjs, bundle, cwd,
//             umask, argc, the arguments, then the environment), descriptors 0, 1 and 2 attached
//   worker -> 'A' (it runs the plugin now) or 'D' (declined: another user or namespace, ...)
//   worker -> the exit status (i32), once the plugin has ended
// Anything but 'A', or the connection closing before it, means that nothing ran: this process then
// runs node itself. After 'A' it only waits, like a parent for its child; if this process is
// killed, the worker sees the connection close and ends too.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#if !defined(CTNET_NODE) || !defined(CTNET_START) || !defined(CTNET_BUNDLE)
#error "build with -DCTNET_NODE=... -DCTNET_START=... -DCTNET_BUNDLE=... (scripts/build.mjs)"
#endif

static const char kSocketName[] = "ctnet-plugin-server";
static const int kDefaultHelloMs = 50;

extern char** environ;

static void run_node(int argc, char** argv) {
  // A plugin never speaks TLS: without the CA bundle to parse, node starts ~40 ms sooner.
  unsetenv("NODE_EXTRA_CA_CERTS");
  char** args = calloc((size_t)argc + 3, sizeof *args);
  if (args != NULL) {
    args[0] = CTNET_NODE;
    args[1] = CTNET_START;
    args[2] = CTNET_BUNDLE;
    for (int i = 1; i < argc; i++) args[i + 2] = argv[i];
    execv(CTNET_NODE, args);
  }
  int err = errno;
  printf("{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"cannot run %s: %s\"}\n", CTNET_NODE, strerror(err));
  exit(1);
}

// One byte, waiting at most timeout_ms (-1: no limit); -1 on EOF, error or timeout.
static int read_byte(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int rc;
  while ((rc = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  if (rc <= 0) return -1;
  unsigned char c;
  ssize_t n;
  while ((n = read(fd, &c, 1)) < 0 && errno == EINTR) {
  }
  return n == 1 ? c : -1;
}

static int read_full(int fd, void* buf, size_t len) {
  for (size_t off = 0; off < len;) {
    ssize_t n = read(fd, (char*)buf + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    off += (size_t)n;
  }
  return 0;
}

struct buffer {
  char* data;
  size_t len, cap;
};

static int append(struct buffer* b, const void* bytes, size_t len) {
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len) cap *= 2;
    char* data = realloc(b->data, cap);
    if (data == NULL) return -1;
    b->data = data, b->cap = cap;
  }
  memcpy(b->data + b->len, bytes, len);
  b->len += len;
  return 0;
}

static int append_string(struct buffer* b, const char* s) { return append(b, s, strlen(s) + 1); }

static int append_number(struct buffer* b, long n, const char* format) {
  char text[32];
  snprintf(text, sizeof text, format, n);
  return append_string(b, text);
}

static int request(struct buffer* b, int argc, char** argv) {
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) == NULL) return -1;
  mode_t mask = umask(0);
  umask(mask);
  uint32_t len = 0;
  if (append(b, "CTN1", 4) || append(b, &len, sizeof len) || append_string(b, CTNET_NODE) || append_string(b, CTNET_START) ||
      append_string(b, CTNET_BUNDLE) || append_string(b, cwd) ||
      append_number(b, (long)mask, "%lo") || append_number(b, argc - 1, "%ld"))
    return -1;
  for (int i = 1; i < argc; i++)
    if (append_string(b, argv[i])) return -1;
  for (char** e = environ; *e != NULL; e++)
    if (append_string(b, *e)) return -1;
  len = (uint32_t)(b->len - 8);
  memcpy(b->data + 4, &len, sizeof len);
  return 0;
}

// The request with stdin, stdout and stderr attached to its first byte; 0 once all of it is sent.
static int send_request(int fd, const struct buffer* b) {
  int fds[3] = {0, 1, 2};
  for (int i = 0; i < 3; i++)
    if (fcntl(fds[i], F_GETFD) < 0) return -1;
  union {
    char buf[CMSG_SPACE(sizeof fds)];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = b->data, .iov_len = b->len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  size_t off = 0;
  while (off < b->len) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    off += (size_t)n;
    iov.iov_base = b->data + off, iov.iov_len = b->len - off;
    msg.msg_control = NULL, msg.msg_controllen = 0;
  }
  return 0;
}

// The plugin's exit status when a worker ran it; -1 when nothing ran (no server, declined, ...).
static int run_on_server(int argc, char** argv) {
  const char* setting = getenv("CTNET_PLUGIN_SERVER");
  if (setting != NULL && strcmp(setting, "off") == 0) return -1;
  const char* wait = getenv("CTNET_PLUGIN_SERVER_WAIT_MS");
  int hello_ms = wait != NULL && *wait != '\0' ? atoi(wait) : kDefaultHelloMs;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path + 1, kSocketName, sizeof kSocketName - 1);
  socklen_t addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof kSocketName);
  int connected = connect(fd, (struct sockaddr*)&addr, addrlen) == 0;
  struct buffer b = {0};
  int status = -1;
  if (connected && read_byte(fd, hello_ms) == 'H' && request(&b, argc, argv) == 0 &&
      send_request(fd, &b) == 0 && read_byte(fd, -1) == 'A') {
    int32_t code;
    if (read_full(fd, &code, sizeof code) == 0) {
      status = code;
    } else {
      printf("{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"the ctnet plugin server's worker ended without an exit status (killed?)\"}\n");
      status = 1;
    }
  }
  free(b.data);
  close(fd);
  return status;
}

int main(int argc, char** argv) {
  int status = run_on_server(argc, argv);
  if (status >= 0) return status;
  run_node(argc, argv);
}
