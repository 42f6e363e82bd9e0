"""Keras models from params.yaml's layer lists: the layer vocabulary, shapes and FLOPs, the builder."""
