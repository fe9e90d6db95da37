// What every mimicry kernel source includes first: fixed-width types and the qualifiers, the
// same for NVRTC (CUDA, through CuPy), hipRTC (ROCm) and the host compiler (g++ with
// MIMICRY_HOST, the test and debugging target of docs/design.md §10: host_shim.h maps the CUDA
// built-ins to a loop over threads).
#pragma once

#if defined(MIMICRY_HOST)
#include "host_shim.h"
#endif

// NVRTC has no <stdint.h> without extra headers: the kernels use these names only.
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;

#define DEVICE __device__ __forceinline__
