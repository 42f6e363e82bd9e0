"""MNIST: the original IDX files (from MNIST_SOURCE or the mirrors) and the train/validation/test splits."""
