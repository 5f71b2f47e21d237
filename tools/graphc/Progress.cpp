// tools/graphc/Progress.cpp — see Progress.h.
#include "tools/graphc/Progress.h"

#include <cmath>
#include <fmt/format.h>
#include <iostream>

namespace graphc::cli {

namespace {

std::string clock(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  int64_t t = int64_t(s);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

}  // namespace

EpochProgress::EpochProgress(bool terminal, int64_t epochs, int64_t stepsPerEpoch, int64_t tokensPerStep, double pipeEvery)
    : terminal_(terminal), epochs_(epochs), stepsPerEpoch_(std::max<int64_t>(1, stepsPerEpoch)),
      tokensPerStep_(tokensPerStep), pipeEvery_(pipeEvery) {
  // A terminal sees the first step at once; a pipe its first line after pipeEvery seconds.
  lastPrint_ = terminal ? Clock::time_point{} : started_;
}

void EpochProgress::beginEpoch(int64_t epoch, int64_t firstStep) {
  epoch_ = epoch;
  stepInEpoch_ = firstStep;
  lossSum_ = 0;
  lossCount_ = 0;
}

std::string EpochProgress::line() const {
  double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  double perStep = stepsThisRun_ > 0 ? elapsed / double(stepsThisRun_) : NAN;
  int64_t left = (epochs_ - epoch_) * stepsPerEpoch_ + std::max<int64_t>(0, stepsPerEpoch_ - stepInEpoch_);
  return fmt::format("epoch {}/{}  step {}/{} ({:.0f}%)  loss {:.3f}  {:.0f} tokens/s  {} elapsed, ETA {}", epoch_,
                     epochs_, stepInEpoch_, stepsPerEpoch_, 100.0 * double(stepInEpoch_) / double(stepsPerEpoch_),
                     lossCount_ ? lossSum_ / double(lossCount_) : NAN, double(tokensPerStep_) / perStep, clock(elapsed),
                     clock(perStep * double(left)));
}

void EpochProgress::step(double loss) {
  ++stepInEpoch_;
  ++stepsThisRun_;
  lossSum_ += loss;
  ++lossCount_;
  auto now = Clock::now();
  double since = std::chrono::duration<double>(now - lastPrint_).count();
  if (since < (terminal_ ? 1.0 : pipeEvery_)) return;
  lastPrint_ = now;
  if (terminal_) {
    std::cerr << "\r\033[K" << line() << std::flush;
    shown_ = true;
  } else {
    std::cerr << line() << "\n" << std::flush;
  }
}

WorkProgress::WorkProgress(bool terminal, std::string what, std::string unit, double pipeEvery)
    : terminal_(terminal), what_(std::move(what)), unit_(std::move(unit)), pipeEvery_(pipeEvery) {
  // A terminal sees the first update at once (the line is cleared at the end); a pipe its first line after pipeEvery seconds.
  lastPrint_ = terminal ? Clock::time_point{} : started_;
}

void WorkProgress::update(int64_t done, int64_t total) {
  auto now = Clock::now();
  if (std::chrono::duration<double>(now - lastPrint_).count() < (terminal_ ? 1.0 : pipeEvery_)) return;
  lastPrint_ = now;
  double elapsed = std::chrono::duration<double>(now - started_).count();
  double rate = double(done) / std::max(elapsed, 1e-9);
  std::string line = fmt::format("{} {}/{} {} ({:.0f}%)  {:.0f} {}/s  {} elapsed, ETA {}", what_, done, total, unit_,
                                 100.0 * double(done) / double(std::max<int64_t>(total, 1)), rate, unit_, clock(elapsed),
                                 clock(double(total - done) / rate));
  if (terminal_) {
    std::cerr << "\r\033[K" << line << std::flush;
    shown_ = true;
  } else {
    std::cerr << line << "\n" << std::flush;
  }
}

StageProgress::StageProgress(bool terminal, std::string what, double pipeEvery)
    : terminal_(terminal), what_(std::move(what)), pipeEvery_(pipeEvery), lastPrint_(started_) {}

void StageProgress::stage(const std::string& stage, size_t index, size_t count) {
  auto now = Clock::now();
  double elapsed = std::chrono::duration<double>(now - started_).count();
  std::string counted = count ? fmt::format(" ({} of {})", index + 1, count) : "";
  std::string line = fmt::format("{}: {}{}  {} elapsed", what_, stage, counted, clock(elapsed));
  if (terminal_) {
    std::cerr << "\r\033[K" << line << std::flush;
    shown_ = true;
  } else if (std::chrono::duration<double>(now - lastPrint_).count() >= pipeEvery_) {
    std::cerr << line << "\n" << std::flush;
    lastPrint_ = now;
  }
}

void StageProgress::clear() {
  if (terminal_ && shown_) std::cerr << "\r\033[K" << std::flush;
  shown_ = false;
}

void WorkProgress::clear() {
  if (terminal_ && shown_) std::cerr << "\r\033[K" << std::flush;
  shown_ = false;
}

void EpochProgress::clear() {
  if (terminal_ && shown_) std::cerr << "\r\033[K" << std::flush;
  shown_ = false;
}

}  // namespace graphc::cli
