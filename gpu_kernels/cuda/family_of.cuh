// FamilyOf<FAMILY_name>: each family's device functions behind one static interface (seed, next,
// set_state, state_words), so the sieve kernel is one template instantiated per family. Families
// without state search get a set_state that the host never reaches (it refuses state mode for
// them before a launch, as gpu_kernels.job does).
#pragma once
#include "families.cuh"

enum FamilyIndex {
#define MIMICRY_FAMILY_ENUM(name, words, has_set_state) FAMILY_##name,
    MIMICRY_FAMILIES(MIMICRY_FAMILY_ENUM)
#undef MIMICRY_FAMILY_ENUM
    FAMILY_COUNT
};

template <int FAMILY>
struct FamilyOf;

#define MIMICRY_SET_STATE_0(name)                                                               \
    DEVICE static void set_state(u64, u64 *) {}
#define MIMICRY_SET_STATE_1(name)                                                               \
    DEVICE static void set_state(u64 value, u64 *state) { name##_set_state(value, state); }

#define MIMICRY_FAMILY_OF(name, words, has_set_state)                                           \
    template <>                                                                                 \
    struct FamilyOf<FAMILY_##name> {                                                            \
        static const int state_words = words;                                                   \
        DEVICE static void seed(u64 seed, u64 *state) { name##_seed(seed, state); }             \
        DEVICE static u64 next(u64 *state) { return name##_next(state); }                       \
        MIMICRY_SET_STATE_##has_set_state(name)                                                 \
    };
MIMICRY_FAMILIES(MIMICRY_FAMILY_OF)
#undef MIMICRY_FAMILY_OF
