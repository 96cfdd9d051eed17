// The only two system calls ctnet needs that Node does not expose: setns(2) to move the calling
// (main) thread into a network namespace, and flock(2) for the IPAM store's lock file, which must
// interoperate with the reference host-local plugin's flock. Everything else stays in TypeScript.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <sched.h>
#include <sys/file.h>

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setns", Napi::Function::New(env, SetNs));
  exports.Set("flock", Napi::Function::New(env, Flock));
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
