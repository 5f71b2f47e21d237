// tests/GradientCheck.h — gradients against central finite differences, on
// the reference interpreter (shared by AutodiffTests and OpTableTests).
#pragma once

#include <cmath>
#include <fmt/format.h>
#include <functional>

#include "TestUtil.h"
#include "graph/Builder.h"
#include "graph/Verifier.h"
#include "passes/Autodiff.h"
#include "runtime/Initializers.h"
#include "runtime/Interpreter.h"

namespace graphc::test {

using BuildFn = std::function<Value(Builder&, const std::vector<Value>&)>;

struct Lcg {
  uint64_t s;
  double uniform(double lo, double hi) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * double(s >> 11) / double(1ull << 53);
  }
};

// Distinct values in [lo, hi], at least `gap` apart, shuffled: keeps
// max/min/relu away from their kinks.
inline Tensor spaced(const Shape& shape, double lo, double hi, Lcg& rng) {
  Tensor t(DType::F32, shape);
  int64_t n = t.size();
  for (int64_t i = 0; i < n; ++i) t.f32()[i] = float(lo + (hi - lo) * (double(i) + 0.5) / double(n));
  for (int64_t i = n - 1; i > 0; --i) std::swap(t.f32()[i], t.f32()[int64_t(rng.uniform(0, double(i) + 0.999))]);
  return t;
}

struct Tolerance {
  double abs = 2e-3, rel = 1e-2;
};

// loss = sum(fn(inputs) * weights); compares d loss / d input for every f32
// input against (loss(x+h) - loss(x-h)) / 2h.
inline void checkGradients(const std::string& what, const BuildFn& fn, std::vector<Tensor> args, Tolerance tol = {},
                    double h = 1e-2) {
  INFO(what);
  Graph g;
  Builder b(g);
  std::vector<Value> in;
  std::vector<ValueId> wrt;
  TensorMap vars;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = fmt::format("a{}", i);
    in.push_back(b.input(name, args[i].dtype(), args[i].shape()));
    if (args[i].dtype() == DType::F32) wrt.push_back(in.back().id());
    vars[name] = args[i];
  }
  Value out = fn(b, in);
  Lcg rng{7};
  Value weights = b.input("w", DType::F32, out.shape());
  vars["w"] = spaced(out.shape(), -1, 1, rng);
  std::vector<int64_t> all;
  for (int64_t i = 0; i < out.type().rank(); ++i) all.push_back(i);
  Value loss = all.empty() ? out * weights : reduceSum(out * weights, all);
  b.output("loss", loss);
  std::vector<ValueId> grads = appendGradients(g, loss.id(), wrt);
  for (size_t k = 0; k < grads.size(); ++k) g.setOutput("grad" + std::to_string(k), grads[k]);
  verify(g);
  Interpreter interp(g);
  TensorMap analytic = interp.run(vars);

  size_t k = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].dtype() != DType::F32) continue;
    std::string name = fmt::format("a{}", i);
    const Tensor& grad = analytic.at("grad" + std::to_string(k++));
    REQUIRE(grad.shape() == args[i].shape());
    for (int64_t e = 0; e < args[i].size(); ++e) {
      TensorMap plus = vars, minus = vars;
      plus[name].f32()[e] += float(h);
      minus[name].f32()[e] -= float(h);
      double lp = interp.run(plus).at("loss").item(), lm = interp.run(minus).at("loss").item();
      double numeric = (lp - lm) / (2 * h), exact = grad.f32()[e];
      INFO("input " << i << " element " << e << ": analytic " << exact << ", numeric " << numeric);
      CHECK(std::abs(numeric - exact) <= tol.abs + tol.rel * std::abs(exact));
    }
  }
}

// Every leaf of a model's forward graph, drawn for a gradient check: params
// and f32 state uniform in [-0.5, 0.5], i32 state (a carried context) and the
// tokens X, Y [batch, steps] uniform in [0, maxToken].
inline TensorMap randomModelVars(const Graph& g, Rng& rng, int64_t batch, int64_t steps, int64_t maxToken) {
  TensorMap vars = initializeParams(g, rng);
  for (auto& [name, t] : vars) initialize(t, "uniform", 0.5, rng);
  for (auto& [name, t] : zeroState(g)) {
    if (t.dtype() == DType::F32) initialize(t, "uniform", 0.5, rng);
    else
      for (int64_t i = 0; i < t.size(); ++i) t.i32()[i] = int32_t(rng.uniformInt(0, maxToken));
    vars[name] = t;
  }
  for (const char* in : {"X", "Y"}) {
    Tensor t(DType::I32, {batch, steps});
    for (int64_t i = 0; i < t.size(); ++i) t.i32()[i] = int32_t(rng.uniformInt(0, maxToken));
    vars[in] = t;
  }
  return vars;
}

// A graph with output "loss": appends d loss / d every param (and the
// leaves named in `alsoWrt`, such as an initial state) and compares every
// `stride`-th element with central differences on the interpreter. `vars`
// binds every leaf (params, state, inputs).
inline void checkParamGradients(Graph g, const TensorMap& vars, int64_t stride = 3,
                                const std::vector<std::string>& alsoWrt = {}, double h = 1e-2) {
  std::vector<ValueId> wrt = g.nodesOf(OpKind::Param);
  for (const auto& name : alsoWrt) wrt.push_back(g.findValue(name));
  auto grads = appendGradients(g, g.output("loss"), wrt);
  for (size_t i = 0; i < grads.size(); ++i) g.setOutput(fmt::format("grad{}", i), grads[i]);
  verify(g);
  Interpreter interp(g);
  TensorMap scratch = vars;  // runs write the final state back into their map
  TensorMap out = interp.run(scratch);
  for (size_t i = 0; i < wrt.size(); ++i) {
    std::string name = g.node(wrt[i]).name;
    const Tensor& grad = out.at(fmt::format("grad{}", i));
    for (int64_t e = 0; e < grad.size(); e += stride) {
      TensorMap plus = vars, minus = vars;
      plus[name].f32()[e] += float(h);
      minus[name].f32()[e] -= float(h);
      double numeric = (interp.run(plus).at("loss").item() - interp.run(minus).at("loss").item()) / (2 * h);
      INFO(name << "[" << e << "]: analytic " << grad.f32()[e] << ", numeric " << numeric);
      CHECK(std::abs(numeric - grad.f32()[e]) <= 1e-3 + 2e-2 * std::abs(grad.f32()[e]));
    }
  }
}

}  // namespace graphc::test
