"""DVC stages of the MNIST CNN architecture study: one module per stage."""
