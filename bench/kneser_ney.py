#!/usr/bin/env python3
"""bench/kneser_ney.py TRAIN TEST VOCAB ORDER... — interpolated modified
Kneser-Ney (Chen & Goodman 1998) n-gram perplexity, counted as graphc counts
it: the files are one stream of whitespace tokens, every test token but the
first is predicted from the ones before it (the context never crosses into the
training text), and the vocabulary is VOCAB's (|V| words, <unk> included), so
a word never seen in training still has the mass the uniform 1/|V| at the
bottom of the interpolation gives it.

IRSTLM's Kneser-Ney estimators crash or refuse this corpus (bench/brown_ngram.sh
shows it), and NLTK's nltk.lm recounts continuations over every n-gram for each
query and gives unseen words zero probability; this plain implementation is
the Kneser-Ney reference beside IRSTLM's Witten-Bell and shift-beta.
"""
import collections
import math
import sys


def discounts(count_of_counts):
    n = [count_of_counts.get(k, 0) for k in range(1, 5)]
    if min(n) == 0:
        return (0.5, 1.0, 1.5)
    y = n[0] / (n[0] + 2 * n[1])
    return (1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2])


class KneserNey:
    def __init__(self, tokens, order, vocab_size):
        self.order, self.vocab_size = order, vocab_size
        # counts[k][gram]: occurrences at the top order; below it, continuation
        # counts (how many distinct words precede the gram), as Kneser-Ney's lower orders use.
        self.counts = [None] + [None] * order
        self.counts[order] = collections.Counter(self._grams(tokens, order))
        for k in range(1, order):
            self.counts[k] = collections.Counter(g[1:] for g in set(self._grams(tokens, k + 1)))
        self.history_totals, self.history_types, self.d = [None], [None], [None]
        for k in range(1, order + 1):
            totals, types = collections.Counter(), collections.defaultdict(lambda: [0, 0, 0])
            coc = collections.Counter()
            for gram, c in self.counts[k].items():
                h = gram[:-1]
                totals[h] += c
                types[h][min(c, 3) - 1] += 1
                if c <= 4:
                    coc[c] += 1
            self.history_totals.append(totals)
            self.history_types.append(types)
            self.d.append(discounts(coc))

    @staticmethod
    def _grams(tokens, k):
        return (tuple(tokens[i:i + k]) for i in range(len(tokens) - k + 1))

    def prob(self, history, word):
        p = 1.0 / self.vocab_size
        for k in range(1, self.order + 1):
            if len(history) < k - 1:
                break
            h = tuple(history[len(history) - (k - 1):]) if k > 1 else ()
            total = self.history_totals[k].get(h, 0)
            if total == 0:
                continue  # an unseen history: the lower order's estimate stands
            c = self.counts[k].get(h + (word,), 0)
            d = self.d[k]
            discounted = max(c - d[min(c, 3) - 1], 0.0) if c > 0 else 0.0
            n1, n2, n3 = self.history_types[k][h]
            gamma = (d[0] * n1 + d[1] * n2 + d[2] * n3) / total
            p = discounted / total + gamma * p
        return p


def main():
    if len(sys.argv) < 5:
        print("usage: kneser_ney.py TRAIN TEST VOCAB ORDER...", file=sys.stderr)
        sys.exit(2)
    train = open(sys.argv[1], encoding="utf-8").read().split()
    test = open(sys.argv[2], encoding="utf-8").read().split()
    vocab = [w for w in open(sys.argv[3], encoding="utf-8").read().split()]
    known = set(vocab)
    train = [w if w in known else "<unk>" for w in train]
    test = [w if w in known else "<unk>" for w in test]
    for order in map(int, sys.argv[4:]):
        lm = KneserNey(train, order, len(vocab))
        nll = 0.0
        for i in range(1, len(test)):
            nll -= math.log(lm.prob(test[max(0, i - order + 1):i], test[i]))
        n = len(test) - 1
        print(f"kneser-ney order {order}: perplexity {math.exp(nll / n):.1f} over {n} tokens")


if __name__ == "__main__":
    main()
