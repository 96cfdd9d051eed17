// Deleting a link without holding the caller for the kernel's RCU wait.
//
// The kernel handles RTM_DELLINK inside the sender's sendmsg(2). It unregisters the link within a
// millisecond: the link leaves its namespace (a veth's peer leaves its own), the names are free, the
// addresses, routes and bridge port are gone, RTM_DELLINK is notified and the RTNL lock released.
// Then, still before it answers, it waits in netdev_run_todo() for rcu_barrier() and the device's
// last references: 13-40 ms here (bench/README.md). Nothing anyone can see changes during that wait,
// yet a process cannot exit while one of its threads is inside it (exit_group(2) waits for every
// thread), so a plugin's DEL would pay all of it.
//
// So the request is sent by a clone made for it: CLONE_VM (it runs one function, on a stack of its
// own, in the caller's memory) but a thread group and a descriptor table of its own, of which it
// keeps the request's socket only, so that no pipe of the caller's stays open behind it (runtimes
// read a plugin's stdout to EOF). The caller is answered once a listener in the link's namespace has
// seen the link's RTM_DELLINK and a request that takes the RTNL lock has been answered after it (the
// unregistration is then over), or with the clone's answer when that comes first (an error, say). A
// plugin can exit at once; the clone exits when the kernel answers it, reaped by a detached thread,
// or by init once the plugin is gone. Where clone(2) refuses (CLONE_PIDFD is Linux 5.2), the request
// is sent and awaited from the pool thread, as any other.
#include "link-deletion.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace {

constexpr int kTimeoutMs = 10000;

// All the clone touches: its stack follows it in the same mapping.
struct Deletion {
  int fd;
  int answer;  // the kernel's: 0 or -errno, written before the clone exits; kNoAnswer until then
  uint32_t seq;
  uint32_t length;
  uint8_t request[512];
  uint8_t reply[4096];
};
constexpr size_t kMappingSize = 64 * 1024;
// A clone that exits without an answer was killed before the kernel had one for it.
constexpr int kNoAnswer = 1;

// The clone shares the calling thread's TLS, where errno lives, and must not write it: its system
// calls go without libc, and without a stack protector (whose canary is read from the TLS too).
#define CLONE_SAFE __attribute__((no_stack_protector, noinline))

#if defined(__x86_64__)
CLONE_SAFE long RawSyscall(long n, long a, long b, long c, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
  return ret;
}
#define CTNET_CLONE_DELETION 1
#elif defined(__aarch64__)
CLONE_SAFE long RawSyscall(long n, long a, long b, long c, long d = 0, long e = 0, long f = 0) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
  return x0;
}
#define CTNET_CLONE_DELETION 1
#else
// Elsewhere the pool thread sends the request itself (libc's calls are fine there).
long RawSyscall(long n, long a, long b, long c, long d = 0, long e = 0, long f = 0) {
  long ret = syscall(n, a, b, c, d, e, f);
  return ret < 0 ? -errno : ret;
}
#endif

/** Sends the request and returns the kernel's answer to it: 0 or -errno. */
CLONE_SAFE int SendAndAwaitAnswer(Deletion* d) {
  long sent = RawSyscall(SYS_sendto, d->fd, reinterpret_cast<long>(d->request), d->length, 0, 0, 0);
  if (sent < 0) return static_cast<int>(sent);
  for (;;) {
    long got = RawSyscall(SYS_recvfrom, d->fd, reinterpret_cast<long>(d->reply), sizeof d->reply, 0, 0, 0);
    if (got == -EINTR) continue;
    // The socket's receive timeout (ctnet_native.cc's netlinkOpen) ends a lost answer's wait.
    if (got < 0) return got == -EAGAIN ? -ETIMEDOUT : static_cast<int>(got);
    int left = static_cast<int>(got);
    for (auto* h = reinterpret_cast<nlmsghdr*>(d->reply); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == d->seq) return static_cast<nlmsgerr*>(NLMSG_DATA(h))->error;
    }
  }
}

#ifdef CTNET_CLONE_DELETION
CLONE_SAFE int DeleteInClone(void* arg) {
  auto* d = static_cast<Deletion*>(arg);
  // Every descriptor but the socket: from Linux 5.9; before, the caller's pipes stay open until the
  // clone exits, which is later but no less correct.
  if (d->fd > 0) RawSyscall(SYS_close_range, 0, d->fd - 1, 0);
  RawSyscall(SYS_close_range, d->fd + 1, ~0U, 0);
  __atomic_store_n(&d->answer, SendAndAwaitAnswer(d), __ATOMIC_RELEASE);
  return 0;
}
#endif

struct Reaping {
  pid_t pid;
  int pidfd;
  Deletion* deletion;
};

void* Reap(void* arg) {
  auto* r = static_cast<Reaping*>(arg);
  // __WALL: the clone signals no one when it exits.
  while (waitpid(r->pid, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  close(r->pidfd);
  munmap(r->deletion, kMappingSize);
  delete r;
  return nullptr;
}

/** Reaps the clone from a detached thread: it keeps neither the event loop nor the process alive. */
void ReapLater(pid_t pid, int pidfd, Deletion* d) {
  auto* r = new Reaping{pid, pidfd, d};
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  if (pthread_create(&thread, &attr, Reap, r) != 0) Reap(r);
  pthread_attr_destroy(&attr);
}

int64_t NowMs() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

class LinkDeletion : public Napi::AsyncWorker {
 public:
  LinkDeletion(Napi::Env env, int fd, int listener, const uint8_t* request, size_t size, int index)
      : Napi::AsyncWorker(env), fd_(fd), listener_(listener), request_(request, request + size), index_(index), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    void* mapping = mmap(nullptr, kMappingSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) {
      answer_ = -errno;
      close(fd_);
      close(listener_);
      return;
    }
    auto* d = static_cast<Deletion*>(mapping);
    d->fd = fd_;
    d->answer = kNoAnswer;
    d->seq = reinterpret_cast<const nlmsghdr*>(request_.data())->nlmsg_seq;
    d->length = static_cast<uint32_t>(request_.size());
    std::memcpy(d->request, request_.data(), request_.size());
    int pidfd = -1;
    pid_t pid = -1;
#ifdef CTNET_CLONE_DELETION
    // The clone starts with every signal blocked: the caller's handlers are not its to run.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid = clone(DeleteInClone, static_cast<uint8_t*>(mapping) + kMappingSize, CLONE_VM | CLONE_PIDFD, d, &pidfd);
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
#endif
    if (pid < 0) {
      answer_ = SendAndAwaitAnswer(d);
      close(fd_);
      close(listener_);
      munmap(mapping, kMappingSize);
      return;
    }
    close(fd_);  // the clone's copy is the one in use
    answer_ = AwaitUnregistration(pidfd, d);
    close(listener_);
    ReapLater(pid, pidfd, d);
  }

  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), answer_)); }

 private:
  /** 0 once the link is unregistered, or the clone's answer if it comes first; -ETIMEDOUT after 10 s. */
  int AwaitUnregistration(int pidfd, Deletion* d) {
    pollfd watched[2] = {{listener_, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int64_t deadline = NowMs() + kTimeoutMs;
    for (;;) {
      int64_t left = deadline - NowMs();
      if (left <= 0) return -ETIMEDOUT;
      int ready = poll(watched, 2, static_cast<int>(left));
      if (ready < 0 && errno != EINTR) return -errno;
      if (ready <= 0) continue;
      if (watched[1].revents != 0) {
        int answer = __atomic_load_n(&d->answer, __ATOMIC_ACQUIRE);
        return answer == kNoAnswer ? -ECANCELED : answer;
      }
      if (watched[0].revents == 0) continue;
      ssize_t got = recv(listener_, buffer_, sizeof buffer_, MSG_DONTWAIT);
      // Notifications lost to an overrun: the clone's answer decides.
      if (got < 0 && errno == ENOBUFS) watched[0].fd = -1;
      if (got > 0 && Unregistered(static_cast<int>(got))) {
        AwaitLockReleased();
        return 0;
      }
    }
  }

  /** Whether the listener's messages hold the link's RTM_DELLINK (its own, not a bridge port's). */
  bool Unregistered(int left) const {
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buffer_); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type != RTM_DELLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) continue;
      auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
      if (info->ifi_family == AF_UNSPEC && info->ifi_index == index_) return true;
    }
    return false;
  }

  // The notification goes out halfway through the unregistration (a veth's peer follows it), under
  // the RTNL lock. A request that takes that lock (a no-op RTM_SETLINK of the gone link, which the
  // kernel refuses with ENODEV) is answered only once the deletion has let go of it: all is done.
  void AwaitLockReleased() {
    struct {
      nlmsghdr header;
      ifinfomsg info;
    } request{};
    request.header.nlmsg_len = sizeof request;
    request.header.nlmsg_type = RTM_SETLINK;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    request.header.nlmsg_seq = 1;
    request.info.ifi_index = index_;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(listener_, &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return;
    for (;;) {
      ssize_t got = recv(listener_, buffer_, sizeof buffer_, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno != ENOBUFS) return;
      int left = static_cast<int>(got);
      for (auto* h = reinterpret_cast<const nlmsghdr*>(buffer_); got > 0 && NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_seq == request.header.nlmsg_seq) return;
      }
    }
  }

  int fd_;
  int listener_;
  std::vector<uint8_t> request_;
  int index_;
  Napi::Promise::Deferred deferred_;
  int answer_ = 0;
  alignas(nlmsghdr) uint8_t buffer_[8192];
};

}  // namespace

Napi::Value NetlinkDeleteLink(const Napi::CallbackInfo& info) {
  if (info.Length() != 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsBuffer() || !info[3].IsNumber()) {
    Napi::TypeError::New(info.Env(), "expected the request's socket, a listener socket, the RTM_DELLINK request and the link's index").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  auto request = info[2].As<Napi::Buffer<uint8_t>>();
  if (request.Length() < sizeof(nlmsghdr) || request.Length() > sizeof(Deletion::request)) {
    Napi::RangeError::New(info.Env(), "the request must be one netlink message of at most 512 bytes").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  auto* worker = new LinkDeletion(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), request.Data(), request.Length(), info[3].As<Napi::Number>().Int32Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}
