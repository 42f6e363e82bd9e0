"""The train stage's parts: the training loop, numerics, history files and resume state."""
