// bench/onednn_rnn.cpp — the seed training step with oneDNN's RNN training
// primitives (Debian's libdnnl-dev, oneDNN 2.6): what a user who wants the
// fastest CPU recurrent training would pick. Built and run by bench/bench.py.
//
// Usage: onednn_rnn CELL HIDDEN STEPS     CELL: rnn | gru | lstm
// One step: dense one-hot input [T, B, V] -> the cell primitive over T steps
// (forward_training, workspace kept) -> the output layer as an inner product
// -> softmax cross-entropy (a loop) -> the inner product's and the cell's
// backward primitives -> clipping to global norm 1 -> SGD lr 1, the hidden
// state carried across steps. Prints tokens/s over STEPS steps after 3 warm-up
// steps. Before timing, the first step's loss is checked against a plain C++
// forward pass of the same cell and weights (it must agree to 1e-4), so the
// primitive computes the model the others do.
//
// Weights live in the primitives' preferred layouts (format `any`); the SGD
// update runs on those layouts directly, elementwise, as a tuned user would.
// Threads: OMP_NUM_THREADS (bench.py also sets OMP_WAIT_POLICY=active, the
// setting that measured fastest).
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

namespace {

constexpr int64_t B = 32, T = 35, V = 28;

enum class Cell { Rnn, Gru, Lstm };

struct Setup {
  Cell cell;
  int64_t H;
  int gates() const { return cell == Cell::Rnn ? 1 : cell == Cell::Gru ? 3 : 4; }
  int biasGates() const { return cell == Cell::Gru ? 4 : gates(); }  // linear-before-reset GRU: 4 bias rows
};

float* data(memory& m) { return static_cast<float*>(m.get_data_handle()); }
size_t count(const memory& m) { return m.get_desc().get_size() / sizeof(float); }

// Fills a memory of any layout with values of `user` (ldigo/ldgo/...) via a reorder.
void fillFrom(engine& eng, stream& s, const std::vector<float>& user, const memory::desc& userMd, memory& target) {
  memory src(userMd, eng, const_cast<float*>(user.data()));
  reorder(src, target).execute(s, src, target);
  s.wait();
}

void readInto(engine& eng, stream& s, memory& from, const memory::desc& userMd, std::vector<float>& user) {
  user.resize(userMd.get_size() / sizeof(float));
  memory dst(userMd, eng, user.data());
  reorder(from, dst).execute(s, from, dst);
  s.wait();
}

struct Model {
  Setup setup;
  engine eng{engine::kind::cpu, 0};
  stream s{eng};
  memory::desc srcLayer, srcIter, dstLayer, dstIter, bias, userWl, userWi;
  memory::desc srcIterC, dstIterC;  // LSTM only
  primitive fwd, bwd;
  memory wlF, wiF, wlB, wiB, biasM, dwl, dwi, dbias, workspace;
  memory dwlF, dwiF;  // the gradients in the weights' layouts, when theirs differ
  memory x, h0, hT, c0, cT, y, dy, dh0, dhT, dc0, dcT, dx;
  // Output layer: logits = y [T*B, H] x Wq^T [V, H] + bq.
  primitive ipFwd, ipBwdData, ipBwdWeights;
  memory wq, bq, logits, dlogits, dwq, dbq;
  std::vector<int32_t> labels;
  int64_t tokens = B * T;

  explicit Model(Setup st) : setup(st) {
    const int64_t H = st.H, G = st.gates();
    srcLayer = {{T, B, V}, dt::f32, tag::tnc};
    srcIter = {{1, 1, B, H}, dt::f32, tag::ldnc};
    dstLayer = {{T, B, H}, dt::f32, tag::tnc};
    dstIter = srcIter;
    srcIterC = dstIterC = srcIter;
    bias = {{1, 1, st.biasGates(), H}, dt::f32, tag::ldgo};
    userWl = {{1, 1, V, G, H}, dt::f32, tag::ldigo};
    userWi = {{1, 1, H, G, H}, dt::f32, tag::ldigo};
    memory::desc anyWl({1, 1, V, G, H}, dt::f32, tag::any), anyWi({1, 1, H, G, H}, dt::f32, tag::any);
    auto dir = rnn_direction::unidirectional_left2right;
    auto fwdKind = prop_kind::forward_training;
    memory::desc fwdWl, fwdWi, bwdWl, bwdWi, diffWl, diffWi, wsDesc;
    if (st.cell == Cell::Rnn) {
      vanilla_rnn_forward::primitive_desc f({fwdKind, algorithm::eltwise_tanh, dir, srcLayer, srcIter, anyWl, anyWi,
                                             bias, dstLayer, dstIter},
                                            eng);
      vanilla_rnn_backward::primitive_desc b({prop_kind::backward, algorithm::eltwise_tanh, dir, srcLayer, srcIter,
                                              anyWl, anyWi, bias, dstLayer, dstIter, srcLayer, srcIter, anyWl, anyWi,
                                              bias, dstLayer, dstIter},
                                             eng, f);
      fwd = vanilla_rnn_forward(f);
      bwd = vanilla_rnn_backward(b);
      fwdWl = f.weights_layer_desc(), fwdWi = f.weights_iter_desc(), wsDesc = f.workspace_desc();
      bwdWl = b.weights_layer_desc(), bwdWi = b.weights_iter_desc();
      diffWl = b.diff_weights_layer_desc(), diffWi = b.diff_weights_iter_desc();
    } else if (st.cell == Cell::Gru) {
      lbr_gru_forward::primitive_desc f({fwdKind, dir, srcLayer, srcIter, anyWl, anyWi, bias, dstLayer, dstIter}, eng);
      lbr_gru_backward::primitive_desc b({prop_kind::backward, dir, srcLayer, srcIter, anyWl, anyWi, bias, dstLayer,
                                          dstIter, srcLayer, srcIter, anyWl, anyWi, bias, dstLayer, dstIter},
                                         eng, f);
      fwd = lbr_gru_forward(f);
      bwd = lbr_gru_backward(b);
      fwdWl = f.weights_layer_desc(), fwdWi = f.weights_iter_desc(), wsDesc = f.workspace_desc();
      bwdWl = b.weights_layer_desc(), bwdWi = b.weights_iter_desc();
      diffWl = b.diff_weights_layer_desc(), diffWi = b.diff_weights_iter_desc();
    } else {
      lstm_forward::primitive_desc f(
          {fwdKind, dir, srcLayer, srcIter, srcIterC, anyWl, anyWi, bias, dstLayer, dstIter, dstIterC}, eng);
      lstm_backward::primitive_desc b({prop_kind::backward, dir, srcLayer, srcIter, srcIterC, anyWl, anyWi, bias,
                                       dstLayer, dstIter, dstIterC, srcLayer, srcIter, srcIterC, anyWl, anyWi, bias,
                                       dstLayer, dstIter, dstIterC},
                                      eng, f);
      fwd = lstm_forward(f);
      bwd = lstm_backward(b);
      fwdWl = f.weights_layer_desc(), fwdWi = f.weights_iter_desc(), wsDesc = f.workspace_desc();
      bwdWl = b.weights_layer_desc(), bwdWi = b.weights_iter_desc();
      diffWl = b.diff_weights_layer_desc(), diffWi = b.diff_weights_iter_desc();
    }
    wlF = memory(fwdWl, eng), wiF = memory(fwdWi, eng), wlB = memory(bwdWl, eng), wiB = memory(bwdWi, eng);
    dwl = memory(diffWl, eng), dwi = memory(diffWi, eng), biasM = memory(bias, eng), dbias = memory(bias, eng);
    workspace = memory(wsDesc, eng);
    for (memory* m : {&h0, &hT, &c0, &cT, &dh0, &dhT, &dc0, &dcT}) *m = memory(srcIter, eng);
    x = memory(srcLayer, eng), dx = memory(srcLayer, eng);
    y = memory(dstLayer, eng), dy = memory(dstLayer, eng);

    memory::desc ySrc({T * B, H}, dt::f32, tag::nc), wqDesc({V, H}, dt::f32, tag::oi), bqDesc({V}, dt::f32, tag::x),
        logitsDesc({T * B, V}, dt::f32, tag::nc);
    inner_product_forward::primitive_desc ipf({prop_kind::forward_training, ySrc, wqDesc, bqDesc, logitsDesc}, eng);
    inner_product_backward_data::primitive_desc ipbd({ySrc, wqDesc, logitsDesc}, eng, ipf);
    inner_product_backward_weights::primitive_desc ipbw({ySrc, wqDesc, bqDesc, logitsDesc}, eng, ipf);
    ipFwd = inner_product_forward(ipf);
    ipBwdData = inner_product_backward_data(ipbd);
    ipBwdWeights = inner_product_backward_weights(ipbw);
    wq = memory(wqDesc, eng), bq = memory(bqDesc, eng), dwq = memory(wqDesc, eng), dbq = memory(bqDesc, eng);
    logits = memory(logitsDesc, eng), dlogits = memory(logitsDesc, eng);

    // N(0, 0.01^2) weights, zero biases and state (the seed's initialisation).
    std::mt19937 rng(0);
    std::normal_distribution<float> normal(0.0f, 0.01f);
    std::vector<float> wl(size_t(V * G * H)), wi(size_t(H * G * H)), wqv(size_t(V * H));
    for (auto* v : {&wl, &wi, &wqv})
      for (float& w : *v) w = normal(rng);
    fillFrom(eng, s, wl, userWl, wlF);
    fillFrom(eng, s, wi, userWi, wiF);
    std::memcpy(data(wq), wqv.data(), wqv.size() * sizeof(float));
    for (memory* m : {&biasM, &bq, &h0, &c0}) std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
    // A fixed random batch; the one-hot input is dense, as the primitive takes it.
    std::mt19937 tok(1);
    std::vector<int32_t> ids(size_t(T * B));
    for (auto& t : ids) t = int32_t(tok() % V);
    labels.resize(ids.size());
    for (auto& t : labels) t = int32_t(tok() % V);
    std::memset(data(x), 0, x.get_desc().get_size());
    for (int64_t i = 0; i < T * B; ++i) data(x)[i * V + ids[size_t(i)]] = 1.0f;
  }

  // Mean cross-entropy over the T*B rows; writes dlogits = (softmax - onehot) / rows.
  double lossAndGradient() {
    const float* z = data(logits);
    float* dz = data(dlogits);
    double total = 0;
    const double scale = 1.0 / double(T * B);
    for (int64_t r = 0; r < T * B; ++r) {
      const float* row = z + r * V;
      float mx = row[0];
      for (int64_t c = 1; c < V; ++c) mx = std::max(mx, row[c]);
      double sum = 0;
      for (int64_t c = 0; c < V; ++c) sum += std::exp(double(row[c] - mx));
      total += std::log(sum) + mx - row[labels[size_t(r)]];
      for (int64_t c = 0; c < V; ++c)
        dz[r * V + c] = float((std::exp(double(row[c] - mx)) / sum - (c == labels[size_t(r)])) * scale);
    }
    return total * scale;
  }

  std::unordered_map<int, memory> cellArgs(bool backward) {
    std::unordered_map<int, memory> a = {{DNNL_ARG_SRC_LAYER, x},          {DNNL_ARG_SRC_ITER, h0},
                                         {DNNL_ARG_WEIGHTS_LAYER, backward ? wlB : wlF},
                                         {DNNL_ARG_WEIGHTS_ITER, backward ? wiB : wiF},
                                         {DNNL_ARG_BIAS, biasM},           {DNNL_ARG_DST_LAYER, y},
                                         {DNNL_ARG_DST_ITER, hT},          {DNNL_ARG_WORKSPACE, workspace}};
    if (setup.cell == Cell::Lstm) a.insert({{DNNL_ARG_SRC_ITER_C, c0}, {DNNL_ARG_DST_ITER_C, cT}});
    if (backward) {
      a.insert({{DNNL_ARG_DIFF_SRC_LAYER, dx},
                {DNNL_ARG_DIFF_SRC_ITER, dh0},
                {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl},
                {DNNL_ARG_DIFF_WEIGHTS_ITER, dwi},
                {DNNL_ARG_DIFF_BIAS, dbias},
                {DNNL_ARG_DIFF_DST_LAYER, dy},
                {DNNL_ARG_DIFF_DST_ITER, dhT}});
      if (setup.cell == Cell::Lstm) a.insert({{DNNL_ARG_DIFF_SRC_ITER_C, dc0}, {DNNL_ARG_DIFF_DST_ITER_C, dcT}});
    }
    return a;
  }

  double step() {
    fwd.execute(s, cellArgs(false));
    memory y2d({{T * B, setup.H}, dt::f32, tag::nc}, eng, y.get_data_handle());
    memory dy2d({{T * B, setup.H}, dt::f32, tag::nc}, eng, dy.get_data_handle());
    ipFwd.execute(s, {{DNNL_ARG_SRC, y2d}, {DNNL_ARG_WEIGHTS, wq}, {DNNL_ARG_BIAS, bq}, {DNNL_ARG_DST, logits}});
    s.wait();
    double loss = lossAndGradient();
    ipBwdData.execute(s, {{DNNL_ARG_DIFF_DST, dlogits}, {DNNL_ARG_WEIGHTS, wq}, {DNNL_ARG_DIFF_SRC, dy2d}});
    ipBwdWeights.execute(s, {{DNNL_ARG_SRC, y2d}, {DNNL_ARG_DIFF_DST, dlogits}, {DNNL_ARG_DIFF_WEIGHTS, dwq},
                             {DNNL_ARG_DIFF_BIAS, dbq}});
    // The backward primitive accumulates into its weight gradients; no gradient flows into the next state.
    for (memory* m : {&dwl, &dwi, &dbias, &dhT, &dcT}) std::memset(m->get_data_handle(), 0, m->get_desc().get_size());
    if (wlB.get_desc() != wlF.get_desc()) reorder(wlF, wlB).execute(s, wlF, wlB);
    if (wiB.get_desc() != wiF.get_desc()) reorder(wiF, wiB).execute(s, wiF, wiB);
    bwd.execute(s, cellArgs(true));
    s.wait();
    // Clip to global norm 1, then SGD with lr 1, elementwise: a gradient whose
    // layout differs from its weight's is reordered into the weight's first.
    memory* gl = &dwl;
    memory* gi = &dwi;
    if (dwl.get_desc() != wlF.get_desc()) {
      if (!dwlF) dwlF = memory(wlF.get_desc(), eng);
      reorder(dwl, dwlF).execute(s, dwl, dwlF);
      gl = &dwlF;
    }
    if (dwi.get_desc() != wiF.get_desc()) {
      if (!dwiF) dwiF = memory(wiF.get_desc(), eng);
      reorder(dwi, dwiF).execute(s, dwi, dwiF);
      gi = &dwiF;
    }
    s.wait();
    std::vector<std::pair<memory*, memory*>> pairs = {{&wlF, gl}, {&wiF, gi}, {&biasM, &dbias}, {&wq, &dwq}, {&bq, &dbq}};
    double sq = 0;
    for (auto& [w, g] : pairs)
      for (size_t i = 0, n = count(*g); i < n; ++i) sq += double(data(*g)[i]) * data(*g)[i];
    float factor = float(std::min(1.0, 1.0 / std::sqrt(sq)));
    for (auto& [w, g] : pairs) {
      float* wp = data(*w);
      const float* gp = data(*g);
      for (size_t i = 0, n = count(*g); i < n; ++i) wp[i] -= factor * gp[i];
    }
    // Carry the state, without gradient.
    std::memcpy(h0.get_data_handle(), hT.get_data_handle(), hT.get_desc().get_size());
    if (setup.cell == Cell::Lstm) std::memcpy(c0.get_data_handle(), cT.get_data_handle(), cT.get_desc().get_size());
    return loss;
  }

  // The first step's loss in plain C++ from the same weights (ldigo, gate order as oneDNN documents).
  double referenceLoss() {
    const int64_t H = setup.H, G = setup.gates();
    std::vector<float> wl, wi, b;
    readInto(eng, s, wlF, userWl, wl);
    readInto(eng, s, wiF, userWi, wi);
    b.assign(data(biasM), data(biasM) + count(biasM));
    std::vector<double> h(size_t(B * H), 0.0), c(size_t(B * H), 0.0);
    double total = 0;
    auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> hn(h.size());
      for (int64_t n = 0; n < B; ++n) {
        const float* xr = data(x) + (t * B + n) * V;
        std::vector<double> gx(size_t(G * H), 0.0), gh(size_t(G * H), 0.0);
        for (int64_t g = 0; g < G; ++g)
          for (int64_t o = 0; o < H; ++o) {
            for (int64_t i = 0; i < V; ++i) gx[size_t(g * H + o)] += xr[i] * wl[size_t((i * G + g) * H + o)];
            for (int64_t i = 0; i < H; ++i) gh[size_t(g * H + o)] += h[size_t(n * H + i)] * wi[size_t((i * G + g) * H + o)];
          }
        for (int64_t o = 0; o < H; ++o) {
          auto at = [&](int64_t g) { return size_t(g * H + o); };
          double& out = hn[size_t(n * H + o)];
          if (setup.cell == Cell::Rnn) {
            out = std::tanh(gx[at(0)] + gh[at(0)] + b[at(0)]);
          } else if (setup.cell == Cell::Gru) {  // gates u, r, o; the 4th bias row is the recurrent o bias
            double u = sig(gx[at(0)] + gh[at(0)] + b[at(0)]), r = sig(gx[at(1)] + gh[at(1)] + b[at(1)]);
            double o2 = std::tanh(gx[at(2)] + b[at(2)] + r * (gh[at(2)] + b[size_t(3 * H + o)]));
            out = u * h[size_t(n * H + o)] + (1 - u) * o2;
          } else {  // gates i, f, c~, o
            double i = sig(gx[at(0)] + gh[at(0)] + b[at(0)]), f = sig(gx[at(1)] + gh[at(1)] + b[at(1)]);
            double cc = std::tanh(gx[at(2)] + gh[at(2)] + b[at(2)]), o = sig(gx[at(3)] + gh[at(3)] + b[at(3)]);
            double& cs = c[size_t(n * H + o)];
            cs = f * cs + i * cc;
            out = o * std::tanh(cs);
          }
        }
      }
      h = hn;
      for (int64_t n = 0; n < B; ++n) {
        std::vector<double> z(V);
        for (int64_t v = 0; v < V; ++v) {
          z[size_t(v)] = data(bq)[v];
          for (int64_t i = 0; i < H; ++i) z[size_t(v)] += h[size_t(n * H + i)] * data(wq)[v * H + i];
        }
        double mx = *std::max_element(z.begin(), z.end()), sum = 0;
        for (double v : z) sum += std::exp(v - mx);
        total += std::log(sum) + mx - z[size_t(labels[size_t(t * B + n)])];
      }
    }
    return total / double(T * B);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: onednn_rnn rnn|gru|lstm HIDDEN STEPS\n");
    return 2;
  }
  std::string cell = argv[1];
  Setup setup{cell == "rnn" ? Cell::Rnn : cell == "gru" ? Cell::Gru : Cell::Lstm, std::atoll(argv[2])};
  if (cell != "rnn" && cell != "gru" && cell != "lstm") {
    std::fprintf(stderr, "onednn_rnn: unknown cell '%s'\n", argv[1]);
    return 2;
  }
  int steps = std::atoi(argv[3]);
  Model m(setup);
  double want = m.referenceLoss();
  double got = m.step();
  if (std::fabs(got - want) > 1e-4 * std::fabs(want)) {
    std::fprintf(stderr, "onednn_rnn: first loss %.6f differs from the reference %.6f\n", got, want);
    return 1;
  }
  for (int i = 0; i < 2; ++i) m.step();
  auto start = std::chrono::steady_clock::now();
  double loss = 0;
  for (int i = 0; i < steps; ++i) loss = m.step();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!std::isfinite(loss)) return 1;
  std::printf("%.1f\n", double(steps) * double(m.tokens) / seconds);
}
