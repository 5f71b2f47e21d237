// target/Target.h — what code is generated for: one value that names the
// CPU (LLVM's name and feature string) and the facts lowering and codegen
// derive from it: vector width, vector registers, caches, cores, and the
// register tile of the generated matrix products (and so the panel width of
// packed weights). `host` is the default; any LLVM CPU name (znver3,
// sapphirerapids, x86-64-v3, ...) can be asked for, to inspect its code.
#pragma once

#include <cstdint>
#include <string>

namespace graphc {

struct ProductTile {
  int rows = 6;     // rows of C per micro-kernel call (broadcasts of A per k)
  int vectors = 2;  // vector registers across a row of the tile
};

struct Target {
  std::string name;       // what was asked for: "host" or an LLVM CPU name
  std::string triple;     // LLVM target triple
  std::string cpu;        // LLVM CPU name ("znver3", "sapphirerapids")
  std::string features;   // LLVM feature string ("+avx2,+fma,...")
  bool isHost = true;     // generated code may run in this process
  int vectorBits = 128;   // the widest vector codegen should use
  int vectorRegisters = 16;
  bool hasFma = false;
  int64_t l1Bytes = 32 << 10, l2Bytes = 512 << 10, l3Bytes = 8 << 20;
  int cores = 1;          // CPUs this process may use (host only; 1 otherwise)
  // Whether integer instructions issue on the ports of the vector FMA pipes (Intel's cores; AMD's Zen
  // has an integer scheduler of its own): a product tile reading a row-major A in place then spends
  // FMA slots on its address arithmetic, so the product driver copies A into tile order first.
  bool integerSharesFmaPorts = true;
  ProductTile tile;       // chosen from the vector width and register count

  int lanes() const { return vectorBits / 32; }
  // Columns of C a micro-kernel call covers; the packed layout's panel width.
  int panelWidth() const { return tile.vectors * lanes(); }
  // "sapphirerapids: 512-bit x 32 registers, FMA, tile 12x32".
  std::string describe() const;
};

// The CPU this process runs on.
const Target& hostTarget();

// "host" or an LLVM CPU name; throws naming the flag's value and where to
// find the known names when LLVM does not know it.
Target targetFor(const std::string& cpuName);

// The register tile graphc chooses for a vector register count: two vectors
// across (one panel row costs two loads) and as many rows as the remaining
// registers allow, at most 12 (6 on 16-register ISAs). The vector width sets
// the columns those two vectors cover (Target::panelWidth).
ProductTile chooseTile(int vectorRegisters);

// Whether code generated for `target` runs on this CPU: the host itself, or a
// CPU whose features the host has (x86-64-v3 on an AVX-512 machine), system
// features aside: `--target-cpu znver3` runs on a Zen 3 VM that hides pku.
bool runsOnHost(const Target& target);

// Whether an LLVM feature names instructions only an OS or an explicit
// intrinsic uses ("pku", "mwaitx", "wbnoinvd"): generated code never has them.
bool isSystemFeature(const std::string& feature);

// The CPUs this process may run on: its affinity mask, capped by a cgroup v2
// CPU quota when one is set. At least 1.
int usableCpus();

}  // namespace graphc
