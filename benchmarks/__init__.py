"""Benchmarks of the train stage (see benchmarks/README.md). Nothing here imports TensorFlow at
import time: each measured variant runs in its own worker process (benchmarks._worker), whose
environment (TF_ENABLE_ONEDNN_OPTS, read when TensorFlow is imported) is set before the import."""
