"""Every generator family, one module per kind of generator."""

from gpu_kernels.families.glibc import GlibcRand, Lcg32
from gpu_kernels.families.lcg import JavaLcg, JavaRandom, MinstdRand, MinstdRand0, MsvcRand
from gpu_kernels.families.mersenne import MT19937, PhpMt, PythonRandom
from gpu_kernels.families.pcg import Pcg32
from gpu_kernels.families.philox import Philox4x32
from gpu_kernels.families.sfc import Sfc64
from gpu_kernels.families.splitmix import SplitMix64
from gpu_kernels.families.v8 import V8MathRandom
from gpu_kernels.families.xorshift import Xorshift32, Xorshift64, Xorshift128, Xorshift128Plus
from gpu_kernels.families.xoshiro import Xoshiro256pp, Xoshiro256ss

ALL_FAMILIES = (
    MT19937(),
    PythonRandom(),
    PhpMt(),
    GlibcRand(),
    JavaRandom(),
    JavaLcg(),
    MinstdRand(),
    MinstdRand0(),
    Lcg32(),
    MsvcRand(),
    Xorshift32(),
    Xorshift64(),
    Xorshift128(),
    Xorshift128Plus(),
    V8MathRandom(),
    SplitMix64(),
    Pcg32(),
    Xoshiro256pp(),
    Xoshiro256ss(),
    Sfc64(),
    Philox4x32(),
)
