// passes/TrainStep.cpp — clipping and the SGD / momentum / Adam updates as IR.
#include "passes/TrainStep.h"

#include <cmath>
#include <fmt/format.h>

#include "graph/Builder.h"
#include "passes/Autodiff.h"

namespace graphc {

void validate(const OptimizerConfig& c) {
  if (c.kind != "sgd" && c.kind != "momentum" && c.kind != "adam" && c.kind != "adamw")
    throw Error(fmt::format("unknown optimizer '{}' (sgd, momentum, adam, adamw)", c.kind));
  if (!(c.weightDecay >= 0) || !std::isfinite(c.weightDecay))
    throw Error(fmt::format("the weight decay must be 0 or positive, got {}", c.weightDecay));
  if (!(c.learningRate > 0) || !std::isfinite(c.learningRate))
    throw Error(fmt::format("the learning rate must be positive, got {}", c.learningRate));
  if (!(c.momentum >= 0 && c.momentum < 1)) throw Error(fmt::format("momentum must be in [0, 1), got {}", c.momentum));
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1))
    throw Error("Adam's beta1 and beta2 must be in [0, 1)");
  if (!std::isfinite(c.clipNorm)) throw Error("the clipping norm must be finite");
}

void appendTrainingStep(Graph& g, const OptimizerConfig& c) {
  validate(c);
  std::vector<ValueId> params = g.nodesOf(OpKind::Param);
  if (params.empty()) throw Error(fmt::format("graph @{} has no params to train", g.name));
  // The gradients `autodiff` (and passes after it, such as data-parallel)
  // left as outputs grad.<param>, or new ones. The step consumes them: they
  // stop being outputs.
  std::vector<ValueId> gradIds;
  bool given = true;
  for (ValueId p : params) given = given && g.findOutput("grad." + g.node(p).name) >= 0;
  if (given) {
    for (ValueId p : params) gradIds.push_back(g.output("grad." + g.node(p).name));
    std::erase_if(g.outputs, [](const GraphOutput& o) { return o.name.rfind("grad.", 0) == 0; });
  } else {
    gradIds = appendGradients(g, g.output("loss"), params);
  }
  Builder b(g);
  std::vector<Value> grads;
  for (ValueId id : gradIds) grads.push_back(b.wrap(id));

  Value sumSquares = b.constant(0.0);
  for (Value gr : grads) sumSquares = sumSquares + graphc::sumSquares(gr);
  Value norm = sqrt(sumSquares);
  b.output("grad_norm", norm);
  if (c.clipNorm > 0) {
    // min(1, clip/norm): a zero norm gives +inf and so a scale of 1.
    Value scale = minimum(b.constant(1.0), b.constant(c.clipNorm) / norm);
    for (Value& gr : grads) gr = gr * scale;
  }

  auto optimizerState = [&](ValueId param, const char* suffix) {
    Value s = b.state(g.node(param).name + "." + suffix, g.type(param).shape);
    g.node(s.id()).attrs[attr::key::role] = std::string("optimizer");
    return s;
  };
  const bool adam = c.kind == "adam" || c.kind == "adamw";
  // The learning rate: a constant, or the scalar input a schedule sets every step.
  Value lr;
  if (c.learningRateInput) lr = b.input("lr", DType::F32, {});
  auto timesLr = [&](Value v) { return c.learningRateInput ? v * broadcastTo(lr, v.shape()) : v * c.learningRate; };
  // Weights and embeddings decay; biases (rank 1) do not.
  auto decays = [&](ValueId param) { return c.weightDecay > 0 && g.type(param).rank() >= 2; };
  Value biasCorrection1, biasCorrection2;
  if (adam) {
    Value step = b.state("adam.step", {});
    g.node(step.id()).attrs[attr::key::role] = std::string("optimizer");
    Value t = step + 1.0;
    b.update(step, t);
    // 1 - beta^t = -expm1(t ln beta), computed as -2 tanh(x/2) / (1 - tanh(x/2))
    // with x = t ln beta: no cancellation. (1 - exp(x) in f32 keeps 3 of 7
    // digits of 1 - 0.999^1, and Adam's first steps came out 6e-6 short.)
    auto oneMinusPower = [&](double beta) {
      Value th = tanh(t * (0.5 * std::log(beta)));
      return (-2.0 * th) / (1.0 - th);
    };
    biasCorrection1 = oneMinusPower(c.beta1);
    biasCorrection2 = oneMinusPower(c.beta2);
  }
  for (size_t i = 0; i < params.size(); ++i) {
    Value p = b.wrap(params[i]);
    Value gr = grads[i];
    if (decays(params[i]) && c.kind != "adamw") gr = gr + p * c.weightDecay;
    Value next;
    if (c.kind == "sgd") {
      next = p - timesLr(gr);
    } else if (c.kind == "momentum") {
      Value v = optimizerState(params[i], "velocity");
      Value v2 = v * c.momentum + gr;
      b.update(v, v2);
      next = p - timesLr(v2);
    } else {
      Value m = optimizerState(params[i], "m");
      Value v = optimizerState(params[i], "v");
      Value m2 = m * c.beta1 + gr * (1.0 - c.beta1);
      Value v2 = v * c.beta2 + gr * gr * (1.0 - c.beta2);
      b.update(m, m2);
      b.update(v, v2);
      Value mHat = m2 / broadcastTo(biasCorrection1, m2.shape());
      Value vHat = v2 / broadcastTo(biasCorrection2, v2.shape());
      Value step = timesLr(mHat) / (sqrt(vHat) + c.epsilon);
      if (decays(params[i]) && c.kind == "adamw") step = step + timesLr(p * c.weightDecay);
      next = p - step;
    }
    b.update(p, next);
  }
  // The step hands back its loss and gradient norm. The model's logits are
  // not read after it, and copying them out would cost every step rows x
  // vocabulary floats (80 MB at word level), so they stop being an output.
  std::erase_if(g.outputs, [](const GraphOutput& o) { return o.name == "logits"; });
}

}  // namespace graphc
