// The HIP built-ins the gpu kernels use, as hipRTC provides them, for clang's HIP front end
// without a ROCm install (clang -x hip -nogpuinc): the test that the kernel source compiles for
// AMD GPUs (tests/test_gpu_backend.py). Coordinates are AMDGPU work-item builtins; the
// atomics, GCC-style builtins that clang lowers to AMDGPU atomics.
#define __device__ __attribute__((device))
#define __host__ __attribute__((host))
#define __global__ __attribute__((global))
#define __forceinline__ inline __attribute__((always_inline))

#define MIMICRY_HIP_COORDINATE(name, value)                                                     \
    struct name##_type {                                                                        \
        __declspec(property(get = get_x)) unsigned int x;                                       \
        __device__ static unsigned int get_x() { return value; }                                \
    };                                                                                          \
    extern const __device__ name##_type name;
MIMICRY_HIP_COORDINATE(threadIdx, __builtin_amdgcn_workitem_id_x())
MIMICRY_HIP_COORDINATE(blockIdx, __builtin_amdgcn_workgroup_id_x())
MIMICRY_HIP_COORDINATE(blockDim, __builtin_amdgcn_workgroup_size_x())
MIMICRY_HIP_COORDINATE(gridDim, __builtin_amdgcn_grid_size_x() / __builtin_amdgcn_workgroup_size_x())

__device__ inline unsigned int atomicAdd(unsigned int *address, unsigned int value)
{
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}

__device__ inline unsigned int atomicOr(unsigned int *address, unsigned int value)
{
    return __atomic_fetch_or(address, value, __ATOMIC_RELAXED);
}

__device__ inline double floor(double x) { return __builtin_floor(x); }
