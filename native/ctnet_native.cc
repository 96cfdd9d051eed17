// The system calls ctnet needs that Node does not expose: setns(2) to move the calling (main)
// thread into a network namespace, flock(2) for the IPAM store's lock file, which must interoperate
// with the reference host-local plugin's flock, and a netlink request sent from a libuv pool thread.
// The kernel runs a netlink request inside the sender's sendmsg(2): deleting a veth waits there for
// RCU grace periods (~20 ms), which would stall the main thread (link-deletion.cc spares the caller
// even that). And one loop the IPAM store runs on every ADD: reading each reservation file of a
// network (500 containers, 500 files), which costs node ~15 us a file and C ~1.5 on two threads.
// And a plugin's exit without node's teardown (ExitNow), and the plugin server's hand-over: a peer's
// credentials, a request with descriptors attached (SCM_RIGHTS), stdio replaced. Everything else
// stays in TypeScript.
#include <napi.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <csignal>
#include <cstddef>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "link-deletion.h"

namespace {

// A failed system call as a JavaScript error: code (errno name), errno and syscall, like node's own.
Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err) {
  const char* name = strerrorname_np(err);
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(err));
  error.Set("code", Napi::String::New(env, name != nullptr ? name : "EUNKNOWN"));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

Napi::Value ThrowErrno(Napi::Env env, const char* syscall, int err) {
  ErrnoError(env, syscall, err).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool ReadInts(const Napi::CallbackInfo& info, int& a, int& b) {
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(info.Env(), "expected two integer arguments").ThrowAsJavaScriptException();
    return false;
  }
  a = info[0].As<Napi::Number>().Int32Value();
  b = info[1].As<Napi::Number>().Int32Value();
  return true;
}

// The one string argument, or a TypeError naming what was expected.
bool ReadString(const Napi::CallbackInfo& info, const char* expected, std::string& out) {
  if (info.Length() != 1 || !info[0].IsString()) {
    Napi::TypeError::New(info.Env(), expected).ThrowAsJavaScriptException();
    return false;
  }
  out = info[0].As<Napi::String>().Utf8Value();
  return true;
}

// setns(fd, nstype): switches the calling thread. Node calls it on the main thread only.
Napi::Value SetNs(const Napi::CallbackInfo& info) {
  int fd, nstype;
  if (!ReadInts(info, fd, nstype)) return info.Env().Undefined();
  if (setns(fd, nstype) != 0) return ThrowErrno(info.Env(), "setns", errno);
  return info.Env().Undefined();
}

// readFiles(dir): every regular file directly in dir (not symlinks, not subdirectories) as one
// string: name, NUL, content, NUL, name, ... (a NUL inside a content, which no reservation holds,
// reads as a space), so 500 files cross into JavaScript as one value that String.split takes
// apart. A file gone between the listing and its opening is left out. A long listing is read by
// two threads (half each): the open/read/close system calls are the whole cost, and they overlap.
struct FileBatch {
  using Names = std::vector<std::string>::const_iterator;
  FileBatch(Names from, Names to) : begin(from), end(to) {}
  Names begin, end;
  std::string out;
  int failure = 0;
  const char* failed = "";
};

void ReadBatch(int dfd, FileBatch& batch) {
  char buf[4096];
  for (auto name = batch.begin; name != batch.end; ++name) {
    int fd = openat(dfd, name->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      batch.failure = errno, batch.failed = "open";
      return;
    }
    batch.out.append(*name);
    batch.out.push_back('\0');
    size_t at = batch.out.size();
    ssize_t got;
    // A regular file's read returns less than asked only at its end: no second read to see 0.
    while ((got = read(fd, buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR)) {
      if (got < 0) continue;
      batch.out.append(buf, static_cast<size_t>(got));
      if (static_cast<size_t>(got) < sizeof buf) break;
    }
    if (got < 0) batch.failure = errno, batch.failed = "read";
    close(fd);
    if (batch.failure != 0) return;
    std::replace(batch.out.begin() + at, batch.out.end(), '\0', ' ');
    batch.out.push_back('\0');
  }
}

Napi::Value ReadFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ReadString(info, "expected a directory path", path)) return env.Undefined();
  int dfd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ThrowErrno(env, "open", errno);
  DIR* dir = fdopendir(dfd);
  if (dir == nullptr) {
    int err = errno;
    close(dfd);
    return ThrowErrno(env, "fdopendir", err);
  }
  std::vector<std::string> names;
  for (errno = 0; dirent* e = readdir(dir); errno = 0) {
    bool regular = e->d_type == DT_REG;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      regular = fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
    }
    if (regular) names.emplace_back(e->d_name);
  }
  if (errno != 0) {
    int err = errno;
    closedir(dir);
    return ThrowErrno(env, "readdir", err);
  }
  // Below this many files a thread's start (~30 us) costs more than it saves.
  constexpr size_t kParallelFrom = 64;
  auto middle = names.size() >= kParallelFrom ? names.cbegin() + names.size() / 2 : names.cend();
  FileBatch first{names.cbegin(), middle}, second{middle, names.cend()};
  std::thread helper;
  if (second.begin != second.end) helper = std::thread(ReadBatch, dfd, std::ref(second));
  ReadBatch(dfd, first);
  if (helper.joinable()) helper.join();
  closedir(dir);
  for (const FileBatch* b : {&first, &second}) {
    if (b->failure != 0) return ThrowErrno(env, b->failed, b->failure);
  }
  first.out.append(second.out);
  if (!first.out.empty()) first.out.pop_back();  // the last record's NUL: split() then gives pairs
  return Napi::String::New(env, first.out);
}

// flock(fd, op): returns true when the lock was taken (or released), false when LOCK_NB was given
// and the lock is held elsewhere. Blocking waits are the caller's choice; EINTR is retried here.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  int fd, op;
  if (!ReadInts(info, fd, op)) return info.Env().Undefined();
  int rc;
  do {
    rc = flock(fd, op);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  return ThrowErrno(info.Env(), "flock", errno);
}

// netlinkOpen(protocol[, groups]): a netlink socket bound by the kernel, in the calling thread's
// namespace (the caller opens it inside a namespace window), subscribed to the multicast groups of
// the `groups` bitmask; requests on it act on that namespace from any thread. Replies are bounded by
// a receive timeout, so a pool thread can never wait forever.
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  bool groupsGiven = info.Length() == 2 && info[1].IsNumber();
  if (!(info.Length() == 1 || groupsGiven) || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), "expected a protocol number and optionally a bitmask of multicast groups").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, info[0].As<Napi::Number>().Int32Value());
  if (fd < 0) return ThrowErrno(info.Env(), "socket", errno);
  timeval timeout{10, 0};
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (groupsGiven) local.nl_groups = info[1].As<Napi::Number>().Uint32Value();
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 || bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(info.Env(), "bind", err);
  }
  return Napi::Number::New(info.Env(), fd);
}

// Sends a request (one message, or an nfnetlink batch of several in one datagram) and collects the
// replies up to the ACK, error or NLMSG_DONE of message `until` (an error for the first message,
// e.g. a refused batch begin, ends it too) into `reply`. With `keep`, a data message is kept only if
// its bytes contain it: a dump of a long chain (an nf_tables chain of a busy host holds thousands
// of rules) then reaches JavaScript as the few messages it looks for, not as thousands of objects
// to build, scan and collect. With `firstKept`, the replies end with the first batch of them that
// holds a kept message: the kernel then never serializes the rest of the dump (the caller closes
// the socket, which the dump has left unfinished). Returns 0, or the errno of the failed `syscall`.
struct Transaction {
  int fd;
  std::vector<uint8_t> request;
  uint32_t until;
  std::vector<uint8_t> keep;
  bool firstKept;
  std::vector<uint8_t> reply;
  const char* syscall = "";

  int Run() {
    uint32_t first = reinterpret_cast<const nlmsghdr*>(request.data())->nlmsg_seq;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return Failed("sendto");
    std::vector<uint8_t> buffer(65536);
    for (;;) {
      ssize_t got = recv(fd, buffer.data(), buffer.size(), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return Failed("recv");
      int left = static_cast<int>(got);
      bool kept = false;
      for (auto* h = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        auto* begin = reinterpret_cast<const uint8_t*>(h);
        auto* end = begin + std::min<size_t>(NLMSG_ALIGN(h->nlmsg_len), static_cast<size_t>(left));
        bool control = h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE;
        bool data = !control && (keep.empty() || std::search(begin, end, keep.begin(), keep.end()) != end);
        if (control || data) reply.insert(reply.end(), begin, end);
        kept = kept || (data && !keep.empty());
        bool last = h->nlmsg_seq == until && control;
        bool refused = h->nlmsg_seq == first && h->nlmsg_type == NLMSG_ERROR && static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error != 0;
        if (last || refused) return 0;
      }
      if (kept && firstKept) return 0;
    }
  }

 private:
  int Failed(const char* call) {
    syscall = call;
    return errno == EAGAIN ? ETIMEDOUT : errno;  // the socket's receive timeout
  }
};

// The same on a pool thread, settling a promise.
class NetlinkTransaction : public Napi::AsyncWorker {
 public:
  NetlinkTransaction(Napi::Env env, Transaction t) : Napi::AsyncWorker(env), t_(std::move(t)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    errno_ = t_.Run();
    if (errno_ != 0) SetError(t_.syscall);
  }

  void OnOK() override { deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(Env(), t_.reply.data(), t_.reply.size())); }

  void OnError(const Napi::Error&) override { deferred_.Reject(ErrnoError(Env(), t_.syscall, errno_).Value()); }

 private:
  Transaction t_;
  Napi::Promise::Deferred deferred_;
  int errno_ = 0;
};

// The arguments of both netlinkTransact forms: (fd, request, until[, keep[, firstKept]]).
bool ReadTransaction(const Napi::CallbackInfo& info, Transaction& t) {
  size_t n = info.Length();
  bool keepGiven = n >= 4 && info[3].IsBuffer();
  bool shaped = n >= 3 && n <= 5 && (n < 4 || keepGiven || info[3].IsUndefined()) && (n < 5 || info[4].IsBoolean() || info[4].IsUndefined());
  if (!shaped || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber() || info[1].As<Napi::Buffer<uint8_t>>().Length() < sizeof(nlmsghdr)) {
    Napi::TypeError::New(info.Env(), "expected a socket, netlink messages, the sequence number of the last and optionally the bytes a kept reply holds (and whether the first batch holding one is enough)").ThrowAsJavaScriptException();
    return false;
  }
  auto request = info[1].As<Napi::Buffer<uint8_t>>();
  t.fd = info[0].As<Napi::Number>().Int32Value();
  t.request.assign(request.Data(), request.Data() + request.Length());
  t.until = info[2].As<Napi::Number>().Uint32Value();
  if (keepGiven) {
    auto k = info[3].As<Napi::Buffer<uint8_t>>();
    t.keep.assign(k.Data(), k.Data() + k.Length());
  }
  t.firstKept = keepGiven && n == 5 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  return true;
}

// netlinkTransact(fd, request, until[, keep[, firstKept]]): Promise<Buffer>, from a pool thread.
// The fd must stay open until it settles.
Napi::Value NetlinkTransact(const Napi::CallbackInfo& info) {
  Transaction t;
  if (!ReadTransaction(info, t)) return info.Env().Undefined();
  auto* worker = new NetlinkTransaction(info.Env(), std::move(t));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// netlinkTransactNow(...): the same on the calling thread, returning the Buffer (or throwing).
Napi::Value NetlinkTransactNow(const Napi::CallbackInfo& info) {
  Transaction t;
  if (!ReadTransaction(info, t)) return info.Env().Undefined();
  if (int err = t.Run(); err != 0) return ThrowErrno(info.Env(), t.syscall, err);
  return Napi::Buffer<uint8_t>::Copy(info.Env(), t.reply.data(), t.reply.size());
}

// The file status flags of stdin, stdout and stderr when the addon was loaded (-1: not open), for
// ExitNow to undo what node's streams changed, as node's own exit does (ResetStdio in node.cc): a
// pipe behind process.stderr is made non-blocking, and its description is shared with the parent.
int stdioFlags[3] = {-1, -1, -1};

// exitNow(code): _exit(2) once the stdio flags are back. A plugin's output is written by then; what
// process.exit would add is node's teardown (joining the V8 and libuv threads, freeing the heap, C++
// destructors): ~1.5 ms of each plugin run here, for a process whose memory the kernel frees anyway.
Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  for (int fd = 0; fd < 3; fd++) {
    if (stdioFlags[fd] < 0) continue;
    int now = fcntl(fd, F_GETFL);
    if (now >= 0 && ((now ^ stdioFlags[fd]) & O_NONBLOCK) != 0) fcntl(fd, F_SETFL, (now & ~O_NONBLOCK) | (stdioFlags[fd] & O_NONBLOCK));
  }
  _exit(code);
}

// The plugin server's side of a hand-over (plugin-server/, native/cni-shim.c).
// peerCredentials(fd): the pid, uid and gid of the process at the other end of a unix socket.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "expected a socket descriptor").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(info[0].As<Napi::Number>().Int32Value(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return ThrowErrno(env, "getsockopt", errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  return out;
}

// receiveRequest(fd, timeoutMs): a shim's request from a unix socket: "CTN1", a u32
// length, that many payload bytes, with the descriptors the first bytes carried (close-on-exec).
// Returns { payload, fds }; throws ETIMEDOUT when the whole request has not come within timeoutMs,
// EPROTO on anything that is not a request, ECONNRESET when the peer closed first.
Napi::Value ReceiveRequest(const Napi::CallbackInfo& info) {
  int fd, timeoutMs;
  if (!ReadInts(info, fd, timeoutMs)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  std::vector<char> data;
  std::vector<int> fds;
  auto fail = [&](const char* syscall, int err) {
    for (int f : fds) close(f);
    return ThrowErrno(env, syscall, err);
  };
  timeval start{}, now{};
  gettimeofday(&start, nullptr);
  size_t want = 8;
  char buf[65536];
  while (data.size() < want) {
    gettimeofday(&now, nullptr);
    long left = timeoutMs - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_usec - start.tv_usec) / 1000);
    if (left <= 0) return fail("recvmsg", ETIMEDOUT);
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return fail("poll", errno);
    if (rc == 0) continue;
    union {
      char buf[CMSG_SPACE(sizeof(int) * 8)];
      cmsghdr align;
    } control{};
    iovec iov{buf, std::min(sizeof buf, want - data.size())};
    msghdr msg{};
    msg.msg_iov = &iov, msg.msg_iovlen = 1, msg.msg_control = control.buf, msg.msg_controllen = sizeof control.buf;
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return fail("recvmsg", errno);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int passed;
        std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
        fds.push_back(passed);
      }
    }
    if (n == 0) return fail("recvmsg", ECONNRESET);
    data.insert(data.end(), buf, buf + n);
    if (want == 8 && data.size() == 8) {
      if (std::memcmp(data.data(), "CTN1", 4) != 0) return fail("recvmsg", EPROTO);
      uint32_t len;
      std::memcpy(&len, data.data() + 4, sizeof len);
      if (len > (16u << 20)) return fail("recvmsg", EPROTO);
      want += len;
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("payload", Napi::Buffer<char>::Copy(env, data.data() + 8, data.size() - 8));
  Napi::Array list = Napi::Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) list.Set(static_cast<uint32_t>(i), Napi::Number::New(env, fds[i]));
  out.Set("fds", list);
  return out;
}

// listenAbstract(name): a listening unix stream socket bound to the abstract name (exactly its
// bytes, in the calling thread's network namespace), close-on-exec; its descriptor.
Napi::Value ListenAbstract(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!ReadString(info, "expected a name", name)) return env.Undefined();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.empty() || name.size() + 1 > sizeof addr.sun_path) return ThrowErrno(env, "bind", ENAMETOOLONG);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(env, "socket", errno);
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, 128) != 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(env, "bind", err);
  }
  return Napi::Number::New(env, fd);
}

// acceptConnection(listenFd, parentPid): blocks the calling thread until a connection comes, and
// returns its descriptor (blocking, close-on-exec). While it waits, the process dies with its
// parent (PR_SET_PDEATHSIG), so idle workers never outlive their server; once it has a connection,
// it no longer does.
Napi::Value AcceptConnection(const Napi::CallbackInfo& info) {
  int listenFd, parentPid;
  if (!ReadInts(info, listenFd, parentPid)) return info.Env().Undefined();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return ThrowErrno(info.Env(), "prctl", errno);
  if (getppid() != parentPid) _exit(0);  // the parent died before prctl: no signal will come
  int fd;
  while ((fd = accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC)) < 0 && (errno == EINTR || errno == ECONNABORTED)) {
  }
  int err = errno;
  prctl(PR_SET_PDEATHSIG, 0);
  if (fd < 0) return ThrowErrno(info.Env(), "accept4", err);
  return Napi::Number::New(info.Env(), fd);
}

// adoptStdio(stdin, stdout, stderr): makes the three descriptors this process's 0, 1 and 2 (dup2,
// then closes them), and records their flags as exitNow's to restore.
Napi::Value AdoptStdio(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "expected three descriptors").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int from[3];
  for (int i = 0; i < 3; i++) from[i] = info[i].As<Napi::Number>().Int32Value();
  for (int i = 0; i < 3; i++) {
    if (from[i] != i && dup2(from[i], i) < 0) return ThrowErrno(env, "dup2", errno);
  }
  for (int i = 0; i < 3; i++) {
    if (from[i] > 2 && std::count(from, from + i, from[i]) == 0) close(from[i]);
    stdioFlags[i] = fcntl(i, F_GETFL);
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (int fd = 0; fd < 3; fd++) stdioFlags[fd] = fcntl(fd, F_GETFL);
  exports.Set("setns", Napi::Function::New(env, SetNs));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("readFiles", Napi::Function::New(env, ReadFiles));
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen));
  exports.Set("netlinkTransact", Napi::Function::New(env, NetlinkTransact));
  exports.Set("netlinkTransactNow", Napi::Function::New(env, NetlinkTransactNow));
  exports.Set("netlinkDeleteLink", Napi::Function::New(env, NetlinkDeleteLink));
  exports.Set("exitNow", Napi::Function::New(env, ExitNow));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
  exports.Set("receiveRequest", Napi::Function::New(env, ReceiveRequest));
  exports.Set("adoptStdio", Napi::Function::New(env, AdoptStdio));
  exports.Set("listenAbstract", Napi::Function::New(env, ListenAbstract));
  exports.Set("acceptConnection", Napi::Function::New(env, AcceptConnection));
  Napi::Object constants = Napi::Object::New(env);
  constants.Set("CLONE_NEWNET", Napi::Number::New(env, CLONE_NEWNET));
  constants.Set("CLONE_NEWNS", Napi::Number::New(env, CLONE_NEWNS));
  constants.Set("LOCK_SH", Napi::Number::New(env, LOCK_SH));
  constants.Set("LOCK_EX", Napi::Number::New(env, LOCK_EX));
  constants.Set("LOCK_UN", Napi::Number::New(env, LOCK_UN));
  constants.Set("LOCK_NB", Napi::Number::New(env, LOCK_NB));
  exports.Set("constants", constants);
  return exports;
}

}  // namespace

NODE_API_MODULE(ctnet_native, Init)
