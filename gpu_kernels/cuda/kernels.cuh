// Every kernel of the gpu backend: what CuPy compiles (with the includes expanded) and what the
// host target's launcher includes.
#pragma once
#include "first_word_prefilter.cuh"
#include "mt_seed_prefilter.cuh"
#include "sieve.cuh"
