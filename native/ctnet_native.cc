// The system calls ctnet needs that Node does not expose: setns(2) to move the calling (main)
// thread into a network namespace, flock(2) for the IPAM store's lock file, which must interoperate
// with the reference host-local plugin's flock, and a netlink request sent from a libuv pool thread.
// The kernel runs a netlink request inside the sender's sendmsg(2): deleting a veth waits there for
// RCU grace periods (~20 ms), which would stall the main thread (link-deletion.cc spares the caller
// even that). And one loop the IPAM store runs on every ADD: reading each reservation file of a
// network (500 containers, 500 files), which costs node ~15 us a file and C ~1.5 on two threads.
// Everything else stays in TypeScript.
#include <napi.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "link-deletion.h"

namespace {

Napi::Value ThrowErrno(Napi::Env env, const char* syscall, int err) {
  const char* name = strerrorname_np(err);
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + std::strerror(err));
  error.Set("code", Napi::String::New(env, name != nullptr ? name : "EUNKNOWN"));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
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
  if (info.Length() != 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "expected a directory path").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
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
// e.g. a refused batch begin, ends it too), all on a pool thread; resolves with the reply bytes.
// With `keep`, a data message is kept only if its bytes contain it: a dump of a long chain (an
// nf_tables chain of a busy host holds thousands of rules) then reaches JavaScript as the few
// messages it looks for, not as thousands of objects to build, scan and collect. With `firstKept`,
// the replies end with the first batch of them that holds a kept message: the kernel then never
// serializes the rest of the dump (the caller closes the socket, which the dump has left unfinished).
class NetlinkTransaction : public Napi::AsyncWorker {
 public:
  NetlinkTransaction(Napi::Env env, int fd, const uint8_t* data, size_t size, uint32_t until, std::vector<uint8_t> keep, bool firstKept)
      : Napi::AsyncWorker(env), fd_(fd), request_(data, data + size), until_(until), keep_(std::move(keep)), firstKept_(firstKept), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    uint32_t first = reinterpret_cast<const nlmsghdr*>(request_.data())->nlmsg_seq;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, request_.data(), request_.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return Fail("sendto");
    std::vector<uint8_t> buffer(65536);
    for (;;) {
      ssize_t got = recv(fd_, buffer.data(), buffer.size(), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return Fail("recv");
      int left = static_cast<int>(got);
      bool kept = false;
      for (auto* h = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        auto* begin = reinterpret_cast<const uint8_t*>(h);
        auto* end = begin + std::min<size_t>(NLMSG_ALIGN(h->nlmsg_len), static_cast<size_t>(left));
        bool control = h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE;
        bool data = !control && (keep_.empty() || std::search(begin, end, keep_.begin(), keep_.end()) != end);
        if (control || data) reply_.insert(reply_.end(), begin, end);
        kept = kept || (data && !keep_.empty());
        bool last = h->nlmsg_seq == until_ && control;
        bool refused = h->nlmsg_seq == first && h->nlmsg_type == NLMSG_ERROR && static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error != 0;
        if (last || refused) return;
      }
      if (kept && firstKept_) return;
    }
  }

  void OnOK() override { deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(Env(), reply_.data(), reply_.size())); }

  void OnError(const Napi::Error&) override {
    const char* name = strerrorname_np(errno_);
    Napi::Error error = Napi::Error::New(Env(), std::string(syscall_) + ": " + std::strerror(errno_));
    error.Set("code", Napi::String::New(Env(), name != nullptr ? name : "EUNKNOWN"));
    error.Set("errno", Napi::Number::New(Env(), errno_));
    error.Set("syscall", Napi::String::New(Env(), syscall_));
    deferred_.Reject(error.Value());
  }

 private:
  void Fail(const char* syscall) {
    errno_ = errno == EAGAIN ? ETIMEDOUT : errno;
    syscall_ = syscall;
    SetError(syscall);
  }

  int fd_;
  std::vector<uint8_t> request_;
  std::vector<uint8_t> reply_;
  uint32_t until_;
  std::vector<uint8_t> keep_;
  bool firstKept_;
  Napi::Promise::Deferred deferred_;
  int errno_ = 0;
  const char* syscall_ = "";
};

// netlinkTransact(fd, request, until[, keep[, firstKept]]): Promise<Buffer>. The fd must stay open
// until it settles.
Napi::Value NetlinkTransact(const Napi::CallbackInfo& info) {
  size_t n = info.Length();
  bool keepGiven = n >= 4 && info[3].IsBuffer();
  bool shaped = n >= 3 && n <= 5 && (n < 4 || keepGiven || info[3].IsUndefined()) && (n < 5 || info[4].IsBoolean() || info[4].IsUndefined());
  bool firstKept = shaped && keepGiven && n == 5 && info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  if (!shaped || !info[0].IsNumber() || !info[1].IsBuffer() || !info[2].IsNumber() || info[1].As<Napi::Buffer<uint8_t>>().Length() < sizeof(nlmsghdr)) {
    Napi::TypeError::New(info.Env(), "expected a socket, netlink messages, the sequence number of the last and optionally the bytes a kept reply holds (and whether the first batch holding one is enough)").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  auto request = info[1].As<Napi::Buffer<uint8_t>>();
  std::vector<uint8_t> keep;
  if (keepGiven) {
    auto k = info[3].As<Napi::Buffer<uint8_t>>();
    keep.assign(k.Data(), k.Data() + k.Length());
  }
  auto* worker = new NetlinkTransaction(info.Env(), info[0].As<Napi::Number>().Int32Value(), request.Data(), request.Length(), info[2].As<Napi::Number>().Uint32Value(), std::move(keep), firstKept);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setns", Napi::Function::New(env, SetNs));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("readFiles", Napi::Function::New(env, ReadFiles));
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen));
  exports.Set("netlinkTransact", Napi::Function::New(env, NetlinkTransact));
  exports.Set("netlinkDeleteLink", Napi::Function::New(env, NetlinkDeleteLink));
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
