// codegen/Sampling.cpp — the portable runtime's token choice
// (codegen/portable/sampling.c) compiled into graphc too, for the
// interpreter's reference generation loop: one definition, so the reference,
// the compiled program and an exported library choose the same tokens.
#include <cmath>
#include <cstring>

using std::exp;
using std::memcpy;

#include "codegen/portable/sampling.c"
