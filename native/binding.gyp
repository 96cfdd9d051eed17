{
  "targets": [
    {
      "target_name": "ctnet_native",
      "sources": ["ctnet_native.cc", "link-deletion.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "ctnet-monitor",
      "type": "executable",
      "sources": ["monitor.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
