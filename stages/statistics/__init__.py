"""The study's statistics, shared by the report (`stages.reporting`) and the PR report
(`stages.review`): neither imports the other's tests.

* `mcnemar`: exact McNemar and Holm's step-down, standard library only (the PR job's fallback);
* `seeds_images`: the test over seeds and test images (variance split, studentized interval,
  Multi-Bootstrap), numpy and scipy;
* `decisions`: Holm over a report's comparisons and the verdicts; `price`: what an undecided
  comparison would cost to decide; `ranks`: plausible rank sets;
* `classic`, `paired`: Welch over seeds, per-seed McNemar and the paired bootstrap (the
  report's appendix: narrower questions).
"""
