{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
    "include_dirs": ["native/include", "native/src", "<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_ADDON_API_CPP_EXCEPTIONS", "NDEBUG"]
  },
  "targets": [
    {
      "target_name": "frugal_avx2",
      "type": "static_library",
      "sources": ["<!@(node scripts/gyp-sources.js avx2)"],
      "cflags": ["-fPIC", "-mavx2", "-mfma", "-mf16c"]
    },
    {
      "target_name": "frugal_avx512",
      "type": "static_library",
      "sources": ["<!@(node scripts/gyp-sources.js avx512)"],
      "cflags": ["-fPIC", "-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma", "-mf16c"]
    },
    {
      "target_name": "frugal",
      "sources": ["<!@(node scripts/gyp-sources.js core)"],
      "dependencies": ["frugal_avx2", "frugal_avx512"],
      "libraries": ["-lpthread"]
    }
  ]
}
