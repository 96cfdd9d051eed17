// netlinkDeleteLink(fd, listener, request, index): Promise<number>, link-deletion.cc.
#pragma once
#include <napi.h>

Napi::Value NetlinkDeleteLink(const Napi::CallbackInfo& info);
